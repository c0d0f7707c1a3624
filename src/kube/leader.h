/* Leader election on a coordination.k8s.io/v1 Lease, with client-go's
 * semantics (LeaseDuration, RenewDeadline, RetryPeriod; holderIdentity,
 * acquireTime, renewTime, leaseTransitions), for the operator's replicas.
 *
 * The leader renews every retry period with a PUT carrying the
 * resourceVersion of its last write (no GET first) and stops leading at
 * (send time of its last successful write + renew deadline), a renewal still
 * in flight then abandoned: no later than client-go. A follower reads the lease every
 * retry period and takes it once it has seen no change for a lease duration
 * (time measured locally, as client-go does) or the holder is empty.
 * kube_leader_release() hands the lease over (holder "") so that another
 * replica takes over at its next retry instead of after a lease duration. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "client.h"

struct kube_leader;

struct kube_leader_config {
        const char *namespace;
        const char *name;        /* Lease name */
        const char *identity;    /* holderIdentity */
        uint64_t lease_duration; /* usec */
        uint64_t renew_deadline;
        uint64_t retry_period;
        void (*started_leading)(void *userdata);
        void (*stopped_leading)(void *userdata);
        void *userdata;
};

/* client-go's NewLeaderElector rules: all three > 0, lease duration > renew
 * deadline (else two replicas lead at once), renew deadline > 1.2 × retry
 * period (client-go's JitterFactor). Returns 0, or -EINVAL with *ret_why
 * (may be NULL) a static sentence saying which rule fails. */
int kube_leader_check_timings(uint64_t lease_duration, uint64_t renew_deadline,
                              uint64_t retry_period, const char **ret_why);
/* How long a leader that last renewed at renewed_at may still try: until
 * renewed_at + renew_deadline; 0 once that has come (step down). */
uint64_t kube_leader_time_left(uint64_t renewed_at, uint64_t renew_deadline, uint64_t now);

/* -EINVAL when the timings fail kube_leader_check_timings(). */
int kube_leader_new(struct kube_client *c, const struct kube_leader_config *cfg,
                    struct kube_leader **ret);
int kube_leader_start(struct kube_leader *l);
bool kube_leader_is_leader(const struct kube_leader *l);
/* Identity of the current holder as last seen (may be NULL). */
const char *kube_leader_holder(const struct kube_leader *l);
/* Leave the election for good (shutdown): if leading, write holder "" (one
 * attempt) so another replica takes over at its next retry. done(ud) runs
 * when the write finished, or at once if not leading. */
void kube_leader_release(struct kube_leader *l, void (*done)(void *), void *userdata);
void kube_leader_free(struct kube_leader *l);
