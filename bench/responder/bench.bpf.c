// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* XDP and tc programs for the responder benchmarks (not part of l2lb):
 *
 *   restore_and_call  writes the template frame into the packet, then tail-calls
 *                     next[0] (the responder, or just_tx for the baseline):
 *                     BPF_PROG_TEST_RUN with repeat runs a program on the frame
 *                     it modified the time before, so each repetition must
 *                     start again from the request.
 *   gen               the flood generator: writes the template (live-frame mode
 *                     recycles pages with whatever the last program wrote into
 *                     them) and returns XDP_TX, which BPF_F_TEST_XDP_LIVE_FRAMES
 *                     turns into a real transmission.
 *   count_drop        at the neighbor: counts ARP replies (and other frames
 *                     apart) and drops everything.
 *   bounce            the ceiling: swaps the MAC addresses, XDP_TX, no lookup.
 *   drop              XDP_DROP at the node: the harness's floor (generating,
 *                     carrying and receiving a frame, no reply).
 *   pass              XDP_PASS: gives a veth NAPI so that frames sent to it with
 *                     native XDP arrive (the kernel-answers mode needs it).
 *   tc_bounce         the tc equivalent of bounce (swap MACs, redirect out of
 *                     the receiving device), for the XDP-versus-tc comparison. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench.h"

struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct bench_frame);
} tmpl SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, __u32);
} next SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, BENCH_COUNT_MAX);
        __type(key, __u32);
        __type(value, __u64);
} counts SEC(".maps");

static __always_inline int write_tmpl(struct xdp_md *ctx)
{
        void *data = (void *)(long)ctx->data;
        void *end = (void *)(long)ctx->data_end;
        struct bench_frame *t;
        __u32 k = 0;

        t = bpf_map_lookup_elem(&tmpl, &k);
        if (!t)
                return -1;
        switch (t->len) {
        case 42:
                if (data + 42 > end)
                        return -1;
                __builtin_memcpy(data, t->data, 42);
                return 0;
        case 60:
                if (data + 60 > end)
                        return -1;
                __builtin_memcpy(data, t->data, 60);
                return 0;
        case 86:
                if (data + 86 > end)
                        return -1;
                __builtin_memcpy(data, t->data, 86);
                return 0;
        default:
                return -1;
        }
}

SEC("xdp")
int restore_and_call(struct xdp_md *ctx)
{
        if (write_tmpl(ctx) < 0)
                return XDP_ABORTED;
        bpf_tail_call(ctx, &next, 0);
        return XDP_ABORTED;
}

SEC("xdp")
int just_tx(struct xdp_md *ctx)
{
        (void)ctx;
        return XDP_TX;
}

SEC("xdp")
int gen(struct xdp_md *ctx)
{
        if (write_tmpl(ctx) < 0)
                return XDP_ABORTED;
        return XDP_TX;
}

static __always_inline void count(__u32 what)
{
        __u64 *c = bpf_map_lookup_elem(&counts, &what);

        if (c)
                (*c)++;
}

SEC("xdp")
int count_drop(struct xdp_md *ctx)
{
        void *data = (void *)(long)ctx->data;
        void *end = (void *)(long)ctx->data_end;
        __u8 *p = data;

        /* one counter update per frame, whatever it is, so that every mode
         * pays the same here */
        if (data + 42 <= end && p[12] == 0x08 && p[13] == 0x06 && p[20] == 0 && p[21] == 2)
                count(BENCH_COUNT_ARP_REPLY);
        else
                count(BENCH_COUNT_OTHER);
        return XDP_DROP;
}

static __always_inline void swap_macs(__u8 *p)
{
        __u8 tmp[6];

        __builtin_memcpy(tmp, p, 6);
        __builtin_memcpy(p, p + 6, 6);
        __builtin_memcpy(p + 6, tmp, 6);
}

SEC("xdp")
int bounce(struct xdp_md *ctx)
{
        void *data = (void *)(long)ctx->data;
        void *end = (void *)(long)ctx->data_end;

        if (data + 14 > end)
                return XDP_PASS;
        swap_macs(data);
        return XDP_TX;
}

SEC("xdp")
int drop(struct xdp_md *ctx)
{
        (void)ctx;
        return XDP_DROP;
}

SEC("xdp")
int pass(struct xdp_md *ctx)
{
        (void)ctx;
        return XDP_PASS;
}

SEC("tc")
int tc_bounce(struct __sk_buff *skb)
{
        void *data = (void *)(long)skb->data;
        void *end = (void *)(long)skb->data_end;

        if (data + 14 > end)
                return TC_ACT_OK;
        swap_macs(data);
        return bpf_redirect(skb->ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
