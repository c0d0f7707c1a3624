/* Pure decisions about this node's network (no I/O, unit-tested):
 *
 * - Which devices the agent announces on when the `devices` option is empty.
 *   Cilium's device detection (its devices controller, isSelectedDevice):
 *   up, not loopback, not a bond slave or bridge port (IFF_SLAVE, a master),
 *   no excluded name prefix (cilium_, lo, lxc, cni, docker), not a bridge or
 *   Open vSwitch device, a veth only with a default route (kind nodes'
 *   uplink is a veth), and a global unicast address. l2lb answers ARP/NDP,
 *   so it also needs an Ethernet device, and it skips what Cilium never meets
 *   as the CNI itself: tunnels (vxlan, geneve, gretap, ...), dummies (kube-ipvs0,
 *   nodelocaldns) and other CNIs' devices by prefix (cali, flannel, weave,
 *   antrea-, ...). A default route counts like a global address.
 *
 * - Whether kube-proxy in IPVS mode makes every node's kernel answer ARP for
 *   the service IPs: it puts them on the dummy kube-ipvs0, and unless
 *   strictARP sets net.ipv4.conf.all.arp_ignore=1 and arp_announce=2, the
 *   kernel answers ARP for any local address on every interface. */
#pragma once

#include <stdbool.h>

#include "lib/addr.h"

/* kube-proxy's IPVS dummy device. */
#define IPVS_DEVICE "kube-ipvs0"

struct device_facts {
        const char *name;
        const char *kind;   /* IFLA_INFO_KIND; NULL or "": none (a physical NIC) */
        unsigned flags;     /* IFF_* */
        int master;         /* IFLA_MASTER ifindex; 0: none */
        bool ether;         /* ARPHRD_ETHER with a 6-byte address */
        bool global_addr;   /* has a global unicast address (devices_global_unicast) */
        bool default_route; /* a default route (outside the local table) leaves through it */
};

/* NULL: the device is chosen; else why not (a static string). */
const char *devices_skip_reason(const struct device_facts *f);

/* A global unicast address as Go's IsGlobalUnicast (what Cilium tests):
 * not unspecified, loopback, link-local, multicast or the IPv4 broadcast. */
bool devices_global_unicast(const struct ipaddr *a);

/* NULL: ARP is safe; else what is wrong (a static string). ipvs_device:
 * kube-ipvs0 exists; the sysctls are net.ipv4.conf.all's, -1 if unreadable. */
const char *devices_ipvs_arp_problem(bool ipvs_device, int arp_ignore, int arp_announce);
