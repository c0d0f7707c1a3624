/* Typed object decoding: good objects, missing fields, wrong types, NULs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "api/objects.h"
#include "lib/util.h"

static json_t *J(const char *text)
{
        json_error_t e;
        json_t *j = json_loads(text, JSON_ALLOW_NUL, &e); /* as the client decodes */

        if (!j)
                fail_msg("bad test JSON: %s: %s", e.text, text);
        return j;
}

static void test_service(void **state)
{
        json_t *j = J("{\"metadata\":{\"name\":\"deathstar\",\"namespace\":\"default\","
                      "\"uid\":\"u1\",\"resourceVersion\":\"42\",\"generation\":3,"
                      "\"creationTimestamp\":\"2026-11-26T10:00:00Z\","
                      "\"labels\":{\"color\":\"blue\"},"
                      "\"annotations\":{\"lbipam.cilium.io/ips\":\"12.0.0.200\","
                      "\"kubectl.kubernetes.io/last-applied-configuration\":\"{...}\"}},"
                      "\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80},"
                      "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}],"
                      "\"selector\":{\"org\":\"empire\"},\"externalIPs\":[\"12.0.0.100\"],"
                      "\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\"},"
                      "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"12.0.0.128\"},"
                      "{\"hostname\":\"lb.example\"}]},\"conditions\":[{\"type\":"
                      "\"cilium.io/IPAMRequestSatisfied\",\"status\":\"True\",\"reason\":"
                      "\"satisfied\",\"message\":\"\",\"observedGeneration\":3,"
                      "\"lastTransitionTime\":\"2026-11-26T10:00:01Z\"}]}}");
        struct k8s_service *s = NULL;
        struct labels sl;
        char *err = NULL;

        (void)state;
        assert_int_equal(k8s_service_decode(j, &s, &err), 0);
        assert_string_equal(s->meta.name, "deathstar");
        assert_string_equal(s->meta.namespace, "default");
        assert_string_equal(s->meta.resource_version, "42");
        assert_int_equal(s->meta.generation, 3);
        assert_int_equal(s->meta.creation_timestamp, 1795687200);
        assert_string_equal(labels_get(&s->meta.labels, "color"), "blue");
        assert_string_equal(labels_get(&s->meta.annotations, "lbipam.cilium.io/ips"), "12.0.0.200");
        assert_null(
            labels_get(&s->meta.annotations, "kubectl.kubernetes.io/last-applied-configuration"));
        assert_string_equal(s->type, "LoadBalancer");
        assert_null(s->load_balancer_class);
        assert_int_equal(s->n_ports, 2);
        assert_string_equal(s->ports[0].protocol, "TCP");
        assert_string_equal(s->ports[1].protocol, "UDP");
        assert_int_equal(s->ports[1].port, 53);
        assert_true(s->has_selector);
        assert_string_equal(s->external_ips[0], "12.0.0.100");
        assert_string_equal(s->external_traffic_policy, "Cluster");
        assert_int_equal(s->n_ingress, 2);
        assert_string_equal(s->ingress[0].ip, "12.0.0.128");
        assert_null(s->ingress[1].ip);
        assert_string_equal(s->ingress[1].hostname, "lb.example");
        assert_non_null(k8s_conditions_find(&s->conditions, "cilium.io/IPAMRequestSatisfied"));
        assert_int_equal(s->conditions.items[0].observed_generation, 3);
        k8s_service_selector_labels(s, &sl);
        assert_string_equal(labels_get(&sl, "io.kubernetes.service.name"), "deathstar");
        assert_string_equal(labels_get(&sl, "io.kubernetes.service.namespace"), "default");
        labels_done(&sl);
        k8s_service_free(s);
        json_decref(j);
}

static void test_service_minimal(void **state)
{
        json_t *j = J("{\"metadata\":{\"name\":\"x\"}}");
        struct k8s_service *s = NULL;
        char *err = NULL;

        (void)state;
        assert_int_equal(k8s_service_decode(j, &s, &err), 0);
        assert_string_equal(s->type, "ClusterIP");
        assert_int_equal(s->n_ports, 0);
        assert_int_equal(strv_length(s->external_ips), 0);
        assert_false(s->has_selector);
        k8s_service_free(s);
        json_decref(j);
}

static void expect_decode_error(const struct k8s_type *type, const char *text, const char *fragment)
{
        json_t *j = J(text);
        void *obj = NULL;
        char *err = NULL;

        assert_int_equal(type->decode(j, &obj, &err), -EINVAL);
        assert_null(obj);
        if (!err || !strstr(err, fragment))
                fail_msg("error \"%s\" lacks \"%s\"", err, fragment);
        free(err);
        json_decref(j);
}

static void expect_service_error(const char *text, const char *fragment)
{
        expect_decode_error(&K8S_TYPE_SERVICE, text, fragment);
}

static void test_service_bad(void **state)
{
        (void)state;
        expect_service_error("[]", "expected an object");
        expect_service_error("{}", "metadata: missing");
        expect_service_error("{\"metadata\":{}}", "metadata.name: missing");
        expect_service_error("{\"metadata\":{\"name\":5}}", "metadata.name: expected a string");
        expect_service_error("{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":1}}}",
                             "value of \"a\" is not a string");
        expect_service_error("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"ports\":{}}}",
                             "spec.ports: expected a list");
        expect_service_error("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"ports\":[5]}}",
                             "spec.ports[0]: expected an object");
        expect_service_error(
            "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"ports\":[{\"port\":\"80\"}]}}",
            "spec.ports[].port: expected an integer");
        expect_service_error("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"externalIPs\":[1]}}",
                             "spec.externalIPs[0]: expected a string");
        expect_service_error("{\"metadata\":{\"name\":\"x\"},\"status\":{\"loadBalancer\":{"
                             "\"ingress\":[{\"ip\":7}]}}}",
                             "ingress[].ip: expected a string");
        expect_service_error("{\"metadata\":{\"name\":\"x\"},\"status\":{\"conditions\":[{}]}}",
                             "conditions[0].type: missing");
        expect_service_error("{\"metadata\":{\"name\":\"x\",\"creationTimestamp\":\"yesterday\"}}",
                             "creationTimestamp: not a timestamp");
        expect_service_error("{\"metadata\":{\"name\":\"x\"},\"spec\":[]}",
                             "spec: expected an object");
}

static void test_endpointslice(void **state)
{
        json_t *v1 = J("{\"metadata\":{\"name\":\"ds-abc\",\"namespace\":\"default\",\"labels\":{"
                       "\"kubernetes.io/service-name\":\"deathstar\"}},\"addressType\":\"IPv4\","
                       "\"endpoints\":[{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":"
                       "true},\"nodeName\":\"kind-worker\"},{\"addresses\":[\"10.244.2.5\"],"
                       "\"conditions\":{\"ready\":false},\"nodeName\":\"kind-worker2\"},"
                       "{\"addresses\":[\"10.244.2.6\"]}]}");
        json_t *b1 = J("{\"metadata\":{\"name\":\"ds-def\",\"namespace\":\"default\"},"
                       "\"endpoints\":[{\"addresses\":[\"10.244.1.5\"],\"topology\":{"
                       "\"kubernetes.io/hostname\":\"kind-worker\"}}]}");
        /* a terminating endpoint that still serves (Kubernetes 1.22+) */
        json_t *t1 = J("{\"metadata\":{\"name\":\"ds-t\",\"namespace\":\"default\"},"
                       "\"endpoints\":[{\"addresses\":[\"10.244.1.6\"],\"conditions\":{"
                       "\"ready\":false,\"serving\":true,\"terminating\":true}}]}");
        json_t *t2 = J("{\"metadata\":{\"name\":\"ds-u\",\"namespace\":\"default\"},"
                       "\"endpoints\":[{\"addresses\":[\"10.244.1.7\"],\"conditions\":{"
                       "\"serving\":\"yes\"}}]}");
        struct k8s_endpointslice *e = NULL;
        char *err = NULL;

        (void)state;
        assert_int_equal(k8s_endpointslice_decode(v1, &e, &err), 0);
        assert_string_equal(e->service_name, "deathstar");
        assert_int_equal(e->n_endpoints, 3);
        assert_true(e->endpoints[0].ready);
        assert_string_equal(e->endpoints[0].node_name, "kind-worker");
        assert_false(e->endpoints[1].ready);
        assert_true(e->endpoints[2].ready); /* absent ready means ready */
        assert_null(e->endpoints[2].node_name);
        /* absent serving follows ready, absent terminating is false */
        assert_true(e->endpoints[0].serving);
        assert_false(e->endpoints[1].serving);
        assert_false(e->endpoints[0].terminating);
        k8s_endpointslice_free(e);
        assert_int_equal(k8s_endpointslice_decode(b1, &e, &err), 0);
        assert_null(e->service_name);
        assert_string_equal(e->endpoints[0].node_name, "kind-worker");
        k8s_endpointslice_free(e);
        assert_int_equal(k8s_endpointslice_decode(t1, &e, &err), 0);
        assert_false(e->endpoints[0].ready);
        assert_true(e->endpoints[0].serving);
        assert_true(e->endpoints[0].terminating);
        k8s_endpointslice_free(e);
        assert_int_equal(k8s_endpointslice_decode(t2, &e, &err), -EINVAL);
        assert_non_null(strstr(err, "serving"));
        free(err);
        err = NULL;
        json_decref(v1);
        json_decref(b1);
        json_decref(t1);
        json_decref(t2);
}

static void test_lease_roundtrip(void **state)
{
        json_t *j = J("{\"metadata\":{\"name\":\"cilium-l2announce-default-deathstar\","
                      "\"namespace\":\"kube-system\",\"resourceVersion\":\"7\"},\"spec\":{"
                      "\"holderIdentity\":\"kind-worker\",\"leaseDurationSeconds\":3,"
                      "\"acquireTime\":\"2026-11-26T10:00:00.123456Z\",\"renewTime\":"
                      "\"2026-11-26T10:00:02.500000Z\",\"leaseTransitions\":2}}");
        struct k8s_lease *l = NULL, *l2 = NULL;
        char *err = NULL;
        json_t *out;

        (void)state;
        assert_int_equal(k8s_lease_decode(j, &l, &err), 0);
        assert_string_equal(l->holder, "kind-worker");
        assert_int_equal(l->lease_duration_seconds, 3);
        assert_int_equal(l->lease_transitions, 2);
        out = k8s_lease_to_json(l);
        assert_int_equal(k8s_lease_decode(out, &l2, &err), 0);
        assert_string_equal(l2->holder, l->holder);
        assert_string_equal(l2->renew_time, l->renew_time);
        assert_string_equal(l2->meta.resource_version, "7");
        assert_string_equal(json_string_value(json_object_get(out, "kind")), "Lease");
        k8s_lease_free(l);
        k8s_lease_free(l2);
        json_decref(out);
        json_decref(j);
}

static void expect_lease_error(const char *spec, const char *fragment)
{
        char *text = xasprintf("{\"metadata\":{\"name\":\"l\"},\"spec\":%s}", spec);

        expect_decode_error(&K8S_TYPE_LEASE, text, fragment);
        free(text);
}

/* int32 fields refuse what does not fit instead of truncating it. */
static void test_int32_range(void **state)
{
        json_t *j;
        struct k8s_lease *l = NULL;
        char *err = NULL;

        (void)state;
        expect_lease_error("{\"leaseDurationSeconds\":4294967311}",
                           "spec.leaseDurationSeconds: 4294967311 is out of range");
        expect_lease_error("{\"leaseDurationSeconds\":-2147483649}",
                           "spec.leaseDurationSeconds: -2147483649 is out of range");
        expect_lease_error("{\"leaseTransitions\":2147483648}",
                           "spec.leaseTransitions: 2147483648 is out of range");
        expect_service_error(
            "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"ports\":[{\"port\":4294967376}]}}",
            "spec.ports[].port: 4294967376 is out of range");
        /* the ends of the range are values */
        j = J("{\"metadata\":{\"name\":\"l\"},\"spec\":{\"leaseDurationSeconds\":2147483647,"
              "\"leaseTransitions\":-2147483648}}");
        assert_int_equal(k8s_lease_decode(j, &l, &err), 0);
        assert_int_equal(l->lease_duration_seconds, INT32_MAX);
        assert_int_equal(l->lease_transitions, INT32_MIN);
        k8s_lease_free(l);
        json_decref(j);
}

static void test_ippool(void **state)
{
        json_t *j =
            J("{\"metadata\":{\"name\":\"pool-blue\",\"generation\":1},\"spec\":{"
              "\"cidrs\":[{\"cidr\":\"12.0.0.128/25\"}],\"blocks\":[{\"start\":\"10.0.0.1\","
              "\"stop\":\"10.0.0.9\"}],\"serviceSelector\":{\"matchLabels\":{\"color\":"
              "\"blue\"}},\"allowFirstLastIPs\":\"No\"}}");
        json_t *bad = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"serviceSelector\":{"
                        "\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Contains\"}]}}}");
        json_t *wrong = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"blocks\":\"10.0.0.0/8\"}}");
        struct k8s_ippool *p = NULL;
        char *err = NULL;

        (void)state;
        assert_int_equal(k8s_ippool_decode(j, &p, &err), 0);
        assert_int_equal(p->n_blocks, 2);
        assert_string_equal(p->blocks[0].start, "10.0.0.1"); /* blocks first, then cidrs */
        assert_string_equal(p->blocks[1].cidr, "12.0.0.128/25");
        assert_false(p->allow_first_last);
        assert_false(p->disabled);
        assert_non_null(p->service_selector);
        assert_null(p->service_selector_error);
        k8s_ippool_free(p);
        /* a broken selector is kept as an error for the status condition */
        assert_int_equal(k8s_ippool_decode(bad, &p, &err), 0);
        assert_null(p->service_selector);
        assert_non_null(strstr(p->service_selector_error, "not a valid label selector operator"));
        assert_true(p->allow_first_last);
        k8s_ippool_free(p);
        assert_int_equal(k8s_ippool_decode(wrong, &p, &err), -EINVAL);
        assert_non_null(strstr(err, "spec.blocks: expected a list"));
        free(err);
        json_decref(j);
        json_decref(bad);
        json_decref(wrong);
}

static void test_l2policy_node(void **state)
{
        json_t *j =
            J("{\"metadata\":{\"name\":\"policy1\"},\"spec\":{\"externalIPs\":true,"
              "\"loadBalancerIPs\":false,\"interfaces\":[\"net0\"],\"serviceSelector\":{"
              "\"matchLabels\":{\"color\":\"blue\"}},\"nodeSelector\":{\"matchExpressions\":"
              "[{\"key\":\"node-role.kubernetes.io/control-plane\",\"operator\":"
              "\"DoesNotExist\"}]}}}");
        json_t *n = J("{\"metadata\":{\"name\":\"kind-worker\",\"labels\":{\"kubernetes.io/"
                      "hostname\":\"kind-worker\"}},\"spec\":{\"unschedulable\":true},\"status\":{"
                      "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
        json_t *bad = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"externalIPs\":\"yes\"}}");
        struct k8s_l2policy *p = NULL;
        struct k8s_node *node = NULL;
        char *err = NULL;

        (void)state;
        assert_int_equal(k8s_l2policy_decode(j, &p, &err), 0);
        assert_true(p->external_ips);
        assert_false(p->load_balancer_ips);
        assert_string_equal(p->interfaces[0], "net0");
        assert_non_null(p->node_selector);
        k8s_l2policy_free(p);
        assert_int_equal(k8s_l2policy_decode(bad, &p, &err), -EINVAL);
        assert_non_null(strstr(err, "spec.externalIPs: expected a boolean"));
        free(err);
        assert_int_equal(k8s_node_decode(n, &node, &err), 0);
        assert_true(node->unschedulable);
        assert_true(node->ready);
        k8s_node_free(node);
        json_decref(j);
        json_decref(n);
        json_decref(bad);
}

static void expect_key_error(const char *text, const char *error)
{
        json_t *j = J(text);
        char *err = NULL;

        assert_null(k8s_key_from_json(j, &err));
        assert_string_equal(err, error);
        free(err);
        json_decref(j);
}

/* The API allows a NUL in an annotation value: the object decodes, a value
 * l2lb keeps is kept whole (the NUL spelled \u0000), one it ignores is
 * ignored. A NUL where a C string is an identity (or is parsed) refuses the
 * object, with the field in the message. */
static void test_nul(void **state)
{
        json_t *j = J("{\"metadata\":{\"name\":\"x\",\"namespace\":\"ns\",\"annotations\":{"
                      "\"note\":\"a\\u0000b\",\"l2lb.io/note\":\"a\\u0000b\\u0000\","
                      "\"lbipam.cilium.io/ips\":\"10.0.0.1\\u0000junk\"}}}");
        struct k8s_service *s = NULL;
        char *err = NULL, *key;

        (void)state;
        assert_int_equal(k8s_service_decode(j, &s, &err), 0);
        assert_null(labels_get(&s->meta.annotations, "note"));
        assert_string_equal(labels_get(&s->meta.annotations, "l2lb.io/note"), "a\\u0000b\\u0000");
        assert_int_equal(strlen(labels_get(&s->meta.annotations, "l2lb.io/note")), 14);
        /* never read as the address before the NUL */
        assert_string_equal(labels_get(&s->meta.annotations, "lbipam.cilium.io/ips"),
                            "10.0.0.1\\u0000junk");
        key = k8s_key_from_json(j, &err);
        assert_string_equal(key, "ns/x");
        assert_null(err);
        free(key);
        k8s_service_free(s);
        json_decref(j);

        expect_service_error("{\"metadata\":{\"name\":\"a\\u0000b\"}}",
                             "metadata.name: contains a NUL byte");
        expect_service_error("{\"metadata\":{\"name\":\"x\",\"namespace\":\"a\\u0000\"}}",
                             "metadata.namespace: contains a NUL byte");
        expect_service_error("{\"metadata\":{\"name\":\"x\",\"labels\":{\"k\":\"v\\u0000\"}}}",
                             "metadata.labels[k]: contains a NUL byte");
        expect_service_error("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"selector\":"
                             "{\"k\":\"v\\u0000w\"}}}",
                             "spec.selector[k]: contains a NUL byte");
        expect_service_error("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"loadBalancerIP\":"
                             "\"10.0.0.1\\u0000\"}}",
                             "spec.loadBalancerIP: contains a NUL byte");
        expect_service_error("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"externalIPs\":"
                             "[\"10.0.0.1\",\"\\u0000\"]}}",
                             "spec.externalIPs[1]: contains a NUL byte");

        /* the informer's key: refused, the object named as far as it can be */
        expect_key_error("{\"metadata\":{\"name\":\"a\\u0000b\",\"namespace\":\"ns\"}}",
                         "metadata.name of ns/a\\u0000b: contains a NUL byte");
        expect_key_error("{\"metadata\":{\"name\":\"x\",\"namespace\":\"n\\u0000s\"}}",
                         "metadata.namespace of n\\u0000s/x: contains a NUL byte");
        expect_key_error("{\"metadata\":{}}", "metadata.name: missing");
        j = J("{\"metadata\":{\"name\":\"node1\"}}");
        key = k8s_key_from_json(j, NULL);
        assert_string_equal(key, "node1");
        free(key);
        json_decref(j);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_service),         cmocka_unit_test(test_service_minimal),
            cmocka_unit_test(test_service_bad),     cmocka_unit_test(test_endpointslice),
            cmocka_unit_test(test_lease_roundtrip), cmocka_unit_test(test_ippool),
            cmocka_unit_test(test_l2policy_node),   cmocka_unit_test(test_nul),
            cmocka_unit_test(test_int32_range),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
