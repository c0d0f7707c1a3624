/* Random fault schedules in the simulation (sweep.h): never two answerers
 * for one address, and no covered address unanswered longer than the lease
 * duration + 1 s. L2LB_SIM_SCHEDULES sets how many schedules per election
 * (default below: a native run of a few seconds); L2LB_SIM_SEED the first
 * seed (a failure prints the seed and its fault script: replay it with
 * L2LB_SIM_SEED=<seed> L2LB_SIM_SCHEDULES=1, or bench/announce's sim-sweep). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/util.h"
#include "sweep.h"

#define DEFAULT_SCHEDULES 20

/* The elections the sweep runs, one line each: the fault classes left out
 * for an election's known limits (sweep.h), and whether long gaps fail the
 * test (double answers always do). Lease-per-service has known liveness
 * limits (sweep.h's SIM_SWEEP_NO_* comments, and a survivor over its share
 * waiting a balance delay past the bound): its long gaps are printed only. */
static const struct {
        enum announce_election election;
        unsigned flags;
        bool gaps_fail;
} modes[] = {
    {ANNOUNCE_ELECTION_LEASE_PER_SERVICE, SIM_SWEEP_NO_ADDRESS_MOVES, false},
    /* every fault class, long gaps fail */
    {ANNOUNCE_ELECTION_NODE_HEARTBEAT, 0, true},
};

/* Schedules that once left an address unanswered past the bound in the
 * node-heartbeat election: a shard write whose response was lost kept the
 * shard unwritable until the client's timeout (165), and a coordinator cut
 * off or killed during another node's failover (60, 81, 102, 110, 134,
 * 170); and compound faults that pass only with the monitor's rules for a
 * second failure nobody can see yet (sim.h): a renewal landing for a node
 * cut off from responses and watch (5109, 5760, 5005), a node killed 7 ms
 * after an address was placed on it (20185). */
static const uint32_t heartbeat_regressions[] = {60,  81,   102,  110,  134,  165,
                                                 170, 5005, 5109, 5760, 20185};

static unsigned long env_number(const char *name, unsigned long dflt)
{
        const char *v = getenv(name);
        char *end;
        unsigned long n;

        if (isempty(v))
                return dflt;
        n = strtoul(v, &end, 10);
        if (*end)
                fail_msg("%s=%s: not a number", name, v);
        return n;
}

static void test_sweep(void **state)
{
        size_t n = env_number("L2LB_SIM_SCHEDULES", DEFAULT_SCHEDULES);
        uint32_t seed = (uint32_t)env_number("L2LB_SIM_SEED", 1);

        (void)state;
        for (size_t m = 0; m < ELEMENTSOF(modes); m++) {
                struct sim_sweep_result r;

                sim_sweep(modes[m].election, modes[m].flags, seed, n,
                          env_number("L2LB_SIM_VERBOSE", 0) > 0, &r);
                print_message("election=%s schedules=%zu violations=%zu long-gaps=%zu "
                              "failed-schedules=%zu faults=%" PRIu64 " simulated=%" PRIu64 " s\n",
                              announce_election_to_string(modes[m].election), r.schedules,
                              r.violations, r.long_gaps, r.failed_schedules, r.faults,
                              r.simulated / 1000000);
                /* cmocka's print_message truncates: the scripts are long */
                if (r.violation_report)
                        printf("first schedule with a double answer (replay: L2LB_SIM_SEED=%" PRIu32
                               " L2LB_SIM_SCHEDULES=1):\n%s",
                               r.violation_seed, r.violation_report);
                if (r.gap_report)
                        printf("first schedule with a long gap (replay: L2LB_SIM_SEED=%" PRIu32
                               " L2LB_SIM_SCHEDULES=1)%s:\n%s",
                               r.gap_seed, modes[m].gaps_fail ? "" : " (not failing this election)",
                               r.gap_report);
                fflush(stdout);
                if (r.violations > 0 || (modes[m].gaps_fail && r.long_gaps > 0)) {
                        sim_sweep_result_done(&r);
                        fail();
                }
                sim_sweep_result_done(&r);
        }
}

static void test_heartbeat_regressions(void **state)
{
        size_t failed = 0;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(heartbeat_regressions); i++) {
                struct sim_sweep_result r;

                sim_sweep(ANNOUNCE_ELECTION_NODE_HEARTBEAT, 0, heartbeat_regressions[i], 1, false,
                          &r);
                if (r.violations > 0 || r.long_gaps > 0) {
                        printf("seed %" PRIu32 ": %zu violations, %zu long gaps\n%s%s",
                               heartbeat_regressions[i], r.violations, r.long_gaps,
                               r.violation_report ? r.violation_report : "",
                               r.gap_report ? r.gap_report : "");
                        failed++;
                }
                sim_sweep_result_done(&r);
        }
        fflush(stdout);
        assert_int_equal(failed, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sweep),
            cmocka_unit_test(test_heartbeat_regressions),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
