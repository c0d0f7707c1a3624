// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Word loads from frames for the datapath headers in this directory.
 *
 * The headers sit at their natural offsets in the frame, so after the 14-byte
 * Ethernet header the 4-byte fields of the next one are only 2-byte aligned:
 * these loads are unaligned, which the verifier accepts for packet pointers
 * and the JIT executes as is on architectures with efficient unaligned access
 * (x86-64, arm64), the ones l2lb supports. The may_alias types let a word be
 * read out of a byte array (a MAC, an option) without a byte-by-byte copy. */
#pragma once

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

typedef __u32 __attribute__((may_alias)) load_u32_alias;
typedef __u16 __attribute__((may_alias)) load_u16_alias;

static __always_inline __u32 load32(const void *p)
{
        return *(const load_u32_alias *)p;
}

static __always_inline __u16 load16(const void *p)
{
        return *(const load_u16_alias *)p;
}
