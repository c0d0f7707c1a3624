/* IP addresses, prefixes and inclusive ranges for both families.
 *
 * An address is a family plus its value as a 128-bit integer (IPv4 uses the
 * low 32 bits), so range arithmetic — containment, overlap, counting, the
 * next free address — is plain integer arithmetic. Counts can exceed 2^64
 * (an IPv6 /64 pool) and even 2^128 (::/0 plus anything), hence bigcount. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef unsigned __int128 u128;

struct ipaddr {
        uint8_t family; /* AF_INET or AF_INET6 */
        u128 v;
};

struct iprange {
        uint8_t family;
        u128 from, to; /* inclusive */
};

#define IPADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

int ipaddr_parse(const char *s, struct ipaddr *ret);
/* Formats into buf (>= IPADDR_STRLEN bytes) and returns it. */
char *ipaddr_format(const struct ipaddr *a, char *buf);
int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b);
bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
/* Network byte order bytes: 4 for IPv4, 16 for IPv6. */
void ipaddr_to_bytes(const struct ipaddr *a, uint8_t *out);
void ipaddr_from_bytes(struct ipaddr *a, int family, const uint8_t *in);
unsigned ipaddr_bits(int family);
u128 ipaddr_max(int family);

/* "10.0.0.0/24" → the masked prefix as a range (host bits dropped). */
int iprange_parse_cidr(const char *s, struct iprange *ret);
/* start alone, or start..stop inclusive; families must agree, start <= stop. */
int iprange_from_start_stop(const char *start, const char *stop, struct iprange *ret,
                            const char **ret_reason);
/* By family (IPv4 first), then first address, then last address. */
int iprange_cmp(const struct iprange *a, const struct iprange *b);
bool iprange_contains(const struct iprange *r, const struct ipaddr *a);
bool iprange_overlaps(const struct iprange *a, const struct iprange *b);
/* Number of addresses minus one (a /0 IPv6 range has 2^128 addresses). */
u128 iprange_span(const struct iprange *r);
/* "from - to", as Cilium's conflict messages print ranges. */
char *iprange_format(const struct iprange *r, char *buf, size_t len);

/* Exact non-negative integers up to 2^192, for address counts. */
struct bigcount {
        u128 lo;
        uint64_t hi;
};

void bigcount_add(struct bigcount *c, u128 v);
void bigcount_add_one(struct bigcount *c);
void bigcount_sub(struct bigcount *c, const struct bigcount *v);
/* a - b saturating at 0. */
struct bigcount bigcount_minus(struct bigcount a, struct bigcount b);
int bigcount_cmp(const struct bigcount *a, const struct bigcount *b);
/* Decimal; buf of at least 60 bytes. */
char *bigcount_format(const struct bigcount *c, char *buf);
/* Saturating conversion for metrics. */
double bigcount_to_double(const struct bigcount *c);
