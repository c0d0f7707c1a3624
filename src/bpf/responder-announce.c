/* Gratuitous announcements: after a takeover the new holder tells the
 * segment at once instead of waiting for the neighbours' caches to expire.
 * For IPv4 both ARP forms go out (some hosts only update on requests, some
 * only on replies, as MetalLB found), for IPv6 an unsolicited Neighbor
 * Advertisement with Override=1 to all nodes. One call sends one burst
 * through the responder's AF_PACKET socket; the agent schedules repeats. */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <string.h>
#include <sys/socket.h>

#include "frames.h"
#include "lib/log.h"
#include "lib/util.h"
#include "responder-internal.h"

static int send_frame(struct responder *r, int ifindex, const uint8_t *frame, size_t len)
{
        struct sockaddr_ll sll = {
            .sll_family = AF_PACKET,
            .sll_ifindex = ifindex,
            .sll_halen = 6,
            .sll_protocol = (uint16_t)(frame[12] << 8 | frame[13]) == ETHERTYPE_ARP
                                ? htons(ETHERTYPE_ARP)
                                : htons(ETHERTYPE_IPV6),
        };
        ssize_t n;

        memcpy(sll.sll_addr, frame, 6);
        n = sendto(r->packet_fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EIO;
        return 0;
}

int responder_announce(struct responder *r, const struct ipaddr *ip, int ifindex)
{
        char buf[IPADDR_STRLEN];
        uint8_t mac[6], addr[16], frame[FRAME_NA_LEN];
        size_t len;
        int err;

        assert(r);
        assert(ip);
        err = responder_iface_mac(r, ifindex, mac);
        if (err < 0) {
                r->stats.send_errors++;
                return log_warn_errno(err, "cannot announce: no Ethernet address",
                                      "ip=%s ifindex=%d", ipaddr_format(ip, buf), ifindex);
        }
        ipaddr_to_bytes(ip, addr);

        if (ip->family == AF_INET) {
                for (int reply = 0; reply <= 1; reply++) {
                        len = frame_garp(frame, mac, addr, reply);
                        err = send_frame(r, ifindex, frame, len);
                        if (err < 0)
                                break;
                        if (reply)
                                r->stats.arp_replies_sent++;
                        else
                                r->stats.arp_requests_sent++;
                }
        } else {
                len = frame_unsolicited_na(frame, mac, addr);
                err = send_frame(r, ifindex, frame, len);
                if (err >= 0)
                        r->stats.nas_sent++;
        }
        if (err < 0) {
                r->stats.send_errors++;
                return log_warn_errno(err, "cannot send gratuitous announcement",
                                      "ip=%s ifindex=%d", ipaddr_format(ip, buf), ifindex);
        }
        log_debug("gratuitous announcement sent", "ip=%s ifindex=%d", ipaddr_format(ip, buf),
                  ifindex);
        return 0;
}
