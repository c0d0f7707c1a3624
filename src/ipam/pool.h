/* A CiliumLoadBalancerIPPool as LB-IPAM sees it: its validated spec (blocks
 * as ranges, selector, disabled, allowFirstLastIPs, l2lb's priority
 * annotation), its conflict mark and its address counts.
 *
 * pool_spec_parse() validates a whole pool object: any bad block, a broken
 * selector or a bad priority rejects the update, and the caller keeps the
 * previous good spec. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ipam/range.h"
#include "api/objects.h"
#include "lib/addr.h"
#include "lib/labels.h"

struct pool_block {
        struct iprange r;
        bool from_cidr;
};

struct pool_spec {
        size_t n_blocks;
        struct pool_block *blocks; /* sorted by (family, from, to) */
        struct selector *selector; /* NULL: every service */
        bool disabled;
        bool allow_first_last;
        int32_t priority;
};

int pool_spec_parse(const struct k8s_ippool *p, struct pool_spec *ret, char **ret_error);
void pool_spec_done(struct pool_spec *s);

/* What the API showed of one of our conditions. */
struct observed_condition {
        bool present;
        bool duplicate; /* more than one condition of this type (Cilium #24945) */
        char *status;
        char *reason;
        char *message;
        int64_t observed_generation;
        bool count_valid; /* message is a canonical decimal count: */
        struct bigcount count;
};

void observed_condition_set(struct observed_condition *o, const struct k8s_conditions *c,
                            const char *type);
void observed_condition_done(struct observed_condition *o);
bool observed_condition_equal(const struct observed_condition *o, const struct k8s_condition *c);

enum {
        POOL_COND_TOTAL,
        POOL_COND_AVAILABLE,
        POOL_COND_USED,
        POOL_COND_CONFLICT,
        _POOL_COND_MAX,
};

struct ipam_pool {
        char *name;
        time_t created;
        int64_t generation; /* of the accepted spec: the conditions' observedGeneration */
        bool valid;         /* a spec has been accepted */
        struct selector *selector;
        bool disabled;
        bool allow_first_last;
        int32_t priority;
        GPtrArray *ranges; /* struct ipam_range *, sorted by (family, from, to) */
        bool conflicting;
        char *conflict_message;
        char *error;   /* why the last update was rejected */
        char *warning; /* accepted, but empty */
        struct observed_condition observed[_POOL_COND_MAX];
        guint rank; /* position in the allocation order */
        /* bookkeeping of the operation in progress */
        bool touched;
        bool was_conflicting;
};

struct ipam_pool *pool_new(const char *name, time_t created);
/* Frees the ranges too: release their allocations first. */
void pool_free(struct ipam_pool *p);

bool pool_selects(const struct ipam_pool *p, const struct labels *service_labels);
/* New allocations and grants are possible: accepted, not disabled, not marked. */
bool pool_usable(const struct ipam_pool *p);
void pool_counts(const struct ipam_pool *p, struct bigcount *total, struct bigcount *available,
                 struct bigcount *used);
/* The four conditions as they should be (strings allocated; free with
 * k8s_condition fields). */
void pool_desired_conditions(const struct ipam_pool *p, struct k8s_condition ret[_POOL_COND_MAX]);
void pool_conditions_done(struct k8s_condition c[_POOL_COND_MAX]);
/* Whether the API shows exactly the desired conditions. */
bool pool_in_sync(const struct ipam_pool *p);

bool pool_spec_equal(const struct ipam_pool *p, const struct pool_spec *s);

/* Conflict order: older first (creationTimestamp, then name). */
int pool_cmp_age(const struct ipam_pool *a, const struct ipam_pool *b);
/* Allocation order: higher priority first, then name. */
int pool_cmp_order(const struct ipam_pool *a, const struct ipam_pool *b);
