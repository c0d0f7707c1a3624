// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The L2 responder: answers ARP requests and IPv6 Neighbor Solicitations for
 * the service IPs this node announces, from XDP, on the interface each IP is
 * announced on, while the entry's liveness deadline lies in the future.
 *
 *   frame ─▶ Ethernet ─ARP request─▶ validate ─▶ entries[{ifindex, v4, tpa}]
 *                     │   ─▶ Ethernet destination ─▶ not from our MAC
 *                     │   ─▶ gratuitous? count a conflict (not our MAC), pass
 *                     ├─ARP reply─▶ validate ─▶ entries[{ifindex, v4, spa}]
 *                     │   ─▶ not our MAC ─▶ count a conflict, pass
 *                     ├─IPv6 NS─▶ validate (hop limit, code, length, destination)
 *                     │   ─▶ entries[{ifindex, v6, target}] ─▶ Ethernet destination
 *                     │   ─▶ not from our MAC ─▶ options and checksum
 *                     └─IPv6 NA─▶ validate (hop limit, code, length, S flag)
 *                         ─▶ entries[{ifindex, v6, target}] ─▶ not our MAC
 *                         ─▶ options and checksum ─▶ count a conflict, pass
 *   entry alive (now < deadline) ─▶ rewrite the frame in place into the reply ─▶ XDP_TX
 *   anything else ─▶ XDP_PASS, frame untouched
 *
 * Conflicts (RFC 5227 §2.4, RFC 4861 §7.2.5): an ARP reply or gratuitous
 * request with an entry's address as sender, or a Neighbor Advertisement for
 * it, from another MAC, is another host claiming the address. Such frames
 * are counted in the entry and passed; the agent reports the count.
 *
 * A duplicate address detection probe (NS from ::) for an entry is answered
 * as the kernel answers one for an address of its own (RFC 4861 §7.2.4): an
 * advertisement to all nodes, so that the prober sees the address is taken.
 *
 * One hash lookup per frame: the entry carries the interface's MAC. The
 * checksum of a solicitation is verified only once it matched an entry, so
 * the many solicitations for other hosts cost almost nothing.
 *
 * This file is the story: the map, the counters, and for each protocol
 * validate ─▶ look up ─▶ rewrite ─▶ verdict. The protocols themselves live in
 * lib/ (eth.h, arp.h, ipv6.h, ndp.h, csum.h), on the kernel's UAPI structs
 * where it has them; lib/arp.h and lib/ndp.h say what they restate and why.
 *
 * Why XDP and not tc ingress (Cilium's choice): XDP runs before the kernel
 * allocates an skb, and XDP_TX sends the rewritten frame back out of the
 * receiving queue without the qdisc layer; a tc program pays for the skb and
 * for bpf_redirect through the egress path. Measured with bench/responder
 * (ARP flood over a veth pair, everything on one CPU, 2 vCPUs shared with
 * other work): a program that only bounces frames carries 2.3 M frames/s from
 * XDP but 1.2 M/s from tc ingress (1.7-2.3x less), so a tc responder could
 * not even reach what this one answers (1.8 M replies/s, against 0.7 M/s
 * from the kernel answering for an address of its own).
 *
 * VLAN-tagged frames (802.1Q/802.1ad) are passed: attach the responder to the
 * VLAN sub-interface instead, where frames arrive untagged.
 *
 * Two entry points share the code: l2lb_responder grows or shrinks a Neighbor
 * Solicitation into the 86-byte Neighbor Advertisement with
 * bpf_xdp_adjust_tail; l2lb_responder_fixed never changes the frame length
 * (it answers solicitations of at least 86 bytes, i.e. every solicitation
 * that carries a source link-layer address option, as RFC 4861 requires of
 * multicast ones). The fixed variant exists because kernels since 6.13
 * refuse to let an extension program that changes packet data replace a
 * function that does not, which is what libxdp's dispatcher before 1.5 offers;
 * the loader falls back to it only then.
 *
 * l2lb_set is a syscall program: user space runs it to store a new deadline
 * (or MAC) into an entry in place, creating the entry if asked, so the
 * counters the datapath increments are never overwritten by user space. */
#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "l2resp.h"
#include "lib/arp.h"
#include "lib/eth.h"
#include "lib/ndp.h"

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, L2RESP_MAX_ENTRIES);
        __type(key, struct l2resp_key);
        __type(value, struct l2resp_value);
} l2_entries SEC(".maps");

/* The entry for addr (len bytes) on the interface the frame arrived on; key
 * is filled in for the caller. */
static __always_inline struct l2resp_value *entry_lookup(struct l2resp_key *key,
                                                         const struct xdp_md *ctx, __u8 family,
                                                         const void *addr, int len)
{
        key->ifindex = ctx->ingress_ifindex;
        key->family = family;
        __builtin_memcpy(key->addr, addr, len);
        return bpf_map_lookup_elem(&l2_entries, key);
}

/* One atomic add to a counter of an entry. barrier_var: the counter's
 * address is computed on each path, so that clang does not merge the adds
 * of different counters into one add at a variable offset of the map value,
 * which the verifier refuses without CAP_PERFMON ("tried to add from
 * different maps, paths or scalars"). */
static __always_inline void entry_count(__u64 *counter)
{
        barrier_var(counter);
        __sync_fetch_and_add(counter, 1);
}

/* Requests = replies + unanswered: one atomic add per request. */
static __always_inline int entry_replied(struct l2resp_value *v)
{
        entry_count(&v->replies);
        return XDP_TX;
}

static __always_inline int entry_unanswered(struct l2resp_value *v)
{
        entry_count(&v->unanswered);
        return XDP_PASS;
}

/* Another host claims the entry's address: passed, and counted. */
static __always_inline int entry_conflict(struct l2resp_value *v)
{
        entry_count(&v->conflicts);
        return XDP_PASS;
}

/* True if the frame comes from the interface's own MAC, the one the entry
 * answers from: our own frame looped or reflected back, never a request to
 * answer. */
static __always_inline bool entry_is_own(const struct ethhdr *eth, const struct l2resp_value *v)
{
        return eth_addr_equal(eth->h_source, v->mac);
}

/* True if the entry is alive; counts the request as unanswered if not. The
 * boot-time clock keeps running during suspend, so an entry whose deadline
 * passed while the machine slept is dead when it wakes up. */
static __always_inline bool entry_alive(struct l2resp_value *v)
{
        if (bpf_ktime_get_boot_ns() < v->deadline_ns)
                return true;
        (void)entry_unanswered(v);
        return false;
}

/* A reply tells where its sender IP is: looked up by that address, it is
 * another host claiming an entry's address unless it carries our MAC
 * (RFC 5227 §2.4). A request is looked up by the address it asks for. */
static __always_inline int answer_arp(struct xdp_md *ctx, struct ethhdr *eth, void *end)
{
        struct l2resp_key key = {};
        struct arp_eth_ipv4 *arp = arp_hdr(eth);
        struct l2resp_value *v;

        if (!arp_check(eth, end))
                return XDP_PASS;
        if (!arp_is_request(arp)) {
                v = entry_lookup(&key, ctx, L2RESP_AF_INET, arp->ar_sip, 4);
                if (v && arp_claims_for_other(eth, arp, v->mac))
                        return entry_conflict(v);
                return XDP_PASS;
        }
        v = entry_lookup(&key, ctx, L2RESP_AF_INET, arp->ar_tip, 4);
        if (!v || !arp_request_is_for(eth, v->mac) || entry_is_own(eth, v))
                return XDP_PASS;
        if (arp_request_is_gratuitous(arp)) {
                if (arp_claims_for_other(eth, arp, v->mac))
                        return entry_conflict(v);
                return XDP_PASS;
        }
        if (!entry_alive(v))
                return XDP_PASS;
        arp_reply_rewrite(eth, arp, v->mac);
        return entry_replied(v);
}

/* The cheap checks, the lookup, then the options and the checksum. */
static __always_inline int answer_ns(struct xdp_md *ctx, struct ethhdr *eth, void *end, bool resize)
{
        struct l2resp_key key = {};
        struct ipv6hdr *ip6 = ndp_ip6(eth);
        struct l2resp_value *v;

        if (!ndp_ns_check(eth, end))
                return XDP_PASS;
        v = entry_lookup(&key, ctx, L2RESP_AF_INET6, &ndp_msg(ip6)->target, 16);
        if (!v || !ndp_ns_is_for(eth, ip6, v->mac) || entry_is_own(eth, v))
                return XDP_PASS;
        if (!ndp_ns_valid(ip6, end))
                return XDP_PASS;
        if (!entry_alive(v))
                return XDP_PASS;
        /* key.addr, 4-byte aligned in the key, outlives the frame's move */
        if (!ndp_na_rewrite(ctx, eth, ip6, v->mac, (const struct in6_addr *)key.addr, resize))
                return entry_unanswered(v);
        return entry_replied(v);
}

/* An advertisement for an entry's address from another host (solicited or
 * not: any advertisement) claims it: counted, passed. The cheap checks, the
 * lookup, then the options and the checksum, as for a solicitation. */
static __always_inline int watch_na(struct xdp_md *ctx, struct ethhdr *eth, void *end)
{
        struct l2resp_key key = {};
        struct ipv6hdr *ip6 = ndp_ip6(eth);
        struct l2resp_value *v;

        if (!ndp_na_check(eth, end))
                return XDP_PASS;
        v = entry_lookup(&key, ctx, L2RESP_AF_INET6, &ndp_msg(ip6)->target, 16);
        if (v && ndp_na_claims_for_other(eth, ip6, end, v->mac))
                return entry_conflict(v);
        return XDP_PASS;
}

static __always_inline int respond(struct xdp_md *ctx, bool resize)
{
        void *end = (void *)(long)ctx->data_end;
        struct ethhdr *eth = (void *)(long)ctx->data;
        __u8 type;

        if (!eth_fits(eth, end))
                return XDP_PASS;
        if (eth_proto(eth) == bpf_htons(ETH_P_ARP))
                return answer_arp(ctx, eth, end);
        if (eth_proto(eth) != bpf_htons(ETH_P_IPV6))
                return XDP_PASS;
        type = ndp_type(eth, end);
        if (type == NDISC_NEIGHBOUR_SOLICITATION)
                return answer_ns(ctx, eth, end, resize);
        if (type == NDISC_NEIGHBOUR_ADVERTISEMENT)
                return watch_na(ctx, eth, end);
        return XDP_PASS;
}

SEC("xdp")
int l2lb_responder(struct xdp_md *ctx)
{
        return respond(ctx, true);
}

SEC("xdp")
int l2lb_responder_fixed(struct xdp_md *ctx)
{
        return respond(ctx, false);
}

SEC("syscall")
int l2lb_set(struct l2resp_set_args *args)
{
        struct l2resp_value fresh = {};
        struct l2resp_key key;
        struct l2resp_value *v;
        __u32 flags = args->flags;
        long err;

        __builtin_memcpy(&key, &args->key, sizeof(key));
        v = bpf_map_lookup_elem(&l2_entries, &key);
        if (v) {
                /* One aligned 8-byte store: the datapath sees the old or the new
                 * deadline. A MAC change may be seen half-done by one reply. */
                if (flags & L2RESP_SET_DEADLINE)
                        v->deadline_ns = args->deadline_ns;
                if (flags & L2RESP_SET_MAC)
                        __builtin_memcpy(v->mac, args->mac, ETH_ALEN);
                return L2RESP_SET_UPDATED;
        }
        if (!(flags & L2RESP_SET_CREATE))
                return -ENOENT;
        fresh.deadline_ns = args->deadline_ns;
        __builtin_memcpy(fresh.mac, args->mac, ETH_ALEN);
        err = bpf_map_update_elem(&l2_entries, &key, &fresh, BPF_NOEXIST);
        if (err < 0)
                return (int)err; /* -E2BIG when the map is full */
        return L2RESP_SET_CREATED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
