/* The node-heartbeat election (see heartbeat.h and docs/l2announce.md). */
#include "heartbeat.h"

#include <inttypes.h>
#include <stdio.h>

#include "announcer-internal.h"
#include "lib/util.h"
#include "policy.h"

enum hb_write {
        HB_W_SELF,   /* create, renew, re-register or release our heartbeat */
        HB_W_FENCE,  /* another node's heartbeat: holder "" */
        HB_W_SHARD,  /* a binding shard */
        HB_W_COMPAT, /* a cilium-l2announce Lease (create/update, low priority) */
        HB_W_GC,     /* delete a heartbeat or compat Lease */
};

struct hb_pending {
        uint64_t id;
        enum hb_write kind;
        char *name;
        uint64_t sent;
        char *base_rv;
        bool release;        /* HB_W_SELF: the shutdown release */
        uint64_t first_sent; /* HB_W_SELF: send time of our first write on base_rv */
        int32_t epoch;       /* HB_W_SELF: the transitions written */
        char *candidacy;     /* HB_W_SELF: the candidacy written */
};

static void pending_free(struct hb_pending *p)
{
        if (!p)
                return;
        free(p->name);
        free(p->base_rv);
        free(p->candidacy);
        free(p);
}

static void obj_done(struct hb_obj *o)
{
        free(o->rv);
        free(o->holder);
        free(o->acquire_time);
        free(o->annotation);
        *o = (struct hb_obj){0};
}

static void peer_free(struct hb_peer *p)
{
        if (!p)
                return;
        obj_done(&p->o);
        strv_free(p->candidacy);
        free(p->conflict_rv);
        free(p->lease);
        free(p);
}

static void compat_free(struct hb_compat *c)
{
        if (!c)
                return;
        obj_done(&c->o);
        free(c->conflict_rv);
        free(c);
}

/* GHashTables keyed by owned copies of struct ipaddr: no text per address
 * and run (formatting thousands of addresses a run showed in profiles). */
static guint ip_hash(gconstpointer p)
{
        const struct ipaddr *a = p;
        u128 v = a->v ^ a->family;

        return (guint)(v ^ (v >> 32) ^ (v >> 64) ^ (v >> 96));
}

static gboolean ip_equal(gconstpointer a, gconstpointer b)
{
        return ipaddr_equal(a, b);
}

static GHashTable *ip_table_new(GDestroyNotify value_free)
{
        return g_hash_table_new_full(ip_hash, ip_equal, free, value_free);
}

static struct ipaddr *ip_dup(const struct ipaddr *a)
{
        struct ipaddr *c = xnew(struct ipaddr, 1);

        *c = *a;
        return c;
}

struct hb *hb_new(const char *node, uint64_t duration)
{
        struct hb *h = xnew(struct hb, 1);

        h->duration = duration;
        h->self_lease = announce_heartbeat_name(node);
        h->peers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)peer_free);
        h->peer_by_node = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        h->compat =
            g_hash_table_new_full(g_str_hash, g_str_equal, free, (GDestroyNotify)compat_free);
        h->pending =
            g_hash_table_new_full(g_int64_hash, g_int64_equal, free, (GDestroyNotify)pending_free);
        h->answering = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        h->answered_ips = ip_table_new(NULL);
        h->unplaced = ip_table_new(free);
        h->rank = SIZE_MAX;
        return h;
}

void hb_free(struct hb *h)
{
        if (!h)
                return;
        g_hash_table_unref(h->peers);
        g_hash_table_unref(h->peer_by_node);
        g_hash_table_unref(h->compat);
        g_hash_table_unref(h->pending);
        g_hash_table_unref(h->answering);
        g_hash_table_unref(h->answered_ips);
        for (size_t k = 0; k < ANNOUNCE_SHARDS; k++) {
                obj_done(&h->shards[k].o);
                bindings_done(&h->shards[k].b);
                free(h->shards[k].conflict_rv);
                free(h->shards[k].moving);
                free(h->shards[k].pending_base);
        }
        free(h->self.sent_candidacy);
        free(h->self.base_rv);
        free(h->self.conflict_base);
        strv_free(h->malformed);
        if (h->unplaced)
                g_hash_table_unref(h->unplaced);
        free(h->self_lease);
        free(h);
}

/* ---- inputs ---- */

/* Takes l if it is newer than what o holds; returns whether it did. */
static bool obj_take(struct hb_obj *o, const struct k8s_lease *l, const char *annotation,
                     uint64_t now)
{
        if (o->present && !lease_rv_newer(l->meta.resource_version, o->rv))
                return false;
        obj_done(o);
        *o = (struct hb_obj){
            .present = true,
            .rv = xstrdup(l->meta.resource_version),
            .holder = xstrdup(strempty(l->holder)),
            .transitions = l->lease_transitions,
            .duration_s = l->lease_duration_seconds,
            .acquire_time = xstrdup(l->acquire_time),
            .annotation = xstrdup(labels_get(&l->meta.annotations, annotation)),
            .observed_at = now,
        };
        announce_uid8(l->meta.uid, o->uid8);
        return true;
}

static void report(struct hb *h, const char *lease, const char *what)
{
        _cleanup_free_ char *m = xasprintf("%s\n%s", lease, what);

        strv_push(&h->malformed, m);
}

/* A JSON array of strings; anything else is malformed (no candidacy). */
static char **candidacy_parse(const char *text, char **ret_error)
{
        json_error_t err;
        json_t *a, *v;
        char **out = xnew(char *, 1);
        size_t i;

        *ret_error = NULL;
        if (!text)
                return out;
        a = json_loads(text, 0, &err);
        if (!json_is_array(a)) {
                *ret_error = xstrdup(ANNOUNCE_ANNOTATION_CANDIDACY ": not a JSON array");
                json_decref(a);
                return out;
        }
        json_array_foreach(a, i, v)
        {
                if (!json_is_string(v)) {
                        *ret_error =
                            xstrdup(ANNOUNCE_ANNOTATION_CANDIDACY ": not an array of policy names");
                        strv_free(out);
                        out = xnew(char *, 1);
                        break;
                }
                strv_push(&out, json_string_value(v));
        }
        json_decref(a);
        return out;
}

static struct hb_peer *peer_get(struct hb *h, const char *name)
{
        struct hb_peer *p = g_hash_table_lookup(h->peers, name);

        if (!p) {
                p = xnew(struct hb_peer, 1);
                p->lease = xstrdup(name);
                g_hash_table_insert(h->peers, p->lease, p);
                g_hash_table_remove_all(h->peer_by_node);
        }
        return p;
}

static const char *peer_node(const struct hb_peer *p);

static uint64_t obj_duration(const struct hb *h, const struct hb_obj *o)
{
        return o->duration_s > 0 ? (uint64_t)o->duration_s * USEC_PER_SEC : h->duration;
}

/* Takes a newer version of a heartbeat; returns whether it may change a
 * decision: not when it only renews a heartbeat that was live (same holder,
 * epoch, uid, duration and candidacy). Such a renewal only makes the peer go
 * stale later, and the run before armed its wake-up for the earlier time
 * (where it then finds nothing to do). At thousands of services this spares
 * a full run per peer and renewal. */
static bool peer_observe(struct hb *h, struct hb_peer *p, const struct k8s_lease *l, uint64_t now)
{
        _cleanup_free_ char *err = NULL, *holder = NULL, *annotation = NULL;
        bool was_live =
            p->o.present && peer_node(p) && now < p->o.observed_at + obj_duration(h, &p->o);
        int32_t transitions = p->o.transitions, duration_s = p->o.duration_s;
        char uid8[ANNOUNCE_UID8 + 1];

        memcpy(uid8, p->o.uid8, sizeof(uid8));
        holder = xstrdup(strempty(p->o.holder));
        annotation = p->o.annotation ? xstrdup(p->o.annotation) : NULL;
        if (!obj_take(&p->o, l, ANNOUNCE_ANNOTATION_CANDIDACY, now))
                return false;
        if (peer_node(p))
                p->live_until =
                    now +
                    (p->o.duration_s > 0 ? (uint64_t)p->o.duration_s * USEC_PER_SEC : h->duration);
        strv_free(p->candidacy);
        p->candidacy = candidacy_parse(p->o.annotation, &err);
        if (err)
                report(h, p->lease, err);
        return !was_live || !streq(holder, p->o.holder) || transitions != p->o.transitions ||
               duration_s != p->o.duration_s || !streq(uid8, p->o.uid8) ||
               !streq_ptr(annotation, p->o.annotation);
}

static void shard_settle(struct hb_shard *s)
{
        s->pending = false;
        s->pending_id = 0;
        free(s->pending_base);
        s->pending_base = NULL;
        free(s->moving);
        s->moving = NULL;
        s->n_moving = 0;
}

static void shard_observe(struct hb *h, unsigned k, const struct k8s_lease *l, uint64_t now)
{
        struct hb_shard *s = &h->shards[k];
        _cleanup_free_ char *err = NULL;

        if (!obj_take(&s->o, l, ANNOUNCE_ANNOTATION_BINDINGS, now))
                return;
        s->exists_unknown = false;
        if (s->pending && !streq_ptr(s->o.rv, s->pending_base)) {
                /* A version after the one our write in flight is based on:
                 * the write is this version or an earlier one, or it fails
                 * with a conflict (or AlreadyExists). Either way this view
                 * is what the next write builds on: no need to wait for
                 * its result, which may be lost (a partition of the
                 * responses only) until the client's timeout. */
                gint64 key = (gint64)s->pending_id;

                g_hash_table_remove(h->pending, &key);
                shard_settle(s);
                free(s->conflict_rv);
                s->conflict_rv = NULL;
                s->retry_at = 0;
        }
        bindings_done(&s->b);
        s->n_bad = bindings_parse(s->o.annotation, (int)k, &s->b, &err);
        if (s->n_bad > 0) {
                _cleanup_free_ char *name = announce_shard_name(k);

                s->blocked_until = now + h->duration;
                _cleanup_free_ char *m = xasprintf("%s (%zu malformed)", err, s->n_bad);

                report(h, name, m);
        }
}

static int shard_index(const char *name)
{
        const char *k = startswith(name, ANNOUNCE_SHARD_PREFIX);
        char *end;
        long v;

        if (!k || !*k || (k[0] == '0' && k[1]))
                return -1;
        v = strtol(k, &end, 10);
        return *end || v < 0 || v >= ANNOUNCE_SHARDS ? -1 : (int)v;
}

bool hb_upsert_lease(struct announcer *a, const struct k8s_lease *l, uint64_t now)
{
        struct hb *h = a->hb;
        const char *name = l->meta.name;
        int k;

        if (startswith(name, ANNOUNCE_HEARTBEAT_PREFIX)) {
                bool material = peer_observe(h, peer_get(h, name), l, now);

                /* our own: its echo may settle our registration */
                return material || streq(name, h->self_lease);
        }
        if (startswith(name, ANNOUNCE_SHARD_PREFIX)) {
                k = shard_index(name);
                if (k >= 0)
                        shard_observe(h, (unsigned)k, l, now);
                return true;
        }
        if (startswith(name, ANNOUNCE_LEASE_PREFIX)) {
                struct hb_compat *c = g_hash_table_lookup(h->compat, name);

                if (!c) {
                        c = xnew(struct hb_compat, 1);
                        g_hash_table_insert(h->compat, xstrdup(name), c);
                }
                if (obj_take(&c->o, l, ANNOUNCE_ANNOTATION_BINDINGS, now))
                        c->exists_unknown = false;
                return true;
        }
        return false;
}

bool hb_remove_lease(struct announcer *a, const char *name, uint64_t now)
{
        struct hb *h = a->hb;
        int k;

        if (startswith(name, ANNOUNCE_HEARTBEAT_PREFIX)) {
                struct hb_peer *p = g_hash_table_lookup(h->peers, name);

                if (p) {
                        obj_done(&p->o);
                        p->o.observed_at = now;
                        strv_free(p->candidacy);
                        p->candidacy = NULL;
                }
                return true;
        }
        if (startswith(name, ANNOUNCE_SHARD_PREFIX)) {
                k = shard_index(name);
                if (k >= 0) {
                        obj_done(&h->shards[k].o);
                        h->shards[k].o.observed_at = now;
                        bindings_done(&h->shards[k].b);
                        h->shards[k].n_bad = 0;
                        h->shards[k].blocked_until = now + h->duration;
                }
                return true;
        }
        if (startswith(name, ANNOUNCE_LEASE_PREFIX)) {
                g_hash_table_remove(h->compat, name);
                return true;
        }
        return false;
}

/* ---- write results ---- */

/* Back in contact at `back` (the send time of our first successful write)
 * after our gate had closed at `dark`: an outage of ours, or of the
 * apiserver for everyone. A heartbeat we last saw renewed before `dark` may
 * have stopped for the same reason as ours, and we may not have seen what
 * came after: its node gets a lifetime (renew deadline + retry period, a few
 * retries) from `back` to renew where we can see it before we fence it
 * (fence due = observed + duration). Its gate closed long ago (its last
 * success was before the outage) and a fence is a compare-and-swap, so the
 * delay is about not moving addresses of live nodes, never about safety.
 * One we saw renewed after `dark` was reachable while we were not (our
 * watch worked, our writes did not): its staleness stands. Without this the
 * first node back from an apiserver outage fenced the others and moved
 * their addresses. */
static void peers_back(struct announcer *a, uint64_t dark, uint64_t back)
{
        struct hb *h = a->hb;
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, h->peers);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct hb_peer *p = v;
                uint64_t d = obj_duration(h, &p->o), from;

                if (!p->o.present || streq(p->lease, h->self_lease) || p->o.observed_at >= dark)
                        continue;
                from = back + a->t.lifetime > d ? back + a->t.lifetime - d : 0;
                if (p->o.observed_at >= from)
                        continue;
                p->o.observed_at = from;
                if (peer_node(p))
                        p->live_until = MAX(p->live_until, from + d);
        }
}

static void self_result(struct announcer *a, struct hb_pending *p, enum announce_write_result r,
                        const struct k8s_lease *l, uint64_t now)
{
        struct hb *h = a->hb;
        struct hb_self *me = &h->self;
        struct hb_peer *v = peer_get(h, h->self_lease);

        if (p->id != me->pending_id) {
                /* The watch showed this write already (run: self_check). */
                if (r == ANNOUNCE_LEASE_OK)
                        peer_observe(h, v, l, now);
                return;
        }
        v->pending = false;
        me->pending_id = 0;
        switch (r) {
        case ANNOUNCE_LEASE_OK:
                peer_observe(h, v, l, now);
                free(v->conflict_rv);
                v->conflict_rv = NULL;
                v->retry_at = 0;
                me->conflict = false;
                if (p->release || !streq_ptr(l->holder, a->node)) {
                        me->registered = false;
                        break;
                }
                me->registered = true;
                me->adopt = false;
                me->epoch = l->lease_transitions;
                announce_uid8(l->meta.uid, me->uid8);
                free_and_strdup(&me->sent_candidacy, p->candidacy);
                if (me->last_ok_sent > 0 && p->sent > me->gate)
                        peers_back(a, me->gate, p->sent);
                if (p->sent >= me->last_ok_sent) {
                        me->last_ok_sent = p->sent;
                        me->gate = p->sent + a->t.lifetime;
                }
                break;
        case ANNOUNCE_LEASE_CONFLICT:
                if (p->release)
                        me->released = false; /* again, at the version the watch shows */
                v->retry_at = now + a->t.retry_period;
                /* AlreadyExists: a heartbeat of an earlier process of ours
                 * (or of nobody): not our write, nothing to adopt; the
                 * watch shows it and we re-adopt it with a write of ours. */
                if (!p->base_rv)
                        break;
                /* Our own write whose result was lost (a retried request),
                 * or a fence: the watch tells which (run). */
                me->conflict = true;
                free_and_strdup(&me->conflict_base, p->base_rv);
                me->conflict_sent = p->first_sent;
                me->conflict_epoch = p->epoch;
                free_and_strdup(&v->conflict_rv, p->base_rv);
                v->retry_at = now + a->t.retry_period;
                break;
        case ANNOUNCE_LEASE_NOT_FOUND:
                /* Deleted: its uid is gone, and every binding with it. */
                if (me->registered)
                        me->stop_reason = "heartbeat deleted";
                me->registered = false;
                obj_done(&v->o);
                v->o.observed_at = now;
                break;
        case ANNOUNCE_LEASE_ERROR:
                if (p->release)
                        me->released = false;
                v->retry_at = now + a->t.retry_period;
                break;
        }
}

bool hb_lease_result(struct announcer *a, uint64_t id, enum announce_write_result r,
                     const struct k8s_lease *l, uint64_t now)
{
        struct hb *h = a->hb;
        gint64 key = (gint64)id;
        struct hb_pending *p = g_hash_table_lookup(h->pending, &key);

        if (!p)
                return false;
        if (r == ANNOUNCE_LEASE_OK && !l && p->kind != HB_W_GC)
                r = ANNOUNCE_LEASE_ERROR; /* success without the object: no resourceVersion */
        if (r != ANNOUNCE_LEASE_ERROR && now >= p->sent && p->kind != HB_W_COMPAT)
                rtt_sample(&a->rtt, now - p->sent);
        switch (p->kind) {
        case HB_W_SELF:
                self_result(a, p, r, l, now);
                break;
        case HB_W_FENCE: {
                struct hb_peer *v = peer_get(h, p->name);

                v->pending = false;
                if (r == ANNOUNCE_LEASE_OK) {
                        peer_observe(h, v, l, now);
                        a->counters.fences++;
                } else if (r == ANNOUNCE_LEASE_CONFLICT) {
                        free_and_strdup(&v->conflict_rv, p->base_rv);
                        v->retry_at = now + a->t.retry_period;
                } else
                        v->retry_at = now + a->t.retry_period;
                break;
        }
        case HB_W_SHARD: {
                int k = shard_index(p->name);
                struct hb_shard *s = &h->shards[k];

                shard_settle(s);
                if (r == ANNOUNCE_LEASE_OK) {
                        shard_observe(h, (unsigned)k, l, now);
                        free(s->conflict_rv);
                        s->conflict_rv = NULL;
                } else if (r == ANNOUNCE_LEASE_CONFLICT) {
                        if (!p->base_rv && !s->o.present)
                                s->exists_unknown = true;
                        free_and_strdup(&s->conflict_rv, p->base_rv);
                        s->retry_at = now + a->t.retry_period;
                } else if (r == ANNOUNCE_LEASE_NOT_FOUND) {
                        obj_done(&s->o);
                        bindings_done(&s->b);
                        s->o.observed_at = now;
                } else
                        s->retry_at = now + a->t.retry_period;
                break;
        }
        case HB_W_COMPAT:
        case HB_W_GC: {
                struct hb_compat *c = g_hash_table_lookup(h->compat, p->name);
                struct hb_peer *v = g_hash_table_lookup(h->peers, p->name);

                if (v && p->kind == HB_W_GC) {
                        v->pending = false;
                        if (r == ANNOUNCE_LEASE_OK) {
                                a->counters.deletions++;
                                g_hash_table_remove(h->peers, p->name);
                                g_hash_table_remove_all(h->peer_by_node);
                        } else
                                v->retry_at = now + a->t.retry_period;
                        break;
                }
                if (!c)
                        break;
                c->pending = false;
                if (r == ANNOUNCE_LEASE_OK && p->kind == HB_W_GC) {
                        a->counters.deletions++;
                        g_hash_table_remove(h->compat, p->name);
                } else if (r == ANNOUNCE_LEASE_OK) {
                        (void)obj_take(&c->o, l, ANNOUNCE_ANNOTATION_BINDINGS, now);
                } else {
                        if (r == ANNOUNCE_LEASE_CONFLICT && !c->o.present)
                                c->exists_unknown = true;
                        if (r == ANNOUNCE_LEASE_NOT_FOUND) {
                                obj_done(&c->o);
                                c->o.observed_at = now;
                        }
                        free_and_strdup(&c->conflict_rv, p->base_rv);
                        c->retry_at = now + a->t.retry_period;
                }
                break;
        }
        }
        g_hash_table_remove(h->pending, &key);
        return true;
}

/* ---- one run ---- */

/* A wanted address: announced by some selected service. */
struct wip {
        struct ipaddr ip;
        size_t from, to; /* its services: model owners [from, to) */
        unsigned shard;
        const char **cands; /* live candidates other than us (borrowed names) */
        size_t n_cands;
        bool me_local; /* we are a local candidate of one of its services */
        bool me_cand;  /* ... and registered: we can be bound */
        bool done;     /* placed or checked in this run */
};

struct hrun {
        struct announcer *a;
        struct hb *h;
        const struct model *m;
        uint64_t now;
        int64_t wall;
        struct announce_decisions *out;
        char ***svc_pols;           /* per model service: names of policies selecting it */
        struct hb_peer **node_peer; /* per model node: its heartbeat if alive, else NULL */
        struct wip *ips;            /* sorted by address */
        size_t n_ips;
        GHashTable *count;                      /* node name → live bindings (GSIZE) */
        struct bindings *next[ANNOUNCE_SHARDS]; /* shard contents to write, NULL: unchanged */
        struct ipaddr *moving[ANNOUNCE_SHARDS]; /* our addresses the write hands away */
        size_t n_moving[ANNOUNCE_SHARDS];
        char *candidacy;        /* ours, JSON text */
        bool alive;             /* we are registered and the gate is open */
        bool placing_as_backup; /* place() with rank > 0 */
};

static void hwake(struct hrun *r, uint64_t t)
{
        if (t < r->out->next_wakeup)
                r->out->next_wakeup = t <= r->now ? r->now : t;
}

static uint64_t peer_duration(const struct hb_peer *p, const struct timing *t)
{
        return p->o.duration_s > 0 ? (uint64_t)p->o.duration_s * USEC_PER_SEC : t->duration;
}

/* The node a heartbeat names, if it is one of a node's. */
static const char *peer_node(const struct hb_peer *p)
{
        _cleanup_free_ char *want = NULL;

        if (!p->o.present || isempty(p->o.holder))
                return NULL;
        want = announce_heartbeat_name(p->o.holder);
        return streq(want, p->lease) ? p->o.holder : NULL;
}

/* Holder = its node, unchanged for less than its duration by our clock. */
static bool peer_alive(const struct hrun *r, const struct hb_peer *p)
{
        if (p->lease == r->h->self_lease || streq(p->lease, r->h->self_lease))
                return r->alive;
        return peer_node(p) && r->now < p->o.observed_at + peer_duration(p, &r->a->t);
}

/* The heartbeat of node, or NULL; memoised per node name (peer_get and
 * the removal of a peer clear the memo). */
static struct hb_peer *peer_of(struct hb *h, const char *node)
{
        _cleanup_free_ char *name = NULL;
        gpointer p;

        if (g_hash_table_lookup_extended(h->peer_by_node, node, NULL, &p))
                return p;
        name = announce_heartbeat_name(node);
        p = g_hash_table_lookup(h->peers, name);
        g_hash_table_insert(h->peer_by_node, xstrdup(node), p);
        return p;
}

enum bstate { B_LIVE, B_DEAD, B_UNKNOWN };

/* A binding is dead when the heartbeat it names, as committed in the store
 * and seen by us, has another holder, another epoch or another uid, or is
 * gone. A view older than the binding (an epoch below the binding's) is not
 * evidence: unknown, left alone. */
static enum bstate binding_state(struct hb *h, const struct binding *b)
{
        struct hb_peer *p = peer_of(h, b->node);

        if (!p || !p->o.present || !streq(p->o.uid8, b->uid8))
                return B_DEAD;
        if (streq(p->o.holder, b->node) && p->o.transitions == b->epoch)
                return B_LIVE;
        return p->o.transitions < b->epoch ? B_UNKNOWN : B_DEAD;
}

/* Bound to our current registration. */
static bool binding_mine(const struct hrun *r, const struct binding *b)
{
        const struct hb_self *me = &r->h->self;

        return me->registered && streq(b->node, r->a->node) && b->epoch == me->epoch &&
               streq(b->uid8, me->uid8);
}

static size_t count_of(struct hrun *r, const char *node)
{
        return GPOINTER_TO_SIZE(g_hash_table_lookup(r->count, node));
}

static void count_add(struct hrun *r, const char *node, int d)
{
        size_t c = count_of(r, node);

        c = d < 0 ? (c > 0 ? c - 1 : 0) : c + 1;
        g_hash_table_replace(r->count, (gpointer)node, GSIZE_TO_POINTER(c));
}

static bool strv_intersects(char *const *a, char *const *b)
{
        for (; a && *a; a++)
                if (strv_contains(b, *a))
                        return true;
        return false;
}

static int ip_key_cmp(const void *key, const void *elem)
{
        return ipaddr_cmp(key, &((const struct wip *)elem)->ip);
}

static struct wip *wip_find(struct hrun *r, const struct ipaddr *ip)
{
        size_t i = lower_bound(ip, r->ips, r->n_ips, sizeof(*r->ips), ip_key_cmp);

        return i < r->n_ips && ipaddr_equal(&r->ips[i].ip, ip) ? &r->ips[i] : NULL;
}

static int str_order(const void *x, const void *y)
{
        return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Our candidacy: the active policies matching our labels with a matching
 * device that has carrier, unless we are cordoned or excluded. */
static char *own_candidacy(struct announcer *a)
{
        const struct node_info *self = g_hash_table_lookup(a->nodes, a->node);
        _cleanup_strv_free_ char **names = xnew(char *, 1);
        GHashTableIter it, jt;
        gpointer v, d;
        json_t *arr = json_array();
        char *text;

        /* Shutting down: a candidate for nothing (see coordinator()). */
        if (self && !self->unschedulable && !self->excluded && !a->shutting_down) {
                g_hash_table_iter_init(&it, a->policies);
                while (g_hash_table_iter_next(&it, NULL, &v)) {
                        const struct l2pol *p = v;
                        bool dev = false;

                        if (!l2pol_active(p) || !l2pol_matches_node(p, &self->labels))
                                continue;
                        g_hash_table_iter_init(&jt, a->devices);
                        while (!dev && g_hash_table_iter_next(&jt, NULL, &d))
                                dev =
                                    ((const struct device_info *)d)->up &&
                                    l2pol_matches_device(p, ((const struct device_info *)d)->name);
                        if (dev)
                                strv_push(&names, p->name);
                }
        }
        qsort_safe(names, strv_length(names), sizeof(char *), str_order);
        for (char **n = names; *n; n++)
                json_array_append_new(arr, json_string(*n));
        text = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        return text;
}

static void prepare(struct hrun *r)
{
        struct announcer *a = r->a;
        const struct model *m = r->m;
        size_t n = 0;

        r->svc_pols = xnew(char **, m->n_svcs);
        for (size_t i = 0; i < m->n_svcs; i++) {
                GHashTableIter it;
                gpointer v;

                r->svc_pols[i] = xnew(char *, 1);
                g_hash_table_iter_init(&it, a->policies);
                while (g_hash_table_iter_next(&it, NULL, &v)) {
                        const struct l2pol *p = v;
                        struct announce_ip_list ips = {0};

                        if (!l2pol_active(p) || !l2pol_matches_service(p, m->svcs[i].svc))
                                continue;
                        l2pol_service_ips(p, m->svcs[i].svc, a->external_ips, &ips);
                        if (ips.n > 0)
                                strv_push(&r->svc_pols[i], p->name);
                        announce_ip_list_done(&ips);
                }
        }
        r->node_peer = xnew(struct hb_peer *, m->n_nodes);
        for (size_t k = 0; k < m->n_nodes; k++) {
                struct hb_peer *p = peer_of(r->h, m->nodes[k]->name);

                r->node_peer[k] = p && peer_alive(r, p) ? p : NULL;
        }
        r->ips = xnew(struct wip, m->n_owners);
        for (size_t o = 0; o < m->n_owners; o++) {
                struct wip *w;

                if (n > 0 && ipaddr_equal(&r->ips[n - 1].ip, &m->owners[o].ip)) {
                        w = &r->ips[n - 1];
                        w->to = o + 1;
                } else {
                        w = &r->ips[n++];
                        *w = (struct wip){.ip = m->owners[o].ip, .from = o, .to = o + 1};
                        w->shard = announce_shard_of(&w->ip);
                }
        }
        r->n_ips = n;
        for (size_t i = 0; i < n; i++) {
                struct wip *w = &r->ips[i];

                w->cands = xnew(const char *, m->n_nodes);
                for (size_t o = w->from; o < w->to; o++) {
                        size_t si = m->owners[o].svc;
                        const struct model_svc *ms = &m->svcs[si];

                        if (ms->local == LOCAL_CANDIDATE)
                                w->me_local = true;
                        for (size_t c = 0; c < ms->n_candidates; c++) {
                                struct hb_peer *p = r->node_peer[ms->candidates[c]];
                                const char *name = m->nodes[ms->candidates[c]]->name;
                                bool dup = false;

                                if (!p || !strv_intersects(p->candidacy, r->svc_pols[si]))
                                        continue;
                                for (size_t j = 0; j < w->n_cands; j++)
                                        dup = dup || streq(w->cands[j], name);
                                if (!dup)
                                        w->cands[w->n_cands++] = name;
                        }
                }
                w->me_cand = w->me_local && r->alive && !a->shutting_down;
        }
        r->count = g_hash_table_new(g_str_hash, g_str_equal);
        for (size_t k = 0; k < ANNOUNCE_SHARDS; k++)
                for (size_t i = 0; i < r->h->shards[k].b.n; i++) {
                        const struct binding *b = &r->h->shards[k].b.items[i];

                        if (binding_state(r->h, b) == B_LIVE)
                                count_add(r, b->node, +1);
                }
}

static void hrun_done(struct hrun *r)
{
        for (size_t i = 0; r->svc_pols && i < r->m->n_svcs; i++)
                strv_free(r->svc_pols[i]);
        free(r->svc_pols);
        free(r->node_peer);
        for (size_t i = 0; i < r->n_ips; i++)
                free(r->ips[i].cands);
        free(r->ips);
        if (r->count)
                g_hash_table_unref(r->count);
        for (size_t k = 0; k < ANNOUNCE_SHARDS; k++) {
                if (r->next[k]) {
                        bindings_done(r->next[k]);
                        free(r->next[k]);
                }
                free(r->moving[k]);
        }
        free(r->candidacy);
}

static uint64_t tie(const struct ipaddr *ip, const char *node)
{
        char buf[IPADDR_STRLEN];
        _cleanup_free_ char *k = xasprintf("%s\n%s", ipaddr_format(ip, buf), node);

        return announce_fnv1a(k);
}

/* The live candidate for w with the fewest bindings (ties by a hash of
 * address and node), other than `exclude`; `prefer` if it is one. */
static const char *choose(struct hrun *r, const struct wip *w, const char *exclude,
                          const char *prefer)
{
        const char *best = NULL;
        size_t best_n = 0;
        uint64_t best_h = 0;

        for (size_t i = 0; i <= w->n_cands; i++) {
                const char *c = i < w->n_cands ? w->cands[i] : (w->me_cand ? r->a->node : NULL);
                size_t n;
                uint64_t hh;

                if (!c || streq_ptr(c, exclude))
                        continue;
                /* A backup places only what the nodes before it left
                 * undone: one of them, the coordinator, is likely dead
                 * though its heartbeat still looks fresh. Addresses bound
                 * to it would wait for its fence too. */
                if (r->placing_as_backup && strcmp(c, r->a->node) < 0)
                        continue;
                if (streq_ptr(c, prefer))
                        return c;
                n = count_of(r, c);
                hh = tie(&w->ip, c);
                if (!best || n < best_n || (n == best_n && hh < best_h)) {
                        best = c;
                        best_n = n;
                        best_h = hh;
                }
        }
        return best;
}

static struct bindings *next_of(struct hrun *r, unsigned k)
{
        if (!r->next[k]) {
                r->next[k] = xnew(struct bindings, 1);
                bindings_copy(r->next[k], &r->h->shards[k].b);
        }
        return r->next[k];
}

/* A write to shard k may be sent in this run. */
static bool shard_writable(struct hrun *r, unsigned k)
{
        const struct hb_shard *s = &r->h->shards[k];

        if (s->pending || s->exists_unknown)
                return false;
        if (r->now < s->retry_at) {
                hwake(r, s->retry_at);
                return false;
        }
        /* A version with malformed entries, or a deletion, came from
         * outside the protocol; give every node a lease duration to see it
         * (and fall silent) before its addresses are placed again. */
        if (r->now < s->blocked_until) {
                hwake(r, s->blocked_until);
                return false;
        }
        return true;
}

static void bind_to(struct hrun *r, unsigned k, const struct ipaddr *ip, const char *node)
{
        struct hb_self *me = &r->h->self;

        if (streq(node, r->a->node))
                bindings_set(next_of(r, k), ip, node, me->epoch, me->uid8);
        else {
                struct hb_peer *p = peer_of(r->h, node);

                bindings_set(next_of(r, k), ip, node, p->o.transitions, p->o.uid8);
        }
        count_add(r, node, +1);
}

static void add_moving(struct hrun *r, unsigned k, const struct ipaddr *ip)
{
        r->moving[k] = xreallocarray(r->moving[k], r->n_moving[k] + 1, sizeof(*r->moving[k]));
        r->moving[k][r->n_moving[k]++] = *ip;
}

/* ---- actions ---- */

static struct hb_pending *emit(struct hrun *r, enum hb_write kind, enum announce_lease_op op,
                               const char *name, const char *rv, json_t *body, const char *reason)
{
        struct announcer *a = r->a;
        struct announce_decisions *o = r->out;
        struct announce_lease_action *act;
        struct hb_pending *p = xnew(struct hb_pending, 1);
        gint64 *key = xnew(gint64, 1);

        o->actions = xreallocarray(o->actions, o->n_actions + 1, sizeof(*o->actions));
        act = &o->actions[o->n_actions++];
        *act = (struct announce_lease_action){
            .id = ++a->next_id,
            .op = op,
            .name = xstrdup(name),
            .resource_version = xstrdup(rv),
            .body = body,
            .reason = reason,
            .low_priority =
                kind == HB_W_COMPAT || (kind == HB_W_GC && startswith(name, ANNOUNCE_LEASE_PREFIX)),
        };
        p->id = act->id;
        p->kind = kind;
        p->name = xstrdup(name);
        p->sent = r->now;
        p->base_rv = xstrdup(rv);
        *key = (gint64)act->id;
        g_hash_table_insert(r->h->pending, key, p);
        a->counters.writes++;
        return p;
}

static json_t *lease_body(struct hrun *r, const char *name, const char *rv, const char *holder,
                          int32_t duration_s, const char *acquire, int32_t transitions,
                          const char *ann_key, const char *ann_value)
{
        struct k8s_lease l = {0};
        char now[40];
        json_t *j;

        (void)k8s_time_format(r->wall, true, now, sizeof(now));
        l.meta.name = (char *)name;
        l.meta.namespace = r->a->ns;
        l.meta.resource_version = (char *)rv;
        l.holder = (char *)holder;
        l.lease_duration_seconds = duration_s;
        l.acquire_time = (char *)(acquire ? acquire : now);
        l.renew_time = now;
        l.lease_transitions = transitions;
        if (ann_key && ann_value)
                labels_set(&l.meta.annotations, ann_key, ann_value);
        j = k8s_lease_to_json(&l);
        labels_done(&l.meta.annotations);
        return j;
}

/* ---- our heartbeat ---- */

/* First run after a restart: pinned entries keep answering only if our
 * heartbeat still carries our name (not fenced); its epoch and uid are ours
 * again, and the renewal goes out at once. */
static void adopt(struct hrun *r)
{
        struct announcer *a = r->a;
        struct hb_self *me = &r->h->self;
        struct hb_peer *v = peer_get(r->h, r->h->self_lease);
        uint64_t gate = UINT64_MAX;

        if (v->o.present && streq(v->o.holder, a->node)) {
                me->adopt = true;
                for (size_t i = 0; i < a->n_pinned; i++)
                        if (a->pinned[i].deadline < gate)
                                gate = a->pinned[i].deadline;
                if (a->n_pinned > 0 && gate > r->now) {
                        me->registered = true;
                        me->epoch = v->o.transitions;
                        memcpy(me->uid8, v->o.uid8, sizeof(me->uid8));
                        me->gate = gate;
                        me->last_ok_sent = gate > a->t.lifetime ? gate - a->t.lifetime : 0;
                }
        }
        announcer_forget_pinned(a);
}

/* What the view of our heartbeat says about our registration. */
static void self_check(struct hrun *r)
{
        struct announcer *a = r->a;
        struct hb_self *me = &r->h->self;
        struct hb_peer *v = peer_get(r->h, r->h->self_lease);

        if (me->pending_id) {
                gint64 key = (gint64)me->pending_id;
                const struct hb_pending *p = g_hash_table_lookup(r->h->pending, &key);

                /* The watch shows our write in flight: a newer version than
                 * the one it was based on, with our name and the epoch it
                 * wrote (nobody else writes that). It, or an earlier retry
                 * on the same version, landed, whatever the result will say
                 * (lost responses, a timeout): the gate counts from the
                 * first of them, and the next renewal need not wait. */
                if (p && p->base_rv && !p->release && v->o.present &&
                    lease_rv_newer(v->o.rv, p->base_rv) && streq(v->o.holder, a->node) &&
                    v->o.transitions == p->epoch) {
                        me->registered = true;
                        me->adopt = false;
                        me->epoch = p->epoch;
                        memcpy(me->uid8, v->o.uid8, sizeof(me->uid8));
                        free_and_strdup(&me->sent_candidacy, p->candidacy);
                        if (p->first_sent >= me->last_ok_sent) {
                                me->last_ok_sent = p->first_sent;
                                me->gate = p->first_sent + a->t.lifetime;
                        }
                        me->conflict = false;
                        v->pending = false;
                        v->retry_at = 0;
                        me->pending_id = 0;
                }
        }
        if (me->conflict && v->o.present && !streq_ptr(v->o.rv, me->conflict_base)) {
                /* The watch moved past the version we wrote against: either
                 * our own write landed (its result was lost) or we were
                 * fenced. */
                if (v->o.present && streq(v->o.holder, a->node) &&
                    v->o.transitions == me->conflict_epoch) {
                        me->registered = true;
                        me->epoch = me->conflict_epoch;
                        memcpy(me->uid8, v->o.uid8, sizeof(me->uid8));
                        if (me->conflict_sent >= me->last_ok_sent) {
                                me->last_ok_sent = me->conflict_sent;
                                me->gate = me->conflict_sent + a->t.lifetime;
                        }
                }
                me->conflict = false;
        }
        if (me->registered && (!v->o.present || !streq(v->o.holder, a->node) ||
                               v->o.transitions != me->epoch || !streq(v->o.uid8, me->uid8))) {
                /* Fenced (or deleted): every binding of this epoch is dead,
                 * for us too. */
                me->registered = false;
                me->stop_reason = "heartbeat fenced";
        }
        if (me->registered && r->now >= me->gate) {
                me->registered = false;
                me->stop_reason = "heartbeat not renewed in time";
        }
        if (a->release_all && me->registered) {
                me->registered = false;
                me->stop_reason = "agent shutting down";
        }
        r->alive = me->registered && r->now < me->gate;
        if (r->alive)
                hwake(r, me->gate);
        if (r->alive && !me->alive_since)
                me->alive_since = r->now;
}

static void self_write(struct hrun *r)
{
        struct announcer *a = r->a;
        struct hb_self *me = &r->h->self;
        struct hb_peer *v = peer_get(r->h, r->h->self_lease);
        struct hb_pending *p;
        uint64_t due;
        int32_t epoch;

        if (v->pending || me->released)
                return;
        if (r->now < v->retry_at) {
                hwake(r, v->retry_at);
                return;
        }
        if (a->release_all) {
                /* One write: every binding of ours is dead at once. */
                if (!v->o.present || !streq(v->o.holder, a->node))
                        return;
                p = emit(r, HB_W_SELF, ANNOUNCE_LEASE_UPDATE, v->lease, v->o.rv,
                         lease_body(r, v->lease, v->o.rv, "", v->o.duration_s, v->o.acquire_time,
                                    v->o.transitions + 1, NULL, NULL),
                         "release");
                p->release = true;
                me->released = true;
                v->pending = true;
                me->pending_id = p->id;
                a->counters.heartbeats++;
                return;
        }
        if (!v->o.present) {
                p = emit(r, HB_W_SELF, ANNOUNCE_LEASE_CREATE, v->lease, NULL,
                         lease_body(r, v->lease, NULL, a->node, a->t.duration_s, NULL, 0,
                                    ANNOUNCE_ANNOTATION_CANDIDACY, r->candidacy),
                         "register");
                p->epoch = 0;
        } else if (streq(v->o.holder, a->node)) {
                due = me->registered
                          ? me->last_ok_sent + a->t.lifetime - renew_margin(&a->rtt, &a->t)
                          : r->now;
                if (me->adopt || a->renew_all || !streq_ptr(me->sent_candidacy, r->candidacy))
                        due = r->now;
                if (r->now < due) {
                        hwake(r, due);
                        return;
                }
                p = emit(r, HB_W_SELF, ANNOUNCE_LEASE_UPDATE, v->lease, v->o.rv,
                         lease_body(r, v->lease, v->o.rv, a->node, a->t.duration_s,
                                    v->o.acquire_time, v->o.transitions,
                                    ANNOUNCE_ANNOTATION_CANDIDACY, r->candidacy),
                         me->registered && !me->adopt ? "renew" : "re-adopt");
                p->epoch = v->o.transitions;
        } else {
                /* Fenced or released (holder ""): the marker's transitions
                 * only says that the epochs below it are dead. A new
                 * registration takes the next one, never the marker's own:
                 * a node still seeing the marker must read a binding to the
                 * new epoch as newer than its view (left alone), not as
                 * dead. */
                epoch = v->o.transitions + 1;
                if (me->epoch >= epoch && me->uid8[0] && streq(me->uid8, v->o.uid8))
                        epoch = me->epoch + 1;
                p = emit(r, HB_W_SELF, ANNOUNCE_LEASE_UPDATE, v->lease, v->o.rv,
                         lease_body(r, v->lease, v->o.rv, a->node, a->t.duration_s, NULL, epoch,
                                    ANNOUNCE_ANNOTATION_CANDIDACY, r->candidacy),
                         "re-register");
                p->epoch = epoch;
        }
        p->candidacy = xstrdup(r->candidacy);
        v->pending = true;
        me->pending_id = p->id;
        if (p->base_rv && !streq_ptr(p->base_rv, me->base_rv)) {
                free_and_strdup(&me->base_rv, p->base_rv);
                me->base_first_sent = r->now;
        }
        p->first_sent = p->base_rv ? me->base_first_sent : r->now;
        a->counters.heartbeats++;
}

/* ---- coordinator ---- */

/* Our rank among the live candidates ordered by name: 0 is the
 * coordinator, which fences and places as soon as it may; rank k acts as its
 * backup k retry periods later, so that a coordinator that dies (or is cut
 * off) while another node fails delays the failover by a retry period or
 * two, not by a lease duration. Acting twice costs a 409, never safety:
 * fences and placements are conditional writes. SIZE_MAX: we do not
 * coordinate at all. */
static size_t rank(struct hrun *r)
{
        GHashTableIter it;
        gpointer v;
        size_t k = 0;

        /* A node that is a candidate for nothing does not coordinate:
         * shutting down (its last renewal says so), or idle. Otherwise a
         * stopped agent's fresh heartbeat would hold the role for a lease
         * duration while nobody fences or places. */
        if (!r->alive || r->a->shutting_down || streq(r->candidacy, "[]"))
                return SIZE_MAX;
        g_hash_table_iter_init(&it, r->h->peers);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const struct hb_peer *p = v;
                const char *n = peer_node(p);

                if (n && strcmp(n, r->a->node) < 0 && peer_alive(r, p) && p->candidacy &&
                    p->candidacy[0])
                        k++;
        }
        return k;
}

/* How long after the coordinator we act. */
static uint64_t backup_delay(const struct hrun *r)
{
        return (uint64_t)MIN(r->h->rank, (size_t)64) * r->a->t.retry_period;
}

static void fence(struct hrun *r)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, r->h->peers);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct hb_peer *p = v;
                const char *n = peer_node(p);
                uint64_t due;

                if (!n || streq(n, r->a->node) || p->pending)
                        continue;
                due = p->o.observed_at + peer_duration(p, &r->a->t) + backup_delay(r);
                if (p->conflict_rv && streq(p->conflict_rv, p->o.rv) && due < p->retry_at)
                        due = p->retry_at;
                if (r->now < due) {
                        hwake(r, due);
                        continue;
                }
                /* Unchanged for its whole duration since we first saw this
                 * version: its gate has passed; the PUT at this version
                 * fails if it renewed meanwhile. */
                (void)emit(r, HB_W_FENCE, ANNOUNCE_LEASE_UPDATE, p->lease, p->o.rv,
                           lease_body(r, p->lease, p->o.rv, "", p->o.duration_s, p->o.acquire_time,
                                      p->o.transitions + 1, NULL, NULL),
                           "fence");
                p->pending = true;
        }
}

/* Whether a backup may place w now: it has had no live binding in our view
 * for our backup delay (the coordinator's turn), counted from when the
 * heartbeat of the node it was bound to went stale, as a fence is.
 * Remembers since when. */
static bool placement_due(struct hrun *r, const struct wip *w, const struct binding *b,
                          GHashTable *unplaced)
{
        const uint64_t *since = g_hash_table_lookup(r->h->unplaced, &w->ip);
        uint64_t *t = xnew(uint64_t, 1);
        const struct hb_peer *p = b ? peer_of(r->h, b->node) : NULL;

        *t = since ? *since : r->now;
        if (p && p->live_until > 0)
                *t = MIN(*t, p->live_until);
        g_hash_table_replace(unplaced, ip_dup(&w->ip), t);
        if (r->now >= *t + backup_delay(r))
                return true;
        hwake(r, *t + backup_delay(r));
        return false;
}

static void place(struct hrun *r)
{
        const struct model *m = r->m;
        uint64_t settle = r->h->self.alive_since + r->a->t.balance_delay;
        GHashTable *unplaced = ip_table_new(free);

        /* Agents started together register within a moment: a coordinator
         * that just registered gives them the balance delay to show up
         * before it binds, instead of binding everything to itself and
         * rebalancing one address at a time. */
        if (r->now < settle) {
                hwake(r, settle);
                g_hash_table_unref(unplaced);
                return;
        }
        r->placing_as_backup = r->h->rank > 0;
        for (size_t i = 0; i < m->n_svcs; i++) {
                const char *prefer = NULL;

                for (size_t j = 0; j < m->svcs[i].ips.n; j++) {
                        struct wip *w = wip_find(r, &m->svcs[i].ips.items[j]);
                        const struct binding *b = bindings_get(&r->h->shards[w->shard].b, &w->ip);
                        enum bstate st = b ? binding_state(r->h, b) : B_DEAD;
                        const char *to;

                        if (st == B_LIVE && !prefer)
                                prefer = b->node;
                        if (w->done || st != B_DEAD)
                                continue;
                        w->done = true;
                        if (!placement_due(r, w, b, unplaced))
                                continue;
                        to = choose(r, w, NULL, prefer);
                        if (!to || !shard_writable(r, w->shard))
                                continue;
                        bind_to(r, w->shard, &w->ip, to);
                        r->a->counters.placements++;
                        prefer = to;
                }
        }
        r->placing_as_backup = false;
        g_hash_table_unref(r->h->unplaced);
        r->h->unplaced = unplaced;
        if (r->h->rank > 0)
                return;
        /* Dead bindings of addresses nobody wants. */
        for (unsigned k = 0; k < ANNOUNCE_SHARDS; k++)
                for (size_t i = 0; i < r->h->shards[k].b.n; i++) {
                        const struct binding *b = &r->h->shards[k].b.items[i];

                        if (!wip_find(r, &b->ip) && binding_state(r->h, b) == B_DEAD &&
                            shard_writable(r, k))
                                (void)bindings_remove(next_of(r, k), &b->ip);
                }
}

/* ---- owner: voluntary releases and rebalance ---- */

static bool moving(const struct hrun *r, unsigned k, const struct ipaddr *ip)
{
        const struct hb_shard *s = &r->h->shards[k];

        for (size_t i = 0; i < s->n_moving; i++)
                if (ipaddr_equal(&s->moving[i], ip))
                        return true;
        for (size_t i = 0; i < r->n_moving[k]; i++)
                if (ipaddr_equal(&r->moving[k][i], ip))
                        return true;
        return false;
}

static void hand_over(struct hrun *r, unsigned k, const struct ipaddr *ip, const char *to)
{
        if (to)
                bind_to(r, k, ip, to);
        else
                (void)bindings_remove(next_of(r, k), ip);
        count_add(r, r->a->node, -1);
        add_moving(r, k, ip);
        r->a->counters.releases++;
}

static void release(struct hrun *r)
{
        struct announcer *a = r->a;
        bool rebalancing = false;
        const struct binding *pick = NULL;
        const char *pick_to = NULL;

        if (!r->alive || a->shutting_down)
                return;
        for (unsigned k = 0; k < ANNOUNCE_SHARDS; k++)
                rebalancing = rebalancing || r->h->shards[k].n_moving > 0;
        for (unsigned k = 0; k < ANNOUNCE_SHARDS; k++) {
                const struct hb_shard *s = &r->h->shards[k];

                for (size_t i = 0; i < s->b.n; i++) {
                        const struct binding *b = &s->b.items[i];
                        struct wip *w;
                        const char *to;
                        size_t mine, n_set = 1, load;

                        if (!binding_mine(r, b) || moving(r, k, &b->ip))
                                continue;
                        w = wip_find(r, &b->ip);
                        if (!w || !w->me_local) {
                                /* Not ours to answer any more: silent in
                                 * this run, then the shard names the best
                                 * other candidate. */
                                if (shard_writable(r, k))
                                        hand_over(r, k, &b->ip,
                                                  w ? choose(r, w, a->node, NULL) : NULL);
                                continue;
                        }
                        if (pick || rebalancing)
                                continue;
                        to = choose(r, w, a->node, NULL);
                        if (!to)
                                continue;
                        mine = count_of(r, a->node);
                        load = mine;
                        for (size_t c = 0; c < w->n_cands; c++) {
                                load += count_of(r, w->cands[c]);
                                n_set++;
                        }
                        if (mine >= count_of(r, to) + 2 && mine > (load + n_set - 1) / n_set &&
                            shard_writable(r, k)) {
                                pick = b;
                                pick_to = to;
                        }
                }
        }
        if (!pick)
                return;
        if (r->now < r->h->last_rebalance + a->t.retry_period) {
                hwake(r, r->h->last_rebalance + a->t.retry_period);
                return;
        }
        {
                struct ipaddr ip = pick->ip;

                hand_over(r, announce_shard_of(&ip), &ip, pick_to);
                r->h->last_rebalance = r->now;
        }
}

static void shard_writes(struct hrun *r)
{
        for (unsigned k = 0; k < ANNOUNCE_SHARDS; k++) {
                struct hb_shard *s = &r->h->shards[k];
                _cleanup_free_ char *name = NULL;
                _cleanup_free_ char *text = NULL;

                if (!r->next[k])
                        continue;
                text = bindings_format(r->next[k]);
                if (s->o.present && streq_ptr(text, s->o.annotation))
                        continue;
                name = announce_shard_name(k);
                struct hb_pending *p = emit(
                    r, HB_W_SHARD, s->o.present ? ANNOUNCE_LEASE_UPDATE : ANNOUNCE_LEASE_CREATE,
                    name, s->o.present ? s->o.rv : NULL,
                    lease_body(r, name, s->o.present ? s->o.rv : NULL, "", 0,
                               s->o.present ? s->o.acquire_time : NULL,
                               s->o.present ? s->o.transitions : 0, ANNOUNCE_ANNOTATION_BINDINGS,
                               text),
                    r->n_moving[k] > 0 ? "hand over" : "place");
                s->pending = true;
                s->pending_id = p->id;
                free_and_strdup(&s->pending_base, s->o.present ? s->o.rv : NULL);
                free(s->moving);
                s->moving = r->moving[k];
                s->n_moving = r->n_moving[k];
                r->moving[k] = NULL;
                r->n_moving[k] = 0;
        }
}

/* ---- outputs ---- */

/* We answer x: bound to our registration in the newest shard version we
 * have seen, gate open, not being handed away. */
static bool answers(struct hrun *r, const struct ipaddr *ip)
{
        const struct wip *w = wip_find(r, ip);
        /* the shard prepare() computed: hashing the text is not free */
        unsigned k = w ? w->shard : announce_shard_of(ip);
        const struct binding *b = bindings_get(&r->h->shards[k].b, ip);

        return r->alive && b && binding_mine(r, b) && !moving(r, k, ip);
}

static void entries(struct hrun *r, GHashTable *now_ips, GHashTable *now_svcs)
{
        struct announce_decisions *o = r->out;
        size_t cap = 0;

        for (size_t i = 0; i < r->m->n_svcs; i++)
                cap += r->m->svcs[i].n_entries;
        o->entries = xnew(struct announce_entry, cap);
        for (size_t i = 0; i < r->m->n_svcs; i++) {
                const struct model_svc *ms = &r->m->svcs[i];

                if (ms->local != LOCAL_CANDIDATE)
                        continue;
                for (size_t e = 0; e < ms->n_entries; e++) {
                        if (!ms->entries[e].up || !answers(r, &ms->entries[e].ip))
                                continue;
                        o->entries[o->n_entries++] = (struct announce_entry){
                            ms->entries[e].ip, ms->entries[e].ifindex, r->h->self.gate};
                        g_hash_table_add(now_ips, ip_dup(&ms->entries[e].ip));
                        g_hash_table_add(now_svcs, ms->svc->key);
                }
        }
        announce_entries_normalise(o);
}

static void push_event(struct hrun *r, enum announce_event_kind kind, const char *service,
                       const char *lease, const char *reason, const char *detail)
{
        struct announce_decisions *o = r->out;

        o->events = xreallocarray(o->events, o->n_events + 1, sizeof(*o->events));
        o->events[o->n_events++] = (struct announce_event){
            .kind = kind,
            .service = xstrdup(service),
            .lease = xstrdup(lease),
            .reason = reason,
            .detail = xstrdup(detail),
        };
}

static void events(struct hrun *r, GHashTable *now_ips, GHashTable *now_svcs)
{
        struct hb *h = r->h;
        GHashTableIter it;
        gpointer k;
        const char *stop = h->self.stop_reason && !r->alive ? h->self.stop_reason
                                                            : "address moved to another node";

        for (char **m = h->malformed; m && *m; m++) {
                char *nl = strchr(*m, '\n');

                *nl = 0;
                push_event(r, ANNOUNCE_MALFORMED, NULL, *m, "malformed election lease", nl + 1);
        }
        strv_free(h->malformed);
        h->malformed = NULL;

        g_hash_table_iter_init(&it, now_ips);
        while (g_hash_table_iter_next(&it, &k, NULL))
                if (!g_hash_table_contains(h->answered_ips, k))
                        r->a->counters.acquisitions++;
        g_hash_table_iter_init(&it, h->answered_ips);
        while (g_hash_table_iter_next(&it, &k, NULL))
                if (!g_hash_table_contains(now_ips, k) && !r->a->release_all && !r->alive)
                        r->a->counters.lost++;
        for (size_t i = 0; i < r->m->n_svcs; i++) {
                const struct announce_svc *s = r->m->svcs[i].svc;
                bool now = g_hash_table_contains(now_svcs, s->key);
                bool before = g_hash_table_contains(h->answering, s->key);

                if (now && !before) {
                        push_event(r, ANNOUNCE_STARTED, s->key, s->lease_name,
                                   "address bound to this node", NULL);
                        g_hash_table_add(h->answering, xstrdup(s->key));
                } else if (!now && before) {
                        push_event(r, ANNOUNCE_STOPPED, s->key, s->lease_name,
                                   r->m->svcs[i].local != LOCAL_CANDIDATE
                                       ? local_status_to_string(r->m->svcs[i].local)
                                       : stop,
                                   NULL);
                        g_hash_table_remove(h->answering, s->key);
                }
        }
        /* Services gone from the selection: the loop above left in
         * `answering` only services answered now (now_svcs, all of the model)
         * and those no longer in the model. */
        g_hash_table_iter_init(&it, h->answering);
        while (g_hash_table_iter_next(&it, &k, NULL))
                if (!g_hash_table_contains(now_svcs, k)) {
                        push_event(r, ANNOUNCE_STOPPED, k, NULL, "service no longer selected",
                                   NULL);
                        g_hash_table_iter_remove(&it);
                }
        g_hash_table_remove_all(h->answered_ips);
        g_hash_table_iter_init(&it, now_ips);
        while (g_hash_table_iter_next(&it, &k, NULL))
                g_hash_table_add(h->answered_ips, ip_dup(k));
        h->n_answered = g_hash_table_size(now_ips);
}

static struct hb_compat *compat_get(struct hb *h, const char *name, uint64_t now)
{
        struct hb_compat *c = g_hash_table_lookup(h->compat, name);

        if (!c) {
                c = xnew(struct hb_compat, 1);
                c->o.observed_at = now;
                g_hash_table_insert(h->compat, xstrdup(name), c);
        }
        return c;
}

/* The cilium-l2announce Lease of a service whose lowest address we answer
 * names us (best effort, for kubectl readers; never read for decisions). */
static void compat_writes(struct hrun *r, GHashTable *now_ips)
{
        struct announcer *a = r->a;

        if (a->shutting_down)
                return;
        for (size_t i = 0; i < r->m->n_svcs; i++) {
                const struct model_svc *ms = &r->m->svcs[i];
                struct hb_compat *c;
                bool present;

                if (ms->ips.n == 0 || !g_hash_table_contains(now_ips, &ms->ips.items[0]))
                        continue;
                c = compat_get(r->h, ms->svc->lease_name, r->now);
                present = c->o.present;
                if (c->pending || c->exists_unknown || (present && streq(c->o.holder, a->node)))
                        continue;
                if (r->now < c->retry_at) {
                        hwake(r, c->retry_at);
                        continue;
                }
                (void)emit(r, HB_W_COMPAT, present ? ANNOUNCE_LEASE_UPDATE : ANNOUNCE_LEASE_CREATE,
                           ms->svc->lease_name, present ? c->o.rv : NULL,
                           lease_body(r, ms->svc->lease_name, present ? c->o.rv : NULL, a->node,
                                      a->t.duration_s, NULL, present ? c->o.transitions + 1 : 0,
                                      NULL, NULL),
                           "compat");
                c->pending = true;
        }
}

static bool named_by_binding(struct hb *h, const char *lease)
{
        for (unsigned k = 0; k < ANNOUNCE_SHARDS; k++)
                for (size_t i = 0; i < h->shards[k].b.n; i++) {
                        _cleanup_free_ char *n =
                            announce_heartbeat_name(h->shards[k].b.items[i].node);

                        if (streq(n, lease))
                                return true;
                }
        return false;
}

static bool node_known(struct announcer *a, const char *lease)
{
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init(&it, a->nodes);
        while (g_hash_table_iter_next(&it, &k, NULL)) {
                _cleanup_free_ char *n = announce_heartbeat_name(k);

                if (streq(n, lease))
                        return true;
        }
        return false;
}

/* Garbage collection by the designated node: compat Leases of services no
 * longer selected, and fenced heartbeats of deleted Nodes no binding names. */
static void collect(struct hrun *r)
{
        struct announcer *a = r->a;
        GHashTableIter it;
        gpointer k, v;

        if (a->shutting_down || !a->designated)
                return;
        g_hash_table_iter_init(&it, r->h->compat);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                struct hb_compat *c = v;
                uint64_t due = c->o.observed_at + a->t.gc_after;

                if (!c->o.present || c->pending || model_by_lease(r->m, k))
                        continue;
                if (due < c->retry_at)
                        due = c->retry_at;
                if (r->now < due) {
                        hwake(r, due);
                        continue;
                }
                (void)emit(r, HB_W_GC, ANNOUNCE_LEASE_DELETE, k, c->o.rv, NULL, "gc");
                c->pending = true;
        }
        g_hash_table_iter_init(&it, r->h->peers);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                struct hb_peer *p = v;
                uint64_t due = p->o.observed_at + a->t.gc_after;

                if (!p->o.present || p->pending || !isempty(p->o.holder) ||
                    streq(p->lease, r->h->self_lease) || node_known(a, p->lease) ||
                    named_by_binding(r->h, p->lease))
                        continue;
                if (due < p->retry_at)
                        due = p->retry_at;
                if (r->now < due) {
                        hwake(r, due);
                        continue;
                }
                (void)emit(r, HB_W_GC, ANNOUNCE_LEASE_DELETE, p->lease, p->o.rv, NULL, "gc");
                p->pending = true;
        }
}

void hb_run(struct announcer *a, uint64_t now, int64_t wall, struct announce_decisions *out)
{
        struct hrun r = {.a = a, .h = a->hb, .now = now, .wall = wall, .out = out};
        GHashTable *now_ips = ip_table_new(NULL);
        GHashTable *now_svcs = g_hash_table_new(g_str_hash, g_str_equal);

        r.m = announcer_model(a);
        if (!a->started)
                adopt(&r);
        self_check(&r);
        r.candidacy = own_candidacy(a);
        prepare(&r);
        r.h->rank = rank(&r);
        r.h->coordinator = r.h->rank == 0;
        if (r.h->rank != SIZE_MAX) {
                fence(&r);
                place(&r);
        } else
                g_hash_table_remove_all(r.h->unplaced);
        /* A peer's heartbeat going stale changes our rank. */
        for (size_t k = 0; k < r.m->n_nodes; k++)
                if (r.node_peer[k])
                        hwake(&r,
                              r.node_peer[k]->o.observed_at + peer_duration(r.node_peer[k], &a->t));
        release(&r);
        /* Entries before writes: a hand-over leaves us silent first. */
        entries(&r, now_ips, now_svcs);
        /* Our own heartbeat first: the shell sends in this order, and a
         * takeover's shard writes must not make its renewal late. */
        self_write(&r);
        shard_writes(&r);
        compat_writes(&r, now_ips);
        collect(&r);
        events(&r, now_ips, now_svcs);
        r.h->n_live = r.alive ? 1 : 0;
        for (size_t k = 0; k < r.m->n_nodes; k++)
                r.h->n_live += r.node_peer[k] != NULL;
        g_hash_table_unref(now_ips);
        g_hash_table_unref(now_svcs);
        hrun_done(&r);
}

/* ---- introspection ---- */

size_t hb_n_held(const struct announcer *a, uint64_t now)
{
        const struct hb *h = a->hb;

        return h->self.registered && now < h->self.gate ? h->n_answered : 0;
}

/* The binding of ip as we see it, or NULL. */
static const struct binding *binding_of(struct hb *h, const struct ipaddr *ip)
{
        return bindings_get(&h->shards[announce_shard_of(ip)].b, ip);
}

size_t hb_n_unannounced(struct announcer *a, uint64_t now)
{
        const struct model *m = announcer_model(a);
        size_t n = 0;

        (void)now;
        for (size_t o = 0; o < m->n_owners; o++) {
                const struct binding *b;

                if (o > 0 && ipaddr_equal(&m->owners[o - 1].ip, &m->owners[o].ip))
                        continue;
                b = binding_of(a->hb, &m->owners[o].ip);
                if (!b || binding_state(a->hb, b) != B_LIVE)
                        n++;
        }
        return n;
}

int hb_leases(struct announcer *a, uint64_t now, struct announce_lease_info **ret, size_t *ret_n)
{
        const struct model *m = announcer_model(a);
        struct hb *h = a->hb;
        struct announce_lease_info *l = xnew(struct announce_lease_info, m->n_svcs);
        bool alive = h->self.registered && now < h->self.gate;

        for (size_t i = 0; i < m->n_svcs; i++) {
                const struct model_svc *ms = &m->svcs[i];
                const struct binding *b = ms->ips.n ? binding_of(h, &ms->ips.items[0]) : NULL;
                bool live = b && binding_state(h, b) == B_LIVE;
                struct announce_lease_info *x = &l[i];

                x->lease = xstrdup(ms->svc->lease_name);
                x->service = xstrdup(ms->svc->key);
                x->holder = live ? xstrdup(b->node) : NULL;
                x->canonical = m->groups[ms->group].canonical == i;
                if (ms->local != LOCAL_CANDIDATE) {
                        x->role = ANNOUNCE_ROLE_NONE;
                        x->not_candidate = local_status_to_string(ms->local);
                } else if (live && streq(b->node, a->node) && alive && b->epoch == h->self.epoch &&
                           ms->ips.n && g_hash_table_contains(h->answered_ips, &ms->ips.items[0])) {
                        x->role = ANNOUNCE_ROLE_HOLDER;
                        x->deadline = h->self.gate;
                } else if (live)
                        x->role = ANNOUNCE_ROLE_FOLLOWER;
                else
                        x->role = ANNOUNCE_ROLE_WAITING;
        }
        *ret = l;
        *ret_n = m->n_svcs;
        return 0;
}

int hb_info(struct announcer *a, uint64_t now, struct announce_heartbeat_info *ret)
{
        struct hb *h = a->hb;

        *ret = (struct announce_heartbeat_info){
            .epoch = h->self.epoch,
            .registered = h->self.registered && now < h->self.gate,
            .gate = h->self.gate,
            .coordinator = h->coordinator,
            .n_live = h->n_live,
        };
        for (unsigned k = 0; k < ANNOUNCE_SHARDS; k++)
                for (size_t i = 0; i < h->shards[k].b.n; i++) {
                        const struct binding *b = &h->shards[k].b.items[i];

                        ret->n_bound += h->self.registered && streq(b->node, a->node) &&
                                        b->epoch == h->self.epoch && streq(b->uid8, h->self.uid8);
                }
        return 0;
}
