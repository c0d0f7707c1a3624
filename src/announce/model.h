/* The selection model: from policies, services, nodes, endpoint slices and
 * this node's devices, which services get a lease, what this node would
 * announce for each, which nodes are candidates, and how services sharing an
 * address are grouped.
 *
 * A service is *selected* when at least one active policy selects it and
 * gives it something to announce (its IP kinds enabled by the policy and, for
 * external IPs, by the agent). Its address set is the union over those
 * policies, whatever their node selectors: it is the same on every node, so
 * every node computes the same groups.
 *
 * This node's *entries* for a service are the union over the policies that
 * select it and match this node's labels of (their addresses × the devices
 * matching their interface patterns). This node is a *candidate* for the
 * service when its Node is known, not cordoned and not labelled
 * exclude-from-external-load-balancers, at least one entry is on a
 * device with carrier, and, for externalTrafficPolicy Local, it has a ready
 * endpoint. Other nodes are candidates when they are Ready, not cordoned nor
 * excluded, match a selecting policy's node selector and (Local) have a ready
 * endpoint: their devices are unknown here, which only matters for balance.
 *
 * Services whose address sets intersect form a group (connected components);
 * the group's canonical service is the lowest namespace/name. The model is
 * rebuilt from scratch whenever an input other than a Lease changes. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service.h"

struct node_info {
        char *name;
        struct labels labels;
        bool ready;
        bool unschedulable;
        bool excluded; /* announce_node_excluded(labels) */
};

struct device_info {
        char *name;
        int ifindex;
        uint8_t mac[6];
        bool up;
};

/* Ready endpoints of one EndpointSlice. */
struct slice_info {
        char *svc_key;      /* namespace/<kubernetes.io/service-name> */
        char **ready_nodes; /* nodeName of ready endpoints, NULL-terminated */
        /* nodeName of endpoints that are terminating but still serving
         * (discovery.k8s.io/v1, Kubernetes 1.22+), NULL-terminated */
        char **serving_nodes;
};

struct local_entry {
        struct ipaddr ip;
        int ifindex;
        bool up;
};

/* Why this node is not a candidate for a service (for events and the CLI). */
enum local_status {
        LOCAL_CANDIDATE,
        LOCAL_NODE_UNKNOWN, /* our Node object has not been seen */
        LOCAL_CORDONED,     /* spec.unschedulable */
        LOCAL_EXCLUDED,     /* labelled exclude-from-external-load-balancers */
        LOCAL_NOT_SELECTED, /* no policy matching this node selects it, or no device matches */
        LOCAL_LINKS_DOWN,   /* every device carrying an entry has no carrier */
        LOCAL_NO_ENDPOINT,  /* externalTrafficPolicy Local without a ready local endpoint */
};

struct model_svc {
        const struct announce_svc *svc; /* owned by the announcer's service table */
        struct announce_ip_list ips;    /* node-independent address set */
        size_t group;
        struct local_entry *entries;
        size_t n_entries;
        enum local_status local;
        size_t *candidates; /* other candidate nodes: indices into model.nodes */
        size_t n_candidates;
};

struct model_group {
        size_t *members; /* indices into model.svcs, ascending (canonical first) */
        size_t n_members;
        size_t canonical;
        bool self_candidate; /* this node is a candidate for some member */
        size_t *candidates;  /* other nodes that are candidates for some member */
        size_t n_candidates;
};

/* An address and a service announcing it, sorted by address. */
struct ip_owner {
        struct ipaddr ip;
        size_t svc;
};

struct model {
        struct model_svc *svcs; /* sorted by namespace, then name */
        size_t n_svcs;
        struct model_group *groups;
        size_t n_groups;
        const struct node_info **nodes; /* every Node but ours, sorted by name */
        size_t n_nodes;
        struct ip_owner *owners;
        size_t n_owners;
        GHashTable *by_lease; /* lease name → index + 1 (GINT_TO_POINTER) */
};

struct model_input {
        const char *node_name;
        bool external_ips;
        GHashTable *policies; /* name → struct l2pol */
        GHashTable *services; /* key → struct announce_svc */
        GHashTable *nodes;    /* name → struct node_info */
        GHashTable *slices;   /* key → struct slice_info */
        GHashTable *devices;  /* name → struct device_info (configured devices only) */
};

void model_build(const struct model_input *in, struct model *ret);
void model_done(struct model *m);

/* The selected service with this lease name, or NULL. */
const struct model_svc *model_by_lease(const struct model *m, const char *lease_name);
/* Services announcing address ip: indices into m->owners [*ret_from, *ret_to). */
void model_owners(const struct model *m, const struct ipaddr *ip, size_t *ret_from, size_t *ret_to);
const char *local_status_to_string(enum local_status s);
