/* libFuzzer target: addresses, CIDRs, start/stop ranges and durations —
 * every parser of short strings from users. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = strndup((const char *)data, size), *sep, buf[128];
        struct ipaddr a;
        struct iprange r;
        uint64_t usec;

        if (!s)
                return 0;
        if (ipaddr_parse(s, &a) >= 0)
                ipaddr_format(&a, buf);
        if (iprange_parse_cidr(s, &r) >= 0)
                iprange_format(&r, buf, sizeof(buf));
        if (duration_parse(s, &usec) >= 0)
                duration_format(usec, buf, sizeof(buf));
        sep = strchr(s, ' ');
        if (sep) {
                *sep = 0;
                (void)iprange_from_start_stop(s, sep + 1, &r, NULL);
        }
        free(s);
        return 0;
}
