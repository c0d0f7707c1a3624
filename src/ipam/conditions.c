/* Helpers for the operator shell: merging desired conditions into an
 * object's conditions (meta.SetStatusCondition semantics, keeping foreign
 * types and transition times) and comparing ingress lists. They work on the
 * api/objects.h structs, whose strings are malloc()ed. */
#include "internal.h"

#include "lib/util.h"

static void replace(char **p, const char *s, bool *changed)
{
        char *c;

        if (streq_ptr(*p, s))
                return;
        c = s ? strdup(s) : NULL;
        if (s && !c)
                g_error("out of memory");
        free(*p);
        *p = c;
        *changed = true;
}

static void condition_free(struct k8s_condition *k)
{
        free(k->type);
        free(k->status);
        free(k->reason);
        free(k->message);
        free(k->last_transition_time);
}

static void remove_at(struct k8s_conditions *c, size_t i)
{
        condition_free(&c->items[i]);
        memmove(&c->items[i], &c->items[i + 1], (c->n - i - 1) * sizeof(c->items[0]));
        c->n--;
}

void ipam_conditions_merge(struct k8s_conditions *c, const struct k8s_condition *desired,
                           size_t n, const char *now, bool *ret_changed)
{
        bool changed = false;

        assert(c);
        assert(desired || n == 0);
        for (size_t d = 0; d < n; d++) {
                const struct k8s_condition *want = &desired[d];
                struct k8s_condition *have = NULL;

                assert(want->type);
                for (size_t i = 0; i < c->n;) {
                        if (!streq_ptr(c->items[i].type, want->type)) {
                                i++;
                                continue;
                        }
                        if (!have) {
                                have = &c->items[i++];
                                continue;
                        }
                        remove_at(c, i); /* a duplicate */
                        changed = true;
                }
                if (!have) {
                        struct k8s_condition *items =
                            realloc(c->items, (c->n + 1) * sizeof(*items));

                        if (!items)
                                g_error("out of memory");
                        c->items = items;
                        have = &c->items[c->n++];
                        memset(have, 0, sizeof(*have));
                        replace(&have->type, want->type, &changed);
                        replace(&have->last_transition_time, now, &changed);
                } else if (!streq_ptr(have->status, want->status))
                        replace(&have->last_transition_time, now, &changed);
                replace(&have->status, want->status, &changed);
                replace(&have->reason, strempty(want->reason), &changed);
                replace(&have->message, strempty(want->message), &changed);
                if (have->observed_generation != want->observed_generation) {
                        have->observed_generation = want->observed_generation;
                        changed = true;
                }
        }
        if (ret_changed)
                *ret_changed = changed;
}

void ipam_conditions_remove(struct k8s_conditions *c, const char *type, bool *ret_changed)
{
        bool changed = false;

        assert(c);
        assert(type);
        for (size_t i = 0; i < c->n;) {
                if (streq_ptr(c->items[i].type, type)) {
                        remove_at(c, i);
                        changed = true;
                } else
                        i++;
        }
        if (ret_changed)
                *ret_changed = changed;
}

bool ipam_service_ingress_equal(const struct k8s_service *svc, const struct ipam_service_status *st)
{
        assert(svc);
        assert(st);
        if (svc->n_ingress != st->n_ips)
                return false;
        for (size_t i = 0; i < st->n_ips; i++) {
                struct ipaddr a, b;

                if (svc->ingress[i].hostname || !svc->ingress[i].ip ||
                    ipaddr_parse(svc->ingress[i].ip, &a) < 0 || ipaddr_parse(st->ips[i], &b) < 0 ||
                    !ipaddr_equal(&a, &b))
                        return false;
        }
        return true;
}
