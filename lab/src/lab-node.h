/* The lab node agent: the kubelet's part in the lab, one process per node
 * namespace. lab-node.c registers the Node, keeps its Lease and Ready
 * condition fresh and routes the other nodes' pod CIDRs; lab-pod.c runs the
 * pods bound to the node. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "kube/informer.h"

struct lab_node {
        sd_event *event;
        struct kube_client *client;

        /* settings */
        char *name;
        char *node_ip;
        bool control_plane;
        char *podnet;    /* path of lab/podnet (pod network helper) */
        char *deathstar; /* path of l2lb-deathstar */
        char *pid_dir;   /* pod PID files, for the lab's clean-up */
        char *log_dir;   /* pod logs */

        /* node state */
        char *pod_cidr;                /* spec.podCIDR once the controller-manager set it */
        uint32_t cidr_base, cidr_size; /* host order; size = number of addresses */
        int64_t started_usec;          /* realtime, for lastTransitionTime */
        bool registered;
        sd_event_source *heartbeat;
        sd_event_source *status_timer;
        unsigned status_tick;

        struct kube_informer *nodes; /* every Node: our pod CIDR and the routes */
        struct kube_informer *pods;  /* pods with spec.nodeName = name */
        GHashTable *routes;          /* pod CIDR → via (installed or being installed) */
        GHashTable *pods_by_key;     /* "ns/name" → struct lab_pod */
        GHashTable *used_ips;        /* IPv4 (host order, as pointer) in use */
        bool stopping;
};

/* lab-pod.c */
void lab_pods_init(struct lab_node *n);
void lab_pods_on_cidr(struct lab_node *n); /* the pod CIDR became known */
/* Stop every pod and remove its network (shutdown, synchronous). */
void lab_pods_shutdown(struct lab_node *n);
extern const struct kube_informer_handlers lab_pod_handlers;

/* lab-node.c */
int64_t lab_now_usec(void);
const char *lab_time(int64_t usec, char *buf, size_t len); /* RFC 3339 seconds */
