/* The responder's datapath on exact frames, with BPF_PROG_TEST_RUN: no
 * network traffic. Each case feeds a frame arriving on a veth interface (in
 * a network namespace of this process) and compares every byte that comes
 * out with a literal: ARP and NDP happy paths, duplicate address detection,
 * every filter that must pass a frame untouched (gratuitous ARP, frames from
 * our own MAC), conflicts (other hosts' ARP replies and NAs for our
 * address), truncation at every length, single-byte corruption at every
 * offset, the liveness deadline and the per-entry counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/responder.h"
#include "helpers.h"
#include "lib/addr.h"

#define IFACE_MAC 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a
#define OTHER_MAC 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b
#define REQ_MAC   0x02, 0x00, 0x00, 0x00, 0x00, 0x01
#define REQ_IP4   192, 0, 2, 1
#define SVC_IP4   192, 0, 2, 10
#define REQ_IP6   0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define SVC_IP6   0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10
#define SNM_IP6   0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x00, 0x10
#define SNM_MAC   0x33, 0x33, 0xff, 0x00, 0x00, 0x10
#define ALL_IP6   0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define ALL_MAC   0x33, 0x33, 0x00, 0x00, 0x00, 0x01
#define UNSPEC6   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

/* clang-format off */
static const uint8_t iface_mac[6] = {IFACE_MAC};
static const uint8_t other_mac[6] = {OTHER_MAC};

/* who-has 192.0.2.10 tell 192.0.2.1, broadcast, padded to 60 bytes */
static const uint8_t arp_request[60] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, REQ_MAC, 0x08, 0x06, /* Ethernet */
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,                /* Ethernet/IPv4, request */
        REQ_MAC, REQ_IP4,                                         /* sender */
        0, 0, 0, 0, 0, 0, SVC_IP4,                                /* target */
};

/* 192.0.2.10 is-at 02:00:00:00:00:0a, to the requester; padding kept */
static const uint8_t arp_reply[60] = {
        REQ_MAC, IFACE_MAC, 0x08, 0x06,            /* Ethernet */
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02, /* Ethernet/IPv4, reply */
        IFACE_MAC, SVC_IP4,                        /* sender: the service IP at our MAC */
        REQ_MAC, REQ_IP4,                          /* target: the requester */
};

/* NS for 2001:db8::10 from 2001:db8::1 to its solicited-node group, with a
 * source link-layer address option; checksum filled in by icmp6_fix(). */
static const uint8_t ns_multicast[86] = {
        SNM_MAC, REQ_MAC, 0x86, 0xdd,                       /* Ethernet */
        0x60, 0, 0, 0, 0x00, 0x20, 58, 255, REQ_IP6, SNM_IP6, /* IPv6, payload 32 */
        135, 0, 0, 0, 0, 0, 0, 0, SVC_IP6,                  /* NS */
        1, 1, REQ_MAC,                                      /* source link-layer address */
};

/* NA for 2001:db8::10: solicited, override, with our MAC; checksum filled in
 * by icmp6_fix() (computed independently, see helpers.c). */
static const uint8_t na_reply[86] = {
        REQ_MAC, IFACE_MAC, 0x86, 0xdd,                       /* Ethernet */
        0x60, 0, 0, 0, 0x00, 0x20, 58, 255, SVC_IP6, REQ_IP6, /* IPv6, payload 32 */
        136, 0, 0, 0, 0x60, 0, 0, 0, SVC_IP6,                 /* NA, S=1 O=1 */
        2, 1, IFACE_MAC,                                      /* target link-layer address */
};

/* DAD for 2001:db8::10: from ::, to its solicited-node group, with an RFC
 * 7527 nonce option; checksum filled in by icmp6_fix(). */
static const uint8_t ns_dad[86] = {
        SNM_MAC, REQ_MAC, 0x86, 0xdd,                         /* Ethernet */
        0x60, 0, 0, 0, 0x00, 0x20, 58, 255, UNSPEC6, SNM_IP6, /* IPv6, payload 32 */
        135, 0, 0, 0, 0, 0, 0, 0, SVC_IP6,                    /* NS */
        14, 1, 0x6e, 0x6f, 0x6e, 0x63, 0x65, 0x21,            /* nonce */
};

/* The answer to DAD (RFC 4861 §7.2.4): to all nodes, S=0 O=1, with our MAC;
 * checksum filled in by icmp6_fix(). */
static const uint8_t na_dad[86] = {
        ALL_MAC, IFACE_MAC, 0x86, 0xdd,                       /* Ethernet */
        0x60, 0, 0, 0, 0x00, 0x20, 58, 255, SVC_IP6, ALL_IP6, /* IPv6, payload 32 */
        136, 0, 0, 0, 0x20, 0, 0, 0, SVC_IP6,                 /* NA, S=0 O=1 */
        2, 1, IFACE_MAC,                                      /* target link-layer address */
};
/* clang-format on */

struct fixture {
        char root[256];
        int net;
        int if0, if1, if2; /* if0: our interface; if1: another with entries; if2: none */
        struct responder *r;
        int prog, prog_fixed;
};

static struct fixture F;

static void ip_parse(const char *s, struct ipaddr *ip)
{
        assert_int_equal(ipaddr_parse(s, ip), 0);
}

static void set_entry(const char *ip, int ifindex, uint64_t deadline)
{
        struct ipaddr a;

        ip_parse(ip, &a);
        assert_int_equal(responder_entry_set(F.r, &a, ifindex, deadline), 0);
}

static struct responder_entry get_entry(const char *ip, int ifindex)
{
        struct responder_entry e;
        struct ipaddr a;

        ip_parse(ip, &a);
        assert_int_equal(responder_entry_get(F.r, &a, ifindex, &e), 0);
        return e;
}

/* Fix the ICMPv6 checksum of an IPv6 frame in place. */
static void icmp6_fix(uint8_t *f, size_t len)
{
        uint16_t plen = (uint16_t)(f[18] << 8 | f[19]);
        uint16_t c;

        assert_true(54u + plen <= len);
        f[56] = f[57] = 0;
        c = tcsum_icmp6(f + 22, f + 38, f + 54, plen);
        f[56] = (uint8_t)(c >> 8);
        f[57] = (uint8_t)c;
}

static void icmp6_assert_valid(const uint8_t *f)
{
        uint16_t plen = (uint16_t)(f[18] << 8 | f[19]);

        assert_int_equal(tcsum_icmp6(f + 22, f + 38, f + 54, plen), 0);
}

static int run(bool fixed, int ifindex, const uint8_t *in, size_t len, uint8_t *out,
               size_t *out_len)
{
        return txdp_run(fixed ? F.prog_fixed : F.prog, ifindex, in, len, out, 512, out_len);
}

static void expect_pass(bool fixed, int ifindex, const uint8_t *in, size_t len)
{
        uint8_t out[512];
        size_t out_len = 0;
        int act = run(fixed, ifindex, in, len, out, &out_len);

        if (len < 14 && act == -EINVAL)
                return; /* the kernel never runs XDP on less than an Ethernet header */
        assert_int_equal(act, XDP_PASS);
        if (out_len != len || memcmp(out, in, len) != 0)
                tdump_diff("passed frame modified", out, out_len, in, len);
        assert_int_equal(out_len, len);
        assert_memory_equal(out, in, len);
}

static void expect_tx(bool fixed, int ifindex, const uint8_t *in, size_t len, const uint8_t *want,
                      size_t want_len)
{
        uint8_t out[512];
        size_t out_len = 0;
        int act = run(fixed, ifindex, in, len, out, &out_len);

        assert_int_equal(act, XDP_TX);
        if (out_len != want_len || memcmp(out, want, want_len) != 0)
                tdump_diff("reply", out, out_len, want, want_len);
        assert_int_equal(out_len, want_len);
        assert_memory_equal(out, want, want_len);
}

static int setup(void **state)
{
        uint64_t alive = responder_now_ns() + 3600 * 1000000000ULL;

        (void)state;
        F.net = tnet_new();
        if (F.net < 0)
                return -1;
        /* veth pairs as plain devices (this kernel has no dummy driver); the
         * entries take the MAC of their interface */
        if (tsh("ip link add l2d0 address 02:00:00:00:00:0a type veth peer name l2d0p && "
                "ip link add l2d1 address 02:00:00:00:00:0b type veth peer name l2d1p && "
                "ip link add l2d2 type veth peer name l2d2p") != 0)
                return -1;
        F.if0 = (int)if_nametoindex("l2d0");
        F.if1 = (int)if_nametoindex("l2d1");
        F.if2 = (int)if_nametoindex("l2d2");
        snprintf(F.root, sizeof(F.root), "%s", tbpf_root("datapath"));
        if (responder_open(F.root, &F.r) < 0)
                return -1;
        F.prog = responder_xdp_prog_fd(F.r, false);
        F.prog_fixed = responder_xdp_prog_fd(F.r, true);
        set_entry("192.0.2.10", F.if0, alive);
        set_entry("2001:db8::10", F.if0, alive);
        set_entry("192.0.2.20", F.if1, alive);
        set_entry("2001:db8::20", F.if1, alive);
        set_entry("192.0.2.30", F.if0, 1); /* deadline long past */
        set_entry("2001:db8::30", F.if0, 1);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        responder_close(F.r);
        F.r = NULL;
        tbpf_remove_root(F.root);
        return 0;
}

static void cleanup(void)
{
        if (F.root[0])
                tbpf_remove_root(F.root);
}

static void make_ns(uint8_t *f)
{
        memcpy(f, ns_multicast, sizeof(ns_multicast));
        icmp6_fix(f, sizeof(ns_multicast));
}

static void make_na(uint8_t *f)
{
        memcpy(f, na_reply, sizeof(na_reply));
        icmp6_fix(f, sizeof(na_reply));
}

/* A byte of a valid 86-byte ICMPv6 frame set to val; fix_csum: the checksum
 * is recomputed after (when the payload length still allows it). */
struct bad_byte {
        size_t off;
        uint8_t val;
        bool fix_csum;
};

/* The frame make() builds, with each bad[i] applied in turn, is passed
 * untouched by both variants. */
static void expect_bad_bytes_pass(void (*make)(uint8_t *), const struct bad_byte *bad, size_t n)
{
        uint8_t f[86];

        for (size_t i = 0; i < n; i++) {
                make(f);
                f[bad[i].off] = bad[i].val;
                if (bad[i].fix_csum && f[19] >= 24 && 54u + f[19] <= 86 && f[18] == 0)
                        icmp6_fix(f, 86);
                print_message("case %zu: offset %zu = 0x%02x\n", i, bad[i].off, bad[i].val);
                expect_pass(false, F.if0, f, 86);
                expect_pass(true, F.if0, f, 86);
        }
}

/* NS for target (last byte) with matching group and Ethernet address. */
static void ns_for(uint8_t *f, uint8_t last)
{
        make_ns(f);
        f[5] = last;       /* 33:33:ff:00:00:XX */
        f[53] = last;      /* ff02::1:ff00:XX */
        f[54 + 23] = last; /* target 2001:db8::XX */
        icmp6_fix(f, 86);
}

static void test_no_entry_passes(void **state)
{
        uint8_t f[86];

        (void)state;
        memcpy(f, arp_request, 60);
        f[41] = 99; /* 192.0.2.99: no entry */
        expect_pass(false, F.if0, f, 60);
        ns_for(f, 0x99);
        expect_pass(false, F.if0, f, 86);
        /* an interface without entries passes everything */
        expect_pass(false, F.if2, arp_request, 60);
        make_ns(f);
        expect_pass(false, F.if2, f, 86);
}

static void test_arp_reply(void **state)
{
        struct responder_entry before = get_entry("192.0.2.10", F.if0), after;

        (void)state;
        expect_tx(false, F.if0, arp_request, 60, arp_reply, 60);
        expect_tx(true, F.if0, arp_request, 60, arp_reply, 60);
        /* unpadded, as a host's own stack hands it to a veth */
        expect_tx(false, F.if0, arp_request, 42, arp_reply, 42);
        after = get_entry("192.0.2.10", F.if0);
        assert_int_equal(after.requests - before.requests, 3);
        assert_int_equal(after.replies - before.replies, 3);
}

static void test_arp_unicast(void **state)
{
        uint8_t f[60], want[60];

        (void)state;
        memcpy(f, arp_request, 60);
        memcpy(f, iface_mac, 6); /* to our MAC, as a cache refresh is */
        memcpy(f + 32, iface_mac, 6);
        memcpy(want, arp_reply, 60);
        expect_tx(false, F.if0, f, 60, want, 60);
}

static void test_arp_filters(void **state)
{
        struct responder_entry before = get_entry("192.0.2.10", F.if0), after;
        uint8_t f[64];

        (void)state;
        memcpy(f, arp_request, 60);
        memcpy(f, other_mac, 6); /* unicast to another host */
        expect_pass(false, F.if0, f, 60);

        memcpy(f, arp_request, 60);
        f[6] |= 1; /* multicast source */
        expect_pass(false, F.if0, f, 60);

        struct {
                size_t off;
                uint8_t val;
        } bad[] = {
            {15, 6},    /* hardware type IEEE 802 */
            {16, 0x86}, /* protocol IPv6 */
            {18, 5},    /* hln */
            {19, 16},   /* pln */
            {21, 2},    /* op reply */
            {21, 3},    /* op RARP */
            {12, 0x81}, /* ethertype 0x8106 */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memcpy(f, arp_request, 60);
                f[bad[i].off] = bad[i].val;
                expect_pass(false, F.if0, f, 60);
        }

        /* 802.1Q-tagged ARP: passed (attach to the VLAN device instead) */
        memcpy(f, arp_request, 12);
        f[12] = 0x81, f[13] = 0x00, f[14] = 0x00, f[15] = 0x64;
        memcpy(f + 16, arp_request + 12, 48);
        expect_pass(false, F.if0, f, 64);

        after = get_entry("192.0.2.10", F.if0);
        assert_int_equal(after.requests, before.requests);
        assert_int_equal(after.replies, before.replies);
}

static void test_arp_other_interface(void **state)
{
        uint8_t f[60];
        struct responder_entry e;

        (void)state;
        memcpy(f, arp_request, 60);
        f[41] = 20; /* 192.0.2.20 is announced on l2d1 only */
        expect_pass(false, F.if0, f, 60);
        /* and on l2d1 it is answered with l2d1's MAC */
        {
                uint8_t want[60];

                memcpy(want, arp_reply, 60);
                memcpy(want + 6, other_mac, 6);
                memcpy(want + 22, other_mac, 6);
                want[31] = 20;
                expect_tx(false, F.if1, f, 60, want, 60);
        }
        /* 192.0.2.10 is announced on l2d0, not on l2d1 */
        expect_pass(false, F.if1, arp_request, 60);
        e = get_entry("192.0.2.20", F.if1);
        assert_int_equal(e.replies, 1);
}

static void test_arp_deadline(void **state)
{
        struct responder_entry before, after;
        struct ipaddr a;
        uint8_t f[60];

        (void)state;
        memcpy(f, arp_request, 60);
        f[41] = 30; /* deadline in the past */
        before = get_entry("192.0.2.30", F.if0);
        expect_pass(false, F.if0, f, 60);
        after = get_entry("192.0.2.30", F.if0);
        assert_int_equal(after.requests - before.requests, 1); /* seen, */
        assert_int_equal(after.replies, before.replies);       /* not answered */

        /* renewed: answered; lapsed again: silent */
        ip_parse("192.0.2.30", &a);
        assert_int_equal(
            responder_entry_update_deadline(F.r, &a, F.if0, responder_now_ns() + 1000000000ULL), 0);
        {
                uint8_t want[60];

                memcpy(want, arp_reply, 60);
                want[31] = 30;
                expect_tx(false, F.if0, f, 60, want, 60);
        }
        assert_int_equal(responder_entry_update_deadline(F.r, &a, F.if0, responder_now_ns()), 0);
        expect_pass(false, F.if0, f, 60);
        after = get_entry("192.0.2.30", F.if0);
        assert_int_equal(after.requests - before.requests, 3);
        assert_int_equal(after.replies - before.replies, 1);
}

static void test_arp_truncated(void **state)
{
        (void)state;
        for (size_t len = 0; len < 42; len++) {
                expect_pass(false, F.if0, arp_request, len);
                expect_pass(true, F.if0, arp_request, len);
        }
        /* 42 bytes hold the whole request; the rest is padding */
        for (size_t len = 42; len <= 60; len++)
                expect_tx(false, F.if0, arp_request, len, arp_reply, len);
}

static void test_ns_multicast(void **state)
{
        struct responder_entry before = get_entry("2001:db8::10", F.if0), after;
        uint8_t ns[86], na[86];

        (void)state;
        make_ns(ns);
        make_na(na);
        icmp6_assert_valid(ns);
        icmp6_assert_valid(na);
        expect_tx(false, F.if0, ns, 86, na, 86);
        expect_tx(true, F.if0, ns, 86, na, 86);
        after = get_entry("2001:db8::10", F.if0);
        assert_int_equal(after.requests - before.requests, 2);
        assert_int_equal(after.replies - before.replies, 2);
}

static void test_ns_unicast(void **state)
{
        static const uint8_t svc[16] = {SVC_IP6};
        uint8_t ns[86], na[86];

        (void)state;
        make_ns(ns);
        memcpy(ns, iface_mac, 6);
        memcpy(ns + 38, svc, 16);
        icmp6_fix(ns, 86);
        make_na(na);
        expect_tx(false, F.if0, ns, 86, na, 86);

        /* unicast to the target but another MAC: not for us */
        memcpy(ns, other_mac, 6);
        expect_pass(false, F.if0, ns, 86);
}

static void test_ns_without_option(void **state)
{
        uint8_t ns[86], na[86];

        (void)state;
        make_ns(ns);
        ns[19] = 24; /* payload: NS alone */
        icmp6_fix(ns, 78);
        make_na(na);
        /* the reply grows by the 8-byte target link-layer address option */
        expect_tx(false, F.if0, ns, 78, na, 86);
        icmp6_assert_valid(na);
        /* the fixed-length variant cannot grow it, so leaves it to the kernel */
        expect_pass(true, F.if0, ns, 78);
}

static void test_ns_more_options(void **state)
{
        uint8_t ns[94], na[94], out[512];
        size_t out_len = 0;

        (void)state;
        make_ns(ns);
        ns[19] = 40; /* SLLA + an unknown 8-byte option */
        ns[86] = 200, ns[87] = 1;
        memset(ns + 88, 0xab, 6);
        icmp6_fix(ns, 94);
        make_na(na);
        /* shrunk to the 86-byte NA */
        expect_tx(false, F.if0, ns, 94, na, 86);
        /* the fixed variant keeps the length: the NA, then the old bytes as
         * link-layer padding past the IPv6 payload */
        assert_int_equal(run(true, F.if0, ns, 94, out, &out_len), XDP_TX);
        assert_int_equal(out_len, 94);
        assert_memory_equal(out, na, 86);
        assert_memory_equal(out + 86, ns + 86, 8);
}

static void test_ns_filters(void **state)
{
        static const uint8_t unspecified[16];
        struct responder_entry before = get_entry("2001:db8::10", F.if0), after;
        uint8_t ns[96];

        (void)state;
        /* from ::, with a source link-layer address option (§7.1.1) */
        make_ns(ns);
        memcpy(ns + 22, unspecified, 16);
        icmp6_fix(ns, 86);
        expect_pass(false, F.if0, ns, 86);
        expect_pass(true, F.if0, ns, 86);

        static const struct bad_byte bad[] = {
            {21, 64, true},       /* hop limit 64 */
            {21, 254, true},      /* hop limit 254 */
            {55, 1, true},        /* ICMPv6 code 1 */
            {54, 136, true},      /* an NA, not an NS */
            {54, 128, true},      /* echo request */
            {20, 0, true},        /* hop-by-hop header first */
            {20, 17, true},       /* UDP */
            {14, 0x40, true},     /* IP version 4 */
            {57, 0x55, false},    /* bad checksum */
            {79, 0, true},        /* option length 0 */
            {79, 2, true},        /* option longer than the message */
            {5, 0x11, true},      /* Ethernet group of another target */
            {0, 0x01, true},      /* Ethernet destination not 33:33:... */
            {53, 0x11, true},     /* solicited-node group of another target */
            {38, 0xfe, true},     /* destination neither group nor target */
            {22, 0xff, true},     /* multicast source */
            {6, 0x03, true},      /* multicast Ethernet source */
            {54 + 8, 0xff, true}, /* multicast target */
            {19, 0x28, true},     /* payload longer than the frame */
            {19, 0x10, true},     /* payload shorter than an NS */
            {19, 0x21, true},     /* payload not a multiple of 8 */
            {18, 0x01, true},     /* payload of 288 bytes */
        };
        expect_bad_bytes_pass(make_ns, bad, sizeof(bad) / sizeof(bad[0]));

        /* NS for an entry of another interface */
        ns_for(ns, 0x20);
        expect_pass(false, F.if0, ns, 86);

        after = get_entry("2001:db8::10", F.if0);
        assert_int_equal(after.replies, before.replies);
}

/* Duplicate address detection for an address we answer for gets the
 * advertisement the kernel sends for an address of its own: to all nodes,
 * not solicited, overriding; with or without a nonce. */
static void test_ns_dad(void **state)
{
        struct responder_entry before = get_entry("2001:db8::10", F.if0), after;
        uint8_t ns[86], na[86];

        (void)state;
        memcpy(ns, ns_dad, 86);
        icmp6_fix(ns, 86);
        memcpy(na, na_dad, 86);
        icmp6_fix(na, 86);
        icmp6_assert_valid(ns);
        icmp6_assert_valid(na);
        expect_tx(false, F.if0, ns, 86, na, 86);
        expect_tx(true, F.if0, ns, 86, na, 86);

        /* without the nonce: grown by the full variant only */
        ns[19] = 24;
        icmp6_fix(ns, 78);
        expect_tx(false, F.if0, ns, 78, na, 86);
        expect_pass(true, F.if0, ns, 78);

        after = get_entry("2001:db8::10", F.if0);
        assert_int_equal(after.requests - before.requests, 4); /* one unanswered */
        assert_int_equal(after.replies - before.replies, 3);

        /* unicast to the target from :: is not DAD (§7.1.1) */
        memcpy(ns, ns_dad, 86);
        memcpy(ns, iface_mac, 6);
        memcpy(ns + 38, ns + 62, 16);
        icmp6_fix(ns, 86);
        expect_pass(false, F.if0, ns, 86);
        expect_pass(true, F.if0, ns, 86);
}

/* A source link-layer address option for Ethernet is 8 bytes long (Linux's
 * ndisc refuses any other length): a 16-byte one is passed. */
static void test_ns_slla_length(void **state)
{
        uint8_t ns[94];

        (void)state;
        make_ns(ns);
        ns[19] = 40;
        ns[79] = 2;
        memset(ns + 86, 0, 8);
        icmp6_fix(ns, 94);
        icmp6_assert_valid(ns);
        expect_pass(false, F.if0, ns, 94);
        expect_pass(true, F.if0, ns, 94);
}

/* A gratuitous ARP request for our address (sender IP = target IP) is
 * another host's announcement: passed, counted as a conflict, not as a
 * request. */
static void test_arp_gratuitous(void **state)
{
        struct responder_entry before = get_entry("192.0.2.10", F.if0), after;
        uint8_t f[60];

        (void)state;
        memcpy(f, arp_request, 60);
        f[31] = 10; /* sender 192.0.2.10 */
        expect_pass(false, F.if0, f, 60);
        expect_pass(true, F.if0, f, 60);
        after = get_entry("192.0.2.10", F.if0);
        assert_int_equal(after.conflicts - before.conflicts, 2);
        assert_int_equal(after.requests, before.requests);
        assert_int_equal(after.replies, before.replies);

        /* our own announcement coming back is no conflict */
        memcpy(f + 6, iface_mac, 6);
        memcpy(f + 22, iface_mac, 6);
        expect_pass(false, F.if0, f, 60);
        after = get_entry("192.0.2.10", F.if0);
        assert_int_equal(after.conflicts - before.conflicts, 2);
}

/* Between before and after, the entry counted n conflicts and nothing else. */
static void assert_conflicts_only(const struct responder_entry *before,
                                  const struct responder_entry *after, uint64_t n)
{
        assert_int_equal(after->conflicts - before->conflicts, n);
        assert_int_equal(after->requests, before->requests);
        assert_int_equal(after->replies, before->replies);
}

/* clang-format off */
/* 192.0.2.10 is-at 02:00:00:00:00:0b, broadcast: a gratuitous ARP reply of
 * another host claiming our address */
static const uint8_t arp_garp_reply[60] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, OTHER_MAC, 0x08, 0x06, /* Ethernet */
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02,                  /* Ethernet/IPv4, reply */
        OTHER_MAC, SVC_IP4,                                         /* sender */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, SVC_IP4,                /* target */
};
/* clang-format on */

/* An ARP reply or gratuitous request with our address as sender from another
 * MAC is another host claiming it (RFC 5227 §2.4): passed untouched, counted
 * as a conflict, not as a request; the same frames carrying our MAC are not
 * counted. */
static void test_arp_reply_conflict(void **state)
{
        struct responder_entry before = get_entry("192.0.2.10", F.if0), after;
        uint8_t f[60];

        (void)state;
        expect_pass(false, F.if0, arp_garp_reply, 60);
        expect_pass(true, F.if0, arp_garp_reply, 60);
        expect_pass(false, F.if0, arp_garp_reply, 42);
        /* a unicast reply to a requester, not gratuitous: a claim all the same */
        memcpy(f, arp_garp_reply, 60);
        memcpy(f, (uint8_t[]){REQ_MAC}, 6);
        memcpy(f + 32, (uint8_t[]){REQ_MAC, REQ_IP4}, 10);
        expect_pass(false, F.if0, f, 60);
        after = get_entry("192.0.2.10", F.if0);
        assert_conflicts_only(&before, &after, 4);

        before = after;
        /* our own reply looped back; a proxy relaying our MAC */
        memcpy(f, arp_garp_reply, 60);
        memcpy(f + 6, iface_mac, 6);
        memcpy(f + 22, iface_mac, 6);
        expect_pass(false, F.if0, f, 60);
        memcpy(f + 6, other_mac, 6);
        expect_pass(false, F.if0, f, 60);
        /* a gratuitous request relayed with our MAC as sender */
        memcpy(f, arp_request, 60);
        memcpy(f + 22, iface_mac, 6);
        f[31] = 10;
        expect_pass(false, F.if0, f, 60);
        /* a reply for an address without an entry, or on another interface */
        memcpy(f, arp_garp_reply, 60);
        f[31] = 99;
        expect_pass(false, F.if0, f, 60);
        expect_pass(false, F.if1, arp_garp_reply, 60);
        /* not IPv4 over Ethernet; truncated; multicast Ethernet source */
        memcpy(f, arp_garp_reply, 60);
        f[18] = 5;
        expect_pass(false, F.if0, f, 60);
        for (size_t len = 14; len < 42; len++)
                expect_pass(false, F.if0, arp_garp_reply, len);
        memcpy(f, arp_garp_reply, 60);
        f[6] |= 1;
        expect_pass(false, F.if0, f, 60);
        after = get_entry("192.0.2.10", F.if0);
        assert_int_equal(after.conflicts, before.conflicts);
        assert_int_equal(get_entry("192.0.2.20", F.if1).conflicts, 0);
}

/* clang-format off */
/* An unsolicited NA for 2001:db8::10 from another host: to all nodes, S=0
 * O=1, with its MAC; checksum filled in by icmp6_fix(). */
static const uint8_t na_other[86] = {
        ALL_MAC, OTHER_MAC, 0x86, 0xdd,                       /* Ethernet */
        0x60, 0, 0, 0, 0x00, 0x20, 58, 255, REQ_IP6, ALL_IP6, /* IPv6, payload 32 */
        136, 0, 0, 0, 0x20, 0, 0, 0, SVC_IP6,                 /* NA, S=0 O=1 */
        2, 1, OTHER_MAC,                                      /* target link-layer address */
};
/* clang-format on */

static void make_na_other(uint8_t *f)
{
        memcpy(f, na_other, sizeof(na_other));
        icmp6_fix(f, sizeof(na_other));
}

/* A Neighbor Advertisement for our address from another MAC, solicited or
 * not, is another host claiming it: passed untouched, counted as a conflict
 * once valid (§7.1.2); ours looped back, or one with our MAC in the target
 * link-layer address option, is not. */
static void test_na_conflict(void **state)
{
        static const uint8_t req_ip6[16] = {REQ_IP6};
        struct responder_entry before = get_entry("2001:db8::10", F.if0), after;
        uint8_t f[96];

        (void)state;
        make_na_other(f);
        icmp6_assert_valid(f);
        expect_pass(false, F.if0, f, 86);
        expect_pass(true, F.if0, f, 86);
        /* solicited, unicast to a requester */
        make_na_other(f);
        memcpy(f, (uint8_t[]){REQ_MAC}, 6);
        memcpy(f + 38, req_ip6, 16);
        f[58] = 0x60;
        icmp6_fix(f, 86);
        expect_pass(false, F.if0, f, 86);
        /* without the option */
        make_na_other(f);
        f[19] = 24;
        icmp6_fix(f, 78);
        expect_pass(false, F.if0, f, 78);
        after = get_entry("2001:db8::10", F.if0);
        assert_conflicts_only(&before, &after, 4);

        before = after;
        /* ours looped back; relayed with our MAC as the target's */
        make_na_other(f);
        memcpy(f + 6, iface_mac, 6);
        memcpy(f + 80, iface_mac, 6);
        icmp6_fix(f, 86);
        expect_pass(false, F.if0, f, 86);
        memcpy(f + 6, other_mac, 6);
        expect_pass(false, F.if0, f, 86);

        static const struct bad_byte bad[] = {
            {21, 64, true},        /* hop limit 64 */
            {55, 1, true},         /* ICMPv6 code 1 */
            {58, 0x60, true},      /* solicited, to a group (§7.1.2) */
            {57, 0x55, false},     /* bad checksum */
            {79, 0, true},         /* option length 0 */
            {79, 2, true},         /* option longer than the message */
            {22, 0xff, true},      /* multicast source */
            {6, 0x03, true},       /* multicast Ethernet source */
            {54 + 8, 0xff, true},  /* multicast target */
            {19, 0x28, true},      /* payload longer than the frame */
            {19, 0x21, true},      /* payload not a multiple of 8 */
            {14, 0x40, true},      /* IP version 4 */
            {20, 17, true},        /* UDP */
            {54 + 23, 0x99, true}, /* target without an entry */
        };
        expect_bad_bytes_pass(make_na_other, bad, sizeof(bad) / sizeof(bad[0]));
        /* from :: */
        make_na_other(f);
        memset(f + 22, 0, 16);
        icmp6_fix(f, 86);
        expect_pass(false, F.if0, f, 86);
        /* a 16-byte target link-layer address option */
        make_na_other(f);
        f[19] = 40;
        f[79] = 2;
        memset(f + 86, 0, 8);
        icmp6_fix(f, 94);
        expect_pass(false, F.if0, f, 94);
        /* truncated */
        make_na_other(f);
        for (size_t len = 14; len < 86; len++)
                expect_pass(false, F.if0, f, len);
        /* on an interface where the address has no entry */
        make_na_other(f);
        expect_pass(false, F.if1, f, 86);
        after = get_entry("2001:db8::10", F.if0);
        assert_int_equal(after.conflicts, before.conflicts);
}

/* A request from the interface's own MAC is our own frame looped or
 * reflected back: passed, not counted. */
static void test_own_mac(void **state)
{
        struct responder_entry b4 = get_entry("192.0.2.10", F.if0),
                               b6 = get_entry("2001:db8::10", F.if0), a4, a6;
        uint8_t f[86];

        (void)state;
        memcpy(f, arp_request, 60);
        memcpy(f + 6, iface_mac, 6);
        expect_pass(false, F.if0, f, 60);
        expect_pass(true, F.if0, f, 60);
        make_ns(f);
        memcpy(f + 6, iface_mac, 6);
        expect_pass(false, F.if0, f, 86);
        expect_pass(true, F.if0, f, 86);
        memcpy(f, ns_dad, 86);
        memcpy(f + 6, iface_mac, 6);
        icmp6_fix(f, 86);
        expect_pass(false, F.if0, f, 86);

        /* l2d0's MAC is just another host on l2d1 */
        memcpy(f, arp_request, 60);
        memcpy(f + 6, iface_mac, 6);
        f[41] = 20;
        assert_int_equal(run(false, F.if1, f, 60, (uint8_t[512]){0}, &(size_t){0}), XDP_TX);

        a4 = get_entry("192.0.2.10", F.if0);
        a6 = get_entry("2001:db8::10", F.if0);
        assert_int_equal(a4.requests, b4.requests);
        assert_int_equal(a6.requests, b6.requests);
        assert_int_equal(a4.conflicts, b4.conflicts);
}

static void test_ns_deadline(void **state)
{
        struct responder_entry before = get_entry("2001:db8::30", F.if0), after;
        uint8_t ns[86];

        (void)state;
        ns_for(ns, 0x30);
        expect_pass(false, F.if0, ns, 86);
        after = get_entry("2001:db8::30", F.if0);
        assert_int_equal(after.requests - before.requests, 1);
        assert_int_equal(after.replies, before.replies);
}

static void test_ns_truncated(void **state)
{
        uint8_t ns[86];

        (void)state;
        make_ns(ns);
        for (size_t len = 0; len < 86; len++) {
                expect_pass(false, F.if0, ns, len);
                expect_pass(true, F.if0, ns, len);
        }
        ns[19] = 24;
        icmp6_fix(ns, 78);
        for (size_t len = 0; len < 78; len++)
                expect_pass(false, F.if0, ns, len);
}

/* Every single-byte corruption of a valid request is either passed
 * untouched or answered; never aborted or dropped. */
static void test_corruption(void **state)
{
        static const uint8_t vals[] = {0x00, 0xff, 0x01, 0x80};
        uint8_t base[2][86], f[86], out[512];
        size_t lens[2] = {60, 86};

        (void)state;
        memcpy(base[0], arp_request, 60);
        make_ns(base[1]);
        for (int b = 0; b < 2; b++)
                for (size_t off = 0; off < lens[b]; off++)
                        for (size_t v = 0; v < sizeof(vals); v++)
                                for (int fixed = 0; fixed <= 1; fixed++) {
                                        size_t out_len = 0;
                                        int act;

                                        memcpy(f, base[b], lens[b]);
                                        f[off] ^= vals[v] ? vals[v] : f[off];
                                        act = run(fixed, F.if0, f, lens[b], out, &out_len);
                                        assert_true(act == XDP_PASS || act == XDP_TX);
                                        if (act == XDP_PASS) {
                                                assert_int_equal(out_len, lens[b]);
                                                assert_memory_equal(out, f, lens[b]);
                                        }
                                }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_no_entry_passes),
            cmocka_unit_test(test_arp_reply),
            cmocka_unit_test(test_arp_unicast),
            cmocka_unit_test(test_arp_filters),
            cmocka_unit_test(test_arp_other_interface),
            cmocka_unit_test(test_arp_deadline),
            cmocka_unit_test(test_arp_truncated),
            cmocka_unit_test(test_ns_multicast),
            cmocka_unit_test(test_ns_unicast),
            cmocka_unit_test(test_ns_without_option),
            cmocka_unit_test(test_ns_more_options),
            cmocka_unit_test(test_ns_filters),
            cmocka_unit_test(test_ns_deadline),
            cmocka_unit_test(test_ns_truncated),
            cmocka_unit_test(test_corruption),
            cmocka_unit_test(test_ns_dad),
            cmocka_unit_test(test_ns_slla_length),
            cmocka_unit_test(test_arp_gratuitous),
            cmocka_unit_test(test_arp_reply_conflict),
            cmocka_unit_test(test_na_conflict),
            cmocka_unit_test(test_own_mac),
        };

        if (!tbpf_usable())
                return 77;
        tcleanup_at_exit(cleanup);
        return cmocka_run_group_tests(tests, setup, teardown);
}
