/* Discrete-event simulation of several agents (see sim.h). */
#include "sim.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "announce/bindings.h"
#include "lib/util.h"

enum sim_kind {
        EV_START,
        EV_WAKE,
        EV_REQUEST,
        EV_RESPONSE,
        EV_WATCH,
        EV_DEVICE,
        EV_EXIT,
};

struct sim_event {
        uint64_t t;
        uint64_t seq;
        enum sim_kind kind;
        size_t agent;
        unsigned inc;   /* the agent's process generation it belongs to */
        uint64_t sent;  /* request/response: when the request left the client */
        bool timed_out; /* response: already the client's timeout */
        bool up;        /* device */
        int ifindex;    /* device */
        bool leave;     /* exit: the node goes away afterwards */
        enum sim_watch_kind wkind;
        uint64_t id;
        enum announce_lease_op op;
        char *name;
        char *rv;
        json_t *body; /* request body, or the object for a response/watch (NULL: deleted) */
        enum announce_write_result result;
};

/* An address the long-gap monitor follows (see sim.h). */
struct sim_gap_ip {
        struct ipaddr ip;
        bool covered;
        bool answered;
        bool reported;
        uint64_t covered_since;    /* UINT64_MAX: not covered */
        uint64_t unanswered_since; /* UINT64_MAX: answered */
        uint64_t rebound;          /* last bound to an agent that was not healthy (0: never) */
};

#define NEVER UINT64_MAX

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
        s->heap = xreallocarray(s->heap, s->n_heap + 1, sizeof(*s->heap));
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

static struct sim_event *event(const struct sim *s, uint64_t t, enum sim_kind kind, size_t agent)
{
        struct sim_event *e = xnew(struct sim_event, 1);

        e->t = t;
        e->kind = kind;
        e->agent = agent;
        e->inc = s->agents[agent].incarnation;
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

static uint64_t jitter(struct sim *s, size_t agent)
{
        return rand_below(s, s->agents[agent].jitter);
}

/* ---- setup ---- */

struct sim_params sim_default_params(void)
{
        struct sim_params p = {
            .req_latency = 1 * MSEC,
            .resp_latency = 1 * MSEC,
            .watch_latency = 2 * MSEC,
            .jitter = 2 * MSEC,
            .client_timeout = 2 * SEC,
            .seed = 1,
            .cfg = world_config("unset"),
        };

        p.cfg.election = ANNOUNCE_ELECTION_LEASE_PER_SERVICE;
        return p;
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
        for (size_t k = 0; k < SIM_N_KINDS; k++)
                s->objects[k] = g_hash_table_new_full(g_str_hash, g_str_equal, free,
                                                      (GDestroyNotify)json_decref);
        s->n_agents = n_agents;
        s->agents = xnew(struct sim_agent, n_agents);
        for (size_t i = 0; i < n_agents; i++) {
                struct sim_agent *g = &s->agents[i];

                g->name = xasprintf("kind-worker%zu", i + 1);
                /* Distinct monotonic clocks, far apart. */
                g->mono_offset = (int64_t)(1000 + 7919 * i) * (int64_t)SEC;
                g->wake_at = NEVER;
                g->present = true;
                g->req_latency = p->req_latency;
                g->resp_latency = p->resp_latency;
                g->watch_latency = p->watch_latency;
                g->jitter = p->jitter;
                g->cache = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
                new_announcer(s, i);
        }
        s->cover_dirty = true;
}

static void free_events(struct sim_event ***v, size_t *n)
{
        for (size_t k = 0; k < *n; k++)
                event_free((*v)[k]);
        free(*v);
        *v = NULL;
        *n = 0;
}

void sim_done(struct sim *s)
{
        for (size_t i = 0; i < s->n_heap; i++)
                event_free(s->heap[i]);
        free(s->heap);
        for (size_t i = 0; i < s->n_agents; i++) {
                struct sim_agent *g = &s->agents[i];

                free_events(&g->backlog, &g->n_backlog);
                free_events(&g->held, &g->n_held);
                g_hash_table_unref(g->cache);
                announcer_free(g->a);
                free(g->entries);
                free(g->name);
        }
        free(s->agents);
        for (size_t k = 0; k < SIM_N_KINDS; k++)
                g_hash_table_unref(s->objects[k]);
        free(s->gap_ips);
        fake_api_done(&s->api);
}

void sim_agent_latency(struct sim *s, size_t agent, uint64_t req, uint64_t resp, uint64_t watch,
                       uint64_t jit)
{
        struct sim_agent *g = &s->agents[agent];

        g->req_latency = req;
        g->resp_latency = resp;
        g->watch_latency = watch;
        g->jitter = jit;
}

/* ---- objects and watches ---- */

static GHashTable *store_of(struct sim *s, enum sim_watch_kind k)
{
        return k == SIM_LEASE ? s->api.leases : s->objects[k];
}

static void cache_note(struct sim_agent *g, enum sim_watch_kind k, const char *key, bool present)
{
        char *ck = xasprintf("%d/%s", (int)k, key);

        if (present)
                g_hash_table_add(g->cache, ck);
        else {
                g_hash_table_remove(g->cache, ck);
                free(ck);
        }
}

static void split_key(const char *key, char *ns, size_t n_ns, const char **name)
{
        const char *slash = strchr(key, '/');

        assert_non_null(slash);
        snprintf(ns, n_ns, "%.*s", (int)(slash - key), key);
        *name = slash + 1;
}

/* The informer hands one object (NULL: deleted) to the core. Returns
 * whether the shell runs the core for it (as the agent's handlers do). */
static bool deliver_object(struct sim *s, size_t i, enum sim_watch_kind k, const char *key,
                           json_t *obj)
{
        bool run = true;

        struct announcer *a = s->agents[i].a;
        char *err = NULL;
        char ns[256];
        const char *name;

        switch (k) {
        case SIM_LEASE:
                if (obj) {
                        struct k8s_lease *l = lease_decode(obj);

                        run = announcer_upsert_lease(a, l, mono(s, i));
                        k8s_lease_free(l);
                } else
                        announcer_remove_lease(a, key, mono(s, i));
                break;
        case SIM_SERVICE:
                if (obj) {
                        struct k8s_service *v = NULL;

                        if (k8s_service_decode(obj, &v, &err) < 0)
                                fail_msg("service: %s", err);
                        announcer_upsert_service(a, v);
                        k8s_service_free(v);
                } else {
                        split_key(key, ns, sizeof(ns), &name);
                        announcer_remove_service(a, ns, name);
                }
                break;
        case SIM_POLICY:
                if (obj) {
                        struct k8s_l2policy *p = NULL;

                        if (k8s_l2policy_decode(obj, &p, &err) < 0)
                                fail_msg("policy: %s", err);
                        announcer_upsert_policy(a, p);
                        k8s_l2policy_free(p);
                } else
                        announcer_remove_policy(a, key);
                break;
        case SIM_NODE:
                if (obj) {
                        struct k8s_node *n = NULL;

                        if (k8s_node_decode(obj, &n, &err) < 0)
                                fail_msg("node: %s", err);
                        announcer_upsert_node(a, n);
                        k8s_node_free(n);
                } else
                        announcer_remove_node(a, key);
                break;
        case SIM_SLICE:
                if (obj) {
                        struct k8s_endpointslice *e = NULL;

                        if (k8s_endpointslice_decode(obj, &e, &err) < 0)
                                fail_msg("slice: %s", err);
                        announcer_upsert_endpointslice(a, e);
                        k8s_endpointslice_free(e);
                } else {
                        split_key(key, ns, sizeof(ns), &name);
                        announcer_remove_endpointslice(a, ns, name);
                }
                break;
        case SIM_N_KINDS:
                assert_true(false);
        }
        return run;
}

static bool watch_cut(const struct sim *s, const struct sim_agent *g)
{
        return g->cut_watch || s->api_down;
}

static struct sim_event *watch_event(const struct sim *s, size_t i, enum sim_watch_kind k,
                                     const char *key, json_t *obj)
{
        struct sim_event *e = event(s, 0, EV_WATCH, i);

        e->wkind = k;
        e->name = xstrdup(key);
        e->body = obj ? json_incref(obj) : NULL;
        return e;
}

/* Onto agent i's watch stream of that kind: after its latency, never before
 * what the stream already carries. */
static void push_watch(struct sim *s, size_t i, struct sim_event *e)
{
        struct sim_agent *g = &s->agents[i];
        uint64_t t = s->now + g->watch_latency + jitter(s, i);

        if (t < g->watch_last[e->wkind])
                t = g->watch_last[e->wkind];
        g->watch_last[e->wkind] = t;
        e->t = t;
        e->inc = g->incarnation;
        cache_note(g, e->wkind, e->name, e->body != NULL);
        push(s, e);
}

/* A change in the store (obj NULL: deleted) to every agent's watch. */
static void publish(struct sim *s, enum sim_watch_kind k, const char *key, json_t *obj)
{
        for (size_t i = 0; i < s->n_agents; i++) {
                struct sim_agent *g = &s->agents[i];
                struct sim_event *e;

                if (!g->present || g->dead)
                        continue; /* a new process lists everything */
                if (!g->started) {
                        /* still in its initial list */
                        cache_note(g, k, key, obj != NULL);
                        deliver_object(s, i, k, key, obj);
                        continue;
                }
                e = watch_event(s, i, k, key, obj);
                if (watch_cut(s, g)) {
                        g->held = xreallocarray(g->held, g->n_held + 1, sizeof(*g->held));
                        g->held[g->n_held++] = e;
                } else
                        push_watch(s, i, e);
        }
}

static void store_object(struct sim *s, enum sim_watch_kind k, const char *key, json_t *obj)
{
        if (obj)
                g_hash_table_replace(s->objects[k], xstrdup(key), json_incref(obj));
        else
                g_hash_table_remove(s->objects[k], key);
        s->cover_dirty = true;
        publish(s, k, key, obj);
}

void sim_policy(struct sim *s, const char *json)
{
        json_t *j = J("%s", json);
        const char *name =
            json_string_value(json_object_get(json_object_get(j, "metadata"), "name"));

        assert_non_null(name);
        store_object(s, SIM_POLICY, name, j);
        json_decref(j);
}

void sim_remove_policy(struct sim *s, const char *name)
{
        store_object(s, SIM_POLICY, name, NULL);
}

void sim_service_full(struct sim *s, const char *ns, const char *name, const char *labels,
                      const char *ext, bool local)
{
        json_t *j = J("{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"labels\":%s},"
                      "\"spec\":{\"externalIPs\":%s%s},"
                      "\"status\":{\"loadBalancer\":{\"ingress\":[]}}}",
                      name, ns, labels ? labels : "{}", ext ? ext : "[]",
                      local ? ",\"externalTrafficPolicy\":\"Local\"" : "");
        char *key = xasprintf("%s/%s", ns, name);

        store_object(s, SIM_SERVICE, key, j);
        free(key);
        json_decref(j);
}

void sim_service(struct sim *s, const char *ns, const char *name, const char *ext)
{
        sim_service_full(s, ns, name, NULL, ext, false);
}

void sim_remove_service(struct sim *s, const char *ns, const char *name)
{
        char *key = xasprintf("%s/%s", ns, name);

        store_object(s, SIM_SERVICE, key, NULL);
        free(key);
}

void sim_endpoints(struct sim *s, const char *ns, const char *svc, uint32_t agents)
{
        json_t *eps = json_array(), *j;
        char *key = xasprintf("%s/%s", ns, svc);

        for (size_t i = 0; i < s->n_agents && i < 32; i++)
                if (agents & (UINT32_C(1) << i)) {
                        char addr[32];

                        snprintf(addr, sizeof(addr), "10.244.%zu.%zu", i, i + 10);
                        json_array_append_new(eps, json_pack("{s:[s],s:s,s:{s:b}}", "addresses",
                                                             addr, "nodeName", s->agents[i].name,
                                                             "conditions", "ready", 1));
                }
        j = json_pack("{s:{s:s,s:s,s:{s:s}},s:s,s:o}", "metadata", "name", svc, "namespace", ns,
                      "labels", "kubernetes.io/service-name", svc, "addressType", "IPv4",
                      "endpoints", eps);
        store_object(s, SIM_SLICE, key, j);
        json_decref(j);
        free(key);
}

void sim_node_labels(struct sim *s, const char *name, const char *labels, bool ready,
                     bool unschedulable)
{
        json_t *j = node_json(name, labels, ready, unschedulable);

        store_object(s, SIM_NODE, name, j);
        json_decref(j);
}

void sim_node(struct sim *s, const char *name, bool ready, bool unschedulable)
{
        json_t *cur = g_hash_table_lookup(s->objects[SIM_NODE], name);
        json_t *labels = cur ? json_object_get(json_object_get(cur, "metadata"), "labels") : NULL;
        char *text = labels ? json_dumps(labels, JSON_COMPACT) : NULL;

        /* Labels kept. */
        sim_node_labels(s, name, text, ready, unschedulable);
        free(text);
}

void sim_remove_node(struct sim *s, const char *name)
{
        store_object(s, SIM_NODE, name, NULL);
}

void sim_nodes(struct sim *s)
{
        for (size_t i = 0; i < s->n_agents; i++)
                if (s->agents[i].present) {
                        sim_node(s, s->agents[i].name, true, false);
                        sim_device(s, i, "net0", 3, true);
                }
}

static void feed_agent_device(struct sim *s, size_t i, const char *name, int ifindex, bool up)
{
        feed_device(s->agents[i].a, name, ifindex, up);
}

void sim_device(struct sim *s, size_t agent, const char *name, int ifindex, bool up)
{
        struct sim_agent *g = &s->agents[agent];
        struct sim_device *d = NULL;
        struct sim_event *e;

        for (size_t k = 0; k < g->n_dev; k++)
                if (streq(g->dev[k].name, name))
                        d = &g->dev[k];
        if (!d) {
                assert_true(g->n_dev < ELEMENTSOF(g->dev));
                d = &g->dev[g->n_dev++];
                snprintf(d->name, sizeof(d->name), "%s", name);
        }
        d->ifindex = ifindex;
        d->up = up;
        s->cover_dirty = true;
        if (g->dead)
                return; /* a new process reads the links it finds */
        if (!g->started) {
                feed_agent_device(s, agent, name, ifindex, up);
                return;
        }
        /* netlink: local, but queued while the process is frozen */
        e = event(s, s->now, EV_DEVICE, agent);
        e->name = xstrdup(name);
        e->ifindex = ifindex;
        e->up = up;
        push(s, e);
}

void sim_start_agent(struct sim *s, size_t agent, uint64_t at)
{
        announcer_set_synced(s->agents[agent].a);
        s->agents[agent].started = true;
        s->cover_dirty = true;
        push(s, event(s, at, EV_START, agent));
}

void sim_start(struct sim *s, uint64_t spread)
{
        for (size_t i = 0; i < s->n_agents; i++)
                if (s->agents[i].present)
                        sim_start_agent(s, i, s->now + rand_below(s, spread));
}

/* ---- monitors ---- */

static bool entry_live(const struct sim *s, size_t i, const struct announce_entry *e)
{
        return e->deadline > mono(s, i);
}

/* ---- tracing (L2LB_SIM_TRACE=<address>: every request with that address's
 * binding in it, every result, and every change of who answers it) ---- */

static const char *const trace_op[] = {"POST", "PUT", "DELETE"};
static const char *const trace_res[] = {"ok", "conflict", "not-found", "error"};

static const char *trace_ip(void)
{
        const char *v = getenv("L2LB_SIM_TRACE");

        return v && *v ? v : NULL;
}

static void trace(const struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(const struct sim *s, const char *fmt, ...)
{
        va_list ap;

        printf("%10.3f s  ", (double)s->now / SEC);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
}

/* The traced address's value in a Lease body's bindings annotation. */
static const char *trace_binding(json_t *body)
{
        const char *text = json_string_value(json_object_get(
            json_object_get(json_object_get(body, "metadata"), "annotations"), "l2lb.io/bindings"));
        json_t *b = text ? json_loads(text, 0, NULL) : NULL;
        static char buf[96];
        const char *v = json_string_value(json_object_get(b, trace_ip()));

        snprintf(buf, sizeof(buf), "%s", v ? v : "-");
        json_decref(b);
        return buf;
}

static void trace_entries(const struct sim *s, size_t i, const struct announce_entry *next,
                          size_t n)
{
        const struct sim_agent *g = &s->agents[i];
        struct ipaddr ip;
        bool had = false, has = false;

        if (!trace_ip() || ipaddr_parse(trace_ip(), &ip) < 0)
                return;
        for (size_t k = 0; k < g->n_entries; k++)
                had |= ipaddr_equal(&g->entries[k].ip, &ip) && entry_live(s, i, &g->entries[k]);
        for (size_t k = 0; k < n; k++)
                has |= ipaddr_equal(&next[k].ip, &ip) && next[k].deadline > mono(s, i);
        if (had != has)
                trace(s, "%s %s answering", g->name, has ? "starts" : "stops");
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

/* ---- the long-gap monitor's ground truth (see sim.h) ---- */

/* matchLabels of a selector (NULL: absent = everything) against labels. */
static bool match_labels(json_t *selector, json_t *labels)
{
        json_t *ml = json_object_get(selector, "matchLabels"), *v;
        const char *k;

        if (!selector)
                return true;
        json_object_foreach(ml, k, v)
        {
                json_t *have = json_object_get(labels, k);

                if (!have || !json_equal(have, v))
                        return false;
        }
        return true;
}

static json_t *labels_of(json_t *obj)
{
        return json_object_get(json_object_get(obj, "metadata"), "labels");
}

static bool policy_selects(json_t *pol, json_t *svc)
{
        json_t *spec = json_object_get(pol, "spec");

        return json_is_true(json_object_get(spec, "externalIPs")) &&
               match_labels(json_object_get(spec, "serviceSelector"), labels_of(svc));
}

static bool node_usable(json_t *node)
{
        json_t *conds = json_object_get(json_object_get(node, "status"), "conditions"), *c;
        size_t k;
        bool ready = false;

        json_array_foreach(conds, k, c)
        {
                if (streq_ptr(json_string_value(json_object_get(c, "type")), "Ready") &&
                    streq_ptr(json_string_value(json_object_get(c, "status")), "True"))
                        ready = true;
        }
        return ready &&
               !json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
}

static bool agent_healthy(const struct sim *s, const struct sim_agent *g)
{
        return g->present && g->started && !g->dead && !g->stopping && !g->frozen && !g->cut_req &&
               !g->cut_resp && !g->cut_watch && !g->l2_drop && !s->api_down;
}

static bool has_local_endpoint(struct sim *s, json_t *svc, const char *node)
{
        json_t *md = json_object_get(svc, "metadata"), *ep;
        char *key = xasprintf("%s/%s", json_string_value(json_object_get(md, "namespace")),
                              json_string_value(json_object_get(md, "name")));
        json_t *slice = g_hash_table_lookup(s->objects[SIM_SLICE], key);
        size_t k;
        bool found = false;

        free(key);
        json_array_foreach(json_object_get(slice, "endpoints"), k, ep)
        {
                json_t *ready = json_object_get(json_object_get(ep, "conditions"), "ready");

                if (streq_ptr(json_string_value(json_object_get(ep, "nodeName")), node) &&
                    (!ready || json_is_true(ready)))
                        found = true;
        }
        return found;
}

static bool device_matches(const struct sim_agent *g, json_t *patterns)
{
        for (size_t d = 0; d < g->n_dev; d++) {
                json_t *p;
                size_t k;

                if (!g->dev[d].up)
                        continue;
                if (json_array_size(patterns) == 0)
                        return true;
                json_array_foreach(patterns, k, p)
                {
                        if (g_regex_match_simple(json_string_value(p), g->dev[d].name, 0, 0))
                                return true;
                }
        }
        return false;
}

static bool candidate(struct sim *s, size_t i, json_t *svc)
{
        const struct sim_agent *g = &s->agents[i];
        json_t *node = g_hash_table_lookup(s->objects[SIM_NODE], g->name), *pol;
        GHashTableIter it;
        const char *local = json_string_value(
            json_object_get(json_object_get(svc, "spec"), "externalTrafficPolicy"));

        if (!node || !node_usable(node))
                return false;
        if (streq_ptr(local, "Local") && !has_local_endpoint(s, svc, g->name))
                return false;
        g_hash_table_iter_init(&it, s->objects[SIM_POLICY]);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *)&pol)) {
                json_t *spec = json_object_get(pol, "spec");

                if (policy_selects(pol, svc) &&
                    match_labels(json_object_get(spec, "nodeSelector"), labels_of(node)) &&
                    device_matches(g, json_object_get(spec, "interfaces")))
                        return true;
        }
        return false;
}

static bool selected(struct sim *s, json_t *svc)
{
        GHashTableIter it;
        json_t *pol;

        g_hash_table_iter_init(&it, s->objects[SIM_POLICY]);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *)&pol))
                if (policy_selects(pol, svc))
                        return true;
        return false;
}

static bool svc_has_ip(json_t *svc, const struct ipaddr *ip)
{
        json_t *v;
        size_t k;

        json_array_foreach(json_object_get(json_object_get(svc, "spec"), "externalIPs"), k, v)
        {
                struct ipaddr a;

                if (ipaddr_parse(json_string_value(v), &a) == 0 && ipaddr_equal(&a, ip))
                        return true;
        }
        return false;
}

static int gap_ip_cmp(const void *a, const void *b)
{
        return ipaddr_cmp(&((const struct sim_gap_ip *)a)->ip, &((const struct sim_gap_ip *)b)->ip);
}

static struct sim_gap_ip *find_gap_ip(struct sim_gap_ip *v, size_t n, const struct ipaddr *ip)
{
        struct sim_gap_ip key = {.ip = *ip};

        if (n == 0) /* v may be NULL: bsearch's base must not be */
                return NULL;
        return bsearch(&key, v, n, sizeof(*v), gap_ip_cmp);
}

/* The wanted addresses and whether each is covered, now. */
static void rebuild_cover(struct sim *s)
{
        struct sim_gap_ip *next = NULL;
        size_t n = 0;
        GHashTableIter it;
        json_t *svc;

        g_hash_table_iter_init(&it, s->objects[SIM_SERVICE]);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *)&svc)) {
                json_t *v;
                size_t k;

                if (!selected(s, svc))
                        continue;
                json_array_foreach(json_object_get(json_object_get(svc, "spec"), "externalIPs"), k,
                                   v)
                {
                        struct ipaddr a;

                        if (ipaddr_parse(json_string_value(v), &a) < 0)
                                continue;
                        next = xreallocarray(next, n + 1, sizeof(*next));
                        next[n++] = (struct sim_gap_ip){.ip = a};
                }
        }
        if (n > 0)
                qsort_safe(next, n, sizeof(*next), gap_ip_cmp);
        /* dedup */
        {
                size_t w = 0;

                for (size_t r = 0; r < n; r++)
                        if (w == 0 || !ipaddr_equal(&next[w - 1].ip, &next[r].ip))
                                next[w++] = next[r];
                n = w;
        }
        for (size_t x = 0; x < n; x++) {
                struct sim_gap_ip *g = &next[x],
                                  *old = find_gap_ip(s->gap_ips, s->n_gap_ips, &g->ip);

                for (size_t i = 0; i < s->n_agents && !g->covered; i++) {
                        bool all = true;

                        if (!agent_healthy(s, &s->agents[i]))
                                continue;
                        g_hash_table_iter_init(&it, s->objects[SIM_SERVICE]);
                        while (all && g_hash_table_iter_next(&it, NULL, (gpointer *)&svc))
                                if (selected(s, svc) && svc_has_ip(svc, &g->ip) &&
                                    !candidate(s, i, svc))
                                        all = false;
                        g->covered = all;
                }
                g->unanswered_since = old ? old->unanswered_since : s->now;
                g->reported = old ? old->reported : false;
                g->rebound = old ? old->rebound : 0;
                g->covered_since = !g->covered                          ? NEVER
                                   : old && old->covered_since != NEVER ? old->covered_since
                                                                        : s->now;
        }
        free(s->gap_ips);
        s->gap_ips = next;
        s->n_gap_ips = n;
        s->cover_dirty = false;
}

static void restart_bound(struct sim *s, const char *node, bool unanswered_only);

static void sample_gaps(struct sim *s)
{
        if (s->cover_dirty)
                rebuild_cover(s);
        for (size_t x = 0; x < s->n_gap_ips; x++)
                s->gap_ips[x].answered = false;
        for (size_t i = 0; i < s->n_agents; i++)
                for (size_t k = 0; k < s->agents[i].n_entries; k++) {
                        const struct announce_entry *e = &s->agents[i].entries[k];
                        struct sim_gap_ip *g;

                        if (entry_live(s, i, e) &&
                            (g = find_gap_ip(s->gap_ips, s->n_gap_ips, &e->ip)))
                                g->answered = true;
                }
        /* An agent failing before it answers what it was just given: that
         * failover starts now (see sim.h). */
        for (size_t i = 0; i < s->n_agents; i++) {
                struct sim_agent *g = &s->agents[i];
                bool healthy = agent_healthy(s, g);

                if (g->was_healthy && !healthy)
                        restart_bound(s, g->name, true);
                g->was_healthy = healthy;
        }
        for (size_t x = 0; x < s->n_gap_ips; x++) {
                struct sim_gap_ip *g = &s->gap_ips[x];
                uint64_t from;
                char buf[IPADDR_STRLEN];

                if (g->answered) {
                        g->unanswered_since = NEVER;
                        g->reported = false;
                        continue;
                }
                if (g->unanswered_since == NEVER)
                        g->unanswered_since = s->now;
                if (!g->covered || g->reported)
                        continue;
                from = MAX(MAX(g->unanswered_since, g->covered_since), g->rebound);
                if (s->now - from <= s->gap_bound)
                        continue;
                g->reported = true;
                if (s->long_gaps++ == 0)
                        snprintf(s->long_gap, sizeof(s->long_gap),
                                 "%s unanswered from %" PRIu64 " ms (covered since %" PRIu64
                                 " ms) to at least %" PRIu64 " ms",
                                 ipaddr_format(&g->ip, buf), g->unanswered_since / MSEC,
                                 g->covered_since / MSEC, s->now / MSEC);
        }
}

void sim_watch_long_gaps(struct sim *s, uint64_t bound, uint64_t tick)
{
        s->gap_bound = bound;
        s->gap_tick = tick ? tick : 10 * MSEC;
        s->next_tick = s->now;
        s->cover_dirty = true;
}

static void tick_until(struct sim *s, uint64_t t)
{
        if (!s->gap_bound)
                return;
        while (s->next_tick <= t) {
                s->now = s->next_tick;
                sample_gaps(s);
                s->next_tick += s->gap_tick;
        }
}

/* ---- running agents ---- */

static void schedule_wake(struct sim *s, size_t i, uint64_t next_mono)
{
        struct sim_agent *g = &s->agents[i];
        uint64_t t;

        if (next_mono == NEVER) {
                g->wake_at = NEVER;
                return;
        }
        assert_true(next_mono >= mono(s, i));
        t = (uint64_t)((int64_t)next_mono - g->mono_offset);
        if (t == s->now)
                fail_msg("%s: busy loop (wake-up at now)", g->name);
        g->wake_at = t;
        push(s, event(s, t, EV_WAKE, i));
}

/* send: the shell sends the run's lease actions (not on its way out). */
static void run_agent_send(struct sim *s, size_t i, bool send)
{
        struct sim_agent *g = &s->agents[i];
        struct announce_decisions d;

        assert_int_equal(announcer_run(g->a, mono(s, i), wall(s), &d), 0);
        g->runs++;
        check_gaps(s, i, d.entries, d.n_entries);
        trace_entries(s, i, d.entries, d.n_entries);
        free(g->entries);
        g->entries = d.entries;
        g->n_entries = d.n_entries;
        d.entries = NULL;
        d.n_entries = 0;
        for (size_t k = 0; send && k < d.n_actions; k++) {
                struct announce_lease_action *a = &d.actions[k];
                struct sim_event *e =
                    event(s, s->now + g->req_latency + jitter(s, i), EV_REQUEST, i);

                e->sent = s->now;
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
        if (send)
                schedule_wake(s, i, d.next_wakeup);
        else
                g->wake_at = NEVER;
        announce_decisions_done(&d);
        check_safety(s, i);
}

static void run_agent(struct sim *s, size_t i)
{
        run_agent_send(s, i, true);
}

static bool lease_free_or_mine(struct sim *s, const char *name, const char *self)
{
        json_t *cur = fake_api_get(&s->api, name);
        const char *h = cur ? lease_holder(cur) : NULL;

        return !cur || isempty(h) || streq(h, self);
}

/* The current external IPs of the service behind a lease, into ips[];
 * returns how many. */
static size_t lease_ips(struct sim *s, const char *lease, struct ipaddr *ips, size_t max)
{
        GHashTableIter it;
        json_t *svc;
        size_t n = 0;

        if (!startswith(lease, ANNOUNCE_LEASE_PREFIX))
                return 0;
        g_hash_table_iter_init(&it, s->objects[SIM_SERVICE]);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *)&svc)) {
                json_t *md = json_object_get(svc, "metadata"), *v;
                char want[600];
                size_t k;

                snprintf(want, sizeof(want), ANNOUNCE_LEASE_PREFIX "%s-%s",
                         json_string_value(json_object_get(md, "namespace")),
                         json_string_value(json_object_get(md, "name")));
                if (!streq(want, lease))
                        continue;
                json_array_foreach(json_object_get(json_object_get(svc, "spec"), "externalIPs"), k,
                                   v)
                {
                        if (n < max && ipaddr_parse(json_string_value(v), &ips[n]) == 0)
                                n++;
                }
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

        /* node-heartbeat writes the cilium-l2announce Leases after a move,
         * for readers only: a change of their holder moves nothing. */
        if (from < 0 || (size_t)from == to || s->p.cfg.election == ANNOUNCE_ELECTION_NODE_HEARTBEAT)
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

static void respond(struct sim *s, const struct sim_event *req, uint64_t t,
                    enum announce_write_result res, json_t *obj, bool timed_out)
{
        struct sim_event *r = event(s, t, EV_RESPONSE, req->agent);

        r->inc = req->inc;
        r->id = req->id;
        r->sent = req->sent;
        r->result = res;
        r->timed_out = timed_out;
        r->body = obj ? json_incref(obj) : NULL;
        push(s, r);
}

static json_t *bindings_of(json_t *lease)
{
        const char *text = json_string_value(
            json_object_get(json_object_get(json_object_get(lease, "metadata"), "annotations"),
                            "l2lb.io/bindings"));

        return text ? json_loads(text, 0, NULL) : NULL;
}

/* A shard version that binds an address anew to an agent that is not
 * healthy: no node can tell yet (its heartbeat is fresh), so the address's
 * failover starts again from here (see sim.h). */
static void note_rebinds(struct sim *s, json_t *before, json_t *after)
{
        json_t *old = bindings_of(before), *now = bindings_of(after), *v;
        const char *ip;

        json_object_foreach(now, ip, v)
        {
                const char *to = json_string_value(v), *slash = to ? strchr(to, '/') : NULL;
                struct sim_gap_ip *g;
                struct ipaddr a;
                int i;

                if (!slash || json_equal(v, json_object_get(old, ip)) || ipaddr_parse(ip, &a) < 0)
                        continue;
                {
                        _cleanup_free_ char *node = xstrndup(to, (size_t)(slash - to));

                        i = agent_index(s, node);
                }
                if (s->cover_dirty)
                        rebuild_cover(s);
                if (i >= 0 && !agent_healthy(s, &s->agents[i]) &&
                    (g = find_gap_ip(s->gap_ips, s->n_gap_ips, &a)))
                        g->rebound = s->now;
        }
        json_decref(old);
        json_decref(now);
}

/* Restarts the long-gap clock of the addresses the store binds to `node`
 * (only those nobody answers, with `unanswered_only`): a failure of that
 * node nobody can tell yet, whose failover starts now (see sim.h). */
static void restart_bound(struct sim *s, const char *node, bool unanswered_only)
{
        size_t n = strlen(node);

        if (s->cover_dirty)
                rebuild_cover(s);
        for (unsigned k = 0; k < ANNOUNCE_SHARDS; k++) {
                _cleanup_free_ char *name = announce_shard_name(k);
                json_t *b = bindings_of(fake_api_get(&s->api, name)), *v;
                const char *ip;

                json_object_foreach(b, ip, v)
                {
                        const char *to = json_string_value(v);
                        struct sim_gap_ip *g;
                        struct ipaddr a;

                        if (to && strncmp(to, node, n) == 0 && to[n] == '/' &&
                            ipaddr_parse(ip, &a) == 0 &&
                            (g = find_gap_ip(s->gap_ips, s->n_gap_ips, &a)) &&
                            !(unanswered_only && g->answered))
                                g->rebound = s->now;
                }
                json_decref(b);
        }
}

static void handle_request(struct sim *s, struct sim_event *e)
{
        struct sim_agent *g = &s->agents[e->agent];
        struct announce_lease_action a = {
            .id = e->id, .op = e->op, .name = e->name, .resource_version = e->rv, .body = e->body};
        json_t *obj = NULL;
        bool changed = false;
        enum announce_write_result res;
        int from;

        if (g->cut_req) {
                /* Lost on the way: the client gives up after its timeout. */
                respond(s, e, MAX(s->now, e->sent + s->p.client_timeout), ANNOUNCE_LEASE_ERROR,
                        NULL, true);
                return;
        }
        if (s->api_down) {
                /* Connection refused. */
                respond(s, e, s->now + g->resp_latency + jitter(s, e->agent), ANNOUNCE_LEASE_ERROR,
                        NULL, false);
                return;
        }
        g->requests[e->op]++;
        if (startswith(e->name, ANNOUNCE_SHARD_PREFIX))
                s->shard_writes++;
        else if (startswith(e->name, ANNOUNCE_LEASE_PREFIX) &&
                 s->p.cfg.election == ANNOUNCE_ELECTION_NODE_HEARTBEAT)
                s->compat_writes++;
        else if (startswith(e->name, ANNOUNCE_HEARTBEAT_PREFIX) &&
                 !streq(e->name + strlen(ANNOUNCE_HEARTBEAT_PREFIX), g->name))
                s->fence_writes++;
        if (e->op != ANNOUNCE_LEASE_DELETE && !lease_free_or_mine(s, e->name, g->name))
                s->foreign_writes++;
        json_t *cur = json_incref(fake_api_get(&s->api, e->name));

        from = cur ? agent_index(s, lease_holder(cur)) : -1;
        res = fake_api_apply(&s->api, &a, &obj, &changed);
        if (res == ANNOUNCE_LEASE_OK && s->gap_bound && startswith(e->name, ANNOUNCE_SHARD_PREFIX))
                note_rebinds(s, cur, obj);
        if (res == ANNOUNCE_LEASE_OK && s->gap_bound &&
            ((g->cut_resp && g->cut_watch) || g->frozen || g->dead || g->stopping) &&
            startswith(e->name, ANNOUNCE_HEARTBEAT_PREFIX) &&
            streq(e->name + strlen(ANNOUNCE_HEARTBEAT_PREFIX), g->name) && obj &&
            streq_ptr(lease_holder(obj), g->name))
                /* A renewal that lands while its writer cannot learn that
                 * it did (response and watch lost, or not running): to
                 * everyone else the node has just proven alive, so nobody
                 * can fence it before L from now. A writer that sees its
                 * renewal in the watch reopens its gate and answers. */
                restart_bound(s, g->name, false);
        json_decref(cur);
        if (trace_ip())
                trace(s, "%s %s %s rv %s: %s holder %s transitions %lld binding %s", g->name,
                      trace_op[e->op], e->name, e->rv ? e->rv : "-", trace_res[res],
                      obj && lease_holder(obj) ? lease_holder(obj) : "-",
                      (long long)json_integer_value(
                          json_object_get(json_object_get(obj, "spec"), "leaseTransitions")),
                      trace_binding(e->body));
        if (res == ANNOUNCE_LEASE_OK && obj && streq_ptr(lease_holder(obj), g->name))
                check_takeover(s, e->name, from, e->agent);
        respond(s, e, s->now + g->resp_latency + jitter(s, e->agent), res, obj, false);
        if (changed)
                publish(s, SIM_LEASE, e->name, obj);
        json_decref(obj);
}

static void agent_exit(struct sim *s, size_t i, bool leave)
{
        struct sim_agent *g = &s->agents[i];

        /* The shell feeds the last results, runs once more, applies its
         * entries (they stay pinned in the map) and exits without sending. */
        run_agent_send(s, i, false);
        g->dead = true;
        g->stopping = false;
        s->cover_dirty = true;
        if (leave) {
                g->present = false;
                sim_remove_node(s, g->name);
        }
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
                if (!deliver_object(s, e->agent, e->wkind, e->name, e->body))
                        return;
                break;
        case EV_DEVICE:
                feed_agent_device(s, e->agent, e->name, e->ifindex, e->up);
                break;
        case EV_EXIT:
                agent_exit(s, e->agent, e->leave);
                return;
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
        if (g->dead || e->inc != g->incarnation) {
                event_free(e); /* the process it was for is gone */
                return;
        }
        if (e->kind == EV_RESPONSE && g->cut_resp && !e->timed_out) {
                /* Lost on the way back: the client times out. */
                e->t = MAX(s->now, e->sent + s->p.client_timeout);
                e->result = ANNOUNCE_LEASE_ERROR;
                e->timed_out = true;
                json_decref(e->body);
                e->body = NULL;
                push(s, e);
                return;
        }
        if (g->frozen && e->kind != EV_EXIT) {
                if (e->kind == EV_WAKE) {
                        event_free(e);
                        return;
                }
                g->backlog = xreallocarray(g->backlog, g->n_backlog + 1, sizeof(*g->backlog));
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
                tick_until(s, e->t);
                s->now = e->t;
                process(s, e);
        }
        tick_until(s, t);
        s->now = t;
}

void sim_kill(struct sim *s, size_t agent)
{
        s->agents[agent].dead = true;
        s->agents[agent].stopping = false;
        s->cover_dirty = true;
}

void sim_freeze(struct sim *s, size_t agent)
{
        s->agents[agent].frozen = true;
        s->cover_dirty = true;
}

void sim_thaw(struct sim *s, size_t agent)
{
        struct sim_agent *g = &s->agents[agent];
        struct sim_event **backlog = g->backlog;
        size_t n = g->n_backlog;

        g->frozen = false;
        g->backlog = NULL;
        g->n_backlog = 0;
        s->cover_dirty = true;
        /* The kernel delivers what queued up, in order, now. */
        for (size_t k = 0; k < n; k++) {
                if (!g->dead && backlog[k]->inc == g->incarnation)
                        deliver(s, backlog[k]);
                event_free(backlog[k]);
        }
        free(backlog);
        if (!g->dead && g->started)
                run_agent(s, agent);
}

static uint64_t stop_grace(const struct sim *s, size_t agent)
{
        const struct sim_agent *g = &s->agents[agent];

        return s->p.stop_grace ? s->p.stop_grace : g->req_latency + g->resp_latency + 2 * g->jitter;
}

static void stop(struct sim *s, size_t agent, bool release, bool leave)
{
        struct sim_agent *g = &s->agents[agent];
        struct sim_event *e;

        if (release)
                announcer_release_all(g->a);
        else
                announcer_renew_all_now(g->a);
        g->stopping = true;
        s->cover_dirty = true;
        run_agent(s, agent);
        e = event(s, s->now + stop_grace(s, agent), EV_EXIT, agent);
        e->leave = leave;
        push(s, e);
}

void sim_stop(struct sim *s, size_t agent, bool release)
{
        stop(s, agent, release, false);
}

void sim_leave(struct sim *s, size_t agent)
{
        stop(s, agent, true, true);
}

void sim_start_process(struct sim *s, size_t agent)
{
        struct sim_agent *g = &s->agents[agent];
        GHashTableIter it;
        gpointer k, v;

        g->incarnation++;
        announcer_free(g->a);
        new_announcer(s, agent);
        g->dead = false;
        g->stopping = false;
        g->frozen = false;
        g->started = true;
        g->present = true;
        g->wake_at = NEVER;
        free_events(&g->backlog, &g->n_backlog);
        free_events(&g->held, &g->n_held);
        g_hash_table_remove_all(g->cache);
        for (size_t w = 0; w < SIM_N_KINDS; w++)
                g->watch_last[w] = s->now;
        /* The new process lists everything, its links and the pinned map. */
        for (size_t d = 0; d < g->n_dev; d++)
                feed_agent_device(s, agent, g->dev[d].name, g->dev[d].ifindex, g->dev[d].up);
        for (int kind = 0; kind < SIM_N_KINDS; kind++) {
                g_hash_table_iter_init(&it, store_of(s, kind));
                while (g_hash_table_iter_next(&it, &k, &v)) {
                        cache_note(g, kind, k, true);
                        deliver_object(s, agent, kind, k, v);
                }
        }
        for (size_t i = 0; i < g->n_entries; i++)
                announcer_add_pinned_entry(g->a, &g->entries[i]);
        announcer_set_synced(g->a);
        s->cover_dirty = true;
        push(s, event(s, s->now, EV_START, agent));
}

void sim_restart(struct sim *s, size_t agent, uint64_t down)
{
        uint64_t t0 = s->now;

        sim_stop(s, agent, false);
        /* Exit: events for the old process are lost; the BPF map stays. */
        sim_run_until(s, t0 + stop_grace(s, agent));
        sim_run_until(s, s->now + down);
        sim_start_process(s, agent);
}

void sim_join(struct sim *s, size_t agent, const char *labels)
{
        struct sim_agent *g = &s->agents[agent];

        assert_false(g->present);
        g->present = true;
        g->dead = true; /* not listening yet: sim_start_process lists */
        if (g->n_dev == 0)
                sim_device(s, agent, "net0", 3, true);
        sim_node_labels(s, g->name, labels, true, false);
        sim_start_process(s, agent);
}

/* ---- partitions ---- */

void sim_cut(struct sim *s, size_t agent, bool req, bool resp, bool watch)
{
        struct sim_agent *g = &s->agents[agent];

        g->cut_req = req;
        g->cut_resp = resp;
        g->cut_watch = watch;
        s->cover_dirty = true;
}

/* The watch of agent i comes back: the events it missed, or a relist. */
static void reconnect(struct sim *s, size_t i, enum sim_heal how)
{
        struct sim_agent *g = &s->agents[i];
        struct sim_event **held = g->held;
        size_t n = g->n_held;

        g->held = NULL;
        g->n_held = 0;
        if (!g->started || g->dead) {
                free_events(&held, &n);
                return;
        }
        if (how == SIM_HEAL_RESUME) {
                for (size_t k = 0; k < n; k++)
                        push_watch(s, i, held[k]);
                free(held);
                return;
        }
        free_events(&held, &n);
        for (int kind = 0; kind < SIM_N_KINDS; kind++) {
                GHashTable *store = store_of(s, kind);
                GHashTableIter it;
                gpointer k, v;
                char prefix[8];
                char **gone = NULL;
                size_t n_gone = 0;

                /* Removals for what the informer holds and the store lost... */
                snprintf(prefix, sizeof(prefix), "%d/", kind);
                g_hash_table_iter_init(&it, g->cache);
                while (g_hash_table_iter_next(&it, &k, NULL))
                        if (startswith(k, prefix) &&
                            !g_hash_table_contains(store, (const char *)k + strlen(prefix)))
                                strv_push_n(&gone, n_gone++, (const char *)k + strlen(prefix));
                for (size_t x = 0; x < n_gone; x++)
                        push_watch(s, i, watch_event(s, i, kind, gone[x], NULL));
                strv_free(gone);
                /* ... and the current state of everything. */
                g_hash_table_iter_init(&it, store);
                while (g_hash_table_iter_next(&it, &k, &v))
                        push_watch(s, i, watch_event(s, i, kind, k, v));
        }
}

void sim_heal(struct sim *s, size_t agent, enum sim_heal how)
{
        struct sim_agent *g = &s->agents[agent];
        bool was_cut = g->cut_watch;

        g->cut_req = g->cut_resp = g->cut_watch = false;
        s->cover_dirty = true;
        if (was_cut && !s->api_down)
                reconnect(s, agent, how);
}

void sim_api_down(struct sim *s)
{
        s->api_down = true;
        s->cover_dirty = true;
}

void sim_api_up(struct sim *s, uint32_t relist_mask)
{
        s->api_down = false;
        s->cover_dirty = true;
        for (size_t i = 0; i < s->n_agents; i++)
                if (!s->agents[i].cut_watch)
                        reconnect(s, i,
                                  i < 32 && (relist_mask & (UINT32_C(1) << i)) ? SIM_HEAL_RELIST
                                                                               : SIM_HEAL_RESUME);
}

void sim_l2_drop(struct sim *s, size_t agent, bool drop)
{
        s->agents[agent].l2_drop = drop;
        s->cover_dirty = true;
}

/* ---- queries ---- */

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
