/* Prometheus text rendering, and the HTTP server answering on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/httpd.h"
#include "daemon/metrics.h"
#include "daemon/process-metrics.h"
#include "daemon/program.h"
#include "lib/util.h"
#include "version.h"

static void collect(struct metrics *m, void *ud)
{
        (void)m;
        metric_set(ud, 42, "pool-blue");
}

static void collect_noop(struct metrics *m, void *ud)
{
        (void)m;
        assert_string_equal(ud, "owned");
}

static void collect_second(struct metrics *m, void *ud)
{
        (void)m;
        metric_set(ud, 7, "pool-red");
}

static void test_render(void **state)
{
        static const char *const lbl[] = {"verb", "code", NULL};
        static const char *const pool[] = {"pool", NULL};
        static const double buckets[] = {0.01, 0.1, 1, -1};
        struct metrics *m = metrics_new();
        struct metric *c = metrics_counter(m, "l2lb_requests_total", "Requests.", lbl);
        struct metric *g = metrics_gauge(m, "l2lb_ips", "IPs.", pool);
        struct metric *h = metrics_histogram(m, "l2lb_latency_seconds", "Latency.", NULL, buckets);
        char *out;

        (void)state;
        metric_add(c, 1, "GET", "200");
        metric_add(c, 2, "GET", "200");
        metric_add(c, 1, "PUT", "409");
        metrics_add_collector(m, collect, g, NULL);
        metrics_add_collector(m, collect_second, g, NULL);
        metric_set(metrics_gauge(m, "l2lb_time_seconds", "T.", NULL), 1796312570.25);
        metric_set(metrics_gauge(m, "l2lb_ratio", "R.", NULL), 0.1);
        metric_observe(h, 0.05);
        metric_observe(h, 5);
        out = metrics_render(m);
        assert_non_null(strstr(out, "# TYPE l2lb_requests_total counter\n"));
        assert_non_null(strstr(out, "l2lb_requests_total{verb=\"GET\",code=\"200\"} 3\n"));
        assert_non_null(strstr(out, "l2lb_requests_total{verb=\"PUT\",code=\"409\"} 1\n"));
        assert_non_null(strstr(out, "l2lb_ips{pool=\"pool-blue\"} 42\n"));
        assert_non_null(strstr(out, "l2lb_ips{pool=\"pool-red\"} 7\n")); /* both collectors ran */
        assert_non_null(strstr(out, "l2lb_latency_seconds_bucket{le=\"0.01\"} 0\n"));
        assert_non_null(strstr(out, "l2lb_latency_seconds_bucket{le=\"0.1\"} 1\n"));
        assert_non_null(strstr(out, "l2lb_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert_non_null(strstr(out, "l2lb_latency_seconds_sum 5.05\n"));
        assert_non_null(strstr(out, "l2lb_latency_seconds_count 2\n"));
        /* every digit of a Unix time with a fraction, and no more */
        assert_non_null(strstr(out, "l2lb_time_seconds 1796312570.25\n"));
        assert_non_null(strstr(out, "l2lb_ratio 0.1\n"));
        free(out);
        metrics_free(m);
        /* a collector's data goes with the registry (ASan/valgrind: no leak) */
        m = metrics_new();
        metrics_add_collector(m, collect, metrics_gauge(m, "l2lb_ips", "IPs.", pool), NULL);
        metrics_add_collector(m, collect_second, metrics_gauge(m, "l2lb_x", "X.", pool), NULL);
        metrics_add_collector(m, collect_noop, xstrdup("owned"), free);
        out = metrics_render(m);
        assert_non_null(strstr(out, "l2lb_x{pool=\"pool-red\"} 7\n"));
        free(out);
        metrics_free(m);
}

/* Every daemon's registry says which build it is: one series, value 1. */
static void test_build_info(void **state)
{
        struct metrics *m = program_metrics_new();
        char *out, *series = xasprintf("l2lb_build_info{version=\"%s\",commit=\"", L2LB_VERSION);
        char *compiler = xasprintf(",compiler=\"%s\"} 1\n", L2LB_COMPILER);
        const char *p;

        (void)state;
        out = metrics_render(m);
        assert_non_null(strstr(out, "# TYPE l2lb_build_info gauge\n"));
        p = strstr(out, series);
        assert_non_null(p);
        p = strchr(p + strlen(series), '"');
        assert_non_null(p);
        assert_true(p > strstr(out, series) + strlen(series)); /* a commit, or "unknown" */
        assert_memory_equal(p + 1, compiler, strlen(compiler));
        assert_ptr_equal(strstr(p, "l2lb_build_info{"), NULL);
        free(compiler);
        free(series);
        free(out);
        metrics_free(m);
}

/* /proc/<pid>/stat: the command name may hold blanks and parentheses */
static void test_process_parse_stat(void **state)
{
        static const char stat[] =
            "1234 (l2lb (x) y) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 150 0 0 20 -5 3 0 "
            "500000 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        struct process_stat st;

        (void)state;
        assert_int_equal(process_parse_stat(stat, 100, 4096, &st), 0);
        assert_true(st.cpu_seconds == 4.0);
        assert_true(st.start_seconds == 5000.0);
        assert_true(st.virtual_bytes == 123456789.0);
        assert_true(st.resident_bytes == 2048.0 * 4096);
        assert_int_equal(process_parse_stat("1234 (l2lb) S 1 2 3\n", 100, 4096, &st), -EINVAL);
        assert_int_equal(process_parse_stat("1234 l2lb S 1 2 3", 100, 4096, &st), -EINVAL);
        assert_int_equal(process_parse_stat("", 100, 4096, &st), -EINVAL);
        assert_int_equal(process_parse_stat(stat, 0, 4096, &st), -EINVAL);
}

static void test_process_parse_boot_limits(void **state)
{
        static const char sys[] = "cpu  1 2 3\ncpu0 1 2 3\nintr 5 6\nctxt 99\nbtime 1764700000\n"
                                  "processes 77\n";
        static const char limits[] =
            "Limit                     Soft Limit           Hard Limit           Units     \n"
            "Max cpu time              unlimited            unlimited            seconds   \n"
            "Max open files            1024                 524288               files     \n"
            "Max locked memory         8388608              8388608              bytes     \n";
        static const char unlimited[] =
            "Limit                     Soft Limit           Hard Limit           Units     \n"
            "Max open files            unlimited            unlimited            files     \n";
        double v = 0;

        (void)state;
        assert_int_equal(process_parse_boot_time(sys, &v), 0);
        assert_true(v == 1764700000.0);
        assert_int_equal(process_parse_boot_time("cpu 1 2\nctxt 5\n", &v), -EINVAL);
        assert_int_equal(process_parse_max_fds(limits, &v), 0);
        assert_true(v == 1024.0);
        assert_int_equal(process_parse_max_fds(unlimited, &v), 0);
        assert_true(isinf(v));
        assert_int_equal(process_parse_max_fds("Max cpu time  unlimited\n", &v), -EINVAL);
        assert_int_equal(process_parse_max_fds("Max open files  lots  many files\n", &v), -EINVAL);
}

static double sample(const char *text, const char *name)
{
        _cleanup_free_ char *prefix = xasprintf("\n%s ", name);
        const char *p = strstr(text, prefix);

        assert_non_null(p);
        return strtod(p + strlen(prefix), NULL);
}

/* The registry every daemon starts with carries this process' values, read
 * when rendered. */
static void test_process_metrics(void **state)
{
        struct metrics *m = program_metrics_new();
        char *out = metrics_render(m), *again;
        double fds, now = (double)time(NULL);
        int pipes[2][2];

        (void)state;
        assert_non_null(strstr(out, "# TYPE process_cpu_seconds_total counter\n"));
        assert_non_null(strstr(out, "# TYPE process_start_time_seconds gauge\n"));
        assert_true(sample(out, "process_cpu_seconds_total") >= 0);
        assert_true(sample(out, "process_resident_memory_bytes") > 1024 * 1024);
        assert_true(sample(out, "process_virtual_memory_bytes") >=
                    sample(out, "process_resident_memory_bytes"));
        assert_true(sample(out, "process_max_fds") >= 64);
        /* a Unix time (not since boot); btime is whole seconds and the
         * kernel's idea of it drifts with clock adjustments: a margin */
        assert_true(sample(out, "process_start_time_seconds") > now - 3600);
        assert_true(sample(out, "process_start_time_seconds") <= now + 60);
        fds = sample(out, "process_open_fds");
        assert_true(fds >= 3);
        assert_int_equal(pipe(pipes[0]), 0);
        assert_int_equal(pipe(pipes[1]), 0);
        again = metrics_render(m);
        assert_true(sample(again, "process_open_fds") == fds + 4);
        for (int i = 0; i < 4; i++)
                close(pipes[i / 2][i % 2]);
        free(again);
        free(out);
        metrics_free(m);
}

static void handler(const char *method, const char *path, struct httpd_response *r, void *ud)
{
        (void)ud;
        if (streq(method, "GET") && streq(path, "/healthz")) {
                r->status = 200;
                r->body = strdup("ok\n");
        }
}

static void test_httpd(void **state)
{
        sd_event *e = NULL;
        struct httpd *h = NULL;
        char cmd[256];
        pid_t pid;
        int status = -1;

        (void)state;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(httpd_start(e, "127.0.0.1:0", handler, NULL, &h), 0);
        assert_true(httpd_port(h) > 0);
        snprintf(cmd, sizeof(cmd),
                 "curl -sf http://127.0.0.1:%u/healthz | grep -qx ok && "
                 "test \"$(curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%u/x)\" = 404",
                 httpd_port(h), httpd_port(h));
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(system(cmd) == 0 ? 0 : 1);
        while (waitpid(pid, &status, WNOHANG) == 0)
                sd_event_run(e, 10000);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(httpd_start(e, "nonsense", handler, NULL, &h) < 0, 1);
        httpd_free(h);

        /* the same on a unix socket */
        {
                char path[128] = "/tmp/l2lb-test-httpd-XXXXXX";

                assert_non_null(mkdtemp(path));
                strcat(path, "/sub/status.sock");
                assert_int_equal(httpd_start_unix(e, path, handler, NULL, &h), 0);
                snprintf(cmd, sizeof(cmd),
                         "curl -sf --unix-socket %s http://localhost/healthz | grep -qx ok", path);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0)
                        _exit(system(cmd) == 0 ? 0 : 1);
                while (waitpid(pid, &status, WNOHANG) == 0)
                        sd_event_run(e, 10000);
                assert_int_equal(WEXITSTATUS(status), 0);
                httpd_free(h);
                assert_int_equal(access(path, F_OK), -1); /* removed */
                *strrchr(path, '/') = 0;
                rmdir(path);
                *strrchr(path, '/') = 0;
                rmdir(path);
        }
        sd_event_unref(e);
}

/* bind() as the server calls it, noting the mode a unix socket has the
 * instant it appears (before the server could chmod it). */
static mode_t bound_mode;

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        struct stat st;
        int r = (int)syscall(SYS_bind, fd, sa, len);

        if (r == 0 && sa->sa_family == AF_UNIX && un->sun_path[0] && stat(un->sun_path, &st) == 0)
                bound_mode = st.st_mode & 07777;
        return r;
}

/* The status socket is 0600 from its first instant, whatever the umask. */
static void test_unix_socket_mode(void **state)
{
        char path[128] = "/tmp/l2lb-test-httpd-XXXXXX";
        sd_event *e = NULL;
        struct httpd *h = NULL;
        struct stat st;
        mode_t old;

        (void)state;
        assert_int_equal(sd_event_new(&e), 0);
        assert_non_null(mkdtemp(path));
        strcat(path, "/status.sock");
        old = umask(0);
        bound_mode = 0;
        assert_int_equal(httpd_start_unix(e, path, handler, NULL, &h), 0);
        assert_int_equal(umask(old), 0); /* the process umask is restored */
        assert_int_equal(bound_mode, 0600);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        httpd_free(h);
        *strrchr(path, '/') = 0;
        rmdir(path);
        sd_event_unref(e);
}

/* A listen failure reports its real cause. */
static void test_listen_errors(void **state)
{
        sd_event *e = NULL;
        struct httpd *h = NULL, *h2 = NULL;
        char addr[64];

        (void)state;
        assert_int_equal(sd_event_new(&e), 0);
        /* TEST-NET-1: not an address of this host */
        assert_int_equal(httpd_start(e, "192.0.2.1:9962", handler, NULL, &h), -EADDRNOTAVAIL);
        assert_null(h);
        assert_int_equal(httpd_start(e, "127.0.0.1:0", handler, NULL, &h), 0);
        snprintf(addr, sizeof(addr), "127.0.0.1:%u", httpd_port(h));
        assert_int_equal(httpd_start(e, addr, handler, NULL, &h2), -EADDRINUSE);
        assert_null(h2);
        httpd_free(h);
        /* IPv6 loopback, when the host has it */
        if (httpd_start(e, "[::1]:0", handler, NULL, &h) == 0) {
                assert_true(httpd_port(h) > 0);
                httpd_free(h);
        }
        sd_event_unref(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_render),
            cmocka_unit_test(test_build_info),
            cmocka_unit_test(test_process_parse_stat),
            cmocka_unit_test(test_process_parse_boot_limits),
            cmocka_unit_test(test_process_metrics),
            cmocka_unit_test(test_httpd),
            cmocka_unit_test(test_unix_socket_mode),
            cmocka_unit_test(test_listen_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
