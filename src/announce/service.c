/* Services as the announcer sees them (see service.h), and small sorted
 * address sets used throughout the core. */
#include "service.h"

#include "lib/util.h"

void announce_ip_list_done(struct announce_ip_list *l)
{
        if (!l)
                return;
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

static int ipaddr_key_cmp(const void *key, const void *elem)
{
        return ipaddr_cmp(key, elem);
}

/* Index of a, or -(insertion point)-1. */
static ssize_t announce_ip_list_find(const struct announce_ip_list *l, const struct ipaddr *a)
{
        size_t i = lower_bound(a, l->items, l->n, sizeof(*l->items), ipaddr_key_cmp);

        return i < l->n && ipaddr_equal(&l->items[i], a) ? (ssize_t)i : -(ssize_t)i - 1;
}

bool announce_ip_list_equal(const struct announce_ip_list *x, const struct announce_ip_list *y)
{
        assert(x);
        assert(y);
        if (x->n != y->n)
                return false;
        for (size_t i = 0; i < x->n; i++)
                if (!ipaddr_equal(&x->items[i], &y->items[i]))
                        return false;
        return true;
}

bool announce_ip_list_contains(const struct announce_ip_list *l, const struct ipaddr *a)
{
        assert(l);
        assert(a);
        return announce_ip_list_find(l, a) >= 0;
}

void announce_ip_list_add(struct announce_ip_list *l, const struct ipaddr *a)
{
        ssize_t i;
        size_t at;

        assert(l);
        assert(a);
        i = announce_ip_list_find(l, a);
        if (i >= 0)
                return;
        at = (size_t)(-i - 1);
        l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
        memmove(&l->items[at + 1], &l->items[at], (l->n - at) * sizeof(*l->items));
        l->items[at] = *a;
        l->n++;
}

void announce_ip_list_merge(struct announce_ip_list *dst, const struct announce_ip_list *src)
{
        assert(dst);
        assert(src);
        for (size_t i = 0; i < src->n; i++)
                announce_ip_list_add(dst, &src->items[i]);
}

char *announce_svc_lease_name(const char *ns, const char *name)
{
        assert(name);
        return xasprintf(ANNOUNCE_LEASE_PREFIX "%s-%s", strempty(ns), name);
}

static bool family_enabled(struct announce_svc_families fam, int family)
{
        return family == AF_INET ? fam.ipv4 : fam.ipv6;
}

/* false: not an address we could announce */
static bool parse_usable(const char *s, struct announce_svc_families fam, struct ipaddr *ret)
{
        return !isempty(s) && ipaddr_parse(s, ret) >= 0 && family_enabled(fam, ret->family);
}

void announce_svc_free(struct announce_svc *s)
{
        if (!s)
                return;
        free(s->key);
        free(s->namespace);
        free(s->name);
        free(s->lease_name);
        labels_done(&s->sel_labels);
        announce_ip_list_done(&s->external);
        announce_ip_list_done(&s->external_refused);
        announce_ip_list_done(&s->ingress);
        free(s);
}

static bool ext_allowed(struct announce_ext_allowed allowed, const struct ipaddr *a)
{
        for (size_t i = 0; i < allowed.n; i++)
                if (iprange_contains(&allowed.ranges[i], a))
                        return true;
        return false;
}

struct announce_svc *announce_svc_from_k8s(const struct k8s_service *k,
                                           struct announce_svc_families fam,
                                           struct announce_ext_allowed allowed)
{
        struct announce_svc *s;
        struct ipaddr a;

        assert(k);
        s = xnew(struct announce_svc, 1);
        s->namespace = xstrdup(strempty(k->meta.namespace));
        s->name = xstrdup(k->meta.name);
        s->key = k8s_key(k->meta.namespace, k->meta.name);
        s->lease_name = announce_svc_lease_name(k->meta.namespace, k->meta.name);
        k8s_service_selector_labels(k, &s->sel_labels);
        s->class_ok = !k->load_balancer_class || streq(k->load_balancer_class, ANNOUNCE_LB_CLASS);
        s->etp_local = streq_ptr(k->external_traffic_policy, "Local");
        for (size_t i = 0; k->external_ips && k->external_ips[i]; i++)
                if (parse_usable(k->external_ips[i], fam, &a))
                        announce_ip_list_add(
                            ext_allowed(allowed, &a) ? &s->external : &s->external_refused, &a);
        for (size_t i = 0; i < k->n_ingress; i++)
                if (parse_usable(k->ingress[i].ip, fam, &a))
                        announce_ip_list_add(&s->ingress, &a);
        return s;
}
