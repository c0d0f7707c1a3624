/* One NETLINK_ROUTE socket subscribed to RTMGRP_LINK; the dump at start is
 * read synchronously so the agent knows its devices before its first run. */
#include "links.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <libmnl/libmnl.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/util.h"

struct links {
        struct mnl_socket *nl;
        sd_event_source *io;
        links_cb_t cb;
        void *userdata;
        unsigned seq;
        char *buf;
};

#define BUFSZ (MNL_SOCKET_BUFFER_SIZE * 4)

static int attr_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        int type = mnl_attr_get_type(attr);

        if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
                return MNL_CB_OK;
        tb[type] = attr;
        return MNL_CB_OK;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
        struct links *l = data;
        struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[IFLA_MAX + 1] = {0};
        struct link_info info = {0};

        if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
                return MNL_CB_OK;
        if (mnl_attr_parse(nlh, sizeof(*ifm), attr_cb, tb) < 0)
                return MNL_CB_OK;
        info.ifindex = ifm->ifi_index;
        if (tb[IFLA_IFNAME])
                (void)snprintf(info.name, sizeof(info.name), "%s",
                               mnl_attr_get_str(tb[IFLA_IFNAME]));
        if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
                memcpy(info.mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
                info.ether = ifm->ifi_type == ARPHRD_ETHER;
        }
        info.up = ifm->ifi_flags & IFF_UP;
        info.carrier = (ifm->ifi_flags & IFF_LOWER_UP) && info.up;
        l->cb(l->userdata, &info, nlh->nlmsg_type == RTM_DELLINK);
        return MNL_CB_OK;
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
                                continue;
                        }
                        log_warn_errno(-errno, "netlink receive failed");
                        return 0;
                }
                (void)mnl_cb_run(l->buf, (size_t)n, 0, 0, msg_cb, l);
        }
}

int links_open(sd_event *e, links_cb_t cb, void *userdata, struct links **ret)
{
        struct links *l;
        struct nlmsghdr *nlh;
        struct rtgenmsg *rt;
        unsigned portid;
        int r;

        assert(e);
        assert(cb);
        assert(ret);
        l = xnew(struct links, 1);
        l->cb = cb;
        l->userdata = userdata;
        l->buf = xmalloc(BUFSZ);
        l->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!l->nl) {
                r = -errno;
                goto fail;
        }
        if (mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                goto fail;
        }
        portid = mnl_socket_get_portid(l->nl);
        /* subscribe first so that no change between the dump and the
         * subscription is missed (notifications pass mnl's seq/portid checks) */
        {
                unsigned group = RTNLGRP_LINK;

                if (mnl_socket_setsockopt(l->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) <
                    0) {
                        r = -errno;
                        goto fail;
                }
        }
        /* the dump, read to the end */
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
        r = sd_event_add_io(e, &l->io, mnl_socket_get_fd(l->nl), EPOLLIN, on_readable, l);
        if (r < 0)
                goto fail;
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
        if (l->nl)
                (void)mnl_socket_close(l->nl);
        free(l->buf);
        free(l);
}
