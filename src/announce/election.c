/* The per-lease election state machine (see election.h). */
#include "election.h"

#include "lib/util.h"

static void record_done(struct lease_record *r)
{
        free(r->holder);
        free(r->resource_version);
        free(r->acquire_time);
        *r = (struct lease_record){0};
}

static void record_set(struct lease_record *r, const struct k8s_lease *l)
{
        record_done(r);
        *r = (struct lease_record){
            .present = true,
            .holder = xstrdup(strempty(l->holder)),
            .resource_version = xstrdup(l->meta.resource_version),
            .duration_s = l->lease_duration_seconds,
            .transitions = l->lease_transitions,
            .acquire_time = xstrdup(l->acquire_time),
        };
}

struct slot *slot_new(const char *name, uint64_t now)
{
        struct slot *s;

        assert(name);
        s = xnew(struct slot, 1);
        s->name = xstrdup(name);
        s->observed_at = now;
        return s;
}

void slot_free(struct slot *s)
{
        if (!s)
                return;
        record_done(&s->rec);
        free(s->conflict_rv);
        free(s->pending_rv);
        free(s->released_by);
        free(s->name);
        free(s);
}

static bool all_digits(const char *s)
{
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* Is resourceVersion a newer than b? Kubernetes calls them opaque, but they
 * are etcd revisions: compare numerically when both are numbers, else any
 * difference counts as newer. */
bool lease_rv_newer(const char *a, const char *b)
{
        if (!a || !b)
                return true;
        if (all_digits(a) && all_digits(b)) {
                size_t la = strlen(a), lb = strlen(b);

                while (la > 1 && *a == '0')
                        a++, la--;
                while (lb > 1 && *b == '0')
                        b++, lb--;
                return la != lb ? la > lb : strcmp(a, b) > 0;
        }
        return !streq(a, b);
}

static uint64_t record_duration(const struct lease_record *r, const struct timing *t)
{
        return r->duration_s > 0 ? (uint64_t)r->duration_s * USEC_PER_SEC : t->duration;
}

bool slot_mine(const struct slot *s, const char *self)
{
        assert(s);
        assert(self);
        return s->rec.present && streq_ptr(s->rec.holder, self);
}

bool slot_announcing(const struct slot *s, uint64_t now)
{
        assert(s);
        return s->held && now < s->deadline;
}

static bool holder_other(const struct slot *s, const char *self)
{
        return s->rec.present && !isempty(s->rec.holder) && !streq(s->rec.holder, self);
}

bool slot_held_by_other(const struct slot *s, const char *self, uint64_t now,
                        const struct timing *t)
{
        assert(s);
        assert(self);
        assert(t);
        if (!s->rec.present)
                return (s->exists_unknown || s->deleted_held) && now < s->observed_at + t->duration;
        return holder_other(s, self) && now < s->observed_at + record_duration(&s->rec, t);
}

uint64_t slot_free_at(const struct slot *s, const char *self, const struct timing *t)
{
        assert(s);
        assert(self);
        assert(t);
        if (!s->rec.present)
                return s->exists_unknown || s->deleted_held ? s->observed_at + t->duration
                                                            : s->observed_at;
        if (isempty(s->rec.holder))
                return s->observed_at;
        if (streq(s->rec.holder, self))
                return UINT64_MAX;
        return s->observed_at + record_duration(&s->rec, t);
}

bool slot_expired_other(const struct slot *s, const char *self, uint64_t now,
                        const struct timing *t)
{
        assert(s);
        assert(self);
        assert(t);
        return holder_other(s, self) && now >= s->observed_at + record_duration(&s->rec, t);
}

bool slot_stale(const struct slot *s)
{
        assert(s);
        if (!s->rec.present)
                return s->exists_unknown;
        return s->conflict_rv && streq_ptr(s->conflict_rv, s->rec.resource_version);
}

bool slot_observe(struct slot *s, const struct k8s_lease *l, uint64_t now, const char *self)
{
        assert(s);
        assert(l);
        assert(self);
        if (s->rec.present && !lease_rv_newer(l->meta.resource_version, s->rec.resource_version))
                return false; /* a replay or a lagging watch */
        /* Remember who handed the lease over: it does not want it back. */
        if (isempty(l->holder) && s->rec.present && !isempty(s->rec.holder)) {
                free_and_strdup(&s->released_by, s->rec.holder);
        } else if (!isempty(l->holder)) {
                free(s->released_by);
                s->released_by = NULL;
        }
        record_set(&s->rec, l);
        s->observed_at = now;
        s->exists_unknown = false;
        s->deleted_held = false;
        if (s->held && !streq(s->rec.holder, self)) {
                s->held = false;
                s->stop_reason = isempty(s->rec.holder) ? "lease released by another writer"
                                                        : "lease taken by another node";
                return true;
        }
        return false;
}

static void forget(struct slot *s, uint64_t now, bool deleted_held)
{
        record_done(&s->rec);
        s->observed_at = now;
        s->exists_unknown = false;
        s->deleted_held = deleted_held;
}

bool slot_observe_deleted(struct slot *s, uint64_t now, const char *self, const struct timing *t)
{
        bool lost;

        assert(s);
        assert(self);
        assert(t);
        lost = s->held;
        /* A lease another node held and may still answer for: wait a full
         * duration, as if it had not changed. Free at once if it was empty,
         * expired, or ours. */
        forget(s, now, slot_held_by_other(s, self, now, t));
        if (lost) {
                s->held = false;
                s->stop_reason = "lease deleted";
        }
        return lost;
}

void slot_sent(struct slot *s, enum slot_write kind, uint64_t id, uint64_t now)
{
        assert(s);
        assert(kind != SLOT_WRITE_NONE);
        s->pending = kind;
        s->pending_id = id;
        s->pending_sent = now;
        free_and_strdup(&s->pending_rv, s->rec.resource_version);
        /* A renewal waiting in the client's queue or on a slow apiserver
         * does not make the entries lapse (timing.h) */
        if (kind == SLOT_WRITE_RENEW && slot_announcing(s, now) && s->retry_at == 0 &&
            s->pending_deadline > s->deadline)
                s->deadline = s->pending_deadline;
}

/* A write failed: the entries answer no longer than the last success allows
 * by itself. */
static void end_extension(struct slot *s, const struct timing *t)
{
        if (s->deadline > s->last_ok_sent + t->lifetime)
                s->deadline = s->last_ok_sent + t->lifetime;
}

enum slot_write slot_result(struct slot *s, uint64_t id, enum slot_result r,
                            const struct k8s_lease *l, uint64_t now, const char *self,
                            const struct timing *t)
{
        enum slot_write kind;
        uint64_t sent;
        bool off_cadence;

        assert(s);
        assert(self);
        assert(t);
        if (s->pending == SLOT_WRITE_NONE || id != s->pending_id)
                return SLOT_WRITE_NONE;
        kind = s->pending;
        sent = s->pending_sent;
        s->pending = SLOT_WRITE_NONE;
        s->pending_id = 0;

        if (r == SLOT_RESULT_OK && kind != SLOT_WRITE_DELETE && !l)
                r = SLOT_RESULT_ERROR; /* success without the object: no resourceVersion */
        if (r != SLOT_RESULT_OK)
                end_extension(s, t);

        switch (r) {
        case SLOT_RESULT_OK:
                free(s->conflict_rv);
                s->conflict_rv = NULL;
                s->retry_at = 0;
                if (kind == SLOT_WRITE_DELETE) {
                        forget(s, now, false);
                        break;
                }
                /* A loss is counted by the caller (held before and after). */
                (void)slot_observe(s, l, now, self);
                if (kind == SLOT_WRITE_RELEASE) {
                        s->held = false;
                        break;
                }
                if (!slot_mine(s, self))
                        break; /* someone wrote after us, and we already saw it */
                if (!slot_announcing(s, now))
                        s->start_reason =
                            kind == SLOT_WRITE_RENEW ? "lease re-adopted" : "lease acquired";
                /* acquisitions, re-adoptions and renewals of a lapsed lease
                 * come in bursts: spread the next renewal (run.c) */
                off_cadence = kind != SLOT_WRITE_RENEW || s->adopt || !s->held;
                s->held = true;
                s->adopt = false;
                if (sent >= s->last_ok_sent) {
                        s->last_ok_sent = sent;
                        s->deadline = sent + t->lifetime;
                        s->pending_deadline = sent + t->pending_lifetime;
                        s->first_renewal = off_cadence;
                }
                break;
        case SLOT_RESULT_CONFLICT:
                free(s->conflict_rv);
                s->conflict_rv = s->pending_rv;
                s->pending_rv = NULL;
                s->retry_at = now + t->retry_period;
                if (kind == SLOT_WRITE_CREATE && !s->rec.present) {
                        s->exists_unknown = true;
                        s->observed_at = now;
                }
                if (s->held && kind != SLOT_WRITE_DELETE) {
                        /* The lease is someone else's: silent at once. */
                        s->held = false;
                        s->stop_reason = "lease changed by another writer (conflict)";
                }
                break;
        case SLOT_RESULT_NOT_FOUND:
                if (s->held) {
                        s->held = false;
                        s->stop_reason = "lease deleted";
                }
                /* Whatever we wrote to was free, expired or ours: free for us. */
                forget(s, now, false);
                break;
        case SLOT_RESULT_ERROR:
                free(s->conflict_rv);
                s->conflict_rv = NULL;
                s->retry_at = now + t->retry_period;
                break;
        }
        return kind;
}

json_t *slot_body(const struct slot *s, enum slot_write kind, const char *ns, const char *self,
                  int64_t now_wall, const struct timing *t)
{
        struct k8s_lease l = {0};
        char now[40];

        assert(s);
        assert(ns);
        assert(self);
        assert(t);
        assert(kind != SLOT_WRITE_NONE && kind != SLOT_WRITE_DELETE);
        (void)k8s_time_format(now_wall, true, now, sizeof(now));
        l.meta.name = s->name;
        l.meta.namespace = (char *)ns;
        l.meta.resource_version = kind == SLOT_WRITE_CREATE ? NULL : s->rec.resource_version;
        l.holder = (char *)self;
        l.lease_duration_seconds = t->duration_s;
        l.acquire_time = now;
        l.renew_time = now;
        switch (kind) {
        case SLOT_WRITE_CREATE:
                l.lease_transitions = 0;
                break;
        case SLOT_WRITE_ACQUIRE:
                /* client-go: a new holder increments the transitions. */
                l.lease_transitions = s->rec.transitions + 1;
                break;
        case SLOT_WRITE_RENEW:
                if (s->rec.acquire_time)
                        l.acquire_time = s->rec.acquire_time;
                l.lease_transitions = s->rec.transitions;
                break;
        case SLOT_WRITE_RELEASE:
                /* client-go's ReleaseOnCancel: empty holder, 1 s duration. */
                l.holder = (char *)"";
                l.lease_duration_seconds = 1;
                l.lease_transitions = s->rec.transitions;
                break;
        default:
                assert(false);
        }
        return k8s_lease_to_json(&l);
}
