/* Restart import and stability: a satisfied service keeps its IP across
 * operator restarts and leader changes (a fresh core fed the same objects),
 * sharing groups survive (Cilium #30700), and pool edits never move an IP
 * that stays valid (Cilium #40358, #41458, #43131). Cilium's ReallocOnInit,
 * AllocOnInit, AllocSharedOnInit by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <stdio.h>

#include "helpers.h"
#include "lib/util.h"

#define POOL_A "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'}]}}"
#define SVC(name, extra_spec)                                                                      \
        "{'metadata':{'name':'" name "'},'spec':{'type':'LoadBalancer'" extra_spec "}}"
#define INGRESS(ip) ",'status':{'loadBalancer':{'ingress':[{'ip':'" ip "'}]}}"

/* A fresh core (not started) for import tests. */
static struct api *fresh(bool v4, bool v6)
{
        struct ipam_options o = opts(v4, v6);
        struct api *api = api_new(&o);

        api->autosync = false;
        return api;
}

static void start(struct api *api)
{
        api->autosync = true;
        assert_int_equal(ipam_start(api->ipam), 0);
        api_sync(api);
}

/* Restart both ways and check nothing changes, nothing is written. */
static void assert_restart_invisible(struct api *api)
{
        g_autofree char *before = api_dump(api);

        for (int services_first = 0; services_first < 2; services_first++) {
                unsigned patches = api->patches;
                g_autofree char *after = NULL;

                api_restart(api, services_first);
                after = api_dump(api);
                assert_string_equal(after, before);
                assert_int_equal(api->patches, patches);
        }
}

/* TestReallocOnInit: an ingress IP in no pool is replaced. */
static void test_realloc_on_init(void **state)
{
        struct api *api = fresh(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'service-a'},'spec':{'type':'LoadBalancer',"
                     "'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}" INGRESS(
                         "192.168.1.12") "}");
        start(api);
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_int_equal(svc_n_conditions(api, "default", "service-a"), 1);
        assert_string_equal(svc_status(api, "default", "service-a"), "True");
        assert_true(events_contain(api, "Released IP 192.168.1.12: no pool selecting the service "
                                        "contains the IP"));
        api_free(api);
}

/* TestAllocOnInit: existing ingress IPs are imported, not reallocated. */
static void test_alloc_on_init(void **state)
{
        struct api *api = fresh(true, true);

        (void)state;
        api_svc(api,
                "{'metadata':{'name':'service-a'},'spec':{'type':'LoadBalancer',"
                "'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}" INGRESS("10.0.10.123") "}");
        api_svc(api, "{'metadata':{'name':'service-b'},'spec':{'type':'LoadBalancer',"
                     "'loadBalancerIP':'10.0.10.124'}" INGRESS("10.0.10.124") "}");
        api_pool(api, POOL_A);
        start(api);
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.123");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.124");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.123", NULL), 1);
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.124", NULL), 1);
        /* no allocation events for adopted IPs */
        assert_false(events_contain(api, "IPAllocated"));
        /* the next new one is the lowest free */
        api_svc(api, SVC("service-c", ""));
        assert_string_equal(svc_ips(api, "default", "service-c"), "10.0.10.0");
        api_free(api);
}

/* TestAllocSharedOnInit */
static void test_alloc_shared_on_init(void **state)
{
        struct api *api = fresh(true, true);

        (void)state;
        api_pool(api, POOL_A);
        for (int i = 0; i < 2; i++)
                api_svc(api,
                        "{'metadata':{'name':'service-%c','annotations':{'lbipam.cilium.io/"
                        "sharing-key':'key-1'}},'spec':{'type':'LoadBalancer',"
                        "'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4'],'ports':[{"
                        "'port':%d}]}" INGRESS("10.0.10.123") "}",
                        'a' + i, 80 + i);
        start(api);
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.123");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.123");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.123", NULL), 2);
        api_free(api);
}

/* Operator restart and leader change: a varied cluster comes back
 * identical, with zero writes. */
static void test_operator_restart_keeps_ips(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'blue'},'spec':{'blocks':[{'cidr':'10.0.1.0/28'},"
                      "{'cidr':'fd00::/64'}],'serviceSelector':{'matchLabels':{'color':'blue'}}}}");
        api_pool(api, "{'metadata':{'name':'any','annotations':{'lbipam.l2lb.io/priority':"
                      "'-1'}},'spec':{'blocks':[{'start':'10.0.2.10','stop':'10.0.2.40'}],"
                      "'allowFirstLastIPs':'No'}}");
        for (int i = 0; i < 12; i++)
                api_svc(api,
                        "{'metadata':{'name':'s%02d','labels':{'color':'%s'}},'spec':{"
                        "'type':'LoadBalancer','ipFamilyPolicy':'%s'}}",
                        i, i % 3 ? "blue" : "red", i % 4 ? "SingleStack" : "RequireDualStack");
        /* churn so that the free sets are fragmented */
        api_delete_svc(api, "default", "s03");
        api_delete_svc(api, "default", "s07");
        api_svc(api, "{'metadata':{'name':'req','annotations':{'lbipam.cilium.io/ips':"
                     "'10.0.2.33,10.0.1.9'}},'spec':{'type':'LoadBalancer'}}");
        for (int i = 0; i < 4; i++)
                api_svc(api,
                        "{'metadata':{'name':'share%d','labels':{'color':'blue'},"
                        "'annotations':{'lbipam.cilium.io/sharing-key':'web'}},'spec':{"
                        "'type':'LoadBalancer','ports':[{'port':%d}]}}",
                        i, 80 + i % 2);
        api_svc(api, SVC("unsatisfied", ",'loadBalancerIP':'192.0.2.1'"));
        assert_restart_invisible(api);
        api_free(api);
}

/* Cilium #30700: with several groups under one key, a restart must not
 * regroup (a generic "first group with the key" import would). */
static void test_restart_sharing_groups(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, POOL_A);
        /* a,b share X; c conflicts with a (port 80) so gets Y; d joins... */
        api_svc(api, "{'metadata':{'name':'a','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','ports':[{'port':80}]}}");
        api_svc(api, "{'metadata':{'name':'b','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','ports':[{'port':81}]}}");
        api_svc(api, "{'metadata':{'name':'c','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','ports':[{'port':80}]}}");
        /* d could join either group; it joins the lowest (X)... then leaves
         * to Y when its port changes to 81 */
        api_svc(api, "{'metadata':{'name':'d','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','ports':[{'port':82}]}}");
        assert_string_equal(svc_ips(api, "default", "d"), "10.0.10.0");
        api_patch_svc(api, "default", "d", "{'spec':{'ports':[{'port':81}]}}");
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "c"), "10.0.10.1");
        assert_string_equal(svc_ips(api, "default", "d"), "10.0.10.1");
        /* e (port 90) could join either group: it stays where it is after a
         * restart even though X is lower */
        api_svc(api, "{'metadata':{'name':'e','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','ports':[{'port':90}]}}");
        assert_string_equal(svc_ips(api, "default", "e"), "10.0.10.0");
        api_patch_svc(api, "default", "e",
                      "{'status':{'loadBalancer':{'ingress':[{'ip':'10.0.10.1'}]}}}");
        /* the status edit made e dirty; the core puts it back */
        assert_string_equal(svc_ips(api, "default", "e"), "10.0.10.0");
        assert_restart_invisible(api);
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.0", NULL), 3);
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.1", NULL), 2);
        api_free(api);
}

/* A restart while a member shows the lower group's IP in its status (left
 * there by the previous leader) brings it back into that group. */
static void test_import_prefers_status_group(void **state)
{
        struct api *api = fresh(true, false);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'a','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','ports':[{'port':80}]}" INGRESS(
                         "10.0.10.7") "}");
        api_svc(api, "{'metadata':{'name':'b','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','ports':[{'port':80}]}" INGRESS(
                         "10.0.10.3") "}");
        api_svc(api, "{'metadata':{'name':'c','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','ports':[{'port':81}]}" INGRESS(
                         "10.0.10.7") "}");
        start(api);
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.7");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.3");
        assert_string_equal(svc_ips(api, "default", "c"), "10.0.10.7");
        api_free(api);
}

/* Import order: services shown satisfied first, then the oldest. */
static void test_import_order(void **state)
{
        struct api *api = fresh(true, false);

        (void)state;
        api_pool(api, POOL_A);
        /* both show .5 (no key): the one whose condition says satisfied keeps it */
        api_svc(api, "{'metadata':{'name':'old','creationTimestamp':'2020-01-01T00:00:00Z'},"
                     "'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{"
                     "'ip':'10.0.10.5'}]}}}");
        api_svc(api, "{'metadata':{'name':'young','creationTimestamp':'2023-01-01T00:00:00Z'},"
                     "'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{"
                     "'ip':'10.0.10.5'}]},'conditions':[{'type':'cilium.io/IPAMRequestSatisfied',"
                     "'status':'True','reason':'satisfied','message':''}]}}");
        /* both show .6, neither satisfied: the older keeps it */
        api_svc(api, "{'metadata':{'name':'a1','creationTimestamp':'2021-01-01T00:00:00Z'},"
                     "'spec':{'type':'LoadBalancer'}" INGRESS("10.0.10.6") "}");
        api_svc(api, "{'metadata':{'name':'a0','creationTimestamp':'2022-01-01T00:00:00Z'},"
                     "'spec':{'type':'LoadBalancer'}" INGRESS("10.0.10.6") "}");
        start(api);
        assert_string_equal(svc_ips(api, "default", "young"), "10.0.10.5");
        assert_string_equal(svc_ips(api, "default", "old"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "a1"), "10.0.10.6");
        assert_string_equal(svc_ips(api, "default", "a0"), "10.0.10.1");
        assert_true(events_contain(api, "default/old IPReleased: Released IP 10.0.10.5: the IP "
                                        "is held by another service"));
        api_free(api);
}

/* Restart keeps IPs of drained (disabled) and marked pools, and IPs held
 * while their reservation (allowFirstLastIPs: No) was turned on. */
static void test_restart_drained_marked_reserved(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, "{'metadata':{'name':'drain'},'spec':{'blocks':[{'cidr':'10.1.0.0/24'}]}}");
        api_svc(api, SVC("d", ""));
        api_patch_pool(api, "drain", "{'spec':{'disabled':true}}");
        api_pool(api, "{'metadata':{'name':'pool-a','creationTimestamp':'2024-06-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.0.10.0/30'}]}}");
        api_svc(api, SVC("m", ""));
        api_pool(api, "{'metadata':{'name':'pool-old','creationTimestamp':'2020-01-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.0.10.0/30'}]}}");
        api_pool(api, "{'metadata':{'name':'res'},'spec':{'blocks':[{'cidr':'10.2.0.0/31'}],"
                      "'serviceSelector':{'matchLabels':{'r':'y'}}}}");
        api_pool(api, "{'metadata':{'name':'res2'},'spec':{'blocks':[{'cidr':'10.3.0.0/30'}],"
                      "'serviceSelector':{'matchLabels':{'r':'z'}}}}");
        api_svc(api, "{'metadata':{'name':'r','labels':{'r':'z'}},'spec':{'type':"
                     "'LoadBalancer','loadBalancerIP':'10.3.0.0'}}");
        api_patch_pool(api, "res2", "{'spec':{'allowFirstLastIPs':'No'}}");
        assert_string_equal(svc_ips(api, "default", "d"), "10.1.0.0");
        assert_string_equal(svc_ips(api, "default", "m"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "r"), "10.3.0.0");
        assert_string_equal(pool_cond(api, "pool-a", "cilium.io/PoolConflict", "status"), "True");
        assert_restart_invisible(api);
        api_free(api);
}

/* Changes made while no operator ran: a service that became NodePort is
 * cleaned up, one whose labels no longer match loses its IP (with an Event
 * saying why), a new one is served. */
static void test_restart_after_offline_changes(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, "{'metadata':{'name':'blue'},'spec':{'blocks':[{'cidr':'10.0.1.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'color':'blue'}}}}");
        api_svc(api, "{'metadata':{'name':'a','labels':{'color':'blue'}},'spec':{'type':"
                     "'LoadBalancer'}}");
        api_svc(api, "{'metadata':{'name':'b','labels':{'color':'blue'}},'spec':{'type':"
                     "'LoadBalancer'}}");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.1.1");
        /* the operator is down: edits go to the API only */
        api->autosync = false;
        json_object_set_new(json_object_get(json_object_get(api->services, "default/a"), "spec"),
                            "type", json_string("NodePort"));
        json_object_set_new(
            json_object_get(json_object_get(api->services, "default/b"), "metadata"), "labels",
            json_pack("{s:s}", "color", "red"));
        api_restart(api, false);
        assert_string_equal(svc_ips(api, "default", "a"), "");
        assert_int_equal(svc_n_conditions(api, "default", "a"), 0);
        assert_string_equal(svc_ips(api, "default", "b"), "");
        assert_string_equal(svc_reason(api, "default", "b"), "no_pool");
        assert_true(events_contain(api, "default/a IPReleased: Released IP 10.0.1.0: the service "
                                        "is no longer handled by LB-IPAM"));
        assert_true(events_contain(api, "default/b IPReleased: Released IP 10.0.1.1: no pool "
                                        "selecting the service contains the IP"));
        api_free(api);
}

/* A pool deleted and created again (the delete missed) takes its new age;
 * marks stay where they are. */
static void test_pool_recreated(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, "{'metadata':{'name':'a','creationTimestamp':'2024-01-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.0.0.0/24'}]}}");
        api_pool(api, "{'metadata':{'name':'b','creationTimestamp':'2024-02-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.0.0.0/24'}]}}");
        assert_string_equal(pool_cond(api, "b", "cilium.io/PoolConflict", "status"), "True");
        api_pool(api, "{'metadata':{'name':'a','creationTimestamp':'2024-03-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.0.0.0/25'}]}}");
        /* marks are sticky: b stays marked, so a (now the younger) is not */
        assert_string_equal(pool_cond(api, "b", "cilium.io/PoolConflict", "status"), "True");
        assert_string_equal(pool_cond(api, "a", "cilium.io/PoolConflict", "status"), "False");
        /* once a no longer overlaps b, b is unmarked */
        api_pool(api, "{'metadata':{'name':'a','creationTimestamp':'2024-03-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.1.0.0/25'}]}}");
        assert_string_equal(pool_cond(api, "b", "cilium.io/PoolConflict", "status"), "False");
        api_free(api);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_realloc_on_init),
            cmocka_unit_test(test_alloc_on_init),
            cmocka_unit_test(test_alloc_shared_on_init),
            cmocka_unit_test(test_operator_restart_keeps_ips),
            cmocka_unit_test(test_restart_sharing_groups),
            cmocka_unit_test(test_import_prefers_status_group),
            cmocka_unit_test(test_import_order),
            cmocka_unit_test(test_restart_drained_marked_reserved),
            cmocka_unit_test(test_restart_after_offline_changes),
            cmocka_unit_test(test_pool_recreated),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
