/* Which waiting request goes on the wire next: three classes served in
 * order (priority, ordinary, low), each first come first served, behind a
 * client-side token bucket (QPS and burst) that every request passes,
 * priority ones included. Only priority requests may go when the caller has
 * no free slot on the wire (its in-flight limit).
 *
 * It holds the caller's items in its queues and knows nothing else of them;
 * time is passed in (monotonic µs), so it is pure and unit-tested. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

enum kube_throttle_class {
        KUBE_THROTTLE_PRIORITY, /* before all others, slot or not */
        KUBE_THROTTLE_ORDINARY,
        KUBE_THROTTLE_LOW, /* when nothing else waits, and only from a full bucket */
        _KUBE_THROTTLE_CLASS_MAX,
};

struct kube_throttle {
        double qps;     /* 0: unlimited */
        unsigned burst; /* bucket size */
        double tokens;
        uint64_t tokens_at; /* when tokens was last refilled */
        GQueue waiting[_KUBE_THROTTLE_CLASS_MAX];
};

/* qps 0: no token bucket. A burst below 1 with qps > 0 becomes 1. The bucket
 * starts full. */
void kube_throttle_init(struct kube_throttle *t, double qps, unsigned burst, uint64_t now);
/* Forgets the waiting items (they are the caller's to free). */
void kube_throttle_done(struct kube_throttle *t);

void kube_throttle_push(struct kube_throttle *t, enum kube_throttle_class class, void *item);
/* Take an item out again before it went (it must wait in that class). */
void kube_throttle_remove(struct kube_throttle *t, enum kube_throttle_class class, void *item);

/* The next item to start now, having taken its token; or NULL when nothing
 * may go: nothing waits, or only ordinary and low items wait and !slot_free,
 * or the bucket is empty. *ret_wait_usec: how long until the next token when
 * the bucket is what holds items back (at least 1), else 0. */
void *kube_throttle_pop(struct kube_throttle *t, uint64_t now, bool slot_free,
                        uint64_t *ret_wait_usec);
