/* l2lb -o json|yaml: what a reader gets back is what was meant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"

static char *render(json_t *v, enum output_format fmt)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_int_equal(output_print(v, fmt, f), 0);
        fclose(f);
        return buf;
}

static void test_parse(void **state)
{
        enum output_format f;

        (void)state;
        assert_int_equal(output_parse("json", &f), 0);
        assert_int_equal(f, OUTPUT_JSON);
        assert_int_equal(output_parse("yaml", &f), 0);
        assert_int_equal(f, OUTPUT_YAML);
        assert_int_equal(output_parse("table", &f), 0);
        assert_int_equal(f, OUTPUT_TABLE);
        assert_int_equal(output_parse("xml", &f), -EINVAL);
        assert_int_equal(output_parse("JSON", &f), -EINVAL);
}

static void test_yaml_types(void **state)
{
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:b, s:n, s:s, s:[s]}", "plain", "node-a",
                              "boolish", "true", "numeric", "15", "count", 3, "flag", 0, "none",
                              "mac", "02:00:00:00:00:01", "ips", "10.0.0.1");
        char *y;

        (void)state;
        y = render(o, OUTPUT_YAML);
        assert_non_null(strstr(y, "plain: node-a\n"));
        assert_non_null(strstr(y, "boolish: \"true\"\n")); /* a string, not a boolean */
        assert_non_null(strstr(y, "numeric: \"15\"\n"));
        assert_non_null(strstr(y, "count: 3\n"));
        assert_non_null(strstr(y, "flag: false\n"));
        assert_non_null(strstr(y, "none: null\n"));
        assert_non_null(strstr(y, "mac: \"02:00:00:00:00:01\"\n"));
        assert_non_null(strstr(y, "ips:\n- 10.0.0.1\n"));
        free(y);
        json_decref(o);
}

/* API strings are escaped before any format: no raw control character or
 * non-ASCII byte reaches the terminal. */
static void test_escaped(void **state)
{
        json_t *o = json_object();
        char *out;

        (void)state;
        json_object_set_new(o, "holder", output_str("evil\x1b[2J\nnode\xc3\xa9"));
        json_object_set_new(o, "absent", output_str(NULL));
        for (int fmt = OUTPUT_JSON; fmt <= OUTPUT_YAML; fmt++) {
                out = render(o, (enum output_format)fmt);
                for (const unsigned char *p = (const unsigned char *)out; *p; p++)
                        assert_true(*p == '\n' || (*p >= ' ' && *p < 0x7f));
                assert_non_null(strstr(out, "evil"));
                assert_non_null(strstr(out, "null"));
                free(out);
        }
        json_decref(o);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse),
            cmocka_unit_test(test_yaml_types),
            cmocka_unit_test(test_escaped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
