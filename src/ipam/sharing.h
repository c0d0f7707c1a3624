/* Whether two services may share one LoadBalancer IP. Cilium's five checks,
 * in its order, with its reason strings (users script against them):
 *   1. same sharing key                        "different sharing key"
 *   2. same namespace, or each lists the other's namespace (or "*") in
 *      lbipam.cilium.io/sharing-cross-namespace
 *                                              "different and not permitted namespace"
 *   3. no (port, protocol) in common           "same port and protocol"
 *   4. equal externalTrafficPolicy             "different ExternalTrafficPolicy"
 *   5. with policy Local, a non-empty pod selector on both, and the same one
 *      unless both carry lbipam.cilium.io/sharing-permit-different-pods: true
 *      (Cilium PR #45819)
 *        "ExternalTrafficPolicy local but a service has no selector"
 *        "ExternalTrafficPolicy local but selecting different set of pods
 *         without lbipam.cilium.io/sharing-permit-different-pods on both services" */
#pragma once

#include "ipam/request.h"

#define SHARING_DIFFERENT_KEY     "different sharing key"
#define SHARING_NAMESPACE         "different and not permitted namespace"
#define SHARING_SAME_PORT         "same port and protocol"
#define SHARING_DIFFERENT_ETP     "different ExternalTrafficPolicy"
#define SHARING_LOCAL_NO_SELECTOR "ExternalTrafficPolicy local but a service has no selector"
#define SHARING_LOCAL_DIFFERENT_PODS                                                               \
        "ExternalTrafficPolicy local but selecting different set of pods "                         \
        "without " IPAM_ANNOTATION_PERMIT_DIFFERENT_PODS " on both services"

/* NULL if a (in namespace ns_a) and b (in ns_b) may share, else the reason. */
const char *sharing_incompatible(const struct svc_request *a, const char *ns_a,
                                 const struct svc_request *b, const char *ns_b);
