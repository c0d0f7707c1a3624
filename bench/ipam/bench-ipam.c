/* Benchmark of the pure LB-IPAM core: 50,000 LoadBalancer services over 100
 * pools, each pool a /22 selecting its services by label (so every
 * allocation walks the pool order past non-matching pools, 50 on average).
 *
 * Measures, with objects decoded beforehand (decoding is the informer's
 * cost, not the core's):
 *   - allocation: ipam_service_upsert() of each new service (targets 5 µs)
 *   - the shell's read-back: ipam_take_dirty() + ipam_service_status()
 *   - a pool edit revalidating all 50,000 services (target 200 ms), and a
 *     status-only pool update (the shell's own patch coming back)
 *   - a restart: a fresh core fed every object with its ingress, then
 *     ipam_start() (import), and how many IPs changed (must be 0)
 *   - memory: heap bytes per service (mallinfo2) and peak RSS
 *
 * Times are the thread's CPU time (the core is single-threaded and does no
 * I/O, so CPU time is its cost; wall time on a shared machine adds noise).
 *
 * Usage: bench-ipam [services] [pools] [alloc-only]   (alloc-only: stop after
 * the allocation phase, for profilers) */
#include <glib.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "common.h"
#include "ipam/ipam.h"
#include "api/objects.h"
#include "lib/util.h"

static size_t heap_bytes(void)
{
        struct mallinfo2 m = mallinfo2();

        return m.uordblks + m.hblkhd;
}

static json_t *pool_json(int i, int generation, bool extra_block)
{
        char cidr[32], extra[32], name[32], label[32];
        json_t *blocks;

        snprintf(cidr, sizeof(cidr), "10.%d.%d.0/22", i / 64, (i % 64) * 4);
        snprintf(extra, sizeof(extra), "172.16.%d.0/24", i % 256);
        snprintf(name, sizeof(name), "pool-%03d", i);
        snprintf(label, sizeof(label), "p%03d", i);
        blocks = json_pack("[{s:s}]", "cidr", cidr);
        if (extra_block)
                json_array_append_new(blocks, json_pack("{s:s}", "cidr", extra));
        return json_pack("{s:{s:s, s:s, s:i}, s:{s:o, s:{s:{s:s}}}}", "metadata", "name", name,
                         "creationTimestamp", "2024-01-01T00:00:00Z", "generation", generation,
                         "spec", "blocks", blocks, "serviceSelector", "matchLabels", "pool", label);
}

static struct k8s_service *decode_service(int i, int pools, const char *ingress)
{
        char name[32], ns[32], pool[32], ts[32];
        struct k8s_service *s = NULL;
        char *err = NULL;
        json_t *j;

        snprintf(name, sizeof(name), "svc-%05d", i);
        snprintf(ns, sizeof(ns), "ns-%02d", i % 50);
        snprintf(pool, sizeof(pool), "p%03d", i % pools);
        snprintf(ts, sizeof(ts), "2024-02-%02dT%02d:%02d:%02dZ", 1 + i / 86400 % 28, i / 3600 % 24,
                 i / 60 % 60, i % 60);
        j = json_pack("{s:{s:s, s:s, s:s, s:i, s:{s:s, s:s}}, s:{s:s, s:[{s:i, s:s}], s:{s:s}}}",
                      "metadata", "name", name, "namespace", ns, "creationTimestamp", ts,
                      "generation", 1, "labels", "pool", pool, "app", name, "spec", "type",
                      "LoadBalancer", "ports", "port", 80, "protocol", "TCP", "selector", "app",
                      name);
        if (ingress) {
                json_t *st = json_pack("{s:{s:[{s:s}]}, s:[{s:s, s:s, s:s, s:s, s:i}]}",
                                       "loadBalancer", "ingress", "ip", ingress, "conditions",
                                       "type", IPAM_CONDITION_SATISFIED, "status", "True", "reason",
                                       "satisfied", "message", "", "observedGeneration", 1);

                json_object_set_new(j, "status", st);
        }
        if (k8s_service_decode(j, &s, &err) < 0) {
                fprintf(stderr, "service: %s\n", err);
                exit(1);
        }
        json_decref(j);
        return s;
}

static char *first_ip(struct ipam *ipam, const struct k8s_service *s)
{
        struct ipam_service_status st;
        char *ip = NULL;

        ipam_service_status(ipam, s->meta.namespace, s->meta.name, &st);
        if (st.n_ips)
                ip = g_strdup(st.ips[0]);
        ipam_service_status_done(&st);
        return ip;
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 50000, npools = argc > 2 ? atoi(argv[2]) : 100;
        struct ipam_options o = {
            .enable_ipv4 = true, .l2_announcements = true, .default_lbipam = true};
        struct k8s_service **svcs = g_new0(struct k8s_service *, n);
        char **ips = g_new0(char *, n);
        struct ipam *ipam;
        struct ipam_dirty d;
        double t0, t1;
        size_t heap0, heap1, satisfied = 0, changed = 0;
        struct rusage ru;
        char *err = NULL;

        if (n <= 0 || npools <= 0 || npools > 16384) {
                fprintf(stderr, "usage: bench-ipam [services] [pools <= 16384]\n");
                return 2;
        }
        printf("LB-IPAM core: %d services over %d pools (a /22 each, selected by label)\n", n,
               npools);
        for (int i = 0; i < n; i++)
                svcs[i] = decode_service(i, npools, NULL);

        heap0 = heap_bytes();
        ipam = ipam_new(&o);
        for (int i = 0; i < npools; i++) {
                struct k8s_ippool *p = bench_decode_pool(pool_json(i, 1, false));

                ipam_pool_upsert(ipam, p, &err);
                k8s_ippool_free(p);
        }
        ipam_start(ipam);

        t0 = bench_cpu_s();
        for (int i = 0; i < n; i++)
                ipam_service_upsert(ipam, svcs[i]);
        t1 = bench_cpu_s();
        printf("allocation: %.2f µs per service (%.3f s total)\n", (t1 - t0) * 1e6 / n, t1 - t0);
        if (argc > 3 && streq(argv[3], "alloc-only")) {
                ipam_free(ipam);
                for (int i = 0; i < n; i++)
                        k8s_service_free(svcs[i]);
                g_free(svcs);
                g_free(ips);
                return 0;
        }
        {
                struct ipam_event e;
                size_t events = 0;

                t0 = bench_cpu_s();
                while (ipam_event_pop(ipam, &e)) {
                        events++;
                        ipam_event_done(&e);
                }
                printf("events: %zu drained, %.2f µs each\n", events,
                       (bench_cpu_s() - t0) * 1e6 / (double)(events ? events : 1));
        }
        heap1 = heap_bytes();

        t0 = bench_cpu_s();
        ipam_take_dirty(ipam, &d);
        for (size_t i = 0; i < d.n_services; i++) {
                struct ipam_service_status st;

                ipam_service_status(ipam, d.services[i].namespace, d.services[i].name, &st);
                satisfied += st.n_ips;
                ipam_service_status_done(&st);
        }
        t1 = bench_cpu_s();
        printf("read-back: %zu dirty services, %zu IPs, %.2f µs per service\n", d.n_services,
               satisfied, (t1 - t0) * 1e6 / (double)(d.n_services ? d.n_services : 1));
        ipam_dirty_done(&d);
        printf("memory: %.0f heap bytes per allocated service (record + allocation), %zu "
               "allocations, %zu free intervals\n",
               (double)(heap1 - heap0) / n, ipam_n_allocations(ipam), ipam_n_free_intervals(ipam));

        for (int i = 0; i < n; i++)
                ips[i] = first_ip(ipam, svcs[i]);

        /* the shell's patches coming back: the services with their status */
        for (int i = 0; i < n; i++) {
                k8s_service_free(svcs[i]);
                svcs[i] = decode_service(i, npools, ips[i]);
        }
        t0 = bench_cpu_s();
        for (int i = 0; i < n; i++)
                ipam_service_upsert(ipam, svcs[i]);
        t1 = bench_cpu_s();
        ipam_take_dirty(ipam, &d);
        printf("status echo: %.2f µs per service upsert, %zu left dirty\n", (t1 - t0) * 1e6 / n,
               d.n_services);
        ipam_dirty_done(&d);

        /* a pool edit: add a block to pool-000 → every service revalidated */
        {
                struct k8s_ippool *p = bench_decode_pool(pool_json(0, 2, true));

                t0 = bench_cpu_s();
                ipam_pool_upsert(ipam, p, &err);
                t1 = bench_cpu_s();
                printf("pool edit (block added, all %d services revalidated): %.1f ms\n", n,
                       (t1 - t0) * 1e3);
                k8s_ippool_free(p);
                p = bench_decode_pool(pool_json(0, 2, true));
                t0 = bench_cpu_s();
                ipam_pool_upsert(ipam, p, &err);
                t1 = bench_cpu_s();
                printf("pool update without spec change (status echo): %.3f ms\n", (t1 - t0) * 1e3);
                k8s_ippool_free(p);
                p = bench_decode_pool(pool_json(0, 3, false));
                t0 = bench_cpu_s();
                ipam_pool_upsert(ipam, p, &err);
                t1 = bench_cpu_s();
                printf("pool edit (block removed again): %.1f ms\n", (t1 - t0) * 1e3);
                k8s_ippool_free(p);
        }
        for (int i = 0; i < n; i++) {
                char *ip = first_ip(ipam, svcs[i]);

                changed += !streq_ptr(ip, ips[i]);
                g_free(ip);
        }
        printf("IPs changed by the pool edits: %zu\n", changed);
        ipam_take_dirty(ipam, &d);
        ipam_dirty_done(&d);
        ipam_free(ipam);

        /* restart: a fresh core fed every object with its status */
        heap0 = heap_bytes();
        ipam = ipam_new(&o);
        t0 = bench_cpu_s();
        for (int i = 0; i < npools; i++) {
                struct k8s_ippool *p = bench_decode_pool(pool_json(i, 1, false));

                ipam_pool_upsert(ipam, p, &err);
                k8s_ippool_free(p);
        }
        for (int i = 0; i < n; i++)
                ipam_service_upsert(ipam, svcs[i]);
        t1 = bench_cpu_s();
        heap1 = heap_bytes();
        {
                double t2 = bench_cpu_s(), t3;

                ipam_start(ipam);
                t3 = bench_cpu_s();
                printf("restart: feeding %.3f s, import (ipam_start) %.3f s\n", t1 - t0, t3 - t2);
        }
        printf("memory: %.0f heap bytes per service record (before start), %.0f per "
               "allocation (the import)\n",
               (double)(heap1 - heap0) / n, (double)(heap_bytes() - heap1) / n);
        changed = 0;
        for (int i = 0; i < n; i++) {
                char *ip = first_ip(ipam, svcs[i]);

                changed += !streq_ptr(ip, ips[i]);
                g_free(ip);
        }
        ipam_take_dirty(ipam, &d);
        printf("restart: %zu IPs changed, %zu services to patch\n", changed, d.n_services);
        ipam_dirty_done(&d);
        ipam_free(ipam);

        getrusage(RUSAGE_SELF, &ru);
        printf("peak RSS: %.1f MB (the benchmark's decoded objects included)\n",
               (double)ru.ru_maxrss / 1024.0);
        for (int i = 0; i < n; i++) {
                k8s_service_free(svcs[i]);
                g_free(ips[i]);
        }
        g_free(svcs);
        g_free(ips);
        return 0;
}
