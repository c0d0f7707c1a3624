/* Lease timings and the holder's renewal cadence.
 *
 * The configured duration, renew deadline and retry period are sanitised as
 * Cilium does (config_sanitize_l2_timings). The lease carries the duration in
 * whole seconds (as client-go writes it) and followers wait that long, so the
 * entry lifetime used here is the renew deadline, capped at 90% of the
 * written duration should rounding ever bring them close.
 *
 * Renewal: a responder entry lives until (send time of the last successful
 * renewal) + lifetime. The holder sends the next renewal at
 *
 *     last successful send + lifetime - margin
 *
 * margin = clamp(2 × RTO, lifetime/50, lifetime/2), RTO = SRTT + 4 × RTTVAR
 * (RFC 6298) over the round trips of our own lease writes (action emitted →
 * result fed back, so it includes the shell's queueing). Before any sample
 * the margin is the retry period. With 3s/1s/500ms and a few milliseconds of
 * round trip that is a renewal every 980 ms: the entry deadline is a hard
 * contract (safety), so the interval must stay below the lifetime and the
 * rate slightly above 1/lifetime. A failed renewal is retried every retry
 * period until it succeeds or the lease is lost. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct timing {
        uint64_t duration; /* µs, sanitised */
        uint64_t renew_deadline;
        uint64_t retry_period;
        int32_t duration_s;     /* leaseDurationSeconds we write */
        uint64_t lifetime;      /* entry lifetime after a successful send */
        uint64_t balance_delay; /* how long an over-share node leaves a lease to others */
        uint64_t gc_after;      /* an empty lease unchanged this long is deleted */
};

void timing_init(struct timing *t, uint64_t duration, uint64_t renew_deadline,
                 uint64_t retry_period);

struct rtt_estimator {
        bool valid;
        uint64_t srtt;
        uint64_t rttvar;
};

void rtt_sample(struct rtt_estimator *e, uint64_t rtt);
uint64_t renew_margin(const struct rtt_estimator *e, const struct timing *t);
