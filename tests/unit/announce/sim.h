/* A discrete-event simulation of several agents' cores against one
 * in-memory Lease store (harness.h's fake_api), for the properties that only
 * show with several nodes: balance, failover time, API request rate, and
 * safety (never two nodes answering for one address).
 *
 * Each agent has its own monotonic clock (an offset from the global clock),
 * so mixing clocks would show. Requests reach the store after a latency,
 * results come back after another; every change fans out to every agent's
 * watch in order (per-agent FIFO) after a latency. A killed agent processes
 * nothing more, but its responder entries keep answering until their
 * deadlines, as the BPF map does; a frozen agent queues its events and
 * processes them when thawed.
 *
 * Monitors, checked at every event: `violations` counts instants where two
 * agents answer for one address; with `watch_gaps` set, `gaps` counts
 * addresses that stopped being answered by anyone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

struct sim_params {
        uint64_t req_latency;   /* client → store */
        uint64_t resp_latency;  /* store → client */
        uint64_t watch_latency; /* store → each watch */
        uint64_t jitter;        /* uniform [0, jitter) added to each of them */
        uint32_t seed;
        struct announcer_config cfg; /* node_name is set per agent */
};

struct sim_event;

struct sim_agent {
        char *name;
        struct announcer *a;
        int64_t mono_offset;
        bool started;
        bool dead;
        bool frozen;
        struct sim_event **backlog; /* events while frozen */
        size_t n_backlog;
        struct announce_entry *entries; /* applied; deadlines in this agent's clock */
        size_t n_entries;
        uint64_t wake_at; /* global */
        uint64_t watch_last;
        uint64_t requests[3]; /* by op, counted when they reach the store */
        uint64_t runs;
};

struct sim {
        struct sim_params p;
        uint64_t now;
        int64_t wall0;
        struct fake_api api;
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
        /* writes to a lease another agent held in the store when the request
         * arrived (acquisitions of expired leases; none in steady state) */
        uint64_t foreign_writes;
        /* node-heartbeat: writes to shards, to other nodes' heartbeats
         * (fences) and to cilium-l2announce Leases (compat) */
        uint64_t shard_writes, fence_writes, compat_writes;
        char **policies; /* fed so far, replayed into restarted agents */
        char **services; /* "ns\nname\nexternalIPs JSON" */
};

struct sim_params sim_default_params(void);
void sim_init(struct sim *s, const struct sim_params *p, size_t n_agents);
void sim_done(struct sim *s);
/* Feeding objects to every agent. */
void sim_policy(struct sim *s, const char *json);
void sim_service(struct sim *s, const char *ns, const char *name, const char *ext);
/* Node objects of every agent (Ready, schedulable) to every agent, and one
 * up device "net0" (ifindex 3) on each. */
void sim_nodes(struct sim *s);
void sim_node(struct sim *s, const char *name, bool ready, bool unschedulable);
void sim_device(struct sim *s, size_t agent, const char *name, int ifindex, bool up);
/* Mark every agent synced and schedule its first run within [0, spread). */
void sim_start(struct sim *s, uint64_t spread);
void sim_start_agent(struct sim *s, size_t agent, uint64_t at);
void sim_run_until(struct sim *s, uint64_t t);
void sim_kill(struct sim *s, size_t agent);
void sim_freeze(struct sim *s, size_t agent);
void sim_thaw(struct sim *s, size_t agent);
/* SIGTERM without release (one last renewal, entries stay pinned), then a
 * new process after `down` that lists everything and re-adopts. */
void sim_restart(struct sim *s, size_t agent, uint64_t down);

size_t sim_held_by(struct sim *s, size_t agent);
/* Index of the holder of a lease in the store, or -1. */
int sim_holder(struct sim *s, const char *lease);
uint64_t sim_requests(const struct sim *s);
void sim_reset_requests(struct sim *s);
