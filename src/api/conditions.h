/* Kubernetes status conditions (metav1.Condition): the one place that
 * finds, sets, removes and merges them, and reads and writes their JSON.
 *
 * Set, remove and find follow apimachinery's meta.SetStatusCondition,
 * RemoveStatusCondition and FindStatusCondition: lastTransitionTime changes
 * only when the status changes (or the condition is new); reason, message and
 * observedGeneration are updated in place; a condition that is absent is
 * appended. Merge applies a set of wanted conditions onto an object's list,
 * keeping the conditions of every other type (owned by others) untouched.
 *
 * The current time is always passed in (wall-clock µs since the epoch); this
 * module reads no clock. Strings are malloc()ed; allocation failure aborts. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct k8s_condition {
        char *type;
        char *status;
        char *reason;
        char *message;
        int64_t observed_generation;
        char *last_transition_time; /* NULL when the object had none */
};

struct k8s_conditions {
        size_t n;
        struct k8s_condition *items;
};

void k8s_condition_done(struct k8s_condition *c);
void k8s_conditions_done(struct k8s_conditions *c);
/* A deep copy into dst, which is overwritten (not freed first). */
void k8s_conditions_copy(struct k8s_conditions *dst, const struct k8s_conditions *src);

/* The first condition of this type, or NULL. c may be NULL. */
const struct k8s_condition *k8s_conditions_find(const struct k8s_conditions *c, const char *type);

/* meta.SetStatusCondition: want (type and status required) is written into
 * the first condition of its type, or appended. The transition time is
 * want->last_transition_time if set, else now_usec formatted as a Time; it is
 * written only for a new condition or a changed status. NULL reason and
 * message are written as "". Returns whether c changed. */
bool k8s_conditions_set(struct k8s_conditions *c, const struct k8s_condition *want,
                        int64_t now_usec);
/* meta.RemoveStatusCondition: removes every condition of this type. Returns
 * whether there was one. */
bool k8s_conditions_remove(struct k8s_conditions *c, const char *type);
/* Sets each of the n wanted conditions (as k8s_conditions_set) after removing
 * the duplicates of its type beyond the first (Cilium #24945 wrote some);
 * conditions of other types are kept as they are. Returns whether c changed. */
bool k8s_conditions_merge(struct k8s_conditions *c, const struct k8s_condition *wanted, size_t n,
                          int64_t now_usec);

/* JSON array of conditions as the API writes them. */
json_t *k8s_conditions_to_json(const struct k8s_conditions *c);
/* Decodes the JSON array found at path (e.g. "status.conditions"; absent or
 * null gives an empty list). Every field's JSON type is checked; status
 * defaults to "Unknown", reason and message to "". A malformed list is
 * refused with -EINVAL and *ret_error (if not NULL) says why, naming the
 * field; *ret is left empty then. */
int k8s_conditions_from_json(json_t *array, const char *path, struct k8s_conditions *ret,
                             char **ret_error);
