/* Compiling and matching L2 announcement policies (see policy.h). */
#include "policy.h"

#include "lib/util.h"
#include "status.h"

void l2pol_free(struct l2pol *p)
{
        if (!p)
                return;
        free(p->name);
        free(p->resource_version);
        selector_free(p->service_selector);
        selector_free(p->node_selector);
        free(p->service_selector_error);
        free(p->node_selector_error);
        free(p->interface_error);
        for (size_t i = 0; i < p->n_interfaces; i++)
                if (p->interfaces[i])
                        g_regex_unref(p->interfaces[i]);
        free(p->interfaces);
        k8s_conditions_done(&p->conditions);
        free(p);
}

/* Compile every pattern; the first failure becomes the policy's interface
 * error (Cilium also stops at the first one). */
static void compile_interfaces(struct l2pol *p, char *const *patterns)
{
        size_t n = strv_length(patterns);

        if (n == 0)
                return;
        p->interfaces = xnew(GRegex *, n);
        for (size_t i = 0; i < n; i++) {
                GError *err = NULL;
                GRegex *re = g_regex_new(patterns[i], 0, 0, &err);

                if (!re) {
                        p->interface_error =
                            xasprintf("interfaces[%zu]: %s", i,
                                      err ? err->message : "invalid regular expression");
                        g_clear_error(&err);
                        return;
                }
                p->interfaces[p->n_interfaces++] = re;
        }
}

struct l2pol *l2pol_from_k8s(const struct k8s_l2policy *k)
{
        struct l2pol *p;

        assert(k);
        p = xnew(struct l2pol, 1);
        p->name = xstrdup(k->meta.name);
        p->resource_version = xstrdup(k->meta.resource_version);
        p->generation = k->meta.generation;
        p->external_ips = k->external_ips;
        p->load_balancer_ips = k->load_balancer_ips;
        p->service_selector_error = xstrdup(k->service_selector_error);
        p->node_selector_error = xstrdup(k->node_selector_error);
        compile_interfaces(p, k->interfaces);
        p->service_selector = selector_copy(k->service_selector);
        p->node_selector = selector_copy(k->node_selector);
        k8s_conditions_copy(&p->conditions, &k->conditions);
        return p;
}

bool l2pol_active(const struct l2pol *p)
{
        assert(p);
        return !p->service_selector_error && !p->node_selector_error && !p->interface_error;
}

bool l2pol_matches_node(const struct l2pol *p, const struct labels *node_labels)
{
        assert(p);
        assert(node_labels);
        return l2pol_active(p) && selector_matches(p->node_selector, node_labels);
}

bool l2pol_matches_service(const struct l2pol *p, const struct announce_svc *s)
{
        assert(p);
        assert(s);
        return l2pol_active(p) && selector_matches(p->service_selector, &s->sel_labels);
}

bool l2pol_matches_device(const struct l2pol *p, const char *device)
{
        assert(p);
        assert(device);
        if (p->n_interfaces == 0)
                return true;
        for (size_t i = 0; i < p->n_interfaces; i++)
                if (g_regex_match(p->interfaces[i], device, 0, NULL))
                        return true;
        return false;
}

void l2pol_service_ips(const struct l2pol *p, const struct announce_svc *s,
                       bool external_ips_enabled, struct announce_ip_list *ret)
{
        assert(p);
        assert(s);
        assert(ret);
        if (!s->class_ok || !l2pol_matches_service(p, s))
                return;
        if (p->external_ips && external_ips_enabled)
                announce_ip_list_merge(ret, &s->external);
        if (p->load_balancer_ips)
                announce_ip_list_merge(ret, &s->ingress);
}
