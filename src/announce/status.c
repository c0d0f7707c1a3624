/* Desired status conditions of a policy compared with the object's (see
 * status.h); the list itself is edited by api/conditions.c. */
#include "status.h"

#include "lib/util.h"

/* Does the existing condition already say what error (NULL: fixed) says? */
static bool cond_is(const struct k8s_condition *c, const char *reason, const char *error)
{
        if (!c)
                return !error; /* absent is right when there is no error */
        if (!streq_ptr(c->reason, reason))
                return false;
        if (error)
                return streq_ptr(c->status, "True") && streq_ptr(c->message, error);
        return streq_ptr(c->status, "False") && isempty(c->message);
}

bool policy_status_compute(const struct l2pol *p, const char *refused_external_ips,
                           int64_t now_wall, struct k8s_conditions *ret)
{
        const char *types[4] = {COND_BAD_NODE_SELECTOR, COND_BAD_INTERFACE_REGEX,
                                COND_BAD_SERVICE_SELECTOR, COND_EXTERNAL_IPS_NOT_ALLOWED};
        const char *reasons[4] = {"error", "error", "error", "NotAllowed"};
        const char *errors[4] = {p->node_selector_error, p->interface_error,
                                 p->service_selector_error, refused_external_ips};
        struct k8s_condition wanted[4];
        size_t n = 0;

        assert(p);
        assert(ret);
        /* Only the conditions that are wrong; absent ones only for errors. */
        for (size_t t = 0; t < ELEMENTSOF(types); t++)
                if (!cond_is(k8s_conditions_find(&p->conditions, types[t]), reasons[t], errors[t]))
                        wanted[n++] = (struct k8s_condition){
                            .type = (char *)types[t],
                            .status = (char *)(errors[t] ? "True" : "False"),
                            .reason = (char *)reasons[t],
                            .message = (char *)strempty(errors[t]),
                            .observed_generation = p->generation,
                        };
        if (n == 0)
                return false;
        k8s_conditions_copy(ret, &p->conditions);
        (void)k8s_conditions_merge(ret, wanted, n, now_wall);
        return true;
}
