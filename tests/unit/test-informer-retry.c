/* What an informer does after a watch ended abnormally: under API Priority
 * and Fairness a 429 (or a 5xx) watches again from the last resourceVersion
 * after max(backoff, Retry-After); only 410 Gone and an unreadable event
 * list again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube/informer.h"
#include "lib/util.h"

#define S  USEC_PER_SEC
#define MS USEC_PER_MSEC

static void expect(long status, int error, uint64_t retry_after, uint64_t backoff, bool relist,
                   uint64_t delay)
{
        struct kube_informer_retry d =
            kube_informer_watch_retry(status, error, retry_after, backoff);

        assert_int_equal(d.relist, relist);
        assert_int_equal(d.delay, delay);
}

static void test_gone_relists_at_once(void **state)
{
        (void)state;
        expect(410, -EIO, 0, 500 * MS, true, 0);
        expect(410, -EIO, 5 * S, 500 * MS, true, 0);
}

static void test_too_many_requests_rewatches(void **state)
{
        (void)state;
        /* Retry-After longer than the backoff: wait for it */
        expect(429, -EIO, 5 * S, 500 * MS, false, 5 * S);
        /* backoff longer: the backoff */
        expect(429, -EIO, 1 * S, 4 * S, false, 4 * S);
        /* no Retry-After */
        expect(429, -EIO, 0, 700 * MS, false, 700 * MS);
}

static void test_server_errors_rewatch(void **state)
{
        (void)state;
        expect(500, -EIO, 0, 1 * S, false, 1 * S);
        expect(503, -EIO, 3 * S, 1 * S, false, 3 * S);
        expect(504, -EIO, 0, 2 * S, false, 2 * S);
}

static void test_retry_after_bounded(void **state)
{
        (void)state;
        expect(429, -EIO, 3600 * S, 500 * MS, false, 60 * S);
        expect(503, -EIO, 61 * S, 500 * MS, false, 60 * S);
        expect(429, -EIO, 60 * S, 500 * MS, false, 60 * S);
        /* a backoff above the bound still counts */
        expect(429, -EIO, 3600 * S, 90 * S, false, 90 * S);
}

static void test_transport_errors_rewatch(void **state)
{
        (void)state;
        expect(0, -ECONNREFUSED, 0, 800 * MS, false, 800 * MS);
        expect(0, -ETIMEDOUT, 0, 800 * MS, false, 800 * MS);
        /* a watch ERROR event without a code */
        expect(0, -EIO, 0, 800 * MS, false, 800 * MS);
}

static void test_unreadable_event_relists(void **state)
{
        (void)state;
        /* the stream was 200, one line was not an event: it may have been a
         * delete, only a list finds out */
        expect(200, -EBADMSG, 0, 600 * MS, true, 600 * MS);
}

static void test_other_client_errors_relist(void **state)
{
        (void)state;
        expect(400, -EINVAL, 0, 1 * S, true, 1 * S);
        expect(403, -EACCES, 0, 1 * S, true, 1 * S);
        expect(404, -ENOENT, 2 * S, 1 * S, true, 2 * S);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_gone_relists_at_once),
            cmocka_unit_test(test_too_many_requests_rewatches),
            cmocka_unit_test(test_server_errors_rewatch),
            cmocka_unit_test(test_retry_after_bounded),
            cmocka_unit_test(test_transport_errors_rewatch),
            cmocka_unit_test(test_unreadable_event_relists),
            cmocka_unit_test(test_other_client_errors_relist),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
