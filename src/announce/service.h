/* The announcer's view of a Service: what an L2 announcement policy can
 * select and announce, copied out of the informer's object; and the sorted
 * address sets (announce_ip_list) the whole core uses.
 *
 * A service is eligible when its loadBalancerClass is absent or
 * io.cilium/l2-announcer. Its external IPs and its ingress IPs are kept apart
 * because policies select them separately (externalIPs / loadBalancerIPs);
 * hostname-only ingress entries, unparseable strings and addresses of a
 * disabled family are dropped here, once. External IPs outside the agent's
 * allowed CIDRs (l2-announcements-external-ips-cidrs) are set apart in
 * external_refused: anyone who may create a Service could otherwise make the
 * nodes answer for any address, the gateway's included. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "announce.h"
#include "api/objects.h"
#include "lib/addr.h"
#include "lib/labels.h"

#define ANNOUNCE_LB_CLASS "io.cilium/l2-announcer"

struct announce_ip_list {
        size_t n;
        struct ipaddr *items; /* sorted, no duplicates */
};

struct announce_svc {
        char *key; /* "namespace/name" */
        char *namespace;
        char *name;
        char *lease_name;                 /* cilium-l2announce-<namespace>-<name> */
        struct labels sel_labels;         /* labels + io.kubernetes.service.{name,namespace} */
        bool class_ok;                    /* loadBalancerClass absent or ours */
        bool etp_local;                   /* externalTrafficPolicy: Local */
        struct announce_ip_list external; /* spec.externalIPs inside the allowed CIDRs */
        struct announce_ip_list external_refused; /* ... and the others */
        struct announce_ip_list ingress;          /* status.loadBalancer.ingress[].ip */
};

struct announce_svc_families {
        bool ipv4;
        bool ipv6;
};

/* The CIDRs external IPs must be in to be announced (none: no external IP is). */
struct announce_ext_allowed {
        const struct iprange *ranges;
        size_t n;
};

/* Copies what the announcer needs out of an informer's Service. Fails only
 * if copying its labels does. */
struct announce_svc *announce_svc_from_k8s(const struct k8s_service *s,
                                           struct announce_svc_families fam,
                                           struct announce_ext_allowed allowed);
void announce_svc_free(struct announce_svc *s);

/* The lease name, cilium-l2announce-<namespace>-<name> (malloc'ed). */
char *announce_svc_lease_name(const char *ns, const char *name);

/* Sorted sets of addresses. */
void announce_ip_list_done(struct announce_ip_list *l);
/* Adds a unless it is there already. */
void announce_ip_list_add(struct announce_ip_list *l, const struct ipaddr *a);
bool announce_ip_list_contains(const struct announce_ip_list *l, const struct ipaddr *a);
bool announce_ip_list_equal(const struct announce_ip_list *x, const struct announce_ip_list *y);
void announce_ip_list_merge(struct announce_ip_list *dst, const struct announce_ip_list *src);
