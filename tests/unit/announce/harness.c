/* Test harness for the L2 announcement core (see harness.h). */
#include "harness.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "lib/util.h"

json_t *J(const char *fmt, ...)
{
        va_list ap;
        char *text;
        json_error_t e;
        json_t *j;

        va_start(ap, fmt);
        assert_true(vasprintf(&text, fmt, ap) >= 0);
        va_end(ap);
        j = json_loads(text, 0, &e);
        if (!j)
                fail_msg("bad test JSON: %s: %s", e.text, text);
        free(text);
        return j;
}

void feed_service(struct announcer *a, const char *ns, const char *name, const char *labels,
                  const char *ext, const char *ingress, const char *extra)
{
        json_t *j = J("{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"labels\":%s},"
                      "\"spec\":{\"externalIPs\":%s%s%s},"
                      "\"status\":{\"loadBalancer\":{\"ingress\":%s}}}",
                      name, ns, labels ? labels : "{}", ext ? ext : "[]", extra ? "," : "",
                      extra ? extra : "", ingress ? ingress : "[]");
        struct k8s_service *s = NULL;
        char *err = NULL;

        if (k8s_service_decode(j, &s, &err) < 0)
                fail_msg("service: %s", err);
        announcer_upsert_service(a, s);
        k8s_service_free(s);
        json_decref(j);
}

struct k8s_l2policy *decode_policy(const char *json)
{
        json_t *j = J("%s", json);
        struct k8s_l2policy *p = NULL;
        char *err = NULL;

        if (k8s_l2policy_decode(j, &p, &err) < 0)
                fail_msg("policy: %s", err);
        json_decref(j);
        return p;
}

void feed_policy(struct announcer *a, const char *json)
{
        struct k8s_l2policy *p = decode_policy(json);

        announcer_upsert_policy(a, p);
        k8s_l2policy_free(p);
}

json_t *node_json(const char *name, const char *labels, bool ready, bool unschedulable)
{
        return J("{\"metadata\":{\"name\":\"%s\",\"labels\":%s},"
                 "\"spec\":{\"unschedulable\":%s},"
                 "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
                 name, labels ? labels : "{}", unschedulable ? "true" : "false",
                 ready ? "True" : "False");
}

void feed_node(struct announcer *a, const char *name, const char *labels, bool ready,
               bool unschedulable)
{
        json_t *j = node_json(name, labels, ready, unschedulable);
        struct k8s_node *n = NULL;
        char *err = NULL;

        if (k8s_node_decode(j, &n, &err) < 0)
                fail_msg("node: %s", err);
        announcer_upsert_node(a, n);
        k8s_node_free(n);
        json_decref(j);
}

void feed_slice(struct announcer *a, const char *ns, const char *name, const char *service,
                const char *endpoints)
{
        json_t *j = J("{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
                      "\"labels\":{\"kubernetes.io/service-name\":\"%s\"}},"
                      "\"addressType\":\"IPv4\",\"endpoints\":%s}",
                      name, ns, service, endpoints);
        struct k8s_endpointslice *e = NULL;
        char *err = NULL;

        if (k8s_endpointslice_decode(j, &e, &err) < 0)
                fail_msg("slice: %s", err);
        announcer_upsert_endpointslice(a, e);
        k8s_endpointslice_free(e);
        json_decref(j);
}

void feed_device(struct announcer *a, const char *name, int ifindex, bool up)
{
        struct announcer_device d = {.name = name, .ifindex = ifindex, .up = up};

        d.mac[5] = (uint8_t)ifindex;
        announcer_set_device(a, &d);
}

/* ---- in-memory Lease store ---- */

uint64_t first_renew_at(const char *lease)
{
        return RENEW_AT / 2 + (uint64_t)(g_str_hash(lease) % 1000) * (RENEW_AT / 2) / 1000;
}

void fake_api_init(struct fake_api *f)
{
        *f = (struct fake_api){0};
        f->leases =
            g_hash_table_new_full(g_str_hash, g_str_equal, free, (GDestroyNotify)json_decref);
        f->rv = 100;
}

void fake_api_done(struct fake_api *f)
{
        g_hash_table_unref(f->leases);
}

static const char *rv_of(json_t *o)
{
        return json_string_value(
            json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
}

static json_t *store(struct fake_api *f, const char *name, json_t *body)
{
        json_t *o = json_deep_copy(body);
        json_t *md = json_object_get(o, "metadata");
        char rv[32];

        json_t *cur = g_hash_table_lookup(f->leases, name);
        const char *uid =
            cur ? json_string_value(json_object_get(json_object_get(cur, "metadata"), "uid"))
                : NULL;
        char fresh[48];

        snprintf(rv, sizeof(rv), "%" PRIu64, ++f->rv);
        json_object_set_new(md, "resourceVersion", json_string(rv));
        /* The apiserver keeps the uid on update and makes a new one on create. */
        if (!uid) {
                snprintf(fresh, sizeof(fresh), "%08" PRIx64 "-0000-4000-8000-000000000000",
                         (f->rv * 2654435761u) & 0xffffffffu);
                uid = fresh;
        }
        json_object_set_new(md, "uid", json_string(uid));
        json_object_set_new(md, "namespace", json_string(LEASE_NS));
        g_hash_table_replace(f->leases, strdup(name), o);
        return json_incref(o);
}

enum announce_write_result fake_api_apply(struct fake_api *f,
                                          const struct announce_lease_action *act, json_t **ret_obj,
                                          bool *ret_changed)
{
        json_t *cur = g_hash_table_lookup(f->leases, act->name);

        *ret_obj = NULL;
        *ret_changed = false;
        switch (act->op) {
        case ANNOUNCE_LEASE_CREATE:
                f->creates++;
                if (cur)
                        return ANNOUNCE_LEASE_CONFLICT;
                *ret_obj = store(f, act->name, act->body);
                break;
        case ANNOUNCE_LEASE_UPDATE:
                f->updates++;
                if (!cur)
                        return ANNOUNCE_LEASE_NOT_FOUND;
                /* A PUT without resourceVersion would be unconditional: the
                 * core must never send one. */
                assert_non_null(rv_of(act->body));
                if (!streq(rv_of(act->body), rv_of(cur)))
                        return ANNOUNCE_LEASE_CONFLICT;
                *ret_obj = store(f, act->name, act->body);
                break;
        case ANNOUNCE_LEASE_DELETE:
                f->deletes++;
                if (!cur)
                        return ANNOUNCE_LEASE_NOT_FOUND;
                assert_non_null(act->resource_version);
                if (!streq(act->resource_version, rv_of(cur)))
                        return ANNOUNCE_LEASE_CONFLICT;
                g_hash_table_remove(f->leases, act->name);
                break;
        }
        *ret_changed = true;
        return ANNOUNCE_LEASE_OK;
}

json_t *fake_api_put(struct fake_api *f, const char *name, const char *holder, int duration_s,
                     int transitions)
{
        json_t *body = J("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                         "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"holderIdentity\":\"%s\","
                         "\"leaseDurationSeconds\":%d,\"leaseTransitions\":%d,"
                         "\"acquireTime\":\"2026-01-01T00:00:00.000000Z\","
                         "\"renewTime\":\"2026-01-01T00:00:00.000000Z\"}}",
                         name, holder, duration_s, transitions);
        json_t *o = store(f, name, body);

        json_decref(body);
        return o;
}

json_t *fake_api_get(struct fake_api *f, const char *name)
{
        return g_hash_table_lookup(f->leases, name);
}

const char *lease_holder(json_t *lease)
{
        return json_string_value(json_object_get(json_object_get(lease, "spec"), "holderIdentity"));
}

struct k8s_lease *lease_decode(json_t *j)
{
        struct k8s_lease *l = NULL;
        char *err = NULL;

        if (k8s_lease_decode(j, &l, &err) < 0)
                fail_msg("lease: %s", err);
        return l;
}

/* ---- world ---- */

struct announcer_config world_config(const char *node)
{
        /* every external IP allowed; the allow-list has tests of its own */
        static char *const every_ip[] = {"0.0.0.0/0", "::/0", NULL};

        return (struct announcer_config){
            .node_name = node,
            .election = ANNOUNCE_ELECTION_LEASE_PER_SERVICE,
            .lease_namespace = LEASE_NS,
            .lease_duration = 3 * SEC,
            .renew_deadline = 1 * SEC,
            .retry_period = 500 * MSEC,
            .enable_external_ips = true,
            .external_ips_cidrs = every_ip,
            .enable_ipv4 = true,
            .enable_ipv6 = true,
        };
}

void world_init_config(struct world *w, const struct announcer_config *c)
{
        *w = (struct world){0};
        assert_int_equal(announcer_new(c, &w->a), 0);
        fake_api_init(&w->api);
        w->now = 1000 * SEC;
        w->wall = INT64_C(1798761600) * 1000000; /* 2027-01-01 */
        w->next_wakeup = UINT64_MAX;
}

void world_init(struct world *w, const char *node)
{
        struct announcer_config c = world_config(node);

        world_init_config(w, &c);
}

static void clear_outputs(struct world *w)
{
        free(w->garps);
        w->garps = NULL;
        w->n_garps = 0;
        for (size_t i = 0; i < w->n_events; i++) {
                free(w->events[i].service);
                free(w->events[i].lease);
                free(w->events[i].detail);
        }
        free(w->events);
        w->events = NULL;
        w->n_events = 0;
        for (size_t i = 0; i < w->n_statuses; i++) {
                free(w->statuses[i].policy);
                k8s_conditions_done(&w->statuses[i].conditions);
        }
        free(w->statuses);
        w->statuses = NULL;
        w->n_statuses = 0;
        w->n_actions = 0;
        memset(w->n_by_op, 0, sizeof(w->n_by_op));
        w->n_heartbeat_actions = 0;
        w->seen_first_action_kind = false;
        free(w->first_reason);
        w->first_reason = NULL;
}

void world_clear(struct world *w)
{
        clear_outputs(w);
}

static void drop_held(struct world *w, size_t i)
{
        free(w->held_actions[i].name);
        free(w->held_actions[i].resource_version);
        json_decref(w->held_actions[i].body);
        memmove(&w->held_actions[i], &w->held_actions[i + 1],
                (w->n_held_actions - i - 1) * sizeof(*w->held_actions));
        w->n_held_actions--;
}

void world_done(struct world *w)
{
        while (w->n_held_actions > 0)
                drop_held(w, 0);
        free(w->held_actions);
        clear_outputs(w);
        free(w->entries);
        announcer_free(w->a);
        fake_api_done(&w->api);
}

static void feed_watch(struct world *w, const char *name, json_t *obj)
{
        if (obj) {
                struct k8s_lease *l = lease_decode(obj);

                announcer_upsert_lease(w->a, l, w->now);
                k8s_lease_free(l);
        } else
                announcer_remove_lease(w->a, name, w->now);
}

/* Apply one action to the store and feed back its result and the watch event. */
static void apply(struct world *w, const struct announce_lease_action *act,
                  enum announce_write_result forced)
{
        enum announce_write_result r = forced;
        json_t *obj = NULL;
        bool changed = false;
        struct k8s_lease *l = NULL;

        if (forced == ANNOUNCE_LEASE_OK)
                r = fake_api_apply(&w->api, act, &obj, &changed);
        if (r == ANNOUNCE_LEASE_OK && obj)
                l = lease_decode(obj);
        announcer_lease_result(w->a, act->id, r, l, w->now);
        k8s_lease_free(l);
        if (changed)
                feed_watch(w, act->name, obj);
        json_decref(obj);
}

static void collect(struct world *w, struct announce_decisions *d)
{
        free(w->entries);
        w->entries = d->entries;
        w->n_entries = d->n_entries;
        d->entries = NULL;
        d->n_entries = 0;
        if (d->n_garps) {
                w->garps = realloc(w->garps, (w->n_garps + d->n_garps) * sizeof(*w->garps));
                memcpy(&w->garps[w->n_garps], d->garps, d->n_garps * sizeof(*d->garps));
                w->n_garps += d->n_garps;
        }
        if (d->n_events) {
                w->events = realloc(w->events, (w->n_events + d->n_events) * sizeof(*w->events));
                memcpy(&w->events[w->n_events], d->events, d->n_events * sizeof(*d->events));
                w->n_events += d->n_events;
                free(d->events);
                d->events = NULL;
                d->n_events = 0;
        }
        if (d->n_statuses) {
                w->statuses =
                    realloc(w->statuses, (w->n_statuses + d->n_statuses) * sizeof(*w->statuses));
                memcpy(&w->statuses[w->n_statuses], d->statuses,
                       d->n_statuses * sizeof(*d->statuses));
                w->n_statuses += d->n_statuses;
                free(d->statuses);
                d->statuses = NULL;
                d->n_statuses = 0;
        }
        w->next_wakeup = d->next_wakeup;
}

void world_settle(struct world *w)
{
        for (int round = 0;; round++) {
                struct announce_decisions d;
                size_t n;

                assert_true(round < 1000); /* no livelock */
                assert_int_equal(announcer_run(w->a, w->now, w->wall, &d), 0);
                n = d.n_actions;
                collect(w, &d);
                for (size_t i = 0; i < n; i++) {
                        struct announce_lease_action *act = &d.actions[i];

                        w->n_actions++;
                        w->n_by_op[act->op]++;
                        if (startswith(act->name, ANNOUNCE_HEARTBEAT_PREFIX))
                                w->n_heartbeat_actions++;
                        if (!w->seen_first_action_kind) {
                                w->seen_first_action_kind = true;
                                w->first_op = act->op;
                                w->first_reason = strdup(act->reason);
                        }
                        if (w->hold_writes) {
                                w->held_actions =
                                    realloc(w->held_actions,
                                            (w->n_held_actions + 1) * sizeof(*w->held_actions));
                                w->held_actions[w->n_held_actions++] = *act;
                                act->name = NULL;
                                act->resource_version = NULL;
                                act->body = NULL;
                        } else
                                apply(w, act, ANNOUNCE_LEASE_OK);
                }
                announce_decisions_done(&d);
                if (n == 0 || w->hold_writes)
                        break;
        }
}

void world_answer(struct world *w, size_t i, enum announce_write_result forced)
{
        assert_true(i < w->n_held_actions);
        apply(w, &w->held_actions[i], forced);
        drop_held(w, i);
}

void world_answer_lost(struct world *w, size_t i)
{
        const struct announce_lease_action *act;
        json_t *obj = NULL;
        bool changed = false;

        assert_true(i < w->n_held_actions);
        act = &w->held_actions[i];
        assert_int_equal(fake_api_apply(&w->api, act, &obj, &changed), ANNOUNCE_LEASE_OK);
        feed_watch(w, act->name, obj);
        json_decref(obj);
        announcer_lease_result(w->a, act->id, ANNOUNCE_LEASE_CONFLICT, NULL, w->now);
        drop_held(w, i);
}

void world_advance(struct world *w, uint64_t dt)
{
        uint64_t end = w->now + dt;

        world_settle(w);
        while (w->next_wakeup <= end) {
                uint64_t t = w->next_wakeup;

                /* A wake-up at the current time after a run is a busy loop. */
                if (t <= w->now)
                        fail_msg("busy loop: next wake-up %" PRIu64 " at now %" PRIu64, t, w->now);
                w->wall += (int64_t)(t - w->now);
                w->now = t;
                world_settle(w);
        }
        w->wall += (int64_t)(end - w->now);
        w->now = end;
        world_settle(w);
}

void world_put_lease(struct world *w, const char *name, const char *holder, int duration_s,
                     int transitions)
{
        json_t *o = fake_api_put(&w->api, name, holder, duration_s, transitions);

        feed_watch(w, name, o);
        json_decref(o);
}

bool world_has_entry(const struct world *w, const char *ip, int ifindex)
{
        struct ipaddr a;

        assert_int_equal(ipaddr_parse(ip, &a), 0);
        for (size_t i = 0; i < w->n_entries; i++)
                if (ipaddr_equal(&w->entries[i].ip, &a) && w->entries[i].ifindex == ifindex)
                        return true;
        return false;
}

size_t world_count_events(const struct world *w, enum announce_event_kind k, const char *reason)
{
        size_t n = 0;

        for (size_t i = 0; i < w->n_events; i++)
                if (w->events[i].kind == k && (!reason || streq(w->events[i].reason, reason)))
                        n++;
        return n;
}

const char *world_holder(struct world *w, const char *lease)
{
        json_t *o = fake_api_get(&w->api, lease);

        return o ? lease_holder(o) : NULL;
}

void world_expect_entries(const struct world *w, const char *const *expected)
{
        size_t n = 0;

        for (; expected[n]; n++) {
                char ip[64];
                const char *at = strchr(expected[n], '@');

                assert_non_null(at);
                snprintf(ip, sizeof(ip), "%.*s", (int)(at - expected[n]), expected[n]);
                if (!world_has_entry(w, ip, atoi(at + 1)))
                        fail_msg("missing entry %s", expected[n]);
        }
        if (w->n_entries != n) {
                for (size_t i = 0; i < w->n_entries; i++) {
                        char buf[IPADDR_STRLEN];

                        print_message("entry %s@%d\n", ipaddr_format(&w->entries[i].ip, buf),
                                      w->entries[i].ifindex);
                }
                fail_msg("expected %zu entries, got %zu", n, w->n_entries);
        }
}
