/* The Kubernetes API client: HTTPS requests and watch streams over libcurl's
 * multi interface, driven by the process's sd-event loop.
 *
 * Every request is asynchronous: kube_call() queues it and returns at once;
 * the callback runs on the event loop with the decoded JSON body or an error
 * carrying the HTTP status and the API's Status reason and message. Requests
 * pass a client-side token bucket (QPS/burst); 429s and 5xxs are retried with
 * backoff honouring Retry-After (and transport errors, for reads). HTTP/2 is
 * used where the server offers it so that all watches share one connection.
 *
 * No callback ever runs inside a libcurl callback, so callbacks may start and
 * cancel requests freely. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "kubeconfig.h"
#include "throttle.h"

struct kube_client;
struct kube_call;

struct kube_result {
        long http_status;    /* 0: no HTTP response (transport error) */
        int error;           /* 0 on 2xx, else negative errno (-EIO for HTTP errors) */
        const char *reason;  /* Status.reason ("Conflict", "NotFound", ...) or a short cause */
        const char *message; /* Status.message or the transport error */
        uint64_t retry_after_usec; /* the response's Retry-After (at most a day), 0: none */
        json_t *body;              /* borrowed, may be NULL; valid during the callback */
};

typedef void (*kube_callback_t)(struct kube_client *c, const struct kube_result *res,
                                void *userdata);
/* One watch event; object is borrowed (json_incref to keep it). */
typedef void (*kube_watch_event_t)(struct kube_client *c, const char *type, json_t *object,
                                   void *userdata);

struct kube_client_options {
        double qps;            /* 0: unlimited */
        unsigned burst;        /* tokens; at least 1 when qps > 0 */
        unsigned max_retries;  /* for 429/5xx/transport errors; default 5 */
        uint64_t timeout_usec; /* per request (not watches); default 30 s */
        /* Ordinary requests on the wire at once (default 64): the rest wait
         * in our queues, where KUBE_CALL_PRIORITY can still overtake them
         * (HTTP/2 stream queues inside libcurl are first come, first served).
         * Watches and priority calls do not count. */
        unsigned max_in_flight;
        const char *user_agent;
};

enum kube_call_flags {
        KUBE_CALL_NO_RETRY = 1 << 0, /* report the first failure (time-critical writes) */
        /* Go before every ordinary request waiting for a rate-limit token
         * (lease renewals must never queue behind bulk status patches). It
         * still takes a token, so the QPS limit holds. */
        KUBE_CALL_PRIORITY = 1 << 1,
        /* Best effort (Events, counters in pool status, the compatibility
         * Leases of the node-heartbeat election): only when nothing else
         * waits for a token, and only from a full bucket, so a burst of
         * work is not slowed down by its own bookkeeping and a backlog of it
         * never spends the burst a failover needs (it still flows at the
         * QPS when nothing else runs). */
        KUBE_CALL_LOW = 1 << 2,
};

/* Dead connections. With HTTP/2 every request and watch shares one
 * connection, so a black-holed one (a peer or path gone without a FIN or RST)
 * must be noticed by TCP itself: keepalive probes an idle connection after
 * 5 s and then every 2 s, and TCP_USER_TIMEOUT aborts the connection once
 * data (a request, or a probe) has gone unacknowledged for 20 s. Keepalive
 * alone never probes while a request written into the black hole is being
 * retransmitted, which lasts ~15 min. Either way the connection errors
 * within about 20-22 s: every call on it fails (watches end, and the
 * informer watches again), and curl opens a new connection for the next.
 * Linux uses the user timeout instead of the probe count when both are set;
 * the count (5 + 8 × 2 = 21 s) only matters if the user timeout is refused. */
#define KUBE_TCP_KEEPIDLE_SEC      5
#define KUBE_TCP_KEEPINTVL_SEC     2
#define KUBE_TCP_KEEPCNT           8
#define KUBE_TCP_USER_TIMEOUT_MSEC 20000

/* Set those on a TCP socket; returns 0 or the first failure's -errno. */
int kube_tcp_set_timeouts(int fd);

/* Called after every HTTP exchange (also retried ones), for metrics. */
typedef void (*kube_observer_t)(const char *method, const char *path, long http_status,
                                uint64_t duration_usec, void *userdata);

int kube_client_new(sd_event *event, const struct kube_config *cfg,
                    const struct kube_client_options *opts, struct kube_client **ret);
void kube_client_free(struct kube_client *c);
sd_event *kube_client_event(struct kube_client *c);
void kube_client_set_observer(struct kube_client *c, kube_observer_t fn, void *userdata);
/* Total microseconds requests waited in the rate limiter. */
uint64_t kube_client_throttled_usec(struct kube_client *c);
unsigned kube_client_in_flight(struct kube_client *c);
/* Requests of a class waiting for a rate-limit token or a slot. */
size_t kube_client_queued(struct kube_client *c, enum kube_throttle_class cls);

/* Start a request. path includes the query ("/api/v1/services?limit=500").
 * body (may be NULL) is serialised at once; the caller keeps its reference.
 * timeout_usec 0 means the client default. *ret (optional) is a handle for
 * kube_call_cancel() valid until the callback has run. Returns 0, or -EINVAL
 * when body cannot be serialised. */
int kube_call(struct kube_client *c, const char *method, const char *path, json_t *body,
              const char *content_type, unsigned flags, uint64_t timeout_usec, kube_callback_t cb,
              void *userdata, struct kube_call **ret);
/* A watch: on_event for each event; done when the stream ends (res->error 0
 * for a normal end, e.g. the server's timeoutSeconds; -EBADMSG when a line
 * is not a watch event: the watch ends there, nothing is skipped). Returns 0. */
int kube_watch_call(struct kube_client *c, const char *path, uint64_t timeout_usec,
                    kube_watch_event_t on_event, kube_callback_t done, void *userdata,
                    struct kube_call **ret);
/* The callback will not run. Safe to call from any callback. */
void kube_call_cancel(struct kube_call *call);
/* Put queued requests on the wire now instead of when the callback in
 * progress returns (e.g. ask for the next page before decoding this one). */
void kube_client_flush(struct kube_client *c);

/* Result predicates. */
static inline bool kube_result_ok(const struct kube_result *r)
{
        return r->error == 0;
}
bool kube_result_is(const struct kube_result *r, long status, const char *reason);
#define kube_result_not_found(r)      kube_result_is((r), 404, NULL)
#define kube_result_conflict(r)       kube_result_is((r), 409, "Conflict")
#define kube_result_already_exists(r) kube_result_is((r), 409, "AlreadyExists")
#define kube_result_gone(r)           kube_result_is((r), 410, NULL)
#define kube_result_forbidden(r)      kube_result_is((r), 403, NULL)

/* Blocking helper for the command line and tests: runs the event loop until
 * the call completes. Copies what it needs of the result. */
struct kube_sync {
        bool done;
        long http_status;
        int error;
        char *reason;
        char *message;
        json_t *body; /* owned */
};
void kube_sync_callback(struct kube_client *c, const struct kube_result *res, void *userdata);
/* Run the loop until s->done or timeout; returns s->error or -ETIMEDOUT. */
int kube_sync_wait(struct kube_client *c, struct kube_sync *s, uint64_t timeout_usec);
void kube_sync_done(struct kube_sync *s);
