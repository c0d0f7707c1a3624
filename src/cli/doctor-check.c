/* The doctor's checks. Each says what it found, what breaks because of it,
 * and what to change. */
#include "doctor-check.h"

#include <glib.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

struct results {
        struct doctor_result *r;
        size_t n;
};

_printf_(4, 5) static void add(struct results *rs, enum doctor_level level, const char *check,
                               const char *fmt, ...)
{
        va_list ap;

        rs->r = xreallocarray(rs->r, rs->n + 1, sizeof(*rs->r));
        rs->r[rs->n].level = level;
        rs->r[rs->n].check = check;
        va_start(ap, fmt);
        rs->r[rs->n].message = xvasprintf(fmt, ap);
        va_end(ap);
        rs->n++;
}

const char *doctor_level_name(enum doctor_level l)
{
        switch (l) {
        case DOCTOR_OK:
                return "OK";
        case DOCTOR_SKIP:
                return "SKIP";
        case DOCTOR_WARN:
                return "WARN";
        case DOCTOR_FAIL:
        default:
                return "FAIL";
        }
}

bool doctor_prog_is_l2lb(const char *name)
{
        return name && startswith(name, "l2lb_responder");
}

static void check_bpffs(const struct doctor_facts *f, struct results *rs)
{
        if (!f->bpffs)
                add(rs, DOCTOR_FAIL, "bpffs",
                    "no bpf filesystem at /sys/fs/bpf: the agent cannot pin its maps and links; "
                    "mount one (mount -t bpf bpf /sys/fs/bpf, or mount /sys/fs/bpf into the "
                    "agent's pod)");
        else if (!f->bpf_root_present)
                add(rs, DOCTOR_WARN, "bpffs",
                    "%s does not exist: no l2lb agent has loaded the responder on this node "
                    "(is l2lb-agent running here? see its log; --bpf-root must match its "
                    "bpf-root)",
                    f->bpf_root);
        else
                add(rs, DOCTOR_OK, "bpffs", "bpffs mounted, %s present", f->bpf_root);
}

static void check_ipvs(const struct doctor_facts *f, struct results *rs)
{
        if (!f->ipvs)
                add(rs, DOCTOR_OK, "ipvs", "no kube-ipvs0 (kube-proxy is not in IPVS mode)");
        else if (f->arp_ignore < 0 || f->arp_announce < 0)
                add(rs, DOCTOR_SKIP, "ipvs",
                    "kube-ipvs0 exists but net.ipv4.conf.all.arp_ignore/arp_announce cannot be "
                    "read");
        else if (f->arp_ignore < 1 || f->arp_announce < 2)
                add(rs, DOCTOR_WARN, "ipvs",
                    "kube-ipvs0 holds every service IP and net.ipv4.conf.all.arp_ignore=%d "
                    "arp_announce=%d: the kernel of every node answers ARP for service IPs "
                    "beside the announcing node (clients see several MACs); set strictARP: true "
                    "in kube-proxy's IPVS configuration (it sets arp_ignore=1, arp_announce=2)",
                    f->arp_ignore, f->arp_announce);
        else
                add(rs, DOCTOR_OK, "ipvs",
                    "kube-ipvs0 exists with strict ARP (arp_ignore=%d, arp_announce=%d)",
                    f->arp_ignore, f->arp_announce);
}

static void check_rp_filter(const struct doctor_facts *f, const struct doctor_device *d,
                            struct results *rs)
{
        /* the kernel uses the larger of conf.all and conf.<dev> */
        int eff = MAX(f->rp_filter_all, d->rp_filter);

        if (f->rp_filter_all < 0 || d->rp_filter < 0)
                add(rs, DOCTOR_SKIP, "rp-filter", "%s: rp_filter cannot be read", d->name);
        else if (eff == 1)
                add(rs, DOCTOR_WARN, "rp-filter",
                    "%s: rp_filter is strict (1; all=%d, %s=%d). ARP/NDP replies are not affected "
                    "(XDP answers before the kernel), but the kernel drops service traffic "
                    "arriving on %s from clients whose route back leaves by another device "
                    "(announcing on a secondary interface); set net.ipv4.conf.%s.rp_filter=2 "
                    "(loose) and net.ipv4.conf.all.rp_filter to 0 or 2",
                    d->name, f->rp_filter_all, d->name, d->rp_filter, d->name, d->name);
        else
                add(rs, DOCTOR_OK, "rp-filter", "%s: rp_filter=%d", d->name, eff);
}

static bool has_l2lb(const struct doctor_device *d)
{
        for (size_t i = 0; d->xdp_progs && d->xdp_progs[i]; i++)
                if (doctor_prog_is_l2lb(d->xdp_progs[i]))
                        return true;
        return false;
}

static void check_veth_peer(const struct doctor_device *d, struct results *rs)
{
        if (d->peer == DOCTOR_PEER_NONE || !d->xdp_known || !has_l2lb(d) ||
            d->xdp_mode != DOCTOR_XDP_NATIVE)
                return; /* only native XDP on a veth transmits through the peer's XDP path */
        if (d->peer == DOCTOR_PEER_ELSEWHERE)
                add(rs, DOCTOR_SKIP, "veth-peer",
                    "%s: cannot check: its veth peer is in another network namespace. Native "
                    "XDP replies (XDP_TX) reach the peer only if the peer has an XDP program "
                    "(or GRO enabled, kernel >= 5.13); else set xdp-mode: generic",
                    d->name);
        else if (!d->peer_xdp)
                add(rs, DOCTOR_FAIL, "veth-peer",
                    "%s: the responder runs in native mode but the veth peer %s has no XDP "
                    "program: the kernel drops every reply (XDP_TX) on the way to %s; attach "
                    "an XDP program to %s (a pass-through one will do), enable GRO on it "
                    "(ethtool -K %s gro on, kernel >= 5.13), or set xdp-mode: generic",
                    d->name, d->peer_name, d->peer_name, d->peer_name, d->peer_name);
        else
                add(rs, DOCTOR_OK, "veth-peer", "%s: veth peer %s has an XDP program", d->name,
                    d->peer_name);
}

static void check_xdp_programs(const struct doctor_device *d, struct results *rs)
{
        g_autoptr(GString) others = g_string_new(NULL);

        if (!d->xdp_known) {
                add(rs, DOCTOR_SKIP, "xdp-programs",
                    "%s: cannot list XDP programs (needs root and a build with BPF)", d->name);
                return;
        }
        for (size_t i = 0; d->xdp_progs && d->xdp_progs[i]; i++)
                if (!doctor_prog_is_l2lb(d->xdp_progs[i]))
                        g_string_append_printf(others, "%s%s", others->len ? ", " : "",
                                               d->xdp_progs[i]);
        if (others->len)
                add(rs, DOCTOR_WARN, "xdp-programs",
                    "%s: XDP program(s) not l2lb's on it: %s. They see frames %s: one that "
                    "drops, redirects or answers ARP/NDP itself takes the requests from l2lb "
                    "(another announcer on the same IPs makes clients see several MACs); remove "
                    "it or make sure it passes ARP/NDP",
                    d->name, others->str,
                    has_l2lb(d)
                        ? "in another attach mode (a native program runs before a generic one)"
                        : "and l2lb's responder is not attached");
        else if (has_l2lb(d))
                add(rs, DOCTOR_OK, "xdp-programs", "%s: only l2lb's responder", d->name);
        else
                add(rs, DOCTOR_OK, "xdp-programs", "%s: no XDP program", d->name);
}

static void check_clock(const struct doctor_facts *f, struct results *rs)
{
        if (f->clock_synced < 0)
                add(rs, DOCTOR_SKIP, "clock", "cannot read the clock's synchronisation state");
        else if (!f->clock_synced)
                add(rs, DOCTOR_WARN, "clock",
                    "the system clock is not synchronised (adjtimex: STA_UNSYNC). l2lb decides "
                    "with the monotonic clock and times Leases from when it observes a change, "
                    "as client-go (Cilium) does, so announcements do not depend on it; but the "
                    "Lease times it writes (acquireTime, renewTime: wall-clock MicroTime) are "
                    "off, and so are ages in l2lb leases, kubectl and tools comparing renewTime "
                    "with their own clock; run an NTP client (chrony, systemd-timesyncd)");
        else
                add(rs, DOCTOR_OK, "clock", "the system clock is synchronised");
}

void doctor_run(const struct doctor_facts *f, struct doctor_result **ret, size_t *ret_n)
{
        struct results rs = {0};

        check_bpffs(f, &rs);
        check_ipvs(f, &rs);
        if (f->n_devs == 0)
                add(&rs, DOCTOR_WARN, "devices",
                    "no announcing device found (devices, or every Ethernet device): the agent "
                    "has nothing to answer on");
        for (size_t i = 0; i < f->n_devs; i++) {
                check_rp_filter(f, &f->devs[i], &rs);
                check_veth_peer(&f->devs[i], &rs);
                check_xdp_programs(&f->devs[i], &rs);
        }
        check_clock(f, &rs);
        *ret = rs.r;
        *ret_n = rs.n;
}

void doctor_results_free(struct doctor_result *r, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(r[i].message);
        free(r);
}
