/* The responder's user-space API without traffic: entries (set, deadline
 * update, delete, list, reconcile), counters surviving deadline updates and
 * agent restarts (reopening the pinned maps), isolation of bpf roots,
 * solicited-node group refcounting, and attachment bookkeeping (idempotent
 * attach, detach, refusing a foreign program or another bpf root's link,
 * replacing an older build: by netlink, or inside our pinned link). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bpf/l2resp.h"
#include "bpf/responder.h"
#include "helpers.h"
#include "lib/addr.h"

#define SEC_NS 1000000000ULL

struct fixture {
        int net;
        int if0, if1;
        char root[256];
        struct responder *r;
};

static struct fixture F;

/* clang-format off */
static const uint8_t arp_request[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 6,    4,    0x00, 0x01, 0x02, 0, 0, 0, 0, 0x01,
        192,  0,    2,    1,    0,    0,    0,    0,    0,    0,    192,  0,  2, 10,
};
/* clang-format on */

/* Let the datapath answer n ARP requests for 192.0.2.10 on if0. */
static void answer_arp(int n)
{
        uint8_t out[128];
        size_t out_len;

        for (int i = 0; i < n; i++)
                assert_int_equal(txdp_run(responder_xdp_prog_fd(F.r, false), F.if0, arp_request,
                                          sizeof(arp_request), out, sizeof(out), &out_len),
                                 XDP_TX);
}

static int clear_entries(void)
{
        return responder_reconcile(F.r, NULL, 0);
}

static int setup(void **state)
{
        (void)state;
        F.net = tnet_new();
        if (F.net < 0)
                return -1;
        if (tsh("ip link add l2r0 address 02:00:00:00:00:0a type veth peer name l2r0p && "
                "ip link add l2r1 type veth peer name l2r1p && "
                "ip link set l2r0 up && ip link set l2r0p up && "
                "ip link set l2r1 up && ip link set l2r1p up") != 0)
                return -1;
        F.if0 = (int)if_nametoindex("l2r0");
        F.if1 = (int)if_nametoindex("l2r1");
        snprintf(F.root, sizeof(F.root), "%s", tbpf_root("responder"));
        return responder_open(F.root, &F.r) < 0 ? -1 : 0;
}

/* Every bpf root this test may have created. */
static void cleanup(void)
{
        static const char *const suffixes[] = {"", "-other", "-unpin", "-orphan"};
        char p[300];

        if (!F.root[0])
                return;
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                snprintf(p, sizeof(p), "%s%s", F.root, suffixes[i]);
                tbpf_remove_root(p);
        }
}

static int teardown(void **state)
{
        (void)state;
        if (F.r) {
                responder_detach(F.r, F.if0);
                responder_detach(F.r, F.if1);
                responder_close(F.r);
                F.r = NULL;
        }
        cleanup();
        return 0;
}

static int each_setup(void **state)
{
        (void)state;
        return clear_entries() < 0 ? -1 : 0;
}

static void test_deadline_helpers(void **state)
{
        uint64_t a, b;

        (void)state;
        assert_true(responder_deadline_from_usec(0) == 0);
        assert_true(responder_deadline_from_usec(5) == 5000);
        assert_true(responder_deadline_from_usec(1234567) == 1234567000ULL);
        assert_true(responder_deadline_from_usec(UINT64_MAX) == UINT64_MAX);
        assert_true(responder_deadline_from_usec(UINT64_MAX / 1000 + 1) == UINT64_MAX);
        a = responder_now_ns();
        b = responder_now_ns();
        assert_true(a > 0 && b >= a);
}

/* Deadlines are boot-time: a monotonic time becomes the boot-time one of the
 * same instant (the two clocks differ by the time spent suspended). */
static void test_deadline_boottime(void **state)
{
        struct timespec ts;
        uint64_t mono_us, d, now;

        (void)state;
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        mono_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
        d = responder_deadline_from_monotonic_usec(mono_us);
        now = responder_now_ns();
        assert_true(d <= now && now - d < 1000000000ULL);
        assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &ts), 0);
        assert_true(now <= (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
        assert_true(responder_deadline_from_monotonic_usec(UINT64_MAX) == UINT64_MAX);
}

static void test_entry_crud(void **state)
{
        struct ipaddr a = tip("192.0.2.10"), missing = tip("192.0.2.99");
        struct responder_entry e;

        (void)state;
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, 1000), 0);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_true(ipaddr_equal(&e.ip, &a));
        assert_int_equal(e.ifindex, F.if0);
        assert_true(e.deadline_ns == 1000);
        assert_true(e.requests == 0 && e.replies == 0);

        assert_int_equal(responder_entry_set(F.r, &a, F.if0, 2000), 0);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_true(e.deadline_ns == 2000);
        assert_int_equal(responder_entry_update_deadline(F.r, &a, F.if0, 3000), 0);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_true(e.deadline_ns == 3000);

        assert_int_equal(responder_entry_update_deadline(F.r, &missing, F.if0, 1), -ENOENT);
        assert_int_equal(responder_entry_get(F.r, &missing, F.if0, &e), -ENOENT);
        /* same IP, other interface: another entry */
        assert_int_equal(responder_entry_get(F.r, &a, F.if1, &e), -ENOENT);

        assert_int_equal(responder_entry_delete(F.r, &a, F.if0), 0);
        assert_int_equal(responder_entry_delete(F.r, &a, F.if0), -ENOENT);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), -ENOENT);
}

static void test_counters_survive_deadline_updates(void **state)
{
        struct ipaddr a = tip("192.0.2.10");
        uint64_t alive = responder_now_ns() + 3600 * SEC_NS;
        struct responder_entry e;

        (void)state;
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, alive), 0);
        answer_arp(3);
        assert_int_equal(responder_entry_update_deadline(F.r, &a, F.if0, alive + 1), 0);
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, alive + 2), 0);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_true(e.requests == 3);
        assert_true(e.replies == 3);
        assert_true(e.deadline_ns == alive + 2);
}

static void test_list_sorted(void **state)
{
        const char *ips[] = {"2001:db8::2", "192.0.2.20", "2001:db8::1", "192.0.2.3"};
        struct responder_entry *l = NULL, *p = NULL;
        size_t n = 0, np = 0;

        (void)state;
        for (size_t i = 0; i < 4; i++) {
                struct ipaddr a = tip(ips[i]);

                assert_int_equal(responder_entry_set(F.r, &a, F.if1, 100 + i), 0);
        }
        {
                struct ipaddr a = tip("192.0.2.3");

                assert_int_equal(responder_entry_set(F.r, &a, F.if0, 7), 0);
        }
        assert_int_equal(responder_list(F.r, &l, &n), 0);
        assert_int_equal(n, 5);
        for (size_t i = 1; i < n; i++) {
                int c = ipaddr_cmp(&l[i - 1].ip, &l[i].ip);

                assert_true(c < 0 || (c == 0 && l[i - 1].ifindex < l[i].ifindex));
        }
        /* the same from the pins alone, as `l2lb bpf l2 list` reads them */
        assert_int_equal(responder_list_pinned(F.root, &p, &np), 0);
        assert_int_equal(np, n);
        for (size_t i = 0; i < n; i++) {
                assert_true(ipaddr_equal(&p[i].ip, &l[i].ip));
                assert_int_equal(p[i].ifindex, l[i].ifindex);
                assert_true(p[i].deadline_ns == l[i].deadline_ns);
        }
        free(l);
        free(p);
        assert_int_equal(responder_list_pinned("/sys/fs/bpf/l2lb-test-no-such-root", &p, &np),
                         -ENOENT);
}

static void test_reconcile(void **state)
{
        uint64_t alive = responder_now_ns() + 3600 * SEC_NS;
        struct ipaddr a = tip("192.0.2.1"), b = tip("192.0.2.10"), c = tip("2001:db8::3"),
                      d = tip("2001:db8::4");
        struct responder_want want[] = {
            {.ip = b, .ifindex = 0, .deadline_ns = alive + 5},
            {.ip = d, .ifindex = 0, .deadline_ns = alive + 6},
        };
        struct responder_entry *l = NULL, e;
        size_t n = 0;

        (void)state;
        want[0].ifindex = F.if0;
        want[1].ifindex = F.if1;
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, alive), 0);
        assert_int_equal(responder_entry_set(F.r, &b, F.if0, alive), 0);
        assert_int_equal(responder_entry_set(F.r, &c, F.if1, alive), 0);
        answer_arp(2); /* b's counters must survive */

        /* a and c are stale, d is missing, b stays */
        assert_int_equal(responder_reconcile(F.r, want, 2), 3);
        assert_int_equal(responder_list(F.r, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_true(ipaddr_equal(&l[0].ip, &b));
        assert_true(ipaddr_equal(&l[1].ip, &d));
        free(l);
        assert_int_equal(responder_entry_get(F.r, &b, F.if0, &e), 0);
        assert_true(e.requests == 2 && e.replies == 2);
        assert_true(e.deadline_ns == alive + 5);
        assert_int_equal(responder_mcast_refs(F.r, &c, F.if1), 0);
        assert_int_equal(responder_mcast_refs(F.r, &d, F.if1), 1);

        /* already in sync: nothing to do */
        assert_int_equal(responder_reconcile(F.r, want, 2), 0);
        /* a new deadline is written although nothing is created */
        want[0].deadline_ns = alive + 7;
        assert_int_equal(responder_reconcile(F.r, want, 2), 0);
        assert_int_equal(responder_entry_get(F.r, &b, F.if0, &e), 0);
        assert_true(e.deadline_ns == alive + 7);
        assert_true(e.requests == 2);
        /* another writer: the next reconcile reads the map, not its memory */
        assert_int_equal(responder_entry_delete(F.r, &b, F.if0), 0);
        assert_int_equal(responder_reconcile(F.r, want, 2), 1);
        assert_int_equal(responder_entry_get(F.r, &b, F.if0, &e), 0);
        assert_true(e.deadline_ns == alive + 7);
        /* empty desired state removes everything */
        assert_int_equal(responder_reconcile(F.r, NULL, 0), 2);
        assert_int_equal(responder_list(F.r, &l, &n), 0);
        assert_int_equal(n, 0);
        free(l);
        assert_int_equal(responder_mcast_refs(F.r, &d, F.if1), 0);
}

static bool maddr_has(const char *dev, const char *mac)
{
        char *out = tsh_output("ip maddr show dev %s", dev);
        bool found = out && strstr(out, mac);

        free(out);
        return found;
}

static void test_mcast_refcount(void **state)
{
        struct ipaddr a = tip("2001:db8::10"), b = tip("2001:db8:1::10"), c = tip("2001:db8::11");
        uint64_t alive = responder_now_ns() + 3600 * SEC_NS;

        (void)state;
        assert_false(maddr_has("l2r0", "33:33:ff:00:00:10"));
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, alive), 0);
        assert_true(maddr_has("l2r0", "33:33:ff:00:00:10"));
        /* the same low 24 bits: the same group, one more reference */
        assert_int_equal(responder_entry_set(F.r, &b, F.if0, alive), 0);
        assert_int_equal(responder_mcast_refs(F.r, &a, F.if0), 2);
        /* deadline refreshes take no reference */
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, alive + 1), 0);
        assert_int_equal(responder_mcast_refs(F.r, &a, F.if0), 2);
        assert_int_equal(responder_entry_set(F.r, &c, F.if0, alive), 0);
        assert_true(maddr_has("l2r0", "33:33:ff:00:00:11"));
        /* IPv4 entries join nothing */
        {
                struct ipaddr v4 = tip("192.0.2.10");

                assert_int_equal(responder_entry_set(F.r, &v4, F.if0, alive), 0);
                assert_int_equal(responder_mcast_refs(F.r, &v4, F.if0), 0);
        }

        assert_int_equal(responder_entry_delete(F.r, &a, F.if0), 0);
        assert_int_equal(responder_mcast_refs(F.r, &b, F.if0), 1);
        assert_true(maddr_has("l2r0", "33:33:ff:00:00:10")); /* b still needs it */
        assert_int_equal(responder_entry_delete(F.r, &b, F.if0), 0);
        assert_false(maddr_has("l2r0", "33:33:ff:00:00:10"));
        assert_true(maddr_has("l2r0", "33:33:ff:00:00:11"));
        assert_int_equal(clear_entries(), 2);
        assert_false(maddr_has("l2r0", "33:33:ff:00:00:11"));
}

static void test_restart_keeps_state(void **state)
{
        struct ipaddr a = tip("192.0.2.10"), v6 = tip("2001:db8::10");
        uint64_t alive = responder_now_ns() + 3600 * SEC_NS;
        struct responder_entry e;

        (void)state;
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, alive), 0);
        assert_int_equal(responder_entry_set(F.r, &v6, F.if0, alive), 0);
        answer_arp(4);

        /* the agent exits and starts again on the same bpf root */
        responder_close(F.r);
        F.r = NULL;
        assert_int_equal(responder_open(F.root, &F.r), 0);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_true(e.deadline_ns == alive);
        assert_true(e.requests == 4 && e.replies == 4);
        /* the interface record survived too: the new program answers at once */
        answer_arp(1);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_true(e.replies == 5);
        /* group references are rebuilt from the entries */
        assert_int_equal(responder_mcast_refs(F.r, &v6, F.if0), 1);
        assert_int_equal(responder_entry_delete(F.r, &v6, F.if0), 0);
        assert_false(maddr_has("l2r0", "33:33:ff:00:00:10"));
}

static void test_roots_isolated(void **state)
{
        struct ipaddr a = tip("192.0.2.10");
        struct responder *other = NULL;
        struct responder_entry e, *l = NULL;
        char root[300];
        size_t n;

        (void)state;
        snprintf(root, sizeof(root), "%s-other", F.root);
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, 42), 0);
        assert_int_equal(responder_open(root, &other), 0);
        assert_int_equal(responder_entry_get(other, &a, F.if0, &e), -ENOENT);
        assert_int_equal(responder_entry_set(other, &a, F.if0, 43), 0);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_true(e.deadline_ns == 42);
        assert_int_equal(responder_list(other, &l, &n), 0);
        assert_int_equal(n, 1);
        free(l);
        assert_int_equal(responder_unpin(other), 0);
        responder_close(other);
        assert_int_equal(access(root, F_OK), -1);
}

static void test_attach_idempotent(void **state)
{
        uint32_t id1 = 0, id2 = 0;

        (void)state;
        assert_int_equal(responder_is_attached(F.r, F.if0, NULL), 0);
        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_GENERIC), 0);
        assert_int_equal(responder_is_attached(F.r, F.if0, &id1), 1);
        assert_true(id1 != 0);
        /* again, and with another mode: the running program stays */
        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_GENERIC), 0);
        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_NATIVE), 0);
        assert_int_equal(responder_is_attached(F.r, F.if0, &id2), 1);
        assert_int_equal(id1, id2);
        assert_int_equal(responder_detach(F.r, F.if0), 0);
        assert_int_equal(responder_is_attached(F.r, F.if0, NULL), 0);
        assert_int_equal(responder_detach(F.r, F.if0), 0);
        /* a restarted agent attaches natively */
        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_NATIVE), 0);
        assert_int_equal(responder_is_attached(F.r, F.if0, &id1), 1);
        assert_int_equal(responder_detach(F.r, F.if0), 0);
        assert_int_equal(responder_attach(F.r, 999999, RESPONDER_XDP_NATIVE), -ENODEV);
}

static void test_attach_refuses_foreign(void **state)
{
        int fd;

        (void)state;
        fd = txdp_attach_pass(F.if1);
        assert_true(fd >= 0);
        assert_int_equal(responder_attach(F.r, F.if1, RESPONDER_XDP_NATIVE), -EBUSY);
        assert_int_equal(responder_is_attached(F.r, F.if1, NULL), 0);
        /* detaching ours leaves the foreign program alone */
        assert_int_equal(responder_detach(F.r, F.if1), 0);
        {
                uint32_t id = 0;

                assert_int_equal(bpf_xdp_query_id(F.if1, 0, &id), 0);
                assert_true(id != 0);
        }
        assert_int_equal(bpf_xdp_detach(F.if1, XDP_FLAGS_DRV_MODE, NULL), 0);
        close(fd);
}

/* Attaches (driver mode) a program named name that passes everything and
 * references map_fd, as a responder using that map would; returns its fd. */
static int attach_pass_using_map(int ifindex, int map_fd, const char *name)
{
        struct bpf_insn insns[] = {
            /* r1 = &map (keeps the map referenced), r0 = XDP_PASS */
            {.code = BPF_LD | BPF_DW | BPF_IMM,
             .dst_reg = BPF_REG_1,
             .src_reg = BPF_PSEUDO_MAP_FD,
             .imm = map_fd},
            {0},
            {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
            {.code = BPF_JMP | BPF_EXIT},
        };
        int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name, "GPL", insns, 4, NULL);

        assert_true(fd >= 0);
        assert_int_equal(bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL), 0);
        return fd;
}

/* A program that uses our maps but has other code stands for the responder
 * of another l2lb build left attached by the previous agent: attach must
 * replace it in one step. */
static void test_attach_replaces_older_build(void **state)
{
        char pin[300];
        uint32_t old_id = 0, new_id = 0;
        int map_fd, prog_fd;

        (void)state;
        snprintf(pin, sizeof(pin), "%s/%s", F.root, L2RESP_PIN_ENTRIES);
        map_fd = bpf_obj_get(pin);
        assert_true(map_fd >= 0);
        prog_fd = attach_pass_using_map(F.if1, map_fd, "l2lb_old");
        /* attached by netlink, not through a link of ours */
        assert_int_equal(responder_is_attached(F.r, F.if1, NULL), 0);
        assert_int_equal(bpf_xdp_query_id(F.if1, XDP_FLAGS_DRV_MODE, &old_id), 0);

        assert_int_equal(responder_attach(F.r, F.if1, RESPONDER_XDP_NATIVE), 0);
        assert_int_equal(responder_is_attached(F.r, F.if1, &new_id), 1);
        assert_true(new_id != old_id);
        assert_int_equal(responder_detach(F.r, F.if1), 0);
        assert_int_equal(responder_is_attached(F.r, F.if1, NULL), 0);
        close(prog_fd);
        close(map_fd);
}

/* The responder of a build with an earlier map layout (its entries map
 * pinned in our root under an older name) is ours to replace, not foreign. */
static void test_attach_replaces_older_layout(void **state)
{
        char pin[300];
        uint32_t old_id = 0, new_id = 0;
        int map_fd, prog_fd;

        (void)state;
        snprintf(pin, sizeof(pin), "%s/l2_entries_v1", F.root);
        map_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "l2_entries", 24, 24, 16, NULL);
        assert_true(map_fd >= 0);
        assert_int_equal(bpf_obj_pin(map_fd, pin), 0);
        prog_fd = attach_pass_using_map(F.if1, map_fd, "l2lb_v1");
        assert_int_equal(bpf_xdp_query_id(F.if1, XDP_FLAGS_DRV_MODE, &old_id), 0);

        /* the agent of the new build starts */
        responder_close(F.r);
        F.r = NULL;
        assert_int_equal(responder_open(F.root, &F.r), 0);
        assert_int_equal(responder_attach(F.r, F.if1, RESPONDER_XDP_NATIVE), 0);
        assert_int_equal(responder_is_attached(F.r, F.if1, &new_id), 1);
        assert_true(new_id != old_id);
        assert_int_equal(responder_detach(F.r, F.if1), 0);
        assert_int_equal(unlink(pin), 0);
        close(prog_fd);
        close(map_fd);
}

/* A responder in the bpf root F.root + suffix, attached to if0 (generic);
 * *id receives its program's id. */
static struct responder *attached_in_root(const char *suffix, uint32_t *id)
{
        struct responder *r = NULL;
        char root[300];

        snprintf(root, sizeof(root), "%s%s", F.root, suffix);
        assert_int_equal(responder_open(root, &r), 0);
        assert_int_equal(responder_attach(r, F.if0, RESPONDER_XDP_GENERIC), 0);
        assert_int_equal(responder_is_attached(r, F.if0, id), 1);
        return r;
}

/* A second agent on the same device with another bpf root: it must refuse
 * the device, and the first agent's responder stays (they used to replace
 * each other's program). */
static void test_attach_refuses_other_root(void **state)
{
        uint32_t id = 0, id_after = 0;
        struct responder *other;

        (void)state;
        other = attached_in_root("-other", &id);
        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_GENERIC), -EBUSY);
        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_NATIVE), -EBUSY);
        assert_int_equal(responder_is_attached(F.r, F.if0, NULL), 0);
        assert_int_equal(responder_detach(F.r, F.if0), 0);
        assert_int_equal(responder_is_attached(other, F.if0, &id_after), 1);
        assert_int_equal(id, id_after);
        assert_int_equal(responder_detach(other, F.if0), 0);
        assert_int_equal(responder_unpin(other), 0);
        responder_close(other);
}

/* The agent of a link-based build that differs from ours left its link
 * pinned: the new agent swaps the program inside the same link (atomic; the
 * device is never without a responder) and pins its program. */
static void link_of_other_build(bool libbpf_like)
{
        LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = XDP_FLAGS_SKB_MODE);
        /* as libbpf loads SEC("xdp") programs, the responder's included */
        LIBBPF_OPTS(bpf_prog_load_opts, lopts, .expected_attach_type = BPF_XDP);
        char dir[300], lpin[320], ppin[320];
        struct bpf_link_info info = {};
        uint32_t len = sizeof(info), new_id = 0, old_id;
        int prog_fd, link_fd;

        if (!libbpf_like)
                lopts.expected_attach_type = 0;
        snprintf(dir, sizeof(dir), "%s/links", F.root);
        snprintf(lpin, sizeof(lpin), "%s/xdp-%d", dir, F.if0);
        snprintf(ppin, sizeof(ppin), "%s/xdp-%d-prog", dir, F.if0);
        prog_fd = bpf_prog_load(
            BPF_PROG_TYPE_XDP, "l2lb_responder", "GPL",
            (struct bpf_insn[]){
                {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
                {.code = BPF_JMP | BPF_EXIT},
            },
            2, &lopts);
        assert_true(prog_fd >= 0);
        link_fd = bpf_link_create(prog_fd, F.if0, BPF_XDP, &opts);
        assert_true(link_fd >= 0);
        assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
        assert_int_equal(bpf_obj_pin(link_fd, lpin), 0);
        assert_int_equal(bpf_obj_pin(prog_fd, ppin), 0);
        assert_int_equal(responder_is_attached(F.r, F.if0, &old_id), 1);
        close(prog_fd);

        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_GENERIC), 0);
        assert_int_equal(responder_is_attached(F.r, F.if0, &new_id), 1);
        assert_true(new_id != old_id);
        /* the same link, now running this build, or (when the kernel does
         * not swap programs of different attach types) a new link */
        assert_int_equal(bpf_obj_get_info_by_fd(link_fd, &info, &len), 0);
        if (libbpf_like)
                assert_int_equal(info.prog_id, new_id);
        else
                assert_int_equal(info.xdp.ifindex, 0);
        assert_int_equal(bpf_xdp_query_id(F.if0, XDP_FLAGS_SKB_MODE, &old_id), 0);
        assert_int_equal(old_id, new_id);
        /* and a restart keeps it */
        responder_close(F.r);
        F.r = NULL;
        assert_int_equal(responder_open(F.root, &F.r), 0);
        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_GENERIC), 0);
        assert_int_equal(responder_is_attached(F.r, F.if0, &old_id), 1);
        assert_int_equal(old_id, new_id);
        assert_int_equal(responder_detach(F.r, F.if0), 0);
        assert_int_equal(bpf_xdp_query_id(F.if0, XDP_FLAGS_SKB_MODE, &old_id), 0);
        assert_int_equal(old_id, 0);
        close(link_fd);
}

static void test_attach_updates_link_of_other_build(void **state)
{
        (void)state;
        link_of_other_build(true);
        link_of_other_build(false);
}

/* Runs in a child without CAP_SYS_ADMIN (as the agent runs): opens the
 * fixture's root, attaches to if1; returns 0, or 1 for -EBUSY, 2 otherwise. */
static int attach_without_sys_admin(void)
{
        pid_t pid = fork();
        int status = 0;

        assert_true(pid >= 0);
        if (pid == 0) {
                struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
                struct __user_cap_data_struct d[2] = {};
                struct responder *r = NULL;
                int err;

                if (syscall(SYS_capget, &h, d) < 0)
                        _exit(3);
                d[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
                d[CAP_SYS_ADMIN / 32].permitted &= ~(1U << (CAP_SYS_ADMIN % 32));
                if (syscall(SYS_capset, &h, d) < 0 || bpf_prog_get_fd_by_id(1) >= 0 ||
                    errno != EPERM)
                        _exit(3);
                if (responder_open(F.root, &r) < 0)
                        _exit(4);
                err = responder_attach(r, F.if1, RESPONDER_XDP_NATIVE);
                responder_close(r);
                _exit(err == 0 ? 0 : err == -EBUSY ? 1 : 2);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* Without CAP_SYS_ADMIN the program an agent of a build before links left
 * attached by netlink cannot be opened by id: it is replaced when our root
 * held pins before and no link of ours was ever pinned there (the first
 * start after the upgrade), and refused otherwise. */
static void test_upgrade_from_netlink_without_sys_admin(void **state)
{
        char pin[300], dir[300];
        uint32_t old_id = 0, new_id = 0;
        int map_fd, prog_fd;

        (void)state;
        snprintf(pin, sizeof(pin), "%s/%s", F.root, L2RESP_PIN_ENTRIES);
        snprintf(dir, sizeof(dir), "%s/links", F.root);
        map_fd = bpf_obj_get(pin);
        assert_true(map_fd >= 0);
        prog_fd = attach_pass_using_map(F.if1, map_fd, "l2lb_old");
        assert_int_equal(bpf_xdp_query_id(F.if1, XDP_FLAGS_DRV_MODE, &old_id), 0);
        /* a link of ours was pinned in this root before: not an upgrade */
        assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
        assert_int_equal(attach_without_sys_admin(), 1);
        assert_int_equal(bpf_xdp_query_id(F.if1, XDP_FLAGS_DRV_MODE, &new_id), 0);
        assert_int_equal(new_id, old_id);
        /* the first start of this build on the root, but the program is
         * libxdp's dispatcher (by its pinned state), which may run others' */
        assert_int_equal(rmdir(dir), 0);
        {
                bool made_xdp = mkdir("/sys/fs/bpf/xdp", 0700) == 0;
                char disp[100];

                snprintf(disp, sizeof(disp), "/sys/fs/bpf/xdp/dispatch-%d-%u", F.if1, old_id);
                assert_int_equal(mkdir(disp, 0700), 0);
                assert_int_equal(attach_without_sys_admin(), 1);
                assert_int_equal(rmdir(disp), 0);
                if (made_xdp)
                        assert_int_equal(rmdir("/sys/fs/bpf/xdp"), 0);
        }
        /* the old build's responder */
        assert_int_equal(attach_without_sys_admin(), 0);
        assert_int_equal(responder_is_attached(F.r, F.if1, &new_id), 1);
        assert_true(new_id != old_id);
        assert_int_equal(responder_detach(F.r, F.if1), 0);
        close(prog_fd);
        close(map_fd);
}

/* An interface index comes back with a new device: the pin of the old
 * device's link (defunct since the device went) is stale and replaced. */
static void test_attach_after_ifindex_reuse(void **state)
{
        uint32_t id = 0;

        (void)state;
        assert_int_equal(tsh("ip link add l2rx index 4242 type veth peer name l2rxp && "
                             "ip link set l2rx up"),
                         0);
        assert_int_equal(responder_attach(F.r, 4242, RESPONDER_XDP_GENERIC), 0);
        assert_int_equal(tsh("ip link del l2rx"), 0);
        assert_int_equal(responder_is_attached(F.r, 4242, NULL), 0);
        assert_int_equal(tsh("ip link add l2ry index 4242 type veth peer name l2ryp && "
                             "ip link set l2ry up"),
                         0);
        assert_int_equal(responder_is_attached(F.r, 4242, NULL), 0);
        assert_int_equal(responder_attach(F.r, 4242, RESPONDER_XDP_GENERIC), 0);
        assert_int_equal(responder_is_attached(F.r, 4242, &id), 1);
        assert_true(id != 0);
        assert_int_equal(responder_detach(F.r, 4242), 0);
        assert_int_equal(tsh("ip link del l2ry"), 0);
}

static void test_mac_follows_interface(void **state)
{
        static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a},
                             mac_c[6] = {0x02, 0, 0, 0, 0, 0x0c};
        struct ipaddr a = tip("192.0.2.10");
        struct responder_entry e;

        (void)state;
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, 1), 0);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_memory_equal(e.mac, mac_a, 6);
        /* the interface's MAC changes; attaching again brings the entries along */
        assert_int_equal(tsh("ip link set l2r0 address 02:00:00:00:00:0c"), 0);
        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_GENERIC), 0);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_memory_equal(e.mac, mac_c, 6);
        assert_int_equal(responder_detach(F.r, F.if0), 0);
        assert_int_equal(tsh("ip link set l2r0 address 02:00:00:00:00:0a"), 0);
        assert_int_equal(responder_entry_set(F.r, &a, F.if0, 2), 0);
        assert_int_equal(responder_entry_get(F.r, &a, F.if0, &e), 0);
        assert_memory_equal(e.mac, mac_a, 6);
        /* entries need an Ethernet interface to take the MAC from */
        assert_int_equal(responder_entry_set(F.r, &a, 999999, 1), -ENODEV);
}

/* An agent whose pins were lost (bpffs not kept, root removed): its link
 * went with them, so the device is free again for the next agent instead of
 * refused for ever. */
static void test_attach_replaces_orphan(void **state)
{
        uint32_t old_id = 0, new_id = 0;
        struct responder *orphan;

        (void)state;
        orphan = attached_in_root("-orphan", &old_id);
        assert_int_equal(responder_unpin(orphan), 0);
        responder_close(orphan);
        /* the fixture's responder (another root) takes the device over */
        assert_int_equal(responder_attach(F.r, F.if0, RESPONDER_XDP_GENERIC), 0);
        assert_int_equal(responder_is_attached(F.r, F.if0, &new_id), 1);
        assert_true(new_id != old_id);
        assert_int_equal(responder_detach(F.r, F.if0), 0);
        assert_int_equal(responder_is_attached(F.r, F.if0, NULL), 0);
}

static void test_unpin(void **state)
{
        struct responder_entry *l = NULL;
        struct responder *r2 = NULL;
        char root[300];
        size_t n;

        (void)state;
        snprintf(root, sizeof(root), "%s-unpin", F.root);
        assert_int_equal(responder_open(root, &r2), 0);
        assert_int_equal(responder_list_pinned(root, &l, &n), 0);
        free(l);
        assert_int_equal(responder_unpin(r2), 0);
        assert_int_equal(responder_list_pinned(root, &l, &n), -ENOENT);
        responder_close(r2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_deadline_helpers),
            cmocka_unit_test(test_deadline_boottime),
            cmocka_unit_test_setup(test_entry_crud, each_setup),
            cmocka_unit_test_setup(test_counters_survive_deadline_updates, each_setup),
            cmocka_unit_test_setup(test_list_sorted, each_setup),
            cmocka_unit_test_setup(test_reconcile, each_setup),
            cmocka_unit_test_setup(test_mcast_refcount, each_setup),
            cmocka_unit_test_setup(test_restart_keeps_state, each_setup),
            cmocka_unit_test_setup(test_roots_isolated, each_setup),
            cmocka_unit_test_setup(test_attach_idempotent, each_setup),
            cmocka_unit_test_setup(test_attach_refuses_foreign, each_setup),
            cmocka_unit_test_setup(test_attach_replaces_older_build, each_setup),
            cmocka_unit_test_setup(test_attach_replaces_older_layout, each_setup),
            cmocka_unit_test_setup(test_mac_follows_interface, each_setup),
            cmocka_unit_test_setup(test_attach_replaces_orphan, each_setup),
            cmocka_unit_test_setup(test_attach_refuses_other_root, each_setup),
            cmocka_unit_test_setup(test_attach_updates_link_of_other_build, each_setup),
            cmocka_unit_test_setup(test_attach_after_ifindex_reuse, each_setup),
            cmocka_unit_test_setup(test_upgrade_from_netlink_without_sys_admin, each_setup),
            cmocka_unit_test(test_unpin),
        };

        if (!tbpf_usable())
                return 77;
        tcleanup_at_exit(cleanup);
        return cmocka_run_group_tests(tests, setup, teardown);
}
