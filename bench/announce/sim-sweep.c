/* The simulation's random fault schedules (tests/unit/announce/sweep.h), at
 * scale: prints the counts and the time per schedule.
 *
 *   sim-sweep [--mode lease-per-service|node-heartbeat] [--schedules N]
 *             [--seed S] [--verbose] [--minimize]
 *             [--exclude moves,lost-responses,shared]
 *
 * --exclude: leave out fault classes (sweep.h's SIM_SWEEP_NO_*): address
 * moves between services, responses lost with the watch up, shared
 * addresses. The unit test leaves out moves for lease-per-service.
 * --minimize: for each failing schedule, the fault script reduced to the
 * actions it still fails with. Exit status 1 if any schedule failed. */
#include <getopt.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/util.h"
#include "sweep.h"

static struct {
        enum announce_election mode;
        size_t schedules;
        uint32_t seed;
        bool verbose;
        bool minimize;
        bool failed;
        unsigned flags;
} opt = {ANNOUNCE_ELECTION_LEASE_PER_SERVICE, 5000, 1, false, false, false, 0};

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run as a cmocka test: the simulation reports its own errors through
 * cmocka's assertions. */
static void sweep(void **state)
{
        struct sim_sweep_result r;
        double t0 = now_s(), dt;

        (void)state;
        sim_sweep(opt.mode, opt.flags, opt.seed, opt.schedules, opt.verbose, &r);
        dt = now_s() - t0;
        printf("election=%s schedules=%zu violations=%zu long-gaps=%zu failed-schedules=%zu "
               "faults=%" PRIu64 " simulated=%" PRIu64 " s time=%.1f s per-schedule=%.1f ms\n",
               announce_election_to_string(opt.mode), r.schedules, r.violations, r.long_gaps,
               r.failed_schedules, r.faults, r.simulated / 1000000, dt,
               r.schedules ? dt * 1000 / (double)r.schedules : 0.0);
        opt.failed = r.failed_schedules > 0;
        for (int k = 0; k < 2; k++) {
                const char *report = k ? r.gap_report : r.violation_report;
                uint32_t seed = k ? r.gap_seed : r.violation_seed;
                char *min;

                if (!report)
                        continue;
                printf("first schedule with %s (replay: --seed %" PRIu32 " --schedules 1):\n%s",
                       k ? "a long gap" : "a double answer", seed, report);
                if (!opt.minimize)
                        continue;
                min = sim_sweep_minimize(opt.mode, opt.flags, seed);
                printf("minimised:\n%s", min ? min : "(passes alone)\n");
                free(min);
        }
        sim_sweep_result_done(&r);
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
            {"mode", required_argument, NULL, 'm'},    {"schedules", required_argument, NULL, 'n'},
            {"seed", required_argument, NULL, 's'},    {"verbose", no_argument, NULL, 'v'},
            {"minimize", no_argument, NULL, 'M'},      {"help", no_argument, NULL, 'h'},
            {"exclude", required_argument, NULL, 'x'}, {},
        };
        const struct CMUnitTest tests[] = {cmocka_unit_test(sweep)};
        int c, m;

        while ((c = getopt_long(argc, argv, "m:n:s:vMx:h", options, NULL)) >= 0) {
                switch (c) {
                case 'm':
                        m = announce_election_from_string(optarg);
                        if (m < 0) {
                                fprintf(stderr, "--mode: unknown election %s\n", optarg);
                                return 2;
                        }
                        opt.mode = (enum announce_election)m;
                        break;
                case 'n':
                        opt.schedules = strtoul(optarg, NULL, 10);
                        break;
                case 's':
                        opt.seed = (uint32_t)strtoul(optarg, NULL, 10);
                        break;
                case 'v':
                        opt.verbose = true;
                        break;
                case 'M':
                        opt.minimize = true;
                        break;
                case 'x':
                        for (char *save = NULL, *w = strtok_r(optarg, ",", &save); w;
                             w = strtok_r(NULL, ",", &save)) {
                                if (streq(w, "moves"))
                                        opt.flags |= SIM_SWEEP_NO_ADDRESS_MOVES;
                                else if (streq(w, "lost-responses"))
                                        opt.flags |= SIM_SWEEP_NO_LOST_RESPONSES_WITH_WATCH;
                                else if (streq(w, "shared"))
                                        opt.flags |= SIM_SWEEP_NO_SHARED_ADDRESSES;
                                else {
                                        fprintf(stderr, "--exclude: unknown class %s\n", w);
                                        return 2;
                                }
                        }
                        break;
                default:
                        fprintf(stderr,
                                "usage: %s [--mode lease-per-service|node-heartbeat] "
                                "[--schedules N] [--seed S] [--verbose] [--minimize] "
                                "[--exclude moves,lost-responses,shared]\n",
                                argv[0]);
                        return c == 'h' ? 0 : 2;
                }
        }
        if (cmocka_run_group_tests(tests, NULL, NULL) != 0)
                return 1;
        return opt.failed ? 1 : 0;
}
