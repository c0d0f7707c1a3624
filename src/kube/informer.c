/* The list+watch loop of one resource and its cache.
 *
 *   list (paged) ──complete──▶ diff against cache, emit ──▶ watch(rv)
 *     ▲                                                        │
 *     └──── 410 Gone / too old ◀───────────────────────────────┤
 *            watch(rv) after max(backoff, Retry-After) ◀── 429, 5xx, transport error
 *
 * Under API Priority and Fairness a busy apiserver answers 429 with a
 * Retry-After: the watch is retried from the last resourceVersion, since a
 * relist would be the most expensive request to send to it then.
 *
 * A normal end of the watch (the server's timeoutSeconds) re-watches at once
 * from the last resourceVersion seen (events and bookmarks). A watch event
 * that could not be read (the client ends the watch with -EBADMSG) may have
 * been any change, deletes included: the informer lists again (after a short
 * backoff) and the listing's diff against the cache emits what was missed. */
#include "informer.h"

#include <glib.h>
#include <inttypes.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/util.h"

struct kube_informer {
        struct kube_client *client;
        const struct kube_resource *res;
        const struct k8s_type *type;
        char *namespace;
        char *label_selector;
        char *field_selector;
        unsigned page_size;
        unsigned watch_timeout;
        struct kube_informer_handlers h;
        void *userdata;

        GHashTable *cache;     /* key → object */
        GHashTable *listing;   /* during a list: key → new object */
        GHashTable *undecoded; /* during a list: keys present but undecodable */
        char *rv;
        char *continue_token;
        bool synced;
        bool started;
        struct kube_call *call;
        sd_event_source *timer;
        unsigned failures;
        struct kube_informer_stats stats;
};

static const struct k8s_meta *meta_of(const void *obj)
{
        return obj;
}

static void set_rv(struct kube_informer *inf, const char *rv)
{
        if (!isempty(rv))
                free_and_strdup(&inf->rv, rv);
}

static void start_list(struct kube_informer *inf);
static void start_watch(struct kube_informer *inf);

/* ---- timers ---- */

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct kube_informer *inf = userdata;

        (void)s;
        (void)usec;
        if (inf->rv && inf->synced)
                start_watch(inf);
        else
                start_list(inf);
        return 0;
}

static void schedule(struct kube_informer *inf, uint64_t delay)
{
        sd_event *e = kube_client_event(inf->client);

        sd_event_source_disable_unref(inf->timer);
        inf->timer = NULL;
        if (sd_event_add_time_relative(e, &inf->timer, CLOCK_MONOTONIC, delay, 1000, on_timer,
                                       inf) < 0)
                log_error("cannot schedule informer retry", "resource=%s", inf->res->plural);
}

static uint64_t backoff(unsigned failures)
{
        /* 500 ms doubling to 30 s, jittered ±50 % */
        double d = 500e3;

        for (unsigned i = 1; i < failures && d < 30e6; i++)
                d *= 2;
        if (d > 30e6)
                d = 30e6;
        return (uint64_t)(d * (0.5 + g_random_double()));
}

static void retry_later(struct kube_informer *inf, bool relist)
{
        inf->failures++;
        if (relist) {
                free(inf->rv);
                inf->rv = NULL;
        }
        schedule(inf, backoff(inf->failures));
}

struct kube_informer_retry kube_informer_watch_retry(long status, int error, uint64_t retry_after,
                                                     uint64_t backoff)
{
        const uint64_t max_retry_after = 60 * USEC_PER_SEC;
        uint64_t delay = MAX(backoff, MIN(retry_after, max_retry_after));

        if (status == 410)
                return (struct kube_informer_retry){.relist = true, .delay = 0};
        if (error == -EBADMSG)
                /* the lost event may have been any change, deletes included */
                return (struct kube_informer_retry){.relist = true, .delay = delay};
        if (status == 429 || status >= 500 || status < 400)
                return (struct kube_informer_retry){.relist = false, .delay = delay};
        /* another 4xx: the watch itself is refused, start over */
        return (struct kube_informer_retry){.relist = true, .delay = delay};
}

/* A watch ended abnormally: list or watch again, at once or later. */
static void watch_failed(struct kube_informer *inf, long status, int error, uint64_t retry_after)
{
        struct kube_informer_retry d =
            kube_informer_watch_retry(status, error, retry_after, backoff(inf->failures + 1));

        inf->stats.watch_errors++;
        if (d.relist) {
                free(inf->rv);
                inf->rv = NULL;
        }
        if (d.delay == 0) {
                if (d.relist)
                        start_list(inf);
                else
                        start_watch(inf);
                return;
        }
        inf->failures++;
        log_debug("watch retry", "resource=%s relist=%s delay_ms=%" PRIu64, inf->res->plural,
                  d.relist ? "true" : "false", d.delay / 1000);
        schedule(inf, d.delay);
}

/* ---- listing ---- */

static int key_cmp(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static GPtrArray *sorted_keys(GHashTable *t)
{
        GPtrArray *a = g_ptr_array_sized_new(g_hash_table_size(t));
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init(&it, t);
        while (g_hash_table_iter_next(&it, &k, NULL))
                g_ptr_array_add(a, k);
        g_ptr_array_sort(a, key_cmp);
        return a;
}

/* Replace the cache by the listing, emitting the differences. */
static void apply_listing(struct kube_informer *inf)
{
        GPtrArray *keys = sorted_keys(inf->cache);

        /* deletions first, so that a handler never sees two live objects
         * with the same address or IP across a relist */
        for (guint i = 0; i < keys->len; i++) {
                char *k = keys->pdata[i];
                void *old;

                if (g_hash_table_contains(inf->listing, k) ||
                    g_hash_table_contains(inf->undecoded, k))
                        continue;
                old = g_hash_table_lookup(inf->cache, k);
                g_hash_table_steal(inf->cache, k);
                if (inf->h.remove)
                        inf->h.remove(inf->userdata, old);
                inf->type->free(old);
                free(k);
        }
        g_ptr_array_free(keys, TRUE);

        keys = sorted_keys(inf->listing);
        for (guint i = 0; i < keys->len; i++) {
                char *k = keys->pdata[i];
                void *obj = g_hash_table_lookup(inf->listing, k);
                char *ck = NULL;
                void *old = NULL;

                g_hash_table_steal(inf->listing, k);
                if (g_hash_table_lookup_extended(inf->cache, k, (gpointer *)&ck, &old)) {
                        if (streq_ptr(meta_of(old)->resource_version,
                                      meta_of(obj)->resource_version)) {
                                inf->type->free(obj);
                                free(k);
                                continue;
                        }
                        g_hash_table_steal(inf->cache, k);
                        free(ck);
                        g_hash_table_insert(inf->cache, k, obj);
                        if (inf->h.update)
                                inf->h.update(inf->userdata, old, obj);
                        inf->type->free(old);
                } else {
                        g_hash_table_insert(inf->cache, k, obj);
                        if (inf->h.add)
                                inf->h.add(inf->userdata, obj);
                }
        }
        g_ptr_array_free(keys, TRUE);
        g_hash_table_remove_all(inf->undecoded);
}

/* A list that failed midway starts over: forget what its pages gave. */
static void drop_pages(struct kube_informer *inf)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, inf->listing);
        while (g_hash_table_iter_next(&it, NULL, &v))
                inf->type->free(v);
        g_hash_table_remove_all(inf->listing);
        g_hash_table_remove_all(inf->undecoded);
}

/* Present, not null, and of another type than t. */
static bool json_wrong_type(json_t *v, json_type t)
{
        return v && !json_is_null(v) && json_typeof(v) != t;
}

/* A list page's parts, or what makes it malformed (a body that is not an
 * object, items that are not a list, a continue token or resourceVersion
 * that is not a string): such a page may be any part of the list, its end
 * included. */
static const char *list_page_error(json_t *body, json_t **ret_items, const char **ret_cont,
                                   const char **ret_rv)
{
        json_t *items = json_object_get(body, "items"), *md = json_object_get(body, "metadata");
        json_t *cont = json_object_get(md, "continue"),
               *rv = json_object_get(md, "resourceVersion");

        if (!json_is_object(body))
                return "the body is not an object";
        if (json_wrong_type(items, JSON_ARRAY))
                return "items is not a list";
        if (json_wrong_type(md, JSON_OBJECT))
                return "metadata is not an object";
        if (json_wrong_type(cont, JSON_STRING))
                return "metadata.continue is not a string";
        if (json_wrong_type(rv, JSON_STRING))
                return "metadata.resourceVersion is not a string";
        *ret_items = items;
        *ret_cont = json_string_value(cont);
        *ret_rv = json_string_value(rv);
        return NULL;
}

/* The list failed midway: what its pages gave goes, the whole list is
 * asked again later from its first page. */
static void list_failed(struct kube_informer *inf)
{
        free(inf->continue_token);
        inf->continue_token = NULL;
        drop_pages(inf);
        retry_later(inf, true);
}

static void on_list(struct kube_client *c, const struct kube_result *res, void *userdata)
{
        struct kube_informer *inf = userdata;
        json_t *items = NULL, *item;
        size_t i;
        const char *cont = NULL, *rv = NULL, *error;

        (void)c;
        inf->call = NULL;
        if (!kube_result_ok(res)) {
                if (inf->continue_token && kube_result_gone(res)) {
                        /* the continue token expired: list again from the start */
                        log_info("list continuation expired, listing again", "resource=%s",
                                 inf->res->plural);
                        free(inf->continue_token);
                        inf->continue_token = NULL;
                        drop_pages(inf);
                        start_list(inf);
                        return;
                }
                log_warn("list failed", "resource=%s status=%ld reason=%s message=%s",
                         inf->res->plural, res->http_status, log_q(res->reason),
                         log_q(res->message));
                list_failed(inf);
                return;
        }
        error = list_page_error(res->body, &items, &cont, &rv);
        if (error) {
                inf->stats.decode_errors++;
                log_error("malformed list response, listing again", "resource=%s page=%s error=%s",
                          inf->res->plural, inf->continue_token ? "next" : "first", log_q(error));
                list_failed(inf);
                return;
        }
        /* ask for the next page before decoding this one, so the apiserver
         * prepares it meanwhile: decoding adds nothing to the list's time */
        if (!isempty(cont)) {
                free_and_strdup(&inf->continue_token, cont);
                start_list(inf);
                kube_client_flush(inf->client);
        }
        json_array_foreach(items, i, item)
        {
                char *err = NULL, *key;
                void *obj = NULL;

                key = k8s_key_from_json(item, &err);
                if (!key) {
                        inf->stats.decode_errors++;
                        log_error("list item skipped", "resource=%s error=%s", inf->res->plural,
                                  log_q(err));
                        free(err);
                        continue;
                }
                if (inf->type->decode(item, &obj, &err) < 0) {
                        inf->stats.decode_errors++;
                        log_error("cannot decode object", "resource=%s object=%s error=%s",
                                  inf->res->plural, key, log_q(err));
                        free(err);
                        g_hash_table_add(inf->undecoded, key);
                        continue;
                }
                g_hash_table_replace(inf->listing, key, obj);
        }
        if (!isempty(cont))
                return;
        free(inf->continue_token);
        inf->continue_token = NULL;
        set_rv(inf, rv);
        apply_listing(inf);
        inf->stats.lists++;
        inf->failures = 0;
        if (!inf->synced) {
                inf->synced = true;
                if (inf->h.synced)
                        inf->h.synced(inf->userdata);
        }
        start_watch(inf);
}

static void start_list(struct kube_informer *inf)
{
        struct kube_list_opts o = {
            .label_selector = inf->label_selector,
            .field_selector = inf->field_selector,
            .limit = inf->page_size,
            .continue_token = inf->continue_token,
            /* a cache that falls behind makes every decision late */
            .flags = KUBE_CALL_PRIORITY,
        };
        int r;

        r = kube_list(inf->client, inf->res, inf->namespace, &o, on_list, inf, &inf->call);
        if (r < 0) {
                inf->call = NULL;
                log_error_errno(r, "cannot start list", "resource=%s", inf->res->plural);
                retry_later(inf, true);
        }
}

/* ---- watching ---- */

static void on_watch_event(struct kube_client *c, const char *type, json_t *object, void *userdata)
{
        struct kube_informer *inf = userdata;
        _cleanup_free_ char *key = NULL;
        char *err = NULL, *ck = NULL;
        void *obj = NULL, *old = NULL;
        bool have;

        (void)c;
        if (streq(type, "BOOKMARK")) {
                set_rv(inf, json_string_value(json_object_get(json_object_get(object, "metadata"),
                                                              "resourceVersion")));
                return;
        }
        if (streq(type, "ERROR")) {
                json_int_t code = json_integer_value(json_object_get(object, "code"));
                json_t *msg = json_object_get(object, "message");
                json_int_t ra = json_integer_value(
                    json_object_get(json_object_get(object, "details"), "retryAfterSeconds"));

                kube_call_cancel(inf->call);
                inf->call = NULL;
                if (code == 410)
                        log_info("watch expired, listing again", "resource=%s message=%s",
                                 inf->res->plural, log_q(json_string_value(msg)));
                else
                        log_warn("watch error", "resource=%s code=%lld message=%s",
                                 inf->res->plural, (long long)code, log_q(json_string_value(msg)));
                watch_failed(inf, (long)code, -EIO,
                             ra > 0 ? (uint64_t)MIN(ra, (json_int_t)86400) * USEC_PER_SEC : 0);
                return;
        }
        key = k8s_key_from_json(object, &err);
        if (!key) {
                inf->stats.decode_errors++;
                log_error("watch event skipped", "resource=%s type=%s error=%s", inf->res->plural,
                          type, log_q(err));
                free(err);
                return;
        }
        set_rv(inf, json_string_value(
                        json_object_get(json_object_get(object, "metadata"), "resourceVersion")));
        have = g_hash_table_lookup_extended(inf->cache, key, (gpointer *)&ck, &old);
        if (streq(type, "DELETED")) {
                if (!have)
                        return;
                g_hash_table_steal(inf->cache, key);
                free(ck);
                if (inf->h.remove)
                        inf->h.remove(inf->userdata, old);
                inf->type->free(old);
                return;
        }
        if (!streq(type, "ADDED") && !streq(type, "MODIFIED")) {
                log_warn("unknown watch event type skipped", "resource=%s type=%s",
                         inf->res->plural, log_q(type));
                return;
        }
        if (inf->type->decode(object, &obj, &err) < 0) {
                inf->stats.decode_errors++;
                log_error("cannot decode object, keeping the last good version",
                          "resource=%s object=%s error=%s", inf->res->plural, key, log_q(err));
                free(err);
                return;
        }
        if (have) {
                g_hash_table_steal(inf->cache, key);
                free(ck);
                g_hash_table_insert(inf->cache, key, obj);
                key = NULL;
                if (inf->h.update)
                        inf->h.update(inf->userdata, old, obj);
                inf->type->free(old);
        } else {
                g_hash_table_insert(inf->cache, key, obj);
                key = NULL;
                if (inf->h.add)
                        inf->h.add(inf->userdata, obj);
        }
}

static void on_watch_done(struct kube_client *c, const struct kube_result *res, void *userdata)
{
        struct kube_informer *inf = userdata;

        (void)c;
        inf->call = NULL;
        if (kube_result_ok(res)) {
                log_debug("watch ended, watching again", "resource=%s rv=%s", inf->res->plural,
                          strempty(inf->rv));
                inf->failures = 0;
                start_watch(inf);
                return;
        }
        if (kube_result_gone(res))
                log_info("watch resourceVersion too old, listing again", "resource=%s",
                         inf->res->plural);
        else if (res->error == -EBADMSG)
                log_warn("watch event unreadable, listing again", "resource=%s message=%s",
                         inf->res->plural, log_q(res->message));
        else
                log_warn("watch ended",
                         "resource=%s status=%ld reason=%s message=%s "
                         "retry_after_ms=%" PRIu64,
                         inf->res->plural, res->http_status, log_q(res->reason),
                         log_q(res->message), res->retry_after_usec / 1000);
        watch_failed(inf, res->http_status, res->error, res->retry_after_usec);
}

static void start_watch(struct kube_informer *inf)
{
        struct kube_watch_opts o = {
            .resource_version = inf->rv,
            .bookmarks = true,
            .timeout_seconds = inf->watch_timeout ? inf->watch_timeout
                                                  : 300 + (unsigned)g_random_int_range(0, 300),
            .label_selector = inf->label_selector,
            .field_selector = inf->field_selector,
        };
        int r;

        inf->stats.watches++;
        r = kube_watch(inf->client, inf->res, inf->namespace, &o, on_watch_event, on_watch_done,
                       inf, &inf->call);
        if (r < 0) {
                inf->call = NULL;
                log_error_errno(r, "cannot start watch", "resource=%s", inf->res->plural);
                retry_later(inf, false);
        }
}

/* ---- public ---- */

int kube_informer_new(struct kube_client *c, const struct kube_resource *res,
                      const struct k8s_type *type, const struct kube_informer_options *opts,
                      const struct kube_informer_handlers *h, void *userdata,
                      struct kube_informer **ret)
{
        struct kube_informer *inf;

        assert(c);
        assert(res);
        assert(type);
        assert(ret);
        inf = xnew(struct kube_informer, 1);
        inf->client = c;
        inf->res = res;
        inf->type = type;
        inf->page_size = 500;
        if (opts) {
                if (opts->namespace)
                        inf->namespace = xstrdup(opts->namespace);
                if (opts->label_selector)
                        inf->label_selector = xstrdup(opts->label_selector);
                if (opts->field_selector)
                        inf->field_selector = xstrdup(opts->field_selector);
                if (opts->page_size)
                        inf->page_size = opts->page_size;
                inf->watch_timeout = opts->watch_timeout_seconds;
        }
        if (h)
                inf->h = *h;
        inf->userdata = userdata;
        inf->cache = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        inf->listing = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        inf->undecoded = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        *ret = inf;
        return 0;
}

int kube_informer_start(struct kube_informer *inf)
{
        if (inf->started)
                return 0;
        inf->started = true;
        start_list(inf);
        return 0;
}

static void free_values(GHashTable *t, const struct k8s_type *type)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, t);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (v)
                        type->free(v);
        g_hash_table_unref(t);
}

void kube_informer_free(struct kube_informer *inf)
{
        if (!inf)
                return;
        kube_call_cancel(inf->call);
        sd_event_source_disable_unref(inf->timer);
        free_values(inf->cache, inf->type);
        free_values(inf->listing, inf->type);
        g_hash_table_unref(inf->undecoded);
        free(inf->namespace);
        free(inf->label_selector);
        free(inf->field_selector);
        free(inf->rv);
        free(inf->continue_token);
        free(inf);
}

bool kube_informer_synced(const struct kube_informer *inf)
{
        return inf->synced;
}

const void *kube_informer_get(const struct kube_informer *inf, const char *ns, const char *name)
{
        _cleanup_free_ char *k = k8s_key(inf->res->namespaced ? ns : NULL, name);

        return g_hash_table_lookup(inf->cache, k);
}

size_t kube_informer_count(const struct kube_informer *inf)
{
        return g_hash_table_size(inf->cache);
}

void kube_informer_foreach(const struct kube_informer *inf,
                           void (*fn)(const void *obj, void *userdata), void *userdata)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, inf->cache);
        while (g_hash_table_iter_next(&it, NULL, &v))
                fn(v, userdata);
}

const void **kube_informer_list(const struct kube_informer *inf, size_t *ret_n)
{
        GPtrArray *keys = sorted_keys(inf->cache);
        const void **out = xnew(const void *, keys->len + 1);

        for (guint i = 0; i < keys->len; i++)
                out[i] = g_hash_table_lookup(inf->cache, keys->pdata[i]);
        *ret_n = keys->len;
        g_ptr_array_free(keys, TRUE);
        return out;
}

const char *kube_informer_resource_version(const struct kube_informer *inf)
{
        return inf->rv;
}

void kube_informer_get_stats(const struct kube_informer *inf, struct kube_informer_stats *ret)
{
        *ret = inf->stats;
}
