/* Status conditions of L2 announcement policies.
 *
 * Three condition types report a policy's errors: io.cilium/bad-node-selector,
 * io.cilium/bad-interface-regex, io.cilium/bad-service-selector; reason
 * "error", message the parse error, status True while broken and False once
 * fixed. A condition is never created just to say "ok". Unlike Cilium, which
 * stops at the first error, all three are evaluated independently.
 *
 * l2lb's own l2lb.io/external-ips-not-allowed (reason "NotAllowed": the
 * schema allows no dash in reasons) says which external IPs the policy
 * selects but the agent may not announce (outside
 * l2-announcements-external-ips-cidrs); the same life cycle. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "api/objects.h"
#include "policy.h"

#define COND_BAD_NODE_SELECTOR        "io.cilium/bad-node-selector"
#define COND_BAD_INTERFACE_REGEX      "io.cilium/bad-interface-regex"
#define COND_BAD_SERVICE_SELECTOR     "io.cilium/bad-service-selector"
#define COND_EXTERNAL_IPS_NOT_ALLOWED "l2lb.io/external-ips-not-allowed"

/* The conditions the policy should have (refused_external_ips: the message
 * of COND_EXTERNAL_IPS_NOT_ALLOWED, NULL if none is refused). Returns true and fills *ret (the
 * whole list: other conditions kept, ours set as k8s_conditions_merge() does, so lastTransitionTime
 * = now_wall where the status changes) if they differ from what the object has, false if the object
 * is already right (a condition whose status, reason and message are right is left alone, whatever
 * its observedGeneration). Never fails. */
bool policy_status_compute(const struct l2pol *p, const char *refused_external_ips,
                           int64_t now_wall, struct k8s_conditions *ret);
