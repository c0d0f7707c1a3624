/* Services sharing an address (one node announces the whole group, Cilium
 * #48419 must not happen), externalTrafficPolicy Local candidacy, and the
 * balance rules as one core applies them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "announce/balance.h"
#include "announce/groups.h"
#include "harness.h"
#include "lib/util.h"

#define NODE  "kind-worker"
#define OTHER "kind-worker2"
#define L1    "cilium-l2announce-default-s1"
#define L2    "cilium-l2announce-default-s2"

static void setup(struct world *w)
{
        world_init(w, NODE);
        feed_node(w->a, NODE, "{}", true, false);
        feed_device(w->a, "net0", 3, true);
        feed_policy(w->a, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"externalIPs\":true,"
                          "\"loadBalancerIPs\":true}}");
        announcer_set_synced(w->a);
}

static struct announce_ip_list L(const char *const *ips) {
        struct announce_ip_list l = {0};

        for (; *ips; ips++) {
                struct ipaddr a;

                assert_int_equal(ipaddr_parse(*ips, &a), 0);
                announce_ip_list_add(&l, &a);
        }
        return l;
}

static void
test_groups_build(void **state)
{
        struct announce_ip_list s[6] = {
            L((const char *[]){"10.0.0.1", NULL}),
            L((const char *[]){"10.0.0.2", NULL}),
            L((const char *[]){"10.0.0.3", "10.0.0.1", NULL}),
            L((const char *[]){"10.0.0.3", NULL}),
            L((const char *[]){"fd00::1", "10.0.0.9", NULL}),
            L((const char *[]){"10.0.0.2", "fd00::1", NULL}),
        };
        const struct announce_ip_list *sets[6];
        size_t group[6];

        (void)state;
        for (size_t i = 0; i < 6; i++)
                sets[i] = &s[i];
        /* {0,2,3} through .1 and .3; {1,4,5} through .2 and fd00::1 */
        assert_int_equal(groups_build(sets, 6, group), 2);
        assert_int_equal(group[0], 0);
        assert_int_equal(group[1], 1);
        assert_int_equal(group[2], 0);
        assert_int_equal(group[3], 0);
        assert_int_equal(group[4], 1);
        assert_int_equal(group[5], 1);
        assert_int_equal(groups_build(sets, 0, group), 0);
        for (size_t i = 0; i < 6; i++)
                announce_ip_list_done(&s[i]);
}

static void test_balance_order(void **state)
{
        unsigned same = 0;

        (void)state;
        assert_int_equal(balance_order("a", "b"), balance_order("a", "b"));
        /* Two nodes order 100 leases differently (not the same permutation). */
        for (int i = 0; i < 100; i++) {
                char l[64], m[64];

                snprintf(l, sizeof(l), "cilium-l2announce-default-svc-%03d", i);
                snprintf(m, sizeof(m), "cilium-l2announce-default-svc-%03d", i + 1);
                if ((balance_order("kind-worker", l) < balance_order("kind-worker", m)) ==
                    (balance_order("kind-worker2", l) < balance_order("kind-worker2", m)))
                        same++;
        }
        assert_true(same > 25 && same < 75);
}

static void test_shared_ip_one_holder(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        feed_service(w.a, "default", "s2", "{}", NULL, "[{\"ip\":\"12.0.0.100\"}]", NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        /* Both leases show the same holder. */
        assert_string_equal(world_holder(&w, L1), NODE);
        assert_string_equal(world_holder(&w, L2), NODE);
        world_advance(&w, 10 * SEC);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_done(&w);
}

static void test_shared_ip_canonical_elsewhere(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        feed_service(w.a, "default", "s2", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        world_put_lease(&w, L1, OTHER, 3, 0);
        world_settle(&w);
        /* The non-canonical lease is absent, yet nobody but L1's holder takes it. */
        assert_int_equal(w.n_actions, 0);
        world_advance(&w, 3 * SEC - 1);
        assert_int_equal(w.n_actions, 0);
        EXPECT_NO_ENTRIES(&w);
        /* L1 expires: we take it, then its group mate. */
        world_advance(&w, 1);
        assert_string_equal(world_holder(&w, L1), NODE);
        assert_string_equal(world_holder(&w, L2), NODE);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_done(&w);
}

static void test_group_forms_while_holding_member(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        feed_service(w.a, "default", "s2", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        /* s1 gets the same IP; another node already holds s1's lease. */
        world_put_lease(&w, L1, OTHER, 3, 0);
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        world_settle(&w);
        /* We fall silent for the shared IP and hand s2 over to L1's holder. */
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, L2), "");
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED,
                                            "shares an address with a service announced by "
                                            "another node"),
                         1);
        world_done(&w);
}

static void test_shared_ip_needs_every_lease(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        /* OTHER still holds s2 from before the group formed. */
        world_put_lease(&w, L2, OTHER, 3, 0);
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\",\"12.0.0.101\"]", NULL, NULL);
        feed_service(w.a, "default", "s2", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        world_settle(&w);
        /* We hold s1 but not s2: only the unshared address is answered. */
        assert_string_equal(world_holder(&w, L1), NODE);
        EXPECT_ENTRIES(&w, "12.0.0.101@3");
        /* OTHER hands s2 over (it sees the group): we take it, the shared IP follows. */
        world_put_lease(&w, L2, "", 1, 0);
        world_settle(&w);
        assert_string_equal(world_holder(&w, L2), NODE);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.101@3");
        world_done(&w);
}

static void test_group_canonical_deleted(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        feed_service(w.a, "default", "s2", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        world_settle(&w);
        world_clear(&w);
        announcer_remove_service(w.a, "default", "s1");
        world_settle(&w);
        /* s2 becomes canonical; we already hold it: no gap, no transition. */
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_string_equal(world_holder(&w, L2), NODE);
        assert_string_equal(world_holder(&w, L1), "");
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, NULL), 1);
        assert_int_equal(w.n_garps, 0);
        assert_int_equal(w.n_by_op[ANNOUNCE_LEASE_CREATE], 0);
        world_done(&w);
}

static void test_group_split(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        feed_service(w.a, "default", "s2", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        world_settle(&w);
        feed_service(w.a, "default", "s2", "{}", "[\"12.0.0.102\"]", NULL, NULL);
        world_settle(&w);
        /* Two groups now; we keep both (held leases never move for balance). */
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.102@3");
        assert_string_equal(world_holder(&w, L1), NODE);
        assert_string_equal(world_holder(&w, L2), NODE);
        world_done(&w);
}

static void test_etp_local(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\"]", NULL,
                     "\"externalTrafficPolicy\":\"Local\"");
        world_settle(&w);
        /* No endpoint anywhere: not a candidate. */
        assert_int_equal(w.n_actions, 0);
        feed_slice(w.a, "default", "s1-a", "s1",
                   "[{\"addresses\":[\"10.0.1.1\"],\"nodeName\":\"" OTHER "\"},"
                   "{\"addresses\":[\"10.0.1.2\"],\"nodeName\":\"" NODE "\","
                   "\"conditions\":{\"ready\":false}}]");
        world_settle(&w);
        assert_int_equal(w.n_actions, 0);
        /* A ready endpoint here (in another slice of the same service). */
        feed_slice(w.a, "default", "s1-b", "s1",
                   "[{\"addresses\":[\"10.0.1.3\"],\"nodeName\":\"" NODE "\"}]");
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        /* Same name, other namespace: not ours. */
        feed_slice(w.a, "other", "s1-c", "s1",
                   "[{\"addresses\":[\"10.0.1.4\"],\"nodeName\":\"" NODE "\"}]");
        announcer_remove_endpointslice(w.a, "default", "s1-b");
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, L1), "");
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED,
                                            "no ready local endpoint (externalTrafficPolicy "
                                            "Local)"),
                         1);
        /* Cluster policy needs no endpoint. */
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_done(&w);
}

/* Terminating endpoints (discovery.k8s.io/v1 on Kubernetes 1.22+): one
 * that still serves counts only while the service has no ready endpoint
 * anywhere, as kube-proxy falls back to them (KEP-1669). */
static void test_etp_local_terminating(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\"]", NULL,
                     "\"externalTrafficPolicy\":\"Local\"");
        /* Terminating and no longer serving: nothing. */
        feed_slice(w.a, "default", "s1-a", "s1",
                   "[{\"addresses\":[\"10.0.1.1\"],\"nodeName\":\"" NODE "\","
                   "\"conditions\":{\"ready\":false,\"serving\":false,\"terminating\":true}}]");
        world_settle(&w);
        assert_int_equal(w.n_actions, 0);
        /* Terminating but serving, no ready endpoint anywhere: we answer. */
        feed_slice(w.a, "default", "s1-a", "s1",
                   "[{\"addresses\":[\"10.0.1.1\"],\"nodeName\":\"" NODE "\","
                   "\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true}}]");
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        /* A ready endpoint on another node (another slice): it takes over. */
        feed_slice(w.a, "default", "s1-b", "s1",
                   "[{\"addresses\":[\"10.0.2.1\"],\"nodeName\":\"" OTHER "\","
                   "\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false}}]");
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        /* It goes away: back to the serving one. */
        announcer_remove_endpointslice(w.a, "default", "s1-b");
        world_settle(&w);
        world_advance(&w, 5 * SEC);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_done(&w);
}

static void feed_many(struct world *w, int n)
{
        for (int i = 0; i < n; i++) {
                char name[32], ip[64];

                snprintf(name, sizeof(name), "svc-%03d", i);
                snprintf(ip, sizeof(ip), "[\"12.0.1.%d\"]", i);
                feed_service(w->a, "default", name, "{}", ip, NULL, NULL);
        }
}

static void test_share_waits(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        feed_node(w.a, OTHER, "{}", true, false);
        feed_many(&w, 10);
        world_settle(&w);
        /* Two candidates: our share is 5; the rest waits the balance delay. */
        assert_int_equal(w.n_by_op[ANNOUNCE_LEASE_CREATE], 5);
        world_advance(&w, 1 * SEC - 1);
        assert_int_equal(w.n_by_op[ANNOUNCE_LEASE_CREATE], 5);
        /* Nobody took them: we do, spread over the next balance delay. */
        world_advance(&w, 1 * SEC);
        assert_int_equal(w.n_by_op[ANNOUNCE_LEASE_CREATE], 10);
        world_done(&w);

        /* A node handed the lease over (released it): no wait for it. */
        setup(&w);
        feed_node(w.a, OTHER, "{}", true, false);
        feed_service(w.a, "default", "s1", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        feed_service(w.a, "default", "s2", "{}", "[\"12.0.0.101\"]", NULL, NULL);
        world_put_lease(&w, L1, OTHER, 3, 0);
        world_settle(&w);
        assert_string_equal(world_holder(&w, L2), NODE); /* our share: 1 */
        world_put_lease(&w, L1, "", 1, 0);
        world_settle(&w);
        assert_string_equal(world_holder(&w, L1), NODE);
        world_done(&w);
}

static void test_share_ignores_unready_and_dead(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        /* NotReady, cordoned and excluded nodes are not candidates. */
        feed_node(w.a, OTHER, "{}", false, false);
        feed_node(w.a, "kind-worker3", "{}", true, true);
        feed_node(w.a, "kind-worker4", "{\"" ANNOUNCE_EXCLUDE_LABEL "\":\"true\"}", true, false);
        feed_many(&w, 10);
        world_settle(&w);
        assert_int_equal(w.n_by_op[ANNOUNCE_LEASE_CREATE], 10);
        world_done(&w);

        setup(&w);
        feed_node(w.a, OTHER, "{}", true, false);
        feed_many(&w, 10);
        /* OTHER held everything and died: its leases expire together. */
        for (int i = 0; i < 10; i++) {
                char l[64];

                snprintf(l, sizeof(l), "cilium-l2announce-default-svc-%03d", i);
                world_put_lease(&w, l, OTHER, 3, 0);
        }
        world_settle(&w);
        assert_int_equal(w.n_actions, 0);
        world_advance(&w, 3 * SEC);
        /* A lone survivor takes all of them at expiry, no balance delay. */
        assert_int_equal(w.n_by_op[ANNOUNCE_LEASE_UPDATE], 10);
        assert_int_equal(announcer_n_held(w.a, w.now), 10);
        world_done(&w);
}

static void test_node_selector_candidates(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        /* The policy excludes the control plane: it does not count for balance. */
        feed_policy(w.a, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"externalIPs\":true,"
                         "\"nodeSelector\":{\"matchExpressions\":[{\"key\":"
                         "\"node-role.kubernetes.io/control-plane\",\"operator\":"
                         "\"DoesNotExist\"}]}}}");
        feed_node(w.a, "kind-control-plane", "{\"node-role.kubernetes.io/control-plane\":\"\"}",
                  true, false);
        feed_many(&w, 10);
        world_settle(&w);
        assert_int_equal(w.n_by_op[ANNOUNCE_LEASE_CREATE], 10);
        world_done(&w);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_groups_build),
            cmocka_unit_test(test_balance_order),
            cmocka_unit_test(test_shared_ip_one_holder),
            cmocka_unit_test(test_shared_ip_canonical_elsewhere),
            cmocka_unit_test(test_group_forms_while_holding_member),
            cmocka_unit_test(test_shared_ip_needs_every_lease),
            cmocka_unit_test(test_group_canonical_deleted),
            cmocka_unit_test(test_group_split),
            cmocka_unit_test(test_etp_local),
            cmocka_unit_test(test_etp_local_terminating),
            cmocka_unit_test(test_share_waits),
            cmocka_unit_test(test_share_ignores_unready_and_dead),
            cmocka_unit_test(test_node_selector_candidates),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
