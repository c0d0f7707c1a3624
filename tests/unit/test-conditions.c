/* Status conditions (api/conditions.c): set/remove/find/merge with
 * apimachinery's lastTransitionTime rules, JSON in and out, malformed input
 * refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "api/conditions.h"
#include "lib/util.h"

#define T2020         "2020-01-01T00:00:00Z"
#define T2025         "2025-01-01T00:00:00Z"
#define T2025_USEC    (INT64_C(1735689600) * 1000000)
#define T2025FEB      "2025-02-02T00:00:00Z"
#define T2025FEB_USEC (INT64_C(1738454400) * 1000000)

/* JSON with single quotes for readability. */
static json_t *J(const char *sq)
{
        _cleanup_free_ char *text = xstrdup(sq);
        json_error_t e;
        json_t *j;

        for (char *p = text; *p; p++)
                if (*p == '\'')
                        *p = '"';
        j = json_loads(text, 0, &e);
        if (!j)
                fail_msg("bad test JSON: %s: %s", e.text, text);
        return j;
}

static struct k8s_conditions conds(const char *sq_array)
{
        json_t *j = J(sq_array);
        struct k8s_conditions c;
        char *err = NULL;

        if (k8s_conditions_from_json(j, "status.conditions", &c, &err) < 0)
                fail_msg("%s", err);
        json_decref(j);
        return c;
}

static void assert_json(json_t *got, const char *sq_want)
{
        json_t *want = J(sq_want);

        if (!json_equal(got, want)) {
                _cleanup_free_ char *g = json_dumps(got, JSON_SORT_KEYS);
                _cleanup_free_ char *w = json_dumps(want, JSON_SORT_KEYS);

                fail_msg("got %s, want %s", g, w);
        }
        json_decref(want);
        json_decref(got);
}

static void test_from_json(void **state)
{
        struct k8s_conditions c = conds("[{'type':'A','status':'True','reason':'r','message':'m',"
                                        "'observedGeneration':3,'lastTransitionTime':'" T2020 "'},"
                                        "{'type':'B','reason':null}]");

        (void)state;
        assert_int_equal(c.n, 2);
        assert_string_equal(c.items[0].type, "A");
        assert_string_equal(c.items[0].status, "True");
        assert_string_equal(c.items[0].reason, "r");
        assert_string_equal(c.items[0].message, "m");
        assert_int_equal(c.items[0].observed_generation, 3);
        assert_string_equal(c.items[0].last_transition_time, T2020);
        /* defaults: status Unknown, reason and message empty, no time */
        assert_string_equal(c.items[1].status, "Unknown");
        assert_string_equal(c.items[1].reason, "");
        assert_string_equal(c.items[1].message, "");
        assert_int_equal(c.items[1].observed_generation, 0);
        assert_null(c.items[1].last_transition_time);
        k8s_conditions_done(&c);

        /* absent or null: empty */
        assert_int_equal(k8s_conditions_from_json(NULL, "status.conditions", &c, NULL), 0);
        assert_int_equal(c.n, 0);
        assert_int_equal(k8s_conditions_from_json(json_null(), "status.conditions", &c, NULL), 0);
        assert_int_equal(c.n, 0);
}

static void expect_refused(const char *sq, const char *reason)
{
        json_t *j = J(sq);
        struct k8s_conditions c = {.n = 99};
        char *err = NULL;

        assert_int_equal(k8s_conditions_from_json(j, "status.conditions", &c, &err), -EINVAL);
        assert_int_equal(c.n, 0);
        assert_null(c.items);
        if (!err || !streq(err, reason))
                fail_msg("error \"%s\", want \"%s\"", err, reason);
        free(err);
        /* without a place for the reason */
        assert_int_equal(k8s_conditions_from_json(j, "status.conditions", &c, NULL), -EINVAL);
        json_decref(j);
}

static void test_from_json_malformed(void **state)
{
        (void)state;
        expect_refused("{}", "status.conditions: expected a list");
        expect_refused("[5]", "status.conditions[0]: expected an object");
        expect_refused("[{'type':'A'},{}]", "status.conditions[1].type: missing");
        expect_refused("[{'type':7}]", "conditions[].type: expected a string");
        expect_refused("[{'type':'A','status':true}]", "conditions[].status: expected a string");
        expect_refused("[{'type':'A','reason':[]}]", "conditions[].reason: expected a string");
        expect_refused("[{'type':'A','message':{}}]", "conditions[].message: expected a string");
        expect_refused("[{'type':'A','observedGeneration':'1'}]",
                       "conditions[].observedGeneration: expected an integer");
        expect_refused("[{'type':'A','observedGeneration':1.5}]",
                       "conditions[].observedGeneration: expected an integer");
        expect_refused("[{'type':'A','lastTransitionTime':1}]",
                       "conditions[].lastTransitionTime: expected a string");
        /* the first error wins */
        expect_refused("[{'status':1}]", "conditions[].status: expected a string");
}

static void test_to_json(void **state)
{
        struct k8s_conditions c =
            conds("[{'type':'A','status':'True','reason':'r','message':'m',"
                  "'observedGeneration':3,'lastTransitionTime':'" T2020 "'},{'type':'B'}]");

        (void)state;
        assert_json(k8s_conditions_to_json(&c),
                    "[{'type':'A','status':'True','observedGeneration':3,"
                    "'lastTransitionTime':'" T2020 "','reason':'r','message':'m'},"
                    "{'type':'B','status':'Unknown','observedGeneration':0,'reason':'',"
                    "'message':''}]");
        /* the order of the keys, as the status patches have always had it */
        {
                json_t *a = k8s_conditions_to_json(&c);
                _cleanup_free_ char *text = json_dumps(json_array_get(a, 0), JSON_COMPACT);

                assert_string_equal(text, "{\"type\":\"A\",\"status\":\"True\","
                                          "\"observedGeneration\":3,\"lastTransitionTime\":\"" T2020
                                          "\",\"reason\":\"r\",\"message\":\"m\"}");
                json_decref(a);
        }
        k8s_conditions_done(&c);
        assert_json(k8s_conditions_to_json(&c), "[]");
        assert_json(k8s_conditions_to_json(NULL), "[]");
}

static void test_find(void **state)
{
        struct k8s_conditions c = conds("[{'type':'A','reason':'first'},{'type':'B'},"
                                        "{'type':'A','reason':'second'}]");

        (void)state;
        assert_string_equal(k8s_conditions_find(&c, "A")->reason, "first");
        assert_ptr_equal(k8s_conditions_find(&c, "B"), &c.items[1]);
        assert_null(k8s_conditions_find(&c, "C"));
        assert_null(k8s_conditions_find(NULL, "A"));
        k8s_conditions_done(&c);
}

static void test_set(void **state)
{
        struct k8s_conditions c =
            conds("[{'type':'Other','status':'True','lastTransitionTime':'" T2020
                  "'},{'type':'A','status':'False','reason':'r',"
                  "'message':'m','observedGeneration':1,"
                  "'lastTransitionTime':'" T2020 "'}]");
        struct k8s_condition want = {
            .type = (char *)"A",
            .status = (char *)"False",
            .reason = (char *)"r",
            .message = (char *)"m",
            .observed_generation = 1,
        };
        const struct k8s_condition *k = &c.items[1];

        (void)state;
        /* the same: no change */
        assert_false(k8s_conditions_set(&c, &want, T2025_USEC));
        /* reason, message, generation in place; the time stays */
        want.reason = (char *)"r2";
        assert_true(k8s_conditions_set(&c, &want, T2025_USEC));
        assert_string_equal(k->reason, "r2");
        want.message = NULL; /* written as "" */
        assert_true(k8s_conditions_set(&c, &want, T2025_USEC));
        assert_string_equal(k->message, "");
        want.observed_generation = 2;
        assert_true(k8s_conditions_set(&c, &want, T2025_USEC));
        assert_int_equal(k->observed_generation, 2);
        assert_string_equal(k->last_transition_time, T2020);
        /* a new status: now */
        want.status = (char *)"True";
        assert_true(k8s_conditions_set(&c, &want, T2025_USEC));
        assert_string_equal(k->status, "True");
        assert_string_equal(k->last_transition_time, T2025);
        /* a transition time given with the condition wins over now */
        want.status = (char *)"False";
        want.last_transition_time = (char *)T2025FEB;
        assert_true(k8s_conditions_set(&c, &want, T2025_USEC));
        assert_string_equal(k->last_transition_time, T2025FEB);
        /* ... but only on a transition */
        want.last_transition_time = (char *)T2020;
        assert_false(k8s_conditions_set(&c, &want, T2025_USEC));
        assert_string_equal(k->last_transition_time, T2025FEB);
        /* absent: appended, with now */
        want = (struct k8s_condition){.type = (char *)"New", .status = (char *)"Unknown"};
        assert_true(k8s_conditions_set(&c, &want, T2025FEB_USEC));
        assert_int_equal(c.n, 3);
        assert_string_equal(c.items[2].type, "New");
        assert_string_equal(c.items[2].reason, "");
        assert_string_equal(c.items[2].message, "");
        assert_string_equal(c.items[2].last_transition_time, T2025FEB);
        /* others untouched */
        assert_string_equal(c.items[0].type, "Other");
        assert_string_equal(c.items[0].last_transition_time, T2020);
        k8s_conditions_done(&c);

        /* into an empty list */
        c = (struct k8s_conditions){0};
        assert_true(k8s_conditions_set(&c, &want, T2025_USEC));
        assert_int_equal(c.n, 1);
        assert_string_equal(c.items[0].last_transition_time, T2025);
        k8s_conditions_done(&c);
}

static void test_set_keeps_missing_time(void **state)
{
        /* an object without lastTransitionTime keeps none until a transition */
        struct k8s_conditions c = conds("[{'type':'A','status':'True'}]");
        struct k8s_condition want = {.type = (char *)"A", .status = (char *)"True"};

        (void)state;
        assert_false(k8s_conditions_set(&c, &want, T2025_USEC));
        assert_null(c.items[0].last_transition_time);
        want.status = (char *)"False";
        assert_true(k8s_conditions_set(&c, &want, T2025_USEC));
        assert_string_equal(c.items[0].last_transition_time, T2025);
        k8s_conditions_done(&c);
}

static void test_remove(void **state)
{
        struct k8s_conditions c = conds("[{'type':'A'},{'type':'B'},{'type':'A'}]");

        (void)state;
        assert_true(k8s_conditions_remove(&c, "A"));
        assert_int_equal(c.n, 1);
        assert_string_equal(c.items[0].type, "B");
        assert_false(k8s_conditions_remove(&c, "A"));
        assert_true(k8s_conditions_remove(&c, "B"));
        assert_int_equal(c.n, 0);
        assert_false(k8s_conditions_remove(&c, "B"));
        k8s_conditions_done(&c);
}

/* Moved from test-ipam-request (ipam_conditions_merge became this). */
static void test_merge(void **state)
{
        struct k8s_conditions c =
            conds("[{'type':'Other','status':'True','lastTransitionTime':'" T2020 "'},"
                  "{'type':'cilium.io/IPAMRequestSatisfied','status':'False','reason':'no_pool',"
                  "'message':'m','observedGeneration':1,'lastTransitionTime':"
                  "'" T2020 "'},{'type':'cilium.io/IPAMRequestSatisfied','status':"
                  "'False'}]");
        struct k8s_condition want = {
            .type = (char *)"cilium.io/IPAMRequestSatisfied",
            .status = (char *)"False",
            .reason = (char *)"no_pool",
            .message = (char *)"m",
            .observed_generation = 1,
        };
        const struct k8s_condition *k;

        (void)state;
        /* the duplicate goes */
        assert_true(k8s_conditions_merge(&c, &want, 1, T2025_USEC));
        assert_int_equal(c.n, 2);
        assert_false(k8s_conditions_merge(&c, &want, 1, T2025_USEC));
        /* same status: the transition time stays */
        want.reason = (char *)"out_of_ips";
        want.observed_generation = 2;
        assert_true(k8s_conditions_merge(&c, &want, 1, T2025_USEC));
        k = k8s_conditions_find(&c, "cilium.io/IPAMRequestSatisfied");
        assert_string_equal(k->last_transition_time, T2020);
        assert_int_equal(k->observed_generation, 2);
        /* a new status: now */
        want.status = (char *)"True";
        want.reason = (char *)"satisfied";
        want.message = (char *)"";
        assert_true(k8s_conditions_merge(&c, &want, 1, T2025_USEC));
        assert_string_equal(k->last_transition_time, T2025);
        assert_string_equal(k->message, "");
        /* foreign types untouched */
        k = k8s_conditions_find(&c, "Other");
        assert_string_equal(k->last_transition_time, T2020);
        /* a new type is appended */
        want.type = (char *)"cilium.io/New";
        assert_true(k8s_conditions_merge(&c, &want, 1, T2025FEB_USEC));
        assert_int_equal(c.n, 3);
        assert_string_equal(c.items[2].last_transition_time, T2025FEB);
        assert_true(k8s_conditions_remove(&c, "cilium.io/IPAMRequestSatisfied"));
        assert_int_equal(c.n, 2);
        assert_false(k8s_conditions_remove(&c, "cilium.io/IPAMRequestSatisfied"));
        k8s_conditions_done(&c);
}

static void test_merge_several(void **state)
{
        struct k8s_conditions c = conds("[{'type':'X','status':'True'},{'type':'B','status':'True',"
                                        "'lastTransitionTime':'" T2020 "'}]");
        struct k8s_condition wanted[] = {
            {.type = (char *)"A", .status = (char *)"True", .reason = (char *)"a"},
            {.type = (char *)"B", .status = (char *)"True", .reason = (char *)"b"},
            {.type = (char *)"C", .status = (char *)"False"},
        };

        (void)state;
        assert_true(k8s_conditions_merge(&c, wanted, ELEMENTSOF(wanted), T2025_USEC));
        assert_json(
            k8s_conditions_to_json(&c),
            "[{'type':'X','status':'True','observedGeneration':0,'reason':'','message':''},"
            "{'type':'B','status':'True','observedGeneration':0,'lastTransitionTime':'" T2020
            "','reason':'b','message':''},"
            "{'type':'A','status':'True','observedGeneration':0,'lastTransitionTime':'" T2025
            "','reason':'a','message':''},"
            "{'type':'C','status':'False','observedGeneration':0,'lastTransitionTime':'" T2025
            "','reason':'','message':''}]");
        assert_false(k8s_conditions_merge(&c, wanted, ELEMENTSOF(wanted), T2025FEB_USEC));
        assert_false(k8s_conditions_merge(&c, NULL, 0, T2025FEB_USEC));
        k8s_conditions_done(&c);
}

static void test_copy(void **state)
{
        struct k8s_conditions c =
            conds("[{'type':'A','status':'True','reason':'r','message':'m',"
                  "'observedGeneration':3,'lastTransitionTime':'" T2020 "'},{'type':'B'}]");
        struct k8s_conditions d, e;

        (void)state;
        k8s_conditions_copy(&d, &c);
        assert_int_equal(d.n, 2);
        assert_ptr_not_equal(d.items[0].type, c.items[0].type);
        assert_json(k8s_conditions_to_json(&d),
                    "[{'type':'A','status':'True','observedGeneration':3,"
                    "'lastTransitionTime':'" T2020 "','reason':'r',"
                    "'message':'m'},{'type':'B','status':'Unknown',"
                    "'observedGeneration':0,'reason':'','message':''}]");
        k8s_conditions_done(&c);
        k8s_conditions_copy(&e, &c); /* of an empty list */
        assert_int_equal(e.n, 0);
        k8s_conditions_done(&e);
        k8s_conditions_done(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_from_json),     cmocka_unit_test(test_from_json_malformed),
            cmocka_unit_test(test_to_json),       cmocka_unit_test(test_find),
            cmocka_unit_test(test_set),           cmocka_unit_test(test_set_keeps_missing_time),
            cmocka_unit_test(test_remove),        cmocka_unit_test(test_merge),
            cmocka_unit_test(test_merge_several), cmocka_unit_test(test_copy),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
