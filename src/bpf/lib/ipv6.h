// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* IPv6 addresses for the datapath (struct in6_addr, word by word) and the
 * first word of the header. */
#pragma once

#include <stdbool.h>

#include <linux/in6.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>

#include "load.h"

/* Version 6, traffic class 0, flow label 0: the header's first word. */
#define IPV6_VTCFL_PLAIN 0x60000000

static __always_inline bool ipv6_is_version6(const struct ipv6hdr *ip6)
{
        return (load32(ip6) & bpf_htonl(0xf0000000)) == bpf_htonl(IPV6_VTCFL_PLAIN);
}

/* Version 6, traffic class 0, flow label 0, in one store: the version and
 * traffic class are bit fields of struct ipv6hdr, set field by field they
 * would cost a read-modify-write. */
static __always_inline void ipv6_set_vtcfl_plain(struct ipv6hdr *ip6)
{
        __be32 word = bpf_htonl(IPV6_VTCFL_PLAIN);

        __builtin_memcpy(ip6, &word, sizeof(word));
}

static __always_inline bool ipv6_addr_is_unspecified(const struct in6_addr *a)
{
        return (a->s6_addr32[0] | a->s6_addr32[1] | a->s6_addr32[2] | a->s6_addr32[3]) == 0;
}

static __always_inline bool ipv6_addr_is_multicast(const struct in6_addr *a)
{
        return a->s6_addr[0] == 0xff;
}

static __always_inline bool ipv6_addr_equal(const struct in6_addr *a, const struct in6_addr *b)
{
        return a->s6_addr32[0] == b->s6_addr32[0] && a->s6_addr32[1] == b->s6_addr32[1] &&
               a->s6_addr32[2] == b->s6_addr32[2] && a->s6_addr32[3] == b->s6_addr32[3];
}

/* ff02::1, all nodes on the link (RFC 4291 §2.7.1). */
static __always_inline void ipv6_addr_set_all_nodes(struct in6_addr *a)
{
        a->s6_addr32[0] = bpf_htonl(0xff020000);
        a->s6_addr32[1] = 0;
        a->s6_addr32[2] = 0;
        a->s6_addr32[3] = bpf_htonl(1);
}

/* The Ethernet address of multicast group a: 33:33 and its last 32 bits
 * (RFC 2464 §7). */
static __always_inline void ipv6_mcast_mac(__u8 *mac, const struct in6_addr *a)
{
        mac[0] = 0x33;
        mac[1] = 0x33;
        __builtin_memcpy(mac + 2, &a->s6_addr32[3], 4);
}

/* True if a is ff02::1:ffXX:XXXX for the low 24 bits of target (RFC 4291
 * §2.7.1). */
static __always_inline bool ipv6_addr_is_solicited_node_of(const struct in6_addr *a,
                                                           const struct in6_addr *target)
{
        return a->s6_addr32[0] == bpf_htonl(0xff020000) && a->s6_addr32[1] == 0 &&
               a->s6_addr32[2] == bpf_htonl(0x00000001) && a->s6_addr[12] == 0xff &&
               a->s6_addr[13] == target->s6_addr[13] && a->s6_addr[14] == target->s6_addr[14] &&
               a->s6_addr[15] == target->s6_addr[15];
}
