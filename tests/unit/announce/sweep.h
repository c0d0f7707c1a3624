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
        /* The first failing schedule: its seed, what failed, its script. */
        bool failed;
        uint32_t failed_seed;
        char *failed_report;
};

/* Runs schedules seed, seed + 1, ..., seed + n - 1 with the given election.
 * verbose: print one line per schedule. Free r with sim_sweep_result_done. */
void sim_sweep(enum announce_election mode, uint32_t seed, size_t n, bool verbose,
               struct sim_sweep_result *r);
void sim_sweep_result_done(struct sim_sweep_result *r);
/* The failing schedule `seed` with every fault and churn action left out
 * that it still fails without (the same way: a violation, or long gaps
 * only): its report, or NULL if it passes. */
char *sim_sweep_minimize(enum announce_election mode, uint32_t seed);
