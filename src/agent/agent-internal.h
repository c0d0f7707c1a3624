/* State shared by the agent's files: agent.c (lifecycle, inputs, applying
 * the core's decisions), agent-attach.c (attaching the responder to
 * devices) and agent-status.c (status socket, health, metrics). */
#pragma once

#include <glib.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "agent.h"
#include "announce/announce.h"
#include "links.h"

enum informer_kind {
        INF_POLICIES,
        INF_SERVICES,
        INF_SLICES,
        INF_NODES,
        INF_LEASES,
        N_INFORMERS,
};

struct agent {
        const struct l2lb_config *cfg;
        sd_event *event;
        char *node_name;
        struct kube_client *client;
        struct kube_informer *inf[N_INFORMERS];
        const struct kube_resource *slices_res;
        struct kube_recorder *recorder;
        struct announcer *ann;
        enum announce_election election; /* l2-announcements-election */
        struct responder *resp;
        struct links *links;
        /* ifindex → struct link_info: the Ethernet devices, or with the
         * devices key empty, the devices chosen (devices.h) */
        GHashTable *devices;
        GHashTable *skipped;  /* ifindex → why not chosen (static string), devices key empty */
        bool devices_changed; /* the chosen devices changed: log them at the next run */
        bool self_excluded;   /* our Node is labelled exclude-from-external-load-balancers */
        int ipvs_ifindex;     /* kube-ipvs0, 0 if none */
        const char *ipvs_problem; /* devices_ipvs_arp_problem() at the last check */
        uint64_t ipvs_warned;     /* mono: last warning about it */
        sd_event_source *ipvs_timer;
        GHashTable *attached; /* ifindex → struct responder_attachment */
        /* ifindex → struct attach_failure: the responder could not be
         * attached; retried with a backoff, and the device is reported to
         * the core as down meanwhile (a node that cannot answer must not
         * hold leases) */
        GHashTable *attach_failed;
        GHashTable *entry_devices; /* ifindex set: devices the last run's entries use */
        sd_event_source *attach_retry;
        bool synced;
        bool started;           /* agent_start() ran: attach configured devices as they appear */
        GHashTable *garps_sent; /* "ip\x1fdevice" → gratuitous packets sent (guint64 *) */
        /* "ip\x1fdevice" → struct conflict_log: what was logged of the
         * entries' conflict counters */
        GHashTable *conflicts_logged;
        sd_event_source *conflict_check;
        sd_event_source *run;
        sd_event_source *wakeup;
        unsigned in_flight;   /* lease writes */
        uint64_t last_api_ok; /* mono: last successful request or watch event */
        uint64_t runs;
        uint64_t budget_warned_at; /* mono: last warning about the renewal budget */
        bool budget_warned;        /* ... and it has not been said to clear since */

        /* shutdown */
        bool stopping;
        sd_event_source *stop_timer;
        void (*stop_done)(void *);
        void *stop_data;

        struct metrics *metrics;
        struct kube_client_metrics *client_metrics;
        struct metric *m_held, *m_counters, *m_entries, *m_requests, *m_replies, *m_garp,
            *m_garp_ip, *m_conflicts, *m_heartbeat, *m_ready;
        struct metric *m_unannounced;
        struct metric *m_election, *m_epoch, *m_coordinator, *m_renewal_qps;
        struct httpd *httpd;
        struct httpd *status;
};

/* agent.c */
uint64_t agent_mono(struct agent *a);
void agent_schedule_run(struct agent *a);
/* The device's name, or "if<ifindex>" in buf when it is not known. */
const char *agent_ifname(struct agent *a, int ifindex, char buf[static IF_NAMESIZE]);
/* A device named by the devices key (none when the key is empty). */
bool agent_device_configured(struct agent *a, const char *name);

/* agent-attach.c */
int agent_attach_setup(struct agent *a);
void agent_attach_done(struct agent *a);
/* The device as the core should see it: up only with carrier and when the
 * responder is not known to be unattachable on it. */
void agent_report_device(struct agent *a, const struct link_info *l);
/* Remember the devices the decisions' entries use: they need the responder. */
void agent_attach_set_entries(struct agent *a, const struct announce_decisions *d);
/* Attach the responder where it is needed and not yet attached. */
void agent_attach_pass(struct agent *a);
/* The device went away: forget whether the responder was attached to it. */
void agent_attach_forget(struct agent *a, int ifindex);

/* agent-status.c */
/* Ready: caches synced and, when devices are configured, the responder
 * attached to every configured device present (at least one). */
bool agent_ready(struct agent *a);
/* mac as aa:bb:cc:dd:ee:ff in buf. */
const char *agent_mac_format(const uint8_t mac[6], char buf[static 18]);
/* Count n gratuitous packets sent for ip on device dev. */
void agent_count_garps(struct agent *a, const char *ip, const char *dev, unsigned n);
/* Renewals per second the Leases held now need (lease-per-service). */
double agent_renewal_qps_needed(struct agent *a, uint64_t now);
/* Warn when they need more than k8s-client-qps (rate-limited), and say
 * when that clears. */
void agent_check_renewal_budget(struct agent *a);
/* Metrics, the metrics/health listener and the status socket. */
int agent_status_setup(struct agent *a);
void agent_status_done(struct agent *a);
