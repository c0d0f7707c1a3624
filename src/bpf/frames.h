/* Ethernet frames the responder sends from user space, built byte by byte:
 * gratuitous ARP (request and reply form) and the unsolicited Neighbor
 * Advertisement, plus an ARP request (benchmarks use it as load). Pure
 * functions: buffers in, lengths out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_ARP_LEN 60 /* 42 bytes of headers, zero-padded to the Ethernet minimum */
#define FRAME_NA_LEN  86 /* Ethernet + IPv6 + NA + target link-layer address option */

/* Gratuitous ARP for ip from mac, to ff:ff:ff:ff:ff:ff: sender = target = ip,
 * sha = mac. Request form: tha = 0 (RFC 5227 §2.3 announcement); reply form:
 * tha = mac (RFC 5944 §4.6). */
size_t frame_garp(uint8_t buf[FRAME_ARP_LEN], const uint8_t mac[6], const uint8_t ip[4],
                  bool reply);
/* Broadcast ARP request who-has target tell sender_ip (sender_mac). */
size_t frame_arp_request(uint8_t buf[FRAME_ARP_LEN], const uint8_t sender_mac[6],
                         const uint8_t sender_ip[4], const uint8_t target_ip[4]);
/* Unsolicited NA for ip from mac to ff02::1 (33:33:00:00:00:01): source =
 * ip, hop limit 255, R=0 S=0 O=1, target link-layer address option = mac. */
size_t frame_unsolicited_na(uint8_t buf[FRAME_NA_LEN], const uint8_t mac[6], const uint8_t ip[16]);
/* The ICMPv6 checksum of msg (checksum field included as it is) with the
 * pseudo-header for src → dst. A message carrying a correct checksum gives 0. */
uint16_t frame_icmp6_checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
                              size_t len);
