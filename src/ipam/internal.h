/* The LB-IPAM core's state, shared by its files. They call down this list,
 * never up:
 *
 *   ipam.c       inputs and outputs: one operation per input
 *   reconcile.c  what a service should hold: strip, adopt, satisfy
 *   allocate.c   where an address comes from: the allocation order, the
 *                allocation index and sharing groups
 *   journal.c    what an operation changed: touched objects, Events, the
 *                dirty sets the shell reads
 *   service.c    a service's age order, what it holds, its desired status
 *   index.c      pool order, ranges by address, pools by selector label
 *   pool.c, range.c, conflict.c, request.c, sharing.c  the pieces
 *
 * Ownership: ipam owns pools (which own their ranges), services and
 * allocations. An allocation (one address) belongs to one origin range and
 * is held by a sharing group of one or more services; each service lists
 * the allocations it holds, sorted by address. */
#pragma once

#include <glib.h>

#include "ipam/ipam.h"
#include "ipam/pool.h"
#include "ipam/range.h"
#include "ipam/request.h"
#include "lib/util.h"

struct ipam_alloc {
        struct ipaddr ip; /* key of ipam->allocs */
        struct ipam_range *origin;
        GPtrArray *members; /* struct ipam_svc *, in joining order */
        char *indexed_key;  /* sharing key it is filed under in ipam->by_sharing_key */
        uint64_t filed;     /* when it was filed there (ipam->next_filed): the group's age */
};

struct released_ip {
        struct ipaddr ip;
        char *why;
};

struct ipam_svc {
        char *namespace; /* "" when absent */
        char *name;
        char *key; /* namespace/name */
        time_t created;
        int64_t generation;
        bool managed;         /* type LoadBalancer with a class we handle */
        struct labels labels; /* with io.kubernetes.service.name/.namespace */
        struct svc_request req;

        /* what the API showed at the last upsert */
        size_t n_ingress;
        struct ipaddr *ingress; /* parsable {ip} entries: adoption hints */
        bool ingress_exact;     /* ingress[] is exactly the status ({ip} only) */
        bool observed_satisfied_true;
        struct observed_condition observed;

        GPtrArray *allocs; /* struct ipam_alloc *, sorted by address */
        bool evaluated;    /* the condition below has been computed */
        bool satisfied;
        const char *reason; /* static string */
        char *message;      /* NULL for "" */

        bool queued;  /* in ipam->unsatisfied */
        bool waiting; /* in ipam->waiting */

        /* journal.c: bookkeeping of the operation in progress (reconcile.c
         * reads released and touched) */
        bool touched;
        size_t n_before;
        struct ipaddr *before; /* before_inline when it fits */
        struct ipaddr before_inline[2];
        bool before_evaluated, before_satisfied;
        char *before_reason;
        char *before_message;
        GArray *released; /* struct released_ip: hints and event reasons */
};

/* journal.c: the operation in progress and what it leaves for the shell */
struct ipam_journal {
        GPtrArray *touched_services; /* struct ipam_svc *, touched by this operation */
        GPtrArray *touched_pools;    /* struct ipam_pool * */
        GHashTable *dirty_services;  /* key → NULL */
        GHashTable *dirty_pools;     /* name → NULL */
        GQueue *events;              /* struct ipam_event * */
};

struct ipam {
        struct ipam_options o;
        bool started;
        bool active; /* started and a pool has been seen */

        GHashTable *pools; /* name → struct ipam_pool * */
        /* index.c */
        GPtrArray *pool_order;     /* allocation order (pool_cmp_order) */
        GPtrArray *ranges_by_addr; /* every range by (family, from) */
        u128 *max_to;              /* running maximum of to per family, per entry above */
        GHashTable *by_label;      /* key=value → GPtrArray of pools filed under it */
        GPtrArray *unindexed;      /* pools the label index cannot narrow, in order */
        GPtrArray *scratch_find;   /* reused by the lookups of allocate.c */
        GPtrArray *scratch_ranges;

        GHashTable *services;       /* key → struct ipam_svc * */
        GTree *by_age;              /* struct ipam_svc * (created, namespace, name) */
        GTree *unsatisfied;         /* same order: managed services not satisfied */
        GTree *waiting;             /* same order: those of them with a sharing key, whose chances
                                     * depend on other services' groups */
        GTree *allocs;              /* struct ipaddr * → struct ipam_alloc * */
        GHashTable *by_sharing_key; /* key → GPtrArray of struct ipam_alloc * */
        uint64_t next_filed;        /* ipam_alloc.filed of the next group filed */

        /* the operation in progress */
        bool capacity_changed; /* an address was released: retry unsatisfied services */
        bool groups_changed;   /* a sharing group changed: retry the waiting ones */
        struct ipam_journal journal;
};

/* service.c */
/* Services oldest first: creationTimestamp, namespace, name. */
gint svc_age_cmp(gconstpointer a, gconstpointer b, gpointer userdata);
bool svc_holds(const struct ipam_svc *svc, const struct ipaddr *ip);
bool svc_holds_family(const struct ipam_svc *svc, int family);
enum ipam_service_action svc_action(const struct ipam *ipam, const struct ipam_svc *svc);
/* The IPAMRequestSatisfied condition svc should show (strings borrowed). */
void svc_desired_condition(const struct ipam_svc *svc, struct k8s_condition *ret);
/* The API shows what svc should show (or svc is not ours to write). */
bool svc_in_sync(const struct ipam *ipam, const struct ipam_svc *svc);

/* journal.c */
void journal_init(struct ipam_journal *j);
void journal_done(struct ipam_journal *j);
/* Before the first change of an operation (no-op until the core is active). */
void journal_touch_service(struct ipam *ipam, struct ipam_svc *svc);
/* At the restart the "before" is what the API shows. */
void journal_touch_service_observed(struct ipam *ipam, struct ipam_svc *svc);
void journal_touch_pool(struct ipam *ipam, struct ipam_pool *pool);
/* svc let go of ip (why: for the Event; the address is an adoption hint). */
void journal_record_released(struct ipam_svc *svc, const struct ipaddr *ip, const char *why);
bool journal_released_has(const struct ipam_svc *svc, const struct ipaddr *ip);
/* Frees the service's bookkeeping of the operation. */
void journal_service_clear(struct ipam_svc *svc);
/* Before a service or pool is freed. */
void journal_forget_service(struct ipam *ipam, struct ipam_svc *svc);
void journal_forget_pool(struct ipam *ipam, struct ipam_pool *pool);
void journal_event(struct ipam *ipam, bool pool, const char *namespace, const char *name,
                   bool warning, const char *reason, const char *fmt, ...) _printf_(7, 8);
/* Into the dirty set, once active, whatever its state (the shell asks). */
void journal_mark_service(struct ipam *ipam, struct ipam_svc *svc);
void journal_mark_pool(struct ipam *ipam, struct ipam_pool *pool);
/* Events and dirty marks of every touched object; clears the marks. */
void journal_end(struct ipam *ipam);

/* index.c */
void index_init(struct ipam *ipam);
void index_done(struct ipam *ipam);
/* After any pool is added, deleted or changes its spec. */
void index_rebuild(struct ipam *ipam);
/* Appends the ranges containing ip, in allocation order of their pools. */
void index_ranges_containing(const struct ipam *ipam, const struct ipaddr *ip, GPtrArray *out);
/* Appends the pools that may select a service with these labels (a
 * superset: check pool_selects), in allocation order. */
void index_candidate_pools(const struct ipam *ipam, const struct labels *l, GPtrArray *out);

/* allocate.c */
gint ipaddr_tree_cmp(gconstpointer a, gconstpointer b, gpointer userdata);
struct ipam_alloc *alloc_lookup(const struct ipam *ipam, const struct ipaddr *ip);
void alloc_new(struct ipam *ipam, struct ipam_range *origin, const struct ipaddr *ip,
               struct ipam_svc *svc);
void alloc_join(struct ipam *ipam, struct ipam_alloc *a, struct ipam_svc *svc);
/* svc lets go of a (why: for the Event); the address is freed with the
 * last member. */
void alloc_leave(struct ipam *ipam, struct ipam_alloc *a, struct ipam_svc *svc, const char *why);
void alloc_reindex(struct ipam *ipam, struct ipam_alloc *a);
/* Why svc may not join a's sharing group, or NULL. */
const char *alloc_incompatible(const struct ipam_alloc *a, const struct ipam_svc *svc);
/* The lowest free address for svc in the allocation order: 0, -ENOSPC
 * (matching pools are full) or -ENOENT (no matching pool). */
int alloc_find_free(const struct ipam *ipam, const struct ipam_svc *svc, int family,
                    struct ipam_range **ret_range, u128 *ret_v);
/* An existing group svc can join for this family, by sharing key (a usable
 * pool selecting svc contains its address): the first created, as Cilium. */
struct ipam_alloc *alloc_find_shared(const struct ipam *ipam, const struct ipam_svc *svc,
                                     int family);
/* The usable range granting a requested address; *ret_unselected when a
 * usable range contains it but its pool does not select svc. */
struct ipam_range *alloc_range_for_request(const struct ipam *ipam, const struct ipam_svc *svc,
                                           const struct ipaddr *ip, bool *ret_unselected);
/* A range in which svc may keep an address it already shows: usable pools
 * first, then disabled or marked ones (they keep existing allocations). */
struct ipam_range *alloc_range_for_adoption(const struct ipam *ipam, const struct ipam_svc *svc,
                                            const struct ipaddr *ip);
/* Takes every address allocated inside a new range out of its free set. */
void alloc_prepare_range(struct ipam *ipam, struct ipam_range *range);
/* Releases every allocation whose origin is range. */
void alloc_release_range(struct ipam *ipam, struct ipam_range *range, const char *why);
bool alloc_held_cb(const struct ipam_range *range, u128 v, void *userdata);

/* reconcile.c */
void svc_strip(struct ipam *ipam, struct ipam_svc *svc);
void svc_adopt(struct ipam *ipam, struct ipam_svc *svc);
void svc_satisfy(struct ipam *ipam, struct ipam_svc *svc);
void svc_release_all(struct ipam *ipam, struct ipam_svc *svc, const char *why);
/* The service stopped qualifying: release everything, forget its condition. */
void svc_set_unmanaged(struct ipam *ipam, struct ipam_svc *svc, const char *why);
/* Files the service in (or out of) the unsatisfied and waiting sets. */
void svc_queue_set(struct ipam *ipam, struct ipam_svc *svc, bool unsatisfied);
void svc_unqueue(struct ipam *ipam, struct ipam_svc *svc);
/* Adopt, then satisfy, every unsatisfied service, oldest first. */
void reconcile_unsatisfied(struct ipam *ipam);
/* After a sharing group changed: satisfy the waiting services again until
 * nothing changes (their reasons and chances depend on the groups). */
void reconcile_waiting(struct ipam *ipam);
/* Strip every service after a pool change, then reconcile_unsatisfied. */
void reconcile_all(struct ipam *ipam);
/* The restart import: adopt everything, then allocate. */
void reconcile_start(struct ipam *ipam);
