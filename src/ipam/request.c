/* Service → LB-IPAM request. Annotation aliases are read like Cilium's
 * annotation.Get: the first key present wins, even when its value is empty.
 * Unparsable requested IPs are skipped (as Cilium does) and described in
 * bad_entries so the shell can tell the user. Parsing is linear in the
 * annotation's length (duplicates are found by sorting) and a list longer
 * than IPAM_REQUEST_MAX_IPS is refused without being parsed: a 256 KiB
 * annotation costs the core well under a millisecond per upsert. */
#include "request.h"

#include <glib.h>
#include <stdio.h>

#include "lib/util.h"

void labels_pack(const struct labels *l, struct labels *ret)
{
        size_t n = l ? l->n : 0, bytes = 0;
        struct label *items;
        char *p;

        assert(ret);
        ret->n = n;
        ret->items = NULL;
        if (n == 0)
                return;
        for (size_t i = 0; i < n; i++)
                bytes += strlen(l->items[i].key) + strlen(l->items[i].value) + 2;
        items = g_malloc(n * sizeof(*items) + bytes);
        p = (char *)(items + n);
        for (size_t i = 0; i < n; i++) {
                size_t lk = strlen(l->items[i].key) + 1, lv = strlen(l->items[i].value) + 1;

                items[i].key = memcpy(p, l->items[i].key, lk);
                p += lk;
                items[i].value = memcpy(p, l->items[i].value, lv);
                p += lv;
        }
        ret->items = items;
}

void labels_packed_free(struct labels *l)
{
        if (!l)
                return;
        g_free(l->items);
        l->items = NULL;
        l->n = 0;
}

bool svc_request_managed(const struct ipam_options *o, const struct k8s_service *s)
{
        const char *class;

        assert(o);
        assert(s);
        if (!streq_ptr(s->type, "LoadBalancer"))
                return false;
        class = s->load_balancer_class;
        if (!class)
                return o->default_lbipam;
        if (streq(class, IPAM_CLASS_L2))
                return o->l2_announcements;
        if (streq(class, IPAM_CLASS_BGP))
                return o->bgp_control_plane;
        return false;
}

void svc_request_families(const struct ipam_options *o, const char *policy, char *const *families,
                          bool *ret_v4, bool *ret_v6)
{
        bool v4 = false, v6 = false;

        assert(o);
        assert(ret_v4);
        assert(ret_v6);
        if (streq_ptr(policy, "PreferDualStack")) {
                if (strv_length(families) == 0) {
                        v4 = o->enable_ipv4;
                        v6 = o->enable_ipv6;
                }
                for (size_t i = 0; families && families[i]; i++) {
                        if (streq(families[i], "IPv4"))
                                v4 = o->enable_ipv4;
                        else if (streq(families[i], "IPv6"))
                                v6 = o->enable_ipv6;
                }
        } else if (streq_ptr(policy, "RequireDualStack")) {
                v4 = o->enable_ipv4;
                v6 = o->enable_ipv6;
        } else if (!policy || streq(policy, "SingleStack")) {
                /* the first listed family even when it is not enabled */
                if (strv_length(families) > 0) {
                        if (streq(families[0], "IPv4"))
                                v4 = true;
                        else
                                v6 = true;
                } else if (o->enable_ipv4)
                        v4 = true;
                else if (o->enable_ipv6)
                        v6 = true;
        }
        *ret_v4 = v4;
        *ret_v6 = v6;
}

static const char *annotation_get(const struct k8s_service *s, const char *key, const char *alias)
{
        const char *v = labels_get(&s->meta.annotations, key);

        return v ? v : labels_get(&s->meta.annotations, alias);
}

/* The IPs of a list being parsed, in order, and its bad entries. */
struct ip_list {
        size_t n, n_bad;
        struct ipaddr *ips;
        char **bad;
};

/* How much of a bad value of len bytes to quote: a long one is quoted in
 * part, cut at a UTF-8 character boundary (and followed by "..."). */
static int quoted_len(const char *v, size_t len)
{
        size_t cut = MIN(len, (size_t)IPAM_REQUEST_MAX_QUOTED);

        while (cut > 0 && cut < len && ((unsigned char)v[cut] & 0xC0) == 0x80)
                cut--;
        return (int)cut;
}

static void add_bad(struct ip_list *l, const char *where, const char *entry)
{
        size_t len = strlen(entry);
        int cut = quoted_len(entry, len);
        _cleanup_free_ char *m = NULL;

        m = xasprintf("%s: '%.*s%s' is not an IP address", where, cut, entry,
                      (size_t)cut < len ? "..." : "");
        strv_push_n(&l->bad, l->n_bad++, m);
}

static void add_ip(struct ip_list *l, const char *where, const char *text)
{
        struct ipaddr a;

        if (ipaddr_parse(text, &a) < 0) {
                add_bad(l, where, text);
                return;
        }
        l->ips[l->n++] = a;
}

struct ip_rank {
        struct ipaddr ip;
        size_t order;
};

static int ip_rank_cmp(const void *a, const void *b)
{
        const struct ip_rank *x = a, *y = b;
        int c = ipaddr_cmp(&x->ip, &y->ip);

        return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Drops the repeats of an IP, keeping its first occurrence and the order:
 * by sorting, O(n log n). */
static void ip_list_dedup(struct ip_list *l)
{
        _cleanup_free_ struct ip_rank *rank = xnew(struct ip_rank, l->n);
        _cleanup_free_ bool *keep = xnew(bool, l->n);
        size_t n = 0;

        for (size_t i = 0; i < l->n; i++)
                rank[i] = (struct ip_rank){.ip = l->ips[i], .order = i};
        qsort_safe(rank, l->n, sizeof(*rank), ip_rank_cmp);
        for (size_t i = 0; i < l->n; i++)
                if (i == 0 || !ipaddr_equal(&rank[i].ip, &rank[i - 1].ip))
                        keep[rank[i].order] = true;
        for (size_t i = 0; i < l->n; i++)
                if (keep[i])
                        l->ips[n++] = l->ips[i];
        l->n = n;
}

static void parse_ips(const struct k8s_service *s, struct svc_request *r)
{
        const char *ann = annotation_get(s, IPAM_ANNOTATION_IPS, IPAM_ANNOTATION_IPS_ALIAS);
        const char *where = labels_get(&s->meta.annotations, IPAM_ANNOTATION_IPS)
                                ? IPAM_ANNOTATION_IPS
                                : IPAM_ANNOTATION_IPS_ALIAS;
        size_t n = strv_count_comma(ann); /* 0 when absent or empty */
        _cleanup_strv_free_ char **v = NULL;
        struct ip_list l = {0};

        if (n > IPAM_REQUEST_MAX_IPS) {
                r->refusal = xasprintf("The annotation '%s' lists %zu entries, more than the %d "
                                       "allowed; no IP is allocated to this service",
                                       where, n, IPAM_REQUEST_MAX_IPS);
                r->want4 = r->want6 = false;
                return;
        }
        l.ips = xnew(struct ipaddr, n + 1);
        if (!isempty(s->load_balancer_ip))
                add_ip(&l, "spec.loadBalancerIP", s->load_balancer_ip);
        v = strv_split_comma(ann);
        for (size_t i = 0; v[i]; i++)
                add_ip(&l, where, v[i]);
        ip_list_dedup(&l);
        if (l.n == 0) {
                free(l.ips);
                l.ips = NULL;
        }
        r->n_ips = l.n;
        r->ips = l.ips;
        r->bad_entries = l.bad;
}

/* Go's strconv.ParseBool, as Cilium reads the annotation. */
static int parse_go_bool(const char *v)
{
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(v, yes[i]))
                        return 1;
                if (streq(v, no[i]))
                        return 0;
        }
        return -EINVAL;
}

static void parse_permit(const struct k8s_service *s, struct svc_request *r)
{
        const char *v = labels_get(&s->meta.annotations, IPAM_ANNOTATION_PERMIT_DIFFERENT_PODS);
        size_t len;
        int b, cut;

        if (!v)
                return;
        b = parse_go_bool(v);
        if (b >= 0) {
                r->permit_different_pods = b;
                return;
        }
        len = strlen(v);
        cut = quoted_len(v, len);
        r->bad_permit = xasprintf("%s: '%.*s%s' is not a boolean (true or false); taken as false",
                                  IPAM_ANNOTATION_PERMIT_DIFFERENT_PODS, cut, v,
                                  (size_t)cut < len ? "..." : "");
}

static void parse_sharing(const struct k8s_service *s, struct svc_request *r)
{
        const char *key =
            annotation_get(s, IPAM_ANNOTATION_SHARING_KEY, IPAM_ANNOTATION_SHARING_KEY_ALIAS);
        const char *cross =
            annotation_get(s, IPAM_ANNOTATION_CROSS_NS, IPAM_ANNOTATION_CROSS_NS_ALIAS);

        if (!isempty(key))
                r->sharing_key = xstrdup(key);
        if (!isempty(cross))
                r->cross_ns = strv_split_comma_packed(cross); /* may be long */
        if (s->n_ports) {
                r->ports = xnew(struct svc_port, s->n_ports);
                for (size_t i = 0; i < s->n_ports; i++) {
                        r->ports[i].port = s->ports[i].port;
                        r->ports[i].protocol =
                            xstrdup(s->ports[i].protocol ? s->ports[i].protocol : "TCP");
                }
                r->n_ports = s->n_ports;
        }
        r->etp_local = streq_ptr(s->external_traffic_policy, "Local");
        parse_permit(s, r);
        if (s->has_selector)
                labels_pack(&s->selector, &r->selector);
}

void svc_request_parse(const struct ipam_options *o, const struct k8s_service *s,
                       struct svc_request *ret)
{
        struct svc_request r = {0};

        assert(o);
        assert(s);
        assert(ret);
        svc_request_families(o, s->ip_family_policy, s->ip_families, &r.want4, &r.want6);
        parse_ips(s, &r);
        parse_sharing(s, &r);
        *ret = r;
}

void svc_request_done(struct svc_request *r)
{
        if (!r)
                return;
        free(r->ips);
        strv_free(r->bad_entries);
        free(r->refusal);
        free(r->bad_permit);
        free(r->sharing_key);
        free(r->cross_ns); /* packed */
        for (size_t i = 0; i < r->n_ports; i++)
                free(r->ports[i].protocol);
        free(r->ports);
        labels_packed_free(&r->selector);
        memset(r, 0, sizeof(*r));
}

bool svc_request_sharing_equal(const struct svc_request *a, const struct svc_request *b)
{
        assert(a);
        assert(b);
        if (!streq_ptr(a->sharing_key, b->sharing_key) || !strv_equal(a->cross_ns, b->cross_ns) ||
            a->n_ports != b->n_ports || a->etp_local != b->etp_local ||
            a->permit_different_pods != b->permit_different_pods ||
            !labels_equal(&a->selector, &b->selector))
                return false;
        for (size_t i = 0; i < a->n_ports; i++)
                if (a->ports[i].port != b->ports[i].port ||
                    !streq_ptr(a->ports[i].protocol, b->ports[i].protocol))
                        return false;
        return true;
}

bool svc_request_has_ip(const struct svc_request *r, const struct ipaddr *a)
{
        assert(r);
        assert(a);
        for (size_t i = 0; i < r->n_ips; i++)
                if (ipaddr_equal(&r->ips[i], a))
                        return true;
        return false;
}

bool svc_request_wants_family(const struct svc_request *r, int family)
{
        assert(r);
        return family == AF_INET ? r->want4 : r->want6;
}
