/* Desired status conditions of a policy compared with the object's (see
 * status.h). */
#include "status.h"

#include "lib/util.h"

static int cond_set(struct k8s_condition *c, const char *type, const char *status,
                    const char *message, int64_t generation, const char *transition)
{
        c->type = strdup(type);
        c->status = strdup(status);
        c->reason = strdup("error");
        c->message = strdup(message);
        c->observed_generation = generation;
        c->last_transition_time = transition ? strdup(transition) : NULL;
        if (!c->type || !c->status || !c->reason || !c->message ||
            (transition && !c->last_transition_time))
                return -ENOMEM;
        return 0;
}

int condition_copy(struct k8s_condition *d, const struct k8s_condition *s)
{
        d->type = strdup(strempty(s->type));
        d->status = strdup(strempty(s->status));
        d->reason = strdup(strempty(s->reason));
        d->message = strdup(strempty(s->message));
        d->observed_generation = s->observed_generation;
        d->last_transition_time = s->last_transition_time ? strdup(s->last_transition_time) : NULL;
        if (!d->type || !d->status || !d->reason || !d->message ||
            (s->last_transition_time && !d->last_transition_time))
                return -ENOMEM;
        return 0;
}

int conditions_copy(struct k8s_conditions *dst, const struct k8s_conditions *src)
{
        assert(dst);
        assert(src);
        dst->items = calloc(src->n + 1, sizeof(*dst->items));
        if (!dst->items)
                return -ENOMEM;
        for (size_t i = 0; i < src->n; i++) {
                int r = condition_copy(&dst->items[dst->n++], &src->items[i]);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* Does the existing condition already say what error (NULL: fixed) says? */
static bool cond_is(const struct k8s_condition *c, const char *error)
{
        if (!c)
                return !error; /* absent is right when there is no error */
        if (!streq_ptr(c->reason, "error"))
                return false;
        if (error)
                return streq_ptr(c->status, "True") && streq_ptr(c->message, error);
        return streq_ptr(c->status, "False") && isempty(c->message);
}

int policy_status_compute(const struct l2pol *p, int64_t now_wall, struct k8s_conditions *ret)
{
        const char *types[3] = {COND_BAD_NODE_SELECTOR, COND_BAD_INTERFACE_REGEX,
                                COND_BAD_SERVICE_SELECTOR};
        const char *errors[3] = {p->node_selector_error, p->interface_error,
                                 p->service_selector_error};
        struct k8s_conditions out = {0};
        bool changed = false;
        char now[40];
        int r = 0;

        assert(p);
        assert(ret);
        for (size_t i = 0; i < 3; i++)
                if (!cond_is(k8s_conditions_find(&p->conditions, types[i]), errors[i]))
                        changed = true;
        if (!changed)
                return 0;

        k8s_time_format(now_wall, false, now, sizeof(now));
        out.items = calloc(p->conditions.n + 3, sizeof(*out.items));
        if (!out.items)
                return -ENOMEM;
        /* Keep the object's conditions in their order, replacing ours. */
        for (size_t i = 0; r >= 0 && i < p->conditions.n; i++) {
                const struct k8s_condition *c = &p->conditions.items[i];
                size_t t;

                for (t = 0; t < 3; t++)
                        if (streq_ptr(c->type, types[t]))
                                break;
                if (t == 3 || cond_is(c, errors[t]))
                        r = condition_copy(&out.items[out.n++], c);
                else {
                        const char *st = errors[t] ? "True" : "False";
                        bool flip = !streq_ptr(c->status, st);

                        r = cond_set(&out.items[out.n++], types[t], st, strempty(errors[t]),
                                     p->generation, flip ? now : c->last_transition_time);
                }
        }
        /* New conditions only for errors. */
        for (size_t t = 0; r >= 0 && t < 3; t++)
                if (errors[t] && !k8s_conditions_find(&p->conditions, types[t]))
                        r = cond_set(&out.items[out.n++], types[t], "True", errors[t],
                                     p->generation, now);
        if (r < 0) {
                k8s_conditions_done(&out);
                return r;
        }
        *ret = out;
        return 1;
}
