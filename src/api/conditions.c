/* Status conditions: set/remove/find/merge with apimachinery's rules, and
 * their JSON; see conditions.h. */
#include "conditions.h"

#include <string.h>

#include "lib/util.h"
#include "objects.h"

void k8s_condition_done(struct k8s_condition *c)
{
        assert(c);
        free(c->type);
        free(c->status);
        free(c->reason);
        free(c->message);
        free(c->last_transition_time);
        *c = (struct k8s_condition){0};
}

void k8s_conditions_done(struct k8s_conditions *c)
{
        assert(c);
        for (size_t i = 0; i < c->n; i++)
                k8s_condition_done(&c->items[i]);
        free(c->items);
        c->items = NULL;
        c->n = 0;
}

void k8s_conditions_copy(struct k8s_conditions *dst, const struct k8s_conditions *src)
{
        assert(dst);
        assert(src);
        dst->n = src->n;
        dst->items = xnew(struct k8s_condition, src->n + 1);
        for (size_t i = 0; i < src->n; i++) {
                const struct k8s_condition *s = &src->items[i];

                dst->items[i] = (struct k8s_condition){
                    .type = xstrdup(s->type),
                    .status = xstrdup(s->status),
                    .reason = xstrdup(s->reason),
                    .message = xstrdup(s->message),
                    .observed_generation = s->observed_generation,
                    .last_transition_time = xstrdup(s->last_transition_time),
                };
        }
}

const struct k8s_condition *k8s_conditions_find(const struct k8s_conditions *c, const char *type)
{
        for (size_t i = 0; c && i < c->n; i++)
                if (streq_ptr(c->items[i].type, type))
                        return &c->items[i];
        return NULL;
}

/* Writes s into *p unless it already says that; notes a change. */
static void replace(char **p, const char *s, bool *changed)
{
        if (streq_ptr(*p, s))
                return;
        free_and_strdup(p, s);
        *changed = true;
}

bool k8s_conditions_set(struct k8s_conditions *c, const struct k8s_condition *want,
                        int64_t now_usec)
{
        struct k8s_condition *have;
        bool changed = false, added = false;
        char now[40];

        assert(c);
        assert(want);
        assert(want->type);
        assert(want->status);
        have = (struct k8s_condition *)k8s_conditions_find(c, want->type);
        if (!have) {
                c->items = xreallocarray(c->items, c->n + 1, sizeof(*c->items));
                have = &c->items[c->n++];
                *have = (struct k8s_condition){.type = xstrdup(want->type)};
                added = changed = true;
        }
        if (added || !streq_ptr(have->status, want->status))
                replace(&have->last_transition_time,
                        want->last_transition_time
                            ? want->last_transition_time
                            : k8s_time_format(now_usec, false, now, sizeof(now)),
                        &changed);
        replace(&have->status, want->status, &changed);
        replace(&have->reason, strempty(want->reason), &changed);
        replace(&have->message, strempty(want->message), &changed);
        if (have->observed_generation != want->observed_generation) {
                have->observed_generation = want->observed_generation;
                changed = true;
        }
        return changed;
}

static void remove_at(struct k8s_conditions *c, size_t i)
{
        k8s_condition_done(&c->items[i]);
        memmove(&c->items[i], &c->items[i + 1], (c->n - i - 1) * sizeof(c->items[0]));
        c->n--;
}

bool k8s_conditions_remove(struct k8s_conditions *c, const char *type)
{
        bool removed = false;

        assert(c);
        assert(type);
        for (size_t i = 0; i < c->n;)
                if (streq_ptr(c->items[i].type, type)) {
                        remove_at(c, i);
                        removed = true;
                } else
                        i++;
        return removed;
}

bool k8s_conditions_merge(struct k8s_conditions *c, const struct k8s_condition *wanted, size_t n,
                          int64_t now_usec)
{
        bool changed = false;

        assert(c);
        assert(wanted || n == 0);
        for (size_t w = 0; w < n; w++) {
                bool first = true;

                assert(wanted[w].type);
                for (size_t i = 0; i < c->n;) {
                        if (!streq_ptr(c->items[i].type, wanted[w].type))
                                i++;
                        else if (first) {
                                first = false;
                                i++;
                        } else {
                                remove_at(c, i); /* a duplicate */
                                changed = true;
                        }
                }
                if (k8s_conditions_set(c, &wanted[w], now_usec))
                        changed = true;
        }
        return changed;
}

json_t *k8s_conditions_to_json(const struct k8s_conditions *c)
{
        json_t *a = json_array();

        for (size_t i = 0; c && i < c->n; i++) {
                const struct k8s_condition *k = &c->items[i];
                json_t *o = json_object();

                json_object_set_new(o, "type", json_string(k->type));
                json_object_set_new(o, "status", json_string(strempty(k->status)));
                json_object_set_new(o, "observedGeneration", json_integer(k->observed_generation));
                if (k->last_transition_time)
                        json_object_set_new(o, "lastTransitionTime",
                                            json_string(k->last_transition_time));
                json_object_set_new(o, "reason", json_string(strempty(k->reason)));
                json_object_set_new(o, "message", json_string(strempty(k->message)));
                json_array_append_new(a, o);
        }
        return a;
}

/* ---- decoding ---- */

/* Hands msg to the caller (or drops it) and refuses the input. */
static int refuse(char **ret_error, char *msg)
{
        if (ret_error)
                *ret_error = msg;
        else
                free(msg);
        return -EINVAL;
}

/* A field of a condition in *ret: NULL when absent or null, an error naming
 * the field when it has another JSON type. */
static int field(json_t *o, const char *key, json_type type, const char *list, json_t **ret,
                 char **ret_error)
{
        json_t *v = json_object_get(o, key);

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (json_typeof(v) != type)
                return refuse(ret_error,
                              xasprintf("%s[].%s: expected %s", list, key,
                                        type == JSON_STRING ? "a string" : "an integer"));
        *ret = v;
        return 0;
}

static int field_str(json_t *o, const char *key, const char *def, const char *list, char **ret,
                     char **ret_error)
{
        json_t *v;
        int r = field(o, key, JSON_STRING, list, &v, ret_error);

        if (r < 0)
                return r;
        *ret = xstrdup(v ? json_string_value(v) : def);
        return 0;
}

static int decode_one(json_t *e, const char *path, size_t i, struct k8s_condition *k,
                      char **ret_error)
{
        /* field errors name the list by its last path component, as
         * "conditions[].status" */
        const char *list = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
        json_t *gen = NULL;
        int r;

        if (!json_is_object(e))
                return refuse(ret_error, xasprintf("%s[%zu]: expected an object", path, i));
        r = field_str(e, "type", NULL, list, &k->type, ret_error);
        if (r >= 0)
                r = field_str(e, "status", "Unknown", list, &k->status, ret_error);
        if (r >= 0)
                r = field_str(e, "reason", "", list, &k->reason, ret_error);
        if (r >= 0)
                r = field_str(e, "message", "", list, &k->message, ret_error);
        if (r >= 0)
                r = field(e, "observedGeneration", JSON_INTEGER, list, &gen, ret_error);
        if (r >= 0)
                r = field_str(e, "lastTransitionTime", NULL, list, &k->last_transition_time,
                              ret_error);
        if (r < 0)
                return r;
        k->observed_generation = gen ? json_integer_value(gen) : 0;
        if (!k->type)
                return refuse(ret_error, xasprintf("%s[%zu].type: missing", path, i));
        return 0;
}

int k8s_conditions_from_json(json_t *array, const char *path, struct k8s_conditions *ret,
                             char **ret_error)
{
        struct k8s_conditions c = {0};
        size_t i;
        json_t *e;

        assert(path);
        assert(ret);
        *ret = (struct k8s_conditions){0};
        if (!array || json_is_null(array))
                return 0;
        if (!json_is_array(array))
                return refuse(ret_error, xasprintf("%s: expected a list", path));
        c.items = xnew(struct k8s_condition, json_array_size(array) + 1);
        json_array_foreach(array, i, e)
        {
                int r = decode_one(e, path, i, &c.items[c.n++], ret_error);

                if (r < 0) {
                        k8s_conditions_done(&c);
                        return r;
                }
        }
        *ret = c;
        return 0;
}
