/* Lease timings and the holder's renewal cadence.
 *
 * The configured duration, renew deadline and retry period are sanitised as
 * Cilium does (timing_sanitize, once, in timing_init; everyone else reads
 * the effective values back from struct timing). The lease carries the duration in
 * whole seconds (as client-go writes it) and followers wait that long.
 *
 * Entry lifetime: a responder entry lives until (send time of the last
 * successful renewal) + renew deadline + retry period. That is the point at
 * which client-go's holder gives up (it starts a renewal round one retry
 * period after a success and retries for a renew deadline), and it is well
 * below the lease duration after which any follower may take over (capped at
 * 90% of the whole seconds written, should rounding bring them close). With
 * the seed's 3s/1s/500ms: silent 1.5 s after the last renewal it sent, while
 * followers wait 3 s from when they saw it.
 *
 * Renewal: the holder sends the next renewal at
 *
 *     last successful send + lifetime - margin
 *
 * margin = max(retry period, 2 × RTO) capped at lifetime/2, RTO = SRTT +
 * 4 × RTTVAR (RFC 6298) over the round trips of our own lease writes (action
 * emitted → result fed back). Normally that is one renewal per renew
 * deadline (1 request per service per second with the seed's timings), with
 * a whole retry period of slack for the round trip, so a slow apiserver does
 * not make the entry lapse between renewals; a slower one makes it renew
 * earlier. A failed renewal is retried every retry period until it succeeds
 * or the lease is lost.
 *
 * A renewal that waits (in the client's rate limiter, or on a slow
 * apiserver) does not make the entries lapse: while the renewal of a held,
 * announcing lease is pending, the entries answer until last successful
 * send + pending_lifetime (90% of the whole seconds written, the bound
 * followers keep anyway: they wait the full duration from when they saw
 * that renewal). A success whose result arrives after the deadline it gives
 * (a long wait in the queue) keeps its own such bound while the next renewal
 * goes out at once, so a lease whose renewals succeed never lapses. A renewal
 * that fails ends the extension at once. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct timing {
        uint64_t duration; /* µs, sanitised */
        uint64_t renew_deadline;
        uint64_t retry_period;
        int32_t duration_s;        /* leaseDurationSeconds we write */
        uint64_t lifetime;         /* entry lifetime after a successful send */
        uint64_t pending_lifetime; /* ... while the next renewal is pending */
        uint64_t balance_delay;    /* how long an over-share node leaves a lease to others */
        uint64_t gc_after;         /* an empty lease unchanged this long is deleted */
        bool adjusted;             /* the configured values were sanitised */
};

/* Cilium's sanitising of the L2 lease timings: duration < 1s → 1s; renew
 * deadline ≥ duration → duration/2; retry period ≥ renew deadline/1.2 →
 * renew deadline/2. Returns true if anything changed. */
bool timing_sanitize(uint64_t *duration, uint64_t *renew, uint64_t *retry);

void timing_init(struct timing *t, uint64_t duration, uint64_t renew_deadline,
                 uint64_t retry_period);

struct rtt_estimator {
        bool valid;
        uint64_t srtt;
        uint64_t rttvar;
};

void rtt_sample(struct rtt_estimator *e, uint64_t rtt);
uint64_t renew_margin(const struct rtt_estimator *e, const struct timing *t);
