/* What a Service asks LB-IPAM for, read from its spec and annotations:
 * whether l2lb handles it at all (type and loadBalancerClass), the IPs it
 * requests (spec.loadBalancerIP and lbipam.cilium.io/ips), the IP families
 * it wants, and what IP sharing needs to know (key, namespaces, ports,
 * externalTrafficPolicy, pod selector). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipam/ipam.h"
#include "api/objects.h"
#include "lib/addr.h"
#include "lib/labels.h"

#define IPAM_ANNOTATION_IPS               "lbipam.cilium.io/ips"
#define IPAM_ANNOTATION_IPS_ALIAS         "io.cilium/lb-ipam-ips"
#define IPAM_ANNOTATION_SHARING_KEY       "lbipam.cilium.io/sharing-key"
#define IPAM_ANNOTATION_SHARING_KEY_ALIAS "io.cilium/lb-ipam-sharing-key"
#define IPAM_ANNOTATION_CROSS_NS          "lbipam.cilium.io/sharing-cross-namespace"
#define IPAM_ANNOTATION_CROSS_NS_ALIAS    "io.cilium/lb-ipam-sharing-cross-namespace"
/* Cilium PR #45819; no io.cilium/ alias. A boolean as Go's strconv.ParseBool
 * reads it (1 t T TRUE true True / 0 f F FALSE false False); any other value
 * counts as false and is described in bad_permit. */
#define IPAM_ANNOTATION_PERMIT_DIFFERENT_PODS "lbipam.cilium.io/sharing-permit-different-pods"

/* At most this many entries in lbipam.cilium.io/ips (Cilium has no limit).
 * A Service asks for one IP per family, or a handful when it shares or
 * moves addresses; 64 leaves room for any real use while keeping the work
 * of an upsert, the status it writes and what one Service can take from a
 * pool small. A longer list is refused as a whole: the Service gets no IP
 * (nor its spec.loadBalancerIP, nor automatic ones) and its condition says
 * IPAM_REASON_TOO_MANY_IPS. Every entry counts, bad or duplicate. */
#define IPAM_REQUEST_MAX_IPS     64
#define IPAM_REASON_TOO_MANY_IPS "too_many_requested_ips"
/* A bad entry is quoted up to this many bytes in its description. */
#define IPAM_REQUEST_MAX_QUOTED 64

struct svc_port {
        int32_t port;
        char *protocol;
};

struct svc_request {
        size_t n_ips;
        struct ipaddr *ips; /* requested, in order, without duplicates */
        char **bad_entries; /* unparsable entries, described (NULL-terminated) */
        bool want4, want6;  /* families wanted when no IP is requested */
        char *refusal;      /* non-NULL: the request is refused (too many IPs), the
                             * condition message; no IP requested nor wanted */
        char *sharing_key;  /* NULL: none */
        char **cross_ns;    /* sharing-cross-namespace entries (NULL-terminated, packed:
                             * one allocation), or NULL */
        size_t n_ports;
        struct svc_port *ports;
        bool etp_local;             /* externalTrafficPolicy Local */
        bool permit_different_pods; /* IPAM_ANNOTATION_PERMIT_DIFFERENT_PODS is true */
        char *bad_permit;           /* its value is not a boolean: described, else NULL */
        struct labels selector;     /* spec.selector (empty: none), packed */
};

/* A label set packed in one allocation (items and strings): the core keeps
 * 50,000 of them, read-only. Free with labels_packed_free(), not
 * labels_done(). */
void labels_pack(const struct labels *l, struct labels *ret);
void labels_packed_free(struct labels *l);

/* type LoadBalancer and a loadBalancerClass l2lb handles. */
bool svc_request_managed(const struct ipam_options *o, const struct k8s_service *s);
/* Families from ipFamilyPolicy × ipFamilies × enabled families. */
void svc_request_families(const struct ipam_options *o, const char *policy, char *const *families,
                          bool *ret_v4, bool *ret_v6);
void svc_request_parse(const struct ipam_options *o, const struct k8s_service *s,
                       struct svc_request *ret);
void svc_request_done(struct svc_request *r);

/* The fields sharing compatibility depends on are equal. */
bool svc_request_sharing_equal(const struct svc_request *a, const struct svc_request *b);
bool svc_request_has_ip(const struct svc_request *r, const struct ipaddr *a);
bool svc_request_wants_family(const struct svc_request *r, int family);
