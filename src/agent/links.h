/* This node's network devices from rtnetlink (libmnl): an initial dump and
 * then every change (new, changed, removed), with name, ifindex, MAC,
 * carrier, kind, flags and master, and whether the device has a global
 * unicast address and a default route (what device detection needs),
 * delivered on the event loop. Address and route changes are batched
 * (100 ms) and re-read with a dump; a device whose facts changed is
 * reported again. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct link_info {
        int ifindex;
        char name[IF_NAMESIZE];
        uint8_t mac[6];
        bool ether;         /* ARPHRD_ETHER with a 6-byte address */
        bool up;            /* IFF_UP */
        bool carrier;       /* IFF_LOWER_UP */
        char kind[32];      /* IFLA_INFO_KIND; "" if none */
        unsigned flags;     /* ifi_flags */
        int master;         /* IFLA_MASTER; 0 if none */
        bool global_addr;   /* a global unicast address (devices_global_unicast) */
        bool default_route; /* a default route outside the local table leaves through it */
};

typedef void (*links_cb_t)(void *userdata, const struct link_info *l, bool removed);

struct links;

/* Dumps the current devices, their addresses and routes (callbacks run
 * before this returns, in ifindex order), then reports changes from the
 * event loop. */
int links_open(sd_event *e, links_cb_t cb, void *userdata, struct links **ret);
void links_free(struct links *l);

/* net.ipv4.conf.all.arp_ignore and arp_announce of this network namespace;
 * -1 where unreadable. */
void links_arp_sysctls(int *ret_arp_ignore, int *ret_arp_announce);
