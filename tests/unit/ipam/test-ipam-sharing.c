/* IP sharing through the whole core, Cilium's scenarios by name, plus the
 * five compatibility checks one reason each (IsCompatibleReasons). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <stdio.h>

#include "helpers.h"
#include "ipam/sharing.h"
#include "api/objects.h"
#include "lib/util.h"

#define POOL_A "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'}]}}"
#define KEYED(name, key, port)                                                                     \
        "{'metadata':{'name':'" name "','annotations':{'lbipam.cilium.io/sharing-key':'" key       \
        "'}},'spec':{'type':'LoadBalancer','ipFamilies':['IPv4'],'ports':[{'port':" port "}]}}"

/* TestSharedServiceUpdatedSharingKey */
static void test_shared_service_updated_sharing_key(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, KEYED("service-a", "key-1", "80"));
        api_svc(api, KEYED("service-b", "key-1", "81"));
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.0");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.0", NULL), 2);
        assert_true(events_contain(api, "Allocated IP 10.0.10.0 from pool 'pool-a', shared with "
                                        "default/service-a (sharing key 'key-1')"));
        api_patch_svc(api, "default", "service-b",
                      "{'metadata':{'annotations':{'lbipam.cilium.io/sharing-key':'key-2'}}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.1");
        assert_true(events_contain(api, "Released IP 10.0.10.0: the service no longer fits its "
                                        "sharing group: different sharing key"));
        api_free(api);
}

/* TestSharedServiceUpdatedPorts */
static void test_shared_service_updated_ports(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, KEYED("service-a", "key-1", "80"));
        api_svc(api, KEYED("service-b", "key-1", "81"));
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.0");
        api_patch_svc(api, "default", "service-b", "{'spec':{'ports':[{'port':80}]}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.1");
        api_free(api);
}

/* TestSharingKey: same key shares; a port conflict gets its own IP; the IP
 * is freed with the last sharer. */
static void test_sharing_key(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'service-a','annotations':{'io.cilium/lb-ipam-sharing-"
                     "key':'key-a'}},'spec':{'type':'LoadBalancer','ports':[{'port':80}]}}");
        api_svc(api, KEYED("service-b", "key-a", "81"));
        api_svc(api, KEYED("service-c", "key-a", "80"));
        api_svc(api, "{'metadata':{'name':'service-d'},'spec':{'type':'LoadBalancer','ports':"
                     "[{'port':80,'protocol':'UDP'}],'externalTrafficPolicy':'Cluster'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "service-c"), "10.0.10.1");
        assert_string_equal(svc_ips(api, "default", "service-d"), "10.0.10.2");
        /* 80/UDP shares with 80/TCP */
        api_svc(api, "{'metadata':{'name':'service-e','annotations':{'lbipam.cilium.io/"
                     "sharing-key':'key-a'}},'spec':{'type':'LoadBalancer','ports':[{'port':80,"
                     "'protocol':'UDP'},{'port':81,'protocol':'UDP'}]}}");
        assert_string_equal(svc_ips(api, "default", "service-e"), "10.0.10.0");
        api_delete_svc(api, "default", "service-a");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.0", NULL), 2);
        api_delete_svc(api, "default", "service-b");
        api_delete_svc(api, "default", "service-e");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.0", NULL), 0);
        api_free(api);
}

/* TestSharingCrossNamespace */
static void test_sharing_cross_namespace(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'a','namespace':'ns-a','annotations':{"
                     "'lbipam.cilium.io/sharing-key':'k','lbipam.cilium.io/sharing-cross-"
                     "namespace':'ns-b'}},'spec':{'type':'LoadBalancer','ports':[{'port':80}]}}");
        /* only one side permits: not shared */
        api_svc(api, "{'metadata':{'name':'b','namespace':'ns-b','annotations':{"
                     "'lbipam.cilium.io/sharing-key':'k'}},'spec':{'type':'LoadBalancer',"
                     "'loadBalancerIP':'10.0.10.0','ports':[{'port':81}]}}");
        assert_string_equal(svc_reason(api, "ns-b", "b"), "already_allocated_incompatible_service");
        assert_string_equal(svc_message(api, "ns-b", "b"),
                            "The IP '10.0.10.0' is already allocated to an incompatible service. "
                            "Reason: different and not permitted namespace");
        /* both permit (one with the wildcard): shared */
        api_patch_svc(api, "ns-b", "b",
                      "{'metadata':{'annotations':{'lbipam.cilium.io/sharing-cross-namespace':"
                      "' * '}}}");
        assert_string_equal(svc_ips(api, "ns-b", "b"), "10.0.10.0");
        assert_string_equal(svc_reason(api, "ns-b", "b"), "satisfied");
        /* automatic allocation shares across namespaces too */
        api_svc(api, "{'metadata':{'name':'c','namespace':'ns-c','annotations':{"
                     "'io.cilium/lb-ipam-sharing-key':'k','io.cilium/lb-ipam-sharing-cross-"
                     "namespace':'ns-a,ns-b'}},'spec':{'type':'LoadBalancer','ports':[{'port':"
                     "82}]}}");
        assert_string_equal(svc_ips(api, "ns-c", "c"), "10.0.10.1"); /* a does not permit ns-c */
        api_free(api);
}

/* TestSharedServicesUpdateSharingKeyAndRequestedIP */
static void test_shared_services_update_sharing_key_and_requested_ip(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'service-a','annotations':{'lbipam.cilium.io/ips':"
                     "'10.0.10.22','lbipam.cilium.io/sharing-key':'key-1'}},'spec':{'type':"
                     "'LoadBalancer','ports':[{'port':80}]}}");
        api_svc(api, "{'metadata':{'name':'service-b','annotations':{'lbipam.cilium.io/ips':"
                     "'10.0.10.33','lbipam.cilium.io/sharing-key':'key-2'}},'spec':{'type':"
                     "'LoadBalancer','ports':[{'port':81}]}}");
        api_svc(api, "{'metadata':{'name':'service-c','annotations':{'lbipam.cilium.io/ips':"
                     "'10.0.10.33','lbipam.cilium.io/sharing-key':'key-2'}},'spec':{'type':"
                     "'LoadBalancer','ports':[{'port':82}]}}");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.33");
        assert_string_equal(svc_ips(api, "default", "service-c"), "10.0.10.33");
        api_patch_svc(api, "default", "service-c",
                      "{'metadata':{'annotations':{'lbipam.cilium.io/ips':'10.0.10.22',"
                      "'lbipam.cilium.io/sharing-key':'key-1'}}}");
        assert_string_equal(svc_ips(api, "default", "service-c"), "10.0.10.22");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.33");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.22", NULL), 2);
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.10.33", NULL), 1);
        /* a requested IP held without a key is not shared */
        api_svc(api, "{'metadata':{'name':'service-d'},'spec':{'type':'LoadBalancer',"
                     "'loadBalancerIP':'10.0.10.22'}}");
        assert_string_equal(svc_reason(api, "default", "service-d"), "already_allocated");
        api_free(api);
}

/* TestRequestReservedFirstLastIPWithSharingKey (Cilium #48779): denied, no
 * crash. */
static void test_request_reserved_first_last_ip_with_sharing_key(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.16/30'}],"
                      "'allowFirstLastIPs':'No'}}");
        api_svc(api, "{'metadata':{'name':'service-a','annotations':{'io.cilium/lb-ipam-"
                     "sharing-key':'key-1'}},'spec':{'type':'LoadBalancer','ipFamilyPolicy':"
                     "'SingleStack','ipFamilies':['IPv4'],'loadBalancerIP':'10.0.10.16'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "");
        assert_string_equal(svc_reason(api, "default", "service-a"), "already_allocated");
        api_free(api);
}

/* A sharing group only joins services its pool selects. */
static void test_sharing_respects_selector(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, "{'metadata':{'name':'blue'},'spec':{'blocks':[{'cidr':'10.0.1.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'color':'blue'}}}}");
        api_pool(api, "{'metadata':{'name':'red'},'spec':{'blocks':[{'cidr':'10.0.2.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'color':'red'}}}}");
        api_svc(api, "{'metadata':{'name':'a','labels':{'color':'blue'},'annotations':{"
                     "'lbipam.cilium.io/sharing-key':'k'}},'spec':{'type':'LoadBalancer',"
                     "'ports':[{'port':80}]}}");
        api_svc(api, "{'metadata':{'name':'b','labels':{'color':'red'},'annotations':{"
                     "'lbipam.cilium.io/sharing-key':'k'}},'spec':{'type':'LoadBalancer',"
                     "'ports':[{'port':81}]}}");
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.1.0");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.2.0");
        /* b relabelled blue: leaves red's IP, joins a */
        api_patch_svc(api, "default", "b", "{'metadata':{'labels':{'color':'blue'}}}");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.1.0");
        assert_int_equal(ipam_ip_holders(api->ipam, "10.0.2.0", NULL), 0);
        api_free(api);
}

static struct k8s_service *svc(const char *fmt, ...) _printf_(1, 2);
static struct k8s_service *svc(const char *fmt, ...)
{
        va_list ap;
        g_autofree char *text = NULL;
        struct k8s_service *s = NULL;
        char *err = NULL;
        json_t *j;

        va_start(ap, fmt);
        text = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        j = sq_json("%s", text);
        if (k8s_service_decode(j, &s, &err) < 0)
                fail_msg("%s", err);
        json_decref(j);
        return s;
}

static const char *why(const char *a_json, const char *b_json)
{
        struct ipam_options o = opts(true, false);
        struct k8s_service *a = svc("%s", a_json), *b = svc("%s", b_json);
        struct svc_request ra, rb;
        const char *r, *r2;

        svc_request_parse(&o, a, &ra);
        svc_request_parse(&o, b, &rb);
        r = sharing_incompatible(&ra, a->meta.namespace, &rb, b->meta.namespace);
        r2 = sharing_incompatible(&rb, b->meta.namespace, &ra, a->meta.namespace);
        assert_string_equal(r ? r : "compatible", r2 ? r2 : "compatible"); /* symmetric */
        svc_request_done(&ra);
        svc_request_done(&rb);
        k8s_service_free(a);
        k8s_service_free(b);
        return r ? r : "compatible";
}

#define S(ns, ann, spec)                                                                           \
        "{'metadata':{'name':'x','namespace':'" ns "','annotations':{" ann "}},'spec':{" spec "}}"
#define KEY(k)    "'lbipam.cilium.io/sharing-key':'" k "'"
#define CROSS(v)  ",'lbipam.cilium.io/sharing-cross-namespace':'" v "'"
#define PERMIT(v) ",'lbipam.cilium.io/sharing-permit-different-pods':'" v "'"

/* TestIsCompatibleReasons: one case per reason, in Cilium's order. */
static void test_is_compatible_reasons(void **state)
{
        (void)state;
        assert_string_equal(why(S("a", KEY("k1"), ""), S("a", KEY("k2"), "")),
                            "different sharing key");
        assert_string_equal(why(S("a", KEY("k"), ""), S("b", KEY("k") CROSS("a"), "")),
                            "different and not permitted namespace");
        assert_string_equal(why(S("a", KEY("k") CROSS("b"), ""), S("b", KEY("k") CROSS("a"), "")),
                            "compatible");
        assert_string_equal(why(S("a", KEY("k") CROSS("*"), ""), S("b", KEY("k") CROSS("x,a"), "")),
                            "compatible");
        assert_string_equal(why(S("a", KEY("k"), "'ports':[{'port':80,'protocol':'TCP'}]"),
                                S("a", KEY("k"), "'ports':[{'port':80}]")),
                            "same port and protocol");
        assert_string_equal(why(S("a", KEY("k"), "'ports':[{'port':80,'protocol':'TCP'}]"),
                                S("a", KEY("k"), "'ports':[{'port':80,'protocol':'UDP'}]")),
                            "compatible");
        assert_string_equal(why(S("a", KEY("k"), "'externalTrafficPolicy':'Local'"),
                                S("a", KEY("k"), "'externalTrafficPolicy':'Cluster'")),
                            "different ExternalTrafficPolicy");
        assert_string_equal(
            why(S("a", KEY("k"), "'externalTrafficPolicy':'Local','selector':{'app':'a'}"),
                S("a", KEY("k"), "'externalTrafficPolicy':'Local'")),
            "ExternalTrafficPolicy local but a service has no selector");
        assert_string_equal(
            why(S("a", KEY("k"), "'externalTrafficPolicy':'Local','selector':{'app':'a'}"),
                S("a", KEY("k"), "'externalTrafficPolicy':'Local','selector':{'app':'b'}")),
            "ExternalTrafficPolicy local but selecting different set of pods without "
            "lbipam.cilium.io/sharing-permit-different-pods on both services");
        /* the opt-in (Cilium PR #45819): on both sides, a boolean... */
        assert_string_equal(why(S("a", KEY("k") PERMIT("true"),
                                  "'externalTrafficPolicy':'Local','selector':{'app':'a'}"),
                                S("a", KEY("k") PERMIT("True"),
                                  "'externalTrafficPolicy':'Local','selector':{'app':'b'}")),
                            "compatible");
        assert_string_equal(
            why(S("a", KEY("k") PERMIT("true"),
                  "'externalTrafficPolicy':'Local','selector':{'app':'a'}"),
                S("a", KEY("k"), "'externalTrafficPolicy':'Local','selector':{'app':'b'}")),
            "ExternalTrafficPolicy local but selecting different set of pods without "
            "lbipam.cilium.io/sharing-permit-different-pods on both services");
        /* ...true, not merely present */
        assert_string_equal(
            why(S("a", KEY("k") PERMIT("true"),
                  "'externalTrafficPolicy':'Local','selector':{'app':'a'}"),
                S("a", KEY("k") PERMIT("yes"),
                  "'externalTrafficPolicy':'Local','selector':{'app':'b'}")),
            "ExternalTrafficPolicy local but selecting different set of pods without "
            "lbipam.cilium.io/sharing-permit-different-pods on both services");
        assert_string_equal(
            why(S("a", KEY("k") PERMIT("1"),
                  "'externalTrafficPolicy':'Local','selector':{'app':'a'}"),
                S("a", KEY("k") PERMIT("false"),
                  "'externalTrafficPolicy':'Local','selector':{'app':'b'}")),
            "ExternalTrafficPolicy local but selecting different set of pods without "
            "lbipam.cilium.io/sharing-permit-different-pods on both services");
        /* it lifts the same-selector check only: a selector is still needed */
        assert_string_equal(why(S("a", KEY("k") PERMIT("true"),
                                  "'externalTrafficPolicy':'Local','selector':{'app':'a'}"),
                                S("a", KEY("k") PERMIT("true"), "'externalTrafficPolicy':'Local'")),
                            "ExternalTrafficPolicy local but a service has no selector");
        /* and the other checks come first */
        assert_string_equal(why(S("a", KEY("k") PERMIT("true"),
                                  "'externalTrafficPolicy':'Local','selector':{'app':'a'}"),
                                S("a", KEY("k") PERMIT("true"),
                                  "'externalTrafficPolicy':'Cluster','selector':{'app':'b'}")),
                            "different ExternalTrafficPolicy");
        assert_string_equal(
            why(S("a", KEY("k"), "'externalTrafficPolicy':'Local','selector':{'app':'a'}"),
                S("a", KEY("k"), "'externalTrafficPolicy':'Local','selector':{'app':'a'}")),
            "compatible");
        /* the first failing check is the reason */
        assert_string_equal(why(S("a", KEY("k1"), "'ports':[{'port':80}]"),
                                S("b", KEY("k2"), "'ports':[{'port':80}]")),
                            "different sharing key");
}

/* The incompatibility reasons reach the condition. */
static void test_incompatible_reason_in_condition(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'a','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','loadBalancerIP':'10.0.10.5','ports':"
                     "[{'port':80}],'externalTrafficPolicy':'Local','selector':{'app':'x'}}}");
        api_svc(api, "{'metadata':{'name':'b','annotations':{'lbipam.cilium.io/sharing-key':"
                     "'k'}},'spec':{'type':'LoadBalancer','loadBalancerIP':'10.0.10.5','ports':"
                     "[{'port':81}],'externalTrafficPolicy':'Local','selector':{'app':'y'}}}");
        assert_string_equal(svc_message(api, "default", "b"),
                            "The IP '10.0.10.5' is already allocated to an incompatible service. "
                            "Reason: ExternalTrafficPolicy local but selecting different set of "
                            "pods without lbipam.cilium.io/sharing-permit-different-pods on both "
                            "services");
        api_patch_svc(api, "default", "b", "{'spec':{'selector':{'app':'x'}}}");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.5");
        assert_string_equal(svc_reason(api, "default", "b"), "satisfied");
        api_free(api);
}

#define LOCAL(name, app, port, permit)                                                             \
        "{'metadata':{'name':'" name "','annotations':{'lbipam.cilium.io/sharing-key':'k'" permit  \
        "}},'spec':{'type':'LoadBalancer','ports':[{'port':" port "}],'externalTrafficPolicy':"    \
        "'Local','selector':{'app':'" app "'}}}"

/* lbipam.cilium.io/sharing-permit-different-pods through the core: two Local
 * services selecting different pods share an IP when both carry it, and a
 * service that drops it leaves the group. */
static void test_sharing_permit_different_pods(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, LOCAL("a", "x", "80", PERMIT("true")));
        api_svc(api, LOCAL("b", "y", "81", PERMIT("true")));
        api_svc(api, LOCAL("c", "z", "82", ""));
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "c"), "10.0.10.1");
        /* without it on one side, a requested shared IP is refused with Cilium's reason */
        api_svc(api, "{'metadata':{'name':'d','annotations':{'lbipam.cilium.io/sharing-key':'k'}},"
                     "'spec':{'type':'LoadBalancer','loadBalancerIP':'10.0.10.0','ports':[{'port':"
                     "83}],'externalTrafficPolicy':'Local','selector':{'app':'w'}}}");
        assert_string_equal(svc_ips(api, "default", "d"), "");
        assert_string_equal(svc_reason(api, "default", "d"),
                            "already_allocated_incompatible_service");
        assert_string_equal(svc_message(api, "default", "d"),
                            "The IP '10.0.10.0' is already allocated to an incompatible service. "
                            "Reason: ExternalTrafficPolicy local but selecting different set of "
                            "pods without lbipam.cilium.io/sharing-permit-different-pods on both "
                            "services");
        /* adding it lets d in */
        api_patch_svc(api, "default", "d",
                      "{'metadata':{'annotations':{'lbipam.cilium.io/sharing-permit-different-"
                      "pods':'true'}}}");
        assert_string_equal(svc_ips(api, "default", "d"), "10.0.10.0");
        assert_string_equal(svc_reason(api, "default", "d"), "satisfied");
        /* b turns it off: b no longer fits the group and moves */
        api_patch_svc(api, "default", "b",
                      "{'metadata':{'annotations':{'lbipam.cilium.io/sharing-permit-different-"
                      "pods':'false'}}}");
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "d"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.2");
        assert_true(events_contain(api, "Released IP 10.0.10.0: the service no longer fits its "
                                        "sharing group: ExternalTrafficPolicy local but selecting "
                                        "different set of pods without lbipam.cilium.io/sharing-"
                                        "permit-different-pods on both services"));
        /* a value that is not a boolean counts as false and is reported */
        api_svc(api, LOCAL("e", "v", "84", PERMIT("yes")));
        assert_string_equal(svc_ips(api, "default", "e"), "10.0.10.3");
        assert_true(events_contain(api, "Warning default/e InvalidAnnotation: lbipam.cilium.io/"
                                        "sharing-permit-different-pods: 'yes' is not a boolean "
                                        "(true or false); taken as false"));
        api_free(api);
}

/* Three groups of key k, all on port 80, created in the order .1, .2, .0. */
static struct api *three_groups(void)
{
        struct api *api = api_new_started(true, false);

        api_pool(api, POOL_A);
        api_svc(api, "{'metadata':{'name':'x'},'spec':{'type':'LoadBalancer'}}");
        api_svc(api, KEYED("g1", "k", "80")); /* group 1: .1 */
        api_svc(api, KEYED("g2", "k", "80")); /* port taken: group 2, .2 */
        api_delete_svc(api, "default", "x");  /* .0 free */
        api_svc(api, KEYED("g3", "k", "80")); /* group 3: .0 */
        assert_string_equal(svc_ips(api, "default", "g1"), "10.0.10.1");
        assert_string_equal(svc_ips(api, "default", "g2"), "10.0.10.2");
        assert_string_equal(svc_ips(api, "default", "g3"), "10.0.10.0");
        return api;
}

/* Several groups of one key accept a service: it joins the group created
 * first, as Cilium does (its per-key list in allocation order), not the
 * lowest address. */
static void test_sharing_group_creation_order(void **state)
{
        struct api *api = three_groups();

        (void)state;
        /* fits all three groups: the oldest group (.1), not the lowest (.0) */
        api_svc(api, KEYED("s1", "k", "81"));
        assert_string_equal(svc_ips(api, "default", "s1"), "10.0.10.1");
        /* group 1 is now taken on 81: the next oldest, group 2 (.2) */
        api_svc(api, KEYED("s2", "k", "81"));
        assert_string_equal(svc_ips(api, "default", "s2"), "10.0.10.2");
        /* a group that dissolves and forms again is young */
        api_delete_svc(api, "default", "s1");
        api_delete_svc(api, "default", "g1"); /* .1 free */
        api_svc(api, KEYED("g4", "k", "80")); /* group 4: .1 */
        assert_string_equal(svc_ips(api, "default", "g4"), "10.0.10.1");
        api_svc(api, KEYED("s3", "k", "82"));
        assert_string_equal(svc_ips(api, "default", "s3"), "10.0.10.2");
        api_free(api);
}

/* After a restart the groups are created again in the import order
 * (satisfied services, oldest first): still not by address. */
static void test_sharing_group_order_after_restart(void **state)
{
        struct api *api = three_groups();

        (void)state;
        api_restart(api, false);
        assert_string_equal(svc_ips(api, "default", "g3"), "10.0.10.0");
        api_svc(api, KEYED("s1", "k", "81"));
        assert_string_equal(svc_ips(api, "default", "s1"), "10.0.10.1");
        api_free(api);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_shared_service_updated_sharing_key),
            cmocka_unit_test(test_shared_service_updated_ports),
            cmocka_unit_test(test_sharing_key),
            cmocka_unit_test(test_sharing_cross_namespace),
            cmocka_unit_test(test_shared_services_update_sharing_key_and_requested_ip),
            cmocka_unit_test(test_request_reserved_first_last_ip_with_sharing_key),
            cmocka_unit_test(test_sharing_respects_selector),
            cmocka_unit_test(test_is_compatible_reasons),
            cmocka_unit_test(test_incompatible_reason_in_condition),
            cmocka_unit_test(test_sharing_permit_different_pods),
            cmocka_unit_test(test_sharing_group_creation_order),
            cmocka_unit_test(test_sharing_group_order_after_restart),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
