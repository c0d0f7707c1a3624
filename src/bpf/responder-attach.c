/* Attaching the responder to interfaces through pinned BPF links.
 *
 * responder_attach() attaches the loaded program with a BPF link (BPF_XDP,
 * kernel >= 5.9) and pins the link, and the program, under the bpf root:
 *   <root>/links/xdp-<ifindex>        the link: the attachment lives as long
 *                                     as this pin (or an open fd) does
 *   <root>/links/xdp-<ifindex>-prog   the program it runs (for its tag)
 * A restarted agent reopens both pins (BPF_OBJ_GET needs only access to the
 * files, no capability), so it needs no CAP_SYS_ADMIN, which opening the
 * attached program by id (BPF_PROG_GET_FD_BY_ID) would. The pinned link is
 * still ours when it is attached to ifindex and the device, as netlink
 * reports it in our network namespace, runs the link's program: an ifindex
 * reused by a new device (a deleted device's link is defunct, ifindex 0) or
 * a device that moved to another namespace leaves a stale pin, removed.
 * At (re)attach:
 *   - our link, program of this build (tag)  → keep it: no gap
 *   - our link, program of another build     → bpf_link_update(): atomic
 *   - nothing attached                       → link, pin
 *   - a netlink attachment of an older l2lb build (before links; see
 *     legacy_is_ours())                      → detach it, then link (one
 *                                              syscall without responder)
 *   - anything else, in particular a link of another agent (another bpf
 *     root: the kernel never lets netlink or a second link replace a
 *     link)                                  → -EBUSY, naming the program
 * Detach = BPF_LINK_DETACH (other holders of the link, such as a responder
 * of the same root in this process, cannot keep it) and unpin. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "l2resp.skel.h"
#include "lib/log.h"
#include "lib/util.h"
#include "responder-internal.h"

/* What netlink says is attached to a device (0: nothing), per mode. */
struct dev_xdp {
        uint32_t drv_id, skb_id, hw_id;
};

static int dev_query(int ifindex, struct dev_xdp *d)
{
        LIBBPF_OPTS(bpf_xdp_query_opts, q);

        *d = (struct dev_xdp){};
        if (bpf_xdp_query(ifindex, 0, &q) < 0)
                return negative_errno();
        d->drv_id = q.drv_prog_id;
        d->skb_id = q.skb_prog_id;
        d->hw_id = q.hw_prog_id;
        return 0;
}

static uint32_t dev_any_id(const struct dev_xdp *d)
{
        return d->drv_id ? d->drv_id : d->skb_id ? d->skb_id : d->hw_id;
}

static bool dev_runs(const struct dev_xdp *d, uint32_t id)
{
        return id && (d->drv_id == id || d->skb_id == id || d->hw_id == id);
}

static const char *dev_mode(const struct dev_xdp *d, uint32_t id)
{
        return d->drv_id == id ? "native" : d->skb_id == id ? "generic" : "offload";
}

static char *links_dir(struct responder *r)
{
        return xasprintf("%s/%s", r->root, RESPONDER_LINKS_DIR);
}

static char *link_pin(struct responder *r, int ifindex, bool prog)
{
        return xasprintf("%s/%s/xdp-%d%s", r->root, RESPONDER_LINKS_DIR, ifindex,
                         prog ? "-prog" : "");
}

/* Our pinned link for ifindex, if it still holds the device. */
struct our_link {
        int fd;           /* -1: none pinned */
        bool valid;       /* attached to the device, which runs its program */
        uint32_t prog_id; /* the link's program */
        uint32_t link_id;
        bool current; /* the pinned program is of this build and is the link's */
};

static void our_link_close(struct our_link *l)
{
        if (l->fd >= 0)
                (void)close(l->fd);
        l->fd = -1;
}

static void unpin_link(struct responder *r, int ifindex)
{
        _cleanup_free_ char *lp = link_pin(r, ifindex, false), *pp = link_pin(r, ifindex, true);

        if (unlink(lp) < 0 && errno != ENOENT)
                log_warn_errno(errno, "cannot unpin XDP link", "path=%s", log_q(lp));
        if (unlink(pp) < 0 && errno != ENOENT)
                log_warn_errno(errno, "cannot unpin XDP program", "path=%s", log_q(pp));
}

static bool prog_pin_current(struct responder *r, int ifindex, uint32_t prog_id)
{
        _cleanup_free_ char *pp = link_pin(r, ifindex, true);
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info);
        int fd = bpf_obj_get(pp);
        bool current;

        if (fd < 0)
                return false;
        current = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.id == prog_id &&
                  (memcmp(info.tag, r->tags[0], 8) == 0 || memcmp(info.tag, r->tags[1], 8) == 0);
        (void)close(fd);
        return current;
}

/* Opens the pinned link of ifindex. 0 (l->fd -1 if there is none), or -errno
 * for a pin that cannot be read. */
static int our_link_open(struct responder *r, int ifindex, const struct dev_xdp *d,
                         struct our_link *l)
{
        _cleanup_free_ char *lp = link_pin(r, ifindex, false);
        struct bpf_link_info info = {};
        uint32_t len = sizeof(info);

        *l = (struct our_link){.fd = bpf_obj_get(lp)};
        if (l->fd < 0) {
                l->fd = -1;
                return errno == ENOENT ? 0 : negative_errno();
        }
        if (bpf_obj_get_info_by_fd(l->fd, &info, &len) < 0) {
                int err = negative_errno();

                our_link_close(l);
                return err;
        }
        l->link_id = info.id;
        l->prog_id = info.prog_id;
        l->valid = info.type == BPF_LINK_TYPE_XDP && (int)info.xdp.ifindex == ifindex &&
                   dev_runs(d, info.prog_id);
        l->current = l->valid && prog_pin_current(r, ifindex, info.prog_id);
        return 0;
}

/* Removes a pinned link that no longer holds the device (defunct after the
 * device went away, or on a device with the same ifindex that left our
 * network namespace: ours, so detached). */
static void drop_stale_link(struct responder *r, int ifindex, struct our_link *l)
{
        log_info("removing stale XDP link pin", "ifindex=%d link_id=%u prog_id=%u", ifindex,
                 l->link_id, l->prog_id);
        (void)bpf_link_detach(l->fd); /* -EINVAL/-ENOLINK when already defunct: fine */
        unpin_link(r, ifindex);
        our_link_close(l);
}

static int pin_new(struct responder *r, int ifindex, int link_fd, int prog_fd)
{
        _cleanup_free_ char *dir = links_dir(r), *lp = link_pin(r, ifindex, false),
                            *pp = link_pin(r, ifindex, true);

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "cannot create link directory", "path=%s",
                                       log_q(dir));
        (void)unlink(pp); /* a leftover of a link that died without us */
        if (bpf_obj_pin(prog_fd, pp) < 0)
                return log_error_errno(errno, "cannot pin XDP program", "path=%s", log_q(pp));
        if (bpf_obj_pin(link_fd, lp) < 0) {
                int err = log_error_errno(errno, "cannot pin XDP link", "path=%s", log_q(lp));

                (void)unlink(pp);
                return err;
        }
        return 0;
}

static int pin_prog(struct responder *r, int ifindex, int prog_fd)
{
        _cleanup_free_ char *pp = link_pin(r, ifindex, true);

        if (unlink(pp) < 0 && errno != ENOENT)
                return -errno;
        return bpf_obj_pin(prog_fd, pp) < 0 ? negative_errno() : 0;
}

static uint32_t mode_flags(enum responder_xdp_mode mode)
{
        return mode == RESPONDER_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/* A new link, pinned; the attachment lives as long as the pin. */
static int link_fresh(struct responder *r, int ifindex, enum responder_xdp_mode mode)
{
        LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = mode_flags(mode));
        int prog_fd = responder_xdp_prog_fd(r, false), fd, err;

        fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
        if (fd < 0)
                return negative_errno();
        err = pin_new(r, ifindex, fd, prog_fd);
        if (err < 0)
                (void)bpf_link_detach(fd); /* closing would do too: the fd is its only holder */
        (void)close(fd);
        return err;
}

static uint32_t prog_id_of(int fd)
{
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info);

        return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

/* Whether the program with this id on ifindex is libxdp's dispatcher, by the
 * state libxdp pins for it (<bpffs>/xdp/dispatch-<ifindex>-<id>). */
static bool libxdp_dispatcher(int ifindex, uint32_t id)
{
        _cleanup_free_ char *p = xasprintf("/sys/fs/bpf/xdp/dispatch-%d-%u", ifindex, id);

        return access(p, F_OK) == 0;
}

/* Whether the program with this id, attached by netlink (not a link of
 * ours), is an older l2lb build's responder, which we replace (the upgrade
 * from builds before links). With CAP_SYS_ADMIN (BPF_PROG_GET_FD_BY_ID) we
 * look at it: it uses our entries map, or an entries map of an earlier
 * layout pinned in our root, or it is named l2lb_responder* (an older build
 * whose pins were lost). Without it (the agent's normal capability set) we
 * cannot see the program; it is taken for the previous agent's when that
 * agent's pins were in our root when we opened it and no agent of ours has
 * pinned a link there yet (r->legacy_upgrade): agents of older builds
 * refused devices with programs of others, so the program they left is
 * theirs, unless it is libxdp's dispatcher (where older builds could use
 * it), which may run the programs of others too. *old_fd receives the
 * program when it could be opened. */
static bool legacy_is_ours(struct responder *r, int ifindex, uint32_t id, int *old_fd)
{
        uint32_t ids[16] = {0}; /* zeroed for valgrind, which does not know the kernel fills it */
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info);
        int fd;

        *old_fd = -1;
        fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0)
                return errno == EPERM && r->legacy_upgrade && !libxdp_dispatcher(ifindex, id);
        info.nr_map_ids = ELEMENTSOF(ids);
        info.map_ids = (uint64_t)(uintptr_t)ids;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
                (void)close(fd);
                return false;
        }
        *old_fd = fd;
        for (uint32_t i = 0; i < info.nr_map_ids && i < ELEMENTSOF(ids); i++) {
                if (ids[i] == r->entries_map_id)
                        return true;
                for (size_t j = 0; j < ELEMENTSOF(r->old_map_ids); j++)
                        if (r->old_map_ids[j] && ids[i] == r->old_map_ids[j])
                                return true;
        }
        return strncmp(info.name, "l2lb_responder", strlen("l2lb_responder")) == 0;
}

/* Replace an older build's netlink attachment by our link, in its mode. */
static int replace_legacy(struct responder *r, int ifindex, const struct dev_xdp *d, uint32_t id,
                          int old_fd)
{
        enum responder_xdp_mode mode =
            d->skb_id == id ? RESPONDER_XDP_GENERIC : RESPONDER_XDP_NATIVE;
        LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd);

        /* A link cannot replace a program attached by netlink: detach it
         * first (with its fd when we have one, so that only that program
         * goes: libbpf then adds XDP_FLAGS_REPLACE). The kernel refuses
         * with -EBUSY if it is a link. */
        if (bpf_xdp_detach(ifindex, mode_flags(mode), old_fd >= 0 ? &opts : NULL) < 0)
                return negative_errno();
        return link_fresh(r, ifindex, mode);
}

static bool iface_is_veth(const char *ifname)
{
        struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
        struct ifreq ifr = {.ifr_data = (void *)&info};
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        bool veth;

        if (fd < 0)
                return false;
        (void)snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        veth = ioctl(fd, SIOCETHTOOL, &ifr) == 0 && streq(info.driver, "veth");
        (void)close(fd);
        return veth;
}

struct link_peer {
        bool has_link, other_netns;
        uint32_t link;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
        struct link_peer *p = data;

        if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
                return MNL_CB_OK;
        if (mnl_attr_get_type(attr) == IFLA_LINK && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
                p->has_link = true;
                p->link = mnl_attr_get_u32(attr);
        } else if (mnl_attr_get_type(attr) == IFLA_LINK_NETNSID)
                p->other_netns = true;
        return MNL_CB_OK;
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
        return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, data);
}

/* IFLA_LINK of ifindex (a veth's peer) and whether it lies in another
 * network namespace (IFLA_LINK_NETNSID), by RTM_GETLINK. */
static int link_peer_query(int ifindex, struct link_peer *p)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifm;
        int err = 0, n;

        *p = (struct link_peer){};
        if (!nl)
                return negative_errno();
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                err = negative_errno();
                goto out;
        }
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST;
        nlh->nlmsg_seq = 1;
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_index = ifindex;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
                err = negative_errno();
                goto out;
        }
        n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n < 0 || mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), link_msg_cb, p) < 0)
                err = negative_errno();
out:
        (void)mnl_socket_close(nl);
        return err;
}

enum responder_veth_peer responder_veth_peer(int ifindex, const char *ifname, int *ret_peer)
{
        struct link_peer p;
        struct dev_xdp d;
        int err;

        if (ret_peer)
                *ret_peer = 0;
        if (!iface_is_veth(ifname))
                return RESPONDER_PEER_NOT_VETH;
        err = link_peer_query(ifindex, &p);
        if (err < 0) {
                log_warn_errno(err, "cannot find the veth peer", "device=%s", log_q(ifname));
                return RESPONDER_PEER_UNKNOWN;
        }
        if (p.other_netns)
                return RESPONDER_PEER_OTHER_NETNS;
        if (!p.has_link || p.link == 0 || p.link > INT32_MAX || dev_query((int)p.link, &d) < 0)
                return RESPONDER_PEER_UNKNOWN;
        if (ret_peer)
                *ret_peer = (int)p.link;
        return d.drv_id ? RESPONDER_PEER_XDP : RESPONDER_PEER_NO_XDP;
}

/* Store mac into the entries on ifindex unless this process already did. */
static int refresh_macs(struct responder *r, int ifindex, const uint8_t mac[6])
{
        struct iface_mac *m = NULL;
        int err;

        for (size_t i = 0; i < r->n_macs; i++)
                if (r->macs[i].ifindex == ifindex)
                        m = &r->macs[i];
        if (m && memcmp(m->mac, mac, 6) == 0)
                return 0;
        err = responder_refresh_macs(r, ifindex, mac);
        if (err < 0)
                return err;
        if (!m) {
                r->macs = xreallocarray(r->macs, r->n_macs + 1, sizeof(*r->macs));
                m = &r->macs[r->n_macs++];
                m->ifindex = ifindex;
        }
        memcpy(m->mac, mac, 6);
        return 0;
}

static enum responder_xdp_mode mode_of(const struct dev_xdp *d, uint32_t id)
{
        return d->skb_id == id ? RESPONDER_XDP_GENERIC : RESPONDER_XDP_NATIVE;
}

/* Replace our link by a new one in mode (after a short gap). */
static int link_replace(struct responder *r, int ifindex, const char *ifname, struct our_link *l,
                        enum responder_xdp_mode mode)
{
        int err;

        (void)bpf_link_detach(l->fd); /* the kernel accepts it for any live XDP link */
        unpin_link(r, ifindex);
        err = link_fresh(r, ifindex, mode);
        if (err < 0)
                return log_error_errno(err, "cannot attach responder", "device=%s mode=%s",
                                       log_q(ifname), responder_xdp_mode_name(mode));
        return 0;
}

/* Keep or update our pinned link; with auto mode, a native link where
 * generic is chosen (e.g. left by a build that attached natively to a veth
 * whose peer has no XDP program, where replies vanish) becomes generic. */
static int attach_keep(struct responder *r, int ifindex, const char *ifname,
                       const struct dev_xdp *d, struct our_link *l, enum responder_xdp_mode want,
                       enum responder_xdp_mode chosen, enum responder_xdp_mode *ret_mode)
{
        int prog_fd = responder_xdp_prog_fd(r, false), err;

        *ret_mode = mode_of(d, l->prog_id);
        if (want == RESPONDER_XDP_AUTO && chosen == RESPONDER_XDP_GENERIC &&
            *ret_mode == RESPONDER_XDP_NATIVE) {
                log_info("replacing native XDP link by a generic one", "device=%s link_id=%u",
                         log_q(ifname), l->link_id);
                *ret_mode = RESPONDER_XDP_GENERIC;
                return link_replace(r, ifindex, ifname, l, RESPONDER_XDP_GENERIC);
        }
        if (l->current) {
                log_info("responder already attached", "device=%s mode=%s prog_id=%u link_id=%u",
                         log_q(ifname), dev_mode(d, l->prog_id), l->prog_id, l->link_id);
                return 0;
        }
        if (bpf_link_update(l->fd, prog_fd, NULL) < 0) {
                /* -EINVAL: the old program was loaded with another expected
                 * attach type (not through libbpf's SEC("xdp")), which the
                 * kernel does not swap: a new link, after a short gap */
                if (errno != EINVAL)
                        return log_error_errno(errno, "cannot replace responder of another build",
                                               "device=%s link_id=%u prog_id=%u", log_q(ifname),
                                               l->link_id, l->prog_id);
                log_warn("cannot swap the program inside the pinned link; replacing the link",
                         "device=%s link_id=%u prog_id=%u", log_q(ifname), l->link_id, l->prog_id);
                return link_replace(r, ifindex, ifname, l, *ret_mode);
        }
        err = pin_prog(r, ifindex, prog_fd);
        if (err < 0) /* the link runs ours; only the next start's check needs the pin */
                log_warn_errno(err, "cannot pin XDP program", "device=%s", log_q(ifname));
        log_info("responder replaced by this build", "device=%s mode=%s old_prog_id=%u prog_id=%u",
                 log_q(ifname), dev_mode(d, l->prog_id), l->prog_id, prog_id_of(prog_fd));
        return 0;
}

/* A program of another kind is on the device: replace it when it is an
 * older l2lb build's netlink attachment, else -EBUSY. */
static int attach_over(struct responder *r, int ifindex, const char *ifname,
                       const struct dev_xdp *d, uint32_t id, enum responder_xdp_mode *ret_mode)
{
        int old_fd = -1, err;

        *ret_mode = mode_of(d, id);
        if (!legacy_is_ours(r, ifindex, id, &old_fd))
                err = -EBUSY;
        else {
                err = replace_legacy(r, ifindex, d, id, old_fd);
                if (err >= 0)
                        log_info("netlink-attached responder of an older build replaced by a link",
                                 "device=%s old_prog_id=%u", log_q(ifname), id);
        }
        if (old_fd >= 0)
                (void)close(old_fd);
        if (err == -EBUSY)
                return log_error_errno(EBUSY,
                                       "cannot attach responder: another XDP program is attached "
                                       "to the device; l2lb does not replace it",
                                       "device=%s prog_id=%u mode=%s", log_q(ifname), id,
                                       dev_mode(d, id));
        if (err < 0)
                return log_error_errno(err, "cannot replace responder of an older build",
                                       "device=%s prog_id=%u", log_q(ifname), id);
        return 0;
}

/* Why an attachment found in place runs in mode, chosen being this
 * attach's choice (for reason). */
static const char *kept_reason(enum responder_xdp_mode mode, enum responder_xdp_mode chosen,
                               const char *reason)
{
        if (mode == chosen)
                return reason;
        return mode == RESPONDER_XDP_GENERIC ? "attached in generic mode before (no native XDP?)"
                                             : "attached in native mode before";
}

int responder_attach(struct responder *r, int ifindex, enum responder_xdp_mode mode)
{
        return responder_attach_report(r, ifindex, mode, NULL);
}

int responder_attach_report(struct responder *r, int ifindex, enum responder_xdp_mode want,
                            struct responder_attachment *ret)
{
        enum responder_xdp_mode chosen, mode;
        enum responder_veth_peer peer;
        char ifname[16] = "?";
        const char *reason;
        struct our_link l;
        struct dev_xdp d;
        uint8_t mac[6];
        uint32_t id;
        int err;

        assert(r);
        (void)responder_iface_name(r, ifindex, ifname);
        err = responder_iface_mac(r, ifindex, mac);
        if (err < 0)
                return log_error_errno(err, "cannot attach responder: no Ethernet device",
                                       "ifindex=%d device=%s", ifindex, log_q(ifname));
        err = refresh_macs(r, ifindex, mac);
        if (err < 0)
                return log_error_errno(err, "cannot update entries with the interface's MAC",
                                       "device=%s", log_q(ifname));
        err = dev_query(ifindex, &d);
        if (err < 0)
                return log_error_errno(err, "cannot query XDP programs", "device=%s",
                                       log_q(ifname));
        peer = responder_veth_peer(ifindex, ifname, NULL);
        chosen = responder_xdp_mode_choose(want, peer, &reason);
        err = our_link_open(r, ifindex, &d, &l);
        if (err < 0)
                return log_error_errno(err, "cannot open pinned XDP link", "device=%s",
                                       log_q(ifname));
        if (l.fd >= 0 && l.valid) {
                err = attach_keep(r, ifindex, ifname, &d, &l, want, chosen, &mode);
                our_link_close(&l);
                reason = kept_reason(mode, chosen, reason);
        } else {
                if (l.fd >= 0)
                        drop_stale_link(r, ifindex, &l);
                id = dev_any_id(&d);
                if (id) {
                        err = attach_over(r, ifindex, ifname, &d, id, &mode);
                        reason = kept_reason(mode, chosen, reason);
                } else {
                        mode = chosen;
                        err = link_fresh(r, ifindex, mode);
                        if (err == -EOPNOTSUPP && mode == RESPONDER_XDP_NATIVE) {
                                log_warn("no native XDP on device; using generic mode", "device=%s",
                                         log_q(ifname));
                                mode = RESPONDER_XDP_GENERIC;
                                reason = "no native XDP in the driver";
                                err = link_fresh(r, ifindex, mode);
                        }
                        if (err < 0)
                                return log_error_errno(err, "cannot attach responder",
                                                       "device=%s mode=%s", log_q(ifname),
                                                       responder_xdp_mode_name(mode));
                        log_info("responder attached", "device=%s mode=%s reason=%s prog_id=%u",
                                 log_q(ifname), responder_xdp_mode_name(mode), log_q(reason),
                                 prog_id_of(responder_xdp_prog_fd(r, false)));
                }
        }
        if (err < 0)
                return err;
        if (mode == RESPONDER_XDP_NATIVE && peer != RESPONDER_PEER_NOT_VETH &&
            peer != RESPONDER_PEER_XDP)
                log_warn("native XDP on a veth whose peer is not seen running native XDP: replies "
                         "reach the peer only if it has an XDP program; use xdp-mode auto or "
                         "generic",
                         "device=%s", log_q(ifname));
        if (ret)
                *ret = (struct responder_attachment){.mode = mode, .reason = reason};
        return 0;
}

int responder_detach(struct responder *r, int ifindex)
{
        struct our_link l;
        struct dev_xdp d;
        int err;

        assert(r);
        err = dev_query(ifindex, &d);
        if (err == -ENODEV)
                d = (struct dev_xdp){}; /* the device is gone, and its attachment with it */
        else if (err < 0)
                return log_error_errno(err, "cannot query XDP programs", "ifindex=%d", ifindex);
        err = our_link_open(r, ifindex, &d, &l);
        if (err < 0)
                return log_error_errno(err, "cannot open pinned XDP link", "ifindex=%d", ifindex);
        if (l.fd < 0)
                return 0;
        if (!l.valid) {
                drop_stale_link(r, ifindex, &l);
                return 0;
        }
        if (bpf_link_detach(l.fd) < 0) {
                err = log_error_errno(errno, "cannot detach responder", "ifindex=%d link_id=%u",
                                      ifindex, l.link_id);
                our_link_close(&l);
                return err;
        }
        unpin_link(r, ifindex);
        our_link_close(&l);
        log_info("responder detached", "ifindex=%d", ifindex);
        return 0;
}

int responder_is_attached(struct responder *r, int ifindex, uint32_t *ret_prog_id)
{
        struct our_link l;
        struct dev_xdp d;
        int err;

        assert(r);
        err = dev_query(ifindex, &d);
        if (err < 0)
                return err;
        err = our_link_open(r, ifindex, &d, &l);
        if (err < 0)
                return err;
        if (ret_prog_id)
                *ret_prog_id = l.valid ? l.prog_id : 0;
        our_link_close(&l);
        return l.valid;
}

int responder_unpin_links(struct responder *r)
{
        _cleanup_free_ char *dir = links_dir(r);
        struct dirent *de;
        int err = 0;
        DIR *dp;

        dp = opendir(dir);
        if (!dp)
                return errno == ENOENT ? 0
                                       : log_warn_errno(errno, "cannot open link directory",
                                                        "path=%s", log_q(dir));
        while ((de = readdir(dp))) {
                _cleanup_free_ char *p = NULL;

                if (!startswith(de->d_name, "xdp-"))
                        continue;
                p = xasprintf("%s/%s", dir, de->d_name);
                if (unlink(p) < 0 && errno != ENOENT)
                        err = log_warn_errno(errno, "cannot unpin", "path=%s", log_q(p));
        }
        (void)closedir(dp);
        if (rmdir(dir) < 0 && errno != ENOENT)
                err = log_warn_errno(errno, "cannot remove link directory", "path=%s", log_q(dir));
        return err;
}
