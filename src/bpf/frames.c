/* Byte-exact construction of the frames in frames.h. Offsets follow the
 * wire formats (RFC 826 for ARP, RFC 8200 and RFC 4861 for IPv6 NDP); the
 * tests compare them with literal bytes. */
#include "frames.h"

#include <assert.h>
#include <string.h>

static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static size_t arp_frame(uint8_t *b, uint16_t op, const uint8_t sha[6], const uint8_t spa[4],
                        const uint8_t tha[6], const uint8_t tpa[4])
{
        memset(b, 0, FRAME_ARP_LEN);
        memcpy(b, broadcast, 6);
        memcpy(b + 6, sha, 6);
        b[12] = 0x08, b[13] = 0x06;        /* ARP */
        b[14] = 0x00, b[15] = 0x01;        /* hardware: Ethernet */
        b[16] = 0x08, b[17] = 0x00;        /* protocol: IPv4 */
        b[18] = 6, b[19] = 4;              /* address lengths */
        b[20] = 0x00, b[21] = (uint8_t)op; /* operation */
        memcpy(b + 22, sha, 6);
        memcpy(b + 28, spa, 4);
        memcpy(b + 32, tha, 6);
        memcpy(b + 38, tpa, 4);
        return FRAME_ARP_LEN;
}

size_t frame_garp(uint8_t buf[FRAME_ARP_LEN], const uint8_t mac[6], const uint8_t ip[4], bool reply)
{
        static const uint8_t zero[6];

        assert(buf && mac && ip);
        return arp_frame(buf, reply ? 2 : 1, mac, ip, reply ? mac : zero, ip);
}

size_t frame_arp_request(uint8_t buf[FRAME_ARP_LEN], const uint8_t sender_mac[6],
                         const uint8_t sender_ip[4], const uint8_t target_ip[4])
{
        static const uint8_t zero[6];

        assert(buf && sender_mac && sender_ip && target_ip);
        return arp_frame(buf, 1, sender_mac, sender_ip, zero, target_ip);
}

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
        for (size_t i = 0; i + 1 < len; i += 2)
                sum += (uint32_t)(p[i] << 8 | p[i + 1]);
        if (len & 1)
                sum += (uint32_t)(p[len - 1] << 8);
        return sum;
}

uint16_t frame_icmp6_checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
                              size_t len)
{
        uint8_t tail[8] = {(uint8_t)(len >> 24),
                           (uint8_t)(len >> 16),
                           (uint8_t)(len >> 8),
                           (uint8_t)len,
                           0,
                           0,
                           0,
                           58};
        uint32_t sum = 0;

        sum = sum16(sum, src, 16);
        sum = sum16(sum, dst, 16);
        sum = sum16(sum, tail, sizeof(tail));
        sum = sum16(sum, msg, len);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t)~sum;
}

size_t frame_unsolicited_na(uint8_t buf[FRAME_NA_LEN], const uint8_t mac[6], const uint8_t ip[16])
{
        static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};
        static const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
        uint8_t *ip6 = buf + 14, *na = buf + 54;
        uint16_t csum;

        assert(buf && mac && ip);
        memset(buf, 0, FRAME_NA_LEN);
        memcpy(buf, all_nodes_mac, 6);
        memcpy(buf + 6, mac, 6);
        buf[12] = 0x86, buf[13] = 0xdd;
        ip6[0] = 0x60;           /* version 6, traffic class 0, flow label 0 */
        ip6[4] = 0, ip6[5] = 32; /* payload: NA (24) + option (8) */
        ip6[6] = 58;             /* ICMPv6 */
        ip6[7] = 255;            /* hop limit */
        memcpy(ip6 + 8, ip, 16);
        memcpy(ip6 + 24, all_nodes, 16);
        na[0] = 136;  /* Neighbor Advertisement, code 0 */
        na[4] = 0x20; /* R=0 S=0 O=1 */
        memcpy(na + 8, ip, 16);
        na[24] = 2, na[25] = 1; /* target link-layer address, 8 bytes */
        memcpy(na + 26, mac, 6);
        csum = frame_icmp6_checksum(ip, all_nodes, na, 32);
        na[2] = (uint8_t)(csum >> 8), na[3] = (uint8_t)csum;
        return FRAME_NA_LEN;
}
