/* Client observer → metric families. */
#include "client-metrics.h"

#include <stdio.h>
#include <string.h>

#include "lib/util.h"

struct informer_ref {
        char *resource;
        struct kube_informer *inf;
};

struct kube_client_metrics {
        struct kube_client *client;
        struct metric *requests;
        struct metric *latency;
        struct metric *throttled;
        struct metric *queued;
        struct metric *watches;
        struct metric *relists;
        struct metric *decode_errors;
        struct informer_ref refs[16];
        size_t n_refs;
};

void kube_request_classify(const char *method, const char *path, char *verb, size_t verb_len,
                           char *resource, size_t resource_len)
{
        const char *p = path, *q = strchr(path, '?');
        char parts[12][128];
        size_t n = 0, len = q ? (size_t)(q - path) : strlen(path);
        bool watch = q && (strstr(q, "watch=1") || strstr(q, "watch=true"));
        size_t first, collection_len;

        while (p < path + len && n < ELEMENTSOF(parts)) {
                const char *s;
                size_t l;

                while (*p == '/')
                        p++;
                s = p;
                while (p < path + len && *p != '/')
                        p++;
                l = (size_t)(p - s);
                if (l == 0)
                        break;
                (void)snprintf(parts[n++], sizeof(parts[0]), "%.*s", (int)l, s);
        }
        /* /api/v1/... or /apis/group/version/... */
        first = n > 0 && streq(parts[0], "api") ? 2 : 3;
        if (first + 1 < n && streq(parts[first], "namespaces") && n > first + 2)
                first += 2; /* namespaced resource (not the namespaces resource itself) */
        if (first >= n) {
                (void)snprintf(resource, resource_len, "%s", n ? "discovery" : "");
                (void)snprintf(verb, verb_len, "%s", method);
                return;
        }
        collection_len = n - first; /* 1: collection, 2: object, 3: subresource */
        if (collection_len >= 3)
                (void)snprintf(resource, resource_len, "%s/%s", parts[first], parts[first + 2]);
        else
                (void)snprintf(resource, resource_len, "%s", parts[first]);
        if (streq(method, "GET"))
                (void)snprintf(verb, verb_len, "%s",
                               watch                 ? "WATCH"
                               : collection_len == 1 ? "LIST"
                                                     : "GET");
        else
                (void)snprintf(verb, verb_len, "%s", method);
}

static void observe(const char *method, const char *path, long status, uint64_t usec, void *ud)
{
        struct kube_client_metrics *km = ud;
        char verb[16], resource[128], code[16];

        kube_request_classify(method, path, verb, sizeof(verb), resource, sizeof(resource));
        if (status)
                (void)snprintf(code, sizeof(code), "%ld", status);
        else
                (void)snprintf(code, sizeof(code), "<error>");
        metric_add(km->requests, 1, verb, resource, code);
        if (!streq(verb, "WATCH"))
                metric_observe(km->latency, (double)usec / 1e6, verb, resource);
}

struct kube_client_metrics *kube_client_metrics_new(struct metrics *m, struct kube_client *c)
{
        static const char *const req_labels[] = {"verb", "resource", "code", NULL};
        static const char *const lat_labels[] = {"verb", "resource", NULL};
        static const char *const res_labels[] = {"resource", NULL};
        static const char *const class_labels[] = {"class", NULL};
        static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,    1,     2.5,  5,     10,   -1};
        struct kube_client_metrics *km = xnew(struct kube_client_metrics, 1);

        km->client = c;
        km->requests =
            metrics_counter(m, "l2lb_k8s_client_requests_total",
                            "Kubernetes API requests by verb, resource and HTTP code.", req_labels);
        km->latency = metrics_histogram(m, "l2lb_k8s_client_request_duration_seconds",
                                        "Kubernetes API request latency (watches excluded).",
                                        lat_labels, buckets);
        /* cumulative values read from the client and informers at scrape
         * time: counters (the _total suffix promises it), set, not added */
        km->throttled =
            metrics_counter(m, "l2lb_k8s_client_rate_limiter_wait_seconds_total",
                            "Time requests waited in the client-side rate limiter.", NULL);
        km->queued = metrics_gauge(m, "l2lb_k8s_client_queued_requests",
                                   "Requests waiting in the client for a rate-limit token or a "
                                   "slot on the wire, by class (priority, ordinary, low).",
                                   class_labels);
        km->watches =
            metrics_counter(m, "l2lb_k8s_client_watch_restarts_total",
                            "Watch requests started (first watch and restarts).", res_labels);
        km->relists =
            metrics_counter(m, "l2lb_k8s_client_relists_total",
                            "Complete lists after the first (410 Gone, errors).", res_labels);
        km->decode_errors =
            metrics_counter(m, "l2lb_k8s_client_decode_errors_total",
                            "Objects from the API that could not be decoded.", res_labels);
        kube_client_set_observer(c, observe, km);
        return km;
}

void kube_client_metrics_add_informer(struct kube_client_metrics *km, const char *resource,
                                      struct kube_informer *inf)
{
        if (km->n_refs >= ELEMENTSOF(km->refs))
                return;
        km->refs[km->n_refs].resource = xstrdup(resource);
        km->refs[km->n_refs].inf = inf;
        km->n_refs++;
}

void kube_client_metrics_collect(struct kube_client_metrics *km)
{
        static const char *const classes[_KUBE_THROTTLE_CLASS_MAX] = {
            [KUBE_THROTTLE_PRIORITY] = "priority",
            [KUBE_THROTTLE_ORDINARY] = "ordinary",
            [KUBE_THROTTLE_LOW] = "low",
        };

        metric_set(km->throttled, (double)kube_client_throttled_usec(km->client) / 1e6);
        for (int k = 0; k < _KUBE_THROTTLE_CLASS_MAX; k++)
                metric_set(km->queued,
                           (double)kube_client_queued(km->client, (enum kube_throttle_class)k),
                           classes[k]);
        for (size_t i = 0; i < km->n_refs; i++) {
                struct kube_informer_stats st;

                kube_informer_get_stats(km->refs[i].inf, &st);
                metric_set(km->watches, st.watches, km->refs[i].resource);
                metric_set(km->relists, st.lists > 0 ? st.lists - 1 : 0, km->refs[i].resource);
                metric_set(km->decode_errors, st.decode_errors, km->refs[i].resource);
        }
}

void kube_client_metrics_free(struct kube_client_metrics *km)
{
        if (!km)
                return;
        kube_client_set_observer(km->client, NULL, NULL);
        for (size_t i = 0; i < km->n_refs; i++)
                free(km->refs[i].resource);
        free(km);
}
