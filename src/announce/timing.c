/* Lease timings and renewal margin (see timing.h). */
#include "timing.h"

#include "lib/util.h"

bool timing_sanitize(uint64_t *duration, uint64_t *renew, uint64_t *retry)
{
        bool changed = false;

        assert(duration);
        assert(renew);
        assert(retry);
        if (*duration < USEC_PER_SEC) {
                *duration = USEC_PER_SEC;
                changed = true;
        }
        if (*renew >= *duration) {
                *renew = *duration / 2;
                changed = true;
        }
        if ((double)*retry >= (double)*renew / 1.2) {
                *retry = *renew / 2;
                changed = true;
        }
        return changed;
}

void timing_init(struct timing *t, uint64_t duration, uint64_t renew_deadline,
                 uint64_t retry_period)
{
        uint64_t written;

        assert(t);
        t->adjusted = timing_sanitize(&duration, &renew_deadline, &retry_period);
        t->duration = duration;
        t->renew_deadline = renew_deadline;
        t->retry_period = retry_period;
        t->duration_s = (int32_t)(duration / USEC_PER_SEC);
        if (t->duration_s < 1)
                t->duration_s = 1;
        written = (uint64_t)t->duration_s * USEC_PER_SEC;
        /* client-go's holder gives up renew_deadline after its renewal round
         * started, one retry period after the last success */
        t->lifetime = renew_deadline + retry_period;
        t->pending_lifetime = written / 10 * 9;
        if (t->lifetime > t->pending_lifetime)
                t->lifetime = t->pending_lifetime;
        t->balance_delay = 2 * retry_period;
        t->gc_after = duration + t->balance_delay;
}

void rtt_sample(struct rtt_estimator *e, uint64_t rtt)
{
        assert(e);
        if (!e->valid) {
                e->srtt = rtt;
                e->rttvar = rtt / 2;
                e->valid = true;
                return;
        }
        /* RFC 6298: alpha = 1/8, beta = 1/4. */
        e->rttvar = (3 * e->rttvar + (e->srtt > rtt ? e->srtt - rtt : rtt - e->srtt)) / 4;
        e->srtt = (7 * e->srtt + rtt) / 8;
}

uint64_t renew_margin(const struct rtt_estimator *e, const struct timing *t)
{
        uint64_t lo, hi, m;

        assert(e);
        assert(t);
        lo = t->lifetime > t->renew_deadline ? t->lifetime - t->renew_deadline : 0;
        hi = t->lifetime / 2;
        if (lo < t->lifetime / 50)
                lo = t->lifetime / 50;
        if (!e->valid)
                return lo > hi ? hi : lo;
        m = 2 * (e->srtt + 4 * e->rttvar);
        return m < lo ? lo : m > hi ? (lo > hi ? lo : hi) : m;
}
