/* Leader election against the real apiserver: exactly one leader of two
 * candidates; a leader that vanishes without releasing is replaced after
 * about a lease duration; a released lease is taken at the next retry; the
 * Lease object looks the way client-go writes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

static void cand_init(struct cand *c, const char *lease, const char *identity)
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
        if (kube_config_load(NULL, &cfg, &err) < 0)
                fail_msg("kubeconfig: %s", err);
        assert_int_equal(kube_client_new(ev, cfg, NULL, &c->client), 0);
        kube_config_free(cfg);
        assert_int_equal(kube_leader_new(c->client, &lc, &c->leader), 0);
        assert_int_equal(kube_leader_start(c->leader), 0);
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

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_one_leader_and_failover),
        };

        if (!getenv("KUBECONFIG")) {
                fprintf(stderr, "KUBECONFIG is not set: run through scripts/run-tests\n");
                return 1;
        }
        sd_event_new(&ev);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
