/* Label sets (sorted arrays) and metav1.LabelSelector evaluation with the
 * apiserver's validation rules for keys, values and operators. */
#include "labels.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

void labels_done(struct labels *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].key);
                free(l->items[i].value);
        }
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

static int label_key_cmp(const void *key, const void *elem)
{
        return strcmp(key, ((const struct label *)elem)->key);
}

/* Index of key, or -(insertion point)-1. */
static ssize_t labels_find(const struct labels *l, const char *key)
{
        size_t i = lower_bound(key, l->items, l->n, sizeof(*l->items), label_key_cmp);

        return i < l->n && streq(l->items[i].key, key) ? (ssize_t)i : -(ssize_t)i - 1;
}

const char *labels_get(const struct labels *l, const char *key)
{
        ssize_t i;

        if (!l)
                return NULL;
        i = labels_find(l, key);
        return i >= 0 ? l->items[i].value : NULL;
}

void labels_set(struct labels *l, const char *key, const char *value)
{
        ssize_t i;
        struct label *n;
        size_t at;

        assert(l);
        assert(key);
        assert(value);
        i = labels_find(l, key);
        if (i >= 0) {
                free_and_strdup(&l->items[i].value, value);
                return;
        }
        at = (size_t)(-i - 1);
        n = xreallocarray(l->items, l->n + 1, sizeof(*n));
        l->items = n;
        memmove(&n[at + 1], &n[at], (l->n - at) * sizeof(*n));
        n[at].key = xstrdup(key);
        n[at].value = xstrdup(value);
        l->n++;
}

void labels_copy(struct labels *dst, const struct labels *src)
{
        assert(dst);
        dst->n = 0;
        dst->items = NULL;
        if (!src || src->n == 0)
                return;
        dst->items = xnew(struct label, src->n);
        for (size_t i = 0; i < src->n; i++) {
                dst->items[i].key = xstrdup(src->items[i].key);
                dst->items[i].value = xstrdup(src->items[i].value);
        }
        dst->n = src->n;
}

bool labels_equal(const struct labels *a, const struct labels *b)
{
        size_t na = a ? a->n : 0, nb = b ? b->n : 0;

        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!streq(a->items[i].key, b->items[i].key) ||
                    !streq(a->items[i].value, b->items[i].value))
                        return false;
        return true;
}

int labels_from_json(json_t *obj, struct labels *ret, char **ret_error)
{
        const char *k;
        json_t *v;

        ret->n = 0;
        ret->items = NULL;
        if (!obj || json_is_null(obj))
                return 0;
        if (!json_is_object(obj)) {
                *ret_error = xasprintf("labels: expected an object");
                return -EINVAL;
        }
        json_object_foreach(obj, k, v)
        {
                if (!json_is_string(v)) {
                        *ret_error = xasprintf("labels: value of \"%s\" is not a string", k);
                        labels_done(ret);
                        return -EINVAL;
                }
                labels_set(ret, k, json_string_value(v));
        }
        return 0;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 characters */
static bool is_qualified_name_part(const char *s, size_t len)
{
        if (len == 0 || len > 63)
                return false;
        if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];

                if (!isalnum(c) && c != '-' && c != '_' && c != '.')
                        return false;
        }
        return true;
}

/* DNS-1123 subdomain: lower-case labels of [a-z0-9-] separated by dots, <= 253 */
static bool is_dns1123_subdomain(const char *s, size_t len)
{
        size_t label = 0;

        if (len == 0 || len > 253)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!(islower(c) || isdigit(c) || c == '-'))
                        return false;
                if (label == 0 && c == '-')
                        return false;
                label++;
        }
        return label > 0 && s[len - 1] != '-';
}

const char *label_key_invalid(const char *key)
{
        const char *slash = strchr(key, '/'), *name = key;

        if (slash) {
                if (strchr(slash + 1, '/'))
                        return "a qualified name must consist of alphanumeric characters, '-', "
                               "'_' or '.', with an optional DNS subdomain prefix and '/'";
                if (!is_dns1123_subdomain(key, (size_t)(slash - key)))
                        return "prefix part must be a lowercase RFC 1123 subdomain (e.g. "
                               "'example.com', regex used for validation is "
                               "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'"
                               ")";
                name = slash + 1;
        }
        if (strlen(name) == 0)
                return "name part must be non-empty";
        if (strlen(name) > 63)
                return "name part must be no more than 63 characters";
        if (!is_qualified_name_part(name, strlen(name)))
                return "name part must consist of alphanumeric characters, '-', '_' or '.', and "
                       "must start and end with an alphanumeric character (e.g. 'MyName',  or "
                       "'my.name',  or '123-abc', regex used for validation is "
                       "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        return NULL;
}

const char *label_value_invalid(const char *value)
{
        size_t len = strlen(value);

        if (len == 0)
                return NULL;
        if (len > 63)
                return "must be no more than 63 characters";
        if (!is_qualified_name_part(value, len))
                return "a valid label must be an empty string or consist of alphanumeric "
                       "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                       "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                       "validation is '(([A-Za-z0-9][-_.A-Za-z0-9]*)?[A-Za-z0-9])?')";
        return NULL;
}

void selector_free(struct selector *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++) {
                free(s->reqs[i].key);
                for (size_t j = 0; j < s->reqs[i].n_values; j++)
                        free(s->reqs[i].values[j]);
                free(s->reqs[i].values);
        }
        free(s->reqs);
        free(s);
}

static void selector_add(struct selector *s, const char *key, enum selector_op op,
                         const char *const *values, size_t n_values)
{
        struct selector_requirement *r;

        assert(s);
        assert(key);
        s->reqs = xreallocarray(s->reqs, s->n + 1, sizeof(*s->reqs));
        r = &s->reqs[s->n++];
        memset(r, 0, sizeof(*r));
        r->key = xstrdup(key);
        r->op = op;
        if (n_values) {
                r->values = xnew(char *, n_values);
                for (size_t i = 0; i < n_values; i++)
                        r->values[i] = xstrdup(values[i]);
                r->n_values = n_values;
        }
}

struct selector *selector_copy(const struct selector *s)
{
        struct selector *c;

        if (!s)
                return NULL;
        c = xnew(struct selector, 1);
        for (size_t i = 0; i < s->n; i++) {
                const struct selector_requirement *r = &s->reqs[i];

                selector_add(c, r->key, r->op, (const char *const *)r->values, r->n_values);
        }
        return c;
}

static int parse_op(const char *s, enum selector_op *ret)
{
        static const char *const names[] = {
            [SELECTOR_IN] = "In",
            [SELECTOR_NOT_IN] = "NotIn",
            [SELECTOR_EXISTS] = "Exists",
            [SELECTOR_DOES_NOT_EXIST] = "DoesNotExist",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i])) {
                        *ret = (enum selector_op)i;
                        return 0;
                }
        return -EINVAL;
}

static int parse_expression(struct selector *s, json_t *e, size_t idx, char **err)
{
        json_t *jk = json_object_get(e, "key"), *jo = json_object_get(e, "operator");
        json_t *jv = json_object_get(e, "values");
        const char *key, *why;
        enum selector_op op;
        const char **values = NULL;
        size_t n = 0;

        if (!json_is_object(e)) {
                *err = xasprintf("matchExpressions[%zu]: expected an object", idx);
                return -EINVAL;
        }
        if (!json_is_string(jk)) {
                *err = xasprintf("matchExpressions[%zu].key: Required value", idx);
                return -EINVAL;
        }
        key = json_string_value(jk);
        why = label_key_invalid(key);
        if (why) {
                *err = xasprintf("key: Invalid value: \"%s\": %s", key, why);
                return -EINVAL;
        }
        if (!json_is_string(jo)) {
                *err = xasprintf("matchExpressions[%zu].operator: Required value", idx);
                return -EINVAL;
        }
        if (parse_op(json_string_value(jo), &op) < 0) {
                *err = xasprintf("\"%s\" is not a valid label selector operator",
                                 json_string_value(jo));
                return -EINVAL;
        }
        if (jv && !json_is_null(jv) && !json_is_array(jv)) {
                *err = xasprintf("matchExpressions[%zu].values: expected a list of strings", idx);
                return -EINVAL;
        }
        n = json_is_array(jv) ? json_array_size(jv) : 0;
        if ((op == SELECTOR_IN || op == SELECTOR_NOT_IN) && n == 0) {
                *err = xasprintf("values: Invalid value: []string(nil): for 'in', 'notin' "
                                 "operators, values set can't be empty");
                return -EINVAL;
        }
        if ((op == SELECTOR_EXISTS || op == SELECTOR_DOES_NOT_EXIST) && n > 0) {
                *err = xasprintf("values: Invalid value: %zu values: values set must be empty for "
                                 "exists and does not exist",
                                 n);
                return -EINVAL;
        }
        values = xnew(const char *, n ? n : 1);
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_array_get(jv, i);

                if (!json_is_string(v)) {
                        *err = xasprintf("matchExpressions[%zu].values[%zu]: expected a string",
                                         idx, i);
                        free(values);
                        return -EINVAL;
                }
                values[i] = json_string_value(v);
                why = label_value_invalid(values[i]);
                if (why) {
                        *err = xasprintf("values[%zu][%s]: Invalid value: \"%s\": %s", i, key,
                                         values[i], why);
                        free(values);
                        return -EINVAL;
                }
        }
        selector_add(s, key, op, values, n);
        free(values);
        return 0;
}

int selector_from_json(json_t *json, struct selector **ret, char **ret_error)
{
        struct selector *s;
        json_t *ml, *me;
        int r = 0;

        assert(ret);
        assert(ret_error);
        *ret = NULL;
        *ret_error = NULL;
        if (!json || json_is_null(json))
                return 0;
        if (!json_is_object(json)) {
                *ret_error = xasprintf("label selector: expected an object");
                return -EINVAL;
        }
        s = xnew(struct selector, 1);
        ml = json_object_get(json, "matchLabels");
        me = json_object_get(json, "matchExpressions");
        if (ml && !json_is_null(ml)) {
                const char *k;
                json_t *v;

                if (!json_is_object(ml)) {
                        *ret_error = xasprintf("matchLabels: expected an object");
                        r = -EINVAL;
                        goto out;
                }
                json_object_foreach(ml, k, v)
                {
                        const char *why, *val;

                        if (!json_is_string(v)) {
                                *ret_error = xasprintf("matchLabels[%s]: expected a string", k);
                                r = -EINVAL;
                                goto out;
                        }
                        val = json_string_value(v);
                        why = label_key_invalid(k);
                        if (why) {
                                *ret_error = xasprintf("key: Invalid value: \"%s\": %s", k, why);
                                r = -EINVAL;
                                goto out;
                        }
                        why = label_value_invalid(val);
                        if (why) {
                                *ret_error = xasprintf("values[0][%s]: Invalid value: \"%s\": %s",
                                                       k, val, why);
                                r = -EINVAL;
                                goto out;
                        }
                        selector_add(s, k, SELECTOR_IN, &val, 1);
                }
        }
        if (me && !json_is_null(me)) {
                if (!json_is_array(me)) {
                        *ret_error = xasprintf("matchExpressions: expected a list");
                        r = -EINVAL;
                        goto out;
                }
                for (size_t i = 0; i < json_array_size(me); i++) {
                        r = parse_expression(s, json_array_get(me, i), i, ret_error);
                        if (r < 0)
                                goto out;
                }
        }
out:
        if (r < 0) {
                selector_free(s);
                if (!*ret_error)
                        *ret_error = xasprintf("%s", strerror(-r));
                return r;
        }
        *ret = s;
        return 0;
}

static bool requirement_matches(const struct selector_requirement *r, const struct labels *l)
{
        const char *v = labels_get(l, r->key);

        switch (r->op) {
        case SELECTOR_EXISTS:
                return v != NULL;
        case SELECTOR_DOES_NOT_EXIST:
                return v == NULL;
        case SELECTOR_IN:
        case SELECTOR_NOT_IN: {
                bool found = false;

                if (v)
                        for (size_t i = 0; i < r->n_values && !found; i++)
                                found = streq(r->values[i], v);
                return r->op == SELECTOR_IN ? found : !found;
        }
        }
        return false;
}

bool selector_matches(const struct selector *s, const struct labels *l)
{
        if (!s)
                return true;
        for (size_t i = 0; i < s->n; i++)
                if (!requirement_matches(&s->reqs[i], l))
                        return false;
        return true;
}

bool selector_equal(const struct selector *a, const struct selector *b)
{
        if (!a || !b)
                return a == b;
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++) {
                const struct selector_requirement *x = &a->reqs[i], *y = &b->reqs[i];

                if (x->op != y->op || !streq(x->key, y->key) || x->n_values != y->n_values)
                        return false;
                for (size_t j = 0; j < x->n_values; j++)
                        if (!streq(x->values[j], y->values[j]))
                                return false;
        }
        return true;
}
