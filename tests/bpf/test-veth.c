/* The responder on a real link: a veth pair between this process's network
 * namespace ("node", l2a, no IP address at all) and a second one
 * ("neighbor", l2b, 192.0.2.1/24 and 2001:db8::1/64). The neighbor sends
 * ARP requests and Neighbor Solicitations from raw sockets, with arping, and
 * through its own kernel (a UDP datagram makes it resolve the address), and
 * captures what comes back: exactly one reply, from the node's MAC, byte for
 * byte. Also: gratuitous ARP and NA frames as the neighbor receives them,
 * the neighbor claiming our addresses (conflict counters), the
 * solicited-node group in `ip maddr`, answering on with no agent running
 * (restart), silence after the deadline, generic mode, detach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf/responder.h"
#include "helpers.h"
#include "lib/addr.h"

#define NODE_MAC  0x02, 0x00, 0x00, 0x00, 0x00, 0x0a
#define NEIGH_MAC 0x02, 0x00, 0x00, 0x00, 0x00, 0x01
#define NEIGH_IP4 192, 0, 2, 1
#define SVC_IP4   192, 0, 2, 10
#define NEIGH_IP6 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define SVC_IP6   0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10
#define SEC_NS    1000000000ULL

/* clang-format off */
static const uint8_t arp_request[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, NEIGH_MAC, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6,
        4,    0x00, 0x01, NEIGH_MAC, NEIGH_IP4, 0, 0, 0, 0, 0, 0, SVC_IP4,
};

static const uint8_t arp_reply[42] = {
        NEIGH_MAC, NODE_MAC, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02,
        NODE_MAC,  SVC_IP4,  NEIGH_MAC, NEIGH_IP4,
};

static const uint8_t garp_request[60] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, NODE_MAC, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4,
        0x00, 0x01, NODE_MAC, SVC_IP4, 0, 0, 0, 0, 0, 0, SVC_IP4,
};

static const uint8_t garp_reply[60] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, NODE_MAC, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4,
        0x00, 0x02, NODE_MAC, SVC_IP4, NODE_MAC, SVC_IP4,
};

/* unsolicited NA, checksum at 56..57 checked separately */
static const uint8_t unsolicited_na[86] = {
        0x33, 0x33, 0, 0, 0, 0x01, NODE_MAC, 0x86, 0xdd, 0x60, 0, 0, 0, 0x00, 0x20, 58, 255,
        SVC_IP6, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        136, 0, 0, 0, 0x20, 0, 0, 0, SVC_IP6, 2, 1, NODE_MAC,
};

static const uint8_t ns_request[86] = {
        0x33, 0x33, 0xff, 0x00, 0x00, 0x10, NEIGH_MAC, 0x86, 0xdd, 0x60, 0, 0, 0, 0x00, 0x20, 58,
        255, NEIGH_IP6, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x00, 0x10,
        135, 0, 0, 0, 0, 0, 0, 0, SVC_IP6, 1, 1, NEIGH_MAC,
};

static const uint8_t na_reply[86] = {
        NEIGH_MAC, NODE_MAC, 0x86, 0xdd, 0x60, 0, 0, 0, 0x00, 0x20, 58, 255, SVC_IP6, NEIGH_IP6,
        136, 0, 0, 0, 0x60, 0, 0, 0, SVC_IP6, 2, 1, NODE_MAC,
};
/* clang-format on */

struct fixture {
        int node, neigh; /* network namespaces */
        int if_node, if_neigh;
        int neigh_pass_fd; /* XDP_PASS program on l2b: native XDP_TX from l2a needs it */
        char root[256];
        struct responder *r;
        struct responder_attachment how; /* of the attach in setup */
};

static struct fixture F;

/* The pair, the responder attached to l2a in mode, two entries; with
 * peer_pass an XDP_PASS program on l2b (native XDP_TX from l2a needs it). */
static int setup_pair(bool peer_pass, enum responder_xdp_mode mode)
{
        F.neigh_pass_fd = -1;
        F.neigh = tnet_new();
        if (F.neigh < 0)
                return -1;
        F.node = tnet_new();
        if (F.node < 0)
                return -1;
        if (tsh("ip link add l2a address 02:00:00:00:00:0a type veth peer name l2b "
                "address 02:00:00:00:00:01 netns /proc/self/fd/%d && ip link set l2a up",
                F.neigh) != 0)
                return -1;
        F.if_node = (int)if_nametoindex("l2a");
        tnet_enter(F.neigh);
        if (tsh("ip link set l2b up && ip addr add 192.0.2.1/24 dev l2b && "
                "ip -6 addr add 2001:db8::1/64 dev l2b nodad") != 0)
                return -1;
        F.if_neigh = (int)if_nametoindex("l2b");
        if (peer_pass)
                F.neigh_pass_fd = txdp_attach_pass(F.if_neigh);
        tnet_enter(F.node);
        if (peer_pass && F.neigh_pass_fd < 0)
                return -1;
        snprintf(F.root, sizeof(F.root), "%s", tbpf_root(peer_pass ? "veth" : "veth-nopeer"));
        if (responder_open(F.root, &F.r) < 0)
                return -1;
        if (responder_attach_report(F.r, F.if_node, mode, &F.how) < 0)
                return -1;
        {
                struct ipaddr a = tip("192.0.2.10"), b = tip("2001:db8::10");
                uint64_t alive = responder_now_ns() + 3600 * SEC_NS;

                if (responder_entry_set(F.r, &a, F.if_node, alive) < 0 ||
                    responder_entry_set(F.r, &b, F.if_node, alive) < 0)
                        return -1;
        }
        return 0;
}

static int setup(void **state)
{
        (void)state;
        return setup_pair(true, RESPONDER_XDP_NATIVE);
}

/* As a container network, kind, a pod: nothing on the peer, the default
 * mode (auto). */
static int setup_nopeer(void **state)
{
        (void)state;
        return setup_pair(false, RESPONDER_XDP_AUTO);
}

static void cleanup(void)
{
        if (F.root[0])
                tbpf_remove_root(F.root);
}

static int teardown(void **state)
{
        (void)state;
        tnet_enter(F.node);
        if (F.r) {
                responder_detach(F.r, F.if_node);
                responder_close(F.r);
                F.r = NULL;
        }
        cleanup();
        if (F.neigh_pass_fd >= 0)
                close(F.neigh_pass_fd);
        /* the namespaces, their links and programs go when this process exits */
        return 0;
}

/* In the neighbor namespace: send frame, then collect frames of ethertype
 * proto for wait_ms; returns how many matched (and copies the first). */
typedef bool (*match_fn)(const uint8_t *f, size_t len);

static int neigh_exchange(const uint8_t *frame, size_t len, uint16_t proto, match_fn match,
                          int wait_ms, uint8_t *first, size_t *first_len)
{
        uint8_t buf[2048];
        int fd, n, count = 0;

        tnet_enter(F.neigh);
        fd = tpkt_open("l2b", proto);
        assert_true(fd >= 0);
        if (frame)
                assert_int_equal(tpkt_send(fd, frame, len), 0);
        while ((n = tpkt_recv(fd, buf, sizeof(buf), wait_ms)) > 0) {
                if (!match((uint8_t *)buf, (size_t)n))
                        continue;
                if (count++ == 0 && first) {
                        memcpy(first, buf, (size_t)n);
                        *first_len = (size_t)n;
                }
        }
        close(fd);
        tnet_enter(F.node);
        return count;
}

static bool is_arp_reply_for_svc(const uint8_t *f, size_t len)
{
        static const uint8_t svc[4] = {SVC_IP4};

        return len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
               memcmp(f + 28, svc, 4) == 0;
}

static bool is_garp(const uint8_t *f, size_t len)
{
        static const uint8_t svc[4] = {SVC_IP4};

        return len >= 42 && f[12] == 0x08 && f[13] == 0x06 && memcmp(f + 28, svc, 4) == 0 &&
               memcmp(f + 38, svc, 4) == 0;
}

static bool is_na(const uint8_t *f, size_t len)
{
        return len >= 78 && f[12] == 0x86 && f[13] == 0xdd && f[20] == 58 && f[54] == 136;
}

static void assert_frame(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                         size_t want_len)
{
        if (got_len != want_len || memcmp(got, want, want_len) != 0)
                tdump_diff(what, got, got_len, want, want_len);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len);
}

static int arp_replies(uint8_t *first, size_t *first_len)
{
        return neigh_exchange(arp_request, sizeof(arp_request), ETH_P_ARP, is_arp_reply_for_svc,
                              400, first, first_len);
}

static struct responder_entry entry(const char *s)
{
        struct ipaddr a = tip(s);
        struct responder_entry e;

        assert_int_equal(responder_entry_get(F.r, &a, F.if_node, &e), 0);
        return e;
}

static void test_arp_one_reply(void **state)
{
        struct responder_entry before = entry("192.0.2.10"), after;
        uint8_t got[2048];
        size_t got_len = 0;

        (void)state;
        assert_int_equal(arp_replies(got, &got_len), 1);
        assert_frame("ARP reply", got, got_len, arp_reply, sizeof(arp_reply));
        after = entry("192.0.2.10");
        assert_true(after.requests - before.requests == 1);
        assert_true(after.replies - before.replies == 1);
}

static void test_arping(void **state)
{
        char *out;

        (void)state;
        tnet_enter(F.neigh);
        out = tsh_output("arping -c 1 -w 3 -i l2b 192.0.2.10 2>&1; echo rc=$?");
        tnet_enter(F.node);
        assert_non_null(out);
        if (!strstr(out, "rc=0") || !strstr(out, "02:00:00:00:00:0a"))
                fprintf(stderr, "arping said:\n%s\n", out ? out : "");
        assert_non_null(strstr(out, "rc=0"));
        assert_non_null(strstr(out, "02:00:00:00:00:0a"));
        free(out);
}

/* The neighbor's own kernel resolves the service IPs (ARP and NDP) through
 * the responder: send a datagram, then read its neighbour table. */
static void test_kernel_resolves(void **state)
{
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
        struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
        char *v4 = NULL, *v6 = NULL;
        int fd;

        (void)state;
        inet_pton(AF_INET, "192.0.2.10", &sin.sin_addr);
        inet_pton(AF_INET6, "2001:db8::10", &sin6.sin6_addr);
        tnet_enter(F.neigh);
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(fd >= 0);
        assert_true(sendto(fd, "x", 1, 0, (struct sockaddr *)&sin, sizeof(sin)) == 1);
        close(fd);
        fd = socket(AF_INET6, SOCK_DGRAM, 0);
        assert_true(fd >= 0);
        assert_true(sendto(fd, "x", 1, 0, (struct sockaddr *)&sin6, sizeof(sin6)) == 1);
        close(fd);
        for (int i = 0; i < 40; i++) {
                free(v4);
                free(v6);
                v4 = tsh_output("ip -4 neigh show 192.0.2.10 dev l2b");
                v6 = tsh_output("ip -6 neigh show 2001:db8::10 dev l2b");
                if (v4 && v6 && strstr(v4, "lladdr 02:00:00:00:00:0a") &&
                    strstr(v6, "lladdr 02:00:00:00:00:0a"))
                        break;
                usleep(50 * 1000);
        }
        tnet_enter(F.node);
        assert_non_null(v4);
        assert_non_null(v6);
        if (!strstr(v4, "lladdr 02:00:00:00:00:0a") || !strstr(v6, "lladdr 02:00:00:00:00:0a"))
                fprintf(stderr, "neighbour entries: %s / %s\n", v4 ? v4 : "", v6 ? v6 : "");
        assert_non_null(strstr(v4, "lladdr 02:00:00:00:00:0a"));
        assert_non_null(strstr(v6, "lladdr 02:00:00:00:00:0a"));
        free(v4);
        free(v6);
}

/* The neighbor solicits 2001:db8::10: the number of NAs that came back; the
 * first must be na_reply, byte for byte. */
static int ns_adverts(void)
{
        uint8_t ns[86], want[86], got[2048];
        size_t got_len = 0;
        uint16_t c;
        int n;

        memcpy(ns, ns_request, sizeof(ns));
        c = tcsum_icmp6(ns + 22, ns + 38, ns + 54, 32);
        ns[56] = (uint8_t)(c >> 8), ns[57] = (uint8_t)c;
        memcpy(want, na_reply, sizeof(want));
        c = tcsum_icmp6(want + 22, want + 38, want + 54, 32);
        want[56] = (uint8_t)(c >> 8), want[57] = (uint8_t)c;

        n = neigh_exchange(ns, sizeof(ns), ETH_P_IPV6, is_na, 400, got, &got_len);
        if (n > 0) {
                assert_frame("NA", got, got_len, want, sizeof(want));
                assert_int_equal(tcsum_icmp6(got + 22, got + 38, got + 54, 32), 0);
        }
        return n;
}

static void test_ns_one_advert(void **state)
{
        (void)state;
        assert_int_equal(ns_adverts(), 1);
}

static void test_gratuitous(void **state)
{
        struct responder_stats st0, st1;
        struct ipaddr a = tip("192.0.2.10"), b = tip("2001:db8::10");
        uint8_t buf[2048], want[86];
        int fd, n, arps = 0, nas = 0;
        uint16_t c;

        (void)state;
        responder_get_stats(F.r, &st0);
        tnet_enter(F.neigh);
        fd = tpkt_open("l2b", ETH_P_ALL);
        tnet_enter(F.node);
        assert_true(fd >= 0);
        assert_int_equal(responder_announce(F.r, &a, F.if_node), 0);
        assert_int_equal(responder_announce(F.r, &b, F.if_node), 0);

        memcpy(want, unsolicited_na, sizeof(want));
        c = tcsum_icmp6(want + 22, want + 38, want + 54, 32);
        want[56] = (uint8_t)(c >> 8), want[57] = (uint8_t)c;
        while ((n = tpkt_recv(fd, buf, sizeof(buf), 400)) > 0) {
                if (is_garp(buf, (size_t)n)) {
                        /* the request form first, then the reply form */
                        assert_frame(arps == 0 ? "gratuitous ARP request" : "gratuitous ARP reply",
                                     buf, (size_t)n, arps == 0 ? garp_request : garp_reply, 60);
                        arps++;
                } else if (is_na(buf, (size_t)n)) {
                        assert_frame("unsolicited NA", buf, (size_t)n, want, sizeof(want));
                        assert_int_equal(tcsum_icmp6(buf + 22, buf + 38, buf + 54, 32), 0);
                        nas++;
                }
        }
        close(fd);
        assert_int_equal(arps, 2);
        assert_int_equal(nas, 1);
        responder_get_stats(F.r, &st1);
        assert_true(st1.arp_requests_sent - st0.arp_requests_sent == 1);
        assert_true(st1.arp_replies_sent - st0.arp_replies_sent == 1);
        assert_true(st1.nas_sent - st0.nas_sent == 1);
        assert_true(st1.send_errors == st0.send_errors);
}

/* clang-format off */
/* the neighbor claims 192.0.2.10 (gratuitous ARP reply) and 2001:db8::10
 * (unsolicited NA, checksum filled in at run time) for its own MAC */
static const uint8_t claim_arp[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, NEIGH_MAC, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4,
        0x00, 0x02, NEIGH_MAC, SVC_IP4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, SVC_IP4,
};

static const uint8_t claim_na[86] = {
        0x33, 0x33, 0, 0, 0, 0x01, NEIGH_MAC, 0x86, 0xdd, 0x60, 0, 0, 0, 0x00, 0x20, 58, 255,
        NEIGH_IP6, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        136, 0, 0, 0, 0x20, 0, 0, 0, SVC_IP6, 2, 1, NEIGH_MAC,
};
/* clang-format on */

static bool match_none(const uint8_t *f, size_t len)
{
        (void)f;
        (void)len;
        return false;
}

/* Waits up to 1 s for the entry's conflict counter to reach want. */
static uint64_t conflicts_reach(const char *ip, uint64_t want)
{
        uint64_t got = 0;

        for (int i = 0; i < 100 && (got = entry(ip).conflicts) < want; i++)
                usleep(10000);
        return got;
}

/* Another host on the link claiming our addresses, over the wire: counted
 * per entry (exactly once per frame), not answered. */
static void test_conflicts(void **state)
{
        uint64_t c4 = entry("192.0.2.10").conflicts, c6 = entry("2001:db8::10").conflicts;
        uint8_t na[86];
        uint16_t c;

        (void)state;
        memcpy(na, claim_na, sizeof(na));
        c = tcsum_icmp6(na + 22, na + 38, na + 54, 32);
        na[56] = (uint8_t)(c >> 8), na[57] = (uint8_t)c;
        /* sent from the neighbor; nothing is expected back */
        (void)neigh_exchange(claim_arp, sizeof(claim_arp), ETH_P_ALL, match_none, 50, NULL, NULL);
        (void)neigh_exchange(na, sizeof(na), ETH_P_ALL, match_none, 50, NULL, NULL);
        assert_true(conflicts_reach("192.0.2.10", c4 + 1) == c4 + 1);
        assert_true(conflicts_reach("2001:db8::10", c6 + 1) == c6 + 1);
}

static void test_solicited_node_group(void **state)
{
        char *out = tsh_output("ip maddr show dev l2a");

        (void)state;
        assert_non_null(out);
        if (!strstr(out, "33:33:ff:00:00:10"))
                fprintf(stderr, "ip maddr:\n%s\n", out ? out : "");
        assert_non_null(strstr(out, "33:33:ff:00:00:10"));
        free(out);
}

/* The agent exits: replies go on. A new agent finds its program attached
 * and keeps it (same program id: there was never a moment without it). */
static void test_restart_without_gap(void **state)
{
        uint32_t id_before = 0, id_after = 0;
        struct responder_entry e;

        (void)state;
        int while_down, err;

        assert_int_equal(responder_is_attached(F.r, F.if_node, &id_before), 1);
        responder_close(F.r);
        F.r = NULL;
        while_down = arp_replies(NULL, NULL);
        err = responder_open(F.root, &F.r);
        assert_int_equal(err, 0);
        assert_int_equal(while_down, 1);
        assert_int_equal(responder_attach(F.r, F.if_node, RESPONDER_XDP_NATIVE), 0);
        assert_int_equal(responder_is_attached(F.r, F.if_node, &id_after), 1);
        assert_int_equal(id_before, id_after);
        assert_int_equal(arp_replies(NULL, NULL), 1);
        e = entry("192.0.2.10");
        assert_true(e.replies >= 2);
}

static void test_deadline_silences(void **state)
{
        struct ipaddr a = tip("192.0.2.10");

        (void)state;
        assert_int_equal(responder_entry_update_deadline(F.r, &a, F.if_node, responder_now_ns()),
                         0);
        assert_int_equal(arp_replies(NULL, NULL), 0);
        assert_int_equal(
            responder_entry_update_deadline(F.r, &a, F.if_node, responder_now_ns() + 3600 * SEC_NS),
            0);
        assert_int_equal(arp_replies(NULL, NULL), 1);
}

/* l2a runs generic XDP, and an ARP request gets exactly the reply. */
static void assert_generic_answers(const char *what)
{
        uint8_t got[2048];
        size_t got_len = 0;
        char *out = tsh_output("ip link show dev l2a");

        assert_non_null(out);
        assert_non_null(strstr(out, "xdpgeneric"));
        free(out);
        assert_int_equal(arp_replies(got, &got_len), 1);
        assert_frame(what, got, got_len, arp_reply, sizeof(arp_reply));
}

static void test_generic_mode(void **state)
{
        (void)state;
        assert_int_equal(responder_detach(F.r, F.if_node), 0);
        assert_int_equal(responder_attach(F.r, F.if_node, RESPONDER_XDP_GENERIC), 0);
        assert_generic_answers("ARP reply (generic XDP)");
}

static void test_detach(void **state)
{
        char *out;

        (void)state;
        assert_int_equal(responder_detach(F.r, F.if_node), 0);
        assert_int_equal(responder_is_attached(F.r, F.if_node, NULL), 0);
        out = tsh_output("ip link show dev l2a");
        assert_non_null(out);
        assert_null(strstr(out, "xdp"));
        free(out);
        /* nobody answers now: the node's kernel has no such address */
        assert_int_equal(arp_replies(NULL, NULL), 0);
}

/* Default (auto) mode, peer in another namespace without any XDP program:
 * generic XDP, and the neighbor gets its ARP and NDP answers. */
static void test_auto_nopeer_answers(void **state)
{
        (void)state;
        assert_int_equal(F.how.mode, RESPONDER_XDP_GENERIC);
        assert_string_equal(F.how.reason, "veth peer in another network namespace");
        assert_generic_answers("ARP reply (auto)");
        assert_int_equal(ns_adverts(), 1);
}

/* Forced native mode on the same pair: the program answers (its counter
 * says so) but the replies never reach the peer. Auto mode then replaces
 * the native link by a generic one, and answers arrive again. */
static void test_native_forced_vanishes(void **state)
{
        struct responder_attachment how;
        struct responder_entry before, after;

        (void)state;
        assert_int_equal(responder_detach(F.r, F.if_node), 0);
        assert_int_equal(responder_attach_report(F.r, F.if_node, RESPONDER_XDP_NATIVE, &how), 0);
        assert_int_equal(how.mode, RESPONDER_XDP_NATIVE);
        before = entry("192.0.2.10");
        assert_int_equal(arp_replies(NULL, NULL), 0);
        assert_int_equal(ns_adverts(), 0);
        after = entry("192.0.2.10");
        assert_true(after.replies - before.replies == 1); /* XDP_TX, lost on the way */

        assert_int_equal(responder_attach_report(F.r, F.if_node, RESPONDER_XDP_AUTO, &how), 0);
        assert_int_equal(how.mode, RESPONDER_XDP_GENERIC);
        assert_int_equal(responder_is_attached(F.r, F.if_node, NULL), 1);
        assert_int_equal(arp_replies(NULL, NULL), 1);
        assert_int_equal(ns_adverts(), 1);
}

static struct responder_attachment attach_auto(const char *dev)
{
        struct responder_attachment how = {0};
        int ifindex = (int)if_nametoindex(dev);

        assert_true(ifindex > 0);
        assert_int_equal(responder_attach_report(F.r, ifindex, RESPONDER_XDP_AUTO, &how), 0);
        assert_int_equal(responder_detach(F.r, ifindex), 0);
        return how;
}

/* Peers in our namespace are looked at: without a native XDP program the
 * device gets generic mode, with one native; a device without native XDP
 * (a bridge) falls back to generic. */
static void test_auto_same_netns(void **state)
{
        struct responder_attachment how;
        int pass_fd;

        (void)state;
        assert_int_equal(tsh("ip link add l2c type veth peer name l2d && ip link set l2c up && "
                             "ip link set l2d up && ip link add l2e type bridge && "
                             "ip link set l2e up"),
                         0);
        how = attach_auto("l2c");
        assert_int_equal(how.mode, RESPONDER_XDP_GENERIC);
        assert_string_equal(how.reason, "veth peer has no native XDP program");
        pass_fd = txdp_attach_pass((int)if_nametoindex("l2d"));
        assert_true(pass_fd >= 0);
        how = attach_auto("l2c");
        assert_int_equal(how.mode, RESPONDER_XDP_NATIVE);
        assert_string_equal(how.reason, "veth peer runs native XDP");
        close(pass_fd);
        how = attach_auto("l2e");
        assert_int_equal(how.mode, RESPONDER_XDP_GENERIC);
        assert_string_equal(how.reason, "no native XDP in the driver");
        assert_int_equal(tsh("ip link del l2c && ip link del l2e"), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_arp_one_reply),
            cmocka_unit_test(test_arping),
            cmocka_unit_test(test_kernel_resolves),
            cmocka_unit_test(test_ns_one_advert),
            cmocka_unit_test(test_gratuitous),
            cmocka_unit_test(test_conflicts),
            cmocka_unit_test(test_solicited_node_group),
            cmocka_unit_test(test_restart_without_gap),
            cmocka_unit_test(test_deadline_silences),
            cmocka_unit_test(test_generic_mode),
            cmocka_unit_test(test_detach),
        };
        const struct CMUnitTest nopeer[] = {
            cmocka_unit_test(test_auto_nopeer_answers),
            cmocka_unit_test(test_native_forced_vanishes),
            cmocka_unit_test(test_auto_same_netns),
        };
        int failed;

        if (!tbpf_usable())
                return 77;
        tcleanup_at_exit(cleanup);
        failed = cmocka_run_group_tests(tests, setup, teardown);
        return failed + cmocka_run_group_tests_name("veth, no XDP on the peer", nopeer,
                                                    setup_nopeer, teardown);
}
