/* Kubernetes label sets and label selectors.
 *
 * A label set is an array sorted by key. A selector is the list of
 * requirements of a metav1.LabelSelector (matchLabels become `In [value]`),
 * validated the way the apiserver's labels.NewRequirement validates them, so
 * a broken selector yields the same kind of message Kubernetes gives. A NULL
 * selector (the field is absent) matches everything. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct label {
        char *key;
        char *value;
};

struct labels {
        size_t n;
        struct label *items;
};

void labels_done(struct labels *l);
void labels_copy(struct labels *dst, const struct labels *src);
/* Set (insert or overwrite) keeping the order. */
void labels_set(struct labels *l, const char *key, const char *value);
const char *labels_get(const struct labels *l, const char *key);
bool labels_equal(const struct labels *a, const struct labels *b);
/* From a JSON object of string values; non-string values are an error. */
int labels_from_json(json_t *obj, struct labels *ret, char **ret_error);

enum selector_op {
        SELECTOR_IN,
        SELECTOR_NOT_IN,
        SELECTOR_EXISTS,
        SELECTOR_DOES_NOT_EXIST,
};

struct selector_requirement {
        char *key;
        enum selector_op op;
        size_t n_values;
        char **values;
};

struct selector {
        size_t n;
        struct selector_requirement *reqs;
};

/* Parse a metav1.LabelSelector JSON object. json NULL or JSON null gives
 * *ret = NULL (matches everything). Errors: -EINVAL with a message. */
int selector_from_json(json_t *json, struct selector **ret, char **ret_error);
void selector_free(struct selector *s);
/* Deep copy; NULL copies to NULL (matches everything). */
struct selector *selector_copy(const struct selector *s);
bool selector_matches(const struct selector *s, const struct labels *l);
/* Structural equality (same requirements in the same order). */
bool selector_equal(const struct selector *a, const struct selector *b);

/* Kubernetes name checks, exposed for tests and other validators. Return
 * NULL if valid, else a static description of what is wrong. */
const char *label_key_invalid(const char *key);
const char *label_value_invalid(const char *value);
