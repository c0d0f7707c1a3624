/* The client's waiting room: class order, the in-flight slot rule and the
 * token bucket, on a clock the test moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube/throttle.h"
#include "lib/util.h"

static int items[8];

static void *pop(struct kube_throttle *t, uint64_t now, bool slot_free, uint64_t *wait)
{
        uint64_t w = UINT64_MAX;
        void *item = kube_throttle_pop(t, now, slot_free, &w);

        assert_int_not_equal(w, UINT64_MAX);
        if (wait)
                *wait = w;
        return item;
}

static void test_class_order(void **state)
{
        struct kube_throttle t;
        uint64_t wait;

        (void)state;
        kube_throttle_init(&t, 0, 0, 0);
        assert_null(pop(&t, 0, true, &wait));
        assert_int_equal(wait, 0);
        kube_throttle_push(&t, KUBE_THROTTLE_LOW, &items[0]);
        kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[1]);
        kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[2]);
        kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[3]);
        kube_throttle_push(&t, KUBE_THROTTLE_LOW, &items[4]);
        assert_ptr_equal(pop(&t, 0, true, NULL), &items[3]);
        assert_ptr_equal(pop(&t, 0, true, NULL), &items[1]);
        assert_ptr_equal(pop(&t, 0, true, NULL), &items[2]);
        assert_ptr_equal(pop(&t, 0, true, NULL), &items[0]);
        assert_ptr_equal(pop(&t, 0, true, NULL), &items[4]);
        assert_null(pop(&t, 0, true, &wait));
        assert_int_equal(wait, 0);
        kube_throttle_done(&t);
}

static void test_slot(void **state)
{
        struct kube_throttle t;
        uint64_t wait;

        (void)state;
        kube_throttle_init(&t, 0, 0, 0);
        kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[0]);
        kube_throttle_push(&t, KUBE_THROTTLE_LOW, &items[1]);
        /* no slot: ordinary and low wait, without a timer */
        assert_null(pop(&t, 0, false, &wait));
        assert_int_equal(wait, 0);
        /* a priority item goes anyway, and first */
        kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[2]);
        assert_ptr_equal(pop(&t, 0, false, NULL), &items[2]);
        assert_null(pop(&t, 0, false, NULL));
        assert_ptr_equal(pop(&t, 0, true, NULL), &items[0]);
        kube_throttle_done(&t);
}

static void test_remove(void **state)
{
        struct kube_throttle t;

        (void)state;
        kube_throttle_init(&t, 0, 0, 0);
        kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[0]);
        kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[1]);
        kube_throttle_remove(&t, KUBE_THROTTLE_ORDINARY, &items[0]);
        assert_ptr_equal(pop(&t, 0, true, NULL), &items[1]);
        assert_null(pop(&t, 0, true, NULL));
        /* items left waiting are forgotten, not freed */
        kube_throttle_push(&t, KUBE_THROTTLE_LOW, &items[2]);
        kube_throttle_done(&t);
}

static void test_bucket(void **state)
{
        const uint64_t s = 1000000;
        struct kube_throttle t;
        uint64_t wait;

        (void)state;
        /* 2 per second, burst 3: the bucket starts full */
        kube_throttle_init(&t, 2, 3, 10 * s);
        for (size_t i = 0; i < 5; i++)
                kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[i]);
        assert_ptr_equal(pop(&t, 10 * s, true, NULL), &items[0]);
        assert_ptr_equal(pop(&t, 10 * s, true, NULL), &items[1]);
        assert_ptr_equal(pop(&t, 10 * s, true, NULL), &items[2]);
        assert_null(pop(&t, 10 * s, true, &wait));
        assert_int_equal(wait, s / 2);
        /* a quarter of a token later: another quarter second to wait */
        assert_null(pop(&t, 10 * s + s / 8, true, &wait));
        assert_int_equal(wait, s / 2 - s / 8);
        assert_ptr_equal(pop(&t, 10 * s + s / 2, true, NULL), &items[3]);
        /* a long pause refills only up to the burst */
        kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[5]);
        assert_ptr_equal(pop(&t, 100 * s, true, NULL), &items[5]);
        assert_ptr_equal(pop(&t, 100 * s, true, NULL), &items[4]);
        for (size_t i = 0; i < 3; i++)
                kube_throttle_push(&t, KUBE_THROTTLE_LOW, &items[i]);
        /* best effort waits for a full bucket (one token left: 1 s) */
        assert_null(pop(&t, 100 * s, true, &wait));
        assert_int_equal(wait, s);
        assert_ptr_equal(pop(&t, 101 * s, true, NULL), &items[0]);
        assert_null(pop(&t, 101 * s, true, &wait));
        assert_int_equal(wait, s / 2);
        /* and leaves the rest of the burst to the others */
        kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[6]);
        kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[3]);
        assert_ptr_equal(pop(&t, 101 * s, false, NULL), &items[6]);
        assert_ptr_equal(pop(&t, 101 * s, false, NULL), &items[3]);
        /* the bucket also holds priority items back */
        kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[4]);
        assert_null(pop(&t, 101 * s, false, &wait));
        assert_int_equal(wait, s / 2);
        kube_throttle_done(&t);
}

static void test_burst_at_least_one(void **state)
{
        struct kube_throttle t;
        uint64_t wait;

        (void)state;
        kube_throttle_init(&t, 1, 0, 0);
        kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[0]);
        kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[1]);
        assert_ptr_equal(pop(&t, 0, true, NULL), &items[0]);
        assert_null(pop(&t, 0, true, &wait));
        assert_int_equal(wait, 1000000);
        kube_throttle_done(&t);
}

/* The agent's Lease renewals (priority) while the bucket is the bottleneck:
 * whatever waited before them and whatever comes after, no ordinary or low
 * request (policy status, Events) goes while a renewal waits, and renewals
 * go in the order they came, one per token. */
static void test_priority_under_overload(void **state)
{
        const uint64_t ms = 1000;
        struct kube_throttle t;
        uint64_t wait;

        (void)state;
        /* the agents' defaults: 10 per second, burst 20; the burst is spent */
        kube_throttle_init(&t, 10, 20, 0);
        for (size_t i = 0; i < 20; i++) {
                kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[7]);
                assert_ptr_equal(pop(&t, 0, true, NULL), &items[7]);
        }
        kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[0]); /* a status patch */
        kube_throttle_push(&t, KUBE_THROTTLE_LOW, &items[1]);      /* an Event */
        kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[2]); /* renewals */
        kube_throttle_push(&t, KUBE_THROTTLE_ORDINARY, &items[3]);
        kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[4]);
        assert_null(pop(&t, 0, true, &wait));
        assert_int_equal(wait, 100 * ms);
        assert_ptr_equal(pop(&t, 100 * ms, true, NULL), &items[2]);
        assert_null(pop(&t, 100 * ms, true, &wait));
        assert_int_equal(wait, 100 * ms);
        /* a renewal that comes later still goes before the earlier others */
        kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[5]);
        assert_ptr_equal(pop(&t, 200 * ms, true, NULL), &items[4]);
        assert_ptr_equal(pop(&t, 300 * ms, true, NULL), &items[5]);
        assert_ptr_equal(pop(&t, 400 * ms, true, NULL), &items[0]);
        assert_ptr_equal(pop(&t, 500 * ms, true, NULL), &items[3]);
        /* the Event waits until the bucket is full again: 20 tokens */
        assert_null(pop(&t, 600 * ms, true, &wait));
        assert_int_equal(wait, 1900 * ms);
        assert_ptr_equal(pop(&t, 2500 * ms, true, NULL), &items[1]);
        assert_null(pop(&t, 2500 * ms, true, &wait));
        assert_int_equal(wait, 0);
        kube_throttle_done(&t);
}

/* A failover's writes (a fence and up to 16 shard writes) find the burst
 * intact however many best-effort writes (compatibility Leases, Events)
 * wait: those flow at the QPS from the top of a full bucket. */
static void test_low_keeps_burst(void **state)
{
        const uint64_t ms = 1000;
        struct kube_throttle t;
        uint64_t now = 0, wait;
        size_t low = 0;

        (void)state;
        kube_throttle_init(&t, 10, 20, 0);
        for (size_t i = 0; i < 1000; i++)
                kube_throttle_push(&t, KUBE_THROTTLE_LOW, &items[0]);
        for (; now < 10000 * ms; now += 10 * ms)
                while (pop(&t, now, true, &wait) == &items[0])
                        low++;
        /* 10 s at 10 per second, besides the first one (a full bucket) */
        assert_in_range(low, 100, 102);
        for (size_t i = 0; i < 17; i++)
                kube_throttle_push(&t, KUBE_THROTTLE_PRIORITY, &items[1]);
        for (size_t i = 0; i < 17; i++)
                assert_ptr_equal(pop(&t, now, true, NULL), &items[1]);
        kube_throttle_done(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_class_order),
            cmocka_unit_test(test_slot),
            cmocka_unit_test(test_remove),
            cmocka_unit_test(test_bucket),
            cmocka_unit_test(test_burst_at_least_one),
            cmocka_unit_test(test_priority_under_overload),
            cmocka_unit_test(test_low_keeps_burst),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
