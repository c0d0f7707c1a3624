/* The announcer object, shared by announcer.c (inputs, results,
 * introspection) and run.c (the decisions of one run). */
#pragma once

#include <glib.h>

#include "announce.h"
#include "election.h"
#include "garp.h"
#include "heartbeat.h"
#include "model.h"
#include "policy.h"
#include "service.h"
#include "timing.h"

/* What this node wants to do with a lease, decided at the start of a run. */
enum want {
        WANT_RELEASE, /* not ours to hold: fall silent, hand over if it carries our name */
        WANT_HOLD,    /* contest and hold (canonical lease, or a group mate of one we hold) */
        WANT_KEEP,    /* renew if ours, do not acquire */
};

struct status_sent {
        char *resource_version; /* of the policy when we wrote */
        uint64_t at;
};

struct announcer {
        char *node;
        enum announce_election election;
        struct hb *hb; /* node-heartbeat state; NULL in lease-per-service mode */
        char *ns;
        struct timing t;
        bool external_ips;
        struct announce_svc_families fam;
        struct iprange *ext_allowed; /* external_ips_cidrs, parsed */
        size_t n_ext_allowed;
        /* policy name → message of the policy's refused external IPs (see
         * announcer_refused_external_ips); NULL when stale */
        GHashTable *ext_refused;
        char **devices_cfg;

        GHashTable *policies; /* name → struct l2pol */
        GHashTable *services; /* namespace/name → struct announce_svc */
        GHashTable *nodes;    /* name → struct node_info */
        GHashTable *slices;   /* namespace/name → struct slice_info */
        GHashTable *devices;  /* name → struct device_info (configured devices only) */
        GHashTable *slots;    /* lease name → struct slot */
        struct slot **sorted; /* the slots by lease name; NULL when stale */
        size_t n_sorted;
        GHashTable *pending;     /* action id (uint64_t *) → struct slot (borrowed) */
        GHashTable *status_sent; /* policy name → struct status_sent */

        struct model model;
        bool model_valid;
        struct slot **svc_slots; /* slot of each model service; NULL when stale */
        bool designated;         /* announcer_designated(), as of the model */

        struct announce_entry *pinned;
        size_t n_pinned;
        bool synced;
        bool started;      /* the first run after sync happened */
        size_t n_adopting; /* re-adoption writes in flight: no acquisitions yet */
        bool release_all;
        bool renew_all;
        bool shutting_down;

        struct garp_table garps;
        struct rtt_estimator rtt;
        uint64_t next_id;
        struct announce_counters counters;
};

/* The message of COND_EXTERNAL_IPS_NOT_ALLOWED for policy p: the external
 * IPs it selects but may not announce (outside the allowed CIDRs), or NULL
 * when there are none or external IPs are off. Rebuilt with the model. */
const char *announcer_refused_external_ips(struct announcer *a, const struct l2pol *p);
/* The model, rebuilt if an input changed. */
const struct model *announcer_model(struct announcer *a);
void announcer_invalidate(struct announcer *a);
/* The slot of a lease, created if needed. */
struct slot *announcer_slot(struct announcer *a, const char *name, uint64_t now);
/* This node writes policy status and garbage-collects leases: the first
 * Ready, schedulable node by name in the Node cache. */
bool announcer_designated(const struct announcer *a);
/* The pinned entries are fed back no more: their addresses were announced
 * already (no gratuitous series for them). */
void announcer_forget_pinned(struct announcer *a);
/* Sorts the entries by address and interface and drops duplicates. */
void announce_entries_normalise(struct announce_decisions *o);
