/* Several agents' cores against one in-memory Lease store (sim.h): balance,
 * failover time, steady-state request rate, silent followers, and safety —
 * never two nodes answering for one address — under kills, freezes,
 * cordons, link loss, restarts, shared addresses and random churn, with the
 * seed's timings (3s / 1s / 500ms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/util.h"
#include "sim.h"

#define POLICY "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"externalIPs\":true}}"

static char *lease_of(int i)
{
        static char buf[8][64];
        static int k;
        char *b = buf[k++ % 8];

        snprintf(b, sizeof(buf[0]), "cilium-l2announce-default-svc-%03d", i);
        return b;
}

static void add_services(struct sim *s, int n, int share_every)
{
        for (int i = 0; i < n; i++) {
                char name[32], ip[64];
                /* share_every > 1: consecutive services share one address */
                int a = share_every > 1 ? i / share_every : i;

                snprintf(name, sizeof(name), "svc-%03d", i);
                snprintf(ip, sizeof(ip), "[\"12.0.%d.%d\"]", a / 200, a % 200 + 1);
                sim_service(s, "default", name, ip);
        }
}

static void setup(struct sim *s, const struct sim_params *p, size_t agents, int services)
{
        sim_init(s, p, agents);
        sim_nodes(s);
        sim_policy(s, POLICY);
        add_services(s, services, 1);
}

static size_t most_leases(struct sim *s)
{
        size_t best = 0;

        for (size_t i = 1; i < s->n_agents; i++)
                if (sim_held_by(s, i) > sim_held_by(s, best))
                        best = i;
        return best;
}

static void all_held(struct sim *s, int n)
{
        for (int i = 0; i < n; i++)
                if (sim_holder(s, lease_of(i)) < 0)
                        fail_msg("%s has no holder", lease_of(i));
}

static void balance(size_t agents, size_t limit)
{
        struct sim_params p = sim_default_params();
        struct sim s;
        size_t max = 0;

        setup(&s, &p, agents, 100);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 10 * SEC);
        all_held(&s, 100);
        for (size_t i = 0; i < agents; i++) {
                print_message("%zu nodes: %s holds %zu\n", agents, s.agents[i].name,
                              sim_held_by(&s, i));
                if (sim_held_by(&s, i) > max)
                        max = sim_held_by(&s, i);
        }
        assert_true(max <= limit);
        assert_int_equal(s.violations, 0);
        sim_done(&s);
}

static void test_balance_two_nodes(void **state)
{
        (void)state;
        balance(2, 60);
}

static void test_balance_three_nodes(void **state)
{
        (void)state;
        balance(3, 40);
}

/* Two nodes starting within 0-300 ms of each other never exceed the target,
 * over many seeds, latencies and jitters. */
static void test_balance_seeds(void **state)
{
        (void)state;
        for (uint32_t seed = 1; seed <= 20; seed++) {
                struct sim_params p = sim_default_params();
                struct sim s;

                p.seed = seed;
                p.watch_latency = (seed % 5) * 5 * MSEC;
                p.jitter = (seed % 3) * 10 * MSEC + 1;
                setup(&s, &p, 2, 100);
                sim_start(&s, (seed % 4) * 100 * MSEC);
                sim_run_until(&s, 6 * SEC);
                all_held(&s, 100);
                assert_true(sim_held_by(&s, 0) <= 60 && sim_held_by(&s, 1) <= 60);
                assert_int_equal(s.violations, 0);
                sim_done(&s);
        }
}

static void test_steady_state_requests(void **state)
{
        struct sim_params p = sim_default_params();
        struct sim s;
        uint64_t total;
        double per_service;

        (void)state;
        /* A fourth node is a candidate but starts after the others: it holds
         * nothing, so in steady state it is a pure follower. */
        setup(&s, &p, 4, 100);
        for (size_t i = 0; i < 3; i++)
                sim_start_agent(&s, i, i * 10 * MSEC);
        sim_run_until(&s, 5 * SEC);
        sim_start_agent(&s, 3, s.now);
        sim_run_until(&s, 10 * SEC);
        all_held(&s, 100);
        assert_int_equal(sim_held_by(&s, 3), 0);

        sim_reset_requests(&s);
        s.watch_gaps = true;
        sim_run_until(&s, 70 * SEC);
        total = sim_requests(&s);
        per_service = (double)total / 100.0 / 60.0;
        print_message("steady state: %" PRIu64 " requests in 60 s for 100 services = %.3f per "
                      "service per second (%.1f/s in total)\n",
                      total, per_service, (double)total / 60.0);
        for (size_t i = 0; i < 4; i++)
                print_message("  %s: holds %zu, sent %" PRIu64 " updates, %" PRIu64
                              " creates, %" PRIu64 " deletes\n",
                              s.agents[i].name, sim_held_by(&s, i),
                              s.agents[i].requests[ANNOUNCE_LEASE_UPDATE],
                              s.agents[i].requests[ANNOUNCE_LEASE_CREATE],
                              s.agents[i].requests[ANNOUNCE_LEASE_DELETE]);
        /* Only holders write, one renewal per lease per (1 s − margin). */
        assert_true(per_service <= 1.03);
        assert_int_equal(s.foreign_writes, 0);
        assert_int_equal(
            s.agents[3].requests[0] + s.agents[3].requests[1] + s.agents[3].requests[2], 0);
        assert_int_equal(s.agents[0].requests[ANNOUNCE_LEASE_CREATE], 0);
        /* Replies never stopped: no entry lapsed before its renewal. */
        if (s.gaps)
                fail_msg("%zu gaps, first: %s", s.gaps, s.gap);
        assert_int_equal(s.violations, 0);
        sim_done(&s);
}

/* Kills the agent holding most leases; returns the longest time until one
 * of its leases had another holder. */
static uint64_t failover(struct sim *s, int services)
{
        size_t victim = most_leases(s);
        uint64_t t_kill = s->now, worst = 0;
        bool *was = calloc((size_t)services, sizeof(bool)), *done = calloc((size_t)services, 1);
        size_t left = 0;

        for (int i = 0; i < services; i++)
                if (sim_holder(s, lease_of(i)) == (int)victim) {
                        was[i] = true;
                        left++;
                }
        sim_kill(s, victim);
        while (left > 0 && s->now < t_kill + 20 * SEC) {
                sim_run_until(s, s->now + 1 * MSEC);
                for (int i = 0; i < services; i++) {
                        int h = sim_holder(s, lease_of(i));

                        if (!was[i] || done[i] || h < 0 || h == (int)victim)
                                continue;
                        done[i] = true;
                        left--;
                        if (s->now - t_kill > worst)
                                worst = s->now - t_kill;
                }
        }
        assert_int_equal(left, 0);
        free(was);
        free(done);
        return worst;
}

static void test_failover_three_nodes(void **state)
{
        struct sim_params p = sim_default_params();
        struct sim s;
        uint64_t worst;

        (void)state;
        setup(&s, &p, 3, 100);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 10 * SEC + 123 * MSEC);
        worst = failover(&s, 100);
        print_message("failover (3 nodes): every lease of the dead holder moved within %" PRIu64
                      " ms\n",
                      worst / MSEC);
        /* Lease duration + a few round trips: nobody waits for balance. */
        assert_true(worst <= 3 * SEC + 50 * MSEC);
        sim_run_until(&s, s.now + 5 * SEC);
        all_held(&s, 100);
        for (size_t i = 0; i < 3; i++) {
                print_message("  after failover %s holds %zu\n", s.agents[i].name,
                              sim_held_by(&s, i));
                assert_true(sim_held_by(&s, i) <= 60);
        }
        assert_int_equal(s.violations, 0);
        sim_done(&s);
}

static void test_failover_lone_survivor(void **state)
{
        struct sim_params p = sim_default_params();
        struct sim s;
        uint64_t worst;

        (void)state;
        setup(&s, &p, 2, 100);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 10 * SEC + 777 * MSEC);
        worst = failover(&s, 100);
        print_message("failover (2 nodes): %" PRIu64 " ms\n", worst / MSEC);
        assert_true(worst <= 3 * SEC + 50 * MSEC);
        assert_int_equal(s.violations, 0);
        sim_done(&s);
}

/* Property: whatever the latencies and whenever the holder freezes (SIGSTOP)
 * and thaws, no two agents ever answer for one address, and every service
 * ends up announced. */
static void test_frozen_holder_property(void **state)
{
        (void)state;
        for (uint32_t seed = 1; seed <= 60; seed++) {
                struct sim_params p = sim_default_params();
                struct sim s;
                uint32_t r = seed * 2654435761u;
                size_t victim;
                uint64_t freeze_at, freeze_for;

                p.seed = seed;
                p.req_latency = 100 + r % (20 * MSEC);
                p.resp_latency = 100 + (r >> 5) % (20 * MSEC);
                p.watch_latency = 100 + (r >> 10) % (60 * MSEC);
                p.jitter = 1 + (r >> 15) % (30 * MSEC);
                setup(&s, &p, 2 + seed % 2, 6);
                sim_start(&s, 200 * MSEC);
                freeze_at = 3 * SEC + (r >> 3) % (3 * SEC);
                freeze_for = 500 * MSEC + (r >> 7) % (8 * SEC);
                sim_run_until(&s, freeze_at);
                victim = most_leases(&s);
                sim_freeze(&s, victim);
                sim_run_until(&s, freeze_at + freeze_for);
                sim_thaw(&s, victim);
                sim_run_until(&s, s.now + 6 * SEC);
                if (s.violations)
                        fail_msg("seed %u: %s", seed, s.violation);
                all_held(&s, 6);
                sim_done(&s);
        }
}

static void test_cordon_takeover(void **state)
{
        struct sim_params p = sim_default_params();
        struct sim s;
        size_t victim;
        uint64_t t0;

        (void)state;
        setup(&s, &p, 2, 20);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 5 * SEC);
        victim = most_leases(&s);
        t0 = s.now;
        /* kubectl drain: every agent's Node watch sees spec.unschedulable. */
        sim_node(&s, s.agents[victim].name, true, true);
        sim_run_until(&s, t0 + 50 * MSEC);
        /* Within one watch round trip, not a lease duration. */
        assert_int_equal(sim_held_by(&s, victim), 0);
        assert_int_equal(sim_held_by(&s, 1 - victim), 20);
        assert_int_equal(s.violations, 0);
        sim_done(&s);
}

static void test_link_down_takeover(void **state)
{
        struct sim_params p = sim_default_params();
        struct sim s;
        size_t victim;

        (void)state;
        setup(&s, &p, 2, 20);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 5 * SEC);
        victim = most_leases(&s);
        /* Only the victim's netlink sees its link go down (Cilium #35507). */
        sim_device(&s, victim, "net0", 3, false);
        sim_run_until(&s, s.now + 50 * MSEC);
        assert_int_equal(sim_held_by(&s, victim), 0);
        assert_int_equal(sim_held_by(&s, 1 - victim), 20);
        assert_int_equal(s.violations, 0);
        sim_done(&s);
}

static void test_shared_groups(void **state)
{
        struct sim_params p = sim_default_params();
        struct sim s;

        (void)state;
        sim_init(&s, &p, 3);
        sim_nodes(&s);
        sim_policy(&s, POLICY);
        /* 60 services, three per shared address (sharing-key groups). */
        add_services(&s, 60, 3);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 10 * SEC);
        for (int g = 0; g < 20; g++) {
                int h = sim_holder(&s, lease_of(3 * g));

                assert_true(h >= 0);
                assert_int_equal(sim_holder(&s, lease_of(3 * g + 1)), h);
                assert_int_equal(sim_holder(&s, lease_of(3 * g + 2)), h);
        }
        for (size_t i = 0; i < 3; i++)
                print_message("groups: %s holds %zu leases\n", s.agents[i].name,
                              sim_held_by(&s, i));
        (void)failover(&s, 60);
        sim_run_until(&s, s.now + 5 * SEC);
        for (int g = 0; g < 20; g++) {
                int h = sim_holder(&s, lease_of(3 * g));

                assert_true(h >= 0);
                assert_int_equal(sim_holder(&s, lease_of(3 * g + 1)), h);
                assert_int_equal(sim_holder(&s, lease_of(3 * g + 2)), h);
        }
        if (s.violations)
                fail_msg("%s", s.violation);
        sim_done(&s);
}

static void test_restart_keeps_leases(void **state)
{
        struct sim_params p = sim_default_params();
        struct sim s;
        int before[20];

        (void)state;
        setup(&s, &p, 2, 20);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 5 * SEC + 321 * MSEC);
        for (int i = 0; i < 20; i++)
                before[i] = sim_holder(&s, lease_of(i));
        s.watch_gaps = true;
        sim_restart(&s, 0, 300 * MSEC);
        sim_run_until(&s, s.now + 10 * SEC);
        for (int i = 0; i < 20; i++)
                assert_int_equal(sim_holder(&s, lease_of(i)), before[i]);
        if (s.gaps)
                fail_msg("%s", s.gap);
        assert_int_equal(s.violations, 0);
        sim_done(&s);
}

/* Random churn: services change addresses and share them, nodes are
 * cordoned and uncordoned, links flap, agents freeze. Never two answerers. */
static void test_churn_property(void **state)
{
        (void)state;
        for (uint32_t seed = 1; seed <= 15; seed++) {
                struct sim_params p = sim_default_params();
                struct sim s;
                uint32_t r = seed;

                p.seed = seed;
                p.jitter = 5 * MSEC;
                setup(&s, &p, 3, 12);
                sim_start(&s, 100 * MSEC);
                for (int step = 0; step < 60; step++) {
                        size_t who;
                        char name[32], ip[64];

                        r = r * 1103515245u + 12345u;
                        who = (r >> 16) % 3;
                        switch ((r >> 8) % 6) {
                        case 0:
                                snprintf(name, sizeof(name), "svc-%03u", (r >> 4) % 12);
                                snprintf(ip, sizeof(ip), "[\"12.0.0.%u\"]", 1 + (r >> 12) % 8);
                                sim_service(&s, "default", name, ip);
                                break;
                        case 1:
                                sim_node(&s, s.agents[who].name, true, (r >> 20) % 2);
                                break;
                        case 2:
                                sim_device(&s, who, "net0", 3, (r >> 20) % 3 != 0);
                                break;
                        case 3:
                                if (!s.agents[who].frozen)
                                        sim_freeze(&s, who);
                                else
                                        sim_thaw(&s, who);
                                break;
                        default:
                                break;
                        }
                        sim_run_until(&s, s.now + 200 * MSEC + (r >> 4) % (800 * MSEC));
                }
                for (size_t i = 0; i < 3; i++) {
                        if (s.agents[i].frozen)
                                sim_thaw(&s, i);
                        sim_node(&s, s.agents[i].name, true, false);
                        sim_device(&s, i, "net0", 3, true);
                }
                sim_run_until(&s, s.now + 8 * SEC);
                if (s.violations)
                        fail_msg("seed %u: %s", seed, s.violation);
                sim_done(&s);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_balance_two_nodes),
            cmocka_unit_test(test_balance_three_nodes),
            cmocka_unit_test(test_balance_seeds),
            cmocka_unit_test(test_steady_state_requests),
            cmocka_unit_test(test_failover_three_nodes),
            cmocka_unit_test(test_failover_lone_survivor),
            cmocka_unit_test(test_frozen_holder_property),
            cmocka_unit_test(test_cordon_takeover),
            cmocka_unit_test(test_link_down_takeover),
            cmocka_unit_test(test_shared_groups),
            cmocka_unit_test(test_restart_keeps_leases),
            cmocka_unit_test(test_churn_property),
        };

        /* ANNOUNCE_TEST=<glob> runs a subset (handy under valgrind). */
        if (getenv("ANNOUNCE_TEST"))
                cmocka_set_test_filter(getenv("ANNOUNCE_TEST"));
        return cmocka_run_group_tests(tests, NULL, NULL);
}
