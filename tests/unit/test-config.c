/* Durations in Go syntax, and flags / config directory / defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tfile.h"

#include "daemon/config.h"
#include "daemon/program.h"
#include "lib/duration.h"
#include "lib/util.h"
#include "version.h"

static void dur(const char *s, uint64_t want)
{
        uint64_t v = 12345;

        assert_int_equal(duration_parse(s, &v), 0);
        assert_true(v == want);
}

static void test_duration_parse(void **state)
{
        uint64_t v;

        (void)state;
        dur("3s", 3 * USEC_PER_SEC);
        dur("500ms", 500 * USEC_PER_MSEC);
        dur("1m30s", 90 * USEC_PER_SEC);
        dur("1.5s", 1500 * USEC_PER_MSEC);
        dur("2h45m", (2 * 3600 + 45 * 60) * USEC_PER_SEC);
        dur("0", 0);
        dur("0s", 0);
        dur("100us", 100);
        dur("100\xc2\xb5s", 100);
        dur("1500ns", 1);
        dur(".5s", 500 * USEC_PER_MSEC);
        dur("1.s", USEC_PER_SEC);
        dur("+5s", 5 * USEC_PER_SEC);
        assert_int_equal(duration_parse("", &v), -EINVAL);
        assert_int_equal(duration_parse("3", &v), -EINVAL);
        assert_int_equal(duration_parse("-3s", &v), -EINVAL);
        assert_int_equal(duration_parse("3x", &v), -EINVAL);
        assert_int_equal(duration_parse("s", &v), -EINVAL);
        assert_int_equal(duration_parse(".s", &v), -EINVAL);
        assert_int_equal(duration_parse("3s ", &v), -EINVAL);
        assert_int_equal(duration_parse("1e3s", &v), -EINVAL);
        assert_int_equal(duration_parse("99999999999999999999h", &v), -ERANGE);
        assert_int_equal(duration_parse("3000000h", &v), -ERANGE);
}

static void fmt(uint64_t usec, const char *want)
{
        char buf[64];

        assert_string_equal(duration_format(usec, buf, sizeof(buf)), want);
}

static void test_duration_format(void **state)
{
        (void)state;
        fmt(0, "0s");
        fmt(3 * USEC_PER_SEC, "3s");
        fmt(500 * USEC_PER_MSEC, "500ms");
        fmt(90 * USEC_PER_SEC, "1m30s");
        fmt(1500 * USEC_PER_MSEC, "1.5s");
        fmt(3600 * USEC_PER_SEC, "1h0m0s");
        fmt(15 * USEC_PER_SEC, "15s");
        fmt(1500, "1.5ms");
        fmt(7, "7\xc2\xb5s");
}

static int load(struct l2lb_config *c, unsigned prog, char **argv, char **err)
{
        int argc = 0;

        while (argv[argc])
                argc++;
        return config_load(c, prog, argc, argv, NULL, err);
}

static void test_defaults_and_flags(void **state)
{
        struct l2lb_config c;
        char *err = NULL;

        (void)state;
        {
                char *argv[] = {"x", NULL};

                assert_int_equal(load(&c, CONFIG_AGENT, argv, &err), CONFIG_LOADED);
                assert_true(c.l2_announcements_lease_duration == 15 * USEC_PER_SEC);
                assert_true(c.l2_announcements_renew_deadline == 5 * USEC_PER_SEC);
                assert_true(c.l2_announcements_retry_period == 2 * USEC_PER_SEC);
                assert_string_equal(c.k8s_namespace, "kube-system");
                assert_int_equal(strv_length(c.devices), 0);
                assert_false(c.enable_external_ips);
                /* no external IP may be announced until CIDRs are given */
                assert_int_equal(strv_length(c.l2_announcements_external_ips_cidrs), 0);
                assert_string_equal(c.l2_announcements_election, "node-heartbeat");
                /* no listener unless asked for (never every interface by default):
                 * the manifests pass the node's or the pod's own address */
                assert_string_equal(c.prometheus_serve_addr, "");
                config_done(&c);
                assert_int_equal(load(&c, CONFIG_OPERATOR, argv, &err), CONFIG_LOADED);
                assert_string_equal(c.prometheus_serve_addr, "");
                config_done(&c);
        }
        {
                char *argv[] = {
                    "x",
                    "--l2-announcements-lease-duration=3s",
                    "--l2-announcements-renew-deadline",
                    "1s",
                    "--l2-announcements-retry-period=500ms",
                    "--devices=eth0, net0",
                    "--enable-external-ips",
                    "--k8s-client-qps=12.5",
                    "--k8s-client-burst=30",
                    "--l2-announcements-external-ips-cidrs=172.18.0.0/16, 2001:db8::/64",
                    "--l2-announcements-election=lease-per-service",
                    NULL};

                assert_int_equal(load(&c, CONFIG_AGENT, argv, &err), CONFIG_LOADED);
                assert_true(c.l2_announcements_lease_duration == 3 * USEC_PER_SEC);
                assert_true(c.l2_announcements_renew_deadline == 1 * USEC_PER_SEC);
                assert_true(c.l2_announcements_retry_period == 500 * USEC_PER_MSEC);
                assert_int_equal(strv_length(c.devices), 2);
                assert_string_equal(c.devices[1], "net0");
                assert_true(c.enable_external_ips);
                assert_true(c.k8s_client_qps == 12.5);
                assert_true(c.k8s_client_burst == 30);
                assert_int_equal(strv_length(c.l2_announcements_external_ips_cidrs), 2);
                assert_string_equal(c.l2_announcements_external_ips_cidrs[1], "2001:db8::/64");
                assert_string_equal(c.l2_announcements_election, "lease-per-service");
                config_done(&c);
        }
}

static void expect_error(unsigned prog, char **argv, const char *fragment)
{
        struct l2lb_config c;
        char *err = NULL;

        assert_true(load(&c, prog, argv, &err) < 0);
        assert_non_null(err);
        if (!strstr(err, fragment))
                fail_msg("error \"%s\" lacks \"%s\"", err, fragment);
        free(err);
}

static void test_errors(void **state)
{
        (void)state;
        expect_error(CONFIG_AGENT, (char *[]){"x", "--nope=1", NULL}, "unknown flag --nope");
        expect_error(CONFIG_AGENT, (char *[]){"x", "--l2-announcements-lease-duration=3", NULL},
                     "expected a duration");
        expect_error(CONFIG_AGENT, (char *[]){"x", "--enable-ipv4=yes", NULL},
                     "expected true or false");
        expect_error(CONFIG_AGENT, (char *[]){"x", "--k8s-client-burst=-1", NULL},
                     "non-negative integer");
        expect_error(CONFIG_AGENT, (char *[]){"x", "--k8s-client-qps=fast", NULL},
                     "non-negative number");
        expect_error(CONFIG_OPERATOR, (char *[]){"x", "--default-lb-service-ipam=metallb", NULL},
                     "lbipam none");
        expect_error(CONFIG_AGENT, (char *[]){"x", "--l2-announcements-election=lease", NULL},
                     "invalid value \"lease\" for flag --l2-announcements-election: expected one "
                     "of node-heartbeat lease-per-service");
        /* an agent key is not an operator flag */
        expect_error(CONFIG_OPERATOR, (char *[]){"x", "--devices=eth0", NULL},
                     "unknown flag --devices");
        expect_error(CONFIG_AGENT, (char *[]){"x", "--node-name", NULL}, "needs a value");
        expect_error(
            CONFIG_AGENT,
            (char *[]){"x", "--l2-announcements-external-ips-cidrs=10.0.0.0/8,10.1.2.3", NULL},
            "invalid value \"10.0.0.0/8,10.1.2.3\" for "
            "flag --l2-announcements-external-ips-cidrs: expected a comma-separated list of "
            "CIDRs");
}

static void test_config_dir(void **state)
{
        char dir[] = "/tmp/l2lb-test-config-XXXXXX", arg[600], sub[600];
        struct l2lb_config c;
        char *err = NULL;

        (void)state;
        assert_non_null(mkdtemp(dir));
        twrite_file(dir, "l2-announcements-lease-duration", "3s\n");
        twrite_file(dir, "devices", "eth0,net0");
        twrite_file(dir, "enable-external-ips", "true");
        /* an operator key in a shared ConfigMap is fine for the agent */
        twrite_file(dir, "default-lb-service-ipam", "lbipam");
        /* ConfigMap volume bookkeeping */
        snprintf(sub, sizeof(sub), "%s/..2024_01_01_00_00_00.123", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        snprintf(sub, sizeof(sub), "%s/..data", dir);
        assert_int_equal(symlink("..2024_01_01_00_00_00.123", sub), 0);
        /* a key as a symlink into ..data, as a ConfigMap volume has them */
        twrite_file(dir, "..2024_01_01_00_00_00.123/k8s-namespace", "blue");
        snprintf(sub, sizeof(sub), "%s/k8s-namespace", dir);
        assert_int_equal(symlink("..data/k8s-namespace", sub), 0);
        /* subdirectories (one named like a key) and a FIFO (reading it
         * would block) are skipped with a log line */
        snprintf(sub, sizeof(sub), "%s/subdir", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        snprintf(sub, sizeof(sub), "%s/node-name", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        snprintf(sub, sizeof(sub), "%s/fifo", dir);
        assert_int_equal(mkfifo(sub, 0600), 0);
        snprintf(arg, sizeof(arg), "--config-dir=%s", dir);
        {
                char *argv[] = {"x", arg, "--enable-external-ips=false", NULL};

                assert_int_equal(load(&c, CONFIG_AGENT, argv, &err), CONFIG_LOADED);
                assert_true(c.l2_announcements_lease_duration == 3 * USEC_PER_SEC);
                assert_int_equal(strv_length(c.devices), 2);
                assert_false(c.enable_external_ips); /* the flag wins */
                assert_string_equal(c.k8s_namespace, "blue");
                config_done(&c);
        }
        twrite_file(dir, "l2-announcements-retry-period", "soon");
        {
                char *argv[] = {"x", arg, NULL};

                assert_true(load(&c, CONFIG_AGENT, argv, &err) < 0);
                assert_non_null(strstr(err, "config file l2-announcements-retry-period"));
                free(err);
                err = NULL;
        }
        twrite_file(dir, "l2-announcements-retry-period", "1s");
        twrite_file(dir, "no-such-key", "1");
        {
                char *argv[] = {"x", arg, NULL};

                assert_true(load(&c, CONFIG_AGENT, argv, &err) < 0);
                assert_non_null(strstr(err, "unknown configuration key \"no-such-key\""));
                free(err);
        }
        {
                char *argv[] = {"x", "--config-dir=/nonexistent/dir", NULL};

                err = NULL;
                assert_true(load(&c, CONFIG_AGENT, argv, &err) < 0);
                assert_non_null(strstr(err, "cannot read config directory"));
                free(err);
        }
        snprintf(arg, sizeof(arg), "rm -rf '%s'", dir);
        assert_int_equal(system(arg), 0);
}

static void test_help_version(void **state)
{
        struct l2lb_config c;
        char *err = NULL;

        (void)state;
        assert_int_equal(load(&c, CONFIG_AGENT, (char *[]){"x", "--version", NULL}, &err),
                         CONFIG_VERSION);
        assert_int_equal(load(&c, CONFIG_AGENT, (char *[]){"x", "--bogus", "--help", NULL}, &err),
                         CONFIG_HELP);
}

/* --version (through program_init, as every program) prints the version,
 * the git commit and the compiler, and tells the program to exit. */
static void test_program_version(void **state)
{
        static const struct program_info info = {.name = "l2lb-test", .program = CONFIG_AGENT};
        struct l2lb_config c;
        char out[512] = "", *v, *expect;
        FILE *f = tmpfile();
        int saved, n;

        (void)state;
        v = program_version("l2lb-test");
        expect = xasprintf("l2lb-test version %s (commit ", L2LB_VERSION);
        assert_ptr_equal(strstr(v, expect), v);
        assert_non_null(strstr(v, L2LB_COMPILER ")"));
        assert_null(strstr(v, "(commit ,"));

        assert_non_null(f);
        (void)fflush(stdout);
        saved = dup(STDOUT_FILENO);
        assert_true(saved >= 0);
        assert_int_equal(dup2(fileno(f), STDOUT_FILENO), STDOUT_FILENO);
        assert_int_equal(program_init(&info, 2, (char *[]){"x", "--version", NULL}, &c, NULL), 1);
        (void)fflush(stdout);
        assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
        (void)close(saved);
        rewind(f);
        n = (int)fread(out, 1, sizeof(out) - 1, f);
        out[n > 0 ? n : 0] = 0;
        (void)fclose(f);
        free(expect);
        expect = xasprintf("%s\n", v);
        assert_string_equal(out, expect);
        free(expect);
        free(v);
}

static void test_view(void **state)
{
        struct l2lb_config c;
        char *err = NULL, *buf = NULL;
        size_t len = 0;
        FILE *f;

        (void)state;
        assert_int_equal(load(&c, CONFIG_CLI,
                              (char *[]){"x", "--l2-announcements-retry-period=500ms", NULL}, &err),
                         CONFIG_LOADED);
        f = open_memstream(&buf, &len);
        config_view(&c, CONFIG_CLI, f);
        fclose(f);
        assert_non_null(strstr(buf, "l2-announcements-retry-period            500ms\n"));
        assert_non_null(strstr(buf, "l2-announcements-lease-duration          15s\n"));
        free(buf);
        config_done(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_duration_parse),     cmocka_unit_test(test_duration_format),
            cmocka_unit_test(test_defaults_and_flags), cmocka_unit_test(test_errors),
            cmocka_unit_test(test_config_dir),         cmocka_unit_test(test_help_version),
            cmocka_unit_test(test_program_version),    cmocka_unit_test(test_view),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
