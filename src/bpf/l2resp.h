/* Map layout of the L2 responder, shared by the eBPF program (l2resp.bpf.c)
 * and its loader (responder.c). Every struct has explicit padding so that
 * both compilers agree byte for byte; user space checks the sizes with
 * static asserts.
 *
 * l2_entries: one entry per (interface, service IP) the node announces.
 *   key   = struct l2resp_key
 *   value = struct l2resp_value: the liveness deadline, three counters, and
 *           the interface's MAC address, which the replies carry. Keeping
 *           the MAC in the entry (rather than in a map per interface) saves
 *           the datapath a second hash lookup per reply.
 *
 * Counters are plain u64 fields updated with atomic adds by the program, one
 * per request: replies, or unanswered requests (requests are their sum);
 * and one per conflict seen: another host claiming the entry's address (an
 * ARP reply or gratuitous request with it as sender, or a Neighbor
 * Advertisement for it, from another MAC; passed, not a request).
 * Per-CPU values would avoid the locked add, but an entry is one service IP,
 * whose requests arrive on one RX queue of one interface, so there is
 * little contention to save; a single shared value keeps the lookup to one
 * hash probe and lets user space read a consistent entry in one syscall.
 * User space never writes the counters back: a deadline refresh goes
 * through the l2lb_set syscall program, which stores the deadline
 * in place, so increments racing with a refresh are never lost. */
#pragma once

#include <linux/types.h>

#define L2RESP_AF_INET  2  /* AF_INET, without pulling libc headers into BPF */
#define L2RESP_AF_INET6 10 /* AF_INET6 */

#define L2RESP_MAX_ENTRIES 16384

/* Pinned map name below the bpf root. The suffix is the layout version: a
 * build that changes a struct below must bump it, so that an upgraded agent
 * creates a fresh map instead of failing to reuse an incompatible one. */
#define L2RESP_PIN_ENTRIES "l2_entries_v3"
/* Entries maps of earlier layouts, so that their programs can be replaced
 * (v2: no conflicts counter, CLOCK_MONOTONIC deadlines). */
#define L2RESP_PIN_ENTRIES_OLD                                                                     \
        {                                                                                          \
                "l2_entries_v1", "l2_entries_v2"                                                   \
        }

struct l2resp_key {
        __u32 ifindex; /* interface the request must arrive on */
        __u8 family;   /* L2RESP_AF_INET or L2RESP_AF_INET6 */
        __u8 pad[3];   /* zero */
        __u8 addr[16]; /* network order; IPv4 in addr[0..3], rest zero */
};

struct l2resp_value {
        __u64 deadline_ns; /* answer while bpf_ktime_get_boot_ns() < deadline_ns */
        __u64 replies;     /* replies sent (XDP_TX) */
        __u64 unanswered;  /* valid requests addressed to this entry, not answered
                            * (deadline passed); requests = replies + unanswered */
        __u64 conflicts;   /* ARP replies / gratuitous requests or NAs for the
                            * address from another host (passed to the kernel) */
        __u8 mac[6];       /* of the interface: source of every reply */
        __u8 pad[2];       /* zero */
};

/* Context of the l2lb_set syscall program (BPF_PROG_TEST_RUN with ctx_in):
 * stores the fields that flags select into the entry in place, or inserts
 * the entry (zero counters) when it is absent and L2RESP_SET_CREATE is set.
 * Returns L2RESP_SET_UPDATED, L2RESP_SET_CREATED or -errno (-ENOENT when the
 * entry is absent and L2RESP_SET_CREATE is not set). */
struct l2resp_set_args {
        struct l2resp_key key;
        __u64 deadline_ns;
        __u32 flags; /* L2RESP_SET_* */
        __u8 mac[6];
        __u8 pad[2]; /* zero */
};

#define L2RESP_SET_DEADLINE (1u << 0) /* store deadline_ns */
#define L2RESP_SET_MAC      (1u << 1) /* store mac */
#define L2RESP_SET_CREATE   (1u << 2) /* insert if absent (deadline and mac from args) */
#define L2RESP_SET_UPDATED  0
#define L2RESP_SET_CREATED  1
