/* Attaching the responder to interfaces through libxdp.
 *
 * libxdp puts our program into its multi-program dispatcher, so other XDP
 * programs can share the device; the dispatcher state is pinned under
 * <bpffs>/xdp and the attachment outlives the agent. Where the kernel cannot
 * run the dispatcher (no BPF trampolines for freplace: the 6.18 kernel of
 * our CI refuses them with EPERM), libxdp attaches the program directly to
 * the device instead (a "legacy" attachment), which also outlives us.
 *
 * Each attach loads a fresh copy of the program from the skeleton's
 * embedded object, with its maps replaced by the pinned maps, because the
 * dispatcher needs the program loaded as an extension of one of its slots.
 *
 * Ownership is decided by maps, not names: a program on the device is ours
 * when it uses our entries map (or one of an earlier layout pinned in our
 * root), which is unique to our bpf root, so agents in other network
 * namespaces or with other roots are never touched. At (re)attach:
 *   - nothing attached              → attach
 *   - ours, same build (tag)        → keep it: no window without a responder
 *   - ours, another build           → attach the new one first, then detach the
 *                                     old one (dispatcher; the first in the chain
 *                                     answers, so never twice), or swap it
 *                                     atomically with XDP_FLAGS_REPLACE (legacy)
 *   - another program, no dispatcher → -EBUSY */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include "l2resp.skel.h"
#include "lib/log.h"
#include "lib/util.h"
#include "responder-internal.h"

#define MAX_OURS 10 /* libxdp's dispatcher has 10 slots */

static int libxdp_log(enum libxdp_print_level level, const char *fmt, va_list ap)
{
        responder_log_library(level == LIBXDP_WARN, "libxdp", fmt, ap);
        return 0;
}

/* What is attached to a device, as far as we care. */
struct scan {
        enum xdp_attach_mode mode;
        bool legacy;         /* one program directly on the device, no dispatcher */
        uint32_t foreign_id; /* that program, when it is not ours */
        size_t n;            /* programs of ours */
        uint32_t ids[MAX_OURS];
        bool current[MAX_OURS]; /* of this build (same tag as our loaded variants) */
};

static const char *mode_name(enum xdp_attach_mode m)
{
        switch (m) {
        case XDP_MODE_NATIVE:
                return "native";
        case XDP_MODE_SKB:
                return "generic";
        case XDP_MODE_HW:
                return "offload";
        default:
                return "none";
        }
}

/* 1 if the program uses our entries map (and *current says whether it is of
 * this build), 0 if not, -errno. */
static int prog_is_ours(struct responder *r, int fd, bool *current)
{
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info),
                 ids[16] = {0}; /* zeroed for valgrind, which does not know the kernel fills it */

        info.nr_map_ids = ELEMENTSOF(ids);
        info.map_ids = (uint64_t)(uintptr_t)ids;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return -errno;
        for (uint32_t i = 0; i < info.nr_map_ids && i < ELEMENTSOF(ids); i++) {
                if (ids[i] == r->entries_map_id) {
                        *current = memcmp(info.tag, r->tags[0], 8) == 0 ||
                                   memcmp(info.tag, r->tags[1], 8) == 0;
                        return 1;
                }
                for (size_t j = 0; j < ELEMENTSOF(r->old_map_ids); j++)
                        if (r->old_map_ids[j] && ids[i] == r->old_map_ids[j]) {
                                *current = false; /* an older build, on an older layout */
                                return 1;
                        }
        }
        /* An l2lb responder whose maps are not pinned under our root: its
         * agent lost its pins (bpffs not kept across a restart, root removed
         * by hand). It answers from entries nobody updates any more until
         * their deadlines pass; replace it rather than refuse the device. */
        if (strncmp(info.name, "l2lb_responder", strlen("l2lb_responder")) == 0) {
                log_warn("replacing an l2lb responder that uses other maps (lost pins?)",
                         "prog_id=%u", info.id);
                *current = false;
                return 1;
        }
        return 0;
}

static int scan_add(struct responder *r, struct scan *s, const struct xdp_program *p)
{
        bool current = false;
        int ours;

        ours = prog_is_ours(r, xdp_program__fd(p), &current);
        if (ours <= 0)
                return ours;
        if (s->n < MAX_OURS) {
                s->ids[s->n] = xdp_program__id(p);
                s->current[s->n] = current;
                s->n++;
        }
        return 1;
}

static int scan_device(struct responder *r, int ifindex, struct scan *s)
{
        struct xdp_multiprog *mp;
        int err = 0;

        *s = (struct scan){.mode = XDP_MODE_UNSPEC};
        mp = xdp_multiprog__get_from_ifindex(ifindex);
        err = (int)libxdp_get_error(mp);
        if (err == -ENOENT)
                return 0; /* nothing attached */
        if (err < 0)
                return err;
        s->mode = xdp_multiprog__attach_mode(mp);
        s->legacy = xdp_multiprog__is_legacy(mp);
        if (s->legacy) {
                const struct xdp_program *main_prog = xdp_multiprog__main_prog(mp);

                if (main_prog) {
                        err = scan_add(r, s, main_prog);
                        if (err == 0)
                                s->foreign_id = xdp_program__id(main_prog);
                }
        } else
                for (struct xdp_program *p = xdp_multiprog__next_prog(NULL, mp); p && err >= 0;
                     p = xdp_multiprog__next_prog(p, mp))
                        err = scan_add(r, s, p);
        xdp_multiprog__close(mp);
        return err < 0 ? err : 0;
}

/* Load a fresh copy of one variant on our maps and let libxdp attach it. */
static int attach_variant(struct responder *r, int ifindex, enum xdp_attach_mode mode, bool fixed,
                          uint32_t *ret_id)
{
        const char *name = fixed ? "l2lb_responder_fixed" : "l2lb_responder";
        LIBBPF_OPTS(bpf_object_open_opts, oopts, .object_name = "l2resp");
        struct xdp_program *xp = NULL;
        struct bpf_object *obj;
        struct bpf_program *p;
        struct bpf_map *m;
        const void *elf;
        size_t size;
        int err = 0;

        elf = l2resp__elf_bytes(&size);
        obj = bpf_object__open_mem(elf, size, &oopts);
        if (!obj)
                return -errno;
        bpf_object__for_each_map(m, obj)
        {
                const char *mn = bpf_map__name(m);
                int fd = streq(mn, "l2_entries") ? r->entries_fd : -1;

                if (fd >= 0 && (err = bpf_map__reuse_fd(m, fd)) < 0)
                        goto out;
        }
        bpf_object__for_each_program(p, obj)
        {
                err = bpf_program__set_autoload(p, streq(bpf_program__name(p), name));
                if (err < 0)
                        goto out;
        }
        {
                DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, .obj = obj, .prog_name = name);

                xp = xdp_program__create(&xopts);
        }
        err = (int)libxdp_get_error(xp);
        if (err < 0) {
                xp = NULL;
                goto out;
        }
        err = xdp_program__attach(xp, ifindex, mode, 0);
        if (err >= 0)
                *ret_id = xdp_program__id(xp);
out:
        xdp_program__close(xp);
        bpf_object__close(obj);
        return err;
}

/* The full variant, or the fixed-length one where the kernel refuses to put
 * a program that resizes frames into libxdp's dispatcher (-EINVAL). */
static int attach_fresh(struct responder *r, int ifindex, enum xdp_attach_mode mode,
                        uint32_t *ret_id)
{
        int err;

        responder_log_defer_begin();
        err = attach_variant(r, ifindex, mode, false, ret_id);
        if (err == -EINVAL) {
                responder_log_defer_end(false);
                log_warn("responder refused by the kernel; using the variant that never resizes "
                         "frames (Neighbor Solicitations without a source link-layer option go "
                         "unanswered)",
                         "ifindex=%d", ifindex);
                responder_log_defer_begin();
                err = attach_variant(r, ifindex, mode, true, ret_id);
        }
        responder_log_defer_end(err < 0);
        return err;
}

static bool iface_is_veth(struct responder *r, const char *ifname)
{
        struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
        struct ifreq ifr = {.ifr_data = (void *)&info};

        (void)snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        return ioctl(r->packet_fd, SIOCETHTOOL, &ifr) == 0 && streq(info.driver, "veth");
}

static int detach_id(int ifindex, uint32_t id, enum xdp_attach_mode mode)
{
        struct xdp_program *p = xdp_program__from_id(id);
        int err = (int)libxdp_get_error(p);

        if (err < 0)
                return err;
        err = xdp_program__detach(p, ifindex, mode, 0);
        xdp_program__close(p);
        return err;
}

static uint32_t mode_flags(enum xdp_attach_mode mode)
{
        return mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/* Replace our old program by this build's, never leaving the device without
 * one of ours. */
static int upgrade(struct responder *r, int ifindex, const struct scan *s)
{
        uint32_t id = 0;
        int err;

        if (s->legacy) {
                LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
                int old_fd = bpf_prog_get_fd_by_id(s->ids[0]);

                if (old_fd < 0)
                        return -errno;
                opts.old_prog_fd = old_fd;
                err = bpf_xdp_attach(ifindex, responder_xdp_prog_fd(r, false),
                                     mode_flags(s->mode) | XDP_FLAGS_REPLACE, &opts);
                (void)close(old_fd);
                return err;
        }
        err = attach_fresh(r, ifindex, s->mode, &id);
        if (err < 0)
                return err;
        for (size_t i = 0; i < s->n; i++) {
                int e = detach_id(ifindex, s->ids[i], s->mode);

                if (e < 0 && e != -ENOENT)
                        log_warn_errno(e, "cannot detach old responder", "ifindex=%d prog_id=%u",
                                       ifindex, s->ids[i]);
        }
        return 0;
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

int responder_attach(struct responder *r, int ifindex, enum responder_xdp_mode mode)
{
        enum xdp_attach_mode xmode = mode == RESPONDER_XDP_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE;
        char ifname[16] = "?";
        uint8_t mac[6];
        struct scan s;
        uint32_t id = 0;
        int err;

        assert(r);
        (void)libxdp_set_print(libxdp_log);
        (void)responder_iface_name(r, ifindex, ifname);
        err = responder_iface_mac(r, ifindex, mac);
        if (err < 0)
                return log_error_errno(err, "cannot attach responder: no Ethernet device",
                                       "ifindex=%d device=%s", ifindex, log_q(ifname));
        err = refresh_macs(r, ifindex, mac);
        if (err < 0)
                return log_error_errno(err, "cannot update entries with the interface's MAC",
                                       "device=%s", log_q(ifname));
        err = scan_device(r, ifindex, &s);
        if (err < 0)
                return log_error_errno(err, "cannot query XDP programs", "device=%s",
                                       log_q(ifname));
        if (s.foreign_id)
                return log_error_errno(EBUSY,
                                       "cannot attach responder: another XDP program is attached "
                                       "without libxdp's dispatcher",
                                       "device=%s prog_id=%u", log_q(ifname), s.foreign_id);

        for (size_t i = 0; i < s.n; i++)
                if (s.current[i]) {
                        /* Ours and of this build: leave it running. Drop any
                         * older copy a crash in the middle of an upgrade left. */
                        for (size_t j = 0; j < s.n; j++)
                                if (!s.current[j] && !s.legacy)
                                        (void)detach_id(ifindex, s.ids[j], s.mode);
                        log_info("responder already attached", "device=%s mode=%s prog_id=%u",
                                 log_q(ifname), mode_name(s.mode), s.ids[i]);
                        return 0;
                }

        if (s.n > 0) {
                err = upgrade(r, ifindex, &s);
                if (err < 0)
                        return log_error_errno(err, "cannot replace responder of another build",
                                               "device=%s", log_q(ifname));
                log_info("responder replaced by this build", "device=%s mode=%s", log_q(ifname),
                         mode_name(s.mode));
                return 0;
        }

        err = attach_fresh(r, ifindex, xmode, &id);
        if (err == -EOPNOTSUPP && xmode == XDP_MODE_NATIVE) {
                log_warn("no native XDP on device; using generic mode", "device=%s", log_q(ifname));
                xmode = XDP_MODE_SKB;
                err = attach_fresh(r, ifindex, xmode, &id);
        }
        if (err < 0)
                return log_error_errno(err, "cannot attach responder", "device=%s mode=%s",
                                       log_q(ifname), mode_name(xmode));
        if (xmode == XDP_MODE_NATIVE && iface_is_veth(r, ifname))
                log_warn("native XDP on a veth: replies reach the peer only if the peer device "
                         "has an XDP program attached; use generic mode otherwise",
                         "device=%s", log_q(ifname));
        if (scan_device(r, ifindex, &s) < 0)
                s.legacy = false;
        log_info("responder attached", "device=%s mode=%s dispatcher=%s prog_id=%u", log_q(ifname),
                 mode_name(xmode), s.legacy ? "no" : "yes", id);
        return 0;
}

int responder_detach(struct responder *r, int ifindex)
{
        struct scan s;
        int err, first_err = 0;

        assert(r);
        (void)libxdp_set_print(libxdp_log);
        err = scan_device(r, ifindex, &s);
        if (err == -ENODEV)
                s.n = 0; /* the device is gone, and its attachment with it */
        else if (err < 0)
                return log_error_errno(err, "cannot query XDP programs", "ifindex=%d", ifindex);
        for (size_t i = 0; i < s.n; i++) {
                err = detach_id(ifindex, s.ids[i], s.mode);
                if (err < 0 && !first_err)
                        first_err = log_error_errno(err, "cannot detach responder",
                                                    "ifindex=%d prog_id=%u", ifindex, s.ids[i]);
        }
        if (s.n > 0 && !first_err)
                log_info("responder detached", "ifindex=%d", ifindex);
        return first_err;
}

int responder_is_attached(struct responder *r, int ifindex, uint32_t *ret_prog_id)
{
        struct scan s;
        int err;

        assert(r);
        (void)libxdp_set_print(libxdp_log);
        err = scan_device(r, ifindex, &s);
        if (err < 0)
                return err;
        if (ret_prog_id)
                *ret_prog_id = s.n > 0 ? s.ids[0] : 0;
        return s.n > 0;
}
