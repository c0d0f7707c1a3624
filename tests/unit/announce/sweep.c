/* Random fault schedules in the simulation (see sweep.h). */
#include "sweep.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/util.h"
#include "sim.h"

#define MAX_SLOTS    6
#define MAX_SERVICES 80
#define MAX_IPS      4
#define N_POLICIES   3
#define END_QUIET    (15 * SEC) /* every fault has ended this long before the end */

enum act_kind {
        /* faults */
        A_KILL,
        A_PROCESS_START,
        A_FREEZE,
        A_THAW,
        A_STOP,
        A_CUT,
        A_HEAL,
        A_API_DOWN,
        A_API_UP,
        A_LINK,
        A_L2_DROP,
        A_CORDON,
        A_JOIN,
        A_LEAVE,
        /* churn */
        A_SVC_CREATE,
        A_SVC_DELETE,
        A_IP_MOVE,
        A_IP_SHARE,
        A_POLICY,
        A_ENDPOINTS,
        A_SVC_TIER,
};

struct act {
        uint64_t t;
        size_t order;
        size_t group; /* a fault's start and end share one */
        bool off;     /* left out (minimising) */
        enum act_kind k;
        int agent;
        int a, b, c;
};

struct svc_state {
        bool exists;
        char ips[MAX_IPS][24];
        size_t n_ips;
        char tier;
        bool local;
        uint32_t endpoints; /* agent bitmask */
};

struct policy_state {
        bool exists;
        char tier; /* 0: every service */
        int rack;  /* -1: every node */
        int iface; /* -1: every device */
};

struct busy {
        int agent; /* -1: global (apiserver) */
        uint64_t from, to;
        bool lifecycle; /* the process stops/starts: not while the apiserver is down */
};

struct schedule {
        uint32_t seed;
        unsigned flags; /* SIM_SWEEP_* */
        uint32_t rng;
        size_t n_agents; /* slots */
        size_t n_initial;
        int join_slot; /* -1: none */
        size_t n_services;
        size_t n_slots_svc; /* initial + created */
        uint64_t duration;
        uint64_t lat[MAX_SLOTS][4];
        int rack[MAX_SLOTS];
        struct act *acts;
        size_t n_acts;
        size_t n_groups;
        bool paired; /* the next add_act ends the fault the last one started */
        struct busy *busy;
        size_t n_busy;
        struct svc_state svc[MAX_SERVICES];
        struct policy_state pol[N_POLICIES];
        unsigned fresh_ip;
        bool cordoned[MAX_SLOTS];
};

static uint32_t rnd32(struct schedule *c)
{
        c->rng ^= c->rng << 13;
        c->rng ^= c->rng >> 17;
        c->rng ^= c->rng << 5;
        return c->rng;
}

/* Uniform in [0, n). */
static uint64_t rnd(struct schedule *c, uint64_t n)
{
        uint64_t x = ((uint64_t)rnd32(c) << 32) | rnd32(c);

        return n ? x % n : 0;
}

static uint64_t between(struct schedule *c, uint64_t lo, uint64_t hi)
{
        return lo + rnd(c, hi - lo);
}

static void add_act(struct schedule *c, uint64_t t, enum act_kind k, int agent, int a, int b, int x)
{
        c->acts = xreallocarray(c->acts, c->n_acts + 1, sizeof(*c->acts));
        c->acts[c->n_acts] = (struct act){.t = t,
                                          .order = c->n_acts,
                                          .group = c->paired ? c->n_groups - 1 : c->n_groups++,
                                          .k = k,
                                          .agent = agent,
                                          .a = a,
                                          .b = b,
                                          .c = x};
        c->n_acts++;
        c->paired = false;
}

static bool overlaps(const struct busy *b, int agent, uint64_t from, uint64_t to, bool lifecycle)
{
        /* half a second of margin either side */
        if (from >= b->to + 500 * MSEC || b->from >= to + 500 * MSEC)
                return false;
        if (b->agent == agent)
                return true;
        /* A process (re)starting lists everything: not with the apiserver down. */
        return (b->agent < 0 && lifecycle) || (agent < 0 && b->lifecycle);
}

static bool reserve(struct schedule *c, int agent, uint64_t from, uint64_t to, bool lifecycle)
{
        for (size_t i = 0; i < c->n_busy; i++)
                if (overlaps(&c->busy[i], agent, from, to, lifecycle))
                        return false;
        c->busy = xreallocarray(c->busy, c->n_busy + 1, sizeof(*c->busy));
        c->busy[c->n_busy++] = (struct busy){agent, from, to, lifecycle};
        return true;
}

static void own_ip(unsigned k, char *buf, size_t n)
{
        snprintf(buf, n, "12.0.%u.%u", k / 200, k % 200 + 1);
}

static uint32_t random_endpoints(struct schedule *c)
{
        uint32_t m = (uint32_t)rnd(c, UINT32_C(1) << c->n_agents);

        return m ? m : 1;
}

/* One fault at a random time on a random agent, if it fits. */
static void gen_fault(struct schedule *c)
{
        uint64_t last = c->duration - END_QUIET;
        uint64_t t = between(c, 3 * SEC, last - 1 * SEC), dur;
        int agent = (int)rnd(c, c->n_agents);
        int kind = (int)rnd(c, 11);

        switch (kind) {
        case 0: /* kill -9, a new process after a while */
                dur = between(c, 500 * MSEC, 10 * SEC);
                if (t + dur > last || !reserve(c, agent, t, t + dur, true))
                        return;
                add_act(c, t, A_KILL, agent, 0, 0, 0);
                c->paired = true;
                add_act(c, t + dur, A_PROCESS_START, agent, 0, 0, 0);
                break;
        case 1: /* SIGSTOP / SIGCONT */
                dur = between(c, 200 * MSEC, 10 * SEC);
                if (t + dur > last || !reserve(c, agent, t, t + dur, false))
                        return;
                add_act(c, t, A_FREEZE, agent, 0, 0, 0);
                c->paired = true;
                add_act(c, t + dur, A_THAW, agent, 0, 0, 0);
                break;
        case 2: /* SIGTERM (rolling update), with or without release */
                dur = between(c, 600 * MSEC, 5 * SEC);
                if (t + dur > last || !reserve(c, agent, t, t + dur, true))
                        return;
                add_act(c, t, A_STOP, agent, (int)rnd(c, 2), 0, 0);
                c->paired = true;
                add_act(c, t + dur, A_PROCESS_START, agent, 0, 0, 0);
                break;
        case 3: /* partition from the store, both ways */
        case 4: /* responses lost (writes happen), watch lost or not */
        case 5: /* requests lost only */
        {
                bool req = kind == 3 || kind == 5, resp = kind == 3 || kind == 4;
                bool watch = kind == 3 || (kind == 4 && rnd(c, 2));

                if (kind == 4 && (c->flags & SIM_SWEEP_NO_LOST_RESPONSES_WITH_WATCH))
                        watch = true;

                dur = between(c, 500 * MSEC, 15 * SEC);
                if (t + dur > last || !reserve(c, agent, t, t + dur, false))
                        return;
                add_act(c, t, A_CUT, agent, req, resp, watch);
                c->paired = true;
                add_act(c, t + dur, A_HEAL, agent, (int)rnd(c, 2), 0, 0);
                break;
        }
        case 6: /* apiserver restart */
                dur = between(c, 500 * MSEC, 10 * SEC);
                if (t + dur > last || !reserve(c, -1, t, t + dur, false))
                        return;
                add_act(c, t, A_API_DOWN, -1, 0, 0, 0);
                c->paired = true;
                add_act(c, t + dur, A_API_UP, -1, (int)rnd(c, UINT32_C(1) << c->n_agents), 0, 0);
                break;
        case 7: /* carrier lost on one device */
        {
                int dev = (int)rnd(c, 2);

                dur = between(c, 300 * MSEC, 10 * SEC);
                if (t + dur > last || !reserve(c, agent, t, t + dur, false))
                        return;
                add_act(c, t, A_LINK, agent, dev, 0, 0);
                c->paired = true;
                add_act(c, t + dur, A_LINK, agent, dev, 1, 0);
                break;
        }
        case 8: /* frames dropped, carrier up */
                dur = between(c, 1 * SEC, 15 * SEC);
                if (t + dur > last || !reserve(c, agent, t, t + dur, false))
                        return;
                add_act(c, t, A_L2_DROP, agent, 1, 0, 0);
                c->paired = true;
                add_act(c, t + dur, A_L2_DROP, agent, 0, 0, 0);
                break;
        case 9: /* cordon, uncordon */
                dur = between(c, 500 * MSEC, 10 * SEC);
                if (t + dur > last || !reserve(c, agent, t, t + dur, false))
                        return;
                add_act(c, t, A_CORDON, agent, 1, 0, 0);
                c->paired = true;
                add_act(c, t + dur, A_CORDON, agent, 0, 0, 0);
                break;
        default: /* a node leaves for good (at most one, never the joining one) */
                if (agent == c->join_slot || c->n_initial < 3)
                        return;
                for (size_t i = 0; i < c->n_acts; i++)
                        if (c->acts[i].k == A_LEAVE)
                                return;
                if (!reserve(c, agent, t, c->duration, true))
                        return;
                add_act(c, t, A_LEAVE, agent, 0, 0, 0);
                break;
        }
}

static void gen_churn(struct schedule *c)
{
        uint64_t t = between(c, 2 * SEC, c->duration - END_QUIET);
        int a = (int)rnd(c, c->n_slots_svc), b = (int)rnd(c, c->n_slots_svc);

        switch (rnd(c, 8)) {
        case 0:
                if (c->n_slots_svc < MAX_SERVICES)
                        add_act(c, t, A_SVC_CREATE, -1, (int)c->n_slots_svc++,
                                rnd(c, 3) == 0 && !(c->flags & SIM_SWEEP_NO_SHARED_ADDRESSES) ? b
                                                                                              : -1,
                                0);
                break;
        case 1:
                add_act(c, t, A_SVC_DELETE, -1, a, 0, 0);
                break;
        case 2:
                if (a != b && !(c->flags & SIM_SWEEP_NO_ADDRESS_MOVES))
                        add_act(c, t, A_IP_MOVE, -1, a, b, (int)rnd(c, 2));
                break;
        case 3:
                if (a != b && !(c->flags & SIM_SWEEP_NO_SHARED_ADDRESSES))
                        add_act(c, t, A_IP_SHARE, -1, a, b, 0);
                break;
        case 4:
                add_act(c, t, A_POLICY, -1, (int)rnd(c, 2), (int)rnd(c, 3) - 1, (int)rnd(c, 3) - 1);
                break;
        case 5:
                add_act(c, t, A_ENDPOINTS, -1, a, (int)random_endpoints(c), 0);
                break;
        default:
                add_act(c, t, A_SVC_TIER, -1, a, 0, 0);
                break;
        }
}

static int act_cmp(const void *x, const void *y)
{
        const struct act *a = x, *b = y;

        if (a->t != b->t)
                return a->t < b->t ? -1 : 1;
        return a->order < b->order ? -1 : a->order > b->order;
}

static void generate(struct schedule *c, uint32_t seed, unsigned flags)
{
        size_t n_faults, n_churn;

        *c = (struct schedule){.seed = seed, .flags = flags};
        c->rng = seed * UINT32_C(2654435761) ^ UINT32_C(0x9e3779b9);
        if (!c->rng)
                c->rng = 1;
        for (int i = 0; i < 8; i++)
                (void)rnd32(c); /* warm up: only the state matters */
        c->n_initial = 3 + rnd(c, 3);
        c->join_slot = rnd(c, 2) ? (int)c->n_initial : -1;
        c->n_agents = c->n_initial + (c->join_slot >= 0);
        c->n_services = 10 + rnd(c, 41);
        c->n_slots_svc = c->n_services;
        c->duration = (60 + rnd(c, 61)) * SEC;
        for (size_t i = 0; i < c->n_agents; i++) {
                /* Most agents close to the apiserver, some far. */
                uint64_t scale = rnd(c, 4) == 0 ? 20 * MSEC : 3 * MSEC;

                c->lat[i][0] = between(c, 100, scale);
                c->lat[i][1] = between(c, 100, scale);
                c->lat[i][2] = between(c, 100, 2 * scale);
                c->lat[i][3] = between(c, 1, scale);
                c->rack[i] = (int)rnd(c, 2);
        }
        c->pol[0] = (struct policy_state){true, 'a', -1, 0};
        c->pol[1] = (struct policy_state){true, 'b', rnd(c, 2) ? 1 : -1, -1};
        c->pol[2] = (struct policy_state){rnd(c, 3) == 0, 0, -1, -1};
        for (size_t k = 0; k < c->n_services; k++) {
                struct svc_state *v = &c->svc[k];

                v->exists = true;
                own_ip((unsigned)k, v->ips[0], sizeof(v->ips[0]));
                v->n_ips = 1;
                v->tier = rnd(c, 2) ? 'a' : 'b';
                v->local = rnd(c, 7) == 0;
                v->endpoints = random_endpoints(c);
        }
        if (c->join_slot >= 0) {
                uint64_t t = between(c, 3 * SEC, c->duration / 2);

                assert_true(reserve(c, c->join_slot, 0, t + 1 * SEC, true));
                add_act(c, t, A_JOIN, c->join_slot, 0, 0, 0);
        }
        n_faults = c->duration / SEC / 6 + rnd(c, 6);
        for (size_t i = 0; i < n_faults; i++)
                gen_fault(c);
        n_churn = c->duration / SEC / 4 + rnd(c, 10);
        for (size_t i = 0; i < n_churn; i++)
                gen_churn(c);
        qsort_safe(c->acts, c->n_acts, sizeof(*c->acts), act_cmp);
}

static void schedule_done(struct schedule *c)
{
        free(c->acts);
        free(c->busy);
}

/* ---- the script, for a failure report or a replay ---- */

static const char *agent_name(int i)
{
        static char buf[4][32];
        static int k;
        char *b = buf[k++ % 4];

        snprintf(b, sizeof(buf[0]), "kind-worker%d", i + 1);
        return b;
}

static void describe(const struct schedule *c, const struct act *x, GString *out)
{
        g_string_append_printf(out, "  %8.3f s  ", (double)x->t / SEC);
        switch (x->k) {
        case A_KILL:
                g_string_append_printf(out, "kill -9 %s", agent_name(x->agent));
                break;
        case A_PROCESS_START:
                g_string_append_printf(out, "new process on %s", agent_name(x->agent));
                break;
        case A_FREEZE:
                g_string_append_printf(out, "SIGSTOP %s", agent_name(x->agent));
                break;
        case A_THAW:
                g_string_append_printf(out, "SIGCONT %s", agent_name(x->agent));
                break;
        case A_STOP:
                g_string_append_printf(out, "SIGTERM %s (%s)", agent_name(x->agent),
                                       x->a ? "release" : "renew, keep entries");
                break;
        case A_CUT:
                g_string_append_printf(out, "partition %s from the store:%s%s%s",
                                       agent_name(x->agent), x->a ? " requests" : "",
                                       x->b ? " responses" : "", x->c ? " watch" : "");
                break;
        case A_HEAL:
                g_string_append_printf(out, "heal %s (watch %s)", agent_name(x->agent),
                                       x->a ? "relists" : "resumes");
                break;
        case A_API_DOWN:
                g_string_append(out, "apiserver down");
                break;
        case A_API_UP:
                g_string_append_printf(out, "apiserver up (relist mask 0x%x)", (unsigned)x->a);
                break;
        case A_LINK:
                g_string_append_printf(out, "%s net%d carrier %s", agent_name(x->agent), x->a,
                                       x->b ? "up" : "down");
                break;
        case A_L2_DROP:
                g_string_append_printf(out, "%s frames %s", agent_name(x->agent),
                                       x->a ? "dropped (carrier up)" : "pass again");
                break;
        case A_CORDON:
                g_string_append_printf(out, "%s %s", x->a ? "cordon" : "uncordon",
                                       agent_name(x->agent));
                break;
        case A_JOIN:
                g_string_append_printf(out, "node %s joins", agent_name(x->agent));
                break;
        case A_LEAVE:
                g_string_append_printf(out, "node %s leaves (SIGTERM with release, Node deleted)",
                                       agent_name(x->agent));
                break;
        case A_SVC_CREATE:
                g_string_append_printf(out, "create svc-%03d", x->a);
                if (x->b >= 0)
                        g_string_append_printf(out, " sharing svc-%03d's address", x->b);
                break;
        case A_SVC_DELETE:
                g_string_append_printf(out, "delete svc-%03d", x->a);
                break;
        case A_IP_MOVE:
                g_string_append_printf(out, "move svc-%03d's address to svc-%03d (%s first)", x->a,
                                       x->b, x->c ? "add" : "remove");
                break;
        case A_IP_SHARE:
                g_string_append_printf(out, "svc-%03d also takes svc-%03d's address", x->b, x->a);
                break;
        case A_POLICY:
                g_string_append_printf(out, "policy p%d: nodeSelector %s, interfaces %s", x->a,
                                       x->b < 0 ? "none"
                                       : x->b   ? "rack=r1"
                                                : "rack=r0",
                                       x->c < 0 ? "any"
                                       : x->c   ? "^net1$"
                                                : "^net0$");
                break;
        case A_ENDPOINTS:
                g_string_append_printf(out, "svc-%03d endpoints on agents mask 0x%x", x->a,
                                       (unsigned)x->b);
                break;
        case A_SVC_TIER:
                g_string_append_printf(out, "svc-%03d flips tier label", x->a);
                break;
        }
        (void)c;
        g_string_append_c(out, '\n');
}

static char *script(const struct schedule *c)
{
        GString *out = g_string_new(NULL);

        g_string_append_printf(
            out, "seed=%" PRIu32 " agents=%zu%s services=%zu duration=%" PRIu64 " s\n", c->seed,
            c->n_initial, c->join_slot >= 0 ? " (+1 joining)" : "", c->n_services,
            c->duration / SEC);
        for (size_t i = 0; i < c->n_agents; i++)
                g_string_append_printf(out,
                                       "  %s: rack r%d, latency req %" PRIu64 " resp %" PRIu64
                                       " watch %" PRIu64 " jitter %" PRIu64 " µs\n",
                                       agent_name((int)i), c->rack[i], c->lat[i][0], c->lat[i][1],
                                       c->lat[i][2], c->lat[i][3]);
        for (size_t i = 0; i < c->n_acts; i++)
                if (!c->acts[i].off)
                        describe(c, &c->acts[i], out);
        return g_string_free(out, false);
}

/* ---- objects ---- */

static void put_service(struct sim *s, struct schedule *c, int k)
{
        struct svc_state *v = &c->svc[k];
        char name[32], labels[32];
        GString *ext = g_string_new("[");

        snprintf(name, sizeof(name), "svc-%03d", k);
        if (!v->exists) {
                sim_remove_service(s, "default", name);
                g_string_free(ext, true);
                return;
        }
        for (size_t i = 0; i < v->n_ips; i++)
                g_string_append_printf(ext, "%s\"%s\"", i ? "," : "", v->ips[i]);
        g_string_append_c(ext, ']');
        snprintf(labels, sizeof(labels), "{\"tier\":\"%c\"}", v->tier);
        sim_service_full(s, "default", name, labels, ext->str, v->local);
        if (v->local)
                sim_endpoints(s, "default", name, v->endpoints);
        g_string_free(ext, true);
}

static void put_policy(struct sim *s, const struct schedule *c, int k)
{
        const struct policy_state *p = &c->pol[k];
        GString *j = g_string_new(NULL);

        g_string_append_printf(j, "{\"metadata\":{\"name\":\"p%d\"},\"spec\":{\"externalIPs\":true",
                               k);
        if (p->tier)
                g_string_append_printf(
                    j, ",\"serviceSelector\":{\"matchLabels\":{\"tier\":\"%c\"}}", p->tier);
        if (p->rack >= 0)
                g_string_append_printf(j, ",\"nodeSelector\":{\"matchLabels\":{\"rack\":\"r%d\"}}",
                                       p->rack);
        if (p->iface >= 0)
                g_string_append_printf(j, ",\"interfaces\":[\"^net%d$\"]", p->iface);
        g_string_append(j, "}}");
        sim_policy(s, j->str);
        g_string_free(j, true);
}

static void put_node(struct sim *s, const struct schedule *c, int i)
{
        char labels[32];

        snprintf(labels, sizeof(labels), "{\"rack\":\"r%d\"}", c->rack[i]);
        sim_node_labels(s, s->agents[i].name, labels, true, c->cordoned[i]);
}

static void apply(struct sim *s, struct schedule *c, const struct act *x)
{
        struct svc_state *v = x->a >= 0 && x->a < MAX_SERVICES ? &c->svc[x->a] : NULL;
        struct svc_state *w = x->b >= 0 && x->b < MAX_SERVICES ? &c->svc[x->b] : NULL;
        size_t agent = (size_t)x->agent;
        char labels[32];

        /* Churn needs the apiserver: kubectl fails while it is down. */
        if (x->k >= A_SVC_CREATE && s->api_down)
                return;
        switch (x->k) {
        case A_KILL:
                sim_kill(s, agent);
                break;
        case A_PROCESS_START:
                sim_start_process(s, agent);
                break;
        case A_FREEZE:
                sim_freeze(s, agent);
                break;
        case A_THAW:
                sim_thaw(s, agent);
                break;
        case A_STOP:
                sim_stop(s, agent, x->a);
                break;
        case A_CUT:
                sim_cut(s, agent, x->a, x->b, x->c);
                break;
        case A_HEAL:
                sim_heal(s, agent, x->a ? SIM_HEAL_RELIST : SIM_HEAL_RESUME);
                break;
        case A_API_DOWN:
                sim_api_down(s);
                break;
        case A_API_UP:
                sim_api_up(s, (uint32_t)x->a);
                break;
        case A_LINK:
                sim_device(s, agent, x->a ? "net1" : "net0", x->a ? 4 : 3, x->b);
                break;
        case A_L2_DROP:
                sim_l2_drop(s, agent, x->a);
                break;
        case A_CORDON:
                c->cordoned[agent] = x->a;
                if (s->agents[agent].present && !s->api_down)
                        put_node(s, c, x->agent);
                break;
        case A_JOIN:
                sim_device(s, agent, "net0", 3, true);
                sim_device(s, agent, "net1", 4, true);
                snprintf(labels, sizeof(labels), "{\"rack\":\"r%d\"}", c->rack[agent]);
                sim_join(s, agent, labels);
                break;
        case A_LEAVE:
                sim_leave(s, agent);
                break;
        case A_SVC_CREATE:
                v->exists = true;
                v->n_ips = 1;
                if (w && w->exists && w->n_ips > 0)
                        snprintf(v->ips[0], sizeof(v->ips[0]), "%s", w->ips[0]);
                else
                        own_ip((unsigned)x->a, v->ips[0], sizeof(v->ips[0]));
                v->tier = x->a % 2 ? 'a' : 'b';
                v->local = false;
                put_service(s, c, x->a);
                break;
        case A_SVC_DELETE:
                if (!v->exists)
                        break;
                v->exists = false;
                put_service(s, c, x->a);
                break;
        case A_IP_MOVE:
                if (!v->exists || !w->exists || v->n_ips == 0)
                        break;
                /* The address leaves a and replaces b's; a gets a fresh one.
                 * Two writes, in either order (the apiserver sees two). */
                {
                        char moved[24];

                        snprintf(moved, sizeof(moved), "%s", v->ips[0]);
                        snprintf(v->ips[0], sizeof(v->ips[0]), "13.0.%u.%u", c->fresh_ip / 200,
                                 c->fresh_ip % 200 + 1);
                        c->fresh_ip++;
                        snprintf(w->ips[0], sizeof(w->ips[0]), "%s", moved);
                        w->n_ips = 1;
                        if (x->c) {
                                put_service(s, c, x->b);
                                put_service(s, c, x->a);
                        } else {
                                put_service(s, c, x->a);
                                put_service(s, c, x->b);
                        }
                }
                break;
        case A_IP_SHARE:
                if (!v->exists || !w->exists || v->n_ips == 0 || w->n_ips >= MAX_IPS)
                        break;
                for (size_t i = 0; i < w->n_ips; i++)
                        if (streq(w->ips[i], v->ips[0]))
                                return;
                snprintf(w->ips[w->n_ips++], sizeof(w->ips[0]), "%s", v->ips[0]);
                put_service(s, c, x->b);
                break;
        case A_POLICY:
                c->pol[x->a].rack = x->b;
                c->pol[x->a].iface = x->c;
                put_policy(s, c, x->a);
                break;
        case A_ENDPOINTS:
                if (!v->exists)
                        break;
                v->local = true;
                v->endpoints = (uint32_t)x->b;
                put_service(s, c, x->a);
                break;
        case A_SVC_TIER:
                if (!v->exists)
                        break;
                v->tier = v->tier == 'a' ? 'b' : 'a';
                put_service(s, c, x->a);
                break;
        }
}

/* Runs one schedule; returns whether it passed. */
static bool run_schedule(enum announce_election mode, struct schedule *c,
                         struct sim_sweep_result *r, bool verbose)
{
        struct sim_params p = sim_default_params();
        struct schedule work = *c; /* apply() changes the objects' state: keep c's */
        struct sim s;
        bool ok;

        p.seed = c->seed;
        p.cfg.election = mode;
        p.stop_grace = 500 * MSEC;
        sim_init(&s, &p, c->n_agents);
        if (c->join_slot >= 0)
                s.agents[c->join_slot].present = false;
        for (size_t i = 0; i < c->n_agents; i++) {
                sim_agent_latency(&s, i, c->lat[i][0], c->lat[i][1], c->lat[i][2], c->lat[i][3]);
                if (!s.agents[i].present)
                        continue;
                sim_device(&s, i, "net0", 3, true);
                sim_device(&s, i, "net1", 4, true);
                put_node(&s, &work, (int)i);
        }
        for (int k = 0; k < N_POLICIES; k++)
                if (c->pol[k].exists)
                        put_policy(&s, &work, k);
        for (size_t k = 0; k < c->n_services; k++)
                put_service(&s, &work, (int)k);
        sim_watch_long_gaps(&s, p.cfg.lease_duration + 1 * SEC, 20 * MSEC);
        sim_start(&s, 500 * MSEC);
        for (size_t i = 0; i < c->n_acts; i++) {
                if (c->acts[i].off)
                        continue;
                sim_run_until(&s, c->acts[i].t);
                apply(&s, &work, &c->acts[i]);
                r->faults++;
        }
        sim_run_until(&s, c->duration);
        r->simulated += c->duration;
        r->violations += s.violations;
        r->long_gaps += s.long_gaps;
        ok = s.violations == 0 && s.long_gaps == 0;
        if (verbose)
                printf("seed=%" PRIu32 " %s violations=%zu%s%s long-gaps=%zu%s%s\n", c->seed,
                       ok ? "ok" : "FAILED", s.violations, s.violations ? " first: " : "",
                       s.violation, s.long_gaps, s.long_gaps ? " first: " : "", s.long_gap);
        if (!ok) {
                char **report = s.violations ? &r->violation_report : &r->gap_report;

                r->failed_schedules++;
                if (!*report) {
                        char *text = script(c);

                        if (s.violations)
                                r->violation_seed = c->seed;
                        else
                                r->gap_seed = c->seed;
                        *report = xasprintf(
                            "seed=%" PRIu32 ": %zu violations%s%s, %zu long gaps%s%s\n%s", c->seed,
                            s.violations, s.violations ? ", first: " : "", s.violation, s.long_gaps,
                            s.long_gaps ? ", first: " : "", s.long_gap, text);
                        free(text);
                }
        }
        sim_done(&s);
        return ok;
}

void sim_sweep(enum announce_election mode, unsigned flags, uint32_t seed, size_t n, bool verbose,
               struct sim_sweep_result *r)
{
        *r = (struct sim_sweep_result){0};
        for (size_t i = 0; i < n; i++) {
                struct schedule c;

                generate(&c, seed + (uint32_t)i, flags);
                (void)run_schedule(mode, &c, r, verbose); /* counted in r */
                r->schedules++;
                schedule_done(&c);
        }
}

void sim_sweep_result_done(struct sim_sweep_result *r)
{
        free(r->violation_report);
        r->violation_report = NULL;
        free(r->gap_report);
        r->gap_report = NULL;
}

/* Whether the schedule fails the same way (a violation, or only long gaps)
 * with the groups marked off. */
static bool still_fails(enum announce_election mode, struct schedule *c, bool violation)
{
        struct sim_sweep_result r = {0};

        (void)run_schedule(mode, c, &r, false);
        sim_sweep_result_done(&r);
        return violation ? r.violations > 0 : r.violations == 0 && r.long_gaps > 0;
}

static void set_group(struct schedule *c, size_t g, bool off)
{
        for (size_t i = 0; i < c->n_acts; i++)
                if (c->acts[i].group == g)
                        c->acts[i].off = off;
}

char *sim_sweep_minimize(enum announce_election mode, unsigned flags, uint32_t seed)
{
        struct schedule c;
        struct sim_sweep_result r = {0};
        bool violation;
        char *report;

        generate(&c, seed, flags);
        (void)run_schedule(mode, &c, &r, false);
        if (r.violations == 0 && r.long_gaps == 0) {
                sim_sweep_result_done(&r);
                schedule_done(&c);
                return NULL;
        }
        violation = r.violations > 0;
        sim_sweep_result_done(&r);
        /* One group at a time, last first, until no group can go. */
        for (bool progress = true; progress;) {
                progress = false;
                for (size_t g = c.n_groups; g-- > 0;) {
                        bool on = false;

                        for (size_t i = 0; i < c.n_acts; i++)
                                on |= c.acts[i].group == g && !c.acts[i].off;
                        if (!on)
                                continue;
                        set_group(&c, g, true);
                        if (still_fails(mode, &c, violation))
                                progress = true;
                        else
                                set_group(&c, g, false);
                }
        }
        r = (struct sim_sweep_result){0};
        (void)run_schedule(mode, &c, &r, false);
        report = violation ? r.violation_report : r.gap_report;
        if (violation)
                r.violation_report = NULL;
        else
                r.gap_report = NULL;
        sim_sweep_result_done(&r);
        schedule_done(&c);
        return report;
}
