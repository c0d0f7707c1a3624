/* The LB-IPAM core: which LoadBalancer IPs each Service gets from the
 * CiliumLoadBalancerIPPools, and the status the operator must write.
 *
 * Pure: no I/O, no clock, no globals. The operator shell feeds it the typed
 * objects its informers deliver (the core copies what it needs; the caller
 * keeps ownership of its objects) and reads back decisions:
 *
 *   ipam = ipam_new(&options);
 *   ipam_pool_upsert(ipam, pool, &error) / ipam_pool_delete(ipam, name)
 *   ipam_service_upsert(ipam, svc)       / ipam_service_delete(ipam, ns, name)
 *   ipam_start(ipam)                     once both caches have synced
 *   ipam_take_dirty(ipam, &dirty)        what to look at after any input
 *   ipam_service_status(ipam, ns, name, &st) / ipam_pool_status(ipam, name, &st)
 *   ipam_event_pop(ipam, &event)         Kubernetes Events to publish
 *
 * Before ipam_start() inputs are only recorded. ipam_start() performs the
 * restart import (existing ingress IPs are adopted before anything new is
 * allocated; see docs/lbipam.md) — and, like Cilium, the core stays dormant
 * until the first pool exists: while dormant no service is touched. After
 * that every input is processed at once and deterministically: the same
 * sequence of inputs always gives the same IPs.
 *
 * Dirty objects are those whose desired status differs from the status the
 * core last saw in an upsert of that object (or that changed since). The
 * shell patches them, and its own patches come back as upserts that make
 * them clean again. Desired conditions carry no lastTransitionTime: use
 * k8s_conditions_merge() (api/conditions.h) to merge them into the object's
 * conditions with the shell's clock.
 *
 * Leader election: a standby replica may feed a core all along but must not
 * start it; when it becomes leader it calls ipam_start() (the restart import
 * on warm caches). A replica that loses leadership throws its core away and
 * feeds a new one.
 *
 * Memory exhaustion aborts (GLib's policy); every other failure is an error
 * value or a reason in a condition. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/objects.h"
#include "lib/addr.h"

#define IPAM_CONDITION_SATISFIED "cilium.io/IPAMRequestSatisfied"
#define IPAM_CONDITION_TOTAL     "cilium.io/IPsTotal"
#define IPAM_CONDITION_AVAILABLE "cilium.io/IPsAvailable"
#define IPAM_CONDITION_USED      "cilium.io/IPsUsed"
#define IPAM_CONDITION_CONFLICT  "cilium.io/PoolConflict"

/* l2lb's pool priority (beyond Cilium): higher first, default 0. */
#define IPAM_ANNOTATION_PRIORITY "lbipam.l2lb.io/priority"

#define IPAM_CLASS_L2  "io.cilium/l2-announcer"
#define IPAM_CLASS_BGP "io.cilium/bgp-control-plane"

struct ipam_options {
        bool enable_ipv4;
        bool enable_ipv6;
        bool l2_announcements;  /* handle loadBalancerClass io.cilium/l2-announcer */
        bool bgp_control_plane; /* handle loadBalancerClass io.cilium/bgp-control-plane */
        bool default_lbipam;    /* default-lb-service-ipam=lbipam: handle services without class */
};

struct ipam;

struct ipam *ipam_new(const struct ipam_options *o);
void ipam_free(struct ipam *ipam);

/* A pool update whose blocks, selector or priority annotation are invalid
 * is rejected as a whole: the pool keeps running on its previous good spec
 * with its allocations (a pool never accepted has no blocks and selects
 * nothing). Returns -EINVAL and the reason in *ret_error (may be NULL; free()
 * it); the reason also stays in the pool's status (.error) and an
 * "InvalidSpec" Event is queued when it changes. Retrying the same object
 * gives the same answer: wait for the next version. */
int ipam_pool_upsert(struct ipam *ipam, const struct k8s_ippool *pool, char **ret_error);
int ipam_pool_delete(struct ipam *ipam, const char *name);
int ipam_service_upsert(struct ipam *ipam, const struct k8s_service *svc);
int ipam_service_delete(struct ipam *ipam, const char *namespace, const char *name);

/* Both informers have synced: import existing allocations, then allocate. */
int ipam_start(struct ipam *ipam);
/* Started and at least one pool seen: services are being handled. */
bool ipam_active(const struct ipam *ipam);

struct ipam_ref {
        char *namespace;
        char *name;
};

struct ipam_dirty {
        size_t n_services;
        struct ipam_ref *services; /* sorted by namespace, name */
        size_t n_pools;
        char **pools; /* sorted */
};

/* Moves the dirty sets out (the core forgets them). */
void ipam_take_dirty(struct ipam *ipam, struct ipam_dirty *ret);
void ipam_dirty_done(struct ipam_dirty *d);
/* A status patch failed (conflict, network): hand the object out again at
 * the next take. Unknown objects are ignored. */
void ipam_service_mark_dirty(struct ipam *ipam, const char *namespace, const char *name);
void ipam_pool_mark_dirty(struct ipam *ipam, const char *name);

enum ipam_service_action {
        IPAM_SERVICE_IGNORE, /* not ours (or dormant): touch nothing */
        IPAM_SERVICE_WRITE,  /* set status.loadBalancer.ingress to ips and our condition */
        IPAM_SERVICE_CLEAR,  /* no longer ours: remove our condition and every ingress entry */
};

struct ipam_service_status {
        enum ipam_service_action action;
        size_t n_ips;
        char **ips; /* {ip} entries in this order: IPv4 before IPv6, ascending */
        /* IPAM_SERVICE_WRITE: type cilium.io/IPAMRequestSatisfied, status,
         * reason, message, observed_generation; no last_transition_time */
        struct k8s_condition condition;
};

/* Unknown services give IPAM_SERVICE_IGNORE. */
void ipam_service_status(const struct ipam *ipam, const char *namespace, const char *name,
                         struct ipam_service_status *ret);
void ipam_service_status_done(struct ipam_service_status *st);
/* The service's ingress already equals st->ips, in order and {ip} only. */
bool ipam_service_ingress_equal(const struct k8s_service *svc,
                                const struct ipam_service_status *st);

#define IPAM_POOL_CONDITIONS 4

struct ipam_pool_status {
        bool known;
        /* IPsTotal, IPsAvailable, IPsUsed, PoolConflict (in this order) */
        struct k8s_condition conditions[IPAM_POOL_CONDITIONS];
        struct bigcount total, available, used;
        bool conflicting;
        char *error;   /* the last update was rejected: why (NULL if it was accepted) */
        char *warning; /* accepted but probably not what was meant (no blocks) */
        int32_t priority;
};

void ipam_pool_status(const struct ipam *ipam, const char *name, struct ipam_pool_status *ret);
void ipam_pool_status_done(struct ipam_pool_status *st);

/* Kubernetes Events for the shell to publish (beyond Cilium). */
struct ipam_event {
        bool pool;       /* about a pool (name) rather than a service (namespace/name) */
        char *namespace; /* NULL for pools */
        char *name;
        bool warning; /* type Warning rather than Normal */
        /* IPAllocated, IPReleased, IPAMRequestUnsatisfied, InvalidAnnotation,
         * InvalidSpec, PoolConflict, PoolConflictResolved */
        char *reason;
        char *message;
};

/* Returns true and fills *ret (free with ipam_event_done) while events remain. */
bool ipam_event_pop(struct ipam *ipam, struct ipam_event *ret);
void ipam_event_done(struct ipam_event *e);

/* Introspection for the CLI and tests. */
size_t ipam_n_services(const struct ipam *ipam);
size_t ipam_n_allocations(const struct ipam *ipam);
/* Free intervals kept over all ranges (memory accounting). */
size_t ipam_n_free_intervals(const struct ipam *ipam);
/* Who holds ip: number of services sharing it (0: free), and the pool. */
size_t ipam_ip_holders(const struct ipam *ipam, const char *ip, const char **ret_pool);
