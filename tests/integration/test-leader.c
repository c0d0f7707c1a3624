/* Leader election against the real apiserver: exactly one leader of two
 * candidates; a leader that vanishes without releasing is replaced after
 * about a lease duration; a released lease is taken at the next retry; the
 * Lease object looks the way client-go writes it; a leader whose renewal
 * hangs (a TCP relay in this process that stops relaying) steps down at its
 * last renewal + the renew deadline, not when the hanging write times out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kube/api.h"
#include "kube/kubeconfig.h"
#include "kube/leader.h"
#include "api/objects.h"
#include "lib/util.h"

static sd_event *ev;

struct cand {
        struct kube_client *client;
        struct kube_leader *leader;
        int started, stopped;
};

static void started(void *ud)
{
        ((struct cand *)ud)->started++;
}

static void stopped(void *ud)
{
        ((struct cand *)ud)->stopped++;
}

/* server: NULL, or replaces the kubeconfig's (same host, another port);
 * retry_period: 0 for 300 ms */
static void cand_init_via(struct cand *c, const char *lease, const char *identity,
                          const char *server, uint64_t retry_period)
{
        struct kube_config *cfg = NULL;
        char *err = NULL;
        struct kube_leader_config lc = {
            .namespace = "default",
            .name = lease,
            .identity = identity,
            .lease_duration = 2 * USEC_PER_SEC,
            .renew_deadline = 1500 * USEC_PER_MSEC,
            .retry_period = 300 * USEC_PER_MSEC,
            .started_leading = started,
            .stopped_leading = stopped,
            .userdata = c,
        };

        memset(c, 0, sizeof(*c));
        if (retry_period)
                lc.retry_period = retry_period;
        if (kube_config_load(NULL, &cfg, &err) < 0)
                fail_msg("kubeconfig: %s", err);
        if (server) {
                free(cfg->server);
                cfg->server = xstrdup(server);
        }
        assert_int_equal(kube_client_new(ev, cfg, NULL, &c->client), 0);
        kube_config_free(cfg);
        assert_int_equal(kube_leader_new(c->client, &lc, &c->leader), 0);
        assert_int_equal(kube_leader_start(c->leader), 0);
}

static void cand_init(struct cand *c, const char *lease, const char *identity)
{
        cand_init_via(c, lease, identity, NULL, 0);
}

static void cand_kill(struct cand *c)
{
        kube_leader_free(c->leader);
        kube_client_free(c->client);
        c->leader = NULL;
        c->client = NULL;
}

static uint64_t now(void)
{
        uint64_t t;

        sd_event_now(ev, CLOCK_MONOTONIC, &t);
        return t;
}

static bool leading(struct cand *c)
{
        return c->leader && kube_leader_is_leader(c->leader);
}

static uint64_t run_until_leader(struct cand *c, uint64_t timeout)
{
        uint64_t t0 = now();

        while (!leading(c) && now() - t0 < timeout)
                sd_event_run(ev, 20000);
        return now() - t0;
}

static void run_for(uint64_t usec)
{
        uint64_t t0 = now();

        while (now() - t0 < usec)
                sd_event_run(ev, 20000);
}

static struct k8s_lease *get_lease(struct kube_client *c, const char *name)
{
        struct kube_sync s = {0};
        struct k8s_lease *l = NULL;
        char *err = NULL;

        assert_int_equal(kube_get(c, &KUBE_LEASES, "default", name, kube_sync_callback, &s, NULL),
                         0);
        kube_sync_wait(c, &s, 10 * USEC_PER_SEC);
        assert_int_equal(s.error, 0);
        assert_int_equal(k8s_lease_decode(s.body, &l, &err), 0);
        kube_sync_done(&s);
        return l;
}

static void test_one_leader_and_failover(void **state)
{
        struct cand a, b;
        char lease[64];
        struct k8s_lease *l;
        uint64_t took;

        (void)state;
        snprintf(lease, sizeof(lease), "leader-test-%d", (int)getpid());
        cand_init(&a, lease, "replica-a");
        assert_true(run_until_leader(&a, 10 * USEC_PER_SEC) < 10 * USEC_PER_SEC);
        cand_init(&b, lease, "replica-b");
        run_for(3 * USEC_PER_SEC); /* longer than a lease duration: a keeps renewing */
        assert_true(leading(&a));
        assert_false(leading(&b));
        assert_int_equal(b.started, 0);
        l = get_lease(b.client, lease);
        assert_string_equal(l->holder, "replica-a");
        assert_int_equal(l->lease_duration_seconds, 2);
        assert_int_equal(l->lease_transitions, 0);
        assert_non_null(l->acquire_time);
        assert_non_null(l->renew_time);
        assert_true(strcmp(l->renew_time, l->acquire_time) > 0);
        k8s_lease_free(l);

        /* a vanishes without releasing: b waits about a lease duration */
        cand_kill(&a);
        took = run_until_leader(&b, 10 * USEC_PER_SEC);
        assert_true(leading(&b));
        assert_true(took >= 1500 * USEC_PER_MSEC);
        assert_true(took <= 3 * USEC_PER_SEC);
        l = get_lease(b.client, lease);
        assert_string_equal(l->holder, "replica-b");
        assert_int_equal(l->lease_transitions, 1);
        k8s_lease_free(l);

        /* a comes back as a follower; b releases: a takes over at its next retry */
        cand_init(&a, lease, "replica-a");
        run_for(USEC_PER_SEC);
        assert_false(leading(&a));
        kube_leader_release(b.leader, NULL, NULL);
        took = run_until_leader(&a, 5 * USEC_PER_SEC);
        assert_true(leading(&a));
        assert_false(leading(&b));
        assert_int_equal(b.stopped, 1);
        assert_true(took <= 1 * USEC_PER_SEC);
        l = get_lease(a.client, lease);
        assert_string_equal(l->holder, "replica-a");
        assert_int_equal(l->lease_transitions, 2);
        k8s_lease_free(l);
        cand_kill(&a);
        cand_kill(&b);
}

/* ---- a TCP relay to the apiserver that can stop relaying ---- */

#define RELAY_MAX 16

struct relay {
        int listen_fd;
        struct sockaddr_in upstream;
        sd_event_source *accept_src;
        int fds[RELAY_MAX][2]; /* client side, upstream side */
        sd_event_source *srcs[RELAY_MAX][2];
        size_t n;
        bool frozen; /* hold every connection open, move no byte */
};

static int on_relay_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        int *peer = userdata;
        char buf[16384];
        ssize_t n;

        (void)revents;
        n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
                (void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
                (void)shutdown(*peer, SHUT_WR);
                return 0;
        }
        for (ssize_t off = 0; off < n;) {
                ssize_t w = write(*peer, buf + off, (size_t)(n - off));

                if (w <= 0)
                        break;
                off += w;
        }
        return 0;
}

static int on_relay_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct relay *r = userdata;
        int c, u;

        (void)s;
        (void)revents;
        c = accept(fd, NULL, NULL);
        if (c < 0)
                return 0;
        assert_true(r->n < RELAY_MAX);
        u = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(u >= 0);
        assert_int_equal(connect(u, (struct sockaddr *)&r->upstream, sizeof(r->upstream)), 0);
        r->fds[r->n][0] = c;
        r->fds[r->n][1] = u;
        /* each side's source writes to the other side's fd */
        assert_int_equal(
            sd_event_add_io(ev, &r->srcs[r->n][0], c, EPOLLIN, on_relay_io, &r->fds[r->n][1]), 0);
        assert_int_equal(
            sd_event_add_io(ev, &r->srcs[r->n][1], u, EPOLLIN, on_relay_io, &r->fds[r->n][0]), 0);
        if (r->frozen) {
                (void)sd_event_source_set_enabled(r->srcs[r->n][0], SD_EVENT_OFF);
                (void)sd_event_source_set_enabled(r->srcs[r->n][1], SD_EVENT_OFF);
        }
        r->n++;
        return 0;
}

/* Relay to server ("https://127.0.0.1:port"); returns the relay's URL. */
static char *relay_start(struct relay *r, const char *server)
{
        struct sockaddr_in a = {.sin_family = AF_INET};
        socklen_t len = sizeof(a);
        char host[64];
        int port;

        memset(r, 0, sizeof(*r));
        if (sscanf(server, "https://%63[^:/]:%d", host, &port) != 2)
                return NULL;
        r->upstream.sin_family = AF_INET;
        r->upstream.sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &r->upstream.sin_addr) != 1)
                return NULL;
        r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(r->listen_fd >= 0);
        a.sin_addr = r->upstream.sin_addr;
        assert_int_equal(bind(r->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(r->listen_fd, 16), 0);
        assert_int_equal(getsockname(r->listen_fd, (struct sockaddr *)&a, &len), 0);
        assert_int_equal(
            sd_event_add_io(ev, &r->accept_src, r->listen_fd, EPOLLIN, on_relay_accept, r), 0);
        return xasprintf("https://%s:%u", host, ntohs(a.sin_port));
}

static void relay_freeze(struct relay *r)
{
        r->frozen = true;
        for (size_t i = 0; i < r->n; i++)
                for (int j = 0; j < 2; j++)
                        (void)sd_event_source_set_enabled(r->srcs[i][j], SD_EVENT_OFF);
}

static void relay_stop(struct relay *r)
{
        for (size_t i = 0; i < r->n; i++)
                for (int j = 0; j < 2; j++) {
                        sd_event_source_disable_unref(r->srcs[i][j]);
                        close(r->fds[i][j]);
                }
        sd_event_source_disable_unref(r->accept_src);
        close(r->listen_fd);
}

static void test_step_down_at_renew_deadline(void **state)
{
        struct kube_config *cfg = NULL;
        char *err = NULL, lease[64];
        _cleanup_free_ char *url = NULL;
        struct relay r;
        struct cand a;
        uint64_t t0, took;

        (void)state;
        if (kube_config_load(NULL, &cfg, &err) < 0)
                fail_msg("kubeconfig: %s", err);
        url = relay_start(&r, cfg->server);
        kube_config_free(cfg);
        if (!url)
                skip(); /* not an IPv4 address: no relay */
        snprintf(lease, sizeof(lease), "leader-deadline-%d", (int)getpid());
        /* retry period 1 s: a step-down at a retry tick, or when a write
         * sent at the freeze times out, comes well after the deadline */
        cand_init_via(&a, lease, "replica-r", url, USEC_PER_SEC);
        assert_true(run_until_leader(&a, 10 * USEC_PER_SEC) < 10 * USEC_PER_SEC);
        run_for(USEC_PER_SEC); /* a few renewals through the relay */
        assert_true(leading(&a));

        /* the last successful renewal was sent before now, and less than a
         * retry period (+ its round trip) ago */
        relay_freeze(&r);
        t0 = now();
        while (leading(&a) && now() - t0 < 10 * USEC_PER_SEC)
                sd_event_run(ev, 20000);
        took = now() - t0;
        assert_false(leading(&a));
        assert_int_equal(a.stopped, 1);
        /* at renewed_at + 1.5 s ≤ t0 + 1.5 s (+ the loop's latency), not
         * when the hanging write times out, nor at a later retry tick */
        assert_true(took <= 1500 * USEC_PER_MSEC + 150 * USEC_PER_MSEC);
        assert_true(took >= 1500 * USEC_PER_MSEC - USEC_PER_SEC - 200 * USEC_PER_MSEC);
        cand_kill(&a);
        relay_stop(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_one_leader_and_failover),
            cmocka_unit_test(test_step_down_at_renew_deadline),
        };

        if (!getenv("KUBECONFIG")) {
                fprintf(stderr, "KUBECONFIG is not set: run through scripts/run-tests\n");
                return 1;
        }
        sd_event_new(&ev);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
