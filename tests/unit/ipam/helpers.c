/* Fake API server + operator shell for the LB-IPAM tests; see helpers.h. */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <stdio.h>

#include "api/objects.h"
#include "lib/util.h"

#define EPOCH 1704067200 /* 2024-01-01T00:00:00Z */

struct ipam_options opts(bool v4, bool v6)
{
        struct ipam_options o = {
            .enable_ipv4 = v4,
            .enable_ipv6 = v6,
            .l2_announcements = true,
            .bgp_control_plane = false,
            .default_lbipam = true,
        };
        return o;
}

static json_t *sq_vjson(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static json_t *sq_vjson(const char *fmt, va_list ap)
{
        g_autofree char *s = g_strdup_vprintf(fmt, ap);
        json_error_t e;
        json_t *j;

        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        j = json_loads(s, 0, &e);
        if (!j)
                fail_msg("bad test JSON: %s: %s", e.text, s);
        return j;
}

json_t *sq_json(const char *fmt, ...)
{
        va_list ap;
        json_t *j;

        va_start(ap, fmt);
        j = sq_vjson(fmt, ap);
        va_end(ap);
        return j;
}

struct api *api_new(const struct ipam_options *o)
{
        struct api *api = g_new0(struct api, 1);

        api->o = *o;
        api->ipam = ipam_new(o);
        api->pools = json_object();
        api->services = json_object();
        api->autosync = true;
        api->events = g_strdup("");
        return api;
}

struct api *api_new_started(bool v4, bool v6)
{
        struct ipam_options o = opts(v4, v6);
        struct api *api = api_new(&o);

        assert_int_equal(ipam_start(api->ipam), 0);
        return api;
}

void api_free(struct api *api)
{
        if (!api)
                return;
        ipam_free(api->ipam);
        json_decref(api->pools);
        json_decref(api->services);
        g_free(api->events);
        g_free(api);
}

static void drain_events(struct api *api)
{
        struct ipam_event e;

        while (ipam_event_pop(api->ipam, &e)) {
                char *n = g_strdup_printf("%s%s %s%s%s%s %s: %s\n", api->events,
                                          e.warning ? "Warning" : "Normal", e.pool ? "pool/" : "",
                                          e.namespace ? e.namespace : "", e.namespace ? "/" : "",
                                          e.name, e.reason, e.message);

                g_free(api->events);
                api->events = n;
                ipam_event_done(&e);
        }
}

const char *api_events(struct api *api)
{
        drain_events(api);
        return api->events;
}

bool events_contain(struct api *api, const char *needle)
{
        return strstr(api_events(api), needle) != NULL;
}

/* IPAM_TRACE=1 prints every input (to replay a failing random sequence). */
static void trace(const char *what, json_t *obj)
{
        g_autofree char *text = NULL;

        if (!g_getenv("IPAM_TRACE"))
                return;
        text = obj ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        fprintf(stderr, "%s %s\n", what, text ? text : "");
}

static void feed_pool(struct api *api, json_t *obj, int *ret)
{
        struct k8s_ippool *p = NULL;
        char *err = NULL;
        int r;

        trace("pool", obj);
        if (k8s_ippool_decode(obj, &p, &err) < 0)
                fail_msg("pool decode: %s", err);
        r = ipam_pool_upsert(api->ipam, p, &err);
        if (r < 0)
                free(err);
        if (ret)
                *ret = r;
        k8s_ippool_free(p);
}

static void feed_svc(struct api *api, json_t *obj, int *ret)
{
        struct k8s_service *s = NULL;
        char *err = NULL;
        int r;

        trace("service", obj);
        if (k8s_service_decode(obj, &s, &err) < 0)
                fail_msg("service decode: %s", err);
        r = ipam_service_upsert(api->ipam, s);
        if (ret)
                *ret = r;
        k8s_service_free(s);
}

static int64_t now_usec(const struct api *api)
{
        return (int64_t)(EPOCH + api->clock) * 1000000;
}

static char *now_text(struct api *api, char *buf, size_t len)
{
        return k8s_time_format(now_usec(api), false, buf, len);
}

/* What the apiserver does on create/update: timestamps, generation, status. */
static void admit(struct api *api, json_t *store, const char *key, json_t *obj)
{
        json_t *md = json_object_get(obj, "metadata");
        json_t *old = json_object_get(store, key);
        char buf[64];

        if (!json_object_get(md, "creationTimestamp")) {
                json_t *ts =
                    old ? json_object_get(json_object_get(old, "metadata"), "creationTimestamp")
                        : NULL;

                if (ts)
                        json_object_set(md, "creationTimestamp", ts);
                else {
                        api->clock++;
                        json_object_set_new(md, "creationTimestamp",
                                            json_string(now_text(api, buf, sizeof(buf))));
                }
        }
        if (!json_object_get(md, "generation")) {
                json_int_t gen = 1;

                if (old) {
                        gen = json_integer_value(
                            json_object_get(json_object_get(old, "metadata"), "generation"));
                        if (!json_equal(json_object_get(old, "spec"), json_object_get(obj, "spec")))
                                gen++;
                }
                json_object_set_new(md, "generation", json_integer(gen));
        }
        if (old && json_object_get(old, "status") && !json_object_get(obj, "status"))
                json_object_set(obj, "status", json_object_get(old, "status"));
        json_object_set(store, key, obj);
}

static char *svc_key_of(json_t *obj)
{
        json_t *md = json_object_get(obj, "metadata");
        const char *ns = json_string_value(json_object_get(md, "namespace"));

        return g_strdup_printf("%s/%s", ns ? ns : "",
                               json_string_value(json_object_get(md, "name")));
}

int api_pool(struct api *api, const char *fmt, ...)
{
        va_list ap;
        json_t *obj;
        const char *name;
        int r;

        va_start(ap, fmt);
        obj = sq_vjson(fmt, ap);
        va_end(ap);
        name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        assert_non_null(name);
        admit(api, api->pools, name, obj);
        feed_pool(api, obj, &r);
        json_decref(obj);
        if (api->autosync)
                api_sync(api);
        drain_events(api);
        return r;
}

int api_svc(struct api *api, const char *fmt, ...)
{
        va_list ap;
        json_t *obj, *md;
        g_autofree char *key = NULL;
        int r;

        va_start(ap, fmt);
        obj = sq_vjson(fmt, ap);
        va_end(ap);
        md = json_object_get(obj, "metadata");
        if (!json_object_get(md, "namespace"))
                json_object_set_new(md, "namespace", json_string("default"));
        key = svc_key_of(obj);
        admit(api, api->services, key, obj);
        feed_svc(api, obj, &r);
        json_decref(obj);
        if (api->autosync)
                api_sync(api);
        drain_events(api);
        return r;
}

/* RFC 7386 JSON merge patch. */
static void merge_patch(json_t *target, json_t *patch)
{
        const char *k;
        json_t *v;

        json_object_foreach(patch, k, v)
        {
                json_t *t = json_object_get(target, k);

                if (json_is_null(v))
                        json_object_del(target, k);
                else if (json_is_object(v) && json_is_object(t))
                        merge_patch(t, v);
                else
                        json_object_set(target, k, v);
        }
}

static void patch_object(struct api *api, json_t *store, const char *key, json_t *patch, bool pool)
{
        json_t *old = json_object_get(store, key), *obj;
        json_t *md;

        assert_non_null(old);
        obj = json_deep_copy(old);
        merge_patch(obj, patch);
        md = json_object_get(obj, "metadata");
        if (!json_equal(json_object_get(old, "spec"), json_object_get(obj, "spec")))
                json_object_set_new(
                    md, "generation",
                    json_integer(json_integer_value(json_object_get(md, "generation")) + 1));
        json_object_set(store, key, obj);
        if (pool)
                feed_pool(api, obj, NULL);
        else
                feed_svc(api, obj, NULL);
        json_decref(obj);
        if (api->autosync)
                api_sync(api);
        drain_events(api);
}

void api_patch_svc(struct api *api, const char *ns, const char *name, const char *fmt, ...)
{
        g_autofree char *key = g_strdup_printf("%s/%s", ns, name);
        va_list ap;
        json_t *patch;

        va_start(ap, fmt);
        patch = sq_vjson(fmt, ap);
        va_end(ap);
        patch_object(api, api->services, key, patch, false);
        json_decref(patch);
}

void api_patch_pool(struct api *api, const char *name, const char *fmt, ...)
{
        va_list ap;
        json_t *patch;

        va_start(ap, fmt);
        patch = sq_vjson(fmt, ap);
        va_end(ap);
        patch_object(api, api->pools, name, patch, true);
        json_decref(patch);
}

void api_delete_pool(struct api *api, const char *name)
{
        json_object_del(api->pools, name);
        if (g_getenv("IPAM_TRACE"))
                fprintf(stderr, "delete pool %s\n", name);
        assert_int_equal(ipam_pool_delete(api->ipam, name), 0);
        if (api->autosync)
                api_sync(api);
        drain_events(api);
}

void api_delete_svc(struct api *api, const char *ns, const char *name)
{
        g_autofree char *key = g_strdup_printf("%s/%s", ns, name);

        json_object_del(api->services, key);
        if (g_getenv("IPAM_TRACE"))
                fprintf(stderr, "delete service %s\n", key);
        assert_int_equal(ipam_service_delete(api->ipam, ns, name), 0);
        if (api->autosync)
                api_sync(api);
        drain_events(api);
}

static json_t *status_of(json_t *obj)
{
        json_t *st = json_object_get(obj, "status");

        if (!st) {
                st = json_object();
                json_object_set_new(obj, "status", st);
        }
        return st;
}

/* Returns true when the stored object changed (a patch was written). */
static bool write_service(struct api *api, const struct ipam_ref *ref)
{
        g_autofree char *key = g_strdup_printf("%s/%s", ref->namespace, ref->name);
        json_t *obj = json_object_get(api->services, key), *st, *lb, *ing;
        struct ipam_service_status want;
        struct k8s_service *s = NULL;
        char *err = NULL;
        bool changed = false;

        if (!obj)
                return false;
        ipam_service_status(api->ipam, ref->namespace, ref->name, &want);
        if (want.action == IPAM_SERVICE_IGNORE) {
                ipam_service_status_done(&want);
                return false;
        }
        if (k8s_service_decode(obj, &s, &err) < 0)
                fail_msg("decode: %s", err);
        if (want.action == IPAM_SERVICE_WRITE) {
                changed = k8s_conditions_merge(&s->conditions, &want.condition, 1, now_usec(api));
                if (!ipam_service_ingress_equal(s, &want))
                        changed = true;
        } else {
                changed = k8s_conditions_remove(&s->conditions, IPAM_CONDITION_SATISFIED);
                if (s->n_ingress)
                        changed = true;
        }
        if (changed) {
                st = status_of(obj);
                lb = json_object();
                ing = json_array();
                for (size_t i = 0; i < want.n_ips; i++)
                        json_array_append_new(ing, json_pack("{s:s}", "ip", want.ips[i]));
                if (json_array_size(ing))
                        json_object_set_new(lb, "ingress", ing);
                else
                        json_decref(ing);
                json_object_set_new(st, "loadBalancer", lb);
                json_object_set_new(st, "conditions", k8s_conditions_to_json(&s->conditions));
                api->patches++;
        }
        k8s_service_free(s);
        ipam_service_status_done(&want);
        return changed;
}

static bool write_pool(struct api *api, const char *name)
{
        json_t *obj = json_object_get(api->pools, name);
        struct ipam_pool_status want;
        struct k8s_ippool *p = NULL;
        char *err = NULL;
        bool changed;

        if (!obj)
                return false;
        ipam_pool_status(api->ipam, name, &want);
        assert_true(want.known);
        if (k8s_ippool_decode(obj, &p, &err) < 0)
                fail_msg("decode: %s", err);
        changed = k8s_conditions_merge(&p->conditions, want.conditions, IPAM_POOL_CONDITIONS,
                                       now_usec(api));
        if (changed) {
                json_object_set_new(status_of(obj), "conditions",
                                    k8s_conditions_to_json(&p->conditions));
                api->patches++;
        }
        k8s_ippool_free(p);
        ipam_pool_status_done(&want);
        return changed;
}

void api_sync(struct api *api)
{
        for (int round = 0;; round++) {
                struct ipam_dirty d;

                ipam_take_dirty(api->ipam, &d);
                if (d.n_services == 0 && d.n_pools == 0) {
                        ipam_dirty_done(&d);
                        break;
                }
                if (round > 10)
                        fail_msg("the core keeps asking for status writes");
                for (size_t i = 0; i < d.n_services; i++) {
                        g_autofree char *key = NULL;

                        if (!write_service(api, &d.services[i]))
                                continue;
                        key = g_strdup_printf("%s/%s", d.services[i].namespace, d.services[i].name);
                        feed_svc(api, json_object_get(api->services, key), NULL); /* echo */
                }
                for (size_t i = 0; i < d.n_pools; i++)
                        if (write_pool(api, d.pools[i]))
                                feed_pool(api, json_object_get(api->pools, d.pools[i]), NULL);
                ipam_dirty_done(&d);
        }
        drain_events(api);
}

static int key_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char **sorted_keys(json_t *o)
{
        size_t n = json_object_size(o), i = 0;
        char **v = g_new0(char *, n + 1);
        const char *k;
        json_t *x;

        json_object_foreach(o, k, x)
        {
                v[i++] = g_strdup(k);
        }
        qsort(v, n, sizeof(char *), key_cmp);
        return v;
}

void api_restart(struct api *api, bool services_first)
{
        g_auto(GStrv) pools = sorted_keys(api->pools);
        g_auto(GStrv) svcs = sorted_keys(api->services);

        drain_events(api);
        ipam_free(api->ipam);
        api->ipam = ipam_new(&api->o);
        for (int pass = 0; pass < 2; pass++) {
                if ((pass == 0) != services_first)
                        for (size_t i = 0; pools[i]; i++)
                                feed_pool(api, json_object_get(api->pools, pools[i]), NULL);
                else
                        for (size_t i = 0; svcs[i]; i++)
                                feed_svc(api, json_object_get(api->services, svcs[i]), NULL);
        }
        assert_int_equal(ipam_start(api->ipam), 0);
        api_sync(api);
}

static json_t *svc_obj(struct api *api, const char *ns, const char *name)
{
        g_autofree char *key = g_strdup_printf("%s/%s", ns, name);

        return json_object_get(api->services, key);
}

static char *scratch[8];
static unsigned scratch_i;

static const char *keep(char *s)
{
        scratch_i = (scratch_i + 1) % G_N_ELEMENTS(scratch);
        g_free(scratch[scratch_i]);
        scratch[scratch_i] = s;
        return s;
}

const char *svc_ips(struct api *api, const char *ns, const char *name)
{
        json_t *ing = json_object_get(
            json_object_get(json_object_get(svc_obj(api, ns, name), "status"), "loadBalancer"),
            "ingress");
        GString *s = g_string_new("");
        size_t i;
        json_t *e;

        json_array_foreach(ing, i, e)
        {
                if (i)
                        g_string_append_c(s, ',');
                g_string_append(s, json_string_value(json_object_get(e, "ip")));
        }
        return keep(g_string_free(s, FALSE));
}

static json_t *find_cond(json_t *obj, const char *type)
{
        json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions"), *c;
        size_t i;

        json_array_foreach(conds, i, c)
        {
                if (streq_ptr(json_string_value(json_object_get(c, "type")), type))
                        return c;
        }
        return NULL;
}

static const char *cond_field(json_t *obj, const char *type, const char *field)
{
        json_t *c = find_cond(obj, type);
        const char *v = c ? json_string_value(json_object_get(c, field)) : NULL;

        return keep(g_strdup(v ? v : ""));
}

const char *svc_reason(struct api *api, const char *ns, const char *name)
{
        return cond_field(svc_obj(api, ns, name), IPAM_CONDITION_SATISFIED, "reason");
}

const char *svc_status(struct api *api, const char *ns, const char *name)
{
        return cond_field(svc_obj(api, ns, name), IPAM_CONDITION_SATISFIED, "status");
}

const char *svc_message(struct api *api, const char *ns, const char *name)
{
        return cond_field(svc_obj(api, ns, name), IPAM_CONDITION_SATISFIED, "message");
}

int svc_n_conditions(struct api *api, const char *ns, const char *name)
{
        return (int)json_array_size(
            json_object_get(json_object_get(svc_obj(api, ns, name), "status"), "conditions"));
}

int64_t svc_cond_generation(struct api *api, const char *ns, const char *name)
{
        json_t *c = find_cond(svc_obj(api, ns, name), IPAM_CONDITION_SATISFIED);

        return c ? json_integer_value(json_object_get(c, "observedGeneration")) : -1;
}

const char *pool_cond(struct api *api, const char *name, const char *type, const char *field)
{
        return cond_field(json_object_get(api->pools, name), type, field);
}

int64_t pool_cond_generation(struct api *api, const char *name, const char *type)
{
        json_t *c = find_cond(json_object_get(api->pools, name), type);

        return c ? json_integer_value(json_object_get(c, "observedGeneration")) : -1;
}

char *api_ip_map(struct api *api)
{
        g_auto(GStrv) svcs = sorted_keys(api->services);
        GString *s = g_string_new("");

        for (size_t i = 0; svcs[i]; i++) {
                g_autofree char *ns = g_strdup(svcs[i]);
                char *name = strchr(ns, '/');

                *name++ = 0;
                g_string_append_printf(s, "%s=%s\n", svcs[i], svc_ips(api, ns, name));
        }
        return g_string_free(s, FALSE);
}

char *api_dump(struct api *api)
{
        g_auto(GStrv) pools = sorted_keys(api->pools);
        g_auto(GStrv) svcs = sorted_keys(api->services);
        GString *s = g_string_new("");

        for (size_t i = 0; svcs[i]; i++) {
                json_t *o = json_object_get(api->services, svcs[i]);
                json_t *c = find_cond(o, IPAM_CONDITION_SATISFIED);
                json_t *ing = json_object_get(
                    json_object_get(json_object_get(o, "status"), "loadBalancer"), "ingress");
                g_autofree char *a = json_dumps(ing ? ing : json_null(), JSON_COMPACT);

                g_string_append_printf(s, "svc %s ingress=%s cond=%s/%s/%s\n", svcs[i], a,
                                       c ? json_string_value(json_object_get(c, "status")) : "-",
                                       c ? json_string_value(json_object_get(c, "reason")) : "-",
                                       c ? json_string_value(json_object_get(c, "message")) : "-");
        }
        for (size_t i = 0; pools[i]; i++) {
                json_t *conds = json_object_get(
                    json_object_get(json_object_get(api->pools, pools[i]), "status"), "conditions");
                size_t j;
                json_t *c;

                g_string_append_printf(s, "pool %s", pools[i]);
                json_array_foreach(conds, j, c)
                {
                        g_string_append_printf(s, " %s=%s/%s/%s",
                                               json_string_value(json_object_get(c, "type")),
                                               json_string_value(json_object_get(c, "status")),
                                               json_string_value(json_object_get(c, "reason")),
                                               json_string_value(json_object_get(c, "message")));
                }
                g_string_append_c(s, '\n');
        }
        return g_string_free(s, FALSE);
}
