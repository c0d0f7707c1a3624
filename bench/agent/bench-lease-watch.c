/* bench-lease-watch: timestamps every change of the L2 announcement Leases
 * as the apiserver's watch delivers it, for bench/agent/run.
 *
 *   bench-lease-watch [NAMESPACE]        (default kube-system; KUBECONFIG)
 *
 * One line per event of a Lease named cilium-l2announce-*, written and
 * flushed as the event arrives:
 *
 *   <wall time> <name> <holder or -> <leaseTransitions> <acquireTime> <renewTime>
 *
 * times in seconds since the epoch with µs (acquireTime and renewTime as the
 * writer's clock put them in the lease; 0 when absent)
 *
 * (a deleted lease: holder "deleted"). The first lines are the initial list.
 * Runs until SIGTERM or SIGINT. A C informer on the event loop rather than
 * `kubectl get -w` piped through a shell loop, which lags behind 100 renewals
 * a second on a busy machine and timestamps late. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "kube/api.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "lib/util.h"

#define PREFIX "cilium-l2announce-"

static double wall_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double micro_time(const char *s)
{
        int64_t usec = 0;

        if (isempty(s) || k8s_time_parse(s, &usec) < 0)
                return 0;
        return (double)usec / 1e6;
}

static void print_lease(const struct k8s_lease *l, const char *holder)
{
        if (strncmp(l->meta.name, PREFIX, strlen(PREFIX)) != 0)
                return;
        printf("%.6f %s %s %d %.6f %.6f\n", wall_s(), l->meta.name,
               holder ? holder : (isempty(l->holder) ? "-" : l->holder), l->lease_transitions,
               micro_time(l->acquire_time), micro_time(l->renew_time));
        fflush(stdout);
}

static void on_add(void *ud, const void *obj)
{
        (void)ud;
        print_lease(obj, NULL);
}

static void on_update(void *ud, const void *old, const void *obj)
{
        (void)ud;
        (void)old;
        print_lease(obj, NULL);
}

static void on_remove(void *ud, const void *obj)
{
        (void)ud;
        print_lease(obj, "deleted");
}

static void on_synced(void *ud)
{
        (void)ud;
        fprintf(stderr, "bench-lease-watch: synced\n");
}

int main(int argc, char **argv)
{
        static const struct kube_informer_handlers h = {on_add, on_update, on_remove, on_synced};
        struct kube_informer_options io = {.namespace = argc > 1 ? argv[1] : "kube-system",
                                           .watch_timeout_seconds = 3600};
        struct kube_client_options opts = {.qps = 0};
        struct kube_config *cfg = NULL;
        struct kube_client *client = NULL;
        struct kube_informer *inf = NULL;
        sd_event *ev = NULL;
        char *err = NULL;
        sigset_t ss;
        int r;

        if (kube_config_load(NULL, &cfg, &err) < 0) {
                fprintf(stderr, "bench-lease-watch: %s\n", err);
                free(err);
                return 1;
        }
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        sd_event_default(&ev);
        sd_event_add_signal(ev, NULL, SIGTERM, NULL, NULL);
        sd_event_add_signal(ev, NULL, SIGINT, NULL, NULL);
        r = kube_client_new(ev, cfg, &opts, &client);
        kube_config_free(cfg);
        if (r >= 0)
                r = kube_informer_new(client, &KUBE_LEASES, &K8S_TYPE_LEASE, &io, &h, NULL, &inf);
        if (r >= 0)
                r = kube_informer_start(inf);
        if (r >= 0)
                r = sd_event_loop(ev);
        kube_informer_free(inf);
        kube_client_free(client);
        sd_event_unref(ev);
        return r < 0 ? 1 : 0;
}
