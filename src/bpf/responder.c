/* Loading the L2 responder and editing its entries.
 *
 * responder_open() loads the bpftool skeleton of l2resp.bpf.c with its maps
 * pinned below the bpf root: libbpf reuses the pinned maps when they exist
 * (an agent restart keeps every entry, deadline and counter) and pins fresh
 * ones otherwise. Entries are written through the l2lb_set syscall
 * program so that user space never rewrites the counters the datapath
 * increments; deletions and reads use the map directly. Attachment lives in
 * responder-attach.c, announcements in responder-announce.c, solicited-node
 * groups in responder-mcast.c. */
#include "responder.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/magic.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "l2resp.skel.h"
#include "lib/log.h"
#include "lib/util.h"
#include "responder-internal.h"

#define BPFFS_MOUNT "/sys/fs/bpf"

_Static_assert(sizeof(struct l2resp_key) == 24, "l2resp_key layout");
_Static_assert(sizeof(struct l2resp_value) == 40, "l2resp_value layout");
_Static_assert(sizeof(struct l2resp_set_args) == 48, "l2resp_set_args layout");
_Static_assert(AF_INET == L2RESP_AF_INET && AF_INET6 == L2RESP_AF_INET6, "address families");

/* libbpf's messages as log lines: warnings stay warnings, the rest is debug. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
        enum log_level l = level == LIBBPF_WARN ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG;
        char buf[512];
        size_t n;

        if (!log_enabled(l))
                return 0;
        (void)vsnprintf(buf, sizeof(buf), fmt, ap); /* a long line is cut */
        n = strlen(buf);
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = 0;
        log_emit(l, 0, "libbpf", "detail=%s", log_q(buf));
        return 0;
}
#pragma GCC diagnostic pop

uint64_t responder_deadline_from_usec(uint64_t usec)
{
        if (usec > UINT64_MAX / NSEC_PER_USEC)
                return UINT64_MAX;
        return usec * NSEC_PER_USEC;
}

static uint64_t clock_ns(clockid_t clock)
{
        struct timespec ts;

        (void)clock_gettime(clock, &ts); /* cannot fail for the clocks used here */
        return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t responder_deadline_from_monotonic_usec(uint64_t monotonic_usec)
{
        uint64_t ns = responder_deadline_from_usec(monotonic_usec);
        /* the time spent suspended so far: boot-time minus monotonic, read
         * in this order so that the error makes the deadline earlier */
        uint64_t boot = clock_ns(CLOCK_BOOTTIME), mono = clock_ns(CLOCK_MONOTONIC);
        uint64_t slept = boot > mono ? boot - mono : 0;

        return ns > UINT64_MAX - slept ? UINT64_MAX : ns + slept;
}

uint64_t responder_now_ns(void)
{
        return clock_ns(CLOCK_BOOTTIME);
}

void responder_key_init(struct l2resp_key *k, const struct ipaddr *ip, int ifindex)
{
        assert(k);
        assert(ip);
        assert(ip->family == AF_INET || ip->family == AF_INET6);
        memset(k, 0, sizeof(*k));
        k->ifindex = (uint32_t)ifindex;
        k->family = ip->family;
        ipaddr_to_bytes(ip, k->addr);
}

static void entry_from(struct responder_entry *e, const struct l2resp_key *k,
                       const struct l2resp_value *v)
{
        memset(e, 0, sizeof(*e));
        ipaddr_from_bytes(&e->ip, k->family, k->addr);
        e->ifindex = (int)k->ifindex;
        e->deadline_ns = v->deadline_ns;
        e->requests = v->replies + v->unanswered;
        e->replies = v->replies;
        e->conflicts = v->conflicts;
        memcpy(e->mac, v->mac, 6);
}

static bool is_bpffs(const char *path)
{
        struct statfs st;

        return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static bool in_initial_mount_ns(void)
{
        struct stat a, b;

        if (stat("/proc/self/ns/mnt", &a) < 0 || stat("/proc/1/ns/mnt", &b) < 0)
                return true; /* cannot tell; do not warn */
        return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* mkdir -p on bpffs (which supports directories). */
static int mkdir_parents(const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* Make sure root is a directory on bpffs, mounting bpffs at /sys/fs/bpf if
 * root lies below it and nothing is mounted there. */
static int bpffs_prepare(const char *root)
{
        const char *rest = startswith(root, BPFFS_MOUNT);
        int r;

        if (rest && (*rest == '/' || *rest == 0) && !is_bpffs(BPFFS_MOUNT)) {
                if (mount("bpf", BPFFS_MOUNT, "bpf", 0, "mode=0700") < 0)
                        return log_error_errno(errno, "cannot mount bpffs", "path=%s", BPFFS_MOUNT);
                log_info("mounted bpffs", "path=%s", BPFFS_MOUNT);
                if (!in_initial_mount_ns())
                        log_warn("bpffs mounted in a private mount namespace; pinned responder "
                                 "state dies with it (run the agent with nsenter --net, not ip "
                                 "netns exec)",
                                 "path=%s", BPFFS_MOUNT);
        }
        r = mkdir_parents(root);
        if (r < 0)
                return log_error_errno(r, "cannot create bpf root", "path=%s", log_q(root));
        if (!is_bpffs(root))
                return log_error_errno(ENOTSUP, "bpf root is not on a bpf filesystem", "path=%s",
                                       log_q(root));
        return 0;
}

static int prog_tag(int fd, uint8_t tag[8])
{
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info);

        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return -errno;
        memcpy(tag, info.tag, 8);
        return 0;
}

static int map_id(int fd, uint32_t *ret)
{
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);

        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return -errno;
        *ret = info.id;
        return 0;
}

static char *pin_path(const char *root, const char *name)
{
        return xasprintf("%s/%s", root, name);
}

static void mcast_rebuild(struct responder *r);

int responder_open(const char *bpf_root, struct responder **ret)
{
        _cleanup_free_ char *entries_pin = NULL;
        struct responder *r;
        bool had_pins;
        int err;

        assert(ret);
        (void)libbpf_set_print(libbpf_log); /* the previous printer is not restored */

        r = xnew(struct responder, 1);
        r->packet_fd = -1;
        r->root = xstrdup(bpf_root ? bpf_root : RESPONDER_BPF_ROOT_DEFAULT);
        err = bpffs_prepare(r->root);
        if (err < 0)
                goto fail;

        r->skel = l2resp__open();
        if (!r->skel) {
                err = log_error_errno(errno, "cannot open the responder's BPF object");
                goto fail;
        }
        entries_pin = pin_path(r->root, L2RESP_PIN_ENTRIES);
        had_pins = access(entries_pin, F_OK) == 0;
        err = bpf_map__set_pin_path(r->skel->maps.l2_entries, entries_pin);
        if (err < 0) {
                log_error_errno(err, "cannot set pin paths", "root=%s", log_q(r->root));
                goto fail;
        }
        err = l2resp__load(r->skel);
        if (err < 0) {
                log_error_errno(err, "cannot load the responder (incompatible pinned maps?)",
                                "root=%s", log_q(r->root));
                goto fail;
        }
        r->entries_fd = bpf_map__fd(r->skel->maps.l2_entries);
        err = map_id(r->entries_fd, &r->entries_map_id);
        if (err >= 0)
                err = prog_tag(bpf_program__fd(r->skel->progs.l2lb_responder), r->tags[0]);
        if (err >= 0)
                err = prog_tag(bpf_program__fd(r->skel->progs.l2lb_responder_fixed), r->tags[1]);
        if (err < 0) {
                log_error_errno(err, "cannot read responder object info");
                goto fail;
        }

        {
                static const char *const old[] = L2RESP_PIN_ENTRIES_OLD;

                for (size_t i = 0; i < ELEMENTSOF(old) && i < ELEMENTSOF(r->old_map_ids); i++) {
                        _cleanup_free_ char *p = pin_path(r->root, old[i]);
                        int fd = bpf_obj_get(p);

                        if (fd < 0)
                                continue;
                        (void)map_id(fd, &r->old_map_ids[i]);
                        (void)close(fd);
                        had_pins = true;
                }
        }
        {
                _cleanup_free_ char *links = pin_path(r->root, RESPONDER_LINKS_DIR);

                r->legacy_upgrade = had_pins && access(links, F_OK) < 0;
        }

        r->packet_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (r->packet_fd < 0) {
                err = log_error_errno(errno, "cannot open packet socket");
                goto fail;
        }
        mcast_rebuild(r);
        log_debug("responder loaded", "root=%s entries_map_id=%u", log_q(r->root),
                  r->entries_map_id);
        *ret = r;
        return 0;
fail:
        responder_close(r);
        return err;
}

void responder_close(struct responder *r)
{
        if (!r)
                return;
        if (r->packet_fd >= 0)
                (void)close(r->packet_fd);
        responder_mcast_free(r);
        responder_shadow_forget(r);
        free(r->macs);
        l2resp__destroy(r->skel);
        free(r->root);
        free(r);
}

static int unpin(struct responder *r, const char *name)
{
        _cleanup_free_ char *p = pin_path(r->root, name);

        if (unlink(p) < 0 && errno != ENOENT)
                return log_warn_errno(errno, "cannot unpin map", "path=%s", log_q(p));
        return 0;
}

int responder_unpin(struct responder *r)
{
        static const char *const old[] = L2RESP_PIN_ENTRIES_OLD;
        int err, e;

        assert(r);
        /* with the pins of earlier layouts, should any be left (and the
         * first layout's interface map) */
        err = responder_unpin_links(r);
        if ((e = unpin(r, L2RESP_PIN_ENTRIES)) < 0)
                err = e;
        for (size_t i = 0; i < ELEMENTSOF(old); i++)
                if ((e = unpin(r, old[i])) < 0)
                        err = e;
        if ((e = unpin(r, "l2_ifaces_v1")) < 0)
                err = e;
        if (rmdir(r->root) < 0 && errno != ENOENT)
                err = log_warn_errno(errno, "cannot remove bpf root", "path=%s", log_q(r->root));
        return err;
}

int responder_xdp_prog_fd(struct responder *r, bool fixed)
{
        assert(r);
        return bpf_program__fd(fixed ? r->skel->progs.l2lb_responder_fixed
                                     : r->skel->progs.l2lb_responder);
}

void responder_get_stats(struct responder *r, struct responder_stats *ret)
{
        assert(r);
        assert(ret);
        *ret = r->stats;
}

int responder_iface_name(struct responder *r, int ifindex, char name[16])
{
        struct ifreq ifr = {.ifr_ifindex = ifindex};

        assert(r);
        if (ioctl(r->packet_fd, SIOCGIFNAME, &ifr) < 0)
                return -errno;
        memcpy(name, ifr.ifr_name, IFNAMSIZ);
        name[IFNAMSIZ - 1] = 0;
        return 0;
}

int responder_iface_mac(struct responder *r, int ifindex, uint8_t mac[6])
{
        struct ifreq ifr = {};
        int err;

        err = responder_iface_name(r, ifindex, ifr.ifr_name);
        if (err < 0)
                return err;
        if (ioctl(r->packet_fd, SIOCGIFHWADDR, &ifr) < 0)
                return -errno;
        if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
                return -EOPNOTSUPP;
        memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
        return 0;
}

/* Runs l2lb_set: L2RESP_SET_UPDATED, L2RESP_SET_CREATED or -errno. */
static int run_set(struct responder *r, const struct l2resp_key *k, uint64_t deadline_ns,
                   const uint8_t mac[6], uint32_t flags)
{
        struct l2resp_set_args args = {
            .key = *k,
            .deadline_ns = deadline_ns,
            .flags = flags,
        };
        LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
        int err;

        if (mac)
                memcpy(args.mac, mac, 6);
        err = bpf_prog_test_run_opts(bpf_program__fd(r->skel->progs.l2lb_set), &opts);
        if (err < 0)
                return err;
        return (int)opts.retval;
}

static int log_set_error(int err, const struct ipaddr *ip, int ifindex)
{
        char buf[IPADDR_STRLEN];

        return log_error_errno(err, "cannot set responder entry", "ip=%s ifindex=%d",
                               ipaddr_format(ip, buf), ifindex);
}

/* Insert or update with the interface's current MAC. */
static int set_with_mac(struct responder *r, const struct l2resp_key *k, uint64_t deadline_ns,
                        const uint8_t mac[6])
{
        int res;

        res = run_set(r, k, deadline_ns, mac,
                      L2RESP_SET_CREATE | L2RESP_SET_DEADLINE | L2RESP_SET_MAC);
        if (res == L2RESP_SET_CREATED && k->family == L2RESP_AF_INET6)
                responder_mcast_ref(r, (int)k->ifindex, k->addr, +1);
        return res;
}

int responder_entry_set(struct responder *r, const struct ipaddr *ip, int ifindex,
                        uint64_t deadline_ns)
{
        char buf[IPADDR_STRLEN];
        struct l2resp_key k;
        uint8_t mac[6];
        int res;

        assert(r);
        responder_shadow_forget(r);
        assert(ip);
        res = responder_iface_mac(r, ifindex, mac);
        if (res < 0)
                return log_error_errno(res, "cannot set responder entry: no Ethernet interface",
                                       "ip=%s ifindex=%d", ipaddr_format(ip, buf), ifindex);
        responder_key_init(&k, ip, ifindex);
        res = set_with_mac(r, &k, deadline_ns, mac);
        if (res < 0)
                return log_set_error(res, ip, ifindex);
        if (res == L2RESP_SET_CREATED)
                log_debug("responder entry added", "ip=%s ifindex=%d", ipaddr_format(ip, buf),
                          ifindex);
        return 0;
}

int responder_entry_update_deadline(struct responder *r, const struct ipaddr *ip, int ifindex,
                                    uint64_t deadline_ns)
{
        struct l2resp_key k;
        int res;

        assert(r);
        responder_shadow_forget(r);
        assert(ip);
        responder_key_init(&k, ip, ifindex);
        res = run_set(r, &k, deadline_ns, NULL, L2RESP_SET_DEADLINE);
        if (res == -ENOENT)
                return res;
        if (res < 0)
                return log_set_error(res, ip, ifindex);
        return 0;
}

static int delete_key(struct responder *r, const struct l2resp_key *k)
{
        if (bpf_map_delete_elem(r->entries_fd, k) < 0)
                return -errno;
        if (k->family == L2RESP_AF_INET6)
                responder_mcast_ref(r, (int)k->ifindex, k->addr, -1);
        return 0;
}

int responder_entry_delete(struct responder *r, const struct ipaddr *ip, int ifindex)
{
        char buf[IPADDR_STRLEN];
        struct l2resp_key k;
        int err;

        assert(r);
        responder_shadow_forget(r);
        assert(ip);
        responder_key_init(&k, ip, ifindex);
        err = delete_key(r, &k);
        if (err == -ENOENT)
                return err;
        if (err < 0)
                return log_error_errno(err, "cannot delete responder entry", "ip=%s ifindex=%d",
                                       ipaddr_format(ip, buf), ifindex);
        log_debug("responder entry removed", "ip=%s ifindex=%d", ipaddr_format(ip, buf), ifindex);
        return 0;
}

int responder_entry_get(struct responder *r, const struct ipaddr *ip, int ifindex,
                        struct responder_entry *ret)
{
        struct l2resp_value v;
        struct l2resp_key k;

        assert(r);
        assert(ip);
        assert(ret);
        responder_key_init(&k, ip, ifindex);
        if (bpf_map_lookup_elem(r->entries_fd, &k, &v) < 0)
                return -errno;
        entry_from(ret, &k, &v);
        return 0;
}

/* Every key of the entries map (a snapshot; entries may change meanwhile). */
static int keys_from_fd(int fd, struct l2resp_key **ret, size_t *ret_n)
{
        struct l2resp_key *keys = NULL, cur, next;
        size_t n = 0, cap = 0;
        bool first = true;

        /* A hash map restarts from its first key when the current one was
         * deleted meanwhile; the bound keeps that from looping forever. */
        for (size_t guard = 0; guard < 4 * L2RESP_MAX_ENTRIES; guard++) {
                if (bpf_map_get_next_key(fd, first ? NULL : &cur, &next) < 0) {
                        int err = negative_errno();

                        if (err == -ENOENT)
                                break;
                        free(keys);
                        return err;
                }
                first = false;
                cur = next;
                if (n == cap) {
                        cap = cap ? 2 * cap : 64;
                        keys = xreallocarray(keys, cap, sizeof(*keys));
                }
                keys[n++] = cur;
        }
        *ret = keys;
        *ret_n = n;
        return 0;
}

static int entry_cmp(const void *a, const void *b)
{
        const struct responder_entry *x = a, *y = b;
        int c = ipaddr_cmp(&x->ip, &y->ip);

        if (c)
                return c;
        return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

static int list_from_fd(int fd, struct responder_entry **ret, size_t *ret_n)
{
        _cleanup_free_ struct l2resp_key *keys = NULL;
        struct responder_entry *entries;
        size_t n_keys, n = 0;
        int err;

        err = keys_from_fd(fd, &keys, &n_keys);
        if (err < 0)
                return err;
        entries = xnew(struct responder_entry, n_keys);
        for (size_t i = 0; i < n_keys; i++) {
                struct l2resp_value v;

                if (bpf_map_lookup_elem(fd, &keys[i], &v) < 0) {
                        if (errno == ENOENT)
                                continue; /* deleted meanwhile */
                        err = -errno;
                        free(entries);
                        return err;
                }
                entry_from(&entries[n++], &keys[i], &v);
        }
        qsort_safe(entries, n, sizeof(*entries), entry_cmp);
        *ret = entries;
        *ret_n = n;
        return 0;
}

int responder_list(struct responder *r, struct responder_entry **ret, size_t *ret_n)
{
        assert(r);
        assert(ret);
        assert(ret_n);
        return list_from_fd(r->entries_fd, ret, ret_n);
}

int responder_list_pinned(const char *bpf_root, struct responder_entry **ret, size_t *ret_n)
{
        _cleanup_free_ char *p = NULL;
        int fd, err;

        assert(ret);
        assert(ret_n);
        p = pin_path(bpf_root ? bpf_root : RESPONDER_BPF_ROOT_DEFAULT, L2RESP_PIN_ENTRIES);
        fd = bpf_obj_get(p);
        if (fd < 0)
                return -errno;
        err = list_from_fd(fd, ret, ret_n);
        (void)close(fd);
        return err;
}

static int key_cmp(const void *a, const void *b)
{
        return memcmp(a, b, sizeof(struct l2resp_key));
}

/* A few interfaces' MACs, looked up once per reconcile. */
struct mac_cache {
        int ifindex[8];
        int err[8];
        uint8_t mac[8][6];
        size_t n;
};

static int mac_cached(struct responder *r, int ifindex, uint8_t mac[6], struct mac_cache *c)
{
        size_t slot;
        int err;

        for (size_t i = 0; i < c->n; i++)
                if (c->ifindex[i] == ifindex) {
                        memcpy(mac, c->mac[i], 6);
                        return c->err[i];
                }
        err = responder_iface_mac(r, ifindex, mac);
        slot = c->n < ELEMENTSOF(c->ifindex) ? c->n++ : ELEMENTSOF(c->ifindex) - 1;
        c->ifindex[slot] = ifindex;
        c->err[slot] = err;
        memcpy(c->mac[slot], mac, 6);
        return err;
}

int responder_refresh_macs(struct responder *r, int ifindex, const uint8_t mac[6])
{
        _cleanup_free_ struct l2resp_key *keys = NULL;
        size_t n;
        int err;

        responder_shadow_forget(r);
        err = keys_from_fd(r->entries_fd, &keys, &n);
        if (err < 0)
                return err;
        for (size_t i = 0; i < n; i++) {
                if (keys[i].ifindex != (uint32_t)ifindex)
                        continue;
                err = run_set(r, &keys[i], 0, mac, L2RESP_SET_MAC);
                if (err < 0 && err != -ENOENT)
                        return err;
        }
        return 0;
}

/* What the last reconcile wrote, sorted by key, so that the next writes
 * only what changed: with thousands of entries the agent runs several
 * times a second, and most runs change nothing. The map itself is listed
 * when this is unknown (the first call, after an error or another writer
 * of ours) and at least every RESPONDER_RELIST_NS, to find entries someone
 * else left. */
#define RESPONDER_RELIST_NS (30 * 1000000000ULL)

static int shadow_cmp(const void *a, const void *b)
{
        return key_cmp(&((const struct responder_shadow *)a)->key,
                       &((const struct responder_shadow *)b)->key);
}

void responder_shadow_forget(struct responder *r)
{
        free(r->shadow);
        r->shadow = NULL;
        r->n_shadow = 0;
        r->shadow_valid = false;
}

/* Removes what the map holds and want does not: every key of the map after
 * a listing, else the keys of the shadow. */
static int remove_unwanted(struct responder *r, const struct l2resp_key *wanted, size_t n,
                           bool list, int *changes)
{
        _cleanup_free_ struct l2resp_key *have = NULL;
        size_t n_have = 0;
        int first_err = 0, err;

        if (list) {
                err = keys_from_fd(r->entries_fd, &have, &n_have);
                if (err < 0)
                        return log_error_errno(err, "cannot list responder entries");
        } else {
                have = xnew(struct l2resp_key, r->n_shadow);
                for (size_t i = 0; i < r->n_shadow; i++)
                        have[i] = r->shadow[i].key;
                n_have = r->n_shadow;
        }
        for (size_t i = 0; i < n_have; i++) {
                struct responder_entry e;
                char buf[IPADDR_STRLEN];

                if (bsearch(&have[i], wanted, n, sizeof(*wanted), key_cmp))
                        continue;
                err = delete_key(r, &have[i]);
                if (err == -ENOENT)
                        continue;
                entry_from(&e, &have[i], &(struct l2resp_value){});
                if (err < 0) {
                        log_error_errno(err, "cannot delete stale responder entry",
                                        "ip=%s ifindex=%d", ipaddr_format(&e.ip, buf), e.ifindex);
                        if (!first_err)
                                first_err = err;
                        continue;
                }
                if (list)
                        log_info("stale responder entry removed", "ip=%s ifindex=%d",
                                 ipaddr_format(&e.ip, buf), e.ifindex);
                (*changes)++;
        }
        return first_err;
}

int responder_reconcile(struct responder *r, const struct responder_want *want, size_t n)
{
        _cleanup_free_ struct l2resp_key *wanted = NULL;
        struct responder_shadow *next;
        struct mac_cache cache = {};
        uint64_t now = responder_now_ns();
        bool list = !r->shadow_valid || now >= r->shadow_listed_ns + RESPONDER_RELIST_NS;
        int changes = 0, first_err, err;

        assert(r);
        assert(want || n == 0);
        wanted = xnew(struct l2resp_key, n);
        for (size_t i = 0; i < n; i++)
                responder_key_init(&wanted[i], &want[i].ip, want[i].ifindex);
        qsort_safe(wanted, n, sizeof(*wanted), key_cmp);

        first_err = remove_unwanted(r, wanted, n, list, &changes);
        next = xnew(struct responder_shadow, n);
        for (size_t i = 0; i < n; i++) {
                struct responder_shadow *s = &next[i], *had;
                int res;

                responder_key_init(&s->key, &want[i].ip, want[i].ifindex);
                s->deadline_ns = want[i].deadline_ns;
                /* the MAC of each interface once per call */
                res = mac_cached(r, want[i].ifindex, s->mac, &cache);
                if (res >= 0) {
                        had = list ? NULL
                                   : bsearch(s, r->shadow, r->n_shadow, sizeof(*s), shadow_cmp);
                        if (had && had->deadline_ns == s->deadline_ns &&
                            memcmp(had->mac, s->mac, 6) == 0)
                                continue;
                        res = set_with_mac(r, &s->key, s->deadline_ns, s->mac);
                }
                if (res < 0) {
                        log_set_error(res, &want[i].ip, want[i].ifindex);
                        if (!first_err)
                                first_err = res;
                        continue;
                }
                if (res == L2RESP_SET_CREATED)
                        changes++;
        }
        qsort_safe(next, n, sizeof(*next), shadow_cmp);
        free(r->shadow);
        r->shadow = next;
        r->n_shadow = n;
        /* after an error the map may differ from the shadow: list it next time */
        r->shadow_valid = first_err == 0;
        if (list && first_err == 0)
                r->shadow_listed_ns = now;
        err = first_err;
        return err ? err : changes;
}

/* Take one group reference per IPv6 entry already in the (reused) map, so
 * that the refcounts match the entries after a restart; joining again is
 * harmless (SIOCADDMULTI's membership is one flag per address). */
static void mcast_rebuild(struct responder *r)
{
        _cleanup_free_ struct l2resp_key *keys = NULL;
        size_t n;

        if (keys_from_fd(r->entries_fd, &keys, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (keys[i].family == L2RESP_AF_INET6)
                        responder_mcast_ref(r, (int)keys[i].ifindex, keys[i].addr, +1);
}
