/* IP sharing compatibility; see sharing.h for the rules. */
#include "sharing.h"

#include "lib/util.h"

static bool permits(const struct svc_request *r, const char *ns)
{
        return strv_contains(r->cross_ns, ns) || strv_contains(r->cross_ns, "*");
}

static bool ports_overlap(const struct svc_request *a, const struct svc_request *b)
{
        for (size_t i = 0; i < a->n_ports; i++)
                for (size_t j = 0; j < b->n_ports; j++)
                        if (a->ports[i].port == b->ports[j].port &&
                            streq_ptr(a->ports[i].protocol, b->ports[j].protocol))
                                return true;
        return false;
}

const char *sharing_incompatible(const struct svc_request *a, const char *ns_a,
                                 const struct svc_request *b, const char *ns_b)
{
        assert(a);
        assert(b);
        if (!streq_ptr(a->sharing_key, b->sharing_key))
                return SHARING_DIFFERENT_KEY;
        if (!streq_ptr(ns_a, ns_b) && (!permits(a, strempty(ns_b)) || !permits(b, strempty(ns_a))))
                return SHARING_NAMESPACE;
        if (ports_overlap(a, b))
                return SHARING_SAME_PORT;
        if (a->etp_local != b->etp_local)
                return SHARING_DIFFERENT_ETP;
        if (a->etp_local) {
                if (a->selector.n == 0 || b->selector.n == 0)
                        return SHARING_LOCAL_NO_SELECTOR;
                if (!labels_equal(&a->selector, &b->selector) &&
                    !(a->permit_different_pods && b->permit_different_pods))
                        return SHARING_LOCAL_DIFFERENT_PODS;
        }
        return NULL;
}
