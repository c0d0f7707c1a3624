/* The client side of test-dead-connection.sh, run inside the test's network
 * namespace: an informer on the Leases of namespace NS (argv[1]) and a
 * renewal of Lease NS/deadconn-beat (a merge patch, no retries, 5 s timeout
 * like a leader's) every second, with $KUBECONFIG. Prints one line per fact
 * on stdout, each starting with the wall-clock time in seconds:
 *   T synced | T added NAME | T write ok | T write failed REASON
 *   T watch-errors N (the informer's watches that ended abnormally)
 * Runs until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kube/api.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "lib/log.h"
#include "lib/util.h"

struct state {
        struct kube_client *client;
        struct kube_informer *inf;
        const char *ns;
        bool writing;
        unsigned beats;
        unsigned watch_errors;
};

static double wall(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts); /* cannot fail for CLOCK_REALTIME */
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_add(void *ud, const void *obj)
{
        const struct k8s_meta *m = obj;

        (void)ud;
        printf("%.3f added %s\n", wall(), m->name);
}

static void on_synced(void *ud)
{
        (void)ud;
        printf("%.3f synced\n", wall());
}

static const struct kube_informer_handlers handlers = {.add = on_add, .synced = on_synced};

static void on_written(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct state *s = ud;

        (void)c;
        s->writing = false;
        if (kube_result_ok(res))
                printf("%.3f write ok\n", wall());
        else
                printf("%.3f write failed %s\n", wall(), res->reason ? res->reason : "?");
}

static int on_beat(sd_event_source *src, uint64_t usec, void *ud)
{
        struct state *s = ud;

        if (!s->writing) {
                _cleanup_free_ char *patch =
                    xasprintf("{\"spec\":{\"leaseTransitions\":%u}}", ++s->beats);
                json_t *p = json_loads(patch, 0, NULL);

                s->writing = kube_patch(s->client, &KUBE_LEASES, s->ns, "deadconn-beat", NULL,
                                        KUBE_PATCH_MERGE, p, on_written, s, NULL) == 0;
                json_decref(p);
        }
        (void)sd_event_source_set_time(src, usec + USEC_PER_SEC);
        (void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
        return 0;
}

static int on_check(sd_event_source *src, uint64_t usec, void *ud)
{
        struct state *s = ud;
        struct kube_informer_stats st;

        kube_informer_get_stats(s->inf, &st);
        if (st.watch_errors != s->watch_errors) {
                s->watch_errors = st.watch_errors;
                printf("%.3f watch-errors %u\n", wall(), st.watch_errors);
        }
        (void)sd_event_source_set_time(src, usec + 100 * USEC_PER_MSEC);
        (void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
        return 0;
}

int main(int argc, char **argv)
{
        struct kube_informer_options io = {0};
        struct kube_client_options co = {.timeout_usec = 5 * USEC_PER_SEC};
        struct kube_config *cfg = NULL;
        _cleanup_free_ char *err = NULL;
        struct state s = {0};
        sd_event *ev = NULL;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s NAMESPACE (with $KUBECONFIG)\n", argv[0]);
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        log_setup("deadconn-client", LOG_FORMAT_LOGFMT, LOG_LEVEL_INFO);
        s.ns = io.namespace = argv[1];
        r = kube_config_load(NULL, &cfg, &err);
        if (r < 0) {
                fprintf(stderr, "kubeconfig: %s\n", err ? err : strerror(-r));
                return 1;
        }
        if (sd_event_new(&ev) < 0 || kube_client_new(ev, cfg, &co, &s.client) < 0 ||
            kube_informer_new(s.client, &KUBE_LEASES, &K8S_TYPE_LEASE, &io, &handlers, &s, &s.inf) <
                0 ||
            kube_informer_start(s.inf) < 0 ||
            sd_event_add_time_relative(ev, NULL, CLOCK_MONOTONIC, 0, 1000, on_beat, &s) < 0 ||
            sd_event_add_time_relative(ev, NULL, CLOCK_MONOTONIC, 0, 1000, on_check, &s) < 0) {
                fprintf(stderr, "cannot start the client\n");
                return 1;
        }
        kube_config_free(cfg);
        r = sd_event_loop(ev);
        fprintf(stderr, "event loop ended: %s\n", strerror(-r));
        return 1;
}
