/* One NETLINK_ROUTE socket subscribed to link, address and route changes,
 * and one for dumps. The dumps at start are read synchronously so the agent
 * knows its devices before its first run. Address and route notifications
 * only mark the facts stale (routes: default routes only): a batch of them
 * costs one dump of addresses and routes, 100 ms later, as Cilium batches. */
#include "links.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <libmnl/libmnl.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices.h"
#include "lib/log.h"
#include "lib/util.h"

struct links {
        struct mnl_socket *nl;   /* notifications (and the first link dump) */
        struct mnl_socket *dump; /* address and route dumps */
        sd_event_source *io;
        sd_event_source *resync;
        links_cb_t cb;
        void *userdata;
        unsigned seq;
        char *buf;
        GHashTable *links; /* ifindex → struct link_info */
        bool initial;      /* the first dumps: store, report at the end */
};

#define BUFSZ     (MNL_SOCKET_BUFFER_SIZE * 4)
#define RESYNC_US (100 * USEC_PER_MSEC)

/* Attributes by type into tb[0..max]: mnl_attr_parse's callback. */
struct attrs {
        const struct nlattr **tb;
        uint16_t max;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
        const struct attrs *a = data;

        if (mnl_attr_type_valid(attr, a->max) < 0)
                return MNL_CB_OK;
        a->tb[mnl_attr_get_type(attr)] = attr;
        return MNL_CB_OK;
}

/* The attributes of a message whose fixed header is hdrlen bytes. */
static int parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
                       uint16_t max)
{
        struct attrs a = {tb, max};

        if (nlh->nlmsg_len < mnl_nlmsg_size(hdrlen))
                return -EBADMSG;
        return mnl_attr_parse(nlh, (unsigned)hdrlen, attr_cb, &a) < 0 ? -EBADMSG : 0;
}

static void schedule_resync(struct links *l)
{
        int enabled = SD_EVENT_OFF;

        if (l->initial || !l->resync)
                return;
        (void)sd_event_source_get_enabled(l->resync, &enabled);
        if (enabled != SD_EVENT_OFF)
                return; /* batched with the pending one */
        (void)sd_event_source_set_time_relative(l->resync, RESYNC_US);
        (void)sd_event_source_set_enabled(l->resync, SD_EVENT_ONESHOT);
}

static void parse_link(const struct nlmsghdr *nlh, struct link_info *info)
{
        struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[IFLA_MAX + 1] = {0};

        (void)parse_attrs(nlh, sizeof(*ifm), tb, IFLA_MAX);
        info->ifindex = ifm->ifi_index;
        if (tb[IFLA_IFNAME])
                (void)snprintf(info->name, sizeof(info->name), "%s",
                               mnl_attr_get_str(tb[IFLA_IFNAME]));
        if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
                memcpy(info->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
                info->ether = ifm->ifi_type == ARPHRD_ETHER;
        }
        info->flags = ifm->ifi_flags;
        info->up = ifm->ifi_flags & IFF_UP;
        info->carrier = (ifm->ifi_flags & IFF_LOWER_UP) && info->up;
        if (tb[IFLA_MASTER] && mnl_attr_get_payload_len(tb[IFLA_MASTER]) >= sizeof(uint32_t))
                info->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
        if (tb[IFLA_LINKINFO]) {
                const struct nlattr *li[IFLA_INFO_MAX + 1] = {0};
                struct attrs a = {li, IFLA_INFO_MAX};

                if (mnl_attr_parse_nested(tb[IFLA_LINKINFO], attr_cb, &a) >= 0 &&
                    li[IFLA_INFO_KIND])
                        (void)snprintf(info->kind, sizeof(info->kind), "%s",
                                       mnl_attr_get_str(li[IFLA_INFO_KIND]));
        }
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
        struct links *l = data;
        struct link_info info = {0};
        struct link_info *old;

        switch (nlh->nlmsg_type) {
        case RTM_NEWADDR:
        case RTM_DELADDR:
                schedule_resync(l);
                return MNL_CB_OK;
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
                /* only default routes matter: pod routes (one per pod with
                 * some CNIs) cost no dump */
                if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(struct rtmsg)) &&
                    ((const struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_dst_len == 0)
                        schedule_resync(l);
                return MNL_CB_OK;
        case RTM_NEWLINK:
        case RTM_DELLINK:
                break;
        default:
                return MNL_CB_OK;
        }
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
                return MNL_CB_OK;
        parse_link(nlh, &info);
        old = g_hash_table_lookup(l->links, GINT_TO_POINTER(info.ifindex));
        if (nlh->nlmsg_type == RTM_DELLINK) {
                if (old && !l->initial)
                        l->cb(l->userdata, old, true);
                g_hash_table_remove(l->links, GINT_TO_POINTER(info.ifindex));
                return MNL_CB_OK;
        }
        if (old) {
                /* the address and route facts come from the dumps */
                info.global_addr = old->global_addr;
                info.default_route = old->default_route;
        }
        g_hash_table_replace(l->links, GINT_TO_POINTER(info.ifindex),
                             g_memdup2(&info, sizeof(info)));
        if (!l->initial)
                l->cb(l->userdata, &info, false);
        return MNL_CB_OK;
}

/* ---- address and route dumps ---- */

struct facts {
        GHashTable *global; /* ifindex set: a global unicast address */
        GHashTable *deflt;  /* ifindex set: a default route */
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
        struct facts *f = data;
        struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[IFA_MAX + 1] = {0};
        const struct nlattr *at;
        struct ipaddr a;
        size_t len;

        if (nlh->nlmsg_type != RTM_NEWADDR || parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX) < 0)
                return MNL_CB_OK;
        /* IFA_LOCAL is the address itself on point-to-point IPv4 links */
        at = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        len = ifa->ifa_family == AF_INET ? 4 : 16;
        if (!at || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) ||
            mnl_attr_get_payload_len(at) != len)
                return MNL_CB_OK;
        ipaddr_from_bytes(&a, ifa->ifa_family, mnl_attr_get_payload(at));
        if (devices_global_unicast(&a))
                g_hash_table_add(f->global, GINT_TO_POINTER((int)ifa->ifa_index));
        return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
        struct facts *f = data;
        struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[RTA_MAX + 1] = {0};
        uint32_t table;

        if (nlh->nlmsg_type != RTM_NEWROUTE || parse_attrs(nlh, sizeof(*rt), tb, RTA_MAX) < 0)
                return MNL_CB_OK;
        table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rt->rtm_table;
        if (rt->rtm_dst_len != 0 || rt->rtm_type != RTN_UNICAST || table == RT_TABLE_LOCAL)
                return MNL_CB_OK;
        if (tb[RTA_OIF])
                g_hash_table_add(f->deflt, GINT_TO_POINTER((int)mnl_attr_get_u32(tb[RTA_OIF])));
        if (tb[RTA_MULTIPATH]) {
                const struct rtnexthop *nh = mnl_attr_get_payload(tb[RTA_MULTIPATH]);
                int left = (int)mnl_attr_get_payload_len(tb[RTA_MULTIPATH]);

                while (left >= (int)sizeof(*nh) && RTNH_OK(nh, left)) {
                        g_hash_table_add(f->deflt, GINT_TO_POINTER(nh->rtnh_ifindex));
                        left -= (int)RTNH_ALIGN(nh->rtnh_len);
                        nh = RTNH_NEXT(nh);
                }
        }
        return MNL_CB_OK;
}

/* A dump of type (family AF_UNSPEC, a header of hdrlen zeroed bytes) on the
 * dump socket, read to the end. */
static int dump(struct links *l, uint16_t type, size_t hdrlen, mnl_cb_t cb, void *data)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(l->buf);
        unsigned portid = mnl_socket_get_portid(l->dump);

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = ++l->seq;
        (void)mnl_nlmsg_put_extra_header(nlh, hdrlen); /* zeroed: AF_UNSPEC */
        if (mnl_socket_sendto(l->dump, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(l->dump, l->buf, BUFSZ);
                int r;

                if (n < 0)
                        return -errno;
                r = mnl_cb_run(l->buf, (size_t)n, l->seq, portid, cb, data);
                if (r < 0)
                        return -errno;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static int cmp_ifindex(gconstpointer a, gconstpointer b)
{
        int x = GPOINTER_TO_INT(a), y = GPOINTER_TO_INT(b);

        return x < y ? -1 : x > y;
}

/* Re-read addresses and routes; report the devices whose facts changed. */
static int resync(struct links *l)
{
        struct facts f = {g_hash_table_new(NULL, NULL), g_hash_table_new(NULL, NULL)};
        GList *keys;
        int r;

        r = dump(l, RTM_GETADDR, sizeof(struct ifaddrmsg), addr_cb, &f);
        if (r >= 0)
                r = dump(l, RTM_GETROUTE, sizeof(struct rtmsg), route_cb, &f);
        if (r < 0) {
                log_warn_errno(r, "cannot read addresses and routes from netlink");
                goto done;
        }
        keys = g_list_sort(g_hash_table_get_keys(l->links), cmp_ifindex);
        for (GList *k = keys; k; k = k->next) {
                struct link_info *info = g_hash_table_lookup(l->links, k->data);
                bool g = g_hash_table_contains(f.global, k->data);
                bool d = g_hash_table_contains(f.deflt, k->data);

                if (info->global_addr == g && info->default_route == d)
                        continue;
                info->global_addr = g;
                info->default_route = d;
                if (!l->initial)
                        l->cb(l->userdata, info, false);
        }
        g_list_free(keys);
done:
        g_hash_table_unref(f.global);
        g_hash_table_unref(f.deflt);
        return r;
}

static int on_resync(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        (void)resync(userdata);
        return 0;
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct links *l = userdata;
        ssize_t n;

        (void)s;
        (void)fd;
        (void)revents;
        for (;;) {
                n = mnl_socket_recvfrom(l->nl, l->buf, BUFSZ);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        if (errno == ENOBUFS) {
                                /* lost notifications: the next change resyncs that device;
                                 * log so a missed carrier change is visible */
                                log_warn("netlink notifications lost (ENOBUFS)");
                                schedule_resync(l);
                                continue;
                        }
                        log_warn_errno(-errno, "netlink receive failed");
                        return 0;
                }
                (void)mnl_cb_run(l->buf, (size_t)n, 0, 0, msg_cb, l);
        }
}

static struct mnl_socket *open_socket(void)
{
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

        if (!nl)
                return NULL;
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int e = errno;

                (void)mnl_socket_close(nl);
                errno = e;
                return NULL;
        }
        return nl;
}

int links_open(sd_event *e, links_cb_t cb, void *userdata, struct links **ret)
{
        static unsigned groups[] = {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                    RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE};
        struct links *l;
        struct nlmsghdr *nlh;
        struct rtgenmsg *rt;
        unsigned portid;
        GList *keys;
        int r;

        assert(e);
        assert(cb);
        assert(ret);
        l = xnew(struct links, 1);
        l->cb = cb;
        l->userdata = userdata;
        l->buf = xmalloc(BUFSZ);
        l->links = g_hash_table_new_full(NULL, NULL, NULL, g_free);
        l->initial = true;
        l->nl = open_socket();
        l->dump = l->nl ? open_socket() : NULL;
        if (!l->dump) {
                r = -errno;
                goto fail;
        }
        portid = mnl_socket_get_portid(l->nl);
        /* subscribe first so that no change between the dump and the
         * subscription is missed (notifications pass mnl's seq/portid checks) */
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (mnl_socket_setsockopt(l->nl, NETLINK_ADD_MEMBERSHIP, &groups[i],
                                          sizeof(groups[i])) < 0) {
                        r = -errno;
                        goto fail;
                }
        /* the link dump, read to the end */
        nlh = mnl_nlmsg_put_header(l->buf);
        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = l->seq = (unsigned)time(NULL);
        rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
        rt->rtgen_family = AF_PACKET;
        if (mnl_socket_sendto(l->nl, nlh, nlh->nlmsg_len) < 0) {
                r = -errno;
                goto fail;
        }
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(l->nl, l->buf, BUFSZ);

                if (n < 0) {
                        r = -errno;
                        goto fail;
                }
                r = mnl_cb_run(l->buf, (size_t)n, l->seq, portid, msg_cb, l);
                if (r < 0) {
                        r = -errno;
                        goto fail;
                }
                if (r == MNL_CB_STOP)
                        break;
        }
        r = resync(l);
        if (r < 0)
                goto fail;
        /* report what the dumps found, then changes */
        l->initial = false;
        keys = g_list_sort(g_hash_table_get_keys(l->links), cmp_ifindex);
        for (GList *k = keys; k; k = k->next)
                l->cb(l->userdata, g_hash_table_lookup(l->links, k->data), false);
        g_list_free(keys);
        r = sd_event_add_io(e, &l->io, mnl_socket_get_fd(l->nl), EPOLLIN, on_readable, l);
        if (r < 0)
                goto fail;
        r = sd_event_add_time(e, &l->resync, CLOCK_MONOTONIC, UINT64_MAX, 10 * USEC_PER_MSEC,
                              on_resync, l);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_enabled(l->resync, SD_EVENT_OFF);
        {
                int fd = mnl_socket_get_fd(l->nl);

                /* non-blocking reads from the loop */
                r = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                if (r < 0) {
                        r = -errno;
                        goto fail;
                }
        }
        *ret = l;
        return 0;
fail:
        log_error_errno(r, "cannot read network devices from netlink");
        links_free(l);
        return r;
}

void links_free(struct links *l)
{
        if (!l)
                return;
        (void)sd_event_source_disable_unref(l->io);
        (void)sd_event_source_disable_unref(l->resync);
        if (l->nl)
                (void)mnl_socket_close(l->nl);
        if (l->dump)
                (void)mnl_socket_close(l->dump);
        g_hash_table_unref(l->links);
        free(l->buf);
        free(l);
}

void links_arp_sysctls(int *ret_arp_ignore, int *ret_arp_announce)
{
        assert(ret_arp_ignore);
        assert(ret_arp_announce);
        *ret_arp_ignore = read_int_file("/proc/sys/net/ipv4/conf/all/arp_ignore");
        *ret_arp_announce = read_int_file("/proc/sys/net/ipv4/conf/all/arp_announce");
}
