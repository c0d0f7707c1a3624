/* Benchmark of the LB-IPAM core against a pool with many blocks (issue 11's
 * hostile run: a CiliumLoadBalancerIPPool with 10,000 blocks), next to an
 * ordinary one-block pool:
 *   - decoding the pool object (the informer's cost, shown apart)
 *   - ipam_pool_upsert() of the big pool into a started core (creation)
 *   - the pool's own status patch coming back (same spec, conditions set)
 *   - a spec edit that drops one block (every other block kept)
 *   - allocating a service from the big pool and one from the ordinary
 *     pool, then the pool status read-back (ipam_pool_status)
 *   - ipam_pool_delete()
 * Shapes: distinct /30 CIDRs (disjoint), and start/stop ranges.
 * Target: every step ≪ 1 s (the operator's event loop also serves its
 * leader Lease, renewed every renew deadline); 50 ms is the bar printed.
 * Times are the thread's CPU time (bench_cpu_s), as in bench-ipam.
 *
 * Usage: bench-ipam-blocks [blocks]   (default 10000) */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "ipam/ipam.h"
#include "api/objects.h"
#include "lib/util.h"

#define TARGET_MS 50.0

enum shape { CIDRS, RANGES, _SHAPE_MAX };

static const char *const shape_name[_SHAPE_MAX] = {
    [CIDRS] = "distinct /30 cidrs",
    [RANGES] = "start/stop ranges of 3",
};

/* blocks in 10.128.0.0/9, block i at 10.128.0.0 + 4 * i (skip is left out) */
static json_t *big_pool_json(enum shape shape, int n, int skip, int generation)
{
        json_t *blocks = json_array(), *j;
        char a[20], b[32];

        for (int i = 0; i < n; i++) {
                uint32_t base = (10u << 24) | (128u << 16) | (uint32_t)(4 * i);

                if (i == skip)
                        continue;
                (void)snprintf(a, sizeof(a), "%u.%u.%u.%u", base >> 24, (base >> 16) & 255,
                               (base >> 8) & 255, base & 255);
                if (shape == CIDRS) {
                        (void)snprintf(b, sizeof(b), "%s/30", a);
                        json_array_append_new(blocks, json_pack("{s:s}", "cidr", b));
                } else {
                        (void)snprintf(b, sizeof(b), "%u.%u.%u.%u", base >> 24, (base >> 16) & 255,
                                       (base >> 8) & 255, (base & 255) + 2);
                        json_array_append_new(blocks,
                                              json_pack("{s:s, s:s}", "start", a, "stop", b));
                }
        }
        j = json_pack("{s:{s:s, s:s, s:i}, s:{s:o, s:{s:{s:s}}}}", "metadata", "name", "big",
                      "creationTimestamp", "2024-01-01T00:00:00Z", "generation", generation, "spec",
                      "blocks", blocks, "serviceSelector", "matchLabels", "pool", "big");
        return j;
}

static json_t *small_pool_json(void)
{
        return json_pack("{s:{s:s, s:s, s:i}, s:{s:[{s:s}], s:{s:{s:s}}}}", "metadata", "name",
                         "ordinary", "creationTimestamp", "2024-01-01T00:00:00Z", "generation", 1,
                         "spec", "blocks", "cidr", "192.168.10.0/24", "serviceSelector",
                         "matchLabels", "pool", "ordinary");
}

/* the pool as its status patch comes back: the conditions the core wants */
static void add_status(json_t *j, const struct ipam *ipam)
{
        struct ipam_pool_status st;
        json_t *conds = json_array();

        ipam_pool_status(ipam, "big", &st);
        for (size_t i = 0; i < IPAM_POOL_CONDITIONS; i++) {
                const struct k8s_condition *c = &st.conditions[i];

                json_array_append_new(conds,
                                      json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "type", c->type,
                                                "status", c->status, "reason", c->reason, "message",
                                                strempty(c->message), "observedGeneration",
                                                (json_int_t)c->observed_generation,
                                                "lastTransitionTime", "2024-01-01T00:00:00Z"));
        }
        ipam_pool_status_done(&st);
        json_object_set_new(j, "status", json_pack("{s:o}", "conditions", conds));
}

static struct k8s_service *decode_service(const char *name, const char *pool)
{
        struct k8s_service *s = NULL;
        char *err = NULL;
        json_t *j;

        j = json_pack("{s:{s:s, s:s, s:s, s:i, s:{s:s}}, s:{s:s, s:[{s:i, s:s}]}}", "metadata",
                      "name", name, "namespace", "default", "creationTimestamp",
                      "2024-02-01T00:00:00Z", "generation", 1, "labels", "pool", pool, "spec",
                      "type", "LoadBalancer", "ports", "port", 80, "protocol", "TCP");
        if (k8s_service_decode(j, &s, &err) < 0) {
                fprintf(stderr, "service: %s\n", err);
                exit(1);
        }
        json_decref(j);
        return s;
}

static bool report(const char *what, double t0, double t1)
{
        double ms = (t1 - t0) * 1e3;

        printf("  %-52s %9.3f ms%s\n", what, ms, ms > TARGET_MS ? "  (over target)" : "");
        return ms <= TARGET_MS;
}

/* Runs stmt, reports its CPU time as what, and clears good if over target. */
#define TIMED(good, what, stmt)                                                                    \
        do {                                                                                       \
                double t0_ = bench_cpu_s();                                                        \
                stmt;                                                                              \
                (good) &= report(what, t0_, bench_cpu_s());                                        \
        } while (0)

static bool run(enum shape shape, int n)
{
        struct ipam_options o = {
            .enable_ipv4 = true, .l2_announcements = true, .default_lbipam = true};
        struct ipam *ipam = ipam_new(&o);
        struct k8s_ippool *small = bench_decode_pool(small_pool_json()), *big, *edit, *echo;
        struct k8s_service *sb = decode_service("from-big", "big"),
                           *so = decode_service("ordinary", "ordinary");
        struct ipam_pool_status st;
        json_t *j;
        double t0;
        char *err = NULL;
        bool good = true;

        printf("%s, %d blocks:\n", shape_name[shape], n);
        ipam_pool_upsert(ipam, small, &err);
        ipam_start(ipam);
        bench_drain(ipam);

        j = big_pool_json(shape, n, -1, 1);
        t0 = bench_cpu_s();
        big = bench_decode_pool(j);
        printf("  %-52s %9.3f ms (informer)\n", "decode", (bench_cpu_s() - t0) * 1e3);
        TIMED(good, "create (ipam_pool_upsert)", ipam_pool_upsert(ipam, big, &err));
        if (err) {
                fprintf(stderr, "big pool rejected: %s\n", err);
                exit(1);
        }
        bench_drain(ipam);

        j = big_pool_json(shape, n, -1, 1);
        add_status(j, ipam);
        echo = bench_decode_pool(j);
        TIMED(good, "status echo (same spec, conditions set)", ipam_pool_upsert(ipam, echo, &err));
        bench_drain(ipam);

        TIMED(good, "allocate a service from it", ipam_service_upsert(ipam, sb));
        TIMED(good, "allocate a service from the ordinary pool", ipam_service_upsert(ipam, so));
        TIMED(good, "pool status read-back", ipam_pool_status(ipam, "big", &st));
        ipam_pool_status_done(&st);
        bench_drain(ipam);

        edit = bench_decode_pool(big_pool_json(shape, n, n / 2, 2));
        TIMED(good, "edit (one block removed, the others kept)",
              ipam_pool_upsert(ipam, edit, &err));
        bench_drain(ipam);

        TIMED(good, "delete", ipam_pool_delete(ipam, "big"));
        bench_drain(ipam);
        ipam_pool_status(ipam, "ordinary", &st);
        printf("  ordinary pool after delete: used %s\n", st.conditions[2].message);
        ipam_pool_status_done(&st);

        ipam_free(ipam);
        k8s_ippool_free(small);
        k8s_ippool_free(big);
        k8s_ippool_free(edit);
        k8s_ippool_free(echo);
        k8s_service_free(sb);
        k8s_service_free(so);
        return good;
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 10000;
        bool good = true;

        if (n <= 0 || n > (1 << 20)) {
                fprintf(stderr, "usage: bench-ipam-blocks [blocks <= 1048576]\n");
                return 2;
        }
        for (int s = 0; s < _SHAPE_MAX; s++)
                good &= run(s, n);
        printf("%s\n", good ? "every step within target" : "some steps over target");
        return good ? 0 : 1;
}
