/* Service requests: the 11 IP family cases of Cilium's
 * TestLBIPAM_serviceIPFamilyRequest, requested IP parsing (aliases,
 * trimming, duplicates, bad entries, the cap and its condition), classes;
 * and the condition merge helpers the shell uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>

#include "helpers.h"
#include "ipam/request.h"
#include "api/objects.h"
#include "lib/util.h"

static struct k8s_service *svc(const char *sq)
{
        json_t *j = sq_json("%s", sq);
        struct k8s_service *s = NULL;
        char *err = NULL;

        if (k8s_service_decode(j, &s, &err) < 0)
                fail_msg("%s", err);
        json_decref(j);
        return s;
}

/* TestLBIPAM_serviceIPFamilyRequest */
static void test_service_ip_family_request(void **state)
{
        static const struct {
                const char *name, *spec;
                bool v4_enabled, v6_enabled, want4, want6;
        } cases[] = {
            {"No policy, No families, IPv4", "", true, false, true, false},
            {"No policy, No families, IPv6", "", false, true, false, true},
            {"No policy, No families, IPv4/IPv6", "", true, true, true, false},
            {"No policy, IPv6 family, IPv4", "'ipFamilies':['IPv6']", true, false, false, true},
            {"No policy, IPv4 family, IPv6", "'ipFamilies':['IPv4']", false, true, true, false},
            {"No policy, IPv4/IPv6 family, No enabled", "'ipFamilies':['IPv4','IPv6']", false,
             false, true, false},
            {"No policy, IPv6/IPv4 family, No enabled", "'ipFamilies':['IPv6','IPv4']", false,
             false, false, true},
            {"Single stack, No families, IPv6/IPv4", "'ipFamilyPolicy':'SingleStack'", true, true,
             true, false},
            {"PreferDual, No families, IPv6/IPv4", "'ipFamilyPolicy':'PreferDualStack'", true, true,
             true, true},
            {"PreferDual, IPv4 family, IPv6",
             "'ipFamilyPolicy':'PreferDualStack','ipFamilies':['IPv4']", false, true, false, false},
            {"RequireDual, IPv4 family, IPv6",
             "'ipFamilyPolicy':'RequireDualStack','ipFamilies':['IPv4']", false, true, false, true},
        };

        (void)state;
        assert_int_equal(ELEMENTSOF(cases), 11);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *text =
                    g_strdup_printf("{'metadata':{'name':'x'},'spec':{'type':'LoadBalancer'%s%s}}",
                                    *cases[i].spec ? "," : "", cases[i].spec);
                struct k8s_service *s = svc(text);
                struct ipam_options o = opts(cases[i].v4_enabled, cases[i].v6_enabled);
                struct svc_request r;

                svc_request_parse(&o, s, &r);
                if (r.want4 != cases[i].want4 || r.want6 != cases[i].want6)
                        fail_msg("%s: got v4=%d v6=%d", cases[i].name, r.want4, r.want6);
                svc_request_done(&r);
                k8s_service_free(s);
        }
}

static void test_requested_ips_parsing(void **state)
{
        struct ipam_options o = opts(true, true);
        struct k8s_service *s;
        struct svc_request r;
        char buf[IPADDR_STRLEN];

        (void)state;
        s = svc("{'metadata':{'name':'x','annotations':{'lbipam.cilium.io/ips':' 10.0.0.2 ,,"
                "ff::1, 10.0.0.1,zz , 10.0.0.2','io.cilium/lb-ipam-ips':'10.9.9.9'}},'spec':{"
                "'type':'LoadBalancer','loadBalancerIP':'10.0.0.1'}}");
        svc_request_parse(&o, s, &r);
        assert_int_equal(r.n_ips, 3); /* the alias is shadowed, duplicates dropped */
        assert_string_equal(ipaddr_format(&r.ips[0], buf), "10.0.0.1");
        assert_string_equal(ipaddr_format(&r.ips[1], buf), "10.0.0.2");
        assert_string_equal(ipaddr_format(&r.ips[2], buf), "ff::1");
        assert_int_equal(strv_length(r.bad_entries), 1);
        assert_string_equal(r.bad_entries[0], "lbipam.cilium.io/ips: 'zz' is not an IP address");
        assert_null(r.sharing_key);
        svc_request_done(&r);
        k8s_service_free(s);

        s = svc("{'metadata':{'name':'x','annotations':{'io.cilium/lb-ipam-ips':'10.9.9.9',"
                "'io.cilium/lb-ipam-sharing-key':'k','io.cilium/lb-ipam-sharing-cross-namespace'"
                ":'a, b'}},'spec':{'type':'LoadBalancer','ports':[{'port':53,'protocol':'UDP'}],"
                "'externalTrafficPolicy':'Local','selector':{'app':'dns'}}}");
        svc_request_parse(&o, s, &r);
        assert_int_equal(r.n_ips, 1);
        assert_string_equal(r.sharing_key, "k");
        assert_int_equal(strv_length(r.cross_ns), 2);
        assert_string_equal(r.cross_ns[1], "b");
        assert_int_equal(r.n_ports, 1);
        assert_string_equal(r.ports[0].protocol, "UDP");
        assert_true(r.etp_local);
        assert_string_equal(labels_get(&r.selector, "app"), "dns");
        svc_request_done(&r);
        k8s_service_free(s);
}

static void test_managed(void **state)
{
        struct ipam_options o = opts(true, false);
        struct k8s_service *lb = svc("{'metadata':{'name':'x'},'spec':{'type':'LoadBalancer'}}");
        struct k8s_service *np = svc("{'metadata':{'name':'x'},'spec':{'type':'NodePort'}}");
        struct k8s_service *none = svc("{'metadata':{'name':'x'}}");
        struct k8s_service *other = svc("{'metadata':{'name':'x'},'spec':{'type':'LoadBalancer',"
                                        "'loadBalancerClass':'example.com/lb'}}");

        (void)state;
        assert_true(svc_request_managed(&o, lb));
        assert_false(svc_request_managed(&o, np));
        assert_false(svc_request_managed(&o, none));
        assert_false(svc_request_managed(&o, other));
        o.default_lbipam = false;
        assert_false(svc_request_managed(&o, lb));
        k8s_service_free(lb);
        k8s_service_free(np);
        k8s_service_free(none);
        k8s_service_free(other);
}

/* n distinct IPv4 entries "10.0.1.0, 10.0.1.1, …" (with blanks) */
static char *ip_list(size_t n)
{
        GString *g = g_string_new(NULL);

        for (size_t i = 0; i < n; i++)
                g_string_append_printf(g, "%s 10.0.%zu.%zu", i ? "," : "", 1 + i / 256, i % 256);
        return g_string_free(g, FALSE);
}

static struct k8s_service *svc_with_ips(const char *key, const char *ips, const char *lb_ip)
{
        g_autofree char *text = g_strdup_printf("{'metadata':{'name':'x','annotations':{'%s':'%s'}}"
                                                ",'spec':{'type':'LoadBalancer'%s%s%s}}",
                                                key, ips, lb_ip ? ",'loadBalancerIP':'" : "",
                                                lb_ip ? lb_ip : "", lb_ip ? "'" : "");

        return svc(text);
}

static void test_requested_ips_order_and_blanks(void **state)
{
        struct ipam_options o = opts(true, true);
        struct k8s_service *s;
        struct svc_request r;
        char buf[IPADDR_STRLEN];

        (void)state;
        /* duplicates dropped, the first occurrence keeps its place */
        s = svc_with_ips(IPAM_ANNOTATION_IPS,
                         "\\t10.0.0.3 ,10.0.0.1,\\n10.0.0.3, , ff::1,10.0.0.2,ff::1 ,10.0.0.1,",
                         "10.0.0.2");
        svc_request_parse(&o, s, &r);
        assert_int_equal(r.n_ips, 4);
        assert_string_equal(ipaddr_format(&r.ips[0], buf), "10.0.0.2");
        assert_string_equal(ipaddr_format(&r.ips[1], buf), "10.0.0.3");
        assert_string_equal(ipaddr_format(&r.ips[2], buf), "10.0.0.1");
        assert_string_equal(ipaddr_format(&r.ips[3], buf), "ff::1");
        assert_null(r.bad_entries);
        assert_null(r.refusal);
        svc_request_done(&r);
        k8s_service_free(s);

        /* only blanks and commas: no request at all */
        s = svc_with_ips(IPAM_ANNOTATION_IPS, " , ,, ", NULL);
        svc_request_parse(&o, s, &r);
        assert_int_equal(r.n_ips, 0);
        assert_null(r.ips);
        assert_null(r.bad_entries);
        assert_true(r.want4);
        svc_request_done(&r);
        k8s_service_free(s);

        /* a long bad entry is quoted in part, cut before a UTF-8 character */
        s = svc_with_ips(IPAM_ANNOTATION_IPS,
                         "a123456789012345678901234567890123456789012345678901234567890123,"
                         "b12345678901234567890123456789012345678901234567890123456789012\u00e9z",
                         NULL);
        svc_request_parse(&o, s, &r);
        assert_int_equal(strv_length(r.bad_entries), 2);
        assert_string_equal(r.bad_entries[0],
                            "lbipam.cilium.io/ips: "
                            "'a123456789012345678901234567890123456789012345678901234567890123' "
                            "is not an IP address");
        assert_string_equal(r.bad_entries[1],
                            "lbipam.cilium.io/ips: "
                            "'b12345678901234567890123456789012345678901234567890123456789012...' "
                            "is not an IP address");
        svc_request_done(&r);
        k8s_service_free(s);
}

static void test_requested_ips_cap(void **state)
{
        struct ipam_options o = opts(true, true);
        g_autofree char *at_cap = ip_list(IPAM_REQUEST_MAX_IPS);
        g_autofree char *over = ip_list(IPAM_REQUEST_MAX_IPS + 1);
        GString *bad = g_string_new(NULL);
        struct k8s_service *s;
        struct svc_request r;

        (void)state;
        /* at the cap: every entry requested, plus spec.loadBalancerIP */
        s = svc_with_ips(IPAM_ANNOTATION_IPS, at_cap, "10.9.9.9");
        svc_request_parse(&o, s, &r);
        assert_int_equal(r.n_ips, IPAM_REQUEST_MAX_IPS + 1);
        assert_null(r.refusal);
        svc_request_done(&r);
        k8s_service_free(s);

        /* one more: refused as a whole, nothing requested nor wanted */
        s = svc_with_ips(IPAM_ANNOTATION_IPS_ALIAS, over, "10.9.9.9");
        svc_request_parse(&o, s, &r);
        assert_int_equal(r.n_ips, 0);
        assert_null(r.ips);
        assert_null(r.bad_entries);
        assert_false(r.want4);
        assert_false(r.want6);
        assert_string_equal(r.refusal, "The annotation 'io.cilium/lb-ipam-ips' lists 65 entries, "
                                       "more than the 64 allowed; no IP is allocated to this "
                                       "service");
        svc_request_done(&r);
        k8s_service_free(s);

        /* bad entries and duplicates count too; empty ones do not */
        for (int i = 0; i < 100; i++)
                g_string_append(bad, i % 2 ? "zz, ," : "10.0.0.1,");
        s = svc_with_ips(IPAM_ANNOTATION_IPS, bad->str, NULL);
        svc_request_parse(&o, s, &r);
        assert_null(r.bad_entries);
        assert_string_equal(r.refusal, "The annotation 'lbipam.cilium.io/ips' lists 100 entries, "
                                       "more than the 64 allowed; no IP is allocated to this "
                                       "service");
        svc_request_done(&r);
        k8s_service_free(s);
        g_string_free(bad, TRUE);
}

/* The core: the refused Service holds no IP and its condition says why. */
static void test_requested_ips_cap_condition(void **state)
{
        struct api *api = api_new_started(true, false);
        g_autofree char *over = ip_list(IPAM_REQUEST_MAX_IPS + 1);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.0.0/16'}]}}");
        api_svc(api, "{'metadata':{'name':'s','annotations':{'lbipam.cilium.io/ips':"
                     "'10.0.1.1,10.0.1.2'}},'spec':{'type':'LoadBalancer'}}");
        assert_string_equal(svc_ips(api, "default", "s"), "10.0.1.1,10.0.1.2");
        assert_string_equal(svc_reason(api, "default", "s"), "satisfied");

        api_patch_svc(api, "default", "s",
                      "{'metadata':{'annotations':{'lbipam.cilium.io/ips':'%s'}}}", over);
        assert_string_equal(svc_ips(api, "default", "s"), "");
        assert_string_equal(svc_status(api, "default", "s"), "False");
        assert_string_equal(svc_reason(api, "default", "s"), IPAM_REASON_TOO_MANY_IPS);
        assert_string_equal(svc_message(api, "default", "s"),
                            "The annotation 'lbipam.cilium.io/ips' lists 65 entries, more than "
                            "the 64 allowed; no IP is allocated to this service");
        assert_int_equal(svc_n_conditions(api, "default", "s"), 1);
        assert_true(events_contain(api, "Released IP 10.0.1.1: the service requests too many IPs"));
        assert_false(events_contain(api, "InvalidAnnotation"));
        assert_int_equal(ipam_n_allocations(api->ipam), 0);

        /* back under the cap: granted again */
        api_patch_svc(api, "default", "s",
                      "{'metadata':{'annotations':{'lbipam.cilium.io/ips':'10.0.1.3'}}}");
        assert_string_equal(svc_ips(api, "default", "s"), "10.0.1.3");
        assert_string_equal(svc_reason(api, "default", "s"), "satisfied");
        api_free(api);
}

/* lbipam.cilium.io/sharing-permit-different-pods is read like Go's
 * strconv.ParseBool (Cilium PR #45819); anything else is false and
 * described; there is no io.cilium/ alias. */
static void test_permit_different_pods_parsing(void **state)
{
        static const struct {
                const char *value;
                bool permit;
                const char *bad;
        } cases[] = {
            {NULL, false, NULL},
            {"true", true, NULL},
            {"True", true, NULL},
            {"TRUE", true, NULL},
            {"t", true, NULL},
            {"T", true, NULL},
            {"1", true, NULL},
            {"false", false, NULL},
            {"False", false, NULL},
            {"FALSE", false, NULL},
            {"f", false, NULL},
            {"F", false, NULL},
            {"0", false, NULL},
            {"yes", false,
             "lbipam.cilium.io/sharing-permit-different-pods: 'yes' is not a "
             "boolean (true or false); taken as false"},
            {"", false,
             "lbipam.cilium.io/sharing-permit-different-pods: '' is not a boolean "
             "(true or false); taken as false"},
            {" true", false,
             "lbipam.cilium.io/sharing-permit-different-pods: ' true' is not a "
             "boolean (true or false); taken as false"},
            {"tRUE", false,
             "lbipam.cilium.io/sharing-permit-different-pods: 'tRUE' is not a "
             "boolean (true or false); taken as false"},
        };
        struct ipam_options o = opts(true, false);

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree char *j =
                    cases[i].value
                        ? g_strdup_printf("{'metadata':{'name':'x','annotations':{'lbipam.cilium."
                                          "io/sharing-permit-different-pods':'%s'}},'spec':{"
                                          "'type':'LoadBalancer'}}",
                                          cases[i].value)
                        : g_strdup("{'metadata':{'name':'x'},'spec':{'type':'LoadBalancer'}}");
                struct k8s_service *s = svc(j);
                struct svc_request r;

                svc_request_parse(&o, s, &r);
                assert_int_equal(r.permit_different_pods, cases[i].permit);
                if (cases[i].bad)
                        assert_string_equal(r.bad_permit, cases[i].bad);
                else
                        assert_null(r.bad_permit);
                assert_null(r.bad_entries);
                svc_request_done(&r);
                k8s_service_free(s);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_service_ip_family_request),
            cmocka_unit_test(test_requested_ips_parsing),
            cmocka_unit_test(test_managed),
            cmocka_unit_test(test_requested_ips_order_and_blanks),
            cmocka_unit_test(test_requested_ips_cap),
            cmocka_unit_test(test_requested_ips_cap_condition),
            cmocka_unit_test(test_permit_different_pods_parsing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
