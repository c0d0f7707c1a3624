/* This node's network devices from rtnetlink (libmnl): an initial dump and
 * then every change (new, changed, removed), with name, ifindex, MAC and
 * carrier, delivered on the event loop. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct link_info {
        int ifindex;
        char name[IF_NAMESIZE];
        uint8_t mac[6];
        bool ether;   /* ARPHRD_ETHER with a 6-byte address */
        bool up;      /* IFF_UP */
        bool carrier; /* IFF_LOWER_UP */
};

typedef void (*links_cb_t)(void *userdata, const struct link_info *l, bool removed);

struct links;

/* Dumps the current devices (callbacks run before this returns), then
 * reports changes from the event loop. */
int links_open(sd_event *e, links_cb_t cb, void *userdata, struct links **ret);
void links_free(struct links *l);
