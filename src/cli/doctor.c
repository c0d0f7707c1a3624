/* Gathering the doctor's facts from this node's network namespace: sysfs,
 * /proc/sys, libbpf (the XDP programs of a device), the responder's veth peer
 * query, adjtimex. */
#include "doctor.h"

#include <glib.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/timex.h>
#include <unistd.h>
#ifdef L2LB_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#endif

#ifdef L2LB_HAVE_BPF
#include "bpf/responder.h"
#endif
#include "cli/doctor-check.h"
#include "lib/util.h"

static bool is_ether(int fd, const char *name)
{
        struct ifreq ifr = {0};

        (void)snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        return ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 && ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
}

/* net.ipv4.conf.<dev>.<key> */
static int conf(const char *dev, const char *key)
{
        _cleanup_free_ char *path = xasprintf("/proc/sys/net/ipv4/conf/%s/%s", dev, key);

        return read_int_file(path);
}

struct xdp_info {
        bool known;
        enum doctor_xdp_mode mode;
        char **progs;
};

#ifdef L2LB_HAVE_BPF
/* The program's name (needs CAP_SYS_ADMIN to open it by id), else its id. */
static char *prog_name(uint32_t id)
{
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info);
        int fd = bpf_prog_get_fd_by_id(id);
        char *name = NULL;

        if (fd >= 0) {
                if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.name[0])
                        name = xstrdup(info.name);
                (void)close(fd);
        }
        return name ? name : xasprintf("id %u", id);
}
#endif

static void xdp_query(int ifindex, struct xdp_info *x)
{
        *x = (struct xdp_info){0};
#ifdef L2LB_HAVE_BPF
        LIBBPF_OPTS(bpf_xdp_query_opts, q);
        uint32_t ids[3];
        size_t n = 0;

        if (bpf_xdp_query(ifindex, 0, &q) < 0)
                return; /* unknown */
        x->known = true;
        switch (q.attach_mode) {
        case XDP_ATTACHED_NONE:
                return;
        case XDP_ATTACHED_DRV:
                x->mode = DOCTOR_XDP_NATIVE;
                ids[n++] = q.prog_id;
                break;
        case XDP_ATTACHED_SKB:
                x->mode = DOCTOR_XDP_GENERIC;
                ids[n++] = q.prog_id;
                break;
        default: /* offloaded, or several modes at once */
                x->mode = DOCTOR_XDP_OTHER;
                if (q.drv_prog_id)
                        ids[n++] = q.drv_prog_id;
                if (q.skb_prog_id)
                        ids[n++] = q.skb_prog_id;
                if (q.hw_prog_id)
                        ids[n++] = q.hw_prog_id;
                break;
        }
        x->progs = xcalloc(n + 1, sizeof(*x->progs));
        for (size_t i = 0; i < n; i++)
                x->progs[i] = prog_name(ids[i]);
#else
        (void)ifindex;
#endif
}

struct gathered {
        struct doctor_facts f;
        struct doctor_device *devs;
        char **names, **peers;
        struct xdp_info *xdp;
        size_t n;
};

static void gather_device(struct gathered *g, const char *name)
{
        struct doctor_device *d;
        struct xdp_info *x;
        int ifindex = (int)if_nametoindex(name);
#ifdef L2LB_HAVE_BPF
        enum responder_veth_peer kind;
        char pname[IF_NAMESIZE];
        int peer;
#endif

        if (ifindex == 0)
                return; /* named in devices but absent here */
        g->devs = xreallocarray(g->devs, g->n + 1, sizeof(*g->devs));
        g->names = xreallocarray(g->names, g->n + 1, sizeof(char *));
        g->peers = xreallocarray(g->peers, g->n + 1, sizeof(char *));
        g->xdp = xreallocarray(g->xdp, g->n + 1, sizeof(*g->xdp));
        d = &g->devs[g->n];
        x = &g->xdp[g->n];
        *d = (struct doctor_device){0};
        g->names[g->n] = xstrdup(name);
        g->peers[g->n] = NULL;
        d->name = g->names[g->n];
        d->rp_filter = conf(name, "rp_filter");
        xdp_query(ifindex, x);
        d->xdp_known = x->known;
        d->xdp_mode = x->mode;
        d->xdp_progs = (const char *const *)x->progs;
#ifdef L2LB_HAVE_BPF
        /* the agent's own finding (xdp-mode auto): where the veth peer is, and
         * whether it runs a native XDP program */
        kind = responder_veth_peer(ifindex, name, &peer);
        if (kind == RESPONDER_PEER_XDP || kind == RESPONDER_PEER_NO_XDP) {
                if (peer > 0 && if_indextoname((unsigned)peer, pname)) {
                        d->peer = DOCTOR_PEER_HERE;
                        g->peers[g->n] = xstrdup(pname);
                        d->peer_name = g->peers[g->n];
                        d->peer_xdp = kind == RESPONDER_PEER_XDP;
                } else
                        d->peer = DOCTOR_PEER_ELSEWHERE;
        } else if (kind != RESPONDER_PEER_NOT_VETH)
                d->peer = DOCTOR_PEER_ELSEWHERE; /* another network namespace, or unknown */
#endif
        g->n++;
}

static void gather(const struct l2lb_config *cfg, struct gathered *g)
{
        struct doctor_facts *f = &g->f;
        struct statfs sfs;
        struct timex tx = {0};
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        f->bpf_root = cfg->bpf_root;
        f->bpffs = statfs("/sys/fs/bpf", &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC;
        f->bpf_root_present = access(cfg->bpf_root, F_OK) == 0;
        f->ipvs = if_nametoindex("kube-ipvs0") > 0;
        f->arp_ignore = conf("all", "arp_ignore");
        f->arp_announce = conf("all", "arp_announce");
        f->rp_filter_all = conf("all", "rp_filter");
        if (cfg->devices && cfg->devices[0])
                for (size_t i = 0; cfg->devices[i]; i++)
                        gather_device(g, cfg->devices[i]);
        else {
                /* the agent's default: every Ethernet device (kube-ipvs0 is a dummy) */
                struct if_nameindex *ifs = if_nameindex();

                for (struct if_nameindex *i = ifs; i && i->if_index; i++)
                        if (!streq(i->if_name, "kube-ipvs0") && is_ether(fd, i->if_name))
                                gather_device(g, i->if_name);
                if (ifs)
                        if_freenameindex(ifs);
        }
        if (fd >= 0)
                (void)close(fd);
        f->devs = g->devs;
        f->n_devs = g->n;
        if (adjtimex(&tx) < 0)
                f->clock_synced = -1;
        else
                f->clock_synced = !(tx.status & STA_UNSYNC);
}

static void gathered_free(struct gathered *g)
{
        for (size_t i = 0; i < g->n; i++) {
                free(g->names[i]);
                free(g->peers[i]);
                strv_free(g->xdp[i].progs);
        }
        free(g->names);
        free(g->peers);
        free(g->xdp);
        free(g->devs);
}

int cmd_doctor(const struct l2lb_config *cfg, enum output_format out)
{
        struct gathered g = {0};
        struct doctor_result *res = NULL;
        size_t n = 0, problems = 0;
        int r = 0;

        gather(cfg, &g);
        doctor_run(&g.f, &res, &n);
        for (size_t i = 0; i < n; i++)
                problems += res[i].level >= DOCTOR_WARN;
        if (out == OUTPUT_TABLE)
                for (size_t i = 0; i < n; i++) {
                        /* device names come from the kernel: escaped like API strings */
                        _cleanup_free_ char *m = str_escape_control(res[i].message);

                        printf("%-5s %-13s %s\n", doctor_level_name(res[i].level), res[i].check, m);
                }
        else {
                json_t *o = json_object(), *arr = json_array();

                for (size_t i = 0; i < n; i++)
                        (void)json_array_append_new(
                            arr, json_pack("{s:s, s:s, s:o}", "check", res[i].check, "level",
                                           doctor_level_name(res[i].level), "message",
                                           output_str(res[i].message)));
                (void)json_object_set_new(o, "checks", arr);
                (void)json_object_set_new(o, "problems", json_integer((json_int_t)problems));
                r = output_print(o, out, stdout);
                json_decref(o);
        }
        doctor_results_free(res, n);
        gathered_free(&g);
        if (r < 0)
                return r;
        return problems ? 1 : 0;
}
