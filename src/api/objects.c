/* JSON → typed objects. A small decoder (struct jd) records the first type
 * error with the field's path ("spec.ports[1].port: expected an integer");
 * every accessor is a no-op once an error is recorded, so decode functions
 * read straight through and check once at the end. */
#include "objects.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

struct jd {
        char *error;
};

static void jd_fail(struct jd *d, const char *fmt, ...) _printf_(2, 3);
static void jd_fail(struct jd *d, const char *fmt, ...)
{
        va_list ap;

        if (d->error)
                return;
        va_start(ap, fmt);
        d->error = xvasprintf(fmt, ap);
        va_end(ap);
}

/* NULL if absent or null; error if present with another type. */
static json_t *jd_get(struct jd *d, json_t *obj, const char *key, const char *path, json_type type)
{
        json_t *v;

        if (d->error || !json_is_object(obj))
                return NULL;
        v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return NULL;
        if (json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v)) &&
            !(type == JSON_REAL && json_is_number(v))) {
                static const char *const names[] = {
                    [JSON_OBJECT] = "an object", [JSON_ARRAY] = "a list",
                    [JSON_STRING] = "a string",  [JSON_INTEGER] = "an integer",
                    [JSON_REAL] = "a number",    [JSON_TRUE] = "a boolean",
                    [JSON_FALSE] = "a boolean",  [JSON_NULL] = "null",
                };
                jd_fail(d, "%s%s%s: expected %s", path, *path ? "." : "", key, names[type]);
                return NULL;
        }
        return v;
}

/* The API allows a NUL in free text (annotation values, messages), and the
 * client decodes it (JSON_ALLOW_NUL); json_string_value() then stops at the
 * first NUL while json_string_length() counts them all. */
static bool has_nul(json_t *s)
{
        return json_string_length(s) != strlen(json_string_value(s));
}

/* The value with each NUL spelled \u0000 as in JSON: whole and printable
 * in a C string, so that it is never taken for a shorter value. */
static char *nul_escaped(json_t *s)
{
        const char *v = json_string_value(s);
        size_t n = json_string_length(s), o = 0;
        char *out = xnew(char, n * 6 + 1);

        for (size_t i = 0; i < n; i++) {
                if (v[i])
                        out[o++] = v[i];
                else {
                        memcpy(out + o, "\\u0000", 6);
                        o += 6;
                }
        }
        out[o] = 0;
        return out;
}

/* Strings l2lb interprets (names, addresses, types) are C strings: one
 * with a NUL would silently be read as a shorter one, so it is refused. */
static char *jd_str(struct jd *d, json_t *obj, const char *key, const char *path)
{
        json_t *v = jd_get(d, obj, key, path, JSON_STRING);

        if (!v)
                return NULL;
        if (has_nul(v)) {
                jd_fail(d, "%s%s%s: contains a NUL byte", path, *path ? "." : "", key);
                return NULL;
        }
        return xstrdup(json_string_value(v));
}

static char *jd_str_default(struct jd *d, json_t *obj, const char *key, const char *path,
                            const char *def)
{
        char *s = jd_str(d, obj, key, path);

        if (!s && !d->error)
                s = xstrdup(def);
        return s;
}

static bool jd_bool(struct jd *d, json_t *obj, const char *key, const char *path, bool def)
{
        json_t *v = jd_get(d, obj, key, path, JSON_TRUE);

        return v ? json_is_true(v) : def;
}

static int64_t jd_int(struct jd *d, json_t *obj, const char *key, const char *path, int64_t def)
{
        json_t *v = jd_get(d, obj, key, path, JSON_INTEGER);

        return v ? json_integer_value(v) : def;
}

/* An int32 field (ports, durations, counters): a value out of its range is
 * an error, never silently truncated. */
static int32_t jd_int32(struct jd *d, json_t *obj, const char *key, const char *path, int32_t def)
{
        int64_t v = jd_int(d, obj, key, path, def);

        if (v < INT32_MIN || v > INT32_MAX) {
                jd_fail(d, "%s%s%s: %" PRId64 " is out of range for a 32-bit integer", path,
                        *path ? "." : "", key, v);
                return def;
        }
        return (int32_t)v;
}

static json_t *jd_obj(struct jd *d, json_t *obj, const char *key, const char *path)
{
        return jd_get(d, obj, key, path, JSON_OBJECT);
}

static json_t *jd_arr(struct jd *d, json_t *obj, const char *key, const char *path)
{
        return jd_get(d, obj, key, path, JSON_ARRAY);
}

/* A list of strings; absent gives an empty vector. */
static char **jd_strv(struct jd *d, json_t *obj, const char *key, const char *path)
{
        json_t *a = jd_arr(d, obj, key, path);
        char **v = xnew(char *, 1);
        size_t i;
        json_t *e;

        json_array_foreach(a, i, e)
        {
                if (!json_is_string(e)) {
                        jd_fail(d, "%s.%s[%zu]: expected a string", path, key, i);
                        break;
                }
                if (has_nul(e)) {
                        jd_fail(d, "%s.%s[%zu]: contains a NUL byte", path, key, i);
                        break;
                }
                strv_push_n(&v, i, json_string_value(e)); /* i pushed so far */
        }
        return v;
}

/* Label values are C strings matched by selectors; the apiserver refuses a
 * NUL in them, so one here is refused too rather than read as a prefix. */
static bool jd_labels_ok(struct jd *d, json_t *obj, const char *path)
{
        const char *k;
        json_t *v;

        if (d->error)
                return false;
        json_object_foreach(obj, k, v)
        {
                if (json_is_string(v) && has_nul(v)) {
                        jd_fail(d, "%s[%s]: contains a NUL byte", path, k);
                        return false;
                }
        }
        return true;
}

static int jd_finish(struct jd *d, char **ret_error)
{
        if (!d->error)
                return 0;
        if (ret_error)
                *ret_error = d->error;
        else
                free(d->error);
        d->error = NULL;
        return -EINVAL;
}

/* ---- time ---- */

/* Reads exactly n decimal digits at *p, in [min, max], then the character
 * sep unless it is 0. Stops at the first character that does not match, so
 * it never reads past the terminating NUL. */
static int time_field(const char **p, unsigned n, int min, int max, char sep, int *ret)
{
        const char *c = *p;
        int v = 0;

        for (unsigned i = 0; i < n; i++, c++) {
                if (*c < '0' || *c > '9')
                        return -EINVAL;
                v = v * 10 + (*c - '0');
        }
        if (v < min || v > max)
                return -EINVAL;
        if (sep) {
                if (*c != sep)
                        return -EINVAL;
                c++;
        }
        *p = c;
        *ret = v;
        return 0;
}

static int time_days_in_month(int year, int month)
{
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);

        return month == 2 && leap ? 29 : days[month - 1];
}

/* Strict RFC 3339 date-time: YYYY-MM-DD, T or t, hh:mm:ss, an optional
 * fraction of 1-9 digits (kept to the microsecond), then Z, z or ±hh:mm.
 * Second 60 is refused, as Go's time.Parse (and so the API server) does. */
int k8s_time_parse(const char *s, int64_t *ret_usec)
{
        struct tm tm = {0};
        int year, month, day, hour, min, sec, oh, om;
        int64_t usec = 0, offset = 0;
        const char *p = s;

        assert(ret_usec);
        if (!p)
                return -EINVAL;
        if (time_field(&p, 4, 0, 9999, '-', &year) < 0 ||
            time_field(&p, 2, 1, 12, '-', &month) < 0 || time_field(&p, 2, 1, 31, 0, &day) < 0 ||
            day > time_days_in_month(year, month))
                return -EINVAL;
        if (*p != 'T' && *p != 't')
                return -EINVAL;
        p++;
        if (time_field(&p, 2, 0, 23, ':', &hour) < 0 || time_field(&p, 2, 0, 59, ':', &min) < 0 ||
            time_field(&p, 2, 0, 59, 0, &sec) < 0)
                return -EINVAL;
        if (*p == '.') {
                int64_t scale = 100000;
                unsigned n = 0;

                for (p++; *p >= '0' && *p <= '9'; p++, n++) {
                        usec += (*p - '0') * scale;
                        scale /= 10;
                }
                if (n < 1 || n > 9)
                        return -EINVAL;
        }
        if (*p == 'Z' || *p == 'z')
                p++;
        else if (*p == '+' || *p == '-') {
                int sign = *p++ == '+' ? 1 : -1;

                if (time_field(&p, 2, 0, 23, ':', &oh) < 0 || time_field(&p, 2, 0, 59, 0, &om) < 0)
                        return -EINVAL;
                offset = (int64_t)sign * (oh * 3600 + om * 60);
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = min;
        tm.tm_sec = sec;
        *ret_usec = ((int64_t)timegm(&tm) - offset) * 1000000 + usec;
        return 0;
}

char *k8s_time_format(int64_t unix_usec, bool micro, char *buf, size_t len)
{
        /* Floor division, so times before 1970 format too. */
        int64_t secs = unix_usec / 1000000 - (unix_usec % 1000000 < 0);
        int frac = (int)(unix_usec - secs * 1000000);
        time_t t = (time_t)secs;
        struct tm tm;

        (void)gmtime_r(&t, &tm);
        if (micro)
                (void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        else
                (void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        return buf;
}

/* ---- metadata and conditions ---- */

void k8s_meta_done(struct k8s_meta *m)
{
        free(m->name);
        free(m->namespace);
        free(m->uid);
        free(m->resource_version);
        labels_done(&m->labels);
        labels_done(&m->annotations);
}

typedef bool (*annotation_filter_t)(const char *key);

static void decode_meta(struct jd *d, json_t *obj, struct k8s_meta *m, annotation_filter_t keep)
{
        json_t *md = jd_obj(d, obj, "metadata", ""), *labels, *ann;
        char *err = NULL, *ts;

        if (!md && !d->error) {
                jd_fail(d, "metadata: missing");
                return;
        }
        m->name = jd_str(d, md, "name", "metadata");
        m->namespace = jd_str(d, md, "namespace", "metadata");
        m->uid = jd_str(d, md, "uid", "metadata");
        m->resource_version = jd_str(d, md, "resourceVersion", "metadata");
        m->generation = jd_int(d, md, "generation", "metadata", 0);
        ts = jd_str(d, md, "creationTimestamp", "metadata");
        if (ts) {
                int64_t usec;

                if (k8s_time_parse(ts, &usec) < 0)
                        jd_fail(d, "metadata.creationTimestamp: not a timestamp");
                else
                        m->creation_timestamp = (time_t)(usec / 1000000);
                free(ts);
        }
        m->deleting = jd_get(d, md, "deletionTimestamp", "metadata", JSON_STRING) != NULL;
        if (!d->error && isempty(m->name))
                jd_fail(d, "metadata.name: missing");
        labels = jd_obj(d, md, "labels", "metadata");
        if (labels && jd_labels_ok(d, labels, "metadata.labels") &&
            labels_from_json(labels, &m->labels, &err) < 0) {
                jd_fail(d, "metadata.%s", err ? err : "labels: invalid");
                free(err);
                err = NULL;
        }
        ann = jd_obj(d, md, "annotations", "metadata");
        if (ann && keep && !d->error) {
                const char *k;
                json_t *v;

                json_object_foreach(ann, k, v)
                {
                        if (!keep(k))
                                continue;
                        if (!json_is_string(v)) {
                                jd_fail(d, "metadata.annotations[%s]: expected a string", k);
                                break;
                        }
                        if (has_nul(v)) {
                                _cleanup_free_ char *e = nul_escaped(v);

                                labels_set(&m->annotations, k, e);
                        } else
                                labels_set(&m->annotations, k, json_string_value(v));
                }
        }
}

static void decode_conditions(struct jd *d, json_t *status, const char *path,
                              struct k8s_conditions *c)
{
        json_t *a = jd_arr(d, status, "conditions", path);
        _cleanup_free_ char *p = NULL;
        char *err = NULL;

        if (!a)
                return;
        p = xasprintf("%s.conditions", path);
        if (k8s_conditions_from_json(a, p, c, &err) < 0) {
                jd_fail(d, "%s", err);
                free(err);
        }
}

/* ---- Service ---- */

static bool keep_service_annotation(const char *key)
{
        return startswith(key, "lbipam.cilium.io/") || startswith(key, "io.cilium/") ||
               startswith(key, "l2lb.io/");
}

void k8s_service_free(struct k8s_service *s)
{
        if (!s)
                return;
        k8s_meta_done(&s->meta);
        free(s->type);
        free(s->load_balancer_class);
        free(s->load_balancer_ip);
        strv_free(s->external_ips);
        for (size_t i = 0; i < s->n_ports; i++) {
                free(s->ports[i].name);
                free(s->ports[i].protocol);
        }
        free(s->ports);
        labels_done(&s->selector);
        free(s->external_traffic_policy);
        free(s->ip_family_policy);
        strv_free(s->ip_families);
        for (size_t i = 0; i < s->n_ingress; i++) {
                free(s->ingress[i].ip);
                free(s->ingress[i].hostname);
        }
        free(s->ingress);
        k8s_conditions_done(&s->conditions);
        free(s);
}

int k8s_service_decode(json_t *json, struct k8s_service **ret, char **ret_error)
{
        struct jd d = {0};
        struct k8s_service *s = xnew(struct k8s_service, 1);
        json_t *spec, *status, *ports, *sel, *lb, *ingress, *e;
        size_t i;

        if (!json_is_object(json))
                jd_fail(&d, "Service: expected an object");
        decode_meta(&d, json, &s->meta, keep_service_annotation);
        spec = jd_obj(&d, json, "spec", "");
        status = jd_obj(&d, json, "status", "");
        s->type = jd_str_default(&d, spec, "type", "spec", "ClusterIP");
        s->load_balancer_class = jd_str(&d, spec, "loadBalancerClass", "spec");
        s->load_balancer_ip = jd_str(&d, spec, "loadBalancerIP", "spec");
        s->external_ips = jd_strv(&d, spec, "externalIPs", "spec");
        s->external_traffic_policy =
            jd_str_default(&d, spec, "externalTrafficPolicy", "spec", "Cluster");
        s->ip_family_policy = jd_str(&d, spec, "ipFamilyPolicy", "spec");
        s->ip_families = jd_strv(&d, spec, "ipFamilies", "spec");
        ports = jd_arr(&d, spec, "ports", "spec");
        if (ports) {
                s->ports = xnew(struct k8s_service_port, json_array_size(ports) + 1);
                json_array_foreach(ports, i, e)
                {
                        struct k8s_service_port *p;

                        if (d.error)
                                break;
                        if (!json_is_object(e)) {
                                jd_fail(&d, "spec.ports[%zu]: expected an object", i);
                                break;
                        }
                        p = &s->ports[s->n_ports++];
                        p->name = jd_str(&d, e, "name", "spec.ports[]");
                        p->port = jd_int32(&d, e, "port", "spec.ports[]", 0);
                        p->protocol = jd_str_default(&d, e, "protocol", "spec.ports[]", "TCP");
                }
        }
        sel = jd_obj(&d, spec, "selector", "spec");
        if (sel && jd_labels_ok(&d, sel, "spec.selector")) {
                char *err = NULL;

                s->has_selector = json_object_size(sel) > 0;
                if (labels_from_json(sel, &s->selector, &err) < 0) {
                        jd_fail(&d, "spec.selector: %s", err ? err : "invalid");
                        free(err);
                }
        }
        lb = jd_obj(&d, status, "loadBalancer", "status");
        ingress = jd_arr(&d, lb, "ingress", "status.loadBalancer");
        if (ingress) {
                s->ingress = xnew(struct k8s_lb_ingress, json_array_size(ingress) + 1);
                json_array_foreach(ingress, i, e)
                {
                        struct k8s_lb_ingress *g;

                        if (d.error)
                                break;
                        if (!json_is_object(e)) {
                                jd_fail(&d, "status.loadBalancer.ingress[%zu]: expected an object",
                                        i);
                                break;
                        }
                        g = &s->ingress[s->n_ingress++];
                        g->ip = jd_str(&d, e, "ip", "status.loadBalancer.ingress[]");
                        g->hostname = jd_str(&d, e, "hostname", "status.loadBalancer.ingress[]");
                }
        }
        decode_conditions(&d, status, "status", &s->conditions);
        if (jd_finish(&d, ret_error) < 0) {
                k8s_service_free(s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

static int label_cmp(const void *a, const void *b)
{
        return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

size_t k8s_service_selector_labels_view(const struct k8s_service *s, struct label *ret)
{
        size_t n = 0;

        assert(s);
        assert(ret);
        for (size_t i = 0; i < s->meta.labels.n; i++) {
                const struct label *l = &s->meta.labels.items[i];

                if (!streq(l->key, K8S_LABEL_SERVICE_NAME) &&
                    !streq(l->key, K8S_LABEL_SERVICE_NAMESPACE))
                        ret[n++] = *l;
        }
        ret[n++] = (struct label){(char *)K8S_LABEL_SERVICE_NAME, s->meta.name};
        ret[n++] = (struct label){(char *)K8S_LABEL_SERVICE_NAMESPACE,
                                  (char *)strempty(s->meta.namespace)};
        qsort(ret, n, sizeof(*ret), label_cmp);
        return n;
}

void k8s_service_selector_labels(const struct k8s_service *s, struct labels *ret)
{
        _cleanup_free_ struct label *items = NULL;
        struct labels view;

        assert(s);
        assert(ret);
        items = xnew(struct label, s->meta.labels.n + 2);
        view = (struct labels){.n = k8s_service_selector_labels_view(s, items), .items = items};
        labels_copy(ret, &view);
}

/* ---- Node ---- */

void k8s_node_free(struct k8s_node *n)
{
        if (!n)
                return;
        k8s_meta_done(&n->meta);
        free(n);
}

int k8s_node_decode(json_t *json, struct k8s_node **ret, char **ret_error)
{
        struct jd d = {0};
        struct k8s_node *n = xnew(struct k8s_node, 1);
        json_t *spec, *status, *conds, *e;
        size_t i;

        if (!json_is_object(json))
                jd_fail(&d, "Node: expected an object");
        decode_meta(&d, json, &n->meta, NULL);
        spec = jd_obj(&d, json, "spec", "");
        status = jd_obj(&d, json, "status", "");
        n->unschedulable = jd_bool(&d, spec, "unschedulable", "spec", false);
        conds = jd_arr(&d, status, "conditions", "status");
        json_array_foreach(conds, i, e)
        {
                json_t *t = json_object_get(e, "type"), *st = json_object_get(e, "status");

                if (json_is_string(t) && streq(json_string_value(t), "Ready"))
                        n->ready = json_is_string(st) && streq(json_string_value(st), "True");
        }
        if (jd_finish(&d, ret_error) < 0) {
                k8s_node_free(n);
                return -EINVAL;
        }
        *ret = n;
        return 0;
}

/* ---- EndpointSlice (discovery.k8s.io v1 and v1beta1) ---- */

void k8s_endpointslice_free(struct k8s_endpointslice *e)
{
        if (!e)
                return;
        k8s_meta_done(&e->meta);
        free(e->service_name);
        free(e->address_type);
        for (size_t i = 0; i < e->n_endpoints; i++) {
                strv_free(e->endpoints[i].addresses);
                free(e->endpoints[i].node_name);
        }
        free(e->endpoints);
        free(e);
}

int k8s_endpointslice_decode(json_t *json, struct k8s_endpointslice **ret, char **ret_error)
{
        struct jd d = {0};
        struct k8s_endpointslice *s = xnew(struct k8s_endpointslice, 1);
        json_t *eps, *e;
        size_t i;

        if (!json_is_object(json))
                jd_fail(&d, "EndpointSlice: expected an object");
        decode_meta(&d, json, &s->meta, NULL);
        s->address_type = jd_str_default(&d, json, "addressType", "", "IPv4");
        if (!d.error)
                s->service_name =
                    xstrdup(labels_get(&s->meta.labels, "kubernetes.io/service-name"));
        eps = jd_arr(&d, json, "endpoints", "");
        if (eps) {
                s->endpoints = xnew(struct k8s_endpoint, json_array_size(eps) + 1);
                json_array_foreach(eps, i, e)
                {
                        struct k8s_endpoint *ep;
                        json_t *conds, *topo;

                        if (d.error)
                                break;
                        if (!json_is_object(e)) {
                                jd_fail(&d, "endpoints[%zu]: expected an object", i);
                                break;
                        }
                        ep = &s->endpoints[s->n_endpoints++];
                        ep->addresses = jd_strv(&d, e, "addresses", "endpoints[]");
                        conds = jd_obj(&d, e, "conditions", "endpoints[]");
                        ep->ready = jd_bool(&d, conds, "ready", "endpoints[].conditions", true);
                        ep->serving =
                            jd_bool(&d, conds, "serving", "endpoints[].conditions", ep->ready);
                        ep->terminating =
                            jd_bool(&d, conds, "terminating", "endpoints[].conditions", false);
                        ep->node_name = jd_str(&d, e, "nodeName", "endpoints[]");
                        topo = jd_obj(&d, e, "topology", "endpoints[]");
                        if (!ep->node_name && topo) {
                                json_t *h = json_object_get(topo, "kubernetes.io/hostname");

                                if (json_is_string(h))
                                        ep->node_name = xstrdup(json_string_value(h));
                        }
                }
        }
        if (jd_finish(&d, ret_error) < 0) {
                k8s_endpointslice_free(s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

/* ---- Lease ---- */

void k8s_lease_free(struct k8s_lease *l)
{
        if (!l)
                return;
        k8s_meta_done(&l->meta);
        free(l->holder);
        free(l->acquire_time);
        free(l->renew_time);
        free(l);
}

/* The node-heartbeat election keeps its bindings and candidacy in l2lb.io/
 * annotations of its Leases (announce/). */
static bool keep_lease_annotation(const char *key)
{
        return startswith(key, "l2lb.io/");
}

int k8s_lease_decode(json_t *json, struct k8s_lease **ret, char **ret_error)
{
        struct jd d = {0};
        struct k8s_lease *l = xnew(struct k8s_lease, 1);
        json_t *spec;

        if (!json_is_object(json))
                jd_fail(&d, "Lease: expected an object");
        decode_meta(&d, json, &l->meta, keep_lease_annotation);
        spec = jd_obj(&d, json, "spec", "");
        l->holder = jd_str(&d, spec, "holderIdentity", "spec");
        l->lease_duration_seconds = jd_int32(&d, spec, "leaseDurationSeconds", "spec", 0);
        l->acquire_time = jd_str(&d, spec, "acquireTime", "spec");
        l->renew_time = jd_str(&d, spec, "renewTime", "spec");
        l->lease_transitions = jd_int32(&d, spec, "leaseTransitions", "spec", 0);
        if (jd_finish(&d, ret_error) < 0) {
                k8s_lease_free(l);
                return -EINVAL;
        }
        *ret = l;
        return 0;
}

/* metadata.labels or .annotations from a string map; nothing when empty. */
static void set_string_map(json_t *md, const char *field, const struct labels *m)
{
        json_t *o;

        if (m->n == 0)
                return;
        o = json_object();
        for (size_t i = 0; i < m->n; i++)
                json_object_set_new(o, m->items[i].key, json_string(m->items[i].value));
        json_object_set_new(md, field, o);
}

json_t *k8s_lease_to_json(const struct k8s_lease *l)
{
        json_t *o = json_object(), *md = json_object(), *spec = json_object();

        json_object_set_new(o, "apiVersion", json_string("coordination.k8s.io/v1"));
        json_object_set_new(o, "kind", json_string("Lease"));
        json_object_set_new(md, "name", json_string(l->meta.name));
        if (l->meta.namespace)
                json_object_set_new(md, "namespace", json_string(l->meta.namespace));
        if (l->meta.resource_version)
                json_object_set_new(md, "resourceVersion", json_string(l->meta.resource_version));
        set_string_map(md, "labels", &l->meta.labels);
        set_string_map(md, "annotations", &l->meta.annotations);
        json_object_set_new(o, "metadata", md);
        json_object_set_new(spec, "holderIdentity", json_string(strempty(l->holder)));
        if (l->lease_duration_seconds)
                json_object_set_new(spec, "leaseDurationSeconds",
                                    json_integer(l->lease_duration_seconds));
        if (l->acquire_time)
                json_object_set_new(spec, "acquireTime", json_string(l->acquire_time));
        if (l->renew_time)
                json_object_set_new(spec, "renewTime", json_string(l->renew_time));
        json_object_set_new(spec, "leaseTransitions", json_integer(l->lease_transitions));
        json_object_set_new(o, "spec", spec);
        return o;
}

/* ---- CiliumLoadBalancerIPPool ---- */

/* l2lb's own pool settings beyond Cilium's schema (lbipam.l2lb.io/priority). */
static bool keep_ippool_annotation(const char *key)
{
        return startswith(key, "lbipam.l2lb.io/");
}

void k8s_ippool_free(struct k8s_ippool *p)
{
        if (!p)
                return;
        k8s_meta_done(&p->meta);
        for (size_t i = 0; i < p->n_blocks; i++) {
                free(p->blocks[i].cidr);
                free(p->blocks[i].start);
                free(p->blocks[i].stop);
        }
        free(p->blocks);
        selector_free(p->service_selector);
        free(p->service_selector_error);
        k8s_conditions_done(&p->conditions);
        free(p);
}

static void decode_blocks(struct jd *d, json_t *spec, const char *key, struct k8s_ippool *p)
{
        json_t *a = jd_arr(d, spec, key, "spec"), *e;
        size_t i;

        if (!a || json_array_size(a) == 0)
                return;
        p->blocks = xreallocarray(p->blocks, p->n_blocks + json_array_size(a), sizeof(*p->blocks));
        json_array_foreach(a, i, e)
        {
                struct k8s_pool_block *b;

                if (d->error)
                        return;
                if (!json_is_object(e)) {
                        jd_fail(d, "spec.%s[%zu]: expected an object", key, i);
                        return;
                }
                b = &p->blocks[p->n_blocks++];
                memset(b, 0, sizeof(*b));
                b->cidr = jd_str(d, e, "cidr", "spec.blocks[]");
                b->start = jd_str(d, e, "start", "spec.blocks[]");
                b->stop = jd_str(d, e, "stop", "spec.blocks[]");
        }
}

int k8s_ippool_decode(json_t *json, struct k8s_ippool **ret, char **ret_error)
{
        struct jd d = {0};
        struct k8s_ippool *p = xnew(struct k8s_ippool, 1);
        json_t *spec, *status, *sel;
        char *aflip;

        if (!json_is_object(json))
                jd_fail(&d, "CiliumLoadBalancerIPPool: expected an object");
        decode_meta(&d, json, &p->meta, keep_ippool_annotation);
        spec = jd_obj(&d, json, "spec", "");
        status = jd_obj(&d, json, "status", "");
        decode_blocks(&d, spec, "blocks", p);
        decode_blocks(&d, spec, "cidrs", p);
        p->disabled = jd_bool(&d, spec, "disabled", "spec", false);
        aflip = jd_str(&d, spec, "allowFirstLastIPs", "spec");
        p->allow_first_last = !aflip || !streq(aflip, "No");
        free(aflip);
        sel = jd_obj(&d, spec, "serviceSelector", "spec");
        /* A bad selector is kept in service_selector_error (reported in the
         * pool's status); the pool itself still decodes. */
        if (sel && !d.error)
                (void)selector_from_json(sel, &p->service_selector, &p->service_selector_error);
        decode_conditions(&d, status, "status", &p->conditions);
        if (jd_finish(&d, ret_error) < 0) {
                k8s_ippool_free(p);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

/* ---- CiliumL2AnnouncementPolicy ---- */

void k8s_l2policy_free(struct k8s_l2policy *p)
{
        if (!p)
                return;
        k8s_meta_done(&p->meta);
        selector_free(p->service_selector);
        free(p->service_selector_error);
        selector_free(p->node_selector);
        free(p->node_selector_error);
        strv_free(p->interfaces);
        k8s_conditions_done(&p->conditions);
        free(p);
}

int k8s_l2policy_decode(json_t *json, struct k8s_l2policy **ret, char **ret_error)
{
        struct jd d = {0};
        struct k8s_l2policy *p = xnew(struct k8s_l2policy, 1);
        json_t *spec, *status, *sel;

        if (!json_is_object(json))
                jd_fail(&d, "CiliumL2AnnouncementPolicy: expected an object");
        decode_meta(&d, json, &p->meta, NULL);
        spec = jd_obj(&d, json, "spec", "");
        status = jd_obj(&d, json, "status", "");
        p->interfaces = jd_strv(&d, spec, "interfaces", "spec");
        p->external_ips = jd_bool(&d, spec, "externalIPs", "spec", false);
        p->load_balancer_ips = jd_bool(&d, spec, "loadBalancerIPs", "spec", false);
        sel = jd_obj(&d, spec, "serviceSelector", "spec");
        /* Bad selectors are kept in *_selector_error (reported in the
         * policy's status); the policy itself still decodes. */
        if (sel && !d.error)
                (void)selector_from_json(sel, &p->service_selector, &p->service_selector_error);
        sel = jd_obj(&d, spec, "nodeSelector", "spec");
        if (sel && !d.error)
                (void)selector_from_json(sel, &p->node_selector, &p->node_selector_error);
        decode_conditions(&d, status, "status", &p->conditions);
        if (jd_finish(&d, ret_error) < 0) {
                k8s_l2policy_free(p);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

/* ---- type table for informers ---- */

#define TYPE(kind_, prefix)                                                                        \
        static int prefix##_decode_any(json_t *j, void **ret, char **err)                          \
        {                                                                                          \
                return prefix##_decode(j, (void *)ret, err);                                       \
        }                                                                                          \
        static void prefix##_free_any(void *o)                                                     \
        {                                                                                          \
                prefix##_free(o);                                                                  \
        }

TYPE("Service", k8s_service)
TYPE("Node", k8s_node)
TYPE("EndpointSlice", k8s_endpointslice)
TYPE("Lease", k8s_lease)
TYPE("CiliumLoadBalancerIPPool", k8s_ippool)
TYPE("CiliumL2AnnouncementPolicy", k8s_l2policy)

const struct k8s_type K8S_TYPE_SERVICE = {"Service", k8s_service_decode_any, k8s_service_free_any};
const struct k8s_type K8S_TYPE_NODE = {"Node", k8s_node_decode_any, k8s_node_free_any};
const struct k8s_type K8S_TYPE_ENDPOINTSLICE = {"EndpointSlice", k8s_endpointslice_decode_any,
                                                k8s_endpointslice_free_any};
const struct k8s_type K8S_TYPE_LEASE = {"Lease", k8s_lease_decode_any, k8s_lease_free_any};
const struct k8s_type K8S_TYPE_IPPOOL = {"CiliumLoadBalancerIPPool", k8s_ippool_decode_any,
                                         k8s_ippool_free_any};
const struct k8s_type K8S_TYPE_L2POLICY = {"CiliumL2AnnouncementPolicy", k8s_l2policy_decode_any,
                                           k8s_l2policy_free_any};

char *k8s_key(const char *ns, const char *name)
{
        assert(name);
        if (isempty(ns))
                return xstrdup(name);
        return xasprintf("%s/%s", ns, name);
}

/* For a log line: the string as JSON spells it, NULs as \u0000. */
static char *printable(json_t *s)
{
        return has_nul(s) ? nul_escaped(s) : xstrdup(json_string_value(s));
}

char *k8s_key_from_json(json_t *obj, char **ret_error)
{
        json_t *md = json_object_get(obj, "metadata");
        json_t *name = json_object_get(md, "name"), *ns = json_object_get(md, "namespace");
        _cleanup_free_ char *pname = NULL, *pns = NULL;

        if (!json_is_string(name)) {
                if (ret_error)
                        *ret_error = xstrdup("metadata.name: missing");
                return NULL;
        }
        if (!json_is_string(ns))
                ns = NULL;
        if (!has_nul(name) && !(ns && has_nul(ns)))
                return k8s_key(ns ? json_string_value(ns) : NULL, json_string_value(name));
        if (ret_error) {
                pname = printable(name);
                pns = ns ? printable(ns) : NULL;
                *ret_error = xasprintf("metadata.%s of %s%s%s: contains a NUL byte",
                                       has_nul(name) ? "name" : "namespace", strempty(pns),
                                       pns ? "/" : "", pname);
        }
        return NULL;
}
