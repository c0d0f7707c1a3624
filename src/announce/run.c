/* One run of the announcer: from the current inputs and a time, the
 * decisions (see announce.h for how the shell applies them).
 *
 *   1. Rebuild the model if an input changed; make a slot for every selected
 *      service's lease.
 *   2. First run after sync: leases that carry our name are re-adopted
 *      (renewed at once, before any acquisition), keeping the deadline of
 *      their pinned responder entries until the renewal succeeds.
 *   3. Deadlines that passed end `held` (the BPF program already stopped).
 *   4. What we want with each lease (wants()): the canonical lease of each
 *      group this node is a candidate for is contested; the other leases of
 *      the group are held only by the canonical lease's holder; everything
 *      else is released.
 *   5. Writes: renewals, releases, acquisitions (balanced, in this node's
 *      order), garbage collection — at most one in flight per lease.
 *   6. Outputs: responder entries, gratuitous announcements, policy status,
 *      events, next wake-up.
 *
 * Also here: freeing the decisions, and the status patch body for the shell. */
#include "announcer-internal.h"

#include "balance.h"
#include "lib/util.h"
#include "policy.h"
#include "status.h"

#define STATUS_RETRY (10 * USEC_PER_SEC)

struct run {
        struct announcer *a;
        const struct model *m;
        uint64_t now;
        int64_t wall;
        struct announce_decisions *out;
        struct slot **svc_slots; /* the slot of each selected service */
};

static void wake(struct run *r, uint64_t t)
{
        if (t < r->out->next_wakeup)
                r->out->next_wakeup = t <= r->now ? r->now : t;
}

static struct slot *service_slot(struct run *r, size_t i)
{
        return r->svc_slots[i];
}

/* The selected service of a slot, or NULL. */
static const struct model_svc *slot_svc(struct run *r, const struct slot *s)
{
        return s->svc ? &r->m->svcs[s->svc - 1] : NULL;
}

static int slot_order(const void *pa, const void *pb)
{
        const struct slot *x = *(const struct slot *const *)pa;
        const struct slot *y = *(const struct slot *const *)pb;

        return strcmp(x->name, y->name);
}

/* Every slot, sorted by lease name, for deterministic output; kept until a
 * slot is added or removed. */
static void sorted_slots(struct announcer *a)
{
        GHashTableIter it;
        gpointer v;
        size_t n = 0;

        if (a->sorted)
                return;
        a->sorted = xnew(struct slot *, g_hash_table_size(a->slots));
        g_hash_table_iter_init(&it, a->slots);
        while (g_hash_table_iter_next(&it, NULL, &v))
                a->sorted[n++] = v;
        qsort_safe(a->sorted, n, sizeof(*a->sorted), slot_order);
        a->n_sorted = n;
}

/* ---- actions ---- */

static void emit(struct run *r, struct slot *s, enum slot_write kind, const char *reason)
{
        struct announcer *a = r->a;
        struct announce_decisions *o = r->out;
        struct announce_lease_action *act;
        gint64 *key;

        o->actions = xreallocarray(o->actions, o->n_actions + 1, sizeof(*o->actions));
        act = &o->actions[o->n_actions++];
        *act = (struct announce_lease_action){
            .id = ++a->next_id,
            .op = kind == SLOT_WRITE_CREATE   ? ANNOUNCE_LEASE_CREATE
                  : kind == SLOT_WRITE_DELETE ? ANNOUNCE_LEASE_DELETE
                                              : ANNOUNCE_LEASE_UPDATE,
            .name = xstrdup(s->name),
            .resource_version = kind != SLOT_WRITE_CREATE ? xstrdup(s->rec.resource_version) : NULL,
            .body = kind != SLOT_WRITE_DELETE ? slot_body(s, kind, a->ns, a->node, r->wall, &a->t)
                                              : NULL,
            .reason = reason,
        };
        key = xnew(gint64, 1);
        *key = (gint64)act->id;
        g_hash_table_insert(a->pending, key, s);
        slot_sent(s, kind, act->id, r->now);
        a->counters.writes++;
}

/* ---- step 2: re-adoption ---- */

static void adopt(struct run *r)
{
        struct announcer *a = r->a;

        for (size_t k = 0; k < a->n_sorted; k++) {
                struct slot *s = a->sorted[k];
                const struct model_svc *ms = slot_svc(r, s);
                uint64_t deadline = UINT64_MAX;

                if (!slot_mine(s, a->node) || s->held)
                        continue;
                s->adopt = true;
                for (size_t i = 0; ms && i < a->n_pinned; i++)
                        if (announce_ip_list_contains(&ms->ips, &a->pinned[i].ip) &&
                            a->pinned[i].deadline < deadline)
                                deadline = a->pinned[i].deadline;
                if (deadline == UINT64_MAX || deadline <= r->now)
                        continue;
                /* The pinned entries keep answering until their deadline. */
                s->held = true;
                s->deadline = deadline;
                s->last_ok_sent = deadline - a->t.lifetime;
                s->announcing = true;
        }
        announcer_forget_pinned(a);
}

/* ---- step 3 ---- */

static void expire(struct run *r)
{
        for (size_t k = 0; k < r->a->n_sorted; k++) {
                struct slot *s = r->a->sorted[k];

                if (s->held && r->now >= s->deadline && s->pending == SLOT_WRITE_NONE &&
                    s->retry_at == 0 && r->now < s->pending_deadline) {
                        /* The last renewal succeeded, but its result came
                         * after the deadline it gives (a long wait in the
                         * client's queue): the next renewal goes out in
                         * this run, so the entries keep the bound of a
                         * pending renewal (timing.h), as if it had been
                         * sent at once. */
                        s->deadline = s->pending_deadline;
                        continue;
                }
                if (s->held && r->now >= s->deadline) {
                        s->held = false;
                        s->stop_reason = "renew deadline passed";
                        r->a->counters.lost++;
                }
        }
}

/* ---- step 4 ---- */

static void set_want(struct slot *s, enum want w, const char *why)
{
        if (s) {
                s->want = w;
                s->why = why;
        }
}

static void wants(struct run *r)
{
        struct announcer *a = r->a;

        /* Leases of no selected service: release. */
        for (size_t k = 0; k < a->n_sorted; k++)
                set_want(a->sorted[k], WANT_RELEASE, "service no longer selected");

        for (size_t gi = 0; gi < r->m->n_groups; gi++) {
                const struct model_group *g = &r->m->groups[gi];
                struct slot *c = service_slot(r, g->canonical);

                for (size_t k = 0; k < g->n_members; k++) {
                        size_t i = g->members[k];
                        struct slot *s = service_slot(r, i);

                        if (a->release_all)
                                set_want(s, WANT_RELEASE, "agent shutting down");
                        else if (!g->self_candidate)
                                set_want(s, WANT_RELEASE,
                                         local_status_to_string(r->m->svcs[i].local));
                        else if (i == g->canonical)
                                set_want(s, a->shutting_down ? WANT_KEEP : WANT_HOLD, NULL);
                        else if (c && c->held && !a->shutting_down)
                                set_want(s, WANT_HOLD, NULL);
                        else if (c && slot_held_by_other(c, a->node, r->now, &a->t))
                                set_want(s, WANT_RELEASE,
                                         "shares an address with a service announced by "
                                         "another node");
                        else
                                set_want(s, WANT_KEEP, NULL);
                }
        }
}

/* ---- step 5 ---- */

/* Leases acquired together (a node's at start-up, a dead node's at its
 * failover) would otherwise keep one phase for ever and be renewed in bursts
 * whose tail waits in the apiserver: the first renewal after an acquisition
 * falls at a point of the period's second half fixed by the lease name,
 * which spreads them for good, at the cost of one early renewal each. */
static uint64_t first_renewal_due(const struct slot *s, const struct timing *t)
{
        uint64_t half = t->renew_deadline / 2;

        return s->last_ok_sent + half + (uint64_t)(g_str_hash(s->name) % 1000) * half / 1000;
}

static uint64_t renew_due(struct run *r, const struct slot *s)
{
        struct announcer *a = r->a;
        uint64_t due;

        if (s->adopt || a->renew_all || !s->held)
                due = r->now; /* re-adoption, shutdown, or lapsed: at once */
        else {
                due = s->last_ok_sent + a->t.lifetime - renew_margin(&a->rtt, &a->t);
                if (s->first_renewal) {
                        uint64_t spread = first_renewal_due(s, &a->t);

                        due = spread < due ? spread : due;
                }
        }
        return due > s->retry_at ? due : s->retry_at;
}

/* Renewals and releases of leases carrying our name. */
static void write_ours(struct run *r, struct slot **slots, size_t n)
{
        struct announcer *a = r->a;

        for (size_t i = 0; i < n; i++) {
                struct slot *s = slots[i];
                uint64_t due;

                if (s->want == WANT_RELEASE && s->held) {
                        /* Fall silent now; the release follows the entries. */
                        s->held = false;
                        s->stop_reason = s->why;
                }
                if (s->pending != SLOT_WRITE_NONE || !slot_mine(s, a->node))
                        continue;
                if (s->want == WANT_RELEASE) {
                        if (r->now < s->retry_at) {
                                wake(r, s->retry_at);
                                continue;
                        }
                        emit(r, s, SLOT_WRITE_RELEASE, "release");
                } else {
                        due = renew_due(r, s);
                        if (s->held)
                                wake(r, s->deadline);
                        if (r->now < due) {
                                wake(r, due);
                                continue;
                        }
                        emit(r, s, SLOT_WRITE_RENEW, s->adopt ? "re-adopt" : "renew");
                        if (s->adopt && !r->a->started) {
                                s->adoption_write = true;
                                a->n_adopting++;
                        }
                }
        }
}

struct candidate {
        struct slot *s;
        uint64_t free_at;
        uint64_t order;
        size_t group;
};

static int candidate_order(const void *pa, const void *pb)
{
        const struct candidate *x = pa, *y = pb;

        return x->order < y->order ? -1 : x->order > y->order;
}

static bool acquirable(struct run *r, struct slot *s, uint64_t *ret_free_at)
{
        struct announcer *a = r->a;
        uint64_t free_at;

        if (s->want != WANT_HOLD || s->pending != SLOT_WRITE_NONE || slot_mine(s, a->node))
                return false;
        free_at = slot_free_at(s, a->node, &a->t);
        if (free_at == UINT64_MAX)
                return false;
        /* After an error, or a conflict the watch has not explained yet,
         * wait a retry period. A conflict explained by a newer object needs
         * no wait: that object decides. */
        if ((slot_stale(s) || !s->conflict_rv) && s->retry_at > free_at)
                free_at = s->retry_at;
        *ret_free_at = free_at;
        return true;
}

static GHashTable *dead_nodes(struct run *r)
{
        GHashTable *dead = g_hash_table_new(g_str_hash, g_str_equal);

        for (size_t k = 0; k < r->a->n_sorted; k++) {
                struct slot *s = r->a->sorted[k];

                if (slot_expired_other(s, r->a->node, r->now, &r->a->t))
                        g_hash_table_add(dead, s->rec.holder);
        }
        return dead;
}

/* Acquisitions: group mates of a canonical lease we hold at once; canonical
 * leases while under our share, in our node-specific order, or at once when
 * no other candidate is left for them; the others after the balance delay,
 * spread over a second delay by our order so that over-share nodes share
 * what is left instead of the quickest taking all. */
static void acquire(struct run *r, struct slot **slots, size_t n)
{
        struct announcer *a = r->a;
        _cleanup_free_ struct candidate *cands = NULL;
        _cleanup_free_ const char **released = NULL;
        size_t n_cands = 0, share, count = 0;
        GHashTable *dead;

        if (a->shutting_down || a->n_adopting > 0)
                return;
        cands = xnew(struct candidate, n);
        released = xnew(const char *, r->m->n_groups);
        for (size_t gi = 0; gi < r->m->n_groups; gi++) {
                struct slot *c = service_slot(r, r->m->groups[gi].canonical);

                released[gi] = c->released_by;
                if (c->held || slot_mine(c, a->node) || c->pending == SLOT_WRITE_CREATE ||
                    c->pending == SLOT_WRITE_ACQUIRE)
                        count++;
        }
        for (size_t i = 0; i < n; i++) {
                struct slot *s = slots[i];
                const struct model_svc *ms = slot_svc(r, s);
                uint64_t free_at;
                bool canonical;

                if (!ms || !acquirable(r, s, &free_at))
                        continue;
                canonical = r->m->groups[ms->group].canonical == (size_t)(ms - r->m->svcs);
                if (free_at > r->now) {
                        wake(r, free_at);
                        continue;
                }
                if (!canonical) {
                        emit(r, s, s->rec.present ? SLOT_WRITE_ACQUIRE : SLOT_WRITE_CREATE,
                             "acquire");
                        continue;
                }
                cands[n_cands++] =
                    (struct candidate){s, free_at, balance_order(a->node, s->name), ms->group};
        }
        if (n_cands == 0)
                return;
        qsort_safe(cands, n_cands, sizeof(*cands), candidate_order);
        dead = dead_nodes(r);
        share = balance_share(r->m, dead, released);
        for (size_t i = 0; i < n_cands; i++) {
                struct slot *s = cands[i].s;
                uint64_t delay = a->t.balance_delay;
                uint64_t later = cands[i].free_at + delay + cands[i].order % delay;

                if (count >= share && r->now < later &&
                    balance_others(r->m, cands[i].group, dead, released[cands[i].group]) > 0) {
                        wake(r, later);
                        continue;
                }
                emit(r, s, s->rec.present ? SLOT_WRITE_ACQUIRE : SLOT_WRITE_CREATE, "acquire");
                count++;
        }
        g_hash_table_unref(dead);
}

/* Garbage collection by the designated node: leases left empty for a lease
 * duration plus the balance delay (no candidate wanted them), and expired
 * leases of services nobody announces any more. */
static void collect(struct run *r, struct slot **slots, size_t n)
{
        struct announcer *a = r->a;

        if (a->shutting_down || !a->designated)
                return;
        for (size_t i = 0; i < n; i++) {
                struct slot *s = slots[i];
                uint64_t due;

                if (!s->rec.present || s->pending != SLOT_WRITE_NONE || s->held ||
                    slot_mine(s, a->node) || s->want != WANT_RELEASE)
                        continue;
                if (isempty(s->rec.holder))
                        due = s->observed_at + a->t.gc_after;
                else if (!s->svc)
                        due = slot_free_at(s, a->node, &a->t) + a->t.duration;
                else
                        continue;
                if (due < s->retry_at)
                        due = s->retry_at;
                if (r->now < due) {
                        wake(r, due);
                        continue;
                }
                emit(r, s, SLOT_WRITE_DELETE, "gc");
        }
}

/* ---- step 6 ---- */

static int entry_order(const void *pa, const void *pb)
{
        const struct announce_entry *x = pa, *y = pb;
        int c = ipaddr_cmp(&x->ip, &y->ip);

        if (c)
                return c;
        return x->ifindex < y->ifindex ? -1 : x->ifindex > y->ifindex;
}

static bool slot_answers(const struct slot *s, uint64_t now)
{
        return s && s->want != WANT_RELEASE && slot_announcing(s, now);
}

/* An address is answered only while we hold the lease of every service that
 * announces it; its deadline is the earliest of theirs. */
static bool address_deadline(struct run *r, const struct ipaddr *ip, uint64_t *ret)
{
        size_t from, to;
        uint64_t d = UINT64_MAX;

        model_owners(r->m, ip, &from, &to);
        for (size_t o = from; o < to; o++) {
                const struct slot *s = service_slot(r, r->m->owners[o].svc);

                if (!slot_answers(s, r->now))
                        return false;
                if (s->deadline < d)
                        d = s->deadline;
        }
        *ret = d;
        return from < to;
}

static void entries(struct run *r)
{
        struct announce_decisions *o = r->out;
        size_t cap = 0;

        for (size_t i = 0; i < r->m->n_svcs; i++)
                if (slot_answers(service_slot(r, i), r->now))
                        cap += r->m->svcs[i].n_entries;
        o->entries = xnew(struct announce_entry, cap);
        for (size_t i = 0; i < r->m->n_svcs; i++) {
                const struct model_svc *ms = &r->m->svcs[i];

                if (!slot_answers(service_slot(r, i), r->now))
                        continue;
                for (size_t e = 0; e < ms->n_entries; e++) {
                        uint64_t deadline;

                        if (!ms->entries[e].up ||
                            !address_deadline(r, &ms->entries[e].ip, &deadline))
                                continue;
                        o->entries[o->n_entries++] = (struct announce_entry){
                            ms->entries[e].ip, ms->entries[e].ifindex, deadline};
                        wake(r, deadline);
                }
        }
        announce_entries_normalise(o);
}

void announce_entries_normalise(struct announce_decisions *o)
{
        size_t w = 0;

        if (o->n_entries == 0)
                return;
        qsort_safe(o->entries, o->n_entries, sizeof(*o->entries), entry_order);
        for (size_t i = 0; i < o->n_entries; i++)
                if (w == 0 || entry_order(&o->entries[w - 1], &o->entries[i]) != 0)
                        o->entries[w++] = o->entries[i];
        o->n_entries = w;
}

static void garps(struct run *r)
{
        struct announce_decisions *o = r->out;
        _cleanup_free_ struct garp_key *cur = NULL;
        _cleanup_free_ struct garp_key *due = NULL;
        size_t n_due = 0;

        cur = xnew(struct garp_key, o->n_entries);
        for (size_t i = 0; i < o->n_entries; i++)
                cur[i] = (struct garp_key){o->entries[i].ip, o->entries[i].ifindex};
        garp_table_update(&r->a->garps, cur, o->n_entries, r->now, &due, &n_due, &o->next_wakeup);
        if (o->next_wakeup < r->now)
                o->next_wakeup = r->now;
        o->garps = xnew(struct announce_garp, n_due);
        for (size_t i = 0; i < n_due; i++)
                o->garps[i] = (struct announce_garp){due[i].ip, due[i].ifindex};
        o->n_garps = n_due;
}

static int policy_order(const void *pa, const void *pb)
{
        const struct l2pol *x = *(const struct l2pol *const *)pa;
        const struct l2pol *y = *(const struct l2pol *const *)pb;

        return strcmp(x->name, y->name);
}

static void statuses(struct run *r)
{
        struct announcer *a = r->a;
        struct announce_decisions *o = r->out;
        _cleanup_free_ struct l2pol **pols = NULL;
        GHashTableIter it;
        gpointer v;
        size_t n = 0;

        if (a->shutting_down || !a->designated)
                return;
        pols = xnew(struct l2pol *, g_hash_table_size(a->policies));
        g_hash_table_iter_init(&it, a->policies);
        while (g_hash_table_iter_next(&it, NULL, &v))
                pols[n++] = v;
        qsort_safe(pols, n, sizeof(*pols), policy_order);
        for (size_t i = 0; i < n; i++) {
                struct status_sent *sent = g_hash_table_lookup(a->status_sent, pols[i]->name);
                struct announce_policy_status *st;
                struct k8s_conditions c;

                if (!policy_status_compute(pols[i], announcer_refused_external_ips(a, pols[i]),
                                           r->wall, &c)) {
                        g_hash_table_remove(a->status_sent, pols[i]->name);
                        continue;
                }
                /* Written and not yet seen back: do not write it again soon. */
                if (sent && streq_ptr(sent->resource_version, pols[i]->resource_version) &&
                    r->now < sent->at + STATUS_RETRY) {
                        k8s_conditions_done(&c);
                        wake(r, sent->at + STATUS_RETRY);
                        continue;
                }
                o->statuses = xreallocarray(o->statuses, o->n_statuses + 1, sizeof(*o->statuses));
                st = &o->statuses[o->n_statuses++];
                st->conditions = c;
                st->policy = xstrdup(pols[i]->name);
                if (!sent) {
                        sent = xnew(struct status_sent, 1);
                        g_hash_table_replace(a->status_sent, xstrdup(pols[i]->name), sent);
                }
                free_and_strdup(&sent->resource_version, pols[i]->resource_version);
                sent->at = r->now;
                wake(r, r->now + STATUS_RETRY);
        }
}

static void events(struct run *r, struct slot **slots, size_t n)
{
        struct announce_decisions *o = r->out;

        for (size_t i = 0; i < n; i++) {
                struct slot *s = slots[i];
                const struct model_svc *ms = slot_svc(r, s);
                bool now = slot_answers(s, r->now);
                struct announce_event *e;

                if (now == s->announcing)
                        continue;
                o->events = xreallocarray(o->events, o->n_events + 1, sizeof(*o->events));
                e = &o->events[o->n_events++];
                e->kind = now ? ANNOUNCE_STARTED : ANNOUNCE_STOPPED;
                e->reason = now ? (s->start_reason ? s->start_reason : "lease acquired")
                                : (s->stop_reason ? s->stop_reason : "lease lost");
                e->service = xstrdup(ms ? ms->svc->key : s->name);
                e->lease = xstrdup(s->name);
                e->detail = NULL;
                s->announcing = now;
                s->start_reason = NULL;
                s->stop_reason = NULL;
        }
}

/* Slots nobody needs: no selected service, no object, nothing in flight. */
static void sweep(struct run *r)
{
        struct announcer *a = r->a;
        bool removed = false;

        for (size_t k = 0; k < a->n_sorted; k++) {
                struct slot *s = a->sorted[k];

                if (!s->rec.present && s->pending == SLOT_WRITE_NONE && !s->held &&
                    !s->announcing && !s->exists_unknown && !s->svc) {
                        g_hash_table_remove(a->slots, s->name);
                        removed = true;
                }
        }
        if (removed) {
                free(a->sorted);
                a->sorted = NULL;
                a->n_sorted = 0;
        }
}

/* A slot for every selected service's lease, and the links between them;
 * kept until the model is rebuilt (linked slots are never swept). */
static void link_slots(struct run *r)
{
        struct announcer *a = r->a;
        GHashTableIter it;
        gpointer v;

        if (a->svc_slots) {
                r->svc_slots = a->svc_slots;
                return;
        }
        r->svc_slots = xnew(struct slot *, r->m->n_svcs);
        g_hash_table_iter_init(&it, a->slots);
        while (g_hash_table_iter_next(&it, NULL, &v))
                ((struct slot *)v)->svc = 0;
        for (size_t i = 0; i < r->m->n_svcs; i++) {
                struct slot *s = announcer_slot(a, r->m->svcs[i].svc->lease_name, r->now);

                s->svc = i + 1;
                r->svc_slots[i] = s;
        }
        a->svc_slots = r->svc_slots;
}

static void pinned_only(struct announcer *a, struct announce_decisions *out)
{
        out->entries = xnew(struct announce_entry, a->n_pinned);
        if (a->n_pinned > 0)
                memcpy(out->entries, a->pinned, a->n_pinned * sizeof(*out->entries));
        out->n_entries = a->n_pinned;
}

int announcer_run(struct announcer *a, uint64_t now_mono, int64_t now_wall,
                  struct announce_decisions *ret)
{
        struct announce_decisions out = {.next_wakeup = UINT64_MAX};
        struct run r = {.a = a, .now = now_mono, .wall = now_wall, .out = &out};

        assert(a);
        assert(ret);
        if (!a->synced) {
                pinned_only(a, &out);
                *ret = out;
                return 0;
        }
        r.m = announcer_model(a);
        if (a->hb) {
                hb_run(a, now_mono, now_wall, &out);
                garps(&r);
                statuses(&r);
                a->started = true;
                a->renew_all = false;
                *ret = out;
                return 0;
        }
        link_slots(&r);
        sorted_slots(a);
        if (!a->started)
                adopt(&r);
        expire(&r);
        wants(&r);
        write_ours(&r, a->sorted, a->n_sorted);
        acquire(&r, a->sorted, a->n_sorted);
        collect(&r, a->sorted, a->n_sorted);
        entries(&r);
        garps(&r);
        statuses(&r);
        events(&r, a->sorted, a->n_sorted);
        a->started = true;
        a->renew_all = false;
        sweep(&r);
        *ret = out;
        return 0;
}

void announce_decisions_done(struct announce_decisions *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n_actions; i++) {
                free(d->actions[i].name);
                free(d->actions[i].resource_version);
                json_decref(d->actions[i].body);
        }
        free(d->actions);
        free(d->entries);
        free(d->garps);
        for (size_t i = 0; i < d->n_statuses; i++) {
                free(d->statuses[i].policy);
                k8s_conditions_done(&d->statuses[i].conditions);
        }
        free(d->statuses);
        for (size_t i = 0; i < d->n_events; i++) {
                free(d->events[i].service);
                free(d->events[i].lease);
                free(d->events[i].detail);
        }
        free(d->events);
        *d = (struct announce_decisions){.next_wakeup = UINT64_MAX};
}

json_t *announce_policy_status_patch(const struct announce_policy_status *s)
{
        assert(s);
        return json_pack("{s:{s:o}}", "status", "conditions",
                         k8s_conditions_to_json(&s->conditions));
}
