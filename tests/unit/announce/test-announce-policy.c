/* Policy and service selection: Cilium's L2 announcer test scenarios (the
 * checklist of spec/l2announce.md), run against one core whose lease writes
 * all succeed, plus the policy status conditions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "lib/util.h"

#define NODE        "kind-worker"
#define NODE_LABELS "{\"kubernetes.io/hostname\":\"kind-worker\"}"
#define LEASE       "cilium-l2announce-default-deathstar"

/* The seed's policy, with both IP kinds unless told otherwise. */
static const char *policy(const char *name, const char *spec)
{
        static char buf[4][1024];
        static int k;
        char *b = buf[k++ % 4];

        snprintf(b, sizeof(buf[0]),
                 "{\"metadata\":{\"name\":\"%s\",\"generation\":1}, \"spec\":%s}", name, spec);
        return b;
}

#define BLUE_BOTH                                                                                  \
        "{\"externalIPs\":true,\"loadBalancerIPs\":true,\"interfaces\":[\"net0\"],"                \
        "\"serviceSelector\":{\"matchLabels\":{\"color\":\"blue\"}},"                              \
        "\"nodeSelector\":{\"matchExpressions\":[{\"key\":"                                        \
        "\"node-role.kubernetes.io/control-plane\",\"operator\":\"DoesNotExist\"}]}}"

static void base_node(struct world *w)
{
        feed_node(w->a, NODE, NODE_LABELS, true, false);
}

static void base_devices(struct world *w)
{
        feed_device(w->a, "eth0", 2, true);
        feed_device(w->a, "net0", 3, true);
}

static void base_service(struct world *w)
{
        feed_service(w->a, "default", "deathstar", "{\"color\":\"blue\"}", "[\"12.0.0.100\"]",
                     "[{\"ip\":\"12.0.0.128\"}]", NULL);
}

static void base_policy(struct world *w)
{
        feed_policy(w->a, policy("policy1", BLUE_BOTH));
}

static void setup_config(struct world *w, const struct announcer_config *c)
{
        world_init_config(w, c);
        announcer_set_synced(w->a);
        base_node(w);
        base_devices(w);
}

static void setup(struct world *w)
{
        struct announcer_config c = world_config(NODE);

        setup_config(w, &c);
}

static void test_happy_path(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_policy(&w);
        base_service(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        assert_string_equal(world_holder(&w, LEASE), NODE);
        assert_int_equal(w.n_garps, 2);
        assert_int_equal(world_count_events(&w, ANNOUNCE_STARTED, "lease acquired"), 1);
        assert_int_equal(announcer_n_held(w.a, w.now), 1);
        /* Every entry answers until renew deadline + retry period after the send. */
        for (size_t i = 0; i < w.n_entries; i++)
                assert_int_equal(w.entries[i].deadline, w.now + LIFETIME);
        world_done(&w);
}

typedef void (*step_fn)(struct world *w);

static void permute(step_fn *steps, size_t n, size_t k, size_t *count)
{
        if (k == n) {
                struct world w;

                world_init(&w, NODE);
                announcer_set_synced(w.a);
                for (size_t i = 0; i < n; i++) {
                        steps[i](&w);
                        world_settle(&w);
                        if (i + 1 < n)
                                EXPECT_NO_ENTRIES(&w);
                }
                EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
                assert_string_equal(world_holder(&w, LEASE), NODE);
                /* One lease, written once. */
                assert_int_equal(w.api.creates, 1);
                assert_int_equal(w.api.updates, 0);
                world_done(&w);
                (*count)++;
                return;
        }
        for (size_t i = k; i < n; i++) {
                step_fn t = steps[k];

                steps[k] = steps[i];
                steps[i] = t;
                permute(steps, n, k + 1, count);
                steps[i] = steps[k];
                steps[k] = t;
        }
}

static void test_happy_path_permutations(void **state)
{
        step_fn steps[] = {base_policy, base_service, base_node, base_devices};
        size_t count = 0;

        (void)state;
        permute(steps, ELEMENTSOF(steps), 0, &count);
        assert_int_equal(count, 24);
}

static void test_policy_redundancy(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_service(&w);
        base_policy(&w);
        feed_policy(w.a, policy("policy2", "{\"externalIPs\":true,\"interfaces\":[\"eth0\"],"
                                           "\"serviceSelector\":{\"matchLabels\":{\"color\":"
                                           "\"blue\"}}}"));
        world_settle(&w);
        /* One lease; the union of (IP kinds × interfaces) over both policies. */
        EXPECT_ENTRIES(&w, "12.0.0.100@2", "12.0.0.100@3", "12.0.0.128@3");
        assert_int_equal(w.api.creates, 1);
        announcer_remove_policy(w.a, "policy1");
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@2");
        assert_string_equal(world_holder(&w, LEASE), NODE);
        announcer_remove_policy(w.a, "policy2");
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, LEASE), "");
        world_done(&w);
}

static void test_update_host_labels_no_match(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_service(&w);
        base_policy(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        feed_node(w.a, NODE, "{\"node-role.kubernetes.io/control-plane\":\"\"}", true, false);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, LEASE), ""); /* handed over */
        assert_int_equal(
            world_count_events(&w, ANNOUNCE_STOPPED, "no policy selects the service on this node"),
            1);
        world_done(&w);
}

static void test_update_host_labels_additional_match(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_service(&w);
        base_policy(&w);
        feed_policy(w.a, policy("policy2", "{\"externalIPs\":true,\"interfaces\":[\"eth0\"],"
                                           "\"nodeSelector\":{\"matchLabels\":{\"zone\":\"a\"}}}"));
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        feed_node(w.a, NODE, "{\"zone\":\"a\"}", true, false);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@2", "12.0.0.100@3", "12.0.0.128@3");
        assert_int_equal(w.api.creates, 1);
        world_done(&w);
}

static void test_update_policy_no_match(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_service(&w);
        base_policy(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true,\"loadBalancerIPs\":true,"
                                           "\"serviceSelector\":{\"matchLabels\":{\"color\":"
                                           "\"red\"}}}"));
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, LEASE), "");
        world_done(&w);
}

static void test_update_policy_additional_match(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_service(&w);
        feed_service(w.a, "default", "red", "{\"color\":\"red\"}", "[\"12.0.0.101\"]", NULL, NULL);
        base_policy(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true,\"loadBalancerIPs\":true,"
                                           "\"interfaces\":[\"net0\"],"
                                           "\"serviceSelector\":{\"matchExpressions\":[{\"key\":"
                                           "\"color\",\"operator\":\"In\",\"values\":[\"blue\","
                                           "\"red\"]}]}}"));
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.101@3", "12.0.0.128@3");
        assert_string_equal(world_holder(&w, "cilium-l2announce-default-red"), NODE);
        world_done(&w);
}

static void test_policy_selection(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_policy(&w);
        /* No IPs at all: no lease (Cilium #28752). */
        feed_service(w.a, "default", "empty", "{\"color\":\"blue\"}", NULL, NULL, NULL);
        /* Hostname-only ingress: nothing to announce. */
        feed_service(w.a, "default", "named", "{\"color\":\"blue\"}", NULL,
                     "[{\"hostname\":\"lb.example\"}]", NULL);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(w.n_actions, 0);
        /* Both flags false selects nothing. */
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":false,\"loadBalancerIPs\":false}"));
        base_service(&w);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(w.n_actions, 0);
        assert_null(world_holder(&w, LEASE));
        /* An ingress with a hostname and an IP: the IP only. */
        feed_policy(w.a, policy("policy1", "{\"loadBalancerIPs\":true}"));
        feed_service(w.a, "default", "named", "{}", NULL,
                     "[{\"hostname\":\"lb.example\"},{\"ip\":\"12.0.0.130\","
                     "\"hostname\":\"x\"}]",
                     NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.128@2", "12.0.0.128@3", "12.0.0.130@2", "12.0.0.130@3");
        world_done(&w);
}

static void test_external_ips_disabled_by_config(void **state)
{
        struct announcer_config c = world_config(NODE);
        struct world w;

        (void)state;
        c.enable_external_ips = false;
        setup_config(&w, &c);
        base_policy(&w);
        base_service(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.128@3");
        /* switched off: nothing refused, no condition */
        assert_int_equal(w.n_statuses, 0);
        world_done(&w);
}

static void test_update_policy_change_ip_type(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_service(&w);
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true,\"interfaces\":[\"net0\"]}"));
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        feed_policy(w.a, policy("policy1", "{\"loadBalancerIPs\":true,\"interfaces\":[\"net0\"]}"));
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.128@3");
        /* Same lease throughout: no handover for an IP kind change. */
        assert_int_equal(w.api.creates, 1);
        assert_string_equal(world_holder(&w, LEASE), NODE);
        world_done(&w);
}

static void test_update_policy_change_interfaces(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        feed_device(w.a, "veth0", 4, true);
        base_service(&w);
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true,\"interfaces\":[\"net0\"]}"));
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        /* Unanchored: eth0 also matches veth0. */
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true,\"interfaces\":[\"eth0\"]}"));
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@2", "12.0.0.100@4");
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true,\"interfaces\":[\"^eth0$\","
                                           "\"^net\"]}"));
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@2", "12.0.0.100@3");
        /* Matching no device: nothing to announce here, hand over. */
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true,\"interfaces\":[\"wlan\"]}"));
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, LEASE), "");
        world_done(&w);
}

static void test_configured_devices(void **state)
{
        struct announcer_config c = world_config(NODE);
        char *devices[] = {"net0", "bond+", NULL};
        struct world w;

        (void)state;
        c.devices = devices;
        setup_config(&w, &c);
        feed_device(w.a, "bond1", 7, true);
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true}"));
        base_service(&w);
        world_settle(&w);
        /* eth0 is not a configured device; "bond+" is a prefix. */
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.100@7");
        world_done(&w);
}

static void test_update_service_del_ip(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_policy(&w);
        feed_service(w.a, "default", "deathstar", "{\"color\":\"blue\"}",
                     "[\"12.0.0.100\",\"12.0.0.101\"]", NULL, NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.101@3");
        feed_service(w.a, "default", "deathstar", "{\"color\":\"blue\"}", "[\"12.0.0.101\"]", NULL,
                     NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.101@3");
        /* No IP left: no lease to hold. */
        feed_service(w.a, "default", "deathstar", "{\"color\":\"blue\"}", NULL, NULL, NULL);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, LEASE), "");
        world_done(&w);
}

static void test_update_service_add_ip(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_policy(&w);
        feed_service(w.a, "default", "deathstar", "{\"color\":\"blue\"}", "[\"12.0.0.100\"]", NULL,
                     NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_clear(&w);
        base_service(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        /* A new IP while holding: gratuitous announcement for it only. */
        assert_int_equal(w.n_garps, 1);
        assert_int_equal(w.n_actions, 0);
        world_done(&w);
}

static void test_update_service_no_match(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_policy(&w);
        base_service(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        feed_service(w.a, "default", "deathstar", "{\"color\":\"red\"}", "[\"12.0.0.100\"]",
                     "[{\"ip\":\"12.0.0.128\"}]", NULL);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, LEASE), "");
        world_done(&w);
}

static void test_update_service_lb_class_match(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_policy(&w);
        feed_service(w.a, "default", "deathstar", "{\"color\":\"blue\"}", "[\"12.0.0.100\"]", NULL,
                     "\"loadBalancerClass\":\"io.cilium/l2-announcer\"");
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_done(&w);
}

static void test_update_service_lb_class_not_match(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_policy(&w);
        base_service(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        feed_service(w.a, "default", "deathstar", "{\"color\":\"blue\"}", "[\"12.0.0.100\"]",
                     "[{\"ip\":\"12.0.0.128\"}]", "\"loadBalancerClass\":\"metallb\"");
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, LEASE), "");
        world_done(&w);
}

static void test_del_service(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        base_policy(&w);
        base_service(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        world_clear(&w);
        announcer_remove_service(w.a, "default", "deathstar");
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, LEASE), "");
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, "service no longer selected"), 1);
        world_done(&w);
}

static void test_ipv6_and_families(void **state)
{
        struct announcer_config c = world_config(NODE);
        struct world w;

        (void)state;
        c.enable_ipv6 = false;
        setup_config(&w, &c);
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true,\"interfaces\":[\"net0\"]}"));
        feed_service(w.a, "default", "dual", "{}", "[\"12.0.0.100\",\"fd00::100\"]", NULL, NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_done(&w);

        world_init(&w, NODE);
        announcer_set_synced(w.a);
        base_node(&w);
        base_devices(&w);
        feed_policy(w.a, policy("policy1", "{\"externalIPs\":true,\"interfaces\":[\"net0\"]}"));
        feed_service(w.a, "default", "dual", "{}", "[\"12.0.0.100\",\"fd00::100\"]", NULL, NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "fd00::100@3");
        world_done(&w);
}

/* The whole lifecycle with every kind of input, then free: no leaks (the
 * ASan and valgrind runs check). */
static void test_lifecycle(void **state)
{
        struct world w;
        struct announce_lease_info *infos;
        size_t n;

        (void)state;
        setup(&w);
        base_policy(&w);
        base_service(&w);
        feed_slice(w.a, "default", "deathstar-abc", "deathstar",
                   "[{\"addresses\":[\"10.0.0.1\"],\"nodeName\":\"kind-worker\"}]");
        feed_node(w.a, "kind-worker2", NODE_LABELS, true, false);
        world_settle(&w);
        world_advance(&w, 10 * SEC);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        assert_int_equal(announcer_leases(w.a, w.now, &infos, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(infos[0].lease, LEASE);
        assert_string_equal(infos[0].service, "default/deathstar");
        assert_int_equal(infos[0].role, ANNOUNCE_ROLE_HOLDER);
        assert_true(infos[0].canonical);
        assert_string_equal(announce_role_to_string(infos[0].role), "holder");
        announce_lease_infos_free(infos, n);
        assert_true(announcer_counters(w.a)->renewals >= 10);
        announcer_remove_endpointslice(w.a, "default", "deathstar-abc");
        announcer_remove_node(w.a, "kind-worker2");
        announcer_remove_device(w.a, "eth0");
        announcer_remove_policy(w.a, "policy1");
        announcer_remove_service(w.a, "default", "deathstar");
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        world_done(&w);
}

/* ---- policy status conditions ---- */

static const struct k8s_condition *find_cond(const struct world *w, const char *policy,
                                             const char *type)
{
        for (size_t i = w->n_statuses; i > 0; i--)
                if (streq(w->statuses[i - 1].policy, policy))
                        return k8s_conditions_find(&w->statuses[i - 1].conditions, type);
        return NULL;
}

static void test_bad_policy_conditions(void **state)
{
        struct world w;
        const struct k8s_condition *c;

        (void)state;
        setup(&w);
        base_service(&w);
        feed_policy(w.a, policy("broken",
                                "{\"externalIPs\":true,\"interfaces\":[\"net0\",\"(\"],"
                                "\"serviceSelector\":{\"matchExpressions\":[{\"key\":\"color\","
                                "\"operator\":\"Exists\",\"values\":[\"x\"]}]},"
                                "\"nodeSelector\":{\"matchLabels\":{\"bad key!\":\"x\"}}}"));
        world_settle(&w);
        /* A broken policy selects nothing. */
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(w.n_statuses, 1);
        assert_string_equal(w.statuses[0].policy, "broken");
        assert_int_equal(w.statuses[0].conditions.n, 3);
        c = find_cond(&w, "broken", "io.cilium/bad-interface-regex");
        assert_non_null(c);
        assert_string_equal(c->status, "True");
        assert_string_equal(c->reason, "error");
        assert_non_null(strstr(c->message, "interfaces[1]: "));
        assert_non_null(strstr(c->message, "missing terminating )"));
        assert_int_equal(c->observed_generation, 1);
        assert_non_null(c->last_transition_time);
        c = find_cond(&w, "broken", "io.cilium/bad-service-selector");
        assert_non_null(c);
        assert_string_equal(c->status, "True");
        assert_string_equal(c->reason, "error");
        {
                struct k8s_l2policy *p = decode_policy(
                    policy("x", "{\"serviceSelector\":{\"matchExpressions\":[{\"key\":\"color\","
                                "\"operator\":\"Exists\",\"values\":[\"x\"]}]},"
                                "\"nodeSelector\":{\"matchLabels\":{\"bad key!\":\"x\"}}}"));

                /* Exactly the selector parser's message. */
                assert_string_equal(c->message, p->service_selector_error);
                c = find_cond(&w, "broken", "io.cilium/bad-node-selector");
                assert_non_null(c);
                assert_string_equal(c->message, p->node_selector_error);
                k8s_l2policy_free(p);
        }
        {
                json_t *j = announce_policy_status_patch(&w.statuses[0]);

                assert_int_equal(
                    json_array_size(json_object_get(json_object_get(j, "status"), "conditions")),
                    3);
                json_decref(j);
        }
        /* Not written again while the object has not changed. */
        world_clear(&w);
        world_advance(&w, 5 * SEC);
        assert_int_equal(w.n_statuses, 0);
        world_done(&w);
}

static void test_fixed_policy_conditions(void **state)
{
        struct world w;
        const struct k8s_condition *c;

        (void)state;
        setup(&w);
        base_service(&w);
        /* The object carries our earlier error; the policy is fixed now. */
        feed_policy(w.a,
                    "{\"metadata\":{\"name\":\"p\",\"generation\":2,\"resourceVersion\":\"7\"},"
                    "\"spec\":{\"externalIPs\":true,\"interfaces\":[\"net0\"]},"
                    "\"status\":{\"conditions\":[{\"type\":\"io.cilium/bad-interface-regex\","
                    "\"status\":\"True\",\"reason\":\"error\",\"message\":\"old\","
                    "\"observedGeneration\":1,\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"},"
                    "{\"type\":\"other\",\"status\":\"True\",\"reason\":\"r\",\"message\":\"m\"}"
                    "]}}");
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(w.n_statuses, 1);
        assert_int_equal(w.statuses[0].conditions.n, 2); /* "other" kept, nothing created */
        c = find_cond(&w, "p", "io.cilium/bad-interface-regex");
        assert_string_equal(c->status, "False");
        assert_string_equal(c->reason, "error");
        assert_string_equal(c->message, "");
        assert_int_equal(c->observed_generation, 2);
        assert_string_not_equal(c->last_transition_time, "2026-01-01T00:00:00Z");
        assert_string_equal(w.statuses[0].conditions.items[1].type, "other");
        /* Once the object says so, nothing more to write. */
        world_clear(&w);
        feed_policy(w.a,
                    "{\"metadata\":{\"name\":\"p\",\"generation\":2,\"resourceVersion\":\"8\"},"
                    "\"spec\":{\"externalIPs\":true,\"interfaces\":[\"net0\"]},"
                    "\"status\":{\"conditions\":[{\"type\":\"io.cilium/bad-interface-regex\","
                    "\"status\":\"False\",\"reason\":\"error\",\"message\":\"\"}]}}");
        world_settle(&w);
        assert_int_equal(w.n_statuses, 0);
        /* A good policy without conditions gets none. */
        feed_policy(w.a, policy("good", "{\"externalIPs\":true}"));
        world_settle(&w);
        assert_int_equal(w.n_statuses, 0);
        world_done(&w);
}

#define COND_REFUSED "l2lb.io/external-ips-not-allowed"

/* External IPs are announced only inside l2-announcements-external-ips-cidrs;
 * the others are named in the policy's condition. */
static void test_external_ips_allow_list(void **state)
{
        struct announcer_config cfg = world_config(NODE);
        struct world w;
        const struct k8s_condition *c;

        (void)state;
        cfg.external_ips_cidrs = (char *const[]){"12.0.0.96/29", "2001:db8::/64", NULL};
        setup_config(&w, &cfg);
        feed_policy(w.a, "{\"metadata\":{\"name\":\"policy1\",\"generation\":1,"
                         "\"resourceVersion\":\"1\"},\"spec\":" BLUE_BOTH "}");
        /* the gateway (12.0.0.1) and a v6 address outside the list are refused */
        feed_service(w.a, "default", "deathstar", "{\"color\":\"blue\"}",
                     "[\"12.0.0.100\",\"12.0.0.1\",\"2001:db8::5\",\"2001:db8:1::5\"]",
                     "[{\"ip\":\"12.0.0.128\"}]", NULL);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3", "2001:db8::5@3");
        assert_int_equal(w.n_statuses, 1);
        c = find_cond(&w, "policy1", COND_REFUSED);
        assert_non_null(c);
        assert_string_equal(c->status, "True");
        assert_string_equal(c->reason, "NotAllowed");
        assert_string_equal(c->message,
                            "not announced: not in l2-announcements-external-ips-cidrs: "
                            "default/deathstar 12.0.0.1, default/deathstar 2001:db8:1::5");
        /* a service the policy does not select is not its business */
        world_clear(&w);
        feed_service(w.a, "default", "red", "{\"color\":\"red\"}", "[\"12.0.0.2\"]", NULL, NULL);
        world_settle(&w);
        assert_int_equal(w.n_statuses, 0);
        /* long lists are cut */
        feed_service(w.a, "default", "many", "{\"color\":\"blue\"}",
                     "[\"12.0.1.1\",\"12.0.1.2\",\"12.0.1.3\",\"12.0.1.4\",\"12.0.1.5\","
                     "\"12.0.1.6\",\"12.0.1.7\",\"12.0.1.8\",\"12.0.1.9\",\"12.0.1.10\"]",
                     NULL, NULL);
        world_settle(&w);
        world_advance(&w, 11 * SEC); /* the same policy object: rewritten after 10 s */
        c = find_cond(&w, "policy1", COND_REFUSED);
        assert_non_null(c);
        assert_non_null(strstr(c->message, "default/deathstar 12.0.0.1, default/deathstar "
                                           "2001:db8:1::5, default/many 12.0.1.1, "));
        assert_non_null(strstr(c->message, "default/many 12.0.1.8 and 2 more"));
        assert_null(strstr(c->message, "12.0.1.9"));
        /* fixed: the object says True, nothing is refused any more → False */
        world_clear(&w);
        announcer_remove_service(w.a, "default", "many");
        feed_service(w.a, "default", "deathstar", "{\"color\":\"blue\"}", "[\"12.0.0.100\"]",
                     "[{\"ip\":\"12.0.0.128\"}]", NULL);
        feed_policy(w.a, "{\"metadata\":{\"name\":\"policy1\",\"generation\":1,"
                         "\"resourceVersion\":\"2\"},\"spec\":" BLUE_BOTH ","
                         "\"status\":{\"conditions\":[{\"type\":\"" COND_REFUSED "\","
                         "\"status\":\"True\",\"reason\":\"NotAllowed\",\"message\":\"x\"}]}}");
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.128@3");
        c = find_cond(&w, "policy1", COND_REFUSED);
        assert_non_null(c);
        assert_string_equal(c->status, "False");
        assert_string_equal(c->message, "");
        world_done(&w);
}

/* An empty allow-list announces no external IP, even with enable-external-ips. */
static void test_external_ips_empty_allow_list(void **state)
{
        struct announcer_config cfg = world_config(NODE);
        struct world w;
        const struct k8s_condition *c;

        (void)state;
        cfg.external_ips_cidrs = NULL;
        setup_config(&w, &cfg);
        base_policy(&w);
        base_service(&w);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.128@3");
        c = find_cond(&w, "policy1", COND_REFUSED);
        assert_non_null(c);
        assert_string_equal(c->status, "True");
        assert_string_equal(c->message,
                            "not announced: l2-announcements-external-ips-cidrs is empty: "
                            "default/deathstar 12.0.0.100");
        world_done(&w);
        /* a malformed entry is refused by announcer_new */
        {
                struct announcer *a = NULL;

                cfg.external_ips_cidrs = (char *const[]){"12.0.0.0/8", "not-a-cidr", NULL};
                assert_int_equal(announcer_new(&cfg, &a), -EINVAL);
                assert_null(a);
        }
}

static void test_status_designated_writer(void **state)
{
        struct world w;

        (void)state;
        setup(&w);
        /* kind-control-plane sorts first and is Ready: it writes, we do not. */
        feed_node(w.a, "kind-control-plane", "{}", true, false);
        feed_policy(w.a, policy("broken", "{\"interfaces\":[\"(\"]}"));
        world_settle(&w);
        assert_int_equal(w.n_statuses, 0);
        /* It goes NotReady: we are the first Ready node now. */
        feed_node(w.a, "kind-control-plane", "{}", false, false);
        world_settle(&w);
        assert_int_equal(w.n_statuses, 1);
        /* A cordoned node does not write either. */
        world_clear(&w);
        feed_node(w.a, NODE, NODE_LABELS, true, true);
        feed_policy(w.a, policy("broken2", "{\"interfaces\":[\"[\"]}"));
        world_settle(&w);
        assert_int_equal(w.n_statuses, 0);
        world_done(&w);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_happy_path),
            cmocka_unit_test(test_happy_path_permutations),
            cmocka_unit_test(test_policy_redundancy),
            cmocka_unit_test(test_update_host_labels_no_match),
            cmocka_unit_test(test_update_host_labels_additional_match),
            cmocka_unit_test(test_update_policy_no_match),
            cmocka_unit_test(test_update_policy_additional_match),
            cmocka_unit_test(test_policy_selection),
            cmocka_unit_test(test_external_ips_disabled_by_config),
            cmocka_unit_test(test_update_policy_change_ip_type),
            cmocka_unit_test(test_update_policy_change_interfaces),
            cmocka_unit_test(test_configured_devices),
            cmocka_unit_test(test_update_service_del_ip),
            cmocka_unit_test(test_update_service_add_ip),
            cmocka_unit_test(test_update_service_no_match),
            cmocka_unit_test(test_update_service_lb_class_match),
            cmocka_unit_test(test_update_service_lb_class_not_match),
            cmocka_unit_test(test_del_service),
            cmocka_unit_test(test_ipv6_and_families),
            cmocka_unit_test(test_lifecycle),
            cmocka_unit_test(test_bad_policy_conditions),
            cmocka_unit_test(test_fixed_policy_conditions),
            cmocka_unit_test(test_external_ips_allow_list),
            cmocka_unit_test(test_external_ips_empty_allow_list),
            cmocka_unit_test(test_status_designated_writer),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
