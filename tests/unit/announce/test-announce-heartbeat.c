/* The node-heartbeat election (docs/l2announce.md): the shard codec, one
 * core against the in-memory store (registration, placement, the gate, the
 * renewal cadence, lost results, fencing, shutdown, restart, malformed
 * shards, compatibility Leases, introspection), and several cores in the
 * simulation (sim.h): balance, failover time and writes, freezes, restart,
 * release on shutdown, joins, cordon and link loss — never two answerers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "announce/bindings.h"
#include "lib/util.h"
#include "sim.h"

#define NODE   "kind-worker"
#define HB     "l2lb-node-kind-worker"
#define POLICY "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"externalIPs\":true}}"

/* ---- codec ---- */

static void parse_ip(const char *s, struct ipaddr *ip)
{
        assert_int_equal(ipaddr_parse(s, ip), 0);
}

static void test_bindings_round_trip(void **state)
{
        struct bindings b = {0}, c = {0};
        struct ipaddr x, y, z;
        char *text, *again, *err = NULL;

        (void)state;
        parse_ip("12.0.0.2", &x);
        parse_ip("2001:db8::1", &y);
        parse_ip("12.0.0.1", &z);
        bindings_set(&b, &x, "node-b", 7, "abcdef01");
        bindings_set(&b, &y, "node-a", 2147483647, "12345678");
        bindings_set(&b, &z, "node-a", 0, "12345678");
        bindings_set(&b, &x, "node-c", 8, "abcdef02"); /* replaces */
        assert_int_equal(b.n, 3);
        text = bindings_format(&b);
        assert_string_equal(text, "{\"12.0.0.1\":\"node-a/0/12345678\","
                                  "\"12.0.0.2\":\"node-c/8/abcdef02\","
                                  "\"2001:db8::1\":\"node-a/2147483647/12345678\"}");
        assert_int_equal(bindings_parse(text, -1, &c, &err), 0);
        assert_null(err);
        assert_int_equal(c.n, 3);
        again = bindings_format(&c);
        assert_string_equal(text, again);
        assert_string_equal(bindings_get(&c, &x)->node, "node-c");
        assert_int_equal(bindings_get(&c, &y)->epoch, 2147483647);
        assert_true(bindings_remove(&c, &x));
        assert_false(bindings_remove(&c, &x));
        assert_null(bindings_get(&c, &x));
        free(text);
        free(again);
        bindings_done(&b);
        bindings_done(&c);
        /* absent annotation: no bindings, nothing wrong */
        assert_int_equal(bindings_parse(NULL, 3, &c, &err), 0);
        assert_int_equal(c.n, 0);
        text = bindings_format(&c);
        assert_string_equal(text, "{}");
        free(text);
}

static size_t bad(const char *text, int shard, size_t *ret_good)
{
        struct bindings b = {0};
        char *err = NULL;
        size_t n = bindings_parse(text, shard, &b, &err);

        if (n > 0) {
                assert_non_null(err);
                print_message("  %s → %s\n", text, err);
        } else
                assert_null(err);
        *ret_good = b.n;
        free(err);
        bindings_done(&b);
        return n;
}

static void test_bindings_malformed(void **state)
{
        size_t good;

        (void)state;
        /* the annotation as a whole */
        assert_int_equal(bad("[]", -1, &good), 1);
        assert_int_equal(bad("nonsense", -1, &good), 1);
        assert_int_equal(bad("\"x\"", -1, &good), 1);
        assert_int_equal(
            bad("{\"12.0.0.1\":\"a/1/abcdefgh\",\"12.0.0.1\":\"b/1/abcdefgh\"}", -1, &good),
            1); /* duplicate keys */
        assert_int_equal(good, 0);
        /* single entries: the others stay */
        assert_int_equal(
            bad("{\"12.0.0.1\":\"a/1/abcdefgh\",\"12.0.0.300\":\"a/1/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(good, 1);
        assert_int_equal(bad("{\"nope\":\"a/1/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":42}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a/1\"}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a/x/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a/-1/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a/01/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"/1/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a/1/abc\"}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a/1/abcdefgh/x\"}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a//abcdefgh\"}", -1, &good), 1);
        /* huge epochs */
        assert_int_equal(bad("{\"12.0.0.1\":\"a/2147483648/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a/99999999999999999999999/abcdefgh\"}", -1, &good),
                         1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a/2147483647/abcdefgh\"}", -1, &good), 0);
        assert_int_equal(good, 1);
        assert_int_equal(bad("{\"12.0.0.1\":\"a/0/abcdefgh\"}", -1, &good), 0);
}

static void test_bindings_canonical_ipv6(void **state)
{
        struct ipaddr ip;
        size_t good;
        char text[128];
        unsigned k;

        (void)state;
        /* keys must be inet_ntop's text: anything else would hash to
         * another shard on another node */
        assert_int_equal(bad("{\"2001:DB8::1\":\"a/1/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"2001:db8:0::1\":\"a/1/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"2001:0db8::1\":\"a/1/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"::ffff:12.0.0.1\":\"a/1/abcdefgh\"}", -1, &good), 0);
        assert_int_equal(bad("{\"012.0.0.1\":\"a/1/abcdefgh\"}", -1, &good), 1);
        assert_int_equal(bad("{\"2001:db8::1\":\"a/1/abcdefgh\"}", -1, &good), 0);
        /* the shard is FNV-1a-32 of the canonical text, and parsing checks it */
        parse_ip("2001:0DB8:0:0::1", &ip);
        k = announce_shard_of(&ip);
        assert_int_equal(k, announce_fnv1a("2001:db8::1") % ANNOUNCE_SHARDS);
        assert_int_equal(announce_fnv1a(""), 2166136261u);
        assert_int_equal(announce_fnv1a("a"), 0xe40c292cu);
        snprintf(text, sizeof(text), "{\"2001:db8::1\":\"a/1/abcdefgh\"}");
        assert_int_equal(bad(text, (int)k, &good), 0);
        assert_int_equal(bad(text, (int)(k + 1) % ANNOUNCE_SHARDS, &good), 1);
        assert_int_equal(good, 0);
}

static void test_heartbeat_names(void **state)
{
        char longname[300];
        char *n;

        (void)state;
        n = announce_heartbeat_name("kind-worker");
        assert_string_equal(n, HB);
        free(n);
        memset(longname, 'a', 250);
        longname[250] = 0;
        n = announce_heartbeat_name(longname);
        assert_int_equal(strlen(n), 253);
        assert_true(startswith(n, "l2lb-node-aaaa"));
        assert_int_equal(n[253 - 9], '-');
        free(n);
        longname[0] = 'b';
        {
                char *m = announce_heartbeat_name(longname);

                n = announce_heartbeat_name(longname + 1);
                assert_string_not_equal(m, n);
                free(m);
                free(n);
        }
        n = announce_shard_name(15);
        assert_string_equal(n, "l2lb-assign-15");
        free(n);
}

/* ---- one core ---- */

static struct announcer_config hb_config(const char *node)
{
        struct announcer_config c = world_config(node);

        c.election = ANNOUNCE_ELECTION_NODE_HEARTBEAT;
        return c;
}

static void svc_ip(int i, char *buf, size_t len)
{
        snprintf(buf, len, "12.0.%d.%d", i / 200, i % 200 + 1);
}

static void add_svcs(struct announcer *a, int n)
{
        for (int i = 0; i < n; i++) {
                char name[32], ip[32], ext[48];

                snprintf(name, sizeof(name), "svc-%03d", i);
                svc_ip(i, ip, sizeof(ip));
                snprintf(ext, sizeof(ext), "[\"%s\"]", ip);
                feed_service(a, "default", name, "{}", ext, NULL, NULL);
        }
}

static void hb_setup(struct world *w, int services)
{
        struct announcer_config c = hb_config(NODE);

        world_init_config(w, &c);
        feed_node(w->a, NODE, "{}", true, false);
        feed_device(w->a, "net0", 3, true);
        feed_policy(w->a, POLICY);
        add_svcs(w->a, services);
        announcer_set_synced(w->a);
}

static const char *annotation(json_t *lease, const char *key)
{
        return json_string_value(json_object_get(
            json_object_get(json_object_get(lease, "metadata"), "annotations"), key));
}

static json_int_t transitions(json_t *lease)
{
        return json_integer_value(
            json_object_get(json_object_get(lease, "spec"), "leaseTransitions"));
}

static const char *uid_of(json_t *lease)
{
        return json_string_value(json_object_get(json_object_get(lease, "metadata"), "uid"));
}

/* The binding of ip in the store, or NULL (static buffer). */
static const char *stored_binding(struct world *w, const char *ip)
{
        static char out[128];
        struct ipaddr a;
        struct bindings b = {0};
        char *name, *err = NULL;
        json_t *shard;
        const struct binding *x;

        parse_ip(ip, &a);
        name = announce_shard_name(announce_shard_of(&a));
        shard = fake_api_get(&w->api, name);
        free(name);
        if (!shard)
                return NULL;
        assert_int_equal(
            bindings_parse(annotation(shard, ANNOUNCE_ANNOTATION_BINDINGS), -1, &b, &err), 0);
        x = bindings_get(&b, &a);
        if (x)
                snprintf(out, sizeof(out), "%s/%d/%s", x->node, x->epoch, x->uid8);
        bindings_done(&b);
        return x ? out : NULL;
}

static void feed_json(struct world *w, json_t *o)
{
        struct k8s_lease *l = lease_decode(o);

        announcer_upsert_lease(w->a, l, w->now);
        k8s_lease_free(l);
}

static void test_hb_registers_and_places(void **state)
{
        struct world w;
        json_t *hb;
        char want[64];

        (void)state;
        hb_setup(&w, 3);
        world_settle(&w);
        /* registered, but a fresh coordinator lets the others register
         * first (balance delay) */
        assert_non_null(fake_api_get(&w.api, HB));
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(w.n_actions, 1);
        world_advance(&w, 999 * MSEC);
        EXPECT_NO_ENTRIES(&w);
        world_advance(&w, 1 * MSEC);
        hb = fake_api_get(&w.api, HB);
        assert_non_null(hb);
        assert_string_equal(lease_holder(hb), NODE);
        assert_int_equal(transitions(hb), 0);
        assert_string_equal(annotation(hb, ANNOUNCE_ANNOTATION_CANDIDACY), "[\"p\"]");
        /* the lone node is the coordinator: its own addresses, bound to its
         * epoch and the heartbeat's uid */
        snprintf(want, sizeof(want), NODE "/0/%.8s", uid_of(hb));
        assert_string_equal(stored_binding(&w, "12.0.0.1"), want);
        assert_string_equal(stored_binding(&w, "12.0.0.3"), want);
        EXPECT_ENTRIES(&w, "12.0.0.1@3", "12.0.0.2@3", "12.0.0.3@3");
        assert_int_equal(announcer_n_held(w.a, w.now), 3);
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 0);
        assert_int_equal(world_count_events(&w, ANNOUNCE_STARTED, NULL), 3);
        assert_int_equal(announcer_counters(w.a)->placements, 3);
        assert_int_equal(announcer_counters(w.a)->acquisitions, 3);
        /* compat Leases for kubectl: written once, by the answering node */
        assert_string_equal(world_holder(&w, "cilium-l2announce-default-svc-000"), NODE);
        world_done(&w);
}

static size_t held_named(const struct world *w, const char *prefix)
{
        for (size_t i = 0; i < w->n_held_actions; i++)
                if (startswith(w->held_actions[i].name, prefix))
                        return i;
        fail_msg("no held action to %s", prefix);
        return 0;
}

static void test_hb_answers_after_shard_seen(void **state)
{
        struct world w;
        uint64_t created, sent;
        size_t i;

        (void)state;
        hb_setup(&w, 1);
        w.hold_writes = true;
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 1);
        assert_int_equal(w.held_actions[0].op, ANNOUNCE_LEASE_CREATE);
        assert_string_equal(w.held_actions[0].name, HB);
        assert_false(w.held_actions[0].low_priority);
        EXPECT_NO_ENTRIES(&w);
        created = w.now;
        w.now += 5 * MSEC;
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 0);
        w.now += 1 * SEC;
        world_settle(&w);
        /* the placement (and the renewal) go out; nothing answered yet */
        i = held_named(&w, ANNOUNCE_SHARD_PREFIX);
        EXPECT_NO_ENTRIES(&w);
        sent = w.now;
        w.now += 5 * MSEC;
        world_answer(&w, i, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        /* the gate: send time of the last successful heartbeat write +
         * lifetime */
        EXPECT_ENTRIES(&w, "12.0.0.1@3");
        assert_int_equal(w.entries[0].deadline, created + LIFETIME);
        world_answer(&w, held_named(&w, HB), ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.1@3");
        assert_int_equal(w.entries[0].deadline, sent + LIFETIME);
        /* then the compat Lease, low priority */
        i = held_named(&w, "cilium-l2announce-default-svc-000");
        assert_true(w.held_actions[i].low_priority);
        world_done(&w);
}

/* 100 services, 60 s: the only requests are heartbeat renewals, one per
 * renew period, and the gate moves with them. */
static void test_hb_steady_state_writes(void **state)
{
        struct world w;
        struct announce_heartbeat_info info;

        (void)state;
        hb_setup(&w, 100);
        world_advance(&w, 5 * SEC);
        assert_int_equal(w.n_entries, 100);
        world_clear(&w);
        world_advance(&w, 60 * SEC);
        print_message("60 s steady state: %zu requests, %zu to the heartbeat\n", w.n_actions,
                      w.n_heartbeat_actions);
        assert_int_equal(w.n_actions, w.n_heartbeat_actions);
        assert_true(w.n_actions >= 59 && w.n_actions <= 61);
        assert_int_equal(w.n_by_op[ANNOUNCE_LEASE_UPDATE], w.n_actions);
        assert_int_equal(w.n_entries, 100);
        assert_int_equal(announcer_heartbeat_info(w.a, w.now, &info), 0);
        assert_true(info.registered);
        assert_true(info.coordinator);
        assert_int_equal(info.n_bound, 100);
        assert_int_equal(info.n_live, 1);
        assert_int_equal(info.epoch, 0);
        assert_true(info.gate > w.now && info.gate <= w.now + LIFETIME);
        assert_int_equal(w.entries[0].deadline, info.gate);
        assert_int_equal(announcer_counters(w.a)->heartbeats, 1 + 5 + w.n_actions);
        world_done(&w);
}

/* A renewal reached the store but its result was lost (the retried request
 * got 409): the watch shows our own holder and epoch, so we adopt it. */
static void test_hb_conflict_own_write_adopted(void **state)
{
        struct world w;

        (void)state;
        hb_setup(&w, 2);
        world_advance(&w, 2 * SEC);
        w.hold_writes = true;
        world_advance(&w, 1 * SEC);
        assert_int_equal(w.n_held_actions, 1);
        assert_string_equal(w.held_actions[0].reason, "renew");
        world_answer_lost(&w, 0);
        world_clear(&w);
        w.hold_writes = false;
        world_settle(&w);
        /* no re-registration, no new epoch, still answering */
        assert_int_equal(w.n_actions, 0);
        EXPECT_ENTRIES(&w, "12.0.0.1@3", "12.0.0.2@3");
        world_advance(&w, 5 * SEC);
        assert_int_equal(transitions(fake_api_get(&w.api, HB)), 0);
        EXPECT_ENTRIES(&w, "12.0.0.1@3", "12.0.0.2@3");
        assert_int_equal(announcer_counters(w.a)->fences, 0);
        world_done(&w);
}

/* Responses lost (a partition of the response path): the watch shows our
 * renewal landed, so the gate moves from its send time and the next
 * renewal goes out on time, not after the client's timeout. */
static void test_hb_result_lost_watch_shows_write(void **state)
{
        struct world w;
        uint64_t sent;
        json_t *obj = NULL;
        bool changed;

        (void)state;
        hb_setup(&w, 2);
        world_advance(&w, 2 * SEC);
        w.hold_writes = true;
        world_advance(&w, 1 * SEC);
        assert_int_equal(w.n_held_actions, 1);
        sent = w.now;
        /* reaches the store and the watch; the result does not come back */
        assert_int_equal(fake_api_apply(&w.api, &w.held_actions[0], &obj, &changed),
                         ANNOUNCE_LEASE_OK);
        w.now += 3 * MSEC;
        feed_json(&w, obj);
        json_decref(obj);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.1@3", "12.0.0.2@3");
        assert_int_equal(w.entries[0].deadline, sent + LIFETIME);
        /* the next renewal one renew period later, while the first is
         * still unanswered */
        w.now = sent + 1 * SEC;
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 2);
        assert_string_equal(w.held_actions[1].reason, "renew");
        /* the late timeout of the first changes nothing */
        world_answer(&w, 0, ANNOUNCE_LEASE_ERROR);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.1@3", "12.0.0.2@3");
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        assert_int_equal(w.entries[0].deadline, sent + 1 * SEC + LIFETIME);
        world_done(&w);
}

/* A renewal that timed out had landed; its retry on the same version is in
 * flight when the watch shows the version: the gate counts from the first
 * write's send time (either may have written it), not the retry's. */
static void test_hb_retry_gate_from_first_write(void **state)
{
        struct world w;
        uint64_t t1;
        json_t *obj = NULL;
        bool changed;

        (void)state;
        hb_setup(&w, 1);
        world_advance(&w, 2 * SEC);
        w.hold_writes = true;
        world_advance(&w, 1 * SEC);
        assert_int_equal(w.n_held_actions, 1);
        t1 = w.now;
        assert_int_equal(fake_api_apply(&w.api, &w.held_actions[0], &obj, &changed),
                         ANNOUNCE_LEASE_OK);
        w.now += 100 * MSEC;
        world_answer(&w, 0, ANNOUNCE_LEASE_ERROR); /* a timeout: the store has it */
        world_settle(&w);
        w.now = t1 + 600 * MSEC;
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 1); /* the retry, on the same version */
        feed_json(&w, obj);
        json_decref(obj);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.1@3");
        assert_int_equal(w.entries[0].deadline, t1 + LIFETIME);
        world_done(&w);
}

/* Someone fenced us (holder "", transitions + 1): silent at once,
 * re-register with the epoch after the fence's (a node still seeing the
 * fence must not take a binding to the new registration for a dead one);
 * bindings of the old epoch are never answered again. */
static void test_hb_fenced_reregisters(void **state)
{
        struct world w;
        json_t *hb;
        char old[64], now[64];
        const char *b;

        (void)state;
        hb_setup(&w, 2);
        world_advance(&w, 2 * SEC);
        snprintf(old, sizeof(old), "%s", stored_binding(&w, "12.0.0.1"));
        w.hold_writes = true;
        world_put_lease(&w, HB, "", 3, 1);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(w.n_held_actions, 1);
        assert_string_equal(w.held_actions[0].reason, "re-register");
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(w.held_actions[0].body, "spec"), "leaseTransitions")),
                         2);
        /* the old epoch's binding is still in the store: not answered */
        assert_string_equal(stored_binding(&w, "12.0.0.1"), old);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        /* registered again: the coordinator binds its addresses to the new
         * epoch (the old bindings are dead) */
        w.hold_writes = false;
        while (w.n_held_actions > 0) {
                world_answer(&w, 0, ANNOUNCE_LEASE_OK);
                world_settle(&w);
        }
        world_advance(&w, 2 * SEC);
        hb = fake_api_get(&w.api, HB);
        assert_int_equal(transitions(hb), 2);
        snprintf(now, sizeof(now), NODE "/2/%.8s", uid_of(hb));
        b = stored_binding(&w, "12.0.0.1");
        assert_string_equal(b, now);
        EXPECT_ENTRIES(&w, "12.0.0.1@3", "12.0.0.2@3");
        assert_true(announcer_counters(w.a)->lost >= 2);
        world_done(&w);
}

/* Our create meets AlreadyExists: the heartbeat of an earlier process of
 * ours (it died without pinned entries). Not our write: its bindings are
 * answered only after a write of ours succeeds (a fence of that version may
 * already be under way). */
static void test_hb_create_conflict_not_adopted(void **state)
{
        struct world w;
        json_t *hb, *shard;
        struct ipaddr ip;
        char *name, *ann;

        (void)state;
        hb_setup(&w, 1);
        hb = fake_api_put(&w.api, HB, NODE, 3, 0);
        parse_ip("12.0.0.1", &ip);
        name = announce_shard_name(announce_shard_of(&ip));
        shard = fake_api_put(&w.api, name, "", 0, 0);
        ann = g_strdup_printf("{\"12.0.0.1\":\"" NODE "/0/%.8s\"}", uid_of(hb));
        json_object_set_new(json_object_get(shard, "metadata"), "annotations",
                            json_pack("{s:s}", ANNOUNCE_ANNOTATION_BINDINGS, ann));
        g_hash_table_replace(w.api.leases, strdup(name), json_incref(shard));
        w.hold_writes = true;
        world_settle(&w);
        assert_int_equal(w.n_held_actions, 1);
        assert_int_equal(w.held_actions[0].op, ANNOUNCE_LEASE_CREATE);
        world_answer(&w, 0, ANNOUNCE_LEASE_OK); /* the store says AlreadyExists */
        feed_json(&w, hb);
        feed_json(&w, shard);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        w.now += 500 * MSEC;
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(w.n_held_actions, 1);
        assert_string_equal(w.held_actions[0].reason, "re-adopt");
        world_answer(&w, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w);
        EXPECT_ENTRIES(&w, "12.0.0.1@3");
        assert_int_equal(w.entries[0].deadline, w.now + LIFETIME);
        g_free(ann);
        free(name);
        json_decref(hb);
        json_decref(shard);
        world_done(&w);
}

static void test_hb_release_all(void **state)
{
        struct world w;

        (void)state;
        hb_setup(&w, 3);
        world_advance(&w, 2 * SEC);
        world_clear(&w);
        announcer_release_all(w.a);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        /* one write: our heartbeat emptied, every binding dead at once */
        assert_int_equal(w.n_actions, 1);
        assert_int_equal(w.n_heartbeat_actions, 1);
        assert_string_equal(world_holder(&w, HB), "");
        assert_int_equal(transitions(fake_api_get(&w.api, HB)), 1);
        assert_int_equal(world_count_events(&w, ANNOUNCE_STOPPED, NULL), 3);
        world_advance(&w, 10 * SEC);
        assert_int_equal(w.n_actions, 1);
        EXPECT_NO_ENTRIES(&w);
        world_done(&w);
}

/* SIGTERM then a new process: pinned entries are kept while the heartbeat
 * still carries our name, and renewed at once. */
static void test_hb_restart_keeps_pinned(void **state)
{
        struct world w, w2;
        struct announcer_config c = hb_config(NODE);
        GHashTableIter it;
        gpointer k, v;

        (void)state;
        hb_setup(&w, 2);
        world_advance(&w, 2 * SEC);
        announcer_renew_all_now(w.a);
        world_clear(&w);
        world_settle(&w);
        assert_int_equal(w.n_actions, 1);
        assert_int_equal(w.n_entries, 2);

        world_init_config(&w2, &c);
        w2.now = w.now + 100 * MSEC;
        feed_node(w2.a, NODE, "{}", true, false);
        feed_device(w2.a, "net0", 3, true);
        feed_policy(w2.a, POLICY);
        add_svcs(w2.a, 2);
        g_hash_table_iter_init(&it, w.api.leases);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                struct k8s_lease *l = lease_decode(v);
                json_t *copy = json_deep_copy(v);

                g_hash_table_replace(w2.api.leases, strdup(k), copy);
                announcer_upsert_lease(w2.a, l, w2.now);
                k8s_lease_free(l);
        }
        w2.api.rv = w.api.rv;
        for (size_t i = 0; i < w.n_entries; i++)
                announcer_add_pinned_entry(w2.a, &w.entries[i]);
        announcer_set_synced(w2.a);
        w2.hold_writes = true;
        world_settle(&w2);
        /* the pinned deadline, and one re-adoption at once, nothing else */
        EXPECT_ENTRIES(&w2, "12.0.0.1@3", "12.0.0.2@3");
        assert_int_equal(w2.entries[0].deadline, w.entries[0].deadline);
        assert_int_equal(w2.n_held_actions, 1);
        assert_string_equal(w2.held_actions[0].reason, "re-adopt");
        assert_int_equal(w2.n_garps, 0);
        world_answer(&w2, 0, ANNOUNCE_LEASE_OK);
        world_settle(&w2);
        EXPECT_ENTRIES(&w2, "12.0.0.1@3", "12.0.0.2@3");
        assert_int_equal(w2.entries[0].deadline, w2.now + LIFETIME);
        assert_int_equal(w2.n_held_actions, 0);
        world_done(&w2);
        world_done(&w);
}

/* After a restart, a heartbeat fenced meanwhile drops the pinned entries. */
static void test_hb_restart_fenced_drops_pinned(void **state)
{
        struct world w;
        struct announce_entry e = {.ifindex = 3};

        (void)state;
        {
                struct announcer_config c = hb_config(NODE);

                world_init_config(&w, &c);
        }
        feed_node(w.a, NODE, "{}", true, false);
        feed_device(w.a, "net0", 3, true);
        feed_policy(w.a, POLICY);
        add_svcs(w.a, 1);
        world_put_lease(&w, HB, "", 3, 4);
        parse_ip("12.0.0.1", &e.ip);
        e.deadline = w.now + SEC;
        announcer_add_pinned_entry(w.a, &e);
        announcer_set_synced(w.a);
        w.hold_writes = true;
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        assert_string_equal(w.held_actions[0].reason, "re-register");
        world_done(&w);
}

static void test_hb_malformed_shard(void **state)
{
        struct world w;
        json_t *o;
        struct ipaddr ip;
        char *name;
        struct k8s_lease *l;

        (void)state;
        hb_setup(&w, 1);
        world_advance(&w, 2 * SEC);
        world_clear(&w);
        parse_ip("12.0.0.1", &ip);
        name = announce_shard_name(announce_shard_of(&ip));
        o = fake_api_put(&w.api, name, "", 0, 0);
        json_object_set_new(json_object_get(o, "metadata"), "annotations",
                            J("{\"" ANNOUNCE_ANNOTATION_BINDINGS "\":\"[1,2\"}"));
        g_hash_table_replace(w.api.leases, strdup(name), json_incref(o));
        l = lease_decode(o);
        announcer_upsert_lease(w.a, l, w.now);
        k8s_lease_free(l);
        json_decref(o);
        world_settle(&w);
        /* reported, binds nothing: silent; placed again after a lease
         * duration (every node has seen the version by then) */
        assert_int_equal(world_count_events(&w, ANNOUNCE_MALFORMED, NULL), 1);
        assert_string_equal(w.events[0].lease, name);
        assert_non_null(w.events[0].detail);
        EXPECT_NO_ENTRIES(&w);
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 1);
        world_advance(&w, 2 * SEC);
        EXPECT_NO_ENTRIES(&w);
        world_advance(&w, 2 * SEC);
        EXPECT_ENTRIES(&w, "12.0.0.1@3");
        assert_int_equal(world_count_events(&w, ANNOUNCE_MALFORMED, NULL), 1);
        free(name);
        world_done(&w);
}

/* A shard deleted by hand: silent at once (nothing binds us), placed again
 * only after a lease duration, when every node has seen the deletion. */
static void test_hb_shard_deleted(void **state)
{
        struct world w;
        struct ipaddr ip;
        char *name;

        (void)state;
        hb_setup(&w, 1);
        world_advance(&w, 2 * SEC);
        EXPECT_ENTRIES(&w, "12.0.0.1@3");
        parse_ip("12.0.0.1", &ip);
        name = announce_shard_name(announce_shard_of(&ip));
        g_hash_table_remove(w.api.leases, name);
        announcer_remove_lease(w.a, name, w.now);
        world_settle(&w);
        EXPECT_NO_ENTRIES(&w);
        world_advance(&w, 2900 * MSEC);
        EXPECT_NO_ENTRIES(&w);
        assert_null(fake_api_get(&w.api, name));
        world_advance(&w, 200 * MSEC);
        EXPECT_ENTRIES(&w, "12.0.0.1@3");
        assert_non_null(fake_api_get(&w.api, name));
        free(name);
        world_done(&w);
}

/* The designated node deletes the compat Lease of a service no longer
 * selected, and the empty heartbeat of a deleted Node no binding names —
 * not a live node's, not one that is still a Node. */
static void test_hb_garbage(void **state)
{
        struct world w;

        (void)state;
        hb_setup(&w, 2);
        world_advance(&w, 2 * SEC);
        assert_string_equal(world_holder(&w, "cilium-l2announce-default-svc-001"), NODE);
        world_put_lease(&w, "l2lb-node-gone", "", 3, 5);
        world_put_lease(&w, "l2lb-node-alive", "alive", 3, 0);
        feed_node(w.a, "known", "{}", false, false);
        world_put_lease(&w, "l2lb-node-known", "", 3, 1);
        announcer_remove_service(w.a, "default", "svc-001");
        world_clear(&w);
        /* left alone for a lease duration plus the balance delay (4 s)
         * since the last change seen */
        world_advance(&w, 1500 * MSEC);
        EXPECT_ENTRIES(&w, "12.0.0.1@3");
        assert_non_null(fake_api_get(&w.api, "cilium-l2announce-default-svc-001"));
        assert_non_null(fake_api_get(&w.api, "l2lb-node-gone"));
        world_advance(&w, 2 * SEC);
        assert_null(fake_api_get(&w.api, "cilium-l2announce-default-svc-001"));
        assert_non_null(fake_api_get(&w.api, "l2lb-node-gone"));
        world_advance(&w, 1 * SEC);
        assert_null(fake_api_get(&w.api, "l2lb-node-gone"));
        assert_non_null(fake_api_get(&w.api, "l2lb-node-known"));
        /* "alive" stopped renewing: fenced by the coordinator, then deleted
         * (no Node object) */
        assert_string_equal(world_holder(&w, "l2lb-node-alive"), "");
        assert_int_equal(announcer_counters(w.a)->fences, 1);
        world_advance(&w, 5 * SEC);
        assert_null(fake_api_get(&w.api, "l2lb-node-alive"));
        assert_non_null(fake_api_get(&w.api, "l2lb-node-known"));
        assert_non_null(fake_api_get(&w.api, HB));
        assert_int_equal(announcer_counters(w.a)->deletions, 3);
        world_done(&w);
}

static void test_hb_introspection(void **state)
{
        struct world w;
        struct announce_lease_info *l;
        size_t n;

        (void)state;
        hb_setup(&w, 2);
        feed_service(w.a, "default", "other", "{}", "[\"12.0.9.9\"]", NULL,
                     "\"externalTrafficPolicy\":\"Local\"");
        world_advance(&w, 2 * SEC);
        assert_int_equal(announcer_leases(w.a, w.now, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0].lease, "cilium-l2announce-default-other");
        assert_int_equal(l[0].role, ANNOUNCE_ROLE_NONE);
        assert_non_null(l[0].not_candidate);
        assert_null(l[0].holder);
        assert_string_equal(l[1].lease, "cilium-l2announce-default-svc-000");
        assert_int_equal(l[1].role, ANNOUNCE_ROLE_HOLDER);
        assert_string_equal(l[1].holder, NODE);
        assert_true(l[1].deadline > w.now);
        announce_lease_infos_free(l, n);
        assert_int_equal(announcer_n_held(w.a, w.now), 2);
        /* no candidate for the Local service: unannounced */
        assert_int_equal(announcer_n_unannounced(w.a, w.now), 1);
        world_done(&w);
}

/* Lease-per-service mode ignores the election's Leases entirely. */
static void test_lease_mode_ignores_heartbeats(void **state)
{
        struct world w;

        (void)state;
        world_init(&w, NODE);
        world_put_lease(&w, "l2lb-node-x", "x", 3, 0);
        announcer_set_synced(w.a);
        world_settle(&w);
        assert_int_equal(w.n_actions, 0);
        assert_int_equal(announcer_heartbeat_info(w.a, w.now, &(struct announce_heartbeat_info){0}),
                         -EOPNOTSUPP);
        world_done(&w);
}

/* ---- several cores (sim.h) ---- */

static struct sim_params hb_params(void)
{
        struct sim_params p = sim_default_params();

        p.cfg.election = ANNOUNCE_ELECTION_NODE_HEARTBEAT;
        return p;
}

static void hb_sim(struct sim *s, const struct sim_params *p, size_t agents, int services)
{
        sim_init(s, p, agents);
        sim_nodes(s);
        sim_policy(s, POLICY);
        for (int i = 0; i < services; i++) {
                char name[32], ip[32], ext[48];

                snprintf(name, sizeof(name), "svc-%03d", i);
                svc_ip(i, ip, sizeof(ip));
                snprintf(ext, sizeof(ext), "[\"%s\"]", ip);
                sim_service(s, "default", name, ext);
        }
}

static bool agent_answers(const struct sim *s, size_t i, const struct ipaddr *ip)
{
        const struct sim_agent *g = &s->agents[i];
        uint64_t mono = (uint64_t)((int64_t)s->now + g->mono_offset);

        for (size_t k = 0; k < g->n_entries; k++)
                if (ipaddr_equal(&g->entries[k].ip, ip) && g->entries[k].deadline > mono)
                        return true;
        return false;
}

/* Which agent answers service i's address, -1 if none. */
static int answerer(const struct sim *s, int i)
{
        char buf[32];
        struct ipaddr ip;

        svc_ip(i, buf, sizeof(buf));
        parse_ip(buf, &ip);
        for (size_t a = 0; a < s->n_agents; a++)
                if (!s->agents[a].dead && agent_answers(s, a, &ip))
                        return (int)a;
        return -1;
}

static size_t answering(const struct sim *s, size_t agent, int services)
{
        size_t n = 0;

        for (int i = 0; i < services; i++)
                n += answerer(s, i) == (int)agent;
        return n;
}

static size_t most(const struct sim *s, int services)
{
        size_t best = 0;

        for (size_t i = 1; i < s->n_agents; i++)
                if (answering(s, i, services) > answering(s, best, services))
                        best = i;
        return best;
}

static void all_answered(const struct sim *s, int services)
{
        for (int i = 0; i < services; i++)
                if (answerer(s, i) < 0)
                        fail_msg("svc-%03d is not answered", i);
}

static size_t max_load(const struct sim *s, int services, const char *what)
{
        size_t max = 0;

        for (size_t i = 0; i < s->n_agents; i++) {
                size_t n = answering(s, i, services);

                print_message("%s: %s answers %zu\n", what, s->agents[i].name, n);
                max = n > max ? n : max;
        }
        return max;
}

static void test_hbsim_balance(void **state)
{
        (void)state;
        for (size_t k = 3; k <= 4; k++) {
                struct sim_params p = hb_params();
                struct sim s;

                hb_sim(&s, &p, k, 100);
                sim_start(&s, 50 * MSEC);
                sim_run_until(&s, 10 * SEC);
                all_answered(&s, 100);
                assert_true(max_load(&s, 100, "balance") <= (100 + k - 1) / k + 1);
                if (s.violations)
                        fail_msg("%s", s.violation);
                sim_done(&s);
        }
}

static void test_hbsim_steady_state(void **state)
{
        struct sim_params p = hb_params();
        struct sim s;
        uint64_t total;

        (void)state;
        hb_sim(&s, &p, 3, 100);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 10 * SEC);
        all_answered(&s, 100);
        sim_reset_requests(&s);
        s.watch_gaps = true;
        sim_run_until(&s, 70 * SEC);
        total = sim_requests(&s);
        print_message("steady state, 3 nodes, 100 services, 60 s: %" PRIu64
                      " requests (%.2f/s), shard %" PRIu64 ", fence %" PRIu64 ", compat %" PRIu64
                      "\n",
                      total, (double)total / 60.0, s.shard_writes, s.fence_writes, s.compat_writes);
        /* one heartbeat renewal per node per renew period, nothing else */
        for (size_t i = 0; i < 3; i++) {
                uint64_t n = s.agents[i].requests[ANNOUNCE_LEASE_UPDATE];

                assert_true(n >= 59 && n <= 61);
                assert_int_equal(s.agents[i].requests[ANNOUNCE_LEASE_CREATE], 0);
                assert_int_equal(s.agents[i].requests[ANNOUNCE_LEASE_DELETE], 0);
        }
        assert_int_equal(s.shard_writes + s.fence_writes + s.compat_writes, 0);
        if (s.gaps)
                fail_msg("%zu gaps, first: %s", s.gaps, s.gap);
        assert_int_equal(s.violations, 0);
        sim_done(&s);
}

/* Kill -9 of the node answering most: every one of its addresses answered
 * by another node within L + 1 s, with one fence and at most 16 shard
 * writes. */
static void failover(size_t agents, uint64_t at)
{
        struct sim_params p = hb_params();
        struct sim s;
        size_t victim, left = 0;
        bool was[100] = {0};
        uint64_t t_kill, worst = 0;

        hb_sim(&s, &p, agents, 100);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, at);
        victim = most(&s, 100);
        for (int i = 0; i < 100; i++)
                if (answerer(&s, i) == (int)victim) {
                        was[i] = true;
                        left++;
                }
        sim_reset_requests(&s);
        t_kill = s.now;
        sim_kill(&s, victim);
        while (left > 0 && s.now < t_kill + 20 * SEC) {
                /* 1 ms resolution once a lease duration minus a renew
                 * period has passed (nothing can move before: the fence
                 * waits L from the last renewal seen) */
                sim_run_until(&s, s.now + (s.now < t_kill + 2 * SEC ? 100 : 1) * MSEC);
                for (int i = 0; i < 100; i++) {
                        int h = answerer(&s, i);

                        if (!was[i] || h < 0 || h == (int)victim)
                                continue;
                        was[i] = false;
                        left--;
                        worst = s.now - t_kill > worst ? s.now - t_kill : worst;
                }
        }
        assert_int_equal(left, 0);
        print_message(
            "failover (%zu nodes): every address of the dead node answered within %" PRIu64
            " ms; %" PRIu64 " fence + %" PRIu64 " shard writes\n",
            agents, worst / MSEC, s.fence_writes, s.shard_writes);
        assert_true(worst <= 3 * SEC + 1 * SEC);
        assert_int_equal(s.fence_writes, 1);
        assert_true(s.fence_writes + s.shard_writes <= 17);
        sim_run_until(&s, s.now + 5 * SEC);
        all_answered(&s, 100);
        assert_true(max_load(&s, 100, "after failover") <= (100 + agents - 2) / (agents - 1) + 1);
        if (s.violations)
                fail_msg("%s", s.violation);
        sim_done(&s);
}

static void test_hbsim_failover(void **state)
{
        (void)state;
        failover(3, 10 * SEC + 123 * MSEC);
        failover(4, 10 * SEC + 777 * MSEC);
        failover(2, 10 * SEC + 456 * MSEC);
}

/* The coordinator (kind-worker1, agent 0) dies 2.5 s after another node,
 * just before it would fence it: its backup (the next live node by name)
 * fences and places a retry period later, so the first node's addresses
 * are still answered elsewhere within L + 1 s of its death, and the
 * coordinator's own within L + 1 s of its. */
static void test_hbsim_coordinator_dies_during_failover(void **state)
{
        struct sim_params p = hb_params();
        struct sim s;
        size_t victim = 1;
        int owner[100];
        uint64_t t_kill[2], worst[2] = {0, 0};
        size_t left = 0;

        (void)state;
        hb_sim(&s, &p, 4, 100);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 10 * SEC + 321 * MSEC);
        assert_true(s.agents[0].a && streq(s.agents[0].name, NODE "1"));
        for (size_t i = 2; i < 4; i++)
                if (answering(&s, i, 100) > answering(&s, victim, 100))
                        victim = i;
        for (int i = 0; i < 100; i++) {
                int h = answerer(&s, i);

                owner[i] = h == 0 ? 0 : h == (int)victim ? 1 : -1;
                left += owner[i] >= 0;
        }
        assert_true(left > 0);
        t_kill[1] = s.now;
        sim_kill(&s, victim);
        sim_run_until(&s, s.now + 2500 * MSEC);
        t_kill[0] = s.now;
        sim_kill(&s, 0);
        while (left > 0 && s.now < t_kill[1] + 20 * SEC) {
                sim_run_until(&s, s.now + 1 * MSEC);
                for (int i = 0; i < 100; i++) {
                        int h = answerer(&s, i);

                        if (owner[i] < 0 || h < 0 || h == 0 || h == (int)victim)
                                continue;
                        worst[owner[i]] = MAX(worst[owner[i]], s.now - t_kill[owner[i]]);
                        owner[i] = -1;
                        left--;
                }
        }
        assert_int_equal(left, 0);
        print_message("coordinator dies 2.5 s into another node's failover: the node's addresses "
                      "answered elsewhere within %" PRIu64 " ms of its death, the "
                      "coordinator's within %" PRIu64 " ms of its own\n",
                      worst[1] / MSEC, worst[0] / MSEC);
        assert_true(worst[1] <= 3 * SEC + 1 * SEC);
        assert_true(worst[0] <= 3 * SEC + 1 * SEC);
        sim_run_until(&s, s.now + 5 * SEC);
        all_answered(&s, 100);
        if (s.violations)
                fail_msg("%s", s.violation);
        sim_done(&s);
}

/* An apiserver down for everyone for longer than the lease duration: every
 * node falls silent, and when it is back nobody fences anybody (each one's
 * view of the others was as interrupted as theirs): no move, every address
 * answered again by its owner within a second or so, whether the watches
 * resume or relist. */
static void test_hbsim_api_outage_no_moves(void **state)
{
        (void)state;
        for (uint32_t relist = 0; relist < 2; relist++) {
                struct sim_params p = hb_params();
                struct sim s;
                int owner[100];
                uint64_t up, worst = 0;
                size_t left = 100;

                hb_sim(&s, &p, 3, 100);
                sim_start(&s, 50 * MSEC);
                sim_run_until(&s, 10 * SEC + 123 * MSEC);
                for (int i = 0; i < 100; i++) {
                        owner[i] = answerer(&s, i);
                        assert_true(owner[i] >= 0);
                }
                uint64_t fences = s.fence_writes, shards = s.shard_writes;

                sim_api_down(&s);
                sim_run_until(&s, s.now + 8 * SEC);
                up = s.now;
                sim_api_up(&s, relist ? 0x7 : 0);
                while (left > 0 && s.now < up + 10 * SEC) {
                        sim_run_until(&s, s.now + 1 * MSEC);
                        for (int i = 0; i < 100; i++)
                                if (owner[i] >= 0 && answerer(&s, i) == owner[i]) {
                                        worst = MAX(worst, s.now - up);
                                        owner[i] = -1;
                                        left--;
                                }
                }
                sim_run_until(&s, s.now + 10 * SEC);
                print_message("apiserver down 8 s (watches %s): %zu addresses not back at their "
                              "owner, the others within %" PRIu64 " ms; %" PRIu64
                              " fences, %" PRIu64 " shard writes after it\n",
                              relist ? "relist" : "resume", left, worst / MSEC,
                              s.fence_writes - fences, s.shard_writes - shards);
                assert_int_equal(left, 0);
                assert_true(worst <= 1 * SEC + 500 * MSEC);
                assert_int_equal(s.fence_writes - fences, 0);
                assert_int_equal(s.shard_writes - shards, 0);
                all_answered(&s, 100);
                if (s.violations)
                        fail_msg("%s", s.violation);
                sim_done(&s);
        }
}

/* Whatever the latencies and whenever a node freezes (SIGSTOP) and thaws,
 * never two answerers, and everything ends up answered. */
static void test_hbsim_freeze_property(void **state)
{
        (void)state;
        for (uint32_t seed = 1; seed <= 40; seed++) {
                struct sim_params p = hb_params();
                struct sim s;
                uint32_t r = seed * 2654435761u;
                size_t victim;
                uint64_t freeze_at, freeze_for;

                p.seed = seed;
                p.req_latency = 100 + r % (20 * MSEC);
                p.resp_latency = 100 + (r >> 5) % (20 * MSEC);
                p.watch_latency = 100 + (r >> 10) % (60 * MSEC);
                p.jitter = 1 + (r >> 15) % (30 * MSEC);
                hb_sim(&s, &p, 2 + seed % 3, 12);
                sim_start(&s, 200 * MSEC);
                freeze_at = 3 * SEC + (r >> 3) % (3 * SEC);
                freeze_for = 500 * MSEC + (r >> 7) % (8 * SEC);
                sim_run_until(&s, freeze_at);
                victim = most(&s, 12);
                sim_freeze(&s, victim);
                sim_run_until(&s, freeze_at + freeze_for);
                sim_thaw(&s, victim);
                sim_run_until(&s, s.now + 8 * SEC);
                if (s.violations)
                        fail_msg("seed %u: %s", seed, s.violation);
                all_answered(&s, 12);
                sim_done(&s);
        }
}

static void test_hbsim_restart(void **state)
{
        struct sim_params p = hb_params();
        struct sim s;
        int before[30];

        (void)state;
        hb_sim(&s, &p, 3, 30);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 5 * SEC + 321 * MSEC);
        for (int i = 0; i < 30; i++)
                before[i] = answerer(&s, i);
        s.watch_gaps = true;
        sim_reset_requests(&s);
        for (size_t a = 0; a < 3; a++) {
                sim_restart(&s, a, 300 * MSEC);
                sim_run_until(&s, s.now + 3 * SEC);
        }
        for (int i = 0; i < 30; i++)
                assert_int_equal(answerer(&s, i), before[i]);
        assert_int_equal(s.shard_writes, 0);
        assert_int_equal(s.fence_writes, 0);
        if (s.gaps)
                fail_msg("%s", s.gap);
        assert_int_equal(s.violations, 0);
        sim_done(&s);
}

/* --release-on-shutdown: one heartbeat write, and the coordinator places the
 * addresses elsewhere at once (one watch round trip, not a lease duration). */
static void test_hbsim_release_shutdown(void **state)
{
        (void)state;
        for (size_t who = 0; who < 3; who++) {
                struct sim_params p = hb_params();
                struct sim s;
                uint64_t t0;

                hb_sim(&s, &p, 3, 30);
                sim_start(&s, 50 * MSEC);
                sim_run_until(&s, 5 * SEC);
                sim_reset_requests(&s);
                t0 = s.now;
                announcer_release_all(s.agents[who].a);
                sim_device(&s, who, "net0", 3, true); /* unchanged: runs the core */
                sim_run_until(&s, t0 + 100 * MSEC);
                assert_int_equal(answering(&s, who, 30), 0);
                sim_kill(&s, who);
                all_answered(&s, 30);
                assert_int_equal(s.agents[who].requests[ANNOUNCE_LEASE_UPDATE] +
                                     s.agents[who].requests[ANNOUNCE_LEASE_CREATE] +
                                     s.agents[who].requests[ANNOUNCE_LEASE_DELETE],
                                 1);
                print_message(
                    "release on shutdown of %s: answered elsewhere within 100 ms, %" PRIu64
                    " shard writes\n",
                    s.agents[who].name, s.shard_writes);
                assert_true(s.shard_writes <= ANNOUNCE_SHARDS);
                if (s.violations)
                        fail_msg("%s", s.violation);
                sim_done(&s);
        }
}

/* A fourth node joins: addresses move to it one at a time, never two
 * answerers, until it has its share. */
static void test_hbsim_join(void **state)
{
        struct sim_params p = hb_params();
        struct sim s;

        (void)state;
        hb_sim(&s, &p, 4, 100);
        for (size_t i = 0; i < 3; i++)
                sim_start_agent(&s, i, i * 10 * MSEC);
        sim_run_until(&s, 10 * SEC);
        all_answered(&s, 100);
        assert_int_equal(answering(&s, 3, 100), 0);
        sim_reset_requests(&s);
        sim_start_agent(&s, 3, s.now);
        /* one address at a time per owner, at most one per retry period:
         * the newcomer gains at most 3 within any 400 ms */
        {
                size_t got[5] = {0}, k = 0;

                while (s.now < 40 * SEC) {
                        sim_run_until(&s, s.now + 100 * MSEC);
                        got[k % 5] = answering(&s, 3, 100);
                        if (k >= 4 && got[k % 5] > got[(k + 1) % 5] + 3)
                                fail_msg("the new node gained %zu addresses in 400 ms",
                                         got[k % 5] - got[(k + 1) % 5]);
                        k++;
                }
        }
        all_answered(&s, 100);
        print_message("join: %" PRIu64 " shard writes\n", s.shard_writes);
        assert_true(max_load(&s, 100, "after join") <= 26);
        assert_true(answering(&s, 3, 100) >= 24);
        if (s.violations)
                fail_msg("%s", s.violation);
        sim_done(&s);
}

static void handoff(bool cordon)
{
        struct sim_params p = hb_params();
        struct sim s;
        size_t victim;
        uint64_t t0;

        hb_sim(&s, &p, 3, 30);
        sim_start(&s, 50 * MSEC);
        sim_run_until(&s, 5 * SEC);
        victim = most(&s, 30);
        t0 = s.now;
        if (cordon)
                sim_node(&s, s.agents[victim].name, true, true);
        else
                sim_device(&s, victim, "net0", 3, false);
        sim_run_until(&s, t0 + 100 * MSEC);
        assert_int_equal(answering(&s, victim, 30), 0);
        all_answered(&s, 30);
        if (s.violations)
                fail_msg("%s", s.violation);
        /* and back: it becomes a candidate again, and gets a share back */
        if (cordon)
                sim_node(&s, s.agents[victim].name, true, false);
        else
                sim_device(&s, victim, "net0", 3, true);
        sim_run_until(&s, s.now + 20 * SEC);
        all_answered(&s, 30);
        assert_true(max_load(&s, 30, cordon ? "uncordoned" : "link back") <= 11);
        if (s.violations)
                fail_msg("%s", s.violation);
        sim_done(&s);
}

static void test_hbsim_cordon(void **state)
{
        (void)state;
        handoff(true);
}

static void test_hbsim_link_down(void **state)
{
        (void)state;
        handoff(false);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bindings_round_trip),
            cmocka_unit_test(test_bindings_malformed),
            cmocka_unit_test(test_bindings_canonical_ipv6),
            cmocka_unit_test(test_heartbeat_names),
            cmocka_unit_test(test_hb_registers_and_places),
            cmocka_unit_test(test_hb_answers_after_shard_seen),
            cmocka_unit_test(test_hb_steady_state_writes),
            cmocka_unit_test(test_hb_conflict_own_write_adopted),
            cmocka_unit_test(test_hb_result_lost_watch_shows_write),
            cmocka_unit_test(test_hb_retry_gate_from_first_write),
            cmocka_unit_test(test_hb_fenced_reregisters),
            cmocka_unit_test(test_hb_create_conflict_not_adopted),
            cmocka_unit_test(test_hb_release_all),
            cmocka_unit_test(test_hb_restart_keeps_pinned),
            cmocka_unit_test(test_hb_restart_fenced_drops_pinned),
            cmocka_unit_test(test_hb_malformed_shard),
            cmocka_unit_test(test_hb_shard_deleted),
            cmocka_unit_test(test_hb_garbage),
            cmocka_unit_test(test_hb_introspection),
            cmocka_unit_test(test_lease_mode_ignores_heartbeats),
            cmocka_unit_test(test_hbsim_balance),
            cmocka_unit_test(test_hbsim_steady_state),
            cmocka_unit_test(test_hbsim_failover),
            cmocka_unit_test(test_hbsim_coordinator_dies_during_failover),
            cmocka_unit_test(test_hbsim_api_outage_no_moves),
            cmocka_unit_test(test_hbsim_freeze_property),
            cmocka_unit_test(test_hbsim_restart),
            cmocka_unit_test(test_hbsim_release_shutdown),
            cmocka_unit_test(test_hbsim_join),
            cmocka_unit_test(test_hbsim_cordon),
            cmocka_unit_test(test_hbsim_link_down),
        };

        if (getenv("ANNOUNCE_TEST"))
                cmocka_set_test_filter(getenv("ANNOUNCE_TEST"));
        return cmocka_run_group_tests(tests, NULL, NULL);
}
