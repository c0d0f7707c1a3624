/* Random fault schedules run in the simulation (sim.h), for goal 2 of
 * issue 12: never two answerers for one address, and no covered address
 * unanswered for longer than the failover bound, through kill -9,
 * SIGSTOP/SIGCONT, restarts, store partitions (both ways and one way),
 * apiserver restarts, link loss, dropped frames, nodes joining and leaving,
 * cordons, and churn of services, shared addresses, policies and endpoints,
 * under random per-agent latencies and jitter.
 *
 * Schedule `seed` is a pure function of the seed: 3-5 agents (sometimes one
 * more joining later), 10-50 services, 60-120 s simulated; every fault ends
 * 15 s before the end. A failing schedule is replayed with its seed alone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "announce/announce.h"

struct sim_sweep_result {
        size_t schedules;
        size_t violations;       /* double answers, all schedules */
        size_t long_gaps;        /* covered addresses unanswered > bound */
        size_t failed_schedules; /* with either */
        uint64_t simulated;      /* µs simulated in all */
        uint64_t faults;         /* fault and churn actions applied */
        /* The first schedule with a double answer, and the first with a
         * long gap: what failed, its seed and fault script (NULL: none). */
        uint32_t violation_seed;
        char *violation_report;
        uint32_t gap_seed;
        char *gap_report;
};

/* Fault classes left out of the schedules (an election's known limits). */
enum {
        /* An address moved from one service to another: with one lease per
         * service, the new service's holder may see both changes before the
         * old one's holder sees the first (a double answer for the
         * difference of their watch latencies). */
        SIM_SWEEP_NO_ADDRESS_MOVES = 1 << 0,
        /* A partition losing the agent's responses but not its watch: with
         * one lease per service, the holder keeps renewing successfully
         * without knowing it, silent, and nobody takes over until it heals. */
        SIM_SWEEP_NO_LOST_RESPONSES_WITH_WATCH = 1 << 1,
        /* Services sharing an address: with one lease per service only the
         * canonical (lowest-named) service's lease is contested, so an
         * address of another service of the group stays unanswered while
         * no live node is a candidate for the canonical service, even when
         * some are for the service that has the address. */
        SIM_SWEEP_NO_SHARED_ADDRESSES = 1 << 2,
};

/* Runs schedules seed, seed + 1, ..., seed + n - 1 with the given election
 * (flags: SIM_SWEEP_* classes left out).
 * verbose: print one line per schedule. Free r with sim_sweep_result_done. */
void sim_sweep(enum announce_election mode, unsigned flags, uint32_t seed, size_t n, bool verbose,
               struct sim_sweep_result *r);
void sim_sweep_result_done(struct sim_sweep_result *r);
/* The failing schedule `seed` with every fault and churn action left out
 * that it still fails without (the same way: a violation, or long gaps
 * only): its report, or NULL if it passes. */
char *sim_sweep_minimize(enum announce_election mode, unsigned flags, uint32_t seed);
