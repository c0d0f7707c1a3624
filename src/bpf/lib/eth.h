// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Ethernet for the datapath: the header (the kernel's struct ethhdr) and the
 * addresses the responder checks and swaps. */
#pragma once

#include <stdbool.h>

#include <linux/if_ether.h>

#include "load.h"

/* Whether the frame from data to end holds an Ethernet header.
 *
 * The parsers here return whether a header passes, and the caller points at
 * it (its place is fixed): not a pointer or NULL, as comparing a packet
 * pointer with NULL is refused by the verifier ("pointer comparison
 * prohibited") unless the loader has CAP_PERFMON, which the agent should
 * not need. */
static __always_inline bool eth_fits(const void *data, const void *end)
{
        return (const void *)((const struct ethhdr *)data + 1) <= end;
}

/* struct ethhdr is packed in <linux/if_ether.h>: reading h_proto as a field
 * would cost two byte loads; the frame keeps it 2-byte aligned. */
static __always_inline __be16 eth_proto(const struct ethhdr *eth)
{
        return load16(&eth->h_proto);
}

static __always_inline bool eth_addr_equal(const __u8 *a, const __u8 *b)
{
        return load32(a) == load32(b) && load16(a + 4) == load16(b + 4);
}

static __always_inline bool eth_addr_is_broadcast(const __u8 *a)
{
        return load32(a) == 0xffffffff && load16(a + 4) == 0xffff;
}

static __always_inline bool eth_addr_is_multicast(const __u8 *a)
{
        return a[0] & 1;
}
