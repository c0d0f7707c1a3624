/* client-go's leaderelection loop on sd-event: one timer (retry period),
 * at most one request in flight, lease state as last read or written, and
 * while leading a second timer at (last successful renewal + renew
 * deadline) that steps down whatever is in flight then. */
#include "leader.h"

#include <glib.h>
#include <math.h>
#include <time.h>

#include "api.h"
#include "lib/log.h"
#include "lib/util.h"
#include "api/objects.h"

struct kube_leader {
        struct kube_client *client;
        struct kube_leader_config cfg;
        char *namespace, *name, *identity;
        struct k8s_lease *lease; /* last seen or written; NULL: unknown */
        uint64_t observed_at;    /* mono: when the lease last changed as we saw it */
        uint64_t renewed_at;     /* mono: send time of our last successful write */
        uint64_t sent_at;        /* mono: send time of the request in flight */
        bool leading;
        bool started;
        bool releasing;
        bool released; /* handed over: take no part any more (client-go's ReleaseOnCancel) */
        struct kube_call *call;
        sd_event_source *timer;
        sd_event_source *deadline; /* while leading: renewed_at + renew_deadline */
        void (*release_done)(void *);
        void *release_data;
};

static uint64_t mono(struct kube_leader *l)
{
        uint64_t t = 0;

        (void)sd_event_now(kube_client_event(l->client), CLOCK_MONOTONIC, &t);
        return t;
}

static char *wall_micro(char *buf, size_t len)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return k8s_time_format((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, true, buf, len);
}

static void tick(struct kube_leader *l);

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        tick(userdata);
        return 0;
}

static void schedule(struct kube_leader *l, uint64_t delay)
{
        sd_event_source_disable_unref(l->timer);
        l->timer = NULL;
        (void)sd_event_add_time_relative(kube_client_event(l->client), &l->timer, CLOCK_MONOTONIC,
                                         delay, 1000, on_timer, l);
}

static void step_down(struct kube_leader *l, const char *why);

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        step_down(userdata, "could not renew within the renew deadline");
        return 0;
}

/* (Re)arm the step-down timer after a successful write as leader. */
static void arm_deadline(struct kube_leader *l)
{
        uint64_t left = kube_leader_time_left(l->renewed_at, l->cfg.renew_deadline, mono(l));

        sd_event_source_disable_unref(l->deadline);
        l->deadline = NULL;
        /* accuracy 1 µs: never later than the deadline (0 would mean 250 ms) */
        (void)sd_event_add_time_relative(kube_client_event(l->client), &l->deadline,
                                         CLOCK_MONOTONIC, left, 1, on_deadline, l);
}

static void set_leading(struct kube_leader *l, bool leading, const char *why)
{
        if (l->leading == leading)
                return;
        l->leading = leading;
        if (leading) {
                log_info("became leader", "lease=%s/%s identity=%s", l->namespace, l->name,
                         l->identity);
                if (l->cfg.started_leading)
                        l->cfg.started_leading(l->cfg.userdata);
        } else {
                sd_event_source_disable_unref(l->deadline);
                l->deadline = NULL;
                log_warn("stopped leading", "lease=%s/%s identity=%s reason=%s", l->namespace,
                         l->name, l->identity, log_q(why));
                if (l->cfg.stopped_leading)
                        l->cfg.stopped_leading(l->cfg.userdata);
        }
}

/* The renew deadline passed without a successful renewal: stop leading now,
 * abandoning a renewal still in flight (a release in flight ends by itself). */
static void step_down(struct kube_leader *l, const char *why)
{
        if (!l->leading)
                return;
        if (!l->releasing) {
                kube_call_cancel(l->call);
                l->call = NULL;
        }
        k8s_lease_free(l->lease);
        l->lease = NULL;
        set_leading(l, false, why);
}

/* Remember a lease read from or written to the API. */
static void observe(struct kube_leader *l, json_t *body, uint64_t now)
{
        struct k8s_lease *n = NULL;
        char *err = NULL;

        if (!body || k8s_lease_decode(body, &n, &err) < 0) {
                log_warn("cannot decode leader lease", "error=%s", log_q(err));
                free(err);
                return;
        }
        if (!l->lease || !streq_ptr(l->lease->meta.resource_version, n->meta.resource_version))
                l->observed_at = now;
        k8s_lease_free(l->lease);
        l->lease = n;
}

static void on_write(struct kube_client *c, const struct kube_result *res, void *userdata)
{
        struct kube_leader *l = userdata;

        (void)c;
        l->call = NULL;
        if (kube_result_ok(res))
                observe(l, res->body, mono(l));
        else {
                log_warn("leader lease write failed", "lease=%s/%s status=%ld reason=%s",
                         l->namespace, l->name, res->http_status, log_q(res->reason));
                /* re-read before the next attempt */
                k8s_lease_free(l->lease);
                l->lease = NULL;
        }
        if (l->releasing) {
                /* one attempt only: a failed release still ends our part */
                l->releasing = false;
                set_leading(l, false, "released");
                if (l->release_done)
                        l->release_done(l->release_data);
                return;
        }
        if (kube_result_ok(res)) {
                l->renewed_at = l->sent_at;
                set_leading(l, true, NULL);
                arm_deadline(l);
        }
}

static void write_lease(struct kube_leader *l, struct k8s_lease *lease, bool create)
{
        json_t *o = k8s_lease_to_json(lease);
        uint64_t timeout = l->cfg.renew_deadline;
        int r;

        l->sent_at = mono(l);
        /* a leader gives up when it must step down (the deadline timer does
         * that); at least 1 ms, as curl takes 0 for no timeout at all */
        if (l->leading)
                timeout =
                    MAX(kube_leader_time_left(l->renewed_at, l->cfg.renew_deadline, l->sent_at),
                        USEC_PER_MSEC);
        {
                _cleanup_free_ char *path =
                    kube_path(&KUBE_LEASES, l->namespace, create ? NULL : l->name, NULL);

                /* never behind bulk work in the rate limiter */
                r = kube_call(l->client, create ? "POST" : "PUT", path, o, "application/json",
                              KUBE_CALL_NO_RETRY | KUBE_CALL_PRIORITY, timeout, on_write, l,
                              &l->call);
        }
        json_decref(o);
        if (r < 0) {
                l->call = NULL;
                log_error_errno(r, "cannot send leader lease write");
        }
}

/* Our lease as we want it written: holder, times, transitions. */
static void fill_lease(struct kube_leader *l, struct k8s_lease *n, const struct k8s_lease *old,
                       bool acquire)
{
        char now[64];

        memset(n, 0, sizeof(*n));
        n->meta.name = l->name;
        n->meta.namespace = l->namespace;
        n->meta.resource_version = old ? old->meta.resource_version : NULL;
        n->holder = l->identity;
        n->lease_duration_seconds =
            (int32_t)((l->cfg.lease_duration + USEC_PER_SEC - 1) / USEC_PER_SEC);
        wall_micro(now, sizeof(now));
        n->renew_time = xstrdup(now);
        if (acquire || !old || !old->acquire_time)
                n->acquire_time = xstrdup(now);
        else
                n->acquire_time = xstrdup(old->acquire_time);
        n->lease_transitions = old ? old->lease_transitions : 0;
        if (old && acquire && !streq_ptr(old->holder, l->identity))
                n->lease_transitions++;
}

static void fill_done(struct k8s_lease *n)
{
        free(n->renew_time);
        free(n->acquire_time);
}

static void on_get(struct kube_client *c, const struct kube_result *res, void *userdata)
{
        struct kube_leader *l = userdata;
        uint64_t now = mono(l);
        struct k8s_lease n;

        (void)c;
        l->call = NULL;
        if (kube_result_not_found(res)) {
                k8s_lease_free(l->lease);
                l->lease = NULL;
                fill_lease(l, &n, NULL, true);
                write_lease(l, &n, true);
                fill_done(&n);
                return;
        }
        if (!kube_result_ok(res)) {
                log_warn("cannot read leader lease", "lease=%s/%s status=%ld reason=%s",
                         l->namespace, l->name, res->http_status, log_q(res->reason));
                return;
        }
        observe(l, res->body, now);
        if (!l->lease)
                return;
        if (!streq_ptr(l->lease->holder, l->identity)) {
                uint64_t dur = (uint64_t)l->lease->lease_duration_seconds * USEC_PER_SEC;

                if (l->leading)
                        set_leading(l, false, "lease taken by another holder");
                if (!isempty(l->lease->holder) && now < l->observed_at + dur)
                        return; /* held by someone else and not expired */
        }
        fill_lease(l, &n, l->lease, true);
        write_lease(l, &n, false);
        fill_done(&n);
}

static void tick(struct kube_leader *l)
{
        if (l->released)
                return;
        schedule(l, l->cfg.retry_period);
        if (l->call || l->releasing)
                return;
        if (l->leading && l->lease) {
                struct k8s_lease n;

                /* renew without reading first */
                fill_lease(l, &n, l->lease, false);
                write_lease(l, &n, false);
                fill_done(&n);
                return;
        }
        {
                _cleanup_free_ char *path = kube_path(&KUBE_LEASES, l->namespace, l->name, NULL);

                if (kube_call(l->client, "GET", path, NULL, NULL,
                              KUBE_CALL_NO_RETRY | KUBE_CALL_PRIORITY, l->cfg.retry_period * 4,
                              on_get, l, &l->call) < 0)
                        l->call = NULL;
        }
}

int kube_leader_check_timings(uint64_t lease_duration, uint64_t renew_deadline,
                              uint64_t retry_period, const char **ret_why)
{
        const char *why = NULL;

        if (lease_duration == 0 || renew_deadline == 0 || retry_period == 0)
                why = "lease duration, renew deadline and retry period must be greater than zero";
        else if (lease_duration <= renew_deadline)
                why = "lease duration must be greater than the renew deadline";
        /* renew_deadline > 1.2 × retry_period, exactly and without overflow:
         * (d - r) × 5 > r, where d - r > UINT64_MAX / 5 always is */
        else if (renew_deadline <= retry_period ||
                 (renew_deadline - retry_period <= UINT64_MAX / 5 &&
                  (renew_deadline - retry_period) * 5 <= retry_period))
                why = "renew deadline must be greater than 1.2 × the retry period";
        if (ret_why)
                *ret_why = why;
        return why ? -EINVAL : 0;
}

uint64_t kube_leader_time_left(uint64_t renewed_at, uint64_t renew_deadline, uint64_t now)
{
        uint64_t end;

        if (__builtin_add_overflow(renewed_at, renew_deadline, &end))
                end = UINT64_MAX;
        return end > now ? end - now : 0;
}

int kube_leader_new(struct kube_client *c, const struct kube_leader_config *cfg,
                    struct kube_leader **ret)
{
        struct kube_leader *l;

        assert(c);
        assert(cfg);
        assert(cfg->name && cfg->namespace && cfg->identity);
        assert(ret);
        if (kube_leader_check_timings(cfg->lease_duration, cfg->renew_deadline, cfg->retry_period,
                                      NULL) < 0)
                return -EINVAL;
        l = xnew(struct kube_leader, 1);
        l->client = c;
        l->cfg = *cfg;
        l->namespace = xstrdup(cfg->namespace);
        l->name = xstrdup(cfg->name);
        l->identity = xstrdup(cfg->identity);
        *ret = l;
        return 0;
}

int kube_leader_start(struct kube_leader *l)
{
        if (l->started)
                return 0;
        l->started = true;
        schedule(l, 0);
        return 0;
}

bool kube_leader_is_leader(const struct kube_leader *l)
{
        return l->leading;
}

const char *kube_leader_holder(const struct kube_leader *l)
{
        return l->lease ? l->lease->holder : NULL;
}

void kube_leader_release(struct kube_leader *l, void (*done)(void *), void *userdata)
{
        struct k8s_lease n;
        char now[64];

        l->released = true;
        if (!l->leading || !l->lease) {
                if (done)
                        done(userdata);
                return;
        }
        kube_call_cancel(l->call);
        l->call = NULL;
        l->releasing = true;
        l->release_done = done;
        l->release_data = userdata;
        /* as client-go's ReleaseOnCancel writes it */
        fill_lease(l, &n, l->lease, false);
        n.holder = "";
        n.lease_duration_seconds = 1;
        free(n.acquire_time);
        n.acquire_time = xstrdup(wall_micro(now, sizeof(now)));
        write_lease(l, &n, false);
        fill_done(&n);
}

void kube_leader_free(struct kube_leader *l)
{
        if (!l)
                return;
        kube_call_cancel(l->call);
        sd_event_source_disable_unref(l->timer);
        sd_event_source_disable_unref(l->deadline);
        k8s_lease_free(l->lease);
        free(l->namespace);
        free(l->name);
        free(l->identity);
        free(l);
}
