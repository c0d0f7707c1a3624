/* The dead-connection settings of the apiserver connections (issue 11): what
 * kube_tcp_set_timeouts() leaves on a TCP socket, that the numbers bound the
 * detection of a black-holed connection by ~30 s, and its errors. The
 * detection itself is tests/integration/test-dead-connection.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kube/client.h"
#include "lib/util.h"

static int get(int fd, int level, int name)
{
        int v = -1;
        socklen_t l = sizeof(v);

        assert_int_equal(getsockopt(fd, level, name, &v, &l), 0);
        return v;
}

static void test_tcp_socket(void **state)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        (void)state;
        assert_true(fd >= 0);
        assert_int_equal(get(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 0); /* the kernel's default */
        assert_int_equal(kube_tcp_set_timeouts(fd), 0);
        assert_int_equal(get(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
        assert_int_equal(get(fd, IPPROTO_TCP, TCP_KEEPIDLE), KUBE_TCP_KEEPIDLE_SEC);
        assert_int_equal(get(fd, IPPROTO_TCP, TCP_KEEPINTVL), KUBE_TCP_KEEPINTVL_SEC);
        assert_int_equal(get(fd, IPPROTO_TCP, TCP_KEEPCNT), KUBE_TCP_KEEPCNT);
        assert_int_equal(get(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), KUBE_TCP_USER_TIMEOUT_MSEC);
        close(fd);
}

/* Unacked data is given up after the user timeout; an idle connection after
 * the first probe past it (or after the probe count, without it). Both within
 * the issue's ~30 s, and the user timeout longer than a probe interval (or it
 * would cut a connection between two acknowledged probes). */
static void test_bounds(void **state)
{
        int probes = KUBE_TCP_KEEPIDLE_SEC + KUBE_TCP_KEEPCNT * KUBE_TCP_KEEPINTVL_SEC;
        int idle_ms = KUBE_TCP_KEEPIDLE_SEC * 1000;

        (void)state;
        while (idle_ms < KUBE_TCP_USER_TIMEOUT_MSEC)
                idle_ms += KUBE_TCP_KEEPINTVL_SEC * 1000;
        assert_true(KUBE_TCP_USER_TIMEOUT_MSEC <= 30000);
        assert_true(idle_ms <= 30000);
        assert_true(probes <= 30);
        assert_true(KUBE_TCP_USER_TIMEOUT_MSEC > 2 * KUBE_TCP_KEEPINTVL_SEC * 1000);
}

static void test_errors(void **state)
{
        int p[2];
        int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        (void)state;
        assert_int_equal(pipe(p), 0);
        assert_int_equal(kube_tcp_set_timeouts(p[0]), -ENOTSOCK);
        assert_int_equal(kube_tcp_set_timeouts(-1), -EBADF);
        assert_true(udp >= 0);
        assert_true(kube_tcp_set_timeouts(udp) < 0);
        close(p[0]);
        close(p[1]);
        close(udp);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_tcp_socket),
            cmocka_unit_test(test_bounds),
            cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
