/* Event creation and aggregation. The cache of recent events is bounded
 * (cleared when it grows past its limit); losing it only means one more
 * Event object instead of a count bump. */
#include "events.h"

#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "api.h"
#include "lib/log.h"
#include "api/objects.h"

#define AGGREGATE_USEC (10 * 60 * USEC_PER_SEC)
#define CACHE_MAX      4096

struct recent {
        char *namespace;
        char *name; /* of the Event object */
        int count;
        char *first_timestamp;
        uint64_t last_usec; /* monotonic */
};

/* Events are best effort: sent only when no other request waits for a
 * rate-limit token, and dropped (counted) beyond this many outstanding. */
#define OUTSTANDING_MAX 1000

struct kube_recorder {
        struct kube_client *client;
        char *component;
        char *host;
        GHashTable *recent; /* key → struct recent */
        unsigned outstanding;
        uint64_t dropped;
};

static void recent_free(gpointer p)
{
        struct recent *r = p;

        free(r->namespace);
        free(r->name);
        free(r->first_timestamp);
        free(r);
}

int kube_recorder_new(struct kube_client *c, const char *component, const char *host,
                      struct kube_recorder **ret)
{
        struct kube_recorder *r = xnew(struct kube_recorder, 1);

        r->client = c;
        r->component = xstrdup(component);
        r->host = xstrdup(strempty(host));
        r->recent = g_hash_table_new_full(g_str_hash, g_str_equal, free, recent_free);
        *ret = r;
        return 0;
}

void kube_recorder_free(struct kube_recorder *r)
{
        if (!r)
                return;
        g_hash_table_unref(r->recent);
        free(r->component);
        free(r->host);
        free(r);
}

static void on_done(struct kube_client *c, const struct kube_result *res, void *ud)
{
        struct kube_recorder *r = ud;

        (void)c;
        r->outstanding--;
        if (!kube_result_ok(res))
                log_debug("cannot record event", "status=%ld reason=%s message=%s",
                          res->http_status, log_q(res->reason), log_q(res->message));
}

static void send(struct kube_recorder *r, const char *method, const char *ns, const char *name,
                 const char *content_type, json_t *body)
{
        _cleanup_free_ char *path = kube_path(&KUBE_EVENTS, ns, name, NULL);

        if (kube_call(r->client, method, path, body, content_type, KUBE_CALL_LOW, 0, on_done, r,
                      NULL) >= 0)
                r->outstanding++;
}

void kube_event(struct kube_recorder *r, const struct kube_object_ref *obj, const char *type,
                const char *reason, const char *fmt, ...)
{
        char msg[1024], now_s[64], key[1600], evname[320];
        const char *ns = isempty(obj->namespace) ? "default" : obj->namespace;
        struct timespec ts;
        struct recent *rec;
        uint64_t mono;
        int64_t wall;
        va_list ap;
        json_t *o;

        if (!r)
                return;
        if (r->outstanding >= OUTSTANDING_MAX) {
                if (r->dropped++ % 1000 == 0)
                        log_warn("API server too busy: dropping Events", "dropped=%" PRIu64,
                                 r->dropped);
                return;
        }
        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        (void)clock_gettime(CLOCK_REALTIME, &ts);
        wall = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        k8s_time_format(wall, false, now_s, sizeof(now_s));
        (void)sd_event_now(kube_client_event(r->client), CLOCK_MONOTONIC, &mono);
        (void)snprintf(key, sizeof(key), "%s/%s/%s\x1f%s\x1f%s\x1f%s", strempty(obj->kind), ns,
                       obj->name, type, reason, msg);

        rec = g_hash_table_lookup(r->recent, key);
        if (rec && mono - rec->last_usec < AGGREGATE_USEC) {
                rec->count++;
                rec->last_usec = mono;
                o = json_pack("{s:i, s:s}", "count", rec->count, "lastTimestamp", now_s);
                send(r, "PATCH", rec->namespace, rec->name, "application/merge-patch+json", o);
                json_decref(o);
                return;
        }
        if (g_hash_table_size(r->recent) >= CACHE_MAX)
                g_hash_table_remove_all(r->recent);
        (void)snprintf(evname, sizeof(evname), "%.200s.%llx", obj->name,
                       (unsigned long long)wall * 1000);
        o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s?, s:s, s:s?, s:s, s:s?}, s:s, s:s, s:s,"
                      " s:{s:s, s:s}, s:s, s:s, s:i, s:s, s:s}",
                      "apiVersion", "v1", "kind", "Event", "metadata", "name", evname, "namespace",
                      ns, "involvedObject", "apiVersion", obj->api_version, "kind", obj->kind,
                      "namespace", obj->namespace, "name", obj->name, "uid", obj->uid, "reason",
                      reason, "message", msg, "type", type, "source", "component", r->component,
                      "host", r->host, "firstTimestamp", now_s, "lastTimestamp", now_s, "count", 1,
                      "reportingComponent", r->component, "reportingInstance", r->host);
        if (!o)
                return;
        send(r, "POST", ns, NULL, "application/json", o);
        json_decref(o);
        rec = xnew(struct recent, 1);
        rec->namespace = xstrdup(ns);
        rec->name = xstrdup(evname);
        rec->count = 1;
        rec->first_timestamp = xstrdup(now_s);
        rec->last_usec = mono;
        g_hash_table_replace(r->recent, xstrdup(key), rec);
}
