// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Internet checksums (RFC 1071) without helper calls, for the ICMPv6 part of
 * Neighbor Discovery.
 *
 * 32-bit words loaded in host order are added into 64 bits and folded. The
 * ones' complement sum does not depend on the byte order of the words (RFC
 * 1071 §2), so the folded value, stored back with a host-order 16-bit store,
 * is the checksum in network order. */
#pragma once

#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>

#include "load.h"

/* Sum of words 32-bit words at p (a constant count: the loop unrolls). */
static __always_inline __u64 csum_words(const void *p, int words)
{
        __u64 s = 0;

#pragma clang loop unroll(full)
        for (int i = 0; i < words; i++)
                s += load32((const __u8 *)p + 4 * i);
        return s;
}

static __always_inline __u16 csum_fold(__u64 s)
{
        s = (s & 0xffffffff) + (s >> 32);
        s = (s & 0xffffffff) + (s >> 32);
        s = (s & 0xffff) + (s >> 16);
        s = (s & 0xffff) + (s >> 16);
        return (__u16)s;
}

/* Sum of the IPv6 pseudo-header (RFC 8200 §8.1): both addresses (contiguous
 * in the header), the upper-layer length and the next header, as big-endian
 * words. */
static __always_inline __u64 csum_ipv6_pseudo(const struct ipv6hdr *ip6, __u32 len, __u8 nexthdr)
{
        return csum_words(&ip6->saddr, 8) + bpf_htonl(len) + bpf_htonl(nexthdr);
}
