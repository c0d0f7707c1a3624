/* Benchmark: l2lb-operator against a real kube-apiserver.
 *
 *   bench-operator --operator PATH [--services N] [--pools P]
 *
 * 1. Creates P pools (one /16 each, selecting services by a label) and
 *    starts the operator (as a child process).
 * 2. Creates N LoadBalancer Services (64 requests in flight over HTTP/2)
 *    and, with an informer of its own, times until every one has an ingress
 *    IP. Reports the creation rate, the time to all satisfied, and the
 *    operator's CPU time (from /proc) and peak RSS (VmHWM).
 * 3. Restarts the operator (SIGTERM, start again) and times until it leads
 *    and has written nothing for 5 s; compares every Service's IPs before
 *    and after: the number changed must be 0.
 * KUBECONFIG selects the apiserver; start it with a /16 service CIDR and a
 * wide node-port range (kube-testenv up --service-cidr 10.96.0.0/16
 * --node-port-range 1024-65535). */
#include <fcntl.h>
#include <glib.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/api.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "lib/util.h"

static sd_event *ev;
static struct kube_client *client;
static const char *ns = "bench-operator";
static int total = 50000, npools = 100;
static const char *operator_path;

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t start_operator(const char *log)
{
        pid_t pid = fork();

        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

                dup2(fd, 2);
                dup2(fd, 1);
                close_range(3, ~0U, 0); /* not our API connections */
                /* the client limit must not be the bottleneck of this test: a
                 * burst of 230 creates/s needs ~230 status patches/s */
                execl(operator_path, operator_path, "--identity=bench-operator",
                      "--prometheus-serve-addr=127.0.0.1:9963", "--k8s-client-qps=1000",
                      "--k8s-client-burst=1000", (char *)NULL);
                _exit(127);
        }
        return pid;
}

/* utime+stime in seconds and VmHWM in MB of a process */
static void proc_usage(pid_t pid, double *cpu, long *hwm_mb)
{
        char path[64], buf[4096];
        FILE *f;

        *cpu = 0;
        *hwm_mb = 0;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "r");
        if (f) {
                if (fgets(buf, sizeof(buf), f)) {
                        char *p = strrchr(buf, ')');
                        unsigned long ut = 0, st = 0;

                        /* fields after ") ": state(3) ... utime(14) stime(15) */
                        if (p &&
                            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                                   &ut, &st) == 2)
                                *cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
                }
                fclose(f);
        }
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "r");
        if (f) {
                while (fgets(buf, sizeof(buf), f))
                        if (startswith(buf, "VmHWM:"))
                                *hwm_mb = strtol(buf + 6, NULL, 10) / 1024;
                fclose(f);
        }
}

static void sync_call(const char *what, int r, struct kube_sync *s)
{
        if (r >= 0)
                kube_sync_wait(client, s, 60 * USEC_PER_SEC);
        if (s->error && s->http_status != 409)
                fprintf(stderr, "%s: %s\n", what, s->message ? s->message : "error");
        kube_sync_done(s);
}

static void setup_pools(void)
{
        struct kube_sync s = {0};
        json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                              "metadata", "name", ns);

        sync_call("namespace",
                  kube_create(client, &KUBE_NAMESPACES, NULL, o, kube_sync_callback, &s, NULL), &s);
        json_decref(o);
        for (int p = 0; p < npools; p++) {
                char name[64], cidr[64], group[32];

                snprintf(name, sizeof(name), "bench-pool-%03d", p);
                snprintf(cidr, sizeof(cidr), "10.%d.0.0/16", 100 + p);
                snprintf(group, sizeof(group), "g%03d", p);
                o = json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s}], s:{s:{s:s}}}}", "apiVersion",
                              "cilium.io/v2", "kind", "CiliumLoadBalancerIPPool", "metadata",
                              "name", name, "spec", "blocks", "cidr", cidr, "serviceSelector",
                              "matchLabels", "bench-pool", group);
                memset(&s, 0, sizeof(s));
                sync_call("pool",
                          kube_create(client, &KUBE_IPPOOLS, NULL, o, kube_sync_callback, &s, NULL),
                          &s);
                json_decref(o);
        }
}

struct creator {
        int next, in_flight, done, failed;
};

static void create_more(struct creator *cr);

static void on_created(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct creator *cr = ud;

        (void)c;
        cr->in_flight--;
        cr->done++;
        if (res->error && !kube_result_already_exists(res) && cr->failed++ < 5)
                fprintf(stderr, "create: %ld %s\n", res->http_status, strempty(res->message));
        create_more(cr);
}

static void create_more(struct creator *cr)
{
        while (cr->in_flight < 64 && cr->next < total) {
                char name[32], group[32];
                json_t *o;

                snprintf(name, sizeof(name), "lb-%05d", cr->next);
                snprintf(group, sizeof(group), "g%03d", cr->next % npools);
                o = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s, s:[{s:i}]}}", "apiVersion",
                              "v1", "kind", "Service", "metadata", "name", name, "labels",
                              "bench-pool", group, "spec", "type", "LoadBalancer", "ports", "port",
                              80);
                kube_create(client, &KUBE_SERVICES, ns, o, on_created, cr, NULL);
                json_decref(o);
                cr->next++;
                cr->in_flight++;
        }
}

/* ---- counting satisfied services with our own informer ---- */

static GHashTable *ips; /* name → "ip" */

static void track(const struct k8s_service *s)
{
        if (s->n_ingress > 0 && s->ingress[0].ip)
                g_hash_table_replace(ips, g_strdup(s->meta.name), g_strdup(s->ingress[0].ip));
        else
                g_hash_table_remove(ips, s->meta.name);
}

static void on_add(void *ud, const void *obj)
{
        (void)ud;
        track(obj);
}

static void on_update(void *ud, const void *old, const void *obj)
{
        (void)ud;
        (void)old;
        track(obj);
}

static void on_remove(void *ud, const void *obj)
{
        const struct k8s_service *s = obj;

        (void)ud;
        g_hash_table_remove(ips, s->meta.name);
}

static GHashTable *snapshot(void)
{
        GHashTable *copy = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        GHashTableIter it;
        gpointer k, v;

        g_hash_table_iter_init(&it, ips);
        while (g_hash_table_iter_next(&it, &k, &v))
                g_hash_table_insert(copy, g_strdup(k), g_strdup(v));
        return copy;
}

static void run_for(double seconds)
{
        double end = now_s() + seconds;

        while (now_s() < end)
                sd_event_run(ev, 100000);
}

int main(int argc, char **argv)
{
        struct kube_informer_handlers h = {on_add, on_update, on_remove, NULL};
        struct kube_informer_options io = {.namespace = ns};
        struct kube_informer *inf = NULL;
        struct kube_config *cfg = NULL;
        struct kube_client_options opts = {0};
        struct creator cr = {0};
        char *err = NULL, logpath[] = "/tmp/bench-operator.log";
        double t0, t_created = 0, t_all, cpu;
        long hwm;
        pid_t op;

        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--operator") && i + 1 < argc)
                        operator_path = argv[++i];
                else if (streq(argv[i], "--services") && i + 1 < argc)
                        total = atoi(argv[++i]);
                else if (streq(argv[i], "--pools") && i + 1 < argc)
                        npools = atoi(argv[++i]);
                else {
                        fprintf(stderr, "usage: bench-operator --operator PATH [--services N] "
                                        "[--pools P]\n");
                        return 2;
                }
        }
        if (!operator_path || kube_config_load(NULL, &cfg, &err) < 0) {
                fprintf(stderr, "need --operator and KUBECONFIG (%s)\n", strempty(err));
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        sd_event_new(&ev);
        kube_client_new(ev, cfg, &opts, &client);
        kube_config_free(cfg);
        ips = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        unlink(logpath);

        setup_pools();
        op = start_operator(logpath);
        kube_informer_new(client, &KUBE_SERVICES, &K8S_TYPE_SERVICE, &io, &h, NULL, &inf);
        kube_informer_start(inf);
        run_for(2);
        printf("services: %d over %d pools (/16 each); operator pid %d (--k8s-client-qps=1000), "
               "log %s\n",
               total, npools, (int)op, logpath);
        t0 = now_s();
        create_more(&cr);
        while ((int)g_hash_table_size(ips) < total) {
                sd_event_run(ev, 200000);
                if (!t_created && cr.done >= total) {
                        t_created = now_s();
                        printf("created %d in %.1f s (%.0f/s), %d failed\n", total, t_created - t0,
                               total / (t_created - t0), cr.failed);
                }
                if (now_s() - t0 > 3600) {
                        printf("timeout: %u satisfied\n", g_hash_table_size(ips));
                        break;
                }
        }
        t_all = now_s();
        proc_usage(op, &cpu, &hwm);
        printf("all %u satisfied %.1f s after the first create (%.1f s after the last)\n",
               g_hash_table_size(ips), t_all - t0, t_created ? t_all - t_created : 0);
        printf("operator: cpu %.1f s = %.1f%% of the wall time, peak RSS %ld MB\n", cpu,
               100 * cpu / (t_all - t0), hwm);

        /* restart */
        {
                GHashTable *before = snapshot();
                GHashTableIter it;
                gpointer k, v;
                int changed = 0, missing = 0;
                double t1;

                kill(op, SIGTERM);
                waitpid(op, NULL, 0);
                t1 = now_s();
                op = start_operator(logpath);
                /* ready: the operator logs its import; wait for it, then 5 s of quiet */
                for (;;) {
                        char cmd[256];

                        snprintf(cmd, sizeof(cmd), "grep -c 'LB-IPAM active' %s", logpath);
                        FILE *f = popen(cmd, "r");
                        int n = 0;

                        if (f) {
                                if (fscanf(f, "%d", &n) != 1)
                                        n = 0;
                                pclose(f);
                        }
                        if (n >= 2)
                                break;
                        run_for(0.05);
                        if (now_s() - t1 > 600)
                                break;
                }
                printf("restart: leading and imported %.2f s after the start\n", now_s() - t1);
                run_for(5);
                g_hash_table_iter_init(&it, before);
                while (g_hash_table_iter_next(&it, &k, &v)) {
                        const char *after = g_hash_table_lookup(ips, k);

                        if (!after)
                                missing++;
                        else if (strcmp(after, v))
                                changed++;
                }
                proc_usage(op, &cpu, &hwm);
                printf("restart: %d IPs changed, %d lost (of %u); operator cpu %.1f s, peak RSS "
                       "%ld MB\n",
                       changed, missing, g_hash_table_size(before), cpu, hwm);
                g_hash_table_unref(before);
        }
        kill(op, SIGTERM);
        waitpid(op, NULL, 0);
        kube_informer_free(inf);
        kube_client_free(client);
        sd_event_unref(ev);
        g_hash_table_unref(ips);
        return 0;
}
