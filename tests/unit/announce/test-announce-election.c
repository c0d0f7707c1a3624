/* The lease election of one core against the in-memory store: lease bodies
 * as client-go writes them, the renewal cadence, renew-deadline expiry,
 * follower expiry by observation, conflicts, deletions, restart
 * re-adoption, shutdown, cordon, exclusion and link-down handover, garbage collection
 * and gratuitous announcements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "announce/timing.h"
#include "harness.h"
#include "lib/util.h"

#define NODE   "kind-worker"
#define OTHER  "kind-worker2"
#define LEASE  "cilium-l2announce-default-deathstar"
#define LEASE2 "cilium-l2announce-default-deathstar-2"

static void setup(struct world *w, bool synced)
{
        world_init(w, NODE);
        feed_node(w->a, NODE, "{}", true, false);
        feed_device(w->a, "eth0", 2, true);
        feed_device(w->a, "net0", 3, true);
        feed_policy(w->a, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"externalIPs\":true,"
                          "\"interfaces\":[\"net0\"]}}");
        feed_service(w->a, "default", "deathstar", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        if (synced)
                announcer_set_synced(w->a);
}

static json_t *spec_of(const struct announce_lease_action *a)
{
        return json_object_get(a->body, "spec");
}

static const char *spec_str(const struct announce_lease_action *a, const char *k)
{
        return json_string_value(json_object_get(spec_of(a), k));
}

static json_int_t spec_int(const struct announce_lease_action *a, const char *k)
{
        return json_integer_value(json_object_get(spec_of(a), k));
}

static const char *body_rv(const struct announce_lease_action *a)
{
        return json_string_value(
            json_object_get(json_object_get(a->body, "metadata"), "resourceVersion"));
}

static void test_lease_bodies(void **state)
{
        struct world w;
        char now[40];
        const struct announce_lease_action *a;

        (void)state;
        setup(&w, true);
        w.hold_writes = true;
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 1);
        a = &w.held_actions[0];
        assert_int_equal(a->op, ANNOUNCE_LEASE_CREATE);
        assert_string_equal(a->name, LEASE);
        assert_string_equal(a->reason, "acquire");
        assert_null(body_rv(a));
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(a->body, "metadata"), "namespace")),
            LEASE_NS);
        assert_string_equal(spec_str(a, "holderIdentity"), NODE);
        assert_int_equal(spec_int(a, "leaseDurationSeconds"), 3);
        assert_int_equal(spec_int(a, "leaseTransitions"), 0);
        k8s_time_format(w.wall, true, now, sizeof(now));
        assert_string_equal(spec_str(a, "acquireTime"), now);
        assert_string_equal(spec_str(a, "renewTime"), now);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);

        /* Renewal: PUT with the last resourceVersion, acquireTime kept. */
        world_advance(&w, first_renew_at(LEASE));
        assert_int_equal(w.n_held_actions, 1);
        a = &w.held_actions[0];
        assert_int_equal(a->op, ANNOUNCE_LEASE_UPDATE);
        assert_string_equal(a->reason, "renew");
        assert_string_equal(body_rv(a), "101");
        assert_string_equal(a->resource_version, "101");
        assert_string_equal(spec_str(a, "acquireTime"), now);
        k8s_time_format(w.wall, true, now, sizeof(now));
        assert_string_equal(spec_str(a, "renewTime"), now);
        assert_int_equal(spec_int(a, "leaseTransitions"), 0);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);

        /* Release: holder "", 1 s, transitions kept (client-go ReleaseOnCancel). */
        announcer_release_all(w.a);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        a = &w.held_actions[0];
        assert_string_equal(a->reason, "release");
        assert_string_equal(spec_str(a, "holderIdentity"), "");
        assert_int_equal(spec_int(a, "leaseDurationSeconds"), 1);
        assert_int_equal(spec_int(a, "leaseTransitions"), 0);
        assert_string_equal(body_rv(a), "102");
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        assert_string_equal(world_holder(&w, LEASE), "");
        world_done(&w);
}

static void test_acquire_expired_transitions(void **state)
{
        struct world w;
        const struct announce_lease_action *a;
        uint64_t t0;

        (void)state;
        setup(&w, true);
        w.hold_writes = true;
        world_put_lease(&w, LEASE, OTHER, 3, 4);
        t0 = w.now;
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 0);
        /* Followers send nothing and wake exactly at expiry. */
        assert_int_equal(w.next_wakeup, t0 + 3 * SEC);
        world_advance(&w, 3 * SEC - 1);
        assert_int_equal(w.n_held_actions, 0);
        world_advance(&w, 1);
        assert_int_equal(w.n_held_actions, 1);
        a = &w.held_actions[0];
        assert_int_equal(a->op, ANNOUNCE_LEASE_UPDATE);
        assert_string_equal(spec_str(a, "holderIdentity"), NODE);
        assert_int_equal(spec_int(a, "leaseTransitions"), 5);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_done(&w);
}

static void test_follower_observation_resets(void **state)
{
        struct world w;
        uint64_t t0;

        (void)state;
        setup(&w, true);
        world_put_lease(&w, LEASE, OTHER, 3, 0);
        t0 = w.now;
        world_advance(&w, 2 * SEC);
        /* The holder renews: expiry counts from this observation. */
        world_put_lease(&w, LEASE, OTHER, 3, 0);
        world_advance(&w, 3 * SEC - 1);
        assert_int_equal(w.n_actions, 0);
        assert_string_equal(world_holder(&w, LEASE), OTHER);
        world_advance(&w, 1);
        assert_int_equal(w.now, t0 + 5 * SEC);
        assert_string_equal(world_holder(&w, LEASE), NODE);
        /* The lease's own duration counts, not ours. */
        world_put_lease(&w, LEASE2, OTHER, 10, 0);
        feed_service(w.a, "default", "deathstar-2", "{}", "[\"12.0.0.101\"]", NULL, NULL);
        world_advance(&w, 10 * SEC - 1);
        assert_string_equal(world_holder(&w, LEASE2), OTHER);
        world_advance(&w, 1);
        assert_string_equal(world_holder(&w, LEASE2), NODE);
        world_done(&w);
}

static void test_released_lease_taken_at_once(void **state)
{
        struct world w;

        (void)state;
        setup(&w, true);
        world_put_lease(&w, LEASE, OTHER, 3, 2);
        world_settle(&w);
        assert_int_equal(w.n_actions, 0);
        world_put_lease(&w, LEASE, "", 1, 2);
        world_settle(&w);
        assert_string_equal(world_holder(&w, LEASE), NODE);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_done(&w);
}

static void test_renew_cadence(void **state)
{
        struct world w;
        struct timing t;
        struct rtt_estimator e = {0};

        (void)state;
        timing_init(&t, 3 * SEC, 1 * SEC, 500 * MSEC);
        assert_int_equal(t.lifetime, LIFETIME);
        assert_int_equal(t.duration_s, 3);
        /* Before any sample, and with a fast API: the retry period. */
        assert_int_equal(renew_margin(&e, &t), 500 * MSEC);
        for (int i = 0; i < 20; i++)
                rtt_sample(&e, 4 * MSEC);
        assert_int_equal(renew_margin(&e, &t), 500 * MSEC);
        /* A slow, jittery API: more margin, capped at half the lifetime. */
        for (int i = 0; i < 50; i++)
                rtt_sample(&e, (i % 2) ? 10 * MSEC : 190 * MSEC);
        assert_true(renew_margin(&e, &t) > 500 * MSEC);
        for (int i = 0; i < 50; i++)
                rtt_sample(&e, 2 * SEC);
        assert_int_equal(renew_margin(&e, &t), 750 * MSEC);
        /* Sanitising as Cilium: renew deadline >= duration → duration / 2. */
        timing_init(&t, 2 * SEC, 5 * SEC, 100 * MSEC);
        assert_int_equal(t.renew_deadline, 1 * SEC);
        /* A duration written as whole seconds never lets followers in first. */
        timing_init(&t, 1900 * MSEC, 1500 * MSEC, 100 * MSEC);
        assert_int_equal(t.duration_s, 1);
        assert_int_equal(t.lifetime, 900 * MSEC);

        /* In a core: 10 s of holding with a 4 ms round trip. */
        setup(&w, true);
        w.hold_writes = true;
        world_settle(&w);
        for (uint64_t end = w.now + 60 * SEC; w.now < end;) {
                if (w.n_held_actions) {
                        world_advance(&w, 4 * MSEC);
                        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
                        world_settle(&w);
                        continue;
                }
                /* Replies never stop: an entry is always valid. */
                assert_int_equal(w.n_entries, 1);
                assert_true(w.entries[0].deadline > w.now);
                world_advance(&w, w.next_wakeup - w.now);
        }
        fprintf(stderr, "updates %d\n", (int)w.n_by_op[ANNOUNCE_LEASE_UPDATE]);
        /* one renewal per renew deadline (the first one earlier, spread):
         * 60 s → 60 or 61 writes */
        assert_true(w.n_by_op[ANNOUNCE_LEASE_UPDATE] <= 61);
        assert_true(w.n_by_op[ANNOUNCE_LEASE_UPDATE] >= 60);
        world_done(&w);
}

/* Leases acquired together are not renewed together: the first renewal of
 * each falls in the second half of the renew deadline, at a point fixed by
 * its name; from then on they follow one renew deadline apart. */
static void test_renewals_spread(void **state)
{
        enum { N = 20 };
        struct world w;
        char names[N][80];
        uint64_t t0, first[N] = {0}, second[N] = {0};
        size_t distinct = 0;

        (void)state;
        setup(&w, true);
        snprintf(names[0], sizeof(names[0]), "%s", LEASE);
        for (int i = 1; i < N; i++) {
                char svc[16], ext[32];

                snprintf(svc, sizeof(svc), "svc%d", i);
                snprintf(ext, sizeof(ext), "[\"12.0.0.%d\"]", 10 + i);
                feed_service(w.a, "default", svc, "{}", ext, NULL, NULL);
                snprintf(names[i], sizeof(names[i]), "cilium-l2announce-default-%s", svc);
        }
        w.hold_writes = true;
        world_settle(&w);
        t0 = w.now;
        assert_int_equal(w.n_held_actions, N);
        while (w.n_held_actions)
                world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        while (w.now < t0 + 2 * RENEW_AT) {
                world_advance(&w, w.next_wakeup - w.now);
                while (w.n_held_actions) {
                        int i = 0;

                        while (i < N && strcmp(names[i], w.held_actions[0].name) != 0)
                                i++;
                        assert_true(i < N);
                        assert_int_equal(w.held_actions[0].op, ANNOUNCE_LEASE_UPDATE);
                        if (!first[i])
                                first[i] = w.now;
                        else if (!second[i])
                                second[i] = w.now;
                        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
                }
                world_settle(&w);
        }
        for (int i = 0; i < N; i++) {
                bool seen = false;

                assert_int_equal(first[i] - t0, first_renew_at(names[i]));
                assert_true(first[i] - t0 >= RENEW_AT / 2 && first[i] - t0 < RENEW_AT);
                assert_int_equal(second[i] - first[i], RENEW_AT);
                for (int j = 0; j < i; j++)
                        seen = seen || first[j] == first[i];
                distinct += !seen;
        }
        assert_true(distinct >= N - 2);
        world_done(&w);
}

/* The unannounced count (metrics): a selected service whose Lease no node
 * holds, whether free, being acquired, expired or lapsed. */
static void test_unannounced(void **state)
{
        struct world w;

        (void)state;
        setup(&w, true);
        w.hold_writes = true;
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 1); /* no Lease yet */
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 1);
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 1); /* being acquired */
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 0); /* ours */
        world_advance(&w, RENEW_AT);
        world_answer(&w, 0, ANNOUNCE_LEASE_ERROR);
        world_advance(&w, LIFETIME - RENEW_AT);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 1); /* lapsed */
        world_done(&w);

        setup(&w, true);
        w.hold_writes = true;
        world_put_lease(&w, LEASE, OTHER, 3, 0);
        world_settle(&w);
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 0); /* another node's */
        world_advance(&w, 3 * SEC);
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 1); /* expired */
        /* a service without addresses is not counted */
        feed_service(w.a, "default", "noip", "{}", "[]", NULL, NULL);
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 1);
        world_done(&w);
}

static void test_renew_deadline_expiry(void **state)
{
        struct world w;
        uint64_t t0;
        struct announce_lease_info *infos;
        size_t n;

        (void)state;
        setup(&w, true);
        w.hold_writes = true;
        world_settle(&w);
        t0 = w.now;
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(w.entries[0].deadline, t0 + LIFETIME);
        world_advance(&w, RENEW_AT);
        assert_int_equal(w.n_held_actions, 1);
        world_answer(&w, 0, ANNOUNCE_LEASE_ERROR);
        world_settle(&w);
        /* Still answering until the deadline; the retry comes a retry period
         * later, which is when the deadline passes too. */
        assert_int_equal(w.n_entries, 1);
        assert_int_equal(w.next_wakeup, t0 + LIFETIME);
        world_advance(&w, LIFETIME - RENEW_AT);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, "renew deadline passed"), 1);
        assert_int_equal(announcer_leases(w.a, w.now, &infos, &n), 0);
        assert_int_equal(infos[0].role, ANNOUNCE_ROLE_LAPSED);
        announce_lease_infos_free(infos, n);
        /* Retry every retry period; the lease still carries our name. */
        assert_int_equal(w.n_held_actions, 1);
        assert_int_equal(w.held_actions[0].op, ANNOUNCE_LEASE_UPDATE);
        world_answer(&w, 0, ANNOUNCE_LEASE_ERROR);
        world_advance(&w, 500 * MSEC - 1);
        assert_int_equal(w.n_held_actions, 0);
        world_advance(&w, 1);
        assert_int_equal(w.n_held_actions, 1);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(w.entries[0].deadline, w.now + LIFETIME);
        assert_int_equal(world_count_events(&w, ANNOUNCE_STARTED, "lease re-adopted"), 1);
        assert_true(announcer_counters(w.a)->renew_failures == 2);
        world_done(&w);
}

/* The default timings (15s/5s/2s): entries answer 7 s after a renewal's
 * send, and up to 13.5 s (90% of the duration) while the next one is
 * pending. */
static void setup_default_timings(struct world *w, uint64_t *t0)
{
        struct announcer_config c = world_config(NODE);

        c.election = ANNOUNCE_ELECTION_LEASE_PER_SERVICE;
        c.lease_duration = 15 * SEC;
        c.renew_deadline = 5 * SEC;
        c.retry_period = 2 * SEC;
        world_init_config(w, &c);
        feed_node(w->a, NODE, "{}", true, false);
        feed_device(w->a, "net0", 3, true);
        feed_policy(w->a, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"externalIPs\":true,"
                          "\"interfaces\":[\"net0\"]}}");
        feed_service(w->a, "default", "deathstar", "{}", "[\"12.0.0.100\"]", NULL, NULL);
        announcer_set_synced(w->a);
        w->hold_writes = true;
        world_settle(w);
        *t0 = w->now;
        world_answer(w, 0, ANNOUNCE_LEASE_OK);
        world_settle(w);
        EXPECT_ENTRIES(w, "12.0.0.100@3");
        assert_int_equal(w->entries[0].deadline, *t0 + 7 * SEC);
        /* the first renewal comes within the renew deadline, and waits */
        world_advance(w, 5 * SEC);
        assert_int_equal(w->n_held_actions, 1);
        assert_int_equal(w->held_actions[0].op, ANNOUNCE_LEASE_UPDATE);
        EXPECT_ENTRIES(w, "12.0.0.100@3");
        assert_int_equal(w->entries[0].deadline, *t0 + 13500 * MSEC);
}

static void test_renewal_pending_keeps_entries(void **state)
{
        struct world w;
        uint64_t t0;

        (void)state;
        setup_default_timings(&w, &t0);
        /* the result comes 2 s after the deadline the last success gave */
        world_advance(&w, 4 * SEC);
        assert_int_equal(w.now, t0 + 9 * SEC);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, NULL), 0);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        /* sent at t0 + 2.5..5 s: answering at least 7 s from then (the
         * next renewal, early after that slow round trip, extends it again) */
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_true(w.entries[0].deadline >= t0 + 9500 * MSEC);
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, NULL), 0);
        world_done(&w);
}

static void test_renewal_late_success_keeps_entries(void **state)
{
        struct world w;
        uint64_t t0;

        (void)state;
        setup_default_timings(&w, &t0);
        /* the result comes after the 7 s its own send time gives (sent at
         * t0 + 2.5..5 s), within the 13.5 s bound of a pending renewal */
        world_advance(&w, 7500 * MSEC);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        /* still answering, and the next renewal is on its way at once */
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, NULL), 0);
        assert_int_equal(w.n_held_actions, 1);
        /* it comes 3 s later, within the bound of the renewal before it:
         * the entries never lapsed while renewals succeeded */
        world_advance(&w, 3 * SEC);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, NULL), 0);
        world_done(&w);
}

static void test_renewal_failed_ends_extension(void **state)
{
        struct world w;
        uint64_t t0;

        (void)state;
        setup_default_timings(&w, &t0);
        world_advance(&w, 3 * SEC);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        /* past the 7 s of the last success: silent at once */
        world_answer(&w, 0, ANNOUNCE_LEASE_ERROR);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, "renew deadline passed"), 1);
        world_done(&w);
}

static void test_renewal_extension_bound(void **state)
{
        struct world w;
        uint64_t t0;

        (void)state;
        setup_default_timings(&w, &t0);
        /* no answer at all: silent at 90% of the duration, not later */
        world_advance(&w, 8500 * MSEC - 1);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_advance(&w, 1);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, "renew deadline passed"), 1);
        /* the late success (sent after the acquisition) still gives a
         * bound of its own: answering again, renewed at once */
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_true(w.entries[0].deadline <= t0 + 5 * SEC + 13500 * MSEC);
        assert_int_equal(w.n_held_actions, 1);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(w.entries[0].deadline, w.now + 7 * SEC);
        world_done(&w);
}

static void test_renew_conflict(void **state)
{
        struct world w;

        (void)state;
        setup(&w, true);
        w.hold_writes = true;
        world_settle(&w);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_advance(&w, RENEW_AT);
        /* Someone else wrote the lease meanwhile. */
        {
                json_t *o = fake_api_put(&w.api, LEASE, OTHER, 3, 1);

                json_decref(o);
        }
        world_answer(&w, 0, ANNOUNCE_LEASE_OK); /* the store answers 409 */
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w); /* at once, not at the deadline */
        assert_int_equal(
            world_count_events(&w, ANNOUNCE_STOPPED, "lease changed by another writer (conflict)"),
            1);
        /* No retry with the stale version while the watch has not told us more. */
        assert_int_equal(w.n_held_actions, 0);
        w.hold_writes = false;
        world_put_lease(&w, LEASE, OTHER, 3, 1);
        world_advance(&w, 3 * SEC - 1);
        assert_string_equal(world_holder(&w, LEASE), OTHER);
        world_advance(&w, 1);
        assert_string_equal(world_holder(&w, LEASE), NODE);
        world_done(&w);
}

static void test_lagging_watch(void **state)
{
        struct world w;
        json_t *old;
        struct k8s_lease *l;

        (void)state;
        setup(&w, true);
        world_settle(&w);
        old = json_deep_copy(fake_api_get(&w.api, LEASE));
        world_advance(&w, 5 * SEC);
        /* An old event arrives late: ignored, the next renewal still succeeds. */
        l = lease_decode(old);
        announcer_upsert_lease(w.a, l, w.now);
        k8s_lease_free(l);
        json_decref(old);
        world_clear(&w);
        world_advance(&w, 2 * SEC);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(announcer_counters(w.a)->renew_failures, 0);
        world_done(&w);
}

static void test_deleted_leases(void **state)
{
        struct world w;

        (void)state;
        setup(&w, true);
        world_put_lease(&w, LEASE, OTHER, 3, 0);
        world_advance(&w, 1 * SEC);
        /* Deleted while another node may still answer: wait a full duration. */
        g_hash_table_remove(w.api.leases, LEASE);
        announcer_remove_lease(w.a, LEASE, w.now);
        world_advance(&w, 3 * SEC - 1);
        assert_null(world_holder(&w, LEASE));
        world_advance(&w, 1);
        assert_string_equal(world_holder(&w, LEASE), NODE);
        /* Our own lease deleted under us: silent at once, recreated at once. */
        w.hold_writes = true;
        world_clear(&w);
        g_hash_table_remove(w.api.leases, LEASE);
        announcer_remove_lease(w.a, LEASE, w.now);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(w.n_held_actions, 1);
        assert_int_equal(w.held_actions[0].op, ANNOUNCE_LEASE_CREATE);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        /* A renewal answered 404: the same. */
        world_advance(&w, RENEW_AT);
        g_hash_table_remove(w.api.leases, LEASE);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(w.held_actions[0].op, ANNOUNCE_LEASE_CREATE);
        world_done(&w);
}

static void test_create_already_exists(void **state)
{
        struct world w;

        (void)state;
        setup(&w, true);
        w.hold_writes = true;
        world_settle(&w);
        {
                json_t *o = fake_api_put(&w.api, LEASE, OTHER, 3, 0);

                json_decref(o);
        }
        world_answer(&w, 0, ANNOUNCE_LEASE_OK); /* AlreadyExists */
        world_advance(&w, 2 * SEC);
        /* No retry storm while the watch catches up. */
        assert_int_equal(w.n_held_actions, 0);
        EXPECT_NO_ENTRIES(&w);
        w.hold_writes = false;
        world_put_lease(&w, LEASE, OTHER, 3, 0);
        world_advance(&w, 3 * SEC);
        assert_string_equal(world_holder(&w, LEASE), NODE);
        world_done(&w);
}

static void test_not_synced(void **state)
{
        struct world w;
        struct announce_entry pin = {.ifindex = 3, .deadline = 1000 * SEC + 500 * MSEC};

        (void)state;
        setup(&w, false);
        assert_int_equal(ipaddr_parse("12.0.0.100", &pin.ip), 0);
        announcer_add_pinned_entry(w.a, &pin);
        world_settle(&w);
        assert_int_equal(w.n_actions, 0);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(w.entries[0].deadline, pin.deadline);
        assert_int_equal(w.next_wakeup, UINT64_MAX);
        world_done(&w);
}

static void test_restart_readoption(void **state)
{
        struct world w;
        struct announce_entry pin = {.ifindex = 3};
        json_t *o;
        struct k8s_lease *l;
        const struct announce_lease_action *a;

        (void)state;
        setup(&w, false);
        feed_service(w.a, "default", "deathstar-2", "{}", "[\"12.0.0.101\"]", NULL, NULL);
        /* Our lease from before the restart, and its pinned entry. */
        o = fake_api_put(&w.api, LEASE, NODE, 3, 7);
        l = lease_decode(o);
        announcer_upsert_lease(w.a, l, w.now);
        k8s_lease_free(l);
        json_decref(o);
        assert_int_equal(ipaddr_parse("12.0.0.100", &pin.ip), 0);
        pin.deadline = w.now + 600 * MSEC;
        announcer_add_pinned_entry(w.a, &pin);
        /* A stale pinned entry of a lease that is not ours any more. */
        assert_int_equal(ipaddr_parse("12.0.0.200", &pin.ip), 0);
        announcer_add_pinned_entry(w.a, &pin);
        announcer_set_synced(w.a);

        w.hold_writes = true;
        world_settle(&w);
        /* First: the re-adoption renewal, alone; the pinned entry keeps its deadline. */
        assert_int_equal(w.n_held_actions, 1);
        a = &w.held_actions[0];
        assert_int_equal(a->op, ANNOUNCE_LEASE_UPDATE);
        assert_string_equal(a->reason, "re-adopt");
        assert_int_equal(spec_int(a, "leaseTransitions"), 7);
        assert_string_equal(spec_str(a, "acquireTime"), "2026-01-01T00:00:00.000000Z");
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(w.entries[0].deadline, w.now + 600 * MSEC);
        assert_int_equal(w.n_garps, 0);
        assert_int_equal(w.n_events, 0);
        world_advance(&w, 3 * MSEC);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        /* Renewed: a fresh deadline; only now the other service is acquired. */
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_int_equal(w.entries[0].deadline, w.now - 3 * MSEC + LIFETIME);
        assert_int_equal(w.n_held_actions, 1);
        assert_int_equal(w.held_actions[0].op, ANNOUNCE_LEASE_CREATE);
        assert_string_equal(w.held_actions[0].name, LEASE2);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.101@3");
        /* The re-adopted entry was never announced anew; the new one was. */
        assert_int_equal(w.n_garps, 1);
        assert_int_equal(world_count_events(&w, ANNOUNCE_STARTED, NULL), 1);
        assert_string_equal(world_holder(&w, LEASE), NODE);
        world_done(&w);
}

static void test_shutdown_renew_all(void **state)
{
        struct world w;

        (void)state;
        setup(&w, true);
        feed_service(w.a, "default", "deathstar-2", "{}", "[\"12.0.0.101\"]", NULL, NULL);
        world_settle(&w);
        world_advance(&w, 300 * MSEC);
        world_clear(&w);
        w.hold_writes = true;
        announcer_renew_all_now(w.a);
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 2);
        assert_int_equal(w.n_by_op[ANNOUNCE_LEASE_UPDATE], 2);
        EXPECT_ENTRIES(&w, "12.0.0.100@3", "12.0.0.101@3");
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        for (size_t i = 0; i < w.n_entries; i++)
                assert_int_equal(w.entries[i].deadline, w.now + LIFETIME);
        /* No new acquisitions after shutdown began. */
        feed_service(w.a, "default", "deathstar-3", "{}", "[\"12.0.0.102\"]", NULL, NULL);
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 0);
        world_done(&w);
}

/* A change of our Node (off_labels, off_unschedulable) takes it out: one
 * run makes it silent and hands the lease over (event reason why); nothing
 * is taken back meanwhile (gc_ok: as the designated node it may collect the
 * lease nobody wanted). Undone (on_labels, schedulable): taken back at once. */
static void check_node_handover(const char *off_labels, bool off_unschedulable, const char *why,
                                bool gc_ok, const char *on_labels)
{
        struct world w;

        setup(&w, true);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        w.hold_writes = true;
        world_clear(&w);
        feed_node(w.a, NODE, off_labels, true, off_unschedulable);
        world_settle(&w);
        /* One run: silent (entries gone) and the handover write. */
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(w.n_held_actions, 1);
        assert_string_equal(w.held_actions[0].reason, "release");
        assert_string_equal(spec_str(&w.held_actions[0], "holderIdentity"), "");
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, why), 1);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_advance(&w, 10 * SEC);
        if (!gc_ok)
                assert_int_equal(w.n_held_actions, 0);
        for (size_t i = 0; i < w.n_held_actions; i++)
                assert_string_equal(w.held_actions[i].reason, "gc");
        EXPECT_NO_ENTRIES(&w);
        while (w.n_held_actions)
                world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        /* Undone: taken back at once (nobody else took it). */
        w.hold_writes = false;
        feed_node(w.a, NODE, on_labels, true, false);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        world_done(&w);
}

static void test_cordon_handover(void **state)
{
        (void)state;
        check_node_handover("{}", true, "node cordoned", false, "{}");
}

/* The label node.kubernetes.io/exclude-from-external-load-balancers, as the
 * Kubernetes service controller reads it. */
static void test_exclude_label_values(void **state)
{
        static const struct {
                const char *value;
                bool excluded;
        } cases[] = {
            {"", true},       {"true", true},      {"True", true},   {"1", true},
            {"yes", true},    {"karpenter", true}, {"false", false}, {"False", false},
            {"FALSE", false}, {"f", false},        {"F", false},     {"0", false},
        };
        struct labels l = {0};

        (void)state;
        assert_false(announce_node_excluded(&l));
        labels_set(&l, "node.kubernetes.io/exclude-from-external-load-balancer", "true");
        assert_false(announce_node_excluded(&l)); /* a near miss is no match */
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                labels_set(&l, ANNOUNCE_EXCLUDE_LABEL, cases[i].value);
                if (announce_node_excluded(&l) != cases[i].excluded)
                        fail_msg("value \"%s\": expected excluded=%d", cases[i].value,
                                 cases[i].excluded);
        }
        labels_done(&l);
}

/* Labelled excluded: like a cordon, but still the designated node; the
 * value "false" does not exclude (Kubernetes >= 1.28 reads the value). */
static void test_exclude_label_handover(void **state)
{
        (void)state;
        check_node_handover("{\"" ANNOUNCE_EXCLUDE_LABEL "\":\"\"}", false,
                            "node excluded from external load balancers", true,
                            "{\"" ANNOUNCE_EXCLUDE_LABEL "\":\"false\"}");
}

static void test_interface_down_handover(void **state)
{
        struct world w;

        (void)state;
        setup(&w, true);
        feed_policy(w.a, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"externalIPs\":true}}");
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@2", "12.0.0.100@3");
        feed_device(w.a, "eth0", 2, false);
        world_settle(&w);
        /* One interface left: keep the lease, answer where the link is up. */
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_string_equal(world_holder(&w, LEASE), NODE);
        world_clear(&w);
        feed_device(w.a, "net0", 3, false);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(world_holder(&w, LEASE), "");
        assert_int_equal(
            world_count_events(&w, ANNOUNCE_STOPPED, "every announcing interface is down"), 1);
        /* Back up: announce again, with a fresh gratuitous series. */
        feed_device(w.a, "net0", 3, true);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.100@3");
        assert_string_equal(world_holder(&w, LEASE), NODE);
        assert_int_equal(w.n_garps, 1);
        world_done(&w);
}

static void test_gc(void **state)
{
        struct world w;

        (void)state;
        setup(&w, true);
        world_put_lease(&w, "cilium-l2announce-default-gone", "", 1, 3);
        world_put_lease(&w, "cilium-l2announce-default-orphan", "dead-node", 3, 0);
        world_put_lease(&w, "unrelated-lease", "", 1, 0);
        world_settle(&w);
        /* Empty for a lease duration + balance delay (4 s); orphan expired + 3 s. */
        world_advance(&w, 4 * SEC - 1);
        assert_non_null(fake_api_get(&w.api, "cilium-l2announce-default-gone"));
        world_advance(&w, 1);
        assert_null(fake_api_get(&w.api, "cilium-l2announce-default-gone"));
        assert_non_null(fake_api_get(&w.api, "cilium-l2announce-default-orphan"));
        world_advance(&w, 2 * SEC);
        assert_null(fake_api_get(&w.api, "cilium-l2announce-default-orphan"));
        assert_non_null(fake_api_get(&w.api, "unrelated-lease"));
        assert_int_equal(announcer_counters(w.a)->deletions, 2);
        assert_int_equal(w.api.deletes, 2);
        world_done(&w);

        /* Not the designated node: never deletes. */
        setup(&w, true);
        feed_node(w.a, "a-first-node", "{}", true, false);
        world_put_lease(&w, "cilium-l2announce-default-gone", "", 1, 3);
        world_advance(&w, 60 * SEC);
        assert_int_equal(w.api.deletes, 0);
        world_done(&w);
}

static void test_garp_series(void **state)
{
        struct world w;
        uint64_t t0;

        (void)state;
        setup(&w, true);
        world_settle(&w);
        t0 = w.now;
        assert_int_equal(w.n_garps, 1);
        assert_int_equal(w.garps[0].ifindex, 3);
        world_advance(&w, 999 * MSEC);
        assert_int_equal(w.n_garps, 1);
        world_advance(&w, 1 * MSEC);
        assert_int_equal(w.n_garps, 2);
        world_advance(&w, 10 * SEC);
        assert_int_equal(w.n_garps, 5); /* t0, +1, +2, +3, +4 s */
        (void)t0;
        world_done(&w);
}

/* A new MAC on the announcing device restarts the series at once, with the
 * full count; the same MAC reported again (carrier, attach) does not, nor
 * does a new MAC on another device. */
static void test_garp_mac_change(void **state)
{
        struct announcer_device d = {.name = "net0", .ifindex = 3, .up = true},
                                other = {.name = "eth0", .ifindex = 2, .up = true};
        struct world w;

        (void)state;
        setup(&w, true);
        world_settle(&w);
        world_advance(&w, 10 * SEC);
        assert_int_equal(w.n_garps, 5);

        d.mac[5] = 3; /* feed_device's MAC: unchanged */
        announcer_set_device(w.a, &d);
        world_advance(&w, 1 * MSEC);
        assert_int_equal(w.n_garps, 5);
        other.mac[0] = 0x02;
        announcer_set_device(w.a, &other);
        world_advance(&w, 1 * MSEC);
        assert_int_equal(w.n_garps, 5);

        d.mac[0] = 0x02;
        announcer_set_device(w.a, &d);
        world_advance(&w, 1 * MSEC);
        assert_int_equal(w.n_garps, 6);
        assert_int_equal(w.garps[5].ifindex, 3);
        world_advance(&w, 10 * SEC);
        assert_int_equal(w.n_garps, 10); /* a whole series again */
        world_done(&w);
}

static void test_sanitize(void **state)
{
        uint64_t d = 3 * USEC_PER_SEC, rd = USEC_PER_SEC, rp = 500 * USEC_PER_MSEC;

        (void)state;
        assert_false(timing_sanitize(&d, &rd, &rp));
        d = 500 * USEC_PER_MSEC;
        rd = USEC_PER_SEC;
        rp = USEC_PER_SEC;
        assert_true(timing_sanitize(&d, &rd, &rp));
        assert_true(d == USEC_PER_SEC);
        assert_true(rd == USEC_PER_SEC / 2);
        assert_true(rp == USEC_PER_SEC / 4);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sanitize),
            cmocka_unit_test(test_lease_bodies),
            cmocka_unit_test(test_acquire_expired_transitions),
            cmocka_unit_test(test_follower_observation_resets),
            cmocka_unit_test(test_released_lease_taken_at_once),
            cmocka_unit_test(test_renew_cadence),
            cmocka_unit_test(test_renewals_spread),
            cmocka_unit_test(test_renew_deadline_expiry),
            cmocka_unit_test(test_unannounced),
            cmocka_unit_test(test_renewal_pending_keeps_entries),
            cmocka_unit_test(test_renewal_late_success_keeps_entries),
            cmocka_unit_test(test_renewal_failed_ends_extension),
            cmocka_unit_test(test_renewal_extension_bound),
            cmocka_unit_test(test_renew_conflict),
            cmocka_unit_test(test_lagging_watch),
            cmocka_unit_test(test_deleted_leases),
            cmocka_unit_test(test_create_already_exists),
            cmocka_unit_test(test_not_synced),
            cmocka_unit_test(test_restart_readoption),
            cmocka_unit_test(test_shutdown_renew_all),
            cmocka_unit_test(test_cordon_handover),
            cmocka_unit_test(test_exclude_label_values),
            cmocka_unit_test(test_exclude_label_handover),
            cmocka_unit_test(test_interface_down_handover),
            cmocka_unit_test(test_gc),
            cmocka_unit_test(test_garp_series),
            cmocka_unit_test(test_garp_mac_change),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
