/* The client's waiting room: priority classes and the token bucket (see
 * throttle.h). */
#include "throttle.h"

#include <math.h>

#include "lib/util.h"

void kube_throttle_init(struct kube_throttle *t, double qps, unsigned burst, uint64_t now)
{
        assert(t);
        *t = (struct kube_throttle){
            .qps = qps,
            .burst = qps > 0 && burst < 1 ? 1 : burst,
            .tokens_at = now,
        };
        t->tokens = t->burst;
        for (size_t i = 0; i < ELEMENTSOF(t->waiting); i++)
                g_queue_init(&t->waiting[i]);
}

void kube_throttle_done(struct kube_throttle *t)
{
        assert(t);
        for (size_t i = 0; i < ELEMENTSOF(t->waiting); i++)
                g_queue_clear(&t->waiting[i]);
}

void kube_throttle_push(struct kube_throttle *t, enum kube_throttle_class class, void *item)
{
        assert(t);
        assert(class < _KUBE_THROTTLE_CLASS_MAX);
        g_queue_push_tail(&t->waiting[class], item);
}

void kube_throttle_remove(struct kube_throttle *t, enum kube_throttle_class class, void *item)
{
        assert(t);
        assert(class < _KUBE_THROTTLE_CLASS_MAX);
        g_queue_remove(&t->waiting[class], item);
}

static void refill(struct kube_throttle *t, uint64_t now)
{
        if (t->qps <= 0)
                return;
        if (now > t->tokens_at) {
                t->tokens += (double)(now - t->tokens_at) * t->qps / 1e6;
                if (t->tokens > t->burst)
                        t->tokens = t->burst;
        }
        t->tokens_at = now;
}

static bool empty(struct kube_throttle *t)
{
        for (size_t i = 0; i < ELEMENTSOF(t->waiting); i++)
                if (!g_queue_is_empty(&t->waiting[i]))
                        return false;
        return true;
}

void *kube_throttle_pop(struct kube_throttle *t, uint64_t now, bool slot_free,
                        uint64_t *ret_wait_usec)
{
        void *item = NULL;

        assert(t);
        assert(ret_wait_usec);
        *ret_wait_usec = 0;
        refill(t, now);
        if (empty(t))
                return NULL;
        /* ordinary and low items wait for a slot on the wire; priority
         * items never do */
        if (g_queue_is_empty(&t->waiting[KUBE_THROTTLE_PRIORITY]) && !slot_free)
                return NULL;
        if (t->qps > 0) {
                /* Best effort spends only a full bucket's top token: it
                 * still flows at the QPS when nothing else runs, and never
                 * eats the burst that time-critical writes need. */
                double need = g_queue_is_empty(&t->waiting[KUBE_THROTTLE_PRIORITY]) &&
                                      g_queue_is_empty(&t->waiting[KUBE_THROTTLE_ORDINARY])
                                  ? (double)t->burst
                                  : 1.0;

                if (t->tokens < need) {
                        *ret_wait_usec = (uint64_t)ceil((need - t->tokens) * 1e6 / t->qps);
                        return NULL;
                }
                t->tokens -= 1.0;
        }
        for (size_t i = 0; !item && i < ELEMENTSOF(t->waiting); i++)
                item = g_queue_pop_head(&t->waiting[i]);
        return item;
}
