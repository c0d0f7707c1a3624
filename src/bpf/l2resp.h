/* Map layouts of the L2 responder, shared by the eBPF program (l2resp.bpf.c)
 * and its loader (responder.c). Every struct has explicit padding so that
 * both compilers agree byte for byte; user space checks the sizes with
 * static asserts.
 *
 * l2_entries: one entry per (interface, service IP) the node announces.
 *   key   = struct l2resp_key
 *   value = struct l2resp_value: the liveness deadline and two counters.
 * l2_ifaces: one entry per attached interface: its MAC address, which the
 *   replies carry. No entry for an ifindex → the program passes everything.
 *
 * Counters are plain u64 fields updated with atomic adds by the program.
 * Per-CPU values would avoid the locked add, but an entry is one service IP,
 * whose requests arrive on one RX queue of one interface, so there is
 * little contention to save; a single shared value keeps the lookup to one
 * hash probe and lets user space read a consistent entry in one syscall.
 * User space never writes the counters back: a deadline refresh goes
 * through the l2lb_set_deadline syscall program, which stores the deadline
 * in place, so increments racing with a refresh are never lost. */
#pragma once

#include <linux/types.h>

#define L2RESP_AF_INET  2  /* AF_INET, without pulling libc headers into BPF */
#define L2RESP_AF_INET6 10 /* AF_INET6 */

#define L2RESP_MAX_ENTRIES 16384
#define L2RESP_MAX_IFACES  1024

/* Pinned map names below the bpf root. The suffix is the layout version:
 * a build that changes a struct below must bump it, so that an upgraded
 * agent creates fresh maps instead of failing to reuse incompatible ones. */
#define L2RESP_PIN_ENTRIES "l2_entries_v1"
#define L2RESP_PIN_IFACES  "l2_ifaces_v1"

struct l2resp_key {
        __u32 ifindex; /* interface the request must arrive on */
        __u8 family;   /* L2RESP_AF_INET or L2RESP_AF_INET6 */
        __u8 pad[3];   /* zero */
        __u8 addr[16]; /* network order; IPv4 in addr[0..3], rest zero */
};

struct l2resp_value {
        __u64 deadline_ns; /* answer while bpf_ktime_get_ns() < deadline_ns */
        __u64 requests;    /* valid requests for this entry that reached the lookup */
        __u64 replies;     /* replies sent (XDP_TX) */
};

struct l2resp_iface {
        __u8 mac[6];
        __u8 pad[2]; /* zero */
};

/* Context of the l2lb_set_deadline syscall program (BPF_PROG_TEST_RUN with
 * ctx_in). Returns L2RESP_SET_UPDATED, L2RESP_SET_CREATED or -errno
 * (-ENOENT when the entry is absent and L2RESP_SET_CREATE is not set). */
struct l2resp_set_args {
        struct l2resp_key key;
        __u64 deadline_ns;
        __u32 flags; /* L2RESP_SET_* */
        __u32 pad;   /* zero */
};

#define L2RESP_SET_CREATE  1u /* insert the entry with zero counters if absent */
#define L2RESP_SET_UPDATED 0
#define L2RESP_SET_CREATED 1
