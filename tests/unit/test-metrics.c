/* Prometheus text rendering, and the HTTP server answering on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/httpd.h"
#include "daemon/metrics.h"
#include "daemon/program.h"
#include "lib/util.h"
#include "version.h"

static void collect(struct metrics *m, void *ud)
{
        (void)m;
        metric_set(ud, 42, "pool-blue");
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
        metrics_set_collector(m, collect, g);
        metric_observe(h, 0.05);
        metric_observe(h, 5);
        out = metrics_render(m);
        assert_non_null(strstr(out, "# TYPE l2lb_requests_total counter\n"));
        assert_non_null(strstr(out, "l2lb_requests_total{verb=\"GET\",code=\"200\"} 3\n"));
        assert_non_null(strstr(out, "l2lb_requests_total{verb=\"PUT\",code=\"409\"} 1\n"));
        assert_non_null(strstr(out, "l2lb_ips{pool=\"pool-blue\"} 42\n"));
        assert_non_null(strstr(out, "l2lb_latency_seconds_bucket{le=\"0.01\"} 0\n"));
        assert_non_null(strstr(out, "l2lb_latency_seconds_bucket{le=\"0.1\"} 1\n"));
        assert_non_null(strstr(out, "l2lb_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert_non_null(strstr(out, "l2lb_latency_seconds_sum 5.05\n"));
        assert_non_null(strstr(out, "l2lb_latency_seconds_count 2\n"));
        free(out);
        metric_clear(g);
        metrics_set_collector(m, NULL, NULL);
        out = metrics_render(m);
        assert_null(strstr(out, "pool-blue"));
        free(out);
        metrics_free(m);
}

/* Every daemon's registry says which build it is: one series, value 1. */
static void test_build_info(void **state)
{
        struct metrics *m = program_metrics_new();
        char *out, *series = xasprintf("l2lb_build_info{version=\"%s\",commit=\"", L2LB_VERSION);
        const char *p;

        (void)state;
        out = metrics_render(m);
        assert_non_null(strstr(out, "# TYPE l2lb_build_info gauge\n"));
        p = strstr(out, series);
        assert_non_null(p);
        p = strchr(p + strlen(series), '"');
        assert_non_null(p);
        assert_true(p > strstr(out, series) + strlen(series)); /* a commit, or "unknown" */
        assert_memory_equal(p, "\"} 1\n", 5);
        assert_ptr_equal(strstr(p, "l2lb_build_info{"), NULL);
        free(series);
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
            cmocka_unit_test(test_render),        cmocka_unit_test(test_build_info),
            cmocka_unit_test(test_httpd),         cmocka_unit_test(test_unix_socket_mode),
            cmocka_unit_test(test_listen_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
