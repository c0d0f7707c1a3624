/* Go duration syntax: a sequence of decimal numbers, each with an optional
 * fraction and a unit (ns, us, µs, μs, ms, s, m, h). "0" needs no unit. */
#include "duration.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const struct {
        const char *name;
        uint64_t nsec;
} units[] = {
    {"ns", 1ULL},
    {"us", 1000ULL},
    {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000ULL}, /* U+03BC greek mu */
    {"ms", 1000000ULL},
    {"s", 1000000000ULL},
    {"m", 60ULL * 1000000000ULL},
    {"h", 3600ULL * 1000000000ULL},
};

int duration_parse(const char *s, uint64_t *ret_usec)
{
        unsigned __int128 total = 0;
        const char *p = s;

        assert(s);
        assert(ret_usec);
        if (*p == '+')
                p++;
        if (*p == '-')
                return -EINVAL;
        if (streq(p, "0")) {
                *ret_usec = 0;
                return 0;
        }
        if (!*p)
                return -EINVAL;
        while (*p) {
                uint64_t whole = 0, frac = 0, scale = 1, unit = 0;
                bool digits = false;
                size_t ulen = 0;

                while (*p >= '0' && *p <= '9') {
                        if (whole > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        whole = whole * 10 + (uint64_t)(*p - '0');
                        p++;
                        digits = true;
                }
                if (*p == '.') {
                        p++;
                        while (*p >= '0' && *p <= '9') {
                                if (scale < 1000000000000000000ULL) {
                                        frac = frac * 10 + (uint64_t)(*p - '0');
                                        scale *= 10;
                                }
                                p++;
                                digits = true;
                        }
                }
                if (!digits)
                        return -EINVAL;
                for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                        size_t l = strlen(units[i].name);

                        /* longest match: "ms" before "m", "ns"/"us" are two letters */
                        if (strncmp(p, units[i].name, l) == 0 && l > ulen) {
                                ulen = l;
                                unit = units[i].nsec;
                        }
                }
                if (!unit)
                        return -EINVAL;
                p += ulen;
                total += (unsigned __int128)whole * unit;
                total += (unsigned __int128)frac * unit / scale;
                if (total > (unsigned __int128)INT64_MAX)
                        return -ERANGE;
        }
        *ret_usec = (uint64_t)(total / 1000);
        return 0;
}

/* Go prints the largest units first: h, m, then seconds with a fraction;
 * below one second it uses ms, µs or ns with a fraction. */
char *duration_format(uint64_t usec, char *buf, size_t len)
{
        char frac[16] = "";
        size_t o = 0;

        assert(buf);
        if (usec == 0) {
                (void)snprintf(buf, len, "0s");
                return buf;
        }
        if (usec < USEC_PER_SEC) {
                uint64_t whole, rem;
                const char *unit;

                if (usec < 1000) {
                        (void)snprintf(buf, len, "%" PRIu64 "\xc2\xb5s", usec);
                        return buf;
                }
                whole = usec / 1000;
                rem = usec % 1000;
                unit = "ms";
                if (rem) {
                        (void)snprintf(frac, sizeof(frac), ".%03" PRIu64, rem);
                        for (size_t l = strlen(frac); l > 0 && frac[l - 1] == '0'; l--)
                                frac[l - 1] = 0;
                }
                (void)snprintf(buf, len, "%" PRIu64 "%s%s", whole, frac, unit);
                return buf;
        }
        {
                uint64_t h = usec / (3600 * USEC_PER_SEC);
                uint64_t m = (usec / (60 * USEC_PER_SEC)) % 60;
                uint64_t s = (usec / USEC_PER_SEC) % 60;
                uint64_t rem = usec % USEC_PER_SEC;

                if (rem) {
                        (void)snprintf(frac, sizeof(frac), ".%06" PRIu64, rem);
                        for (size_t l = strlen(frac); l > 0 && frac[l - 1] == '0'; l--)
                                frac[l - 1] = 0;
                }
                if (h)
                        o += (size_t)snprintf(buf + o, len - o, "%" PRIu64 "h", h);
                if (h || m)
                        o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%" PRIu64 "m", m);
                (void)snprintf(buf + o, o < len ? len - o : 0, "%" PRIu64 "%ss", s, frac);
        }
        return buf;
}
