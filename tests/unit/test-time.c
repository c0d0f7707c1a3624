/* RFC 3339 times (k8s_time_parse, k8s_time_format): the forms Kubernetes
 * writes and RFC 3339 allows, and everything else refused. Every input is a
 * heap copy of exactly its length, so a read past the NUL shows under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/objects.h"
#include "lib/util.h"

#define SENTINEL INT64_C(0x5a5a5a5a5a5a5a5a)

/* Parses a heap copy of the first n bytes of s; on failure ret is untouched. */
static int parse_n(const char *s, size_t n, int64_t *ret)
{
        _cleanup_free_ char *copy = xstrndup(s, n);

        return k8s_time_parse(copy, ret);
}

static int parse(const char *s, int64_t *ret)
{
        return parse_n(s, strlen(s), ret);
}

static void test_time(void **state)
{
        int64_t t;
        char buf[64];

        (void)state;
        assert_int_equal(k8s_time_parse("2026-11-26T10:00:02.500000Z", &t), 0);
        assert_true(t == 1795687202500000LL);
        assert_string_equal(k8s_time_format(t, true, buf, sizeof(buf)),
                            "2026-11-26T10:00:02.500000Z");
        assert_string_equal(k8s_time_format(t, false, buf, sizeof(buf)), "2026-11-26T10:00:02Z");
        assert_int_equal(k8s_time_parse("2026-11-26T11:00:02+01:00", &t), 0);
        assert_true(t == 1795687202000000LL);
        assert_int_equal(k8s_time_parse("2026-11-26 10:00:02", &t), -EINVAL);
        assert_int_equal(k8s_time_parse("2026-11-26T10:00:02", &t), -EINVAL);
        assert_int_equal(k8s_time_parse("2026-11-26T10:00:02Zjunk", &t), -EINVAL);
}

static const struct {
        const char *text;
        int64_t usec;
} valid[] = {
    {"2006-01-02T15:04:05Z", 1136214245000000LL},
    {"2006-01-02T15:04:05.000000Z", 1136214245000000LL},
    {"2006-01-02t15:04:05z", 1136214245000000LL},
    {"2006-01-02T15:04:05.1Z", 1136214245100000LL},
    {"2006-01-02T15:04:05.123456Z", 1136214245123456LL},
    {"2006-01-02T15:04:05.123456789Z", 1136214245123456LL}, /* below 1 µs dropped */
    {"2006-01-02T15:04:05.000000001Z", 1136214245000000LL},
    {"2006-01-02T08:04:05-07:00", 1136214245000000LL},
    {"2006-01-03T01:04:05+10:00", 1136214245000000LL},
    {"2006-01-02T15:04:05+00:00", 1136214245000000LL},
    {"2006-01-02T15:04:05-00:00", 1136214245000000LL},
    {"2006-01-02T15:04:05.5+00:00", 1136214245500000LL},
    {"2006-01-02T00:00:00+23:59", 1136073660000000LL},
    {"1970-01-01T00:00:00Z", 0},
    {"1969-12-31T23:59:59.999999Z", -1},
    {"2000-02-29T00:00:00Z", 951782400000000LL},
    {"2024-02-29T23:59:59Z", 1709251199000000LL},
    {"2006-04-30T00:00:00Z", 1146355200000000LL},
    {"0000-01-01T00:00:00Z", -62167219200000000LL},
    {"9999-12-31T23:59:59.999999Z", 253402300799999999LL},
};

static void test_time_valid(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                int64_t t = SENTINEL;

                if (parse(valid[i].text, &t) != 0)
                        fail_msg("refused: %s", valid[i].text);
                if (t != valid[i].usec)
                        fail_msg("%s: %" PRId64 " != %" PRId64, valid[i].text, t, valid[i].usec);
        }
}

static const char *const invalid[] = {
    /* the offset: two digits each, a colon, a sign, in range */
    "2006-01-02T15:04:05+0:00",
    "2006-01-02T15:04:05-0:00",
    "2006-01-02T15:04:05+00:0",
    "2006-01-02T15:04:05+0:0",
    "2006-01-02T15:04:05+0000",
    "2006-01-02T15:04:05+00",
    "2006-01-02T15:04:05+00:",
    "2006-01-02T15:04:05+",
    "2006-01-02T15:04:05+000:00",
    "2006-01-02T15:04:05+00:000",
    "2006-01-02T15:04:05+ 1:00",
    "2006-01-02T15:04:05+-1:00",
    "2006-01-02T15:04:05+01:-1",
    "2006-01-02T15:04:05+24:00",
    "2006-01-02T15:04:05+23:60",
    "2006-01-02T15:04:05 +01:00",
    "2006-01-02T15:04:05+01:00Z",
    "2006-01-02T15:04:05Z+01:00",
    "2006-01-02T15:04:05UTC",
    /* the fraction: 1-9 digits after a dot */
    "2006-01-02T15:04:05.Z",
    "2006-01-02T15:04:05.1234567890Z",
    "2006-01-02T15:04:05,5Z",
    "2006-01-02T15:04:05.5",
    "2006-01-02T15:04:05.-1Z",
    "2006-01-02T15:04:05..5Z",
    /* shape: fixed-width fields, the separators RFC 3339 names */
    "",
    "Z",
    "2006-01-02",
    "2006-01-02T",
    "2006-01-02TZ",
    "15:04:05Z",
    "2006-1-02T15:04:05Z",
    "2006-01-2T15:04:05Z",
    "2006-1-2T3:4:5Z",
    "2006-01-02T5:04:05Z",
    "2006-01-02T15:4:05Z",
    "2006-01-02T15:04:5Z",
    "06-01-02T15:04:05Z",
    "20060-01-02T15:04:05Z",
    "+2006-01-02T15:04:05Z",
    "-2006-01-02T15:04:05Z",
    " 2006-01-02T15:04:05Z",
    "2006-01-02T15:04:05Z ",
    "2006-01-02T15:04:05Z\n",
    "2006-01-02 15:04:05Z",
    "2006-01-02_15:04:05Z",
    "2006/01/02T15:04:05Z",
    "2006-01-02T15.04.05Z",
    "2006-01-02T15:04:05",
    "2006-01-02T15:04:05Zjunk",
    "2006-01-02T15:04:05.5Zjunk",
    "2006-01-02T15:04:05\xffZ",
    "2026-11-26 10:00:02",
    "2026-11-26T10:00:02",
    /* out-of-range fields */
    "2006-00-02T15:04:05Z",
    "2006-13-02T15:04:05Z",
    "2006-01-00T15:04:05Z",
    "2006-01-32T15:04:05Z",
    "2006-02-29T15:04:05Z",
    "1900-02-29T15:04:05Z",
    "2000-02-30T15:04:05Z",
    "2006-04-31T15:04:05Z",
    "2006-06-31T15:04:05Z",
    "2006-09-31T15:04:05Z",
    "2006-11-31T15:04:05Z",
    "2006-01-02T24:00:00Z",
    "2006-01-02T15:60:05Z",
    "2006-01-02T15:04:60Z", /* leap seconds: Go (and so Kubernetes) refuses them too */
    "2006-01-02T15:04:99Z",
};

static void test_time_invalid(void **state)
{
        int64_t t = SENTINEL;

        (void)state;
        assert_int_equal(k8s_time_parse(NULL, &t), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                if (parse(invalid[i], &t) != -EINVAL)
                        fail_msg("accepted: \"%s\"", invalid[i]);
                assert_true(t == SENTINEL);
        }
}

/* Every proper prefix of a valid time is refused (and read within bounds). */
static void test_time_truncated(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                size_t len = strlen(valid[i].text);

                for (size_t n = 0; n < len; n++) {
                        int64_t t = SENTINEL;

                        if (parse_n(valid[i].text, n, &t) != -EINVAL)
                                fail_msg("accepted: \"%.*s\"", (int)n, valid[i].text);
                        assert_true(t == SENTINEL);
                }
        }
}

/* Format then parse gives the time back (to the second without micro). */
static void test_time_roundtrip(void **state)
{
        char buf[64];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                int64_t u = valid[i].usec, secs = u / 1000000 - (u % 1000000 < 0), t = SENTINEL;

                assert_int_equal(parse(k8s_time_format(u, true, buf, sizeof(buf)), &t), 0);
                assert_true(t == u);
                assert_int_equal(parse(k8s_time_format(u, false, buf, sizeof(buf)), &t), 0);
                assert_true(t == secs * 1000000);
        }
        assert_string_equal(k8s_time_format(0, false, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
        assert_string_equal(k8s_time_format(-1, true, buf, sizeof(buf)),
                            "1969-12-31T23:59:59.999999Z");
        assert_string_equal(k8s_time_format(-1, false, buf, sizeof(buf)), "1969-12-31T23:59:59Z");
        assert_string_equal(k8s_time_format(-62167219200000000LL, true, buf, sizeof(buf)),
                            "0000-01-01T00:00:00.000000Z");
        assert_string_equal(k8s_time_format(253402300799999999LL, true, buf, sizeof(buf)),
                            "9999-12-31T23:59:59.999999Z");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_time),           cmocka_unit_test(test_time_valid),
            cmocka_unit_test(test_time_invalid),   cmocka_unit_test(test_time_truncated),
            cmocka_unit_test(test_time_roundtrip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
