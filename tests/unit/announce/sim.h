/* A discrete-event simulation of several agents' cores against one
 * in-memory apiserver (harness.h's fake_api for Leases, plus the Services,
 * EndpointSlices, Nodes and policies the simulation creates), for the
 * properties that only show with several nodes: balance, failover time, API
 * request rate, and safety (never two nodes answering for one address) under
 * faults. It drives the cores only through announce.h, so it runs whatever
 * election `p.cfg.election` selects.
 *
 * Each agent has its own monotonic clock (an offset from the global clock),
 * so mixing clocks would show, and its own latencies (client → store, store
 * → client, store → its watches, plus a uniform jitter). Every change fans
 * out to every agent's watch of that kind after a latency; one watch stream
 * (one kind, one agent) never reorders, but streams, write results and
 * timers interleave freely. Agents that have not started yet get objects as
 * their initial list.
 *
 * Faults:
 *  - kill (-9): the agent processes nothing more; its responder entries keep
 *    answering until their deadlines, as the BPF map does;
 *  - freeze/thaw (SIGSTOP/SIGCONT): events queue up and are processed at
 *    thaw; timers that fired meanwhile are handled by the run at thaw;
 *  - stop (SIGTERM, with or without release) and a new process later
 *    (restart), which lists everything and gets the entries left in the map
 *    as pinned entries; join (a new node: its Node object to everyone, a new
 *    process); leave (stop with release, then its Node removed);
 *  - store partitions of one agent: requests lost (each gets
 *    ANNOUNCE_LEASE_ERROR at send + client_timeout), responses lost (the
 *    write happened, the agent still gets ERROR at send + client_timeout),
 *    watch silent (events held); either or all of them. On heal the watch
 *    either resumes (the held events, in order) or relists (an upsert of
 *    every current object and a removal of every object the agent knew
 *    that is gone, as an informer's relist after a compacted history);
 *  - apiserver restart: every request fails at once (connection refused),
 *    every watch is silent; at the end every watch resumes or relists;
 *  - L2: link down (announcer_set_device up=false) or frames dropped with
 *    carrier up (invisible to the core: only the liveness monitor knows).
 *
 * Monitors:
 *  - `violations`: instants at which two agents have a live entry for one
 *    address (checked after every run, which is when entries start), plus
 *    takeovers of a lease committed while its previous holder still answers
 *    the lease's addresses;
 *  - with `watch_gaps`, `gaps`: entries that lapsed before being renewed;
 *  - with `gap_bound` non-zero, `long_gaps`: sampled every `gap_tick`, an
 *    address is *answered* when some agent (any state, frames dropped or not:
 *    the map answers) has a live entry for it. An address is *covered* while
 *    it is wanted — a service selected by a policy (externalIPs) has it —
 *    and some *healthy* agent is a candidate for every selected service that
 *    has it. Healthy: its Node exists, Ready and schedulable; its process
 *    runs (started, not killed, stopping or frozen); its requests, responses
 *    and watch all get through; the apiserver is up; its frames are not
 *    dropped. Candidate for a service: a policy selecting the service
 *    matches its Node's labels and has an interface pattern matching one of
 *    its devices with carrier (or none), and for externalTrafficPolicy Local
 *    a ready endpoint on it. (Selectors are evaluated with matchLabels only,
 *    which is all the simulation writes.) A long gap is counted once per
 *    unanswered stretch that lasts longer than gap_bound past the later of
 *    (start of the stretch, start of the current covered stretch, the last
 *    time a shard version bound it anew to an agent that was not healthy
 *    then, the last time the agent it is bound to renewed its heartbeat
 *    without being able to learn that it did: response and watch lost, or
 *    frozen, killed, stopping, and the moment the agent it is bound to
 *    stopped being healthy before it answered it): an address never counts
 *    while nobody could answer it, a fault's heal restarts its clock, and so
 *    do a placement on a node that has just failed, a renewal that lands
 *    for a node that has, and the failure of a node an address was just
 *    placed on (its heartbeat fresh: nobody can know yet; each is a failure
 *    of its own, with its own failover; docs/l2announce.md, the limitation
 *    under "Failover and API load").
 *
 * Tracing: L2LB_SIM_TRACE=<address> prints every request the store handles
 * (with that address's binding in shard bodies) and every change of who
 * answers the address. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

struct sim_params {
        uint64_t req_latency;    /* client → store */
        uint64_t resp_latency;   /* store → client */
        uint64_t watch_latency;  /* store → each watch */
        uint64_t jitter;         /* uniform [0, jitter) added to each of them */
        uint64_t client_timeout; /* a request or response lost: ERROR after this */
        uint64_t stop_grace; /* SIGTERM: how long the shell waits for results; 0: a round trip */
        uint32_t seed;
        struct announcer_config cfg; /* node_name is set per agent */
};

struct sim_event;

enum sim_watch_kind {
        SIM_LEASE,
        SIM_SERVICE,
        SIM_POLICY,
        SIM_NODE,
        SIM_SLICE,
        SIM_N_KINDS,
};

/* How a watch comes back after a partition or an apiserver restart. */
enum sim_heal {
        SIM_HEAL_RESUME, /* from the last seen resourceVersion: the held events */
        SIM_HEAL_RELIST, /* history compacted: list again */
};

struct sim_device {
        char name[16];
        int ifindex;
        bool up;
};

struct sim_agent {
        char *name;
        struct announcer *a;
        int64_t mono_offset;
        uint64_t req_latency, resp_latency, watch_latency, jitter;
        bool present; /* its node exists (false: not joined yet, or left) */
        bool started;
        bool dead;
        bool stopping; /* SIGTERM received, waiting for the last results */
        bool frozen;
        bool cut_req, cut_resp, cut_watch; /* store partition */
        bool l2_drop;                      /* frames dropped, carrier up */
        unsigned incarnation;              /* process generation */
        struct sim_device dev[2];
        size_t n_dev;
        struct sim_event **backlog; /* events while frozen */
        size_t n_backlog;
        struct sim_event **held; /* watch events while the watch is cut */
        size_t n_held;
        GHashTable *cache;              /* "kind/key" of objects its informers hold */
        struct announce_entry *entries; /* applied; deadlines in this agent's clock */
        size_t n_entries;
        uint64_t wake_at; /* global */
        uint64_t watch_last[SIM_N_KINDS];
        uint64_t requests[3]; /* by op, counted when they reach the store */
        uint64_t runs;
        bool was_healthy; /* at the long-gap monitor's last sample */
};

struct sim_gap_ip;

struct sim {
        struct sim_params p;
        uint64_t now;
        int64_t wall0;
        struct fake_api api;
        GHashTable *objects[SIM_N_KINDS]; /* key → json_t; SIM_LEASE unused (api) */
        bool api_down;
        struct sim_agent *agents;
        size_t n_agents;
        struct sim_event **heap;
        size_t n_heap;
        uint64_t seq;
        uint32_t rng;
        /* monitors */
        size_t violations;
        char violation[256];
        bool watch_gaps;
        size_t gaps;
        char gap[256];
        uint64_t gap_bound; /* 0: off */
        uint64_t gap_tick;
        uint64_t next_tick;
        bool cover_dirty;
        struct sim_gap_ip *gap_ips;
        size_t n_gap_ips;
        size_t long_gaps;
        char long_gap[256];
        /* writes to a lease another agent held in the store when the request
         * arrived (acquisitions of expired leases; none in steady state) */
        uint64_t foreign_writes;
        /* node-heartbeat: writes to shards, to other nodes' heartbeats
         * (fences) and to cilium-l2announce Leases (compat) */
        uint64_t shard_writes, fence_writes, compat_writes;
};

/* The lab timings (3s/1s/500ms), lease-per-service election, 1-2 ms
 * latencies, client timeout 2 s. */
struct sim_params sim_default_params(void);
void sim_init(struct sim *s, const struct sim_params *p, size_t n_agents);
void sim_done(struct sim *s);
/* Per-agent latencies (default: the params'). */
void sim_agent_latency(struct sim *s, size_t agent, uint64_t req, uint64_t resp, uint64_t watch,
                       uint64_t jitter);
/* Objects: stored, then fed to every present agent (initial list before it
 * started, its watch after). */
void sim_policy(struct sim *s, const char *json);
void sim_remove_policy(struct sim *s, const char *name);
void sim_service(struct sim *s, const char *ns, const char *name, const char *ext);
/* labels: JSON object or NULL; local: externalTrafficPolicy Local. */
void sim_service_full(struct sim *s, const char *ns, const char *name, const char *labels,
                      const char *ext, bool local);
void sim_remove_service(struct sim *s, const char *ns, const char *name);
/* The EndpointSlice of a service: ready endpoints on these agents (a
 * bitmask of agent indexes). */
void sim_endpoints(struct sim *s, const char *ns, const char *svc, uint32_t agents);
/* Node objects of every present agent (Ready, schedulable) to every agent,
 * and one up device "net0" (ifindex 3) on each. */
void sim_nodes(struct sim *s);
void sim_node(struct sim *s, const char *name, bool ready, bool unschedulable);
void sim_node_labels(struct sim *s, const char *name, const char *labels, bool ready,
                     bool unschedulable);
void sim_remove_node(struct sim *s, const char *name);
void sim_device(struct sim *s, size_t agent, const char *name, int ifindex, bool up);
/* Mark every present agent synced and schedule its first run within [0, spread). */
void sim_start(struct sim *s, uint64_t spread);
void sim_start_agent(struct sim *s, size_t agent, uint64_t at);
void sim_run_until(struct sim *s, uint64_t t);
void sim_kill(struct sim *s, size_t agent);
void sim_freeze(struct sim *s, size_t agent);
void sim_thaw(struct sim *s, size_t agent);
/* SIGTERM: release (announcer_release_all) or not (renew_all_now); the
 * process exits after stop_grace. */
void sim_stop(struct sim *s, size_t agent, bool release);
/* A new process on a stopped or killed agent: lists everything, pinned
 * entries = what its map still holds, synced, runs now. */
void sim_start_process(struct sim *s, size_t agent);
/* SIGTERM without release (one last renewal, entries stay pinned), then a
 * new process after `down` that lists everything and re-adopts. */
void sim_restart(struct sim *s, size_t agent, uint64_t down);
/* A node that was not present: its Node (labels: JSON object or NULL) to
 * everyone, its agent starts (with device net0 up unless devices were set). */
void sim_join(struct sim *s, size_t agent, const char *labels);
/* SIGTERM with release, then (after stop_grace) its Node removed. */
void sim_leave(struct sim *s, size_t agent);
/* Store partition of one agent (any of the three directions); heal. */
void sim_cut(struct sim *s, size_t agent, bool req, bool resp, bool watch);
void sim_heal(struct sim *s, size_t agent, enum sim_heal how);
void sim_api_down(struct sim *s);
/* how: per agent, bit i set = agent i relists, clear = resumes. */
void sim_api_up(struct sim *s, uint32_t relist_mask);
void sim_l2_drop(struct sim *s, size_t agent, bool drop);

/* Long-gap monitor: bound 0 = off. */
void sim_watch_long_gaps(struct sim *s, uint64_t bound, uint64_t tick);

size_t sim_held_by(struct sim *s, size_t agent);
/* Index of the holder of a lease in the store, or -1. */
int sim_holder(struct sim *s, const char *lease);
uint64_t sim_requests(const struct sim *s);
void sim_reset_requests(struct sim *s);
