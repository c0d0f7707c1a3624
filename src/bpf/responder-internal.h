/* State of a struct responder, shared by the files that implement it:
 * responder.c (load, pins, entries), responder-attach.c (XDP attachment),
 * responder-announce.c (gratuitous frames), responder-mcast.c (solicited-node
 * groups). Not for users of responder.h. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bpf/l2resp.h"
#include "bpf/responder.h"

struct l2resp; /* the bpftool skeleton */

/* A solicited-node group joined on an interface, and how many IPv6 entries
 * on that interface map to it (addresses sharing their low 24 bits share a
 * group). */
struct mcast_group {
        int ifindex;
        uint8_t mac[6];
        unsigned refs;
};

/* The MAC an interface had when responder_attach() last stored it into the
 * entries on it, so that re-attaching (which the agent may do often) only
 * rewrites the entries when the MAC changed. */
struct iface_mac {
        int ifindex;
        uint8_t mac[6];
};

/* An entry as responder_reconcile last wrote it (see responder.c). */
struct responder_shadow {
        struct l2resp_key key;
        uint64_t deadline_ns;
        uint8_t mac[6];
};

struct responder {
        char *root;
        struct l2resp *skel;
        int entries_fd; /* owned by skel */
        uint32_t entries_map_id;
        /* ids of entries maps of earlier layouts still pinned in our root:
         * programs of older builds that use them are ours too (to replace) */
        uint32_t old_map_ids[2];
        uint8_t tags[2][8]; /* program tags of this build: full and fixed variant */
        /* our entries map was pinned before this open and no link of ours
         * is pinned yet: a program attached by netlink is the responder an
         * agent of an older build left (see responder-attach.c) */
        bool legacy_upgrade;
        int packet_fd; /* AF_PACKET raw socket: sends, and interface ioctls */
        struct mcast_group *groups;
        size_t n_groups;
        struct iface_mac *macs;
        size_t n_macs;
        struct responder_stats stats;
        struct responder_shadow *shadow; /* sorted by key */
        size_t n_shadow;
        bool shadow_valid;         /* false: list the map at the next reconcile */
        uint64_t shadow_listed_ns; /* when it was last listed (responder_now_ns) */
};

/* Writers of entries other than responder_reconcile call this: the next
 * reconcile lists the map instead of trusting what it wrote last. */
void responder_shadow_forget(struct responder *r);

/* Pinned links (and their programs) live in <root>/RESPONDER_LINKS_DIR. */
#define RESPONDER_LINKS_DIR "links"
/* Remove every link pin and the directory; a link is detached once no
 * process holds it open any more. */
int responder_unpin_links(struct responder *r);

void responder_key_init(struct l2resp_key *k, const struct ipaddr *ip, int ifindex);
/* The name and the Ethernet address of ifindex, from the packet socket's
 * network namespace. */
int responder_iface_name(struct responder *r, int ifindex, char name[16]);
int responder_iface_mac(struct responder *r, int ifindex, uint8_t mac[6]);

/* Store mac into every entry on ifindex (after a MAC change). */
int responder_refresh_macs(struct responder *r, int ifindex, const uint8_t mac[6]);

/* Solicited-node group of addr (IPv6, 16 bytes) on ifindex: delta +1 takes a
 * reference (joining on the first), -1 drops one (leaving on the last). */
void responder_mcast_ref(struct responder *r, int ifindex, const uint8_t addr[16], int delta);
void responder_mcast_free(struct responder *r);
