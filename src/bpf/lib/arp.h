// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ARP for IPv4 over Ethernet (RFC 826): which frames are requests the
 * responder may answer, and the in-place rewrite of a request into its
 * reply. */
#pragma once

#include <stdbool.h>

#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>

#include "eth.h"

/* <linux/if_arp.h> does not compile for the BPF target: it pulls glibc's
 * <sys/socket.h> in through <linux/if.h>. Its constants are restated here
 * under the kernel's names. */
#define ARPHRD_ETHER  1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY   2

/* An ARP packet for IPv4 over Ethernet. The kernel has no struct for it: its
 * struct arphdr stops after the fixed part, since the address fields depend
 * on the hardware and protocol (and its header does not compile here, see
 * above). The field names are the kernel's. */
struct arp_eth_ipv4 {
        __be16 ar_hrd; /* hardware: ARPHRD_ETHER */
        __be16 ar_pro; /* protocol: ETH_P_IP */
        __u8 ar_hln;   /* ETH_ALEN */
        __u8 ar_pln;   /* 4 */
        __be16 ar_op;
        __u8 ar_sha[ETH_ALEN]; /* sender */
        __u8 ar_sip[4];
        __u8 ar_tha[ETH_ALEN]; /* target */
        __u8 ar_tip[4];
};

static __always_inline struct arp_eth_ipv4 *arp_hdr(struct ethhdr *eth)
{
        return (void *)(eth + 1);
}

/* Whether the frame after eth is an ARP request or reply for IPv4 over
 * Ethernet from a unicast sender (at arp_hdr()). A request asks for ar_tip;
 * a reply (or any announcement) tells where ar_sip is. */
static __always_inline bool arp_check(struct ethhdr *eth, void *end)
{
        struct arp_eth_ipv4 *arp = arp_hdr(eth);

        if ((void *)(arp + 1) > end)
                return false;
        if (arp->ar_hrd != bpf_htons(ARPHRD_ETHER) || arp->ar_pro != bpf_htons(ETH_P_IP) ||
            arp->ar_hln != ETH_ALEN || arp->ar_pln != 4 ||
            (arp->ar_op != bpf_htons(ARPOP_REQUEST) && arp->ar_op != bpf_htons(ARPOP_REPLY)))
                return false;
        return !eth_addr_is_multicast(eth->h_source);
}

static __always_inline bool arp_is_request(const struct arp_eth_ipv4 *arp)
{
        return arp->ar_op == bpf_htons(ARPOP_REQUEST);
}

/* True if the request's frame went to the broadcast address or to mac. */
static __always_inline bool arp_request_is_for(const struct ethhdr *eth, const __u8 *mac)
{
        return eth_addr_is_broadcast(eth->h_dest) || eth_addr_equal(eth->h_dest, mac);
}

/* True for a gratuitous request (RFC 5227 §3: an announcement): sender IP =
 * target IP. A host announcing an address asks nobody; Linux does not answer
 * one either. */
static __always_inline bool arp_request_is_gratuitous(const struct arp_eth_ipv4 *arp)
{
        return load32(arp->ar_sip) == load32(arp->ar_tip);
}

/* True if the packet (a request or a reply) tells that its sender IP is at
 * another MAC than mac: neither the frame nor the ARP sender is mac (RFC
 * 5227 §2.4: a conflicting ARP packet). A frame of ours looped back, or
 * relayed by a proxy with our address in it, claims nothing. */
static __always_inline bool arp_claims_for_other(const struct ethhdr *eth,
                                                 const struct arp_eth_ipv4 *arp, const __u8 *mac)
{
        return !eth_addr_equal(eth->h_source, mac) && !eth_addr_equal(arp->ar_sha, mac);
}

/* Turns the request into the reply "ar_tip is at mac", in place: back to the
 * requester, from mac. */
static __always_inline void arp_reply_rewrite(struct ethhdr *eth, struct arp_eth_ipv4 *arp,
                                              const __u8 *mac)
{
        __u8 req_mac[ETH_ALEN], req_ip[4];

        __builtin_memcpy(req_mac, arp->ar_sha, ETH_ALEN);
        __builtin_memcpy(req_ip, arp->ar_sip, 4);
        __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
        __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
        arp->ar_op = bpf_htons(ARPOP_REPLY);
        __builtin_memcpy(arp->ar_sha, mac, ETH_ALEN);
        __builtin_memcpy(arp->ar_sip, arp->ar_tip, 4);
        __builtin_memcpy(arp->ar_tha, req_mac, ETH_ALEN);
        __builtin_memcpy(arp->ar_tip, req_ip, 4);
}
