/* Label sets and label selectors: every operator, and malformed selectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "lib/labels.h"
#include "lib/util.h"

static struct selector *sel(const char *json_text)
{
        json_error_t jerr;
        json_t *j = json_loads(json_text, 0, &jerr);
        struct selector *s = NULL;
        char *err = NULL;

        assert_non_null(j);
        if (selector_from_json(j, &s, &err) < 0)
                fail_msg("selector %s: %s", json_text, err);
        json_decref(j);
        return s;
}

static char *sel_error(const char *json_text)
{
        json_t *j = json_loads(json_text, 0, NULL);
        struct selector *s = NULL;
        char *err = NULL;

        assert_non_null(j);
        assert_int_equal(selector_from_json(j, &s, &err), -EINVAL);
        assert_null(s);
        assert_non_null(err);
        json_decref(j);
        return err;
}

static struct labels L(const char *const *kv) {
        struct labels l = {0};

        for (; kv && kv[0]; kv += 2)
                labels_set(&l, kv[0], kv[1]);
        return l;
}

static void
test_labels(void **state)
{
        struct labels a = L((const char *[]){"b", "2", "a", "1", "c", "3", NULL}), b;

        (void)state;
        assert_int_equal(a.n, 3);
        assert_string_equal(a.items[0].key, "a");
        assert_string_equal(labels_get(&a, "c"), "3");
        assert_null(labels_get(&a, "d"));
        labels_set(&a, "b", "two");
        assert_string_equal(labels_get(&a, "b"), "two");
        labels_copy(&b, &a);
        assert_true(labels_equal(&a, &b));
        labels_set(&b, "b", "2");
        assert_false(labels_equal(&a, &b));
        labels_done(&a);
        labels_done(&b);
}

static void test_operators(void **state)
{
        struct labels blue = L((const char *[]){"color", "blue", "tier", "web", NULL});
        struct labels red = L((const char *[]){"color", "red", NULL});
        struct labels none = {0};
        struct selector *s;

        (void)state;
        assert_true(selector_matches(NULL, &blue)); /* absent: everything */
        s = sel("{}");
        assert_true(selector_matches(s, &none)); /* empty: everything */
        selector_free(s);

        s = sel("{\"matchLabels\":{\"color\":\"blue\"}}");
        assert_true(selector_matches(s, &blue));
        assert_false(selector_matches(s, &red));
        assert_false(selector_matches(s, &none));
        selector_free(s);

        s = sel("{\"matchExpressions\":[{\"key\":\"color\",\"operator\":\"In\",\"values\":[\"red\","
                "\"green\"]}]}");
        assert_false(selector_matches(s, &blue));
        assert_true(selector_matches(s, &red));
        selector_free(s);

        s = sel("{\"matchExpressions\":[{\"key\":\"color\",\"operator\":\"NotIn\",\"values\":["
                "\"red\"]}]}");
        assert_true(selector_matches(s, &blue));
        assert_false(selector_matches(s, &red));
        assert_true(selector_matches(s, &none)); /* NotIn matches a missing key */
        selector_free(s);

        s = sel("{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"Exists\"}]}");
        assert_true(selector_matches(s, &blue));
        assert_false(selector_matches(s, &red));
        selector_free(s);

        /* the seed's nodeSelector */
        s = sel("{\"matchExpressions\":[{\"key\":\"node-role.kubernetes.io/control-plane\","
                "\"operator\":\"DoesNotExist\"}]}");
        {
                struct labels cp =
                    L((const char *[]){"node-role.kubernetes.io/control-plane", "", NULL});

                assert_false(selector_matches(s, &cp));
                assert_true(selector_matches(s, &red));
                labels_done(&cp);
        }
        selector_free(s);

        /* requirements are AND-ed */
        s = sel("{\"matchLabels\":{\"color\":\"blue\"},\"matchExpressions\":[{\"key\":\"tier\","
                "\"operator\":\"NotIn\",\"values\":[\"web\"]}]}");
        assert_false(selector_matches(s, &blue));
        selector_free(s);
        labels_done(&blue);
        labels_done(&red);
}

static void expect(const char *json_text, const char *fragment)
{
        char *err = sel_error(json_text);

        if (!strstr(err, fragment))
                fail_msg("error \"%s\" lacks \"%s\"", err, fragment);
        free(err);
}

static void test_malformed(void **state)
{
        (void)state;
        expect(
            "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Contains\",\"values\":[\"x\"]}]}",
            "\"Contains\" is not a valid label selector operator");
        expect("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
               "values set can't be empty");
        expect("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}",
               "values set can't be empty");
        expect(
            "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
            "values set must be empty");
        expect("{\"matchExpressions\":[{\"key\":\"-bad\",\"operator\":\"Exists\"}]}",
               "name part must consist of alphanumeric");
        expect("{\"matchExpressions\":[{\"operator\":\"Exists\"}]}", "key: Required value");
        expect("{\"matchExpressions\":[{\"key\":\"a\"}]}", "operator: Required value");
        expect("{\"matchLabels\":{\"a\":\"bad value!\"}}", "a valid label must be");
        expect("{\"matchLabels\":{\"Bad_Prefix/a\":\"x\"}}", "prefix part must be");
        expect("{\"matchLabels\":{\"a\":1}}", "expected a string");
        expect("{\"matchLabels\":[]}", "matchLabels: expected an object");
        expect("{\"matchExpressions\":{}}", "matchExpressions: expected a list");
        expect("[]", "expected an object");
        expect("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[1]}]}",
               "expected a string");
}

static void test_names(void **state)
{
        char long_name[70];

        (void)state;
        assert_null(label_key_invalid("app"));
        assert_null(label_key_invalid("io.kubernetes.service.name"));
        assert_null(label_key_invalid("example.com/my-key_1"));
        assert_non_null(label_key_invalid(""));
        assert_non_null(label_key_invalid("/a"));
        assert_non_null(label_key_invalid("a/"));
        assert_non_null(label_key_invalid("a/b/c"));
        assert_non_null(label_key_invalid("a_"));
        memset(long_name, 'a', 64);
        long_name[64] = 0;
        assert_non_null(label_key_invalid(long_name));
        assert_non_null(label_value_invalid(long_name));
        assert_null(label_value_invalid(""));
        assert_null(label_value_invalid("blue"));
        assert_non_null(label_value_invalid("blue "));
}

static void test_equal(void **state)
{
        struct selector *a = sel("{\"matchLabels\":{\"color\":\"blue\"}}");
        struct selector *b = sel("{\"matchExpressions\":[{\"key\":\"color\",\"operator\":\"In\","
                                 "\"values\":[\"blue\"]}]}");
        struct selector *c = sel("{\"matchLabels\":{\"color\":\"red\"}}");

        (void)state;
        assert_true(selector_equal(a, b));
        assert_false(selector_equal(a, c));
        assert_false(selector_equal(a, NULL));
        assert_true(selector_equal(NULL, NULL));
        selector_free(a);
        selector_free(b);
        selector_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_labels),    cmocka_unit_test(test_operators),
            cmocka_unit_test(test_malformed), cmocka_unit_test(test_names),
            cmocka_unit_test(test_equal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
