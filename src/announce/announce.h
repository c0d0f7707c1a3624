/* The L2 announcement core: which service IPs this node answers ARP/NDP for,
 * and the Lease writes that make it the one node that does. Pure: no I/O, no
 * clock reads, no globals. See docs/l2announce.md for the rules.
 *
 * How the agent shell drives it:
 *
 *   1. announcer_new() with the configured timings (the core sanitises them;
 *      announcer_timing() gives the effective values back).
 *   2. Feed the initial lists: policies, services, endpoint slices, all nodes,
 *      Leases of the lease namespace (with the local monotonic time they were
 *      listed), this node's devices, and the responder entries found pinned
 *      in the BPF map (announcer_add_pinned_entry). Then announcer_set_synced().
 *   3. announcer_run(now_mono, now_wall) → decisions. Apply them in this
 *      order: (a) reconcile the responder map with `entries` (the full
 *      desired set; an entry answers until its deadline), (b) send the
 *      gratuitous announcements, (c) send the lease actions (each with its
 *      id), (d) patch policy statuses, (e) log/publish events, (f) arm a timer
 *      at next_wakeup (accuracy ~1 ms; renewals are scheduled tightly).
 *      Entries must be applied before lease actions: a release only hands a
 *      lease over once this node has fallen silent.
 *   4. On every watch event, device change, write result
 *      (announcer_lease_result: every action gets exactly one result, a
 *      timeout counts as ANNOUNCE_LEASE_ERROR) or timer expiry: feed it, then run again.
 *      Runs are cheap when nothing changed; the model is rebuilt only when an
 *      object other than a Lease changed.
 *   5. SIGTERM: announcer_renew_all_now() (or announcer_release_all() with
 *      --release-on-shutdown), run, send, wait briefly for the results, feed
 *      them, run once more and apply its entries, exit.
 *
 * Monotonic times (µs) are CLOCK_MONOTONIC; the map's deadlines are
 * CLOCK_BOOTTIME ns (responder_deadline_from_monotonic_usec). Wall times (µs
 * since the epoch) are only written into Lease timestamps and condition
 * transition times. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/objects.h"
#include "lib/addr.h"

struct announcer;
struct timing; /* announce/timing.h */

/* l2-announcements-election: how the one answering node of each address is
 * chosen (docs/l2announce.md).
 *
 * NODE_HEARTBEAT (default): one heartbeat Lease per node
 * (ANNOUNCE_HEARTBEAT_PREFIX + node), renewed by its agent; the binding of
 * each address to a node lives in ANNOUNCE_SHARDS Leases
 * (ANNOUNCE_SHARD_PREFIX + index, bindings in the ANNOUNCE_ANNOTATION_BINDINGS
 * annotation) and changes only when the address must move. The
 * cilium-l2announce-* Leases are written after a move, best effort, for
 * kubectl readers, and never read for decisions.
 *
 * LEASE_PER_SERVICE: one client-go style Lease per service (or shared-address
 * group), as Cilium does. */
enum announce_election {
        ANNOUNCE_ELECTION_NODE_HEARTBEAT,
        ANNOUNCE_ELECTION_LEASE_PER_SERVICE,
};

#define ANNOUNCE_LEASE_PREFIX         "cilium-l2announce-"
#define ANNOUNCE_HEARTBEAT_PREFIX     "l2lb-node-"
#define ANNOUNCE_SHARD_PREFIX         "l2lb-assign-"
#define ANNOUNCE_ANNOTATION_BINDINGS  "l2lb.io/bindings"
#define ANNOUNCE_ANNOTATION_CANDIDACY "l2lb.io/candidacy"
/* Binding shards l2lb-assign-0 .. l2lb-assign-15 (node-heartbeat election). */
#define ANNOUNCE_SHARDS 16

/* "node-heartbeat", "lease-per-service". */
const char *announce_election_to_string(enum announce_election e);
/* The enum value, or -EINVAL. */
int announce_election_from_string(const char *s);

struct announcer_config {
        const char *node_name;
        enum announce_election election;
        const char *lease_namespace;
        uint64_t lease_duration; /* µs; sanitised here as Cilium does */
        uint64_t renew_deadline;
        uint64_t retry_period;
        bool enable_external_ips;
        /* l2-announcements-external-ips-cidrs: CIDRs an external IP must be
         * in to be announced; NULL or empty: none is. announcer_new() fails
         * with -EINVAL on an entry that is not a CIDR. */
        char *const *external_ips_cidrs;
        bool enable_ipv4;
        bool enable_ipv6;
        /* The `devices` option: names, "prefix+" wildcards. NULL or empty:
         * every device the shell reports. */
        char *const *devices;
};

struct announcer_device {
        const char *name;
        int ifindex;
        uint8_t mac[6];
        bool up; /* carrier (IFF_LOWER_UP) */
};

enum announce_lease_op {
        ANNOUNCE_LEASE_CREATE, /* POST; 409 AlreadyExists → ANNOUNCE_LEASE_CONFLICT */
        ANNOUNCE_LEASE_UPDATE, /* PUT with body's resourceVersion; 409 → CONFLICT, 404 → NOT_FOUND
                                */
        ANNOUNCE_LEASE_DELETE, /* DELETE with preconditions.resourceVersion */
};

enum announce_write_result {
        ANNOUNCE_LEASE_OK,
        ANNOUNCE_LEASE_CONFLICT,
        ANNOUNCE_LEASE_NOT_FOUND,
        ANNOUNCE_LEASE_ERROR,
};

struct announce_lease_action {
        uint64_t id;
        enum announce_lease_op op;
        char *name;             /* Lease name, in the configured namespace */
        char *resource_version; /* UPDATE: also in the body; DELETE: precondition */
        json_t *body;           /* CREATE/UPDATE: the Lease; NULL for DELETE */
        const char *reason;     /* "acquire", "renew", "re-adopt", "release", "gc", ... */
        /* Best effort (the compatibility cilium-l2announce Leases of the
         * node-heartbeat election): sent with KUBE_CALL_LOW, after every
         * other request. Otherwise the write is time-critical and goes with
         * KUBE_CALL_PRIORITY. */
        bool low_priority;
};

struct announce_entry {
        struct ipaddr ip;
        int ifindex;
        uint64_t deadline; /* monotonic µs: stop answering then */
};

struct announce_garp {
        struct ipaddr ip; /* AF_INET: ARP request + reply; AF_INET6: unsolicited NA */
        int ifindex;
};

struct announce_policy_status {
        char *policy;
        struct k8s_conditions conditions; /* the whole status.conditions to write */
};

enum announce_event_kind {
        ANNOUNCE_STARTED,
        ANNOUNCE_STOPPED,
        /* node-heartbeat: an election Lease carries an annotation (or an entry
         * of one) that does not parse; it binds nothing (service NULL, lease
         * the Lease, detail what is wrong). Reported once per version. */
        ANNOUNCE_MALFORMED,
};

struct announce_event {
        enum announce_event_kind kind;
        char *service; /* namespace/name, or the lease name if the service is gone */
        char *lease;
        const char *reason;
        char *detail; /* ANNOUNCE_MALFORMED: the parse error; else NULL */
};

struct announce_decisions {
        struct announce_lease_action *actions;
        size_t n_actions;
        struct announce_entry *entries; /* full desired set, sorted */
        size_t n_entries;
        struct announce_garp *garps;
        size_t n_garps;
        struct announce_policy_status *statuses;
        size_t n_statuses;
        struct announce_event *events;
        size_t n_events;
        uint64_t next_wakeup; /* monotonic µs; UINT64_MAX: nothing scheduled */
};

/* Whether the `devices` option lists name (exactly, or by a "prefix+"
 * wildcard). An empty or NULL list names nothing. */
bool announce_devices_list(char *const *devices, const char *name);

/* Kubernetes' label excluding a node from external load balancers. */
#define ANNOUNCE_EXCLUDE_LABEL "node.kubernetes.io/exclude-from-external-load-balancers"

/* Whether a Node with these labels is excluded from announcing, as the
 * Kubernetes service controller reads the label: present with any value
 * except one Go's strconv.ParseBool reads as false ("0", "f", "F", "false",
 * "False", "FALSE"). Such a node announces nothing and is no candidate. */
bool announce_node_excluded(const struct labels *node_labels);

/* Returns 0 (allocation failure aborts, see lib/util.h). */
int announcer_new(const struct announcer_config *c, struct announcer **ret);
void announcer_free(struct announcer *a);

/* Objects are copied; the caller keeps ownership of its arguments. The int
 * ones fail only if copying the object's labels, selectors or conditions
 * does. */
void announcer_upsert_policy(struct announcer *a, const struct k8s_l2policy *p);
void announcer_remove_policy(struct announcer *a, const char *name);
void announcer_upsert_service(struct announcer *a, const struct k8s_service *s);
void announcer_remove_service(struct announcer *a, const char *ns, const char *name);
void announcer_upsert_endpointslice(struct announcer *a, const struct k8s_endpointslice *e);
void announcer_remove_endpointslice(struct announcer *a, const char *ns, const char *name);
void announcer_upsert_node(struct announcer *a, const struct k8s_node *n);
void announcer_remove_node(struct announcer *a, const char *name);
/* Leases outside the namespace or without the prefix are ignored (node-heartbeat:
 * the heartbeat, shard and cilium-l2announce prefixes are taken).
 * observed_mono: when the shell received the event. Returns false when the
 * next run cannot decide anything new because of it (node-heartbeat: a
 * lease it ignores, a live peer's plain renewal): the shell need not run
 * for it (its armed wake-up stays valid). */
bool announcer_upsert_lease(struct announcer *a, const struct k8s_lease *l, uint64_t observed_mono);
void announcer_remove_lease(struct announcer *a, const char *name, uint64_t observed_mono);
/* A device whose MAC changed starts the gratuitous series of every address
 * announced on it again. */
void announcer_set_device(struct announcer *a, const struct announcer_device *d);
void announcer_remove_device(struct announcer *a, const char *name);
/* Before the first run after a restart: an entry found pinned in the BPF map
 * (deadline converted to monotonic µs). Entries of leases this node still
 * holds keep their deadline until the re-adoption renewal succeeds; the
 * others are dropped by the first run. */
void announcer_add_pinned_entry(struct announcer *a, const struct announce_entry *e);
/* Every initial list has been fed; until then runs decide nothing and
 * return the pinned entries unchanged. */
void announcer_set_synced(struct announcer *a);

/* The result of action id. lease: the object the API returned (required
 * for ANNOUNCE_LEASE_OK on CREATE/UPDATE), else NULL. now_mono: when it arrived. */
void announcer_lease_result(struct announcer *a, uint64_t id, enum announce_write_result r,
                            const struct k8s_lease *lease, uint64_t now_mono);

/* Shutdown. release_all: fall silent and hand every lease over (entries
 * removed, holder ""). renew_all_now: renew every held lease at once and keep
 * the entries, for a restart. Both stop new acquisitions for good. */
void announcer_release_all(struct announcer *a);
void announcer_renew_all_now(struct announcer *a);

/* Fails only if computing a policy's status conditions does. */
int announcer_run(struct announcer *a, uint64_t now_mono, int64_t now_wall,
                  struct announce_decisions *ret);
void announce_decisions_done(struct announce_decisions *d);
/* {"status":{"conditions":[...]}} for a merge patch of the status subresource. */
json_t *announce_policy_status_patch(const struct announce_policy_status *s);

/* ---- introspection (CLI, metrics) ---- */

enum announce_role {
        ANNOUNCE_ROLE_NONE,      /* not a candidate */
        ANNOUNCE_ROLE_FOLLOWER,  /* candidate, lease held elsewhere */
        ANNOUNCE_ROLE_WAITING,   /* candidate, lease free: acquiring soon (balance) */
        ANNOUNCE_ROLE_ACQUIRING, /* write in flight */
        ANNOUNCE_ROLE_HOLDER,    /* announcing */
        ANNOUNCE_ROLE_LAPSED,    /* lease carries our name but the deadline passed */
};

struct announce_lease_info {
        char *lease;
        char *service; /* NULL if no selected service maps to it */
        char *holder;  /* as last seen; "" if free, NULL if absent */
        enum announce_role role;
        bool canonical;            /* the contested lease of its shared-address group */
        uint64_t deadline;         /* holder: entries answer until then */
        uint64_t expires_at;       /* follower: when the lease expires for us */
        const char *not_candidate; /* why, when role is ANNOUNCE_ROLE_NONE */
};

struct announce_counters {
        uint64_t acquisitions;
        uint64_t renewals;
        uint64_t renew_failures;
        uint64_t releases;
        uint64_t lost; /* leases taken away or deadlines passed */
        uint64_t deletions;
        uint64_t writes; /* every lease action emitted */
        /* node-heartbeat only (acquisitions/releases/lost then count
         * addresses: bindings gained, handed over, lost to a fence or the
         * gate) */
        uint64_t fences;     /* heartbeats of silent nodes fenced by us */
        uint64_t placements; /* addresses bound by us as coordinator */
        uint64_t heartbeats; /* heartbeat writes of our own */
};

const char *announce_role_to_string(enum announce_role r);
/* Snapshot, sorted by lease name. Free with announce_lease_infos_free.
 * Returns 0. node-heartbeat: one per selected service, named by its
 * cilium-l2announce Lease; holder = the node its lowest address is bound to
 * (live binding; NULL if none), role HOLDER (we answer it), FOLLOWER (bound
 * to another node), WAITING (bound to no live node) or NONE (we are no
 * candidate); deadline = our gate when HOLDER; expires_at unused. */
int announcer_leases(struct announcer *a, uint64_t now_mono, struct announce_lease_info **ret,
                     size_t *ret_n);
void announce_lease_infos_free(struct announce_lease_info *l, size_t n);
const struct announce_counters *announcer_counters(const struct announcer *a);
/* The effective lease timings (sanitised as Cilium does; .adjusted tells
 * whether the configured ones were changed). */
const struct timing *announcer_timing(const struct announcer *a);
/* Leases this node holds and announces now (node-heartbeat: addresses this
 * node answers now). */
size_t announcer_n_held(const struct announcer *a, uint64_t now_mono);
/* Selected services with addresses whose (shared-address group's) Lease no
 * node holds now, as this node sees the Leases: free, expired, being
 * acquired, or without any candidate node. node-heartbeat: wanted addresses
 * bound to no live node (no binding, or its epoch fenced). */
size_t announcer_n_unannounced(struct announcer *a, uint64_t now_mono);

/* node-heartbeat: this node's heartbeat, for status and metrics (as of the
 * last run for coordinator and n_live). Returns 0, or -EOPNOTSUPP in
 * lease-per-service mode (*ret zeroed). */
struct announce_heartbeat_info {
        int32_t epoch;    /* leaseTransitions of our heartbeat (valid if registered) */
        bool registered;  /* our last heartbeat write succeeded and the gate is open */
        uint64_t gate;    /* monotonic µs: our entries answer until then */
        bool coordinator; /* we fence and place (the lowest-named live node) */
        size_t n_bound;   /* addresses the shards bind to our current epoch */
        size_t n_live;    /* nodes whose heartbeat is alive in our view, us included */
};
int announcer_heartbeat_info(struct announcer *a, uint64_t now_mono,
                             struct announce_heartbeat_info *ret);
