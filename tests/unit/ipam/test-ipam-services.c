/* Services through the whole core, Cilium's scenarios by name: allocation,
 * selectors, types and classes, requested IPs, deletion, events, and every
 * ordering of (pool created, service created, service labelled). */
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
#define POOL_A_DUAL                                                                                \
        "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'},"                 \
        "{'cidr':'FF::0/48'}]}}"
#define SVC(name, extra_spec)                                                                      \
        "{'metadata':{'name':'" name "'},'spec':{'type':'LoadBalancer'" extra_spec "}}"

static const char *const MSG_NO_POOL =
    "There are no enabled CiliumLoadBalancerIPPools that match this service";

/* TestAllocHappyPath: IPv4, then IPv6 instead, then IPv4 again. */
static void test_alloc_happy_path(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A_DUAL);
        api_svc(api, SVC("service-a", ",'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']"));
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_string_equal(svc_status(api, "default", "service-a"), "True");
        assert_string_equal(svc_reason(api, "default", "service-a"), "satisfied");
        assert_string_equal(svc_message(api, "default", "service-a"), "");
        assert_int_equal(svc_n_conditions(api, "default", "service-a"), 1);
        assert_int_equal(svc_cond_generation(api, "default", "service-a"), 1);

        api_patch_svc(api, "default", "service-a", "{'spec':{'ipFamilies':['IPv6']}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "ff::");
        assert_int_equal(svc_cond_generation(api, "default", "service-a"), 2);
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.0", NULL), 0);

        api_patch_svc(api, "default", "service-a", "{'spec':{'ipFamilies':['IPv4']}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_int_equal(ipam_ip_holders(api->ipam, "ff::", NULL), 0);

        /* dual stack: both, IPv4 first */
        api_patch_svc(api, "default", "service-a",
                      "{'spec':{'ipFamilyPolicy':'RequireDualStack','ipFamilies':null}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0,ff::");
        api_free(api);
}

/* TestPoolSelectorBasic */
static void test_pool_selector_basic(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'color':'red'}}}}");
        api_svc(api, "{'metadata':{'name':'red-service','labels':{'color':'red'}},"
                     "'spec':{'type':'LoadBalancer','ipFamilyPolicy':'SingleStack'}}");
        api_svc(api, "{'metadata':{'name':'blue-service','labels':{'color':'blue'}},"
                     "'spec':{'type':'LoadBalancer','ipFamilyPolicy':'SingleStack'}}");
        assert_string_equal(svc_ips(api, "default", "red-service"), "10.0.10.0");
        assert_string_equal(svc_status(api, "default", "red-service"), "True");
        assert_string_equal(svc_ips(api, "default", "blue-service"), "");
        assert_string_equal(svc_status(api, "default", "blue-service"), "False");
        assert_string_equal(svc_reason(api, "default", "blue-service"), "no_pool");
        assert_string_equal(svc_message(api, "default", "blue-service"), MSG_NO_POOL);
        assert_int_equal(svc_n_conditions(api, "default", "blue-service"), 1);
        api_free(api);
}

/* TestPoolSelectorNamespace: the synthetic labels win over user labels. */
static void test_pool_selector_namespace(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'io.kubernetes.service.namespace':"
                      "'tenant-one'}}}}");
        api_svc(api, "{'metadata':{'name':'red-service','namespace':'tenant-one'},"
                     "'spec':{'type':'LoadBalancer'}}");
        api_svc(api, "{'metadata':{'name':'blue-service','namespace':'tenant-two','labels':"
                     "{'io.kubernetes.service.namespace':'tenant-one'}},"
                     "'spec':{'type':'LoadBalancer'}}");
        assert_string_equal(svc_ips(api, "tenant-one", "red-service"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "tenant-two", "blue-service"), "");
        assert_string_equal(svc_reason(api, "tenant-two", "blue-service"), "no_pool");
        /* and by name */
        api_pool(api, "{'metadata':{'name':'pool-b'},'spec':{'blocks':[{'cidr':'10.0.20.0/24'}],"
                      "'serviceSelector':{'matchExpressions':[{'key':'io.kubernetes.service."
                      "name','operator':'In','values':['blue-service']}]}}}");
        assert_string_equal(svc_ips(api, "tenant-two", "blue-service"), "10.0.20.0");
        api_free(api);
}

/* TestChangeServiceType: ClusterIP ignored, LoadBalancer served, NodePort
 * released with ingress and condition removed. */
static void test_change_service_type(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'service-a'},'spec':{'type':'ClusterIP'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "");
        assert_int_equal(svc_n_conditions(api, "default", "service-a"), 0);
        assert_int_equal(ipam_n_services(api->ipam), 0);

        api_patch_svc(api, "default", "service-a", "{'spec':{'type':'LoadBalancer'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_string_equal(svc_status(api, "default", "service-a"), "True");

        api_patch_svc(api, "default", "service-a", "{'spec':{'type':'NodePort'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "");
        assert_int_equal(svc_n_conditions(api, "default", "service-a"), 0);
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.0", NULL), 0);
        assert_int_equal(ipam_n_services(api->ipam), 0);
        assert_true(events_contain(api, "IPReleased: Released IP 10.0.10.0: the service is no "
                                        "longer handled by LB-IPAM"));
        api_free(api);
}

/* TestNonMatchingLBClass: another class is ignored entirely. */
static void test_non_matching_lb_class(void **state)
{
        struct api *api = api_new_started(true, true);
        unsigned patches;

        (void)state;
        api_pool(api, POOL_A);
        patches = api->patches;
        api_svc(api, SVC("service-a", ",'loadBalancerClass':'net.example/some-other-class'"));
        assert_int_equal(api->patches, patches);
        assert_int_equal(svc_n_conditions(api, "default", "service-a"), 0);
        assert_string_equal(svc_ips(api, "default", "service-a"), "");
        api_free(api);
}

/* TestRequiredLBClass: l2 announcer class handled when L2 is on; the BGP
 * class only when BGP is on; no class only with default-lb-service-ipam. */
static void test_required_lb_class(void **state)
{
        struct ipam_options o = opts(true, false);
        struct api *api;

        (void)state;
        o.default_lbipam = false;
        api = api_new(&o);
        ipam_start(api->ipam);
        api_pool(api, POOL_A);
        api_svc(api, SVC("l2", ",'loadBalancerClass':'io.cilium/l2-announcer'"));
        api_svc(api, SVC("bgp", ",'loadBalancerClass':'io.cilium/bgp-control-plane'"));
        api_svc(api, SVC("none", ""));
        assert_string_equal(svc_ips(api, "default", "l2"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "bgp"), "");
        assert_int_equal(svc_n_conditions(api, "default", "bgp"), 0);
        assert_string_equal(svc_ips(api, "default", "none"), "");
        assert_int_equal(svc_n_conditions(api, "default", "none"), 0);
        api_free(api);

        o = opts(true, false);
        o.bgp_control_plane = true;
        o.l2_announcements = false;
        api = api_new(&o);
        ipam_start(api->ipam);
        api_pool(api, POOL_A);
        api_svc(api, SVC("l2", ",'loadBalancerClass':'io.cilium/l2-announcer'"));
        api_svc(api, SVC("bgp", ",'loadBalancerClass':'io.cilium/bgp-control-plane'"));
        api_svc(api, SVC("none", ""));
        assert_string_equal(svc_ips(api, "default", "l2"), "");
        assert_string_equal(svc_ips(api, "default", "bgp"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "none"), "10.0.10.1");
        /* switching class to a foreign one releases and cleans up */
        api_patch_svc(api, "default", "bgp", "{'spec':{'loadBalancerClass':'metallb'}}");
        assert_string_equal(svc_ips(api, "default", "bgp"), "");
        assert_int_equal(svc_n_conditions(api, "default", "bgp"), 0);
        api_free(api);
}

/* TestChangePoolSelector */
static void test_change_pool_selector(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'color':'red'}}}}");
        api_svc(api, "{'metadata':{'name':'service-a','labels':{'color':'red'}},"
                     "'spec':{'type':'LoadBalancer'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        api_patch_pool(api, "pool-a",
                       "{'spec':{'serviceSelector':{'matchLabels':{'color':'green'}}}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "");
        assert_string_equal(svc_reason(api, "default", "service-a"), "no_pool");
        assert_true(events_contain(api, "Released IP 10.0.10.0: pool 'pool-a' no longer "
                                        "selects the service"));
        api_free(api);
}

/* TestRemoveServiceLabel */
static void test_remove_service_label(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'color':'blue'}}}}");
        api_svc(api, "{'metadata':{'name':'service-a','labels':{'color':'blue'}},"
                     "'spec':{'type':'LoadBalancer'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        api_patch_svc(api, "default", "service-a", "{'metadata':{'labels':{'color':'green'}}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "");
        assert_string_equal(svc_reason(api, "default", "service-a"), "no_pool");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.0", NULL), 0);
        api_free(api);
}

/* TestRequestIPWithMismatchedLabel */
static void test_request_ip_with_mismatched_label(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'color':'blue'}}}}");
        api_svc(api, "{'metadata':{'name':'service-a','labels':{'color':'red'}},"
                     "'spec':{'type':'LoadBalancer','loadBalancerIP':'10.0.10.123'}}");
        assert_string_equal(svc_reason(api, "default", "service-a"), "pool_selector_mismatch");
        assert_string_equal(svc_message(api, "default", "service-a"),
                            "The pool with the CIDR containing '10.0.10.123', doesn't select "
                            "this service");
        assert_string_equal(svc_ips(api, "default", "service-a"), "");
        api_free(api);
}

/* TestRemoveRequestedIP */
static void test_remove_requested_ip(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'service-a','annotations':{'io.cilium/lb-ipam-ips':"
                     "'10.0.10.124,10.0.10.125'}},'spec':{'type':'LoadBalancer',"
                     "'loadBalancerIP':'10.0.10.123'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"),
                            "10.0.10.123,10.0.10.124,10.0.10.125");
        api_patch_svc(api, "default", "service-a",
                      "{'metadata':{'annotations':{'io.cilium/lb-ipam-ips':'10.0.10.124'}}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.123,10.0.10.124");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.123", NULL), 1);
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.124", NULL), 1);
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.125", NULL), 0);
        assert_true(events_contain(api, "Released IP 10.0.10.125: the IP is no longer requested"));
        api_free(api);
}

/* TestServiceDelete */
static void test_service_delete(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, SVC("service-a", ",'ipFamilyPolicy':'SingleStack'"));
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.0", NULL), 1);
        api_delete_svc(api, "default", "service-a");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.0", NULL), 0);
        assert_int_equal(ipam_n_allocations(api->ipam), 0);
        assert_string_equal(pool_cond(api, "pool-a", "cilium.io/IPsUsed", "message"), "0");
        api_free(api);
}

/* Requested IPs: partial satisfaction, no automatic allocation, outside
 * every pool, already allocated, the alias and trimming. */
static void test_requested_ips(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'a','annotations':{'lbipam.cilium.io/ips':"
                     "' 10.0.10.7 , 10.0.99.1 ,10.0.10.8'}},'spec':{'type':'LoadBalancer'}}");
        /* partial: the ones that can be granted, no automatic allocation */
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.7,10.0.10.8");
        assert_string_equal(svc_status(api, "default", "a"), "False");
        assert_string_equal(svc_reason(api, "default", "a"), "no_pool");
        assert_string_equal(svc_message(api, "default", "a"),
                            "No pool exists with a CIDR containing '10.0.99.1'");
        /* the requested IP taken by a: already_allocated */
        api_svc(api, SVC("b", ",'loadBalancerIP':'10.0.10.7'"));
        assert_string_equal(svc_reason(api, "default", "b"), "already_allocated");
        assert_string_equal(svc_message(api, "default", "b"),
                            "The IP '10.0.10.7' is already allocated to another service");
        /* the next automatic address is the lowest (#38358) */
        api_svc(api, SVC("c", ""));
        assert_string_equal(svc_ips(api, "default", "c"), "10.0.10.0");
        /* a lets go: b gets it */
        api_delete_svc(api, "default", "a");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.7");
        assert_string_equal(svc_reason(api, "default", "b"), "satisfied");
        /* a pool for the missing one */
        api_svc(api, "{'metadata':{'name':'a','annotations':{'lbipam.cilium.io/ips':"
                     "'10.0.99.1'}},'spec':{'type':'LoadBalancer'}}");
        assert_string_equal(svc_reason(api, "default", "a"), "no_pool");
        api_pool(api, "{'metadata':{'name':'pool-b'},'spec':{'blocks':[{'start':'10.0.99.1'}]}}");
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.99.1");
        api_free(api);
}

/* Unparsable entries are skipped and reported; with nothing parsable left
 * the service is served like one without a request (as Cilium does). */
static void test_unparsable_annotation(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'a','annotations':{'lbipam.cilium.io/ips':"
                     "'10.0.10.9,bogus,10.0.10.300'}},'spec':{'type':'LoadBalancer',"
                     "'loadBalancerIP':'nope'}}");
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.9");
        assert_string_equal(svc_reason(api, "default", "a"), "satisfied");
        assert_true(events_contain(
            api, "Warning default/a InvalidAnnotation: Skipped unparsable requested IPs: "
                 "spec.loadBalancerIP: 'nope' is not an IP address; lbipam.cilium.io/ips: "
                 "'bogus' is not an IP address; lbipam.cilium.io/ips: '10.0.10.300' is not "
                 "an IP address"));
        api_svc(api, "{'metadata':{'name':'b','annotations':{'lbipam.cilium.io/ips':'x'}},"
                     "'spec':{'type':'LoadBalancer'}}");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.0");
        api_free(api);
}

/* out_of_ips, then room again. */
static void test_out_of_ips(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, "{'metadata':{'name':'tiny'},'spec':{'blocks':[{'cidr':'10.0.0.0/31'}]}}");
        api_svc(api, SVC("a", ""));
        api_svc(api, SVC("b", ""));
        api_svc(api, SVC("c", ""));
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.0.0");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.0.1");
        assert_string_equal(svc_reason(api, "default", "c"), "out_of_ips");
        assert_string_equal(svc_message(api, "default", "c"),
                            "All enabled CiliumLoadBalancerIPPools that match this service ran "
                            "out of allocatable IPs");
        assert_true(events_contain(api, "Warning default/c IPAMRequestUnsatisfied: out_of_ips: "));
        assert_string_equal(pool_cond(api, "tiny", "cilium.io/IPsAvailable", "message"), "0");
        api_delete_svc(api, "default", "a");
        assert_string_equal(svc_ips(api, "default", "c"), "10.0.0.0");
        assert_true(events_contain(api, "Normal default/c IPAllocated: Allocated IP 10.0.0.0 "
                                        "from pool 'tiny'"));
        api_free(api);
}

/* Every ordering of (pool created, service created, service labelled)
 * reaches the same state. */
static void test_every_ordering(void **state)
{
        static const char *const orders[] = {"PSL", "PLS", "SPL", "SLP", "LPS", "LSP"};
        g_autofree char *first = NULL;

        (void)state;
        for (size_t o = 0; o < ELEMENTSOF(orders); o++) {
                struct api *api = api_new_started(true, false);
                bool created = false, labelled = false;
                g_autofree char *dump = NULL;

                for (const char *p = orders[o]; *p; p++) {
                        if (*p == 'P')
                                api_pool(api, "{'metadata':{'name':'pool-blue'},'spec':{'cidrs':"
                                              "[{'cidr':'12.0.0.128/25'}],'serviceSelector':{"
                                              "'matchLabels':{'color':'blue'}}}}");
                        else if (*p == 'S') {
                                api_svc(api,
                                        "{'metadata':{'name':'deathstar-3','labels':{%s}},"
                                        "'spec':{'type':'LoadBalancer','ports':[{'port':"
                                        "80}]}}",
                                        labelled ? "'color':'blue'" : "");
                                created = true;
                        } else {
                                labelled = true;
                                if (created)
                                        api_patch_svc(api, "default", "deathstar-3",
                                                      "{'metadata':{'labels':{'color':'blue'}}}");
                        }
                }
                assert_string_equal(svc_ips(api, "default", "deathstar-3"), "12.0.0.128");
                assert_string_equal(svc_reason(api, "default", "deathstar-3"), "satisfied");
                dump = api_dump(api);
                if (!first)
                        first = g_strdup(dump);
                else
                        assert_string_equal(dump, first);
                api_free(api);
        }
}

/* Services are ours only once a pool exists (Cilium's dormancy). */
static void test_dormant_until_first_pool(void **state)
{
        struct api *api = api_new_started(true, false);
        unsigned patches = api->patches;

        (void)state;
        api_svc(api, SVC("a", ""));
        assert_int_equal(api->patches, patches);
        assert_int_equal(svc_n_conditions(api, "default", "a"), 0);
        assert_false(ipam_active(api->ipam));
        api_pool(api, POOL_A);
        assert_true(ipam_active(api->ipam));
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        /* the last pool gone: released, no_pool (and the core stays active) */
        api_delete_pool(api, "pool-a");
        assert_string_equal(svc_ips(api, "default", "a"), "");
        assert_string_equal(svc_reason(api, "default", "a"), "no_pool");
        api_free(api);
}

/* Status writes only on change; the shell's echo makes the core content. */
static void test_patches_only_on_change(void **state)
{
        struct api *api = api_new_started(true, false);
        unsigned patches;

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, SVC("a", ",'ports':[{'port':80}]"));
        patches = api->patches;
        /* unrelated changes: no patch */
        api_patch_svc(api, "default", "a", "{'metadata':{'labels':{'x':'y'}}}");
        api_patch_svc(api, "default", "a", "{'metadata':{'annotations':{'foo':'bar'}}}");
        api_pool(api, "{'metadata':{'name':'pool-z'},'spec':{'blocks':[{'cidr':'10.9.0.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'nothing':'here'}}}}");
        assert_int_equal(api->patches, patches + 1); /* pool-z's own status */
        /* a spec change bumps the generation: one patch for observedGeneration */
        api_patch_svc(api, "default", "a", "{'spec':{'ports':[{'port':81}]}}");
        assert_int_equal(api->patches, patches + 2);
        assert_int_equal(svc_cond_generation(api, "default", "a"), 2);
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        api_free(api);
}

/* A failed patch is handed out again on request. */
static void test_mark_dirty(void **state)
{
        struct api *api = api_new_started(true, false);
        struct ipam_dirty d;

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, SVC("a", ""));
        ipam_service_mark_dirty(api->ipam, "default", "a");
        ipam_service_mark_dirty(api->ipam, "default", "nope");
        ipam_pool_mark_dirty(api->ipam, "pool-a");
        ipam_take_dirty(api->ipam, &d);
        assert_int_equal(d.n_services, 1);
        assert_string_equal(d.services[0].namespace, "default");
        assert_string_equal(d.services[0].name, "a");
        assert_int_equal(d.n_pools, 1);
        assert_string_equal(d.pools[0], "pool-a");
        ipam_dirty_done(&d);
        ipam_take_dirty(api->ipam, &d);
        assert_int_equal(d.n_services + d.n_pools, 0);
        ipam_dirty_done(&d);
        api_free(api);
}

/* A drifted status (someone edited it) is rewritten. */
static void test_status_drift(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, SVC("a", ""));
        api_patch_svc(api, "default", "a",
                      "{'status':{'loadBalancer':{'ingress':[{'ip':'10.0.10.0'},{'ip':"
                      "'10.0.10.77'}]},'conditions':[{'type':'cilium.io/IPAMRequestSatisfied',"
                      "'status':'True','reason':'satisfied','message':'','observedGeneration':1},"
                      "{'type':'cilium.io/IPAMRequestSatisfied','status':'True','reason':"
                      "'satisfied','message':'','observedGeneration':1},{'type':'Other',"
                      "'status':'True'}]}}");
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        /* duplicates of our type dropped (#24945), foreign types kept */
        assert_int_equal(svc_n_conditions(api, "default", "a"), 2);
        api_free(api);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_alloc_happy_path),
            cmocka_unit_test(test_pool_selector_basic),
            cmocka_unit_test(test_pool_selector_namespace),
            cmocka_unit_test(test_change_service_type),
            cmocka_unit_test(test_non_matching_lb_class),
            cmocka_unit_test(test_required_lb_class),
            cmocka_unit_test(test_change_pool_selector),
            cmocka_unit_test(test_remove_service_label),
            cmocka_unit_test(test_request_ip_with_mismatched_label),
            cmocka_unit_test(test_remove_requested_ip),
            cmocka_unit_test(test_service_delete),
            cmocka_unit_test(test_requested_ips),
            cmocka_unit_test(test_unparsable_annotation),
            cmocka_unit_test(test_out_of_ips),
            cmocka_unit_test(test_every_ordering),
            cmocka_unit_test(test_dormant_until_first_pool),
            cmocka_unit_test(test_patches_only_on_change),
            cmocka_unit_test(test_status_drift),
            cmocka_unit_test(test_mark_dirty),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
