/* A service record of the LB-IPAM core as the other files read it: its age
 * order, what it holds, and what its status should show — the action and the
 * IPAMRequestSatisfied condition the shell writes, and whether the API
 * already shows them (the journal's dirty test). Calls nothing above it. */
#include "internal.h"

#include "lib/util.h"

gint svc_age_cmp(gconstpointer a, gconstpointer b, gpointer userdata)
{
        const struct ipam_svc *x = a, *y = b;
        int c;

        if (x->created != y->created)
                return x->created < y->created ? -1 : 1;
        c = strcmp(x->namespace, y->namespace);
        return c ? c : strcmp(x->name, y->name);
}

bool svc_holds(const struct ipam_svc *svc, const struct ipaddr *ip)
{
        assert(svc);
        assert(ip);
        for (guint i = 0; i < svc->allocs->len; i++)
                if (ipaddr_equal(&((struct ipam_alloc *)svc->allocs->pdata[i])->ip, ip))
                        return true;
        return false;
}

bool svc_holds_family(const struct ipam_svc *svc, int family)
{
        assert(svc);
        for (guint i = 0; i < svc->allocs->len; i++)
                if (((struct ipam_alloc *)svc->allocs->pdata[i])->ip.family == family)
                        return true;
        return false;
}

enum ipam_service_action svc_action(const struct ipam *ipam, const struct ipam_svc *svc)
{
        assert(ipam);
        assert(svc);
        if (!ipam->active)
                return IPAM_SERVICE_IGNORE;
        if (svc->managed)
                return svc->evaluated ? IPAM_SERVICE_WRITE : IPAM_SERVICE_IGNORE;
        return svc->observed.present ? IPAM_SERVICE_CLEAR : IPAM_SERVICE_IGNORE;
}

void svc_desired_condition(const struct ipam_svc *svc, struct k8s_condition *ret)
{
        assert(svc);
        assert(ret);
        ret->type = (char *)IPAM_CONDITION_SATISFIED;
        ret->status = (char *)(svc->satisfied ? "True" : "False");
        ret->reason = (char *)svc->reason;
        ret->message = svc->message;
        ret->observed_generation = svc->generation;
        ret->last_transition_time = NULL;
}

bool svc_in_sync(const struct ipam *ipam, const struct ipam_svc *svc)
{
        struct k8s_condition want;

        switch (svc_action(ipam, svc)) {
        case IPAM_SERVICE_IGNORE:
                return true;
        case IPAM_SERVICE_CLEAR:
                return false;
        case IPAM_SERVICE_WRITE:
                break;
        }
        if (!svc->ingress_exact || svc->n_ingress != svc->allocs->len)
                return false;
        for (size_t i = 0; i < svc->n_ingress; i++)
                if (!ipaddr_equal(&svc->ingress[i],
                                  &((struct ipam_alloc *)svc->allocs->pdata[i])->ip))
                        return false;
        svc_desired_condition(svc, &want);
        return observed_condition_equal(&svc->observed, &want);
}
