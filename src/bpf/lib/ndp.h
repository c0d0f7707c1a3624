// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* IPv6 Neighbor Discovery (RFC 4861) for the responder: which frames are
 * Neighbor Solicitations it may answer (§7.1.1 validation), the in-place
 * rewrite of one into the Neighbor Advertisement that answers it, and which
 * advertisements of other hosts claim an address (§7.1.2 validation). */
#pragma once

#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "eth.h"
#include "ipv6.h"
#include "load.h"

/* The kernel keeps these in include/net/ndisc.h, which is not UAPI: the
 * message types, the option type and the message layouts are restated here
 * under its names. */
#define NDISC_NEIGHBOUR_SOLICITATION  135
#define NDISC_NEIGHBOUR_ADVERTISEMENT 136
#define ND_OPT_SOURCE_LL_ADDR         1
#define ND_OPT_TARGET_LL_ADDR         2
#define ND_NA_FLAG_SOLICITED_OVERRIDE 0x60000000 /* S=1, O=1, R=0 */
#define ND_NA_FLAG_OVERRIDE           0x20000000 /* S=0, O=1, R=0: answers DAD */
#define ND_NA_FLAG_SOLICITED          0x40000000 /* S */

/* A solicitation or an advertisement: the kernel's struct nd_msg without the
 * flexible options. */
struct nd_msg {
        struct icmp6hdr icmph; /* flags in icmp6_dataun.un_data32[0] */
        struct in6_addr target;
};

/* A link-layer address option for Ethernet (the kernel's struct nd_opt_hdr
 * and the address). */
struct nd_opt_lla {
        __u8 nd_opt_type;
        __u8 nd_opt_len; /* in units of 8 bytes */
        __u8 addr[ETH_ALEN];
};

/* Options after the 24-byte message, in 8-byte units: enough for a source
 * link-layer address option plus a few others; longer solicitations are
 * passed to the kernel. */
#define ND_MAX_OPT_UNITS 8

/* The advertisement that answers: Ethernet, IPv6, message, target link-layer
 * address option; 86 bytes. */
#define NDP_NA_FRAME_LEN                                                                           \
        (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct nd_msg) +                  \
         sizeof(struct nd_opt_lla))

static __always_inline struct nd_msg *ndp_msg(struct ipv6hdr *ip6)
{
        return (void *)(ip6 + 1);
}

/* The type of the ICMPv6 message the IPv6 frame after eth carries, if it is
 * long enough for a Neighbor Discovery message; 0 otherwise. */
static __always_inline __u8 ndp_type(struct ethhdr *eth, void *end)
{
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        struct nd_msg *msg = ndp_msg(ip6);

        if ((void *)(msg + 1) > end || ip6->nexthdr != IPPROTO_ICMPV6)
                return 0;
        return msg->icmph.icmp6_type;
}

/* The IPv6 header of the frame after eth. */
static __always_inline struct ipv6hdr *ndp_ip6(struct ethhdr *eth)
{
        return (void *)(eth + 1);
}

/* Whether the frame after eth carries a Neighbor Discovery message of type
 * type (IPv6 header at ndp_ip6()) that passes the checks shared by
 * solicitations and advertisements (§7.1.1, §7.1.2): hop limit 255, code 0,
 * a payload of whole options within the frame, a unicast target from a
 * source that is not multicast, in a frame from a unicast Ethernet sender.
 * The options and the checksum are left to ndp_msg_valid, once the target
 * matched. */
static __always_inline bool ndp_msg_check(struct ethhdr *eth, void *end, __u8 type)
{
        struct ipv6hdr *ip6 = ndp_ip6(eth);
        struct nd_msg *msg = ndp_msg(ip6);
        __u32 plen;

        if ((void *)(msg + 1) > end)
                return false;
        if (!ipv6_is_version6(ip6) || ip6->nexthdr != IPPROTO_ICMPV6 || ip6->hop_limit != 255 ||
            msg->icmph.icmp6_type != type || msg->icmph.icmp6_code != 0)
                return false;
        plen = bpf_ntohs(ip6->payload_len);
        if (plen < sizeof(*msg) || plen > sizeof(*msg) + ND_MAX_OPT_UNITS * 8 || plen % 8 != 0)
                return false;
                /* the payload within the frame, unit by unit: constant offsets, as
                 * a packet pointer plus a variable is refused without CAP_PERFMON
                 * (no Spectre v1 sanitation for packet pointers); barrier_var keeps
                 * clang from folding the checks into end - data (refused too) */
#pragma clang loop unroll(full)
        for (__u32 u = 0; u < ND_MAX_OPT_UNITS; u++) {
                void *unit_end = (void *)(msg + 1) + (u + 1) * 8;

                if (u >= (plen - sizeof(*msg)) / 8)
                        break;
                barrier_var(unit_end);
                if (unit_end > end)
                        return false;
        }
        if (ipv6_addr_is_multicast(&ip6->saddr) || ipv6_addr_is_multicast(&msg->target))
                return false;
        return !eth_addr_is_multicast(eth->h_source);
}

/* Whether the frame after eth is a Neighbor Solicitation that may be ours
 * to answer: ndp_msg_check's checks, asked by a unicast or unspecified (DAD)
 * source, and a destination that is the target or its solicited-node group
 * (on the matching Ethernet group), the group only for DAD (§7.1.1). */
static __always_inline bool ndp_ns_check(struct ethhdr *eth, void *end)
{
        struct ipv6hdr *ip6 = ndp_ip6(eth);
        struct nd_msg *ns = ndp_msg(ip6);

        if (!ndp_msg_check(eth, end, NDISC_NEIGHBOUR_SOLICITATION))
                return false;
        if (ipv6_addr_is_multicast(&ip6->daddr))
                return ipv6_addr_is_solicited_node_of(&ip6->daddr, &ns->target) &&
                       eth->h_dest[0] == 0x33 && eth->h_dest[1] == 0x33 &&
                       load32(eth->h_dest + 2) == ip6->daddr.s6_addr32[3];
        return ipv6_addr_equal(&ip6->daddr, &ns->target) && !ipv6_addr_is_unspecified(&ip6->saddr);
}

/* Whether the frame after eth is a Neighbor Advertisement, valid as far as
 * ndp_msg_check checks, from a specified source, and not marked solicited
 * if sent to a group (§7.1.2). Solicited or not, to whomever: any
 * advertisement for an address tells where the advertiser thinks it is. */
static __always_inline bool ndp_na_check(struct ethhdr *eth, void *end)
{
        struct ipv6hdr *ip6 = ndp_ip6(eth);

        if (!ndp_msg_check(eth, end, NDISC_NEIGHBOUR_ADVERTISEMENT) ||
            ipv6_addr_is_unspecified(&ip6->saddr))
                return false;
        return !ipv6_addr_is_multicast(&ip6->daddr) ||
               !(ndp_msg(ip6)->icmph.icmp6_dataun.un_data32[0] & bpf_htonl(ND_NA_FLAG_SOLICITED));
}

/* True if the solicitation went to its solicited-node group or, unicast, to
 * mac. */
static __always_inline bool ndp_ns_is_for(const struct ethhdr *eth, const struct ipv6hdr *ip6,
                                          const __u8 *mac)
{
        return ipv6_addr_is_multicast(&ip6->daddr) || eth_addr_equal(eth->h_dest, mac);
}

/* The rest of §7.1.1 / §7.1.2 for a message ndp_msg_check accepted: options
 * of non-zero length that tile the message exactly, and a valid checksum.
 * The link-layer address option of type lla_type (source in a solicitation,
 * target in an advertisement) only where lla_ok, and of the one length an
 * Ethernet address fits (8 bytes), as Linux's ndisc requires; its address
 * goes to lla (when not NULL) and *has_lla is set. Other options (an RFC
 * 7527 nonce) are ignored. */
static __always_inline bool ndp_msg_valid(struct ipv6hdr *ip6, void *end, __u8 lla_type,
                                          bool lla_ok, __u8 *lla, bool *has_lla)
{
        struct nd_msg *msg = ndp_msg(ip6);
        __u32 plen = bpf_ntohs(ip6->payload_len);
        __u32 units = (plen - sizeof(*msg)) / 8, next_opt = 0;
        __u64 sum;

        sum = csum_ipv6_pseudo(ip6, plen, IPPROTO_ICMPV6) + csum_words(msg, sizeof(*msg) / 4);
#pragma clang loop unroll(full)
        for (__u32 u = 0; u < ND_MAX_OPT_UNITS; u++) {
                __u8 *unit = (__u8 *)(msg + 1) + u * 8;

                if (u >= units)
                        break;
                if ((void *)(unit + 8) > end)
                        return false;
                if (u == next_opt) {
                        if (unit[1] == 0)
                                return false;
                        if (unit[0] == lla_type) {
                                if (!lla_ok || unit[1] != 1)
                                        return false;
                                if (lla)
                                        __builtin_memcpy(lla, unit + 2, ETH_ALEN);
                                *has_lla = true;
                        }
                        next_opt += unit[1];
                }
                sum += csum_words(unit, 2);
        }
        return next_opt == units && csum_fold(sum) == 0xffff;
}

/* ndp_msg_valid for a solicitation ndp_ns_check accepted: a source
 * link-layer address option only from a specified source. */
static __always_inline bool ndp_ns_valid(struct ipv6hdr *ip6, void *end)
{
        bool has_slla = false;

        return ndp_msg_valid(ip6, end, ND_OPT_SOURCE_LL_ADDR,
                             !ipv6_addr_is_unspecified(&ip6->saddr), NULL, &has_slla);
}

/* True if the advertisement ndp_na_check accepted is valid (ndp_msg_valid)
 * and tells that its target is at another MAC than mac: neither the frame
 * nor the target link-layer address option (if any) is mac. An
 * advertisement of ours looped back, or relayed by a proxy with our address
 * in it, claims nothing. */
static __always_inline bool ndp_na_claims_for_other(const struct ethhdr *eth, struct ipv6hdr *ip6,
                                                    void *end, const __u8 *mac)
{
        __u8 tlla[ETH_ALEN];
        bool has_tlla = false;

        if (eth_addr_equal(eth->h_source, mac))
                return false;
        if (!ndp_msg_valid(ip6, end, ND_OPT_TARGET_LL_ADDR, true, tlla, &has_tlla))
                return false;
        return !has_tlla || !eth_addr_equal(tlla, mac);
}

/* Turns the solicitation (eth, ip6: as ndp_ns_check accepted them) into the
 * advertisement "target is at mac", solicited and overriding, back to the
 * requester, with the target link-layer address option; for DAD (from ::)
 * overriding but not solicited, to all nodes (ff02::1 on 33:33:00:00:00:01,
 * RFC 4861 §7.2.4). The frame becomes NDP_NA_FRAME_LEN bytes: with resize,
 * bpf_xdp_adjust_tail grows or shrinks it; without, a shorter frame cannot
 * be answered. target must not point into the frame (it may move). False if
 * the frame could not be resized. */
static __always_inline bool ndp_na_rewrite(struct xdp_md *ctx, struct ethhdr *eth,
                                           struct ipv6hdr *ip6, const __u8 *mac_in,
                                           const struct in6_addr *target, bool resize)
{
        struct nd_msg *na;
        struct nd_opt_lla *opt;
        struct in6_addr req_ip;
        __u8 mac[ETH_ALEN], req_mac[ETH_ALEN];
        __be32 flags = bpf_htonl(ND_NA_FLAG_SOLICITED_OVERRIDE);
        void *data = (void *)(long)ctx->data;
        void *end = (void *)(long)ctx->data_end;
        /* the frame's length: packet pointers are compared with <, never
         * subtracted or tested for equality (refused without CAP_PERFMON);
         * barrier_var keeps clang from folding the two tests into == */
        void *reply_end = data + NDP_NA_FRAME_LEN;
        bool fits = reply_end <= end, exact;
        __u64 sum;

        barrier_var(reply_end);
        exact = fits && !(reply_end < end);

        /* Everything the reply needs, before the frame may move. */
        __builtin_memcpy(mac, mac_in, ETH_ALEN);
        __builtin_memcpy(req_mac, eth->h_source, ETH_ALEN);
        req_ip = ip6->saddr;
        if (ipv6_addr_is_unspecified(&req_ip)) {
                ipv6_addr_set_all_nodes(&req_ip);
                ipv6_mcast_mac(req_mac, &req_ip);
                flags = bpf_htonl(ND_NA_FLAG_OVERRIDE);
        }
        if (!exact && (resize ? bpf_xdp_adjust_tail(ctx, (int)NDP_NA_FRAME_LEN -
                                                             (int)bpf_xdp_get_buff_len(ctx)) != 0
                              : !fits))
                return false;

        data = (void *)(long)ctx->data;
        end = (void *)(long)ctx->data_end;
        if (data + NDP_NA_FRAME_LEN > end)
                return false;
        eth = data;
        ip6 = (void *)(eth + 1);
        na = ndp_msg(ip6);
        opt = (void *)(na + 1);

        __builtin_memcpy(eth->h_dest, req_mac, ETH_ALEN);
        __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
        ipv6_set_vtcfl_plain(ip6);
        ip6->payload_len = bpf_htons(sizeof(*na) + sizeof(*opt));
        ip6->nexthdr = IPPROTO_ICMPV6;
        ip6->hop_limit = 255;
        ip6->saddr = *target;
        ip6->daddr = req_ip;
        na->icmph.icmp6_type = NDISC_NEIGHBOUR_ADVERTISEMENT;
        na->icmph.icmp6_code = 0;
        na->icmph.icmp6_cksum = 0;
        na->icmph.icmp6_dataun.un_data32[0] = flags;
        na->target = *target;
        opt->nd_opt_type = ND_OPT_TARGET_LL_ADDR;
        opt->nd_opt_len = 1;
        __builtin_memcpy(opt->addr, mac, ETH_ALEN);

        /* The checksum from the parts, not from the packet just written:
         * source = target = T (twice), destination A, upper-layer length 32,
         * next header, type word, flags word, option type/length/MAC. */
        sum = 2 * csum_words(target, 4) + csum_words(&req_ip, 4) + csum_words(opt, 2) +
              bpf_htonl(sizeof(*na) + sizeof(*opt)) + bpf_htonl(IPPROTO_ICMPV6) +
              bpf_htonl((__u32)NDISC_NEIGHBOUR_ADVERTISEMENT << 24) + flags;
        na->icmph.icmp6_cksum = (__u16)~csum_fold(sum);
        return true;
}
