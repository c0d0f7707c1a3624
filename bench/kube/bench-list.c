/* Benchmark: list and decode N Services from a real kube-apiserver into an
 * informer cache.
 *
 *   bench-list [--create N] [--page P]
 *
 * With --create, N Services are created first (64 requests in flight, over
 * HTTP/2). Then, in this order:
 *   1. raw: the same paged list without decoding into objects (bytes only),
 *      i.e. how fast the apiserver sends;
 *   2. informer: list + decode into the typed cache, as the operator does.
 * Prints wall time, CPU time of this process and peak RSS after each phase.
 * KUBECONFIG selects the apiserver (use a wide service CIDR: kube-testenv up
 * --service-cidr 10.96.0.0/12). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kube/api.h"
#include "kube/connect.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "lib/util.h"

static sd_event *ev;
static struct kube_client *client;
static const char *ns = "bench-list";

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long rss_mb(void)
{
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_maxrss / 1024;
}

/* ---- creation ---- */

struct creator {
        int next, total, in_flight, done, failed;
};

static void create_next(struct creator *cr);

static void on_created(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct creator *cr = ud;

        (void)c;
        cr->in_flight--;
        cr->done++;
        if (res->error && !kube_result_already_exists(res)) {
                if (cr->failed++ < 5)
                        fprintf(stderr, "create failed: %ld %s\n", res->http_status,
                                res->message ? res->message : "");
        }
        if (cr->done % 5000 == 0)
                fprintf(stderr, "  created %d\n", cr->done);
        create_next(cr);
}

static void create_next(struct creator *cr)
{
        while (cr->in_flight < 64 && cr->next < cr->total) {
                char buf[512];
                json_t *o;

                snprintf(buf, sizeof(buf),
                         "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
                         "\"svc-%05d\",\"labels\":{\"bench\":\"list\",\"color\":\"%s\"}},\"spec\""
                         ":{\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}],\"selector\":{\"app\":"
                         "\"svc-%05d\"}}}",
                         cr->next, cr->next % 2 ? "blue" : "red", cr->next);
                o = json_loads(buf, 0, NULL);
                kube_create(client, &KUBE_SERVICES, ns, o, on_created, cr, NULL);
                json_decref(o);
                cr->next++;
                cr->in_flight++;
        }
}

static void create_services(int n)
{
        struct creator cr = {.total = n};
        struct kube_sync s = {0};
        json_t *o = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
                               "\"name\":\"bench-list\"}}",
                               0, NULL);
        double t0 = now_s();

        kube_create(client, &KUBE_NAMESPACES, NULL, o, kube_sync_callback, &s, NULL);
        kube_sync_wait(client, &s, 30 * USEC_PER_SEC);
        kube_sync_done(&s);
        json_decref(o);
        create_next(&cr);
        while (cr.done < cr.total)
                sd_event_run(ev, UINT64_MAX);
        printf("create: %d services in %.1f s (%.0f/s), %d failed\n", n, now_s() - t0,
               n / (now_s() - t0), cr.failed);
}

/* ---- raw paged list ---- */

struct raw {
        size_t items, pages;
        char *cont;
        bool done;
        int error;
};

static void raw_next(struct raw *r);

static void on_page(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct raw *r = ud;
        const char *cont;

        (void)c;
        if (res->error) {
                r->error = res->error;
                r->done = true;
                return;
        }
        r->items += json_array_size(json_object_get(res->body, "items"));
        r->pages++;
        cont =
            json_string_value(json_object_get(json_object_get(res->body, "metadata"), "continue"));
        free(r->cont);
        r->cont = cont && *cont ? strdup(cont) : NULL;
        if (r->cont)
                raw_next(r);
        else
                r->done = true;
}

static void raw_next(struct raw *r)
{
        struct kube_list_opts o = {.limit = 500, .continue_token = r->cont};

        kube_list(client, &KUBE_SERVICES, ns, &o, on_page, r, NULL);
}

static void count_synced(void *ud)
{
        *(bool *)ud = true;
}

int main(int argc, char **argv)
{
        struct kube_config *cfg = NULL;
        struct kube_client_options opts = {.qps = 0};
        char *err = NULL;
        int create = 0;
        unsigned page = 500;

        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--create") && i + 1 < argc)
                        create = atoi(argv[++i]);
                else if (streq(argv[i], "--page") && i + 1 < argc)
                        page = (unsigned)atoi(argv[++i]);
                else {
                        fprintf(stderr, "usage: bench-list [--create N] [--page P]\n");
                        return 2;
                }
        }
        if (kube_config_load(NULL, &cfg, &err) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        sd_event_new(&ev);
        kube_client_new(ev, cfg, &opts, &client);
        kube_config_free(cfg);
        if (create > 0)
                create_services(create);

        {
                struct raw r = {0};
                double t0 = now_s(), c0 = cpu_s();

                raw_next(&r);
                while (!r.done)
                        sd_event_run(ev, UINT64_MAX);
                printf("raw list (no decoding): %zu services, %zu pages, wall %.2f s, cpu %.2f s, "
                       "peak RSS %ld MB\n",
                       r.items, r.pages, now_s() - t0, cpu_s() - c0, rss_mb());
                free(r.cont);
        }
        {
                struct kube_informer_options io = {.namespace = ns, .page_size = page};
                struct kube_informer_handlers h = {.synced = count_synced};
                struct kube_informer *inf = NULL;
                bool synced = false;
                long rss0 = rss_mb();
                double t0 = now_s(), c0 = cpu_s();

                kube_informer_new(client, &KUBE_SERVICES, &K8S_TYPE_SERVICE, &io, &h, &synced,
                                  &inf);
                kube_informer_start(inf);
                while (!synced)
                        sd_event_run(ev, UINT64_MAX);
                printf("informer list+decode: %zu services in cache, wall %.2f s, cpu %.2f s, "
                       "peak RSS %ld MB (was %ld MB before)\n",
                       kube_informer_count(inf), now_s() - t0, cpu_s() - c0, rss_mb(), rss0);
                kube_informer_free(inf);
        }
        kube_client_free(client);
        sd_event_unref(ev);
        return 0;
}
