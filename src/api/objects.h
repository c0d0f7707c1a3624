/* Typed views of the Kubernetes objects l2lb reads.
 *
 * Decoding keeps only what l2lb uses (a Service costs a few hundred bytes in
 * an informer cache instead of a JSON tree) and checks every field's JSON
 * type: malformed or unexpected JSON is an error for that object, with a
 * message naming the field, never a crash. Semantic problems that users must
 * see in a status condition (a broken label selector) are kept in the object
 * as an error string instead.
 *
 * Every typed object starts with struct k8s_meta, so generic code (the
 * informer) can read names and resource versions of any of them. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "api/conditions.h"
#include "lib/labels.h"

struct k8s_meta {
        char *name;
        char *namespace; /* NULL for cluster-scoped objects */
        char *uid;
        char *resource_version;
        int64_t generation;
        time_t creation_timestamp;
        bool deleting; /* deletionTimestamp set */
        struct labels labels;
        struct labels annotations; /* only the keys the type keeps */
};

struct k8s_service_port {
        char *name;
        int32_t port;
        char *protocol; /* "TCP" when absent */
};

struct k8s_lb_ingress {
        char *ip;
        char *hostname;
};

struct k8s_service {
        struct k8s_meta meta;
        char *type; /* "ClusterIP" when absent */
        char *load_balancer_class;
        char *load_balancer_ip;
        char **external_ips;
        size_t n_ports;
        struct k8s_service_port *ports;
        bool has_selector;
        struct labels selector;
        char *external_traffic_policy; /* "Cluster" when absent */
        char *ip_family_policy;        /* NULL when absent */
        char **ip_families;
        size_t n_ingress;
        struct k8s_lb_ingress *ingress;
        struct k8s_conditions conditions;
};

struct k8s_node {
        struct k8s_meta meta;
        bool unschedulable;
        bool ready; /* condition Ready == True */
};

struct k8s_endpoint {
        char **addresses;
        bool ready;       /* conditions.ready, true when absent */
        bool serving;     /* conditions.serving, ready's value when absent */
        bool terminating; /* conditions.terminating, false when absent */
        char *node_name;
};

struct k8s_endpointslice {
        struct k8s_meta meta;
        char *service_name; /* label kubernetes.io/service-name */
        char *address_type;
        size_t n_endpoints;
        struct k8s_endpoint *endpoints;
};

/* meta.annotations keeps the l2lb.io/ keys (k8s_lease_to_json writes them
 * back). */
struct k8s_lease {
        struct k8s_meta meta;
        char *holder;
        int32_t lease_duration_seconds;
        char *acquire_time; /* MicroTime text */
        char *renew_time;
        int32_t lease_transitions;
};

struct k8s_pool_block {
        char *cidr;
        char *start;
        char *stop;
};

struct k8s_ippool {
        struct k8s_meta meta;
        size_t n_blocks; /* spec.blocks followed by spec.cidrs */
        struct k8s_pool_block *blocks;
        struct selector *service_selector; /* NULL: every service */
        char *service_selector_error;
        bool disabled;
        bool allow_first_last; /* allowFirstLastIPs != "No" */
        struct k8s_conditions conditions;
};

struct k8s_l2policy {
        struct k8s_meta meta;
        struct selector *service_selector;
        char *service_selector_error;
        struct selector *node_selector;
        char *node_selector_error;
        char **interfaces;
        bool external_ips;
        bool load_balancer_ips;
        struct k8s_conditions conditions;
};

/* A decoder/destructor pair; objects start with struct k8s_meta. */
struct k8s_type {
        const char *kind;
        int (*decode)(json_t *json, void **ret, char **ret_error);
        void (*free)(void *obj);
};

extern const struct k8s_type K8S_TYPE_SERVICE;
extern const struct k8s_type K8S_TYPE_NODE;
extern const struct k8s_type K8S_TYPE_ENDPOINTSLICE;
extern const struct k8s_type K8S_TYPE_LEASE;
extern const struct k8s_type K8S_TYPE_IPPOOL;
extern const struct k8s_type K8S_TYPE_L2POLICY;

int k8s_service_decode(json_t *json, struct k8s_service **ret, char **ret_error);
void k8s_service_free(struct k8s_service *s);
int k8s_node_decode(json_t *json, struct k8s_node **ret, char **ret_error);
void k8s_node_free(struct k8s_node *n);
int k8s_endpointslice_decode(json_t *json, struct k8s_endpointslice **ret, char **ret_error);
void k8s_endpointslice_free(struct k8s_endpointslice *e);
int k8s_lease_decode(json_t *json, struct k8s_lease **ret, char **ret_error);
void k8s_lease_free(struct k8s_lease *l);
int k8s_ippool_decode(json_t *json, struct k8s_ippool **ret, char **ret_error);
void k8s_ippool_free(struct k8s_ippool *p);
int k8s_l2policy_decode(json_t *json, struct k8s_l2policy **ret, char **ret_error);
void k8s_l2policy_free(struct k8s_l2policy *p);

/* Lease object for create/update (metadata.resourceVersion set if known). */
json_t *k8s_lease_to_json(const struct k8s_lease *l);

/* Kubernetes writes "2006-01-02T15:04:05Z" (Time) and
 * "2006-01-02T15:04:05.000000Z" (MicroTime). k8s_time_parse() takes strict
 * RFC 3339 (T or t, Z, z or ±hh:mm, a fraction of 1-9 digits kept to the
 * microsecond; fields in range) and returns -EINVAL for anything else,
 * leaving *ret_usec untouched. k8s_time_format() writes the form above (UTC,
 * with six fraction digits when micro) and returns buf. */
int k8s_time_parse(const char *s, int64_t *ret_usec);
char *k8s_time_format(int64_t unix_usec, bool micro, char *buf, size_t len);

/* The labels LB-IPAM pools and L2 policies select a service by: its labels
 * plus these two synthetic ones (which win), sorted by key. */
#define K8S_LABEL_SERVICE_NAME      "io.kubernetes.service.name"
#define K8S_LABEL_SERVICE_NAMESPACE "io.kubernetes.service.namespace"
void k8s_service_selector_labels(const struct k8s_service *s, struct labels *ret);
/* The same without copying: fills ret (room for s->meta.labels.n + 2 items)
 * with s's strings and returns how many. */
size_t k8s_service_selector_labels_view(const struct k8s_service *s, struct label *ret);

void k8s_meta_done(struct k8s_meta *m);

/* The cache key of an object, as client-go's MetaNamespaceKeyFunc makes it:
 * "namespace/name", or "name" for cluster-scoped objects. Never NULL. */
char *k8s_key(const char *ns, const char *name);
/* The cache key of an object in JSON. NULL when metadata.name is missing or
 * the name or namespace holds a NUL (the key would name another object);
 * *ret_error (optional) then says why, naming the object as far as it can
 * be named (a NUL spelled \u0000). */
char *k8s_key_from_json(json_t *obj, char **ret_error);
