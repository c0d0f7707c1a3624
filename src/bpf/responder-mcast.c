/* Solicited-node multicast membership for IPv6 service IPs.
 *
 * Neighbor Solicitations for an address go to its solicited-node group
 * ff02::1:ffXX:XXXX, Ethernet 33:33:ff:XX:XX:XX. The kernel joins that group
 * only for addresses configured on the interface; a service IP is not, so a
 * NIC filtering multicast would drop the solicitations before XDP sees them
 * (Cilium #41678). We join the Ethernet group with SIOCADDMULTI, which needs
 * no IP address on the interface (Cilium #41641).
 *
 * Service IPs sharing their low 24 bits share a group, so memberships are
 * refcounted per (ifindex, group): join on the first entry, leave on the
 * last. The kernel keeps SIOCADDMULTI memberships as one flag per address
 * (separate from its own references for configured addresses), so joining
 * twice is harmless, and leaving never drops the kernel's own membership. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/util.h"
#include "responder-internal.h"

static void group_mac(const uint8_t addr[16], uint8_t mac[6])
{
        mac[0] = 0x33;
        mac[1] = 0x33;
        mac[2] = 0xff;
        mac[3] = addr[13];
        mac[4] = addr[14];
        mac[5] = addr[15];
}

static int group_change(struct responder *r, int ifindex, const uint8_t mac[6], bool join)
{
        struct ifreq ifr = {};
        int err;

        err = responder_iface_name(r, ifindex, ifr.ifr_name);
        if (err < 0)
                return err;
        ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
        memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
        if (ioctl(r->packet_fd, join ? SIOCADDMULTI : SIOCDELMULTI, &ifr) < 0)
                return -errno;
        return 0;
}

static struct mcast_group *group_find(struct responder *r, int ifindex, const uint8_t mac[6])
{
        for (size_t i = 0; i < r->n_groups; i++)
                if (r->groups[i].ifindex == ifindex && memcmp(r->groups[i].mac, mac, 6) == 0)
                        return &r->groups[i];
        return NULL;
}

static void log_group(enum log_level level, int err, const char *msg, int ifindex,
                      const uint8_t mac[6])
{
        log_emit(level, err, msg, "ifindex=%d group=%02x:%02x:%02x:%02x:%02x:%02x", ifindex, mac[0],
                 mac[1], mac[2], mac[3], mac[4], mac[5]);
}

void responder_mcast_ref(struct responder *r, int ifindex, const uint8_t addr[16], int delta)
{
        struct mcast_group *g;
        uint8_t mac[6];
        int err;

        assert(r);
        assert(addr);
        assert(delta == 1 || delta == -1);
        group_mac(addr, mac);
        g = group_find(r, ifindex, mac);

        if (delta > 0) {
                if (!g) {
                        r->groups = xreallocarray(r->groups, r->n_groups + 1, sizeof(*r->groups));
                        g = &r->groups[r->n_groups++];
                        *g = (struct mcast_group){.ifindex = ifindex};
                        memcpy(g->mac, mac, 6);
                }
                if (g->refs++ > 0)
                        return;
                err = group_change(r, ifindex, mac, true);
                if (err < 0) {
                        /* Still counted: the matching leave stays balanced, and
                         * interfaces that do not filter multicast work anyway. */
                        r->stats.mcast_errors++;
                        log_group(LOG_LEVEL_WARN, err, "cannot join solicited-node group", ifindex,
                                  mac);
                        return;
                }
                r->stats.mcast_joins++;
                log_group(LOG_LEVEL_DEBUG, 0, "joined solicited-node group", ifindex, mac);
                return;
        }

        if (!g || g->refs == 0)
                return;
        if (--g->refs > 0)
                return;
        err = group_change(r, ifindex, mac, false);
        if (err < 0 && err != -ENOENT && err != -ENODEV && err != -ENXIO) {
                r->stats.mcast_errors++;
                log_group(LOG_LEVEL_WARN, err, "cannot leave solicited-node group", ifindex, mac);
        } else if (err >= 0) {
                r->stats.mcast_leaves++;
                log_group(LOG_LEVEL_DEBUG, 0, "left solicited-node group", ifindex, mac);
        }
        *g = r->groups[--r->n_groups];
}

unsigned responder_mcast_refs(struct responder *r, const struct ipaddr *ip, int ifindex)
{
        struct mcast_group *g;
        uint8_t addr[16], mac[6];

        assert(r);
        assert(ip);
        if (ip->family != AF_INET6)
                return 0;
        ipaddr_to_bytes(ip, addr);
        group_mac(addr, mac);
        g = group_find(r, ifindex, mac);
        return g ? g->refs : 0;
}

void responder_mcast_free(struct responder *r)
{
        free(r->groups);
        r->groups = NULL;
        r->n_groups = 0;
}
