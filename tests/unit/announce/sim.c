/* Discrete-event simulation of several agents (see sim.h). */
#include "sim.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "lib/util.h"

enum sim_kind {
        EV_START,
        EV_WAKE,
        EV_REQUEST,
        EV_RESPONSE,
        EV_WATCH,
};

struct sim_event {
        uint64_t t;
        uint64_t seq;
        enum sim_kind kind;
        size_t agent;
        uint64_t id;
        enum announce_lease_op op;
        char *name;
        char *rv;
        json_t *body; /* request body, or the object for a response/watch (NULL: deleted) */
        enum announce_write_result result;
};

static void event_free(struct sim_event *e)
{
        if (!e)
                return;
        free(e->name);
        free(e->rv);
        json_decref(e->body);
        free(e);
}

/* ---- heap ordered by (t, seq) ---- */

static bool before(const struct sim_event *a, const struct sim_event *b)
{
        return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(struct sim *s, struct sim_event *e)
{
        size_t i;

        e->seq = s->seq++;
        s->heap = realloc(s->heap, (s->n_heap + 1) * sizeof(*s->heap));
        assert_non_null(s->heap);
        i = s->n_heap++;
        s->heap[i] = e;
        while (i > 0 && before(s->heap[i], s->heap[(i - 1) / 2])) {
                struct sim_event *t = s->heap[i];

                s->heap[i] = s->heap[(i - 1) / 2];
                s->heap[(i - 1) / 2] = t;
                i = (i - 1) / 2;
        }
}

static struct sim_event *pop(struct sim *s)
{
        struct sim_event *top = s->heap[0];
        size_t i = 0;

        s->heap[0] = s->heap[--s->n_heap];
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;

                if (l < s->n_heap && before(s->heap[l], s->heap[m]))
                        m = l;
                if (r < s->n_heap && before(s->heap[r], s->heap[m]))
                        m = r;
                if (m == i)
                        break;
                struct sim_event *t = s->heap[i];

                s->heap[i] = s->heap[m];
                s->heap[m] = t;
                i = m;
        }
        return top;
}

static struct sim_event *event(uint64_t t, enum sim_kind kind, size_t agent)
{
        struct sim_event *e = calloc(1, sizeof(*e));

        assert_non_null(e);
        e->t = t;
        e->kind = kind;
        e->agent = agent;
        return e;
}

static uint64_t rand_below(struct sim *s, uint64_t n)
{
        if (n == 0)
                return 0;
        /* xorshift32 */
        s->rng ^= s->rng << 13;
        s->rng ^= s->rng >> 17;
        s->rng ^= s->rng << 5;
        return (uint64_t)s->rng % n;
}

static uint64_t jitter(struct sim *s)
{
        return rand_below(s, s->p.jitter);
}

/* The shell runs the core after every input. */
static void kick(struct sim *s, size_t agent)
{
        if (s->agents[agent].started && !s->agents[agent].dead)
                push(s, event(s->now, EV_START, agent));
}

/* ---- setup ---- */

struct sim_params sim_default_params(void)
{
        return (struct sim_params){
            .req_latency = 1 * MSEC,
            .resp_latency = 1 * MSEC,
            .watch_latency = 2 * MSEC,
            .jitter = 2 * MSEC,
            .seed = 1,
            .cfg = world_config("unset"),
        };
}

static uint64_t mono(const struct sim *s, size_t i)
{
        return (uint64_t)((int64_t)s->now + s->agents[i].mono_offset);
}

static int64_t wall(const struct sim *s)
{
        return s->wall0 + (int64_t)s->now;
}

static void new_announcer(struct sim *s, size_t i)
{
        struct announcer_config c = s->p.cfg;

        c.node_name = s->agents[i].name;
        assert_int_equal(announcer_new(&c, &s->agents[i].a), 0);
}

void sim_init(struct sim *s, const struct sim_params *p, size_t n_agents)
{
        *s = (struct sim){.p = *p};
        s->rng = p->seed ? p->seed : 1;
        s->now = 0;
        s->wall0 = INT64_C(1798761600) * 1000000;
        fake_api_init(&s->api);
        s->n_agents = n_agents;
        s->agents = calloc(n_agents, sizeof(*s->agents));
        assert_non_null(s->agents);
        for (size_t i = 0; i < n_agents; i++) {
                struct sim_agent *g = &s->agents[i];

                assert_true(asprintf(&g->name, "kind-worker%zu", i + 1) > 0);
                /* Distinct monotonic clocks, far apart. */
                g->mono_offset = (int64_t)(1000 + 7919 * i) * (int64_t)SEC;
                g->wake_at = UINT64_MAX;
                new_announcer(s, i);
        }
}

void sim_done(struct sim *s)
{
        for (size_t i = 0; i < s->n_heap; i++)
                event_free(s->heap[i]);
        free(s->heap);
        for (size_t i = 0; i < s->n_agents; i++) {
                struct sim_agent *g = &s->agents[i];

                for (size_t k = 0; k < g->n_backlog; k++)
                        event_free(g->backlog[k]);
                free(g->backlog);
                announcer_free(g->a);
                free(g->entries);
                free(g->name);
        }
        free(s->agents);
        strv_free(s->policies);
        strv_free(s->services);
        fake_api_done(&s->api);
}

void sim_policy(struct sim *s, const char *json)
{
        for (size_t i = 0; i < s->n_agents; i++)
                feed_policy(s->agents[i].a, json);
        strv_push(&s->policies, json);
}

void sim_service(struct sim *s, const char *ns, const char *name, const char *ext)
{
        char *rec;

        for (size_t i = 0; i < s->n_agents; i++)
                if (!s->agents[i].dead) {
                        feed_service(s->agents[i].a, ns, name, "{}", ext, NULL, NULL);
                        kick(s, i);
                }
        /* Remembered for restarted agents (the last version wins). */
        assert_true(asprintf(&rec, "%s\n%s\n%s", ns, name, ext ? ext : "[]") > 0);
        strv_push(&s->services, rec);
        free(rec);
}

void sim_node(struct sim *s, const char *name, bool ready, bool unschedulable)
{
        for (size_t i = 0; i < s->n_agents; i++)
                if (!s->agents[i].dead) {
                        feed_node(s->agents[i].a, name, "{}", ready, unschedulable);
                        kick(s, i);
                }
}

void sim_nodes(struct sim *s)
{
        for (size_t i = 0; i < s->n_agents; i++) {
                sim_node(s, s->agents[i].name, true, false);
                feed_device(s->agents[i].a, "net0", 3, true);
        }
}

void sim_device(struct sim *s, size_t agent, const char *name, int ifindex, bool up)
{
        if (s->agents[agent].dead)
                return;
        feed_device(s->agents[agent].a, name, ifindex, up);
        kick(s, agent);
}

void sim_start_agent(struct sim *s, size_t agent, uint64_t at)
{
        announcer_set_synced(s->agents[agent].a);
        s->agents[agent].started = true;
        push(s, event(at, EV_START, agent));
}

void sim_start(struct sim *s, uint64_t spread)
{
        for (size_t i = 0; i < s->n_agents; i++)
                sim_start_agent(s, i, s->now + rand_below(s, spread));
}

/* ---- monitors ---- */

static bool entry_live(const struct sim *s, size_t i, const struct announce_entry *e)
{
        return e->deadline > mono(s, i);
}

/* Entries start answering only when an agent applies a run's decisions, so
 * checking the agent that just ran against every other one, at that
 * instant, catches every overlap. Entries are sorted by address: a merge. */
static void check_safety(struct sim *s, size_t i)
{
        const struct sim_agent *g = &s->agents[i];

        for (size_t j = 0; j < s->n_agents; j++) {
                const struct sim_agent *h = &s->agents[j];
                size_t x = 0, y = 0;

                if (j == i)
                        continue;
                while (x < g->n_entries && y < h->n_entries) {
                        const struct announce_entry *e = &g->entries[x], *f = &h->entries[y];
                        int c = ipaddr_cmp(&e->ip, &f->ip);
                        char buf[IPADDR_STRLEN];

                        if (c < 0 || !entry_live(s, i, e)) {
                                x++;
                                continue;
                        }
                        if (c > 0 || !entry_live(s, j, f)) {
                                y++;
                                continue;
                        }
                        if (s->violations++ == 0)
                                snprintf(s->violation, sizeof(s->violation),
                                         "%s answered by %s and %s at %" PRIu64,
                                         ipaddr_format(&e->ip, buf), g->name, h->name, s->now);
                        x++;
                }
        }
}

/* Addresses of agent i that were live before and lapsed before being renewed. */
static void check_gaps(struct sim *s, size_t i, const struct announce_entry *next, size_t n)
{
        struct sim_agent *g = &s->agents[i];

        if (!s->watch_gaps)
                return;
        for (size_t k = 0; k < g->n_entries; k++) {
                const struct announce_entry *old = &g->entries[k];
                char buf[IPADDR_STRLEN];

                if (old->deadline > mono(s, i))
                        continue;
                for (size_t m = 0; m < n; m++)
                        if (ipaddr_equal(&next[m].ip, &old->ip) &&
                            next[m].ifindex == old->ifindex) {
                                if (s->gaps++ == 0)
                                        snprintf(s->gap, sizeof(s->gap),
                                                 "%s on %s lapsed %" PRIu64 " µs before renewal",
                                                 ipaddr_format(&old->ip, buf), g->name,
                                                 mono(s, i) - old->deadline);
                                break;
                        }
        }
}

/* ---- running agents ---- */

static void schedule_wake(struct sim *s, size_t i, uint64_t next_mono)
{
        struct sim_agent *g = &s->agents[i];
        uint64_t t;

        if (next_mono == UINT64_MAX) {
                g->wake_at = UINT64_MAX;
                return;
        }
        assert_true(next_mono >= mono(s, i));
        t = (uint64_t)((int64_t)next_mono - g->mono_offset);
        if (t == s->now)
                fail_msg("%s: busy loop (wake-up at now)", g->name);
        g->wake_at = t;
        push(s, event(t, EV_WAKE, i));
}

static void run_agent(struct sim *s, size_t i)
{
        struct sim_agent *g = &s->agents[i];
        struct announce_decisions d;

        assert_int_equal(announcer_run(g->a, mono(s, i), wall(s), &d), 0);
        g->runs++;
        check_gaps(s, i, d.entries, d.n_entries);
        free(g->entries);
        g->entries = d.entries;
        g->n_entries = d.n_entries;
        d.entries = NULL;
        d.n_entries = 0;
        for (size_t k = 0; k < d.n_actions; k++) {
                struct announce_lease_action *a = &d.actions[k];
                struct sim_event *e = event(s->now + s->p.req_latency + jitter(s), EV_REQUEST, i);

                e->id = a->id;
                e->op = a->op;
                e->name = a->name;
                e->rv = a->resource_version;
                e->body = a->body;
                a->name = NULL;
                a->resource_version = NULL;
                a->body = NULL;
                push(s, e);
        }
        schedule_wake(s, i, d.next_wakeup);
        announce_decisions_done(&d);
        check_safety(s, i);
}

static void fan_out(struct sim *s, const char *name, json_t *obj)
{
        for (size_t i = 0; i < s->n_agents; i++) {
                struct sim_agent *g = &s->agents[i];
                uint64_t t = s->now + s->p.watch_latency + jitter(s);
                struct sim_event *e;

                if (t < g->watch_last)
                        t = g->watch_last; /* a watch delivers in order */
                g->watch_last = t;
                e = event(t, EV_WATCH, i);
                e->name = strdup(name);
                e->body = obj ? json_incref(obj) : NULL;
                push(s, e);
        }
}

static bool lease_free_or_mine(struct sim *s, const char *name, const char *self)
{
        json_t *cur = fake_api_get(&s->api, name);
        const char *h = cur ? lease_holder(cur) : NULL;

        return !cur || isempty(h) || streq(h, self);
}

/* The current external IPs of the service behind a lease (from the last
 * version fed), into ips[]; returns how many. */
static size_t lease_ips(struct sim *s, const char *lease, struct ipaddr *ips, size_t max)
{
        size_t n = 0;

        for (size_t i = 0; s->services && s->services[i]; i++) {
                char ns[256], name[256], ext[1024], want[600];
                json_t *a, *v;
                size_t k;

                assert_int_equal(
                    sscanf(s->services[i], "%255[^\n]\n%255[^\n]\n%1023[^\n]", ns, name, ext), 3);
                snprintf(want, sizeof(want), "cilium-l2announce-%s-%s", ns, name);
                if (!streq(want, lease))
                        continue;
                n = 0; /* later versions win */
                a = J("%s", ext);
                json_array_foreach(a, k, v)
                {
                        if (n < max && ipaddr_parse(json_string_value(v), &ips[n]) == 0)
                                n++;
                }
                json_decref(a);
        }
        return n;
}

static int agent_index(const struct sim *s, const char *name)
{
        for (size_t i = 0; name && i < s->n_agents; i++)
                if (streq(s->agents[i].name, name))
                        return (int)i;
        return -1;
}

/* At the instant the store commits a takeover of a lease from node Y, Y must
 * already be silent for the lease's addresses: its deadline precedes any
 * follower's acquisition. */
static void check_takeover(struct sim *s, const char *lease, int from, size_t to)
{
        struct ipaddr ips[16];
        size_t n;

        if (from < 0 || (size_t)from == to)
                return;
        n = lease_ips(s, lease, ips, ELEMENTSOF(ips));
        for (size_t k = 0; k < s->agents[from].n_entries; k++) {
                const struct announce_entry *e = &s->agents[from].entries[k];
                char buf[IPADDR_STRLEN];

                if (!entry_live(s, (size_t)from, e))
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (ipaddr_equal(&ips[i], &e->ip) && s->violations++ == 0)
                                snprintf(s->violation, sizeof(s->violation),
                                         "%s taken over by %s while %s still answers %s at "
                                         "%" PRIu64,
                                         lease, s->agents[to].name, s->agents[from].name,
                                         ipaddr_format(&e->ip, buf), s->now);
        }
}

static void handle_request(struct sim *s, struct sim_event *e)
{
        struct announce_lease_action a = {
            .id = e->id, .op = e->op, .name = e->name, .resource_version = e->rv, .body = e->body};
        struct sim_event *r;
        json_t *obj = NULL;
        bool changed = false;
        enum announce_write_result res;
        int from;

        s->agents[e->agent].requests[e->op]++;
        if (startswith(e->name, ANNOUNCE_SHARD_PREFIX))
                s->shard_writes++;
        else if (startswith(e->name, ANNOUNCE_LEASE_PREFIX) &&
                 s->p.cfg.election == ANNOUNCE_ELECTION_NODE_HEARTBEAT)
                s->compat_writes++;
        else if (startswith(e->name, ANNOUNCE_HEARTBEAT_PREFIX) &&
                 !streq(e->name + strlen(ANNOUNCE_HEARTBEAT_PREFIX), s->agents[e->agent].name))
                s->fence_writes++;
        if (e->op != ANNOUNCE_LEASE_DELETE &&
            !lease_free_or_mine(s, e->name, s->agents[e->agent].name))
                s->foreign_writes++;
        {
                json_t *cur = fake_api_get(&s->api, e->name);

                from = cur ? agent_index(s, lease_holder(cur)) : -1;
        }
        res = fake_api_apply(&s->api, &a, &obj, &changed);
        if (res == ANNOUNCE_LEASE_OK && obj &&
            streq_ptr(lease_holder(obj), s->agents[e->agent].name))
                check_takeover(s, e->name, from, e->agent);
        r = event(s->now + s->p.resp_latency + jitter(s), EV_RESPONSE, e->agent);
        r->id = e->id;
        r->result = res;
        r->body = obj ? json_incref(obj) : NULL;
        push(s, r);
        if (changed)
                fan_out(s, e->name, obj);
        json_decref(obj);
}

static void deliver(struct sim *s, struct sim_event *e)
{
        struct sim_agent *g = &s->agents[e->agent];
        struct k8s_lease *l = NULL;

        switch (e->kind) {
        case EV_START:
                break;
        case EV_WAKE:
                if (e->t != g->wake_at)
                        return; /* superseded */
                break;
        case EV_RESPONSE:
                if (e->body)
                        l = lease_decode(e->body);
                announcer_lease_result(g->a, e->id, e->result, l, mono(s, e->agent));
                k8s_lease_free(l);
                break;
        case EV_WATCH:
                if (e->body) {
                        l = lease_decode(e->body);
                        announcer_upsert_lease(g->a, l, mono(s, e->agent));
                        k8s_lease_free(l);
                } else
                        announcer_remove_lease(g->a, e->name, mono(s, e->agent));
                break;
        case EV_REQUEST:
                assert_true(false);
        }
        run_agent(s, e->agent);
}

static void process(struct sim *s, struct sim_event *e)
{
        struct sim_agent *g = &s->agents[e->agent];

        if (e->kind == EV_REQUEST) {
                /* Already on the wire: reaches the store whatever the agent does. */
                handle_request(s, e);
                event_free(e);
                return;
        }
        if (g->dead) {
                event_free(e);
                return;
        }
        if (g->frozen) {
                if (e->kind == EV_WAKE) {
                        event_free(e);
                        return;
                }
                g->backlog = realloc(g->backlog, (g->n_backlog + 1) * sizeof(*g->backlog));
                g->backlog[g->n_backlog++] = e;
                return;
        }
        deliver(s, e);
        event_free(e);
}

void sim_run_until(struct sim *s, uint64_t t)
{
        while (s->n_heap > 0 && s->heap[0]->t <= t) {
                struct sim_event *e = pop(s);

                assert_true(e->t >= s->now);
                s->now = e->t;
                process(s, e);
        }
        s->now = t;
}

void sim_kill(struct sim *s, size_t agent)
{
        s->agents[agent].dead = true;
}

void sim_freeze(struct sim *s, size_t agent)
{
        s->agents[agent].frozen = true;
}

void sim_thaw(struct sim *s, size_t agent)
{
        struct sim_agent *g = &s->agents[agent];

        g->frozen = false;
        /* The kernel delivers what queued up, in order, now. */
        for (size_t k = 0; k < g->n_backlog; k++) {
                deliver(s, g->backlog[k]);
                event_free(g->backlog[k]);
        }
        free(g->backlog);
        g->backlog = NULL;
        g->n_backlog = 0;
        run_agent(s, agent);
}

/* The old process: one last renewal of everything, wait for the results. */
static void restart_shutdown(struct sim *s, size_t agent)
{
        struct sim_agent *g = &s->agents[agent];

        announcer_renew_all_now(g->a);
        run_agent(s, agent);
        /* Let the renewals complete (the shell waits for them briefly). */
        sim_run_until(s, s->now + s->p.req_latency + s->p.resp_latency + 2 * s->p.jitter);
}

void sim_restart(struct sim *s, size_t agent, uint64_t down)
{
        struct sim_agent *g = &s->agents[agent];
        struct announce_entry *pinned;
        size_t n_pinned;
        GHashTableIter it;
        gpointer k, v;

        restart_shutdown(s, agent);
        /* Exit: events for the old process are lost; the BPF map stays. */
        g->dead = true;
        pinned = g->entries;
        n_pinned = g->n_entries;
        g->entries = calloc(n_pinned + 1, sizeof(*g->entries));
        if (n_pinned > 0)
                memcpy(g->entries, pinned, n_pinned * sizeof(*pinned));
        g->n_entries = n_pinned;
        sim_run_until(s, s->now + down);

        /* The new process: lists everything, including the pinned map. */
        announcer_free(g->a);
        new_announcer(s, agent);
        g->dead = false;
        g->wake_at = UINT64_MAX;
        for (size_t i = 0; i < s->n_agents; i++)
                feed_node(g->a, s->agents[i].name, "{}", true, false);
        feed_device(g->a, "net0", 3, true);
        g_hash_table_iter_init(&it, s->api.leases);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                struct k8s_lease *l = lease_decode(v);

                announcer_upsert_lease(g->a, l, mono(s, agent));
                k8s_lease_free(l);
        }
        for (size_t i = 0; s->policies && s->policies[i]; i++)
                feed_policy(g->a, s->policies[i]);
        for (size_t i = 0; s->services && s->services[i]; i++) {
                char ns[256], name[256], ext[1024];

                assert_int_equal(
                    sscanf(s->services[i], "%255[^\n]\n%255[^\n]\n%1023[^\n]", ns, name, ext), 3);
                feed_service(g->a, ns, name, "{}", ext, NULL, NULL);
        }
        for (size_t i = 0; i < n_pinned; i++)
                announcer_add_pinned_entry(g->a, &pinned[i]);
        free(pinned);
        announcer_set_synced(g->a);
        push(s, event(s->now, EV_START, agent));
}

size_t sim_held_by(struct sim *s, size_t agent)
{
        GHashTableIter it;
        gpointer v;
        size_t n = 0;

        g_hash_table_iter_init(&it, s->api.leases);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (streq_ptr(lease_holder(v), s->agents[agent].name))
                        n++;
        return n;
}

int sim_holder(struct sim *s, const char *lease)
{
        json_t *o = fake_api_get(&s->api, lease);
        const char *h = o ? lease_holder(o) : NULL;

        for (size_t i = 0; h && i < s->n_agents; i++)
                if (streq(h, s->agents[i].name))
                        return (int)i;
        return -1;
}

uint64_t sim_requests(const struct sim *s)
{
        uint64_t n = 0;

        for (size_t i = 0; i < s->n_agents; i++)
                n += s->agents[i].requests[0] + s->agents[i].requests[1] + s->agents[i].requests[2];
        return n;
}

void sim_reset_requests(struct sim *s)
{
        for (size_t i = 0; i < s->n_agents; i++)
                memset(s->agents[i].requests, 0, sizeof(s->agents[i].requests));
        s->foreign_writes = 0;
        s->shard_writes = s->fence_writes = s->compat_writes = 0;
}
