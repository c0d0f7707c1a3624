/* Strings from the API on a terminal or in a log line: control characters
 * escaped, never raw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

static void expect(const char *in, const char *want)
{
        char *out = str_escape_control(in);

        assert_string_equal(out, want);
        free(out);
}

static void test_escape_control(void **state)
{
        (void)state;
        expect(NULL, "");
        expect("", "");
        expect("kind-worker", "kind-worker");
        expect("a\nb\rc\td", "a\\nb\\rc\\td");
        expect("back\\slash", "back\\\\slash");
        /* ESC sequences (colour, cursor, OSC title), BEL, DEL */
        expect("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
        expect("\x1b]0;title\x07", "\\x1b]0;title\\x07");
        expect("x\x7fy\x01", "x\\x7fy\\x01");
        /* UTF-8 stays, its C1 controls (U+009B is CSI) do not */
        expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
               "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
        expect("\xc2\x9b[31m", "\\u009b[31m");
        expect("\xc2\x85", "\\u0085");
        expect("\xc2\xa0", "\xc2\xa0"); /* U+00A0 is printable */
        /* bytes that are not UTF-8: a lone CSI, a cut sequence, overlong
         * and surrogate forms, past U+10FFFF */
        expect("\x9b[31m", "\\x9b[31m");
        expect("\xe2\x82", "\\xe2\\x82");
        expect("\xc0\xaf", "\\xc0\\xaf");
        expect("\xed\xa0\x80", "\\xed\\xa0\\x80");
        expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
}

/* One event, one line: a field value with a newline cannot start a forged
 * line of its own, whether or not the caller quoted it. */
static void test_log_one_line(void **state)
{
        char path[] = "/tmp/l2lb-test-log-XXXXXX", buf[4096];
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        ssize_t n;

        (void)state;
        assert_true(fd >= 0);
        assert_true(saved >= 0);
        fflush(stderr);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        log_setup("test", LOG_FORMAT_LOGFMT, LOG_LEVEL_INFO);
        log_info("lease", "holder=%s", "x\ntime=0 level=error msg=forged");
        log_info("lease", "holder=%s", log_q("y\r\ntime=0 level=error msg=forged\x1b[2J"));
        fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        assert_true(n > 0);
        buf[n] = 0;
        close(fd);
        unlink(path);
        /* two events, two lines, no raw control character */
        assert_non_null(strchr(buf, '\n'));
        assert_non_null(strchr(strchr(buf, '\n') + 1, '\n'));
        assert_null(strchr(strchr(strchr(buf, '\n') + 1, '\n') + 1, '\n'));
        assert_int_equal(strcspn(buf, "\r\x1b"), strlen(buf));
        assert_non_null(strstr(buf, "holder=x?time=0"));
        assert_non_null(strstr(buf, "holder=\"y?\\ntime=0"));
}

/* read_int_file: the sysctl and sysfs files the agent and the doctor read. */
static void test_read_int_file(void **state)
{
        static const struct {
                const char *content;
                int want;
        } cases[] = {
            {"1\n", 1},   {"2", 2},      {"0\n", 0},  {"", -1},
            {"-1\n", -1}, {"1 2\n", -1}, {"x\n", -1}, {"99999999999\n", -1},
        };
        char dir[] = "/tmp/l2lb-test-int-XXXXXX";

        (void)state;
        assert_non_null(mkdtemp(dir));
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *path = xasprintf("%s/f%zu", dir, i);
                FILE *f = fopen(path, "we");

                assert_non_null(f);
                assert_int_equal(fputs(cases[i].content, f) >= 0 || !*cases[i].content, 1);
                assert_int_equal(fclose(f), 0);
                assert_int_equal(read_int_file(path), cases[i].want);
                assert_int_equal(unlink(path), 0);
        }
        assert_int_equal(read_int_file("/nonexistent/l2lb"), -1);
        assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_escape_control),
            cmocka_unit_test(test_log_one_line),
            cmocka_unit_test(test_read_int_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
