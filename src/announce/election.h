/* One lease, as this node sees and writes it: the election state machine.
 *
 * What we know of the Lease object comes from two sources, both fed in by the
 * shell: the watch (with the local monotonic time of the observation) and the
 * results of our own writes. A newer resourceVersion always wins; an older
 * or equal one is ignored, so a lagging watch never rolls our knowledge back.
 *
 * client-go semantics: a lease held by someone else expires, for us, at the
 * local time we last saw it change plus its leaseDurationSeconds; a lease
 * with an empty holder (released) or no lease at all is free at once.
 *
 * Our side: `held` means our last successful write put our name on the lease
 * and nothing since says otherwise. The slot then announces until
 * `deadline` = send time of that write + lifetime. A conflict (409) on a
 * renewal, a watch event naming another holder, or the lease's deletion ends
 * `held` at once; an expired deadline ends it too (the lease may still carry
 * our name: we then renew it as a re-adoption, every retry period).
 *
 * At most one write per lease is in flight; results are matched by id. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/objects.h"
#include "timing.h"

enum slot_write {
        SLOT_WRITE_NONE,
        SLOT_WRITE_CREATE,
        SLOT_WRITE_ACQUIRE, /* update taking a free or expired lease */
        SLOT_WRITE_RENEW,   /* update by the holder (or re-adoption) */
        SLOT_WRITE_RELEASE, /* update to holder "" (client-go ReleaseOnCancel) */
        SLOT_WRITE_DELETE,  /* garbage collection */
};

enum slot_result {
        SLOT_RESULT_OK,
        SLOT_RESULT_CONFLICT,  /* 409: Conflict or AlreadyExists */
        SLOT_RESULT_NOT_FOUND, /* 404 */
        SLOT_RESULT_ERROR,     /* anything else, timeouts included */
};

struct lease_record {
        bool present;
        char *holder; /* "" when none */
        char *resource_version;
        int32_t duration_s;
        int32_t transitions;
        char *acquire_time;
};

struct slot {
        char *name;
        struct lease_record rec;
        uint64_t observed_at; /* local monotonic time of the last change we saw */
        bool exists_unknown;  /* a create met AlreadyExists; the watch will tell more */
        bool deleted_held;    /* absent since a lease held by another node was deleted */
        char *conflict_rv;    /* resourceVersion a write of ours conflicted with */
        char *released_by;    /* holder that emptied the lease (handover), until retaken */

        bool held;
        uint64_t last_ok_sent; /* send time of our last successful write */
        uint64_t deadline;     /* entries answer until then */
        /* last_ok_sent + timing's pending_lifetime: the deadline while a
         * renewal of the announcing lease is pending (timing.h); 0: none */
        uint64_t pending_deadline;
        bool adopt;         /* renew at once (re-adoption after a restart) */
        bool first_renewal; /* the next renewal is the first after an acquisition */
        uint64_t retry_at;  /* no write before (after a failure) */

        uint64_t pending_id;
        enum slot_write pending;
        uint64_t pending_sent;
        char *pending_rv; /* resourceVersion the pending write was based on */

        /* Set by the announcer on each run. */
        size_t svc;          /* index + 1 of the selected service in the model, 0: none */
        int want;            /* enum want (announcer-internal.h) */
        const char *why;     /* reason for want, for events */
        bool adoption_write; /* the pending write is a start-up re-adoption */

        bool announcing; /* as of the last run, for events */
        const char *start_reason;
        const char *stop_reason;
};

struct slot *slot_new(const char *name, uint64_t now);
void slot_free(struct slot *s);

/* Watch input. Returns true if this took a held lease away from us. */
bool slot_observe(struct slot *s, const struct k8s_lease *l, uint64_t now, const char *self);
bool slot_observe_deleted(struct slot *s, uint64_t now, const char *self, const struct timing *t);

/* Result of the pending write. Returns the kind of write it answered
 * (SLOT_WRITE_NONE if id is not the pending one). */
enum slot_write slot_result(struct slot *s, uint64_t id, enum slot_result r,
                            const struct k8s_lease *l, uint64_t now, const char *self,
                            const struct timing *t);

/* The lease carries our name (whether or not we may still announce). */
bool slot_mine(const struct slot *s, const char *self);
bool slot_announcing(const struct slot *s, uint64_t now);
/* Held by another node and not expired by our observation. */
bool slot_held_by_other(const struct slot *s, const char *self, uint64_t now,
                        const struct timing *t);
/* When the lease is (or becomes) free for us to take: absent, released, or
 * expired. UINT64_MAX while it is ours or unknown. */
uint64_t slot_free_at(const struct slot *s, const char *self, const struct timing *t);
/* Expired by our observation, held by another node: that node is presumed dead. */
bool slot_expired_other(const struct slot *s, const char *self, uint64_t now,
                        const struct timing *t);
/* A write would reuse a resourceVersion that already conflicted. */
bool slot_stale(const struct slot *s);

/* Is resourceVersion a newer than b? (numerically when both are etcd
 * revisions; any difference otherwise; NULL counts as older) */
bool lease_rv_newer(const char *a, const char *b);

/* The Lease body for a write of the given kind, as client-go's leader
 * election would write it. now_wall in µs since the epoch. */
json_t *slot_body(const struct slot *s, enum slot_write kind, const char *ns, const char *self,
                  int64_t now_wall, const struct timing *t);
/* Marks the write as pending. A renewal of the announcing lease, with no
 * failure since the last success, extends the deadline to
 * pending_deadline until its result. */
void slot_sent(struct slot *s, enum slot_write kind, uint64_t id, uint64_t now);
