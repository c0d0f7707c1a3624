/* l2lb doctor: each check over a table of facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cli/doctor-check.h"

static const char *const none[] = {NULL};
static const char *const l2lb[] = {"l2lb_responder", NULL};
static const char *const l2lb_other[] = {"l2lb_responder_", "xdp_firewall", NULL};

/* Healthy facts, with one device d. */
static struct doctor_facts healthy(const struct doctor_device *d)
{
        return (struct doctor_facts){
            .bpf_root = "/sys/fs/bpf/l2lb",
            .bpffs = true,
            .bpf_root_present = true,
            .arp_ignore = 0,
            .arp_announce = 0,
            .rp_filter_all = 0,
            .devs = d,
            .n_devs = d ? 1 : 0,
            .clock_synced = 1,
        };
}

/* The result of check on device/not, or NULL. */
static const struct doctor_result *find(const struct doctor_result *r, size_t n, const char *check)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(r[i].check, check) == 0)
                        return &r[i];
        return NULL;
}

struct row {
        const char *what;
        void (*mutate)(struct doctor_facts *f, struct doctor_device *d);
        const char *check;
        enum doctor_level level; /* -1: the check gives no result */
        const char *needle;      /* in the message */
};

static void m_none(struct doctor_facts *f, struct doctor_device *d)
{
        (void)f, (void)d;
}
static void m_no_bpffs(struct doctor_facts *f, struct doctor_device *d)
{
        (void)d, f->bpffs = false;
}
static void m_no_root(struct doctor_facts *f, struct doctor_device *d)
{
        (void)d, f->bpf_root_present = false;
}
static void m_ipvs(struct doctor_facts *f, struct doctor_device *d)
{
        (void)d, f->ipvs = true;
}
static void m_ipvs_strict(struct doctor_facts *f, struct doctor_device *d)
{
        (void)d;
        f->ipvs = true;
        f->arp_ignore = 1;
        f->arp_announce = 2;
}
static void m_ipvs_half(struct doctor_facts *f, struct doctor_device *d)
{
        (void)d;
        f->ipvs = true;
        f->arp_ignore = 1;
}
static void m_rp_dev(struct doctor_facts *f, struct doctor_device *d)
{
        (void)f, d->rp_filter = 1;
}
static void m_rp_all(struct doctor_facts *f, struct doctor_device *d)
{
        (void)d, f->rp_filter_all = 1;
}
static void m_rp_loose(struct doctor_facts *f, struct doctor_device *d)
{
        f->rp_filter_all = 1;
        d->rp_filter = 2; /* the maximum wins: loose */
}
static void m_veth_bare(struct doctor_facts *f, struct doctor_device *d)
{
        (void)f;
        d->peer = DOCTOR_PEER_HERE;
        d->peer_name = "peer0";
}
static void m_veth_ok(struct doctor_facts *f, struct doctor_device *d)
{
        m_veth_bare(f, d);
        d->peer_xdp = true;
}
static void m_veth_generic(struct doctor_facts *f, struct doctor_device *d)
{
        m_veth_bare(f, d);
        d->xdp_mode = DOCTOR_XDP_GENERIC;
}
static void m_veth_away(struct doctor_facts *f, struct doctor_device *d)
{
        (void)f;
        d->peer = DOCTOR_PEER_ELSEWHERE;
}
static void m_other_prog(struct doctor_facts *f, struct doctor_device *d)
{
        (void)f, d->xdp_progs = l2lb_other;
}
static void m_no_prog(struct doctor_facts *f, struct doctor_device *d)
{
        (void)f, d->xdp_progs = none;
}
static void m_xdp_unknown(struct doctor_facts *f, struct doctor_device *d)
{
        (void)f, d->xdp_known = false;
}
static void m_unsynced(struct doctor_facts *f, struct doctor_device *d)
{
        (void)d, f->clock_synced = 0;
}
static void m_no_devs(struct doctor_facts *f, struct doctor_device *d)
{
        (void)d, f->n_devs = 0;
}

static const struct row rows[] = {
    {"healthy bpffs", m_none, "bpffs", DOCTOR_OK, NULL},
    {"no bpffs", m_no_bpffs, "bpffs", DOCTOR_FAIL, "mount -t bpf"},
    {"no bpf root", m_no_root, "bpffs", DOCTOR_WARN, "/sys/fs/bpf/l2lb does not exist"},
    {"no ipvs", m_none, "ipvs", DOCTOR_OK, NULL},
    {"ipvs without strictARP", m_ipvs, "ipvs", DOCTOR_WARN, "strictARP: true"},
    {"ipvs half strict", m_ipvs_half, "ipvs", DOCTOR_WARN, "arp_announce=0"},
    {"ipvs strict", m_ipvs_strict, "ipvs", DOCTOR_OK, NULL},
    {"rp_filter off", m_none, "rp-filter", DOCTOR_OK, NULL},
    {"rp_filter strict on dev", m_rp_dev, "rp-filter", DOCTOR_WARN, "rp_filter=2"},
    {"rp_filter strict on all", m_rp_all, "rp-filter", DOCTOR_WARN, "ARP/NDP replies are not"},
    {"rp_filter loose wins", m_rp_loose, "rp-filter", DOCTOR_OK, "rp_filter=2"},
    {"not a veth", m_none, "veth-peer", (enum doctor_level) - 1, NULL},
    {"veth peer without XDP", m_veth_bare, "veth-peer", DOCTOR_FAIL, "peer0 has no XDP"},
    {"veth peer with XDP", m_veth_ok, "veth-peer", DOCTOR_OK, NULL},
    {"veth generic mode", m_veth_generic, "veth-peer", (enum doctor_level) - 1, NULL},
    {"veth peer elsewhere", m_veth_away, "veth-peer", DOCTOR_SKIP, "cannot check"},
    {"only l2lb's program", m_none, "xdp-programs", DOCTOR_OK, "only l2lb"},
    {"another program", m_other_prog, "xdp-programs", DOCTOR_WARN, "xdp_firewall"},
    {"no program", m_no_prog, "xdp-programs", DOCTOR_OK, "no XDP program"},
    {"programs unknown", m_xdp_unknown, "xdp-programs", DOCTOR_SKIP, NULL},
    {"clock synced", m_none, "clock", DOCTOR_OK, NULL},
    {"clock unsynced", m_unsynced, "clock", DOCTOR_WARN, "monotonic"},
    {"no devices", m_no_devs, "devices", DOCTOR_WARN, "no announcing device"},
};

static void test_table(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                struct doctor_device d = {
                    .name = "eth1",
                    .rp_filter = 0,
                    .xdp_known = true,
                    .xdp_mode = DOCTOR_XDP_NATIVE,
                    .xdp_progs = l2lb,
                };
                struct doctor_facts f = healthy(&d);
                struct doctor_result *r = NULL;
                const struct doctor_result *got;
                size_t n = 0;

                rows[i].mutate(&f, &d);
                doctor_run(&f, &r, &n);
                got = find(r, n, rows[i].check);
                print_message("%s\n", rows[i].what);
                if ((int)rows[i].level == -1)
                        assert_null(got);
                else {
                        assert_non_null(got);
                        assert_int_equal(got->level, rows[i].level);
                        if (rows[i].needle)
                                assert_non_null(strstr(got->message, rows[i].needle));
                }
                doctor_results_free(r, n);
        }
}

static void test_names(void **state)
{
        (void)state;
        assert_true(doctor_prog_is_l2lb("l2lb_responder"));
        assert_true(doctor_prog_is_l2lb("l2lb_responder_")); /* the kernel's 15 characters */
        assert_false(doctor_prog_is_l2lb("xdp_pass"));
        assert_false(doctor_prog_is_l2lb(NULL));
        assert_string_equal(doctor_level_name(DOCTOR_WARN), "WARN");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_table),
            cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
