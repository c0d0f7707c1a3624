/* Leader election timings: the rules client-go's NewLeaderElector enforces
 * (refused at start) and the renew deadline a leader steps down at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube/leader.h"
#include "lib/util.h"

#define S  USEC_PER_SEC
#define MS USEC_PER_MSEC

static int check(uint64_t lease, uint64_t renew, uint64_t retry)
{
        const char *why = (const char *)1;
        int r = kube_leader_check_timings(lease, renew, retry, &why);

        if (r < 0)
                assert_non_null(why);
        else
                assert_null(why);
        return r;
}

static void test_defaults_accepted(void **state)
{
        (void)state;
        /* the operator's defaults, client-go's defaults */
        assert_int_equal(check(15 * S, 10 * S, 2 * S), 0);
        /* the integration test's */
        assert_int_equal(check(2 * S, 1500 * MS, 300 * MS), 0);
        assert_int_equal(kube_leader_check_timings(15 * S, 10 * S, 2 * S, NULL), 0);
}

static void test_zero_refused(void **state)
{
        (void)state;
        /* a zero retry period would spin at 100 % CPU */
        assert_int_equal(check(15 * S, 10 * S, 0), -EINVAL);
        assert_int_equal(check(15 * S, 0, 2 * S), -EINVAL);
        assert_int_equal(check(0, 10 * S, 2 * S), -EINVAL);
        assert_int_equal(check(0, 0, 0), -EINVAL);
        assert_int_equal(kube_leader_check_timings(0, 0, 0, NULL), -EINVAL);
}

static void test_lease_duration_above_renew_deadline(void **state)
{
        (void)state;
        /* renew deadline ≥ lease duration: a follower takes over while the
         * old leader still believes it leads */
        assert_int_equal(check(10 * S, 10 * S, 2 * S), -EINVAL);
        assert_int_equal(check(10 * S, 15 * S, 2 * S), -EINVAL);
        assert_int_equal(check(10 * S + 1, 10 * S, 2 * S), 0);
}

static void test_renew_deadline_above_jittered_retry(void **state)
{
        (void)state;
        /* exactly 1.2 × retry period is refused, one µs more accepted */
        assert_int_equal(check(15 * S, 12 * S, 10 * S), -EINVAL);
        assert_int_equal(check(15 * S, 12 * S + 1, 10 * S), 0);
        assert_int_equal(check(15 * S, 10 * S, 10 * S), -EINVAL);
        assert_int_equal(check(15 * S, 5 * S, 10 * S), -EINVAL);
        assert_int_equal(check(15 * S, 6, 5), -EINVAL);
        assert_int_equal(check(15 * S, 7, 5), 0);
        /* no overflow at the top of the range */
        assert_int_equal(check(UINT64_MAX, UINT64_MAX - 1, 1), 0);
        assert_int_equal(check(UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 2), -EINVAL);
        assert_int_equal(check(UINT64_MAX, UINT64_MAX / 2, UINT64_MAX / 3), 0);
}

static void test_time_left(void **state)
{
        (void)state;
        /* renewed at 100 s, deadline 10 s: step down at 110 s */
        assert_int_equal(kube_leader_time_left(100 * S, 10 * S, 100 * S), 10 * S);
        assert_int_equal(kube_leader_time_left(100 * S, 10 * S, 104 * S), 6 * S);
        assert_int_equal(kube_leader_time_left(100 * S, 10 * S, 110 * S - 1), 1);
        assert_int_equal(kube_leader_time_left(100 * S, 10 * S, 110 * S), 0);
        assert_int_equal(kube_leader_time_left(100 * S, 10 * S, 200 * S), 0);
        /* the renewal's timeout shrinks as retries go by: the third try of a
         * 2 s retry period has 6 s left, not another full 10 s */
        assert_int_equal(kube_leader_time_left(100 * S, 10 * S, 104 * S), 6 * S);
        /* saturates instead of wrapping */
        assert_int_equal(kube_leader_time_left(UINT64_MAX - 5, 10, UINT64_MAX - 1), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults_accepted),
            cmocka_unit_test(test_zero_refused),
            cmocka_unit_test(test_lease_duration_above_renew_deadline),
            cmocka_unit_test(test_renew_deadline_above_jittered_retry),
            cmocka_unit_test(test_time_left),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
