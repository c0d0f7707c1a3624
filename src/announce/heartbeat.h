/* The node-heartbeat election (docs/l2announce.md, "Node-heartbeat
 * election"): this node's heartbeat Lease, the views of the other nodes'
 * heartbeats, the ANNOUNCE_SHARDS binding shards, and the compatibility
 * cilium-l2announce-* Leases; one run's decisions from them.
 *
 * Node n answers ip x iff (1) n is registered: its last successful
 * heartbeat write put holder n with epoch e_n, and the gate (that write's
 * send time + lifetime) has not passed; (2) the newest version of x's shard
 * n has seen binds x to (n, e_n, uid8 of n's heartbeat); (3) n is a local
 * candidate of a selected service announcing x. The coordinator (the
 * lowest-named node whose heartbeat is alive) fences heartbeats left
 * unchanged for their lease duration and places unbound addresses; owners
 * hand addresses over themselves (no longer wanted, rebalance). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "announce.h"
#include "api/objects.h"
#include "bindings.h"

struct announcer;
struct model;

/* A Lease of the election as last seen (watch or our own write's result). */
struct hb_obj {
        bool present;
        char *rv;
        char *holder;
        int32_t transitions;
        int32_t duration_s;
        char uid8[ANNOUNCE_UID8 + 1];
        char *acquire_time;
        char *annotation;     /* candidacy (heartbeat) or bindings (shard), NULL if absent */
        uint64_t observed_at; /* local monotonic time this version was first seen */
};

/* A heartbeat Lease (any node's, ours included). */
struct hb_peer {
        char *lease;
        struct hb_obj o;
        char **candidacy;    /* parsed policy names, NULL-terminated (NULL: none) */
        bool pending;        /* a fence (or, for our own, any write) in flight */
        uint64_t live_until; /* its last version naming its node goes stale then (0: none) */
        uint64_t retry_at;
        char *conflict_rv; /* a write at this resourceVersion conflicted */
};

struct hb_shard {
        struct hb_obj o;
        struct bindings b;
        size_t n_bad; /* malformed parts of this version */
        /* written or deleted outside the protocol (malformed, gone): no
         * placement before then, so that every node has seen it */
        uint64_t blocked_until;
        bool exists_unknown; /* a create met AlreadyExists; the watch will tell */
        bool pending;
        uint64_t pending_id; /* the write in flight */
        char *pending_base;  /* the version it is based on (NULL: a create) */
        uint64_t retry_at;
        char *conflict_rv;
        struct ipaddr *moving; /* our addresses the pending write hands away */
        size_t n_moving;
};

/* A compatibility cilium-l2announce-* Lease. */
struct hb_compat {
        struct hb_obj o;
        bool exists_unknown;
        bool pending;
        uint64_t retry_at;
        char *conflict_rv;
};

struct hb_self {
        bool registered;
        int32_t epoch;
        char uid8[ANNOUNCE_UID8 + 1];
        uint64_t last_ok_sent;
        uint64_t gate;        /* entries answer until then */
        bool adopt;           /* renew at once (first run after a restart) */
        char *sent_candidacy; /* candidacy carried by our last successful write */
        bool conflict;        /* our last write conflicted; waiting for the watch */
        char *conflict_base;
        uint64_t conflict_sent;
        int32_t conflict_epoch;
        bool released;       /* shutdown release sent */
        uint64_t pending_id; /* our heartbeat write in flight (0: none) */
        /* Our writes based on one version (retries after errors): only one
         * of them can land, and a version the watch shows may be any of
         * them, so it counts from the first one's send time. */
        char *base_rv;
        uint64_t base_first_sent;
        uint64_t alive_since; /* first registration of this process (0: not yet) */
        const char *stop_reason;
};

struct hb {
        char *self_lease;
        uint64_t duration;        /* the sanitised lease duration (µs) */
        GHashTable *peers;        /* heartbeat lease name → struct hb_peer */
        GHashTable *peer_by_node; /* node name → its struct hb_peer or NULL (memo) */
        GHashTable *compat;       /* lease name → struct hb_compat */
        struct hb_shard shards[ANNOUNCE_SHARDS];
        GHashTable *pending; /* action id → struct hb_pending */
        struct hb_self self;
        GHashTable *answering;    /* service key set: answered as of the last run */
        GHashTable *answered_ips; /* struct ipaddr set: answered as of the last run */
        size_t n_answered;
        uint64_t last_rebalance;
        bool rebalance_pending;
        bool coordinator;
        size_t rank; /* among live candidates by name (0: the coordinator; SIZE_MAX: none) */
        /* struct ipaddr → (uint64_t *) local time since which a
         * wanted address has had no live binding in our view */
        GHashTable *unplaced;
        size_t n_live;
        char **malformed; /* messages to report as events at the next run */
};

struct hb *hb_new(const char *node, uint64_t duration);
void hb_free(struct hb *h);

/* Leases of the heartbeat, shard or compat prefix; returns whether a run
 * may decide anything new (false for other leases, and for the renewal of
 * a live peer's heartbeat that changes nothing but its time). */
bool hb_upsert_lease(struct announcer *a, const struct k8s_lease *l, uint64_t now);
bool hb_remove_lease(struct announcer *a, const char *name, uint64_t now);
/* The result of one of our writes; false if id is not ours. */
bool hb_lease_result(struct announcer *a, uint64_t id, enum announce_write_result r,
                     const struct k8s_lease *l, uint64_t now);
/* One run (announcer_run in node-heartbeat mode; the model is up to date). */
void hb_run(struct announcer *a, uint64_t now, int64_t wall, struct announce_decisions *out);

int hb_leases(struct announcer *a, uint64_t now, struct announce_lease_info **ret, size_t *ret_n);
size_t hb_n_held(const struct announcer *a, uint64_t now);
size_t hb_n_unannounced(struct announcer *a, uint64_t now);
int hb_info(struct announcer *a, uint64_t now, struct announce_heartbeat_info *ret);
