// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The L2 responder: answers ARP requests and IPv6 Neighbor Solicitations for
 * the service IPs this node announces, from XDP, on the interface each IP is
 * announced on, while the entry's liveness deadline lies in the future.
 *
 *   frame ─▶ Ethernet ─ARP──▶ validate ─▶ entries[{ifindex, v4, tpa}] ─▶ Ethernet destination
 *                     └─IPv6─▶ validate NS (hop limit, code, length, destination)
 *                              ─▶ entries[{ifindex, v6, target}] ─▶ Ethernet destination
 *                              ─▶ options and checksum
 *   entry alive (now < deadline) ─▶ rewrite the frame in place into the reply ─▶ XDP_TX
 *   anything else ─▶ XDP_PASS, frame untouched
 *
 * One hash lookup per frame: the entry carries the interface's MAC. The
 * checksum of a solicitation is verified only once it matched an entry, so
 * the many solicitations for other hosts cost almost nothing.
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
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "l2resp.h"

#define ENOENT_ 2

#define ETH_P_IP_   0x0800
#define ETH_P_ARP_  0x0806
#define ETH_P_IPV6_ 0x86DD

#define ARPHRD_ETHER_ 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY   2

#define IPPROTO_ICMPV6_               58
#define ND_NEIGHBOR_SOLICIT           135
#define ND_NEIGHBOR_ADVERT            136
#define ND_OPT_TARGET_LLA             2
#define ND_NA_FLAG_SOLICITED_OVERRIDE 0x60000000 /* S=1, O=1, R=0 */

/* Options after the 24-byte NS body, in 8-byte units: enough for a source
 * link-layer address option plus a few others; longer solicitations are
 * passed to the kernel. */
#define ND_MAX_OPT_UNITS 8

/* Protocol headers at their natural alignment (no padding in any of them).
 * The IPv6 header sits at offset 14, so its 4-byte fields are only 2-byte
 * aligned in the frame: the loads are unaligned, which the verifier accepts
 * and the JIT executes as is on architectures with efficient unaligned
 * access (x86-64, arm64), the ones l2lb supports. Declaring the structs
 * packed instead would make clang split every load into bytes. */
struct eth_hdr {
        __u8 dst[6];
        __u8 src[6];
        __be16 proto;
};

struct arp_eth {
        __be16 hrd;
        __be16 pro;
        __u8 hln;
        __u8 pln;
        __be16 op;
        __u8 sha[6];
        __u8 spa[4];
        __u8 tha[6];
        __u8 tpa[4];
};

struct ip6_hdr {
        __be32 vtcfl; /* version, traffic class, flow label */
        __be16 plen;
        __u8 nxt;
        __u8 hlim;
        __u8 src[16];
        __u8 dst[16];
};

struct nd_msg {
        __u8 type;
        __u8 code;
        __be16 csum;
        __be32 flags; /* reserved in a solicitation */
        __u8 target[16];
};

struct nd_opt_lla {
        __u8 type;
        __u8 len; /* in units of 8 bytes */
        __u8 mac[6];
};

#define NA_FRAME_LEN                                                                               \
        (sizeof(struct eth_hdr) + sizeof(struct ip6_hdr) + sizeof(struct nd_msg) +                 \
         sizeof(struct nd_opt_lla))

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, L2RESP_MAX_ENTRIES);
        __type(key, struct l2resp_key);
        __type(value, struct l2resp_value);
} l2_entries SEC(".maps");

typedef __u32 __attribute__((may_alias)) u32_alias;
typedef __u16 __attribute__((may_alias)) u16_alias;

static __always_inline __u32 load32(const void *p)
{
        return *(const u32_alias *)p;
}

static __always_inline __u16 load16(const void *p)
{
        return *(const u16_alias *)p;
}

static __always_inline bool mac_equal(const __u8 *a, const __u8 *b)
{
        return load32(a) == load32(b) && load16(a + 4) == load16(b + 4);
}

static __always_inline bool mac_is_broadcast(const __u8 *a)
{
        return load32(a) == 0xffffffff && load16(a + 4) == 0xffff;
}

static __always_inline bool mac_is_multicast(const __u8 *a)
{
        return a[0] & 1;
}

static __always_inline bool ip6_is_unspecified(const __u8 *a)
{
        return (load32(a) | load32(a + 4) | load32(a + 8) | load32(a + 12)) == 0;
}

/* ff02::1:ffXX:XXXX for the target's low 24 bits. */
static __always_inline bool ip6_is_solicited_node_of(const __u8 *dst, const __u8 *target)
{
        return load32(dst) == bpf_htonl(0xff020000) && load32(dst + 4) == 0 &&
               load32(dst + 8) == bpf_htonl(0x00000001) && dst[12] == 0xff &&
               dst[13] == target[13] && dst[14] == target[14] && dst[15] == target[15];
}

static __always_inline bool ip6_equal(const __u8 *a, const __u8 *b)
{
        return load32(a) == load32(b) && load32(a + 4) == load32(b + 4) &&
               load32(a + 8) == load32(b + 8) && load32(a + 12) == load32(b + 12);
}

/* Internet checksums without helper calls: 32-bit words loaded in host order
 * are added into 64 bits and folded. The ones' complement sum does not depend
 * on the byte order of the words (RFC 1071 §2), so the folded value, stored
 * back with a host-order 16-bit store, is the checksum in network order. */
static __always_inline __u64 sum32(const void *p, int words)
{
        __u64 s = 0;

#pragma unroll
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

/* Sum of the IPv6 pseudo-header for ICMPv6: both addresses (contiguous in the
 * header), the upper-layer length and the next header, as big-endian words. */
static __always_inline __u64 sum_pseudo6(const struct ip6_hdr *ip6, __u32 len)
{
        return sum32(ip6->src, 8) + bpf_htonl(len) + bpf_htonl(IPPROTO_ICMPV6_);
}

/* True if the entry is alive; counts the request as unanswered if not.
 * (Requests = replies + unanswered: one atomic add per reply, not two.) */
static __always_inline bool alive(struct l2resp_value *v)
{
        if (bpf_ktime_get_ns() < v->deadline_ns)
                return true;
        __sync_fetch_and_add(&v->unanswered, 1);
        return false;
}

static __always_inline int arp_respond(struct xdp_md *ctx, struct eth_hdr *eth, void *end)
{
        struct arp_eth *arp = (void *)(eth + 1);
        struct l2resp_key key = {};
        struct l2resp_value *v;
        __u8 req_mac[6], req_ip[4];

        if ((void *)(arp + 1) > end)
                return XDP_PASS;
        if (arp->hrd != bpf_htons(ARPHRD_ETHER_) || arp->pro != bpf_htons(ETH_P_IP_) ||
            arp->hln != 6 || arp->pln != 4 || arp->op != bpf_htons(ARPOP_REQUEST))
                return XDP_PASS;
        if (mac_is_multicast(eth->src))
                return XDP_PASS;

        key.ifindex = ctx->ingress_ifindex;
        key.family = L2RESP_AF_INET;
        __builtin_memcpy(key.addr, arp->tpa, 4);
        v = bpf_map_lookup_elem(&l2_entries, &key);
        if (!v)
                return XDP_PASS;
        if (!mac_is_broadcast(eth->dst) && !mac_equal(eth->dst, v->mac))
                return XDP_PASS;
        if (!alive(v))
                return XDP_PASS;

        __builtin_memcpy(req_mac, arp->sha, 6);
        __builtin_memcpy(req_ip, arp->spa, 4);
        __builtin_memcpy(eth->dst, eth->src, 6);
        __builtin_memcpy(eth->src, v->mac, 6);
        arp->op = bpf_htons(ARPOP_REPLY);
        __builtin_memcpy(arp->sha, v->mac, 6);
        __builtin_memcpy(arp->spa, key.addr, 4);
        __builtin_memcpy(arp->tha, req_mac, 6);
        __builtin_memcpy(arp->tpa, req_ip, 4);
        __sync_fetch_and_add(&v->replies, 1);
        return XDP_TX;
}

/* RFC 4861 §7.1.1 validation of the ICMPv6 part: options of non-zero length
 * that tile the message exactly, and a valid checksum. ns points at the
 * message, which the caller checked to hold at least the 24-byte body; plen
 * is the IPv6 payload length. */
static __always_inline bool ns_valid(struct ip6_hdr *ip6, struct nd_msg *ns, __u32 plen, void *end)
{
        __u32 units = (plen - sizeof(struct nd_msg)) / 8, next_opt = 0;
        __u64 sum;

        sum = sum_pseudo6(ip6, plen) + sum32(ns, sizeof(*ns) / 4);
#pragma unroll
        for (__u32 u = 0; u < ND_MAX_OPT_UNITS; u++) {
                __u8 *unit = (__u8 *)(ns + 1) + u * 8;

                if (u >= units)
                        break;
                if ((void *)(unit + 8) > end)
                        return false;
                if (u == next_opt) {
                        if (unit[1] == 0)
                                return false;
                        next_opt += unit[1];
                }
                sum += sum32(unit, 2);
        }
        return next_opt == units && csum_fold(sum) == 0xffff;
}

static __always_inline int ndp_respond(struct xdp_md *ctx, struct eth_hdr *eth, void *end,
                                       bool resize)
{
        struct ip6_hdr *ip6 = (void *)(eth + 1);
        struct nd_msg *ns = (void *)(ip6 + 1);
        struct nd_opt_lla *opt;
        struct l2resp_key key = {};
        struct l2resp_value *v;
        __u8 mac[6], req_mac[6], req_ip[16];
        void *data;
        __u32 plen;
        long len;
        __u64 sum;

        if ((void *)(ns + 1) > end)
                return XDP_PASS;
        if ((ip6->vtcfl & bpf_htonl(0xf0000000)) != bpf_htonl(0x60000000) ||
            ip6->nxt != IPPROTO_ICMPV6_ || ip6->hlim != 255 || ns->type != ND_NEIGHBOR_SOLICIT ||
            ns->code != 0)
                return XDP_PASS;
        plen = bpf_ntohs(ip6->plen);
        if (plen < sizeof(*ns) || plen > sizeof(*ns) + ND_MAX_OPT_UNITS * 8 || plen % 8 != 0 ||
            (void *)(ip6 + 1) + plen > end)
                return XDP_PASS;
        /* DAD (unspecified source) is not ours to answer: the kernel's DAD
         * must see no reply for an address it is about to configure. */
        if (ip6_is_unspecified(ip6->src) || ip6->src[0] == 0xff || ns->target[0] == 0xff)
                return XDP_PASS;
        if (mac_is_multicast(eth->src))
                return XDP_PASS;
        if (ip6->dst[0] == 0xff) {
                if (!ip6_is_solicited_node_of(ip6->dst, ns->target) || eth->dst[0] != 0x33 ||
                    eth->dst[1] != 0x33 || load32(eth->dst + 2) != load32(ip6->dst + 12))
                        return XDP_PASS;
        } else if (!ip6_equal(ip6->dst, ns->target))
                return XDP_PASS;

        key.ifindex = ctx->ingress_ifindex;
        key.family = L2RESP_AF_INET6;
        __builtin_memcpy(key.addr, ns->target, 16);
        v = bpf_map_lookup_elem(&l2_entries, &key);
        if (!v)
                return XDP_PASS;
        if (ip6->dst[0] != 0xff && !mac_equal(eth->dst, v->mac))
                return XDP_PASS;
        if (!ns_valid(ip6, ns, plen, end))
                return XDP_PASS;
        if (!alive(v))
                return XDP_PASS;

        /* Everything the reply needs, before the frame may move. */
        __builtin_memcpy(mac, v->mac, 6);
        __builtin_memcpy(req_mac, eth->src, 6);
        __builtin_memcpy(req_ip, ip6->src, 16);
        data = (void *)(long)ctx->data;
        len = (long)(end - data);
        if (len != NA_FRAME_LEN &&
            (resize ? bpf_xdp_adjust_tail(ctx, (int)NA_FRAME_LEN - (int)len) != 0
                    : len < (long)NA_FRAME_LEN))
                goto unanswered;

        data = (void *)(long)ctx->data;
        end = (void *)(long)ctx->data_end;
        if (data + NA_FRAME_LEN > end)
                goto unanswered;
        eth = data;
        ip6 = (void *)(eth + 1);
        ns = (void *)(ip6 + 1);
        opt = (void *)(ns + 1);

        __builtin_memcpy(eth->dst, req_mac, 6);
        __builtin_memcpy(eth->src, mac, 6);
        ip6->vtcfl = bpf_htonl(0x60000000);
        ip6->plen = bpf_htons(sizeof(*ns) + sizeof(*opt));
        ip6->nxt = IPPROTO_ICMPV6_;
        ip6->hlim = 255;
        __builtin_memcpy(ip6->src, key.addr, 16);
        __builtin_memcpy(ip6->dst, req_ip, 16);
        ns->type = ND_NEIGHBOR_ADVERT;
        ns->code = 0;
        ns->csum = 0;
        ns->flags = bpf_htonl(ND_NA_FLAG_SOLICITED_OVERRIDE);
        __builtin_memcpy(ns->target, key.addr, 16);
        opt->type = ND_OPT_TARGET_LLA;
        opt->len = 1;
        __builtin_memcpy(opt->mac, mac, 6);

        /* The checksum from the parts, not from the packet just written:
         * source = target = T (twice), destination A, upper-layer length 32,
         * next header, type word, flags word, option type/length/MAC. */
        sum = 2 * sum32(key.addr, 4) + sum32(req_ip, 4) + sum32(opt, 2) +
              bpf_htonl(sizeof(*ns) + sizeof(*opt)) + bpf_htonl(IPPROTO_ICMPV6_) +
              bpf_htonl((__u32)ND_NEIGHBOR_ADVERT << 24) + bpf_htonl(ND_NA_FLAG_SOLICITED_OVERRIDE);
        ns->csum = (__u16)~csum_fold(sum);
        __sync_fetch_and_add(&v->replies, 1);
        return XDP_TX;
unanswered:
        __sync_fetch_and_add(&v->unanswered, 1);
        return XDP_PASS;
}

static __always_inline int respond(struct xdp_md *ctx, bool resize)
{
        void *data = (void *)(long)ctx->data;
        void *end = (void *)(long)ctx->data_end;
        struct eth_hdr *eth = data;

        if ((void *)(eth + 1) > end)
                return XDP_PASS;
        if (eth->proto == bpf_htons(ETH_P_ARP_))
                return arp_respond(ctx, eth, end);
        if (eth->proto == bpf_htons(ETH_P_IPV6_))
                return ndp_respond(ctx, eth, end, resize);
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
                        __builtin_memcpy(v->mac, args->mac, 6);
                return L2RESP_SET_UPDATED;
        }
        if (!(flags & L2RESP_SET_CREATE))
                return -ENOENT_;
        fresh.deadline_ns = args->deadline_ns;
        __builtin_memcpy(fresh.mac, args->mac, 6);
        err = bpf_map_update_elem(&l2_entries, &key, &fresh, BPF_NOEXIST);
        if (err < 0)
                return (int)err; /* -E2BIG when the map is full */
        return L2RESP_SET_CREATED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
