/* Address parsing uses inet_pton (strict dotted-quad and RFC 4291 text);
 * everything else is integer arithmetic on u128 values. */
#include "addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

unsigned ipaddr_bits(int family)
{
        return family == AF_INET ? 32 : 128;
}

u128 ipaddr_max(int family)
{
        return family == AF_INET ? (u128)UINT32_MAX : ~(u128)0;
}

void ipaddr_from_bytes(struct ipaddr *a, int family, const uint8_t *in)
{
        unsigned n = ipaddr_bits(family) / 8;

        a->family = (uint8_t)family;
        a->v = 0;
        for (unsigned i = 0; i < n; i++)
                a->v = (a->v << 8) | in[i];
}

void ipaddr_to_bytes(const struct ipaddr *a, uint8_t *out)
{
        unsigned n = ipaddr_bits(a->family) / 8;
        u128 v = a->v;

        for (unsigned i = n; i > 0; i--) {
                out[i - 1] = (uint8_t)(v & 0xff);
                v >>= 8;
        }
}

int ipaddr_parse(const char *s, struct ipaddr *ret)
{
        uint8_t buf[16];

        assert(s);
        assert(ret);
        if (strchr(s, ':')) {
                /* zones ("fe80::1%eth0") are not service addresses */
                if (strchr(s, '%') || inet_pton(AF_INET6, s, buf) != 1)
                        return -EINVAL;
                ipaddr_from_bytes(ret, AF_INET6, buf);
                return 0;
        }
        if (inet_pton(AF_INET, s, buf) != 1)
                return -EINVAL;
        ipaddr_from_bytes(ret, AF_INET, buf);
        return 0;
}

char *ipaddr_format(const struct ipaddr *a, char *buf)
{
        uint8_t b[16];

        ipaddr_to_bytes(a, b);
        if (!inet_ntop(a->family, b, buf, IPADDR_STRLEN))
                (void)snprintf(buf, IPADDR_STRLEN, "?");
        return buf;
}

int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        if (a->v != b->v)
                return a->v < b->v ? -1 : 1;
        return 0;
}

bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
        return ipaddr_cmp(a, b) == 0;
}

int iprange_cmp(const struct iprange *a, const struct iprange *b)
{
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        if (a->from != b->from)
                return a->from < b->from ? -1 : 1;
        if (a->to != b->to)
                return a->to < b->to ? -1 : 1;
        return 0;
}

int iprange_parse_cidr(const char *s, struct iprange *ret)
{
        const char *slash;
        char addr[IPADDR_STRLEN + 1];
        struct ipaddr a;
        unsigned long len = 0, bits;
        size_t n;

        assert(s);
        assert(ret);
        slash = strchr(s, '/');
        if (!slash)
                return -EINVAL;
        n = (size_t)(slash - s);
        if (n == 0 || n >= sizeof(addr))
                return -EINVAL;
        memcpy(addr, s, n);
        addr[n] = 0;
        if (ipaddr_parse(addr, &a) < 0)
                return -EINVAL;
        bits = ipaddr_bits(a.family);
        /* decimal without sign, leading zeros or blanks, as Go's netip */
        slash++;
        if (!*slash || (slash[0] == '0' && slash[1]) || strlen(slash) > 3)
                return -EINVAL;
        for (const char *p = slash; *p; p++) {
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                len = len * 10 + (unsigned long)(*p - '0');
        }
        if (len > bits)
                return -EINVAL;
        ret->family = a.family;
        if (len == 0) {
                ret->from = 0;
                ret->to = ipaddr_max(a.family);
        } else {
                u128 host = len == bits ? 0 : (((u128)1 << (bits - len)) - 1);

                ret->from = a.v & ~host & ipaddr_max(a.family);
                ret->to = ret->from | host;
        }
        return 0;
}

int iprange_from_start_stop(const char *start, const char *stop, struct iprange *ret,
                            const char **ret_reason)
{
        struct ipaddr a, b;
        const char *dummy;

        if (!ret_reason)
                ret_reason = &dummy;
        if (isempty(start) || ipaddr_parse(start, &a) < 0) {
                *ret_reason = "unable to parse start IP";
                return -EINVAL;
        }
        if (isempty(stop))
                b = a;
        else if (ipaddr_parse(stop, &b) < 0) {
                *ret_reason = "unable to parse stop IP";
                return -EINVAL;
        }
        if (a.family != b.family) {
                *ret_reason = "start and stop IPs are of different families";
                return -EINVAL;
        }
        if (a.v > b.v) {
                *ret_reason = "start IP is greater than stop IP";
                return -EINVAL;
        }
        ret->family = a.family;
        ret->from = a.v;
        ret->to = b.v;
        return 0;
}

bool iprange_contains(const struct iprange *r, const struct ipaddr *a)
{
        return r->family == a->family && r->from <= a->v && a->v <= r->to;
}

bool iprange_overlaps(const struct iprange *a, const struct iprange *b)
{
        return a->family == b->family && a->from <= b->to && b->from <= a->to;
}

u128 iprange_span(const struct iprange *r)
{
        return r->to - r->from;
}

char *iprange_format(const struct iprange *r, char *buf, size_t len)
{
        char f[IPADDR_STRLEN], t[IPADDR_STRLEN];
        struct ipaddr a = {.family = r->family, .v = r->from};
        struct ipaddr b = {.family = r->family, .v = r->to};

        (void)snprintf(buf, len, "%s - %s", ipaddr_format(&a, f), ipaddr_format(&b, t));
        return buf;
}

void bigcount_add(struct bigcount *c, u128 v)
{
        u128 old = c->lo;

        c->lo += v;
        if (c->lo < old)
                c->hi++;
}

void bigcount_add_one(struct bigcount *c)
{
        bigcount_add(c, 1);
}

int bigcount_cmp(const struct bigcount *a, const struct bigcount *b)
{
        if (a->hi != b->hi)
                return a->hi < b->hi ? -1 : 1;
        if (a->lo != b->lo)
                return a->lo < b->lo ? -1 : 1;
        return 0;
}

void bigcount_sub(struct bigcount *c, const struct bigcount *v)
{
        *c = bigcount_minus(*c, *v);
}

struct bigcount bigcount_minus(struct bigcount a, struct bigcount b)
{
        struct bigcount r = {0, 0};

        if (bigcount_cmp(&a, &b) <= 0)
                return r;
        r.hi = a.hi - b.hi;
        if (a.lo < b.lo)
                r.hi--;
        r.lo = a.lo - b.lo;
        return r;
}

char *bigcount_format(const struct bigcount *c, char *buf)
{
        /* three 64-bit limbs, most significant first; repeated division by 10 */
        uint64_t limb[3] = {c->hi, (uint64_t)(c->lo >> 64), (uint64_t)c->lo};
        char tmp[64];
        size_t n = 0;

        do {
                unsigned __int128 rem = 0;

                for (int i = 0; i < 3; i++) {
                        unsigned __int128 cur = (rem << 64) | limb[i];

                        limb[i] = (uint64_t)(cur / 10);
                        rem = cur % 10;
                }
                tmp[n++] = (char)('0' + (int)rem);
        } while (limb[0] || limb[1] || limb[2]);
        for (size_t i = 0; i < n; i++)
                buf[i] = tmp[n - 1 - i];
        buf[n] = 0;
        return buf;
}

double bigcount_to_double(const struct bigcount *c)
{
        return (double)c->hi * 340282366920938463463374607431768211456.0 + (double)c->lo;
}
