/* libFuzzer target: RFC 3339 times (k8s_time_parse), and for every time that
 * parses, the round trip through k8s_time_format in both forms. */
#include <stdint.h>
#include <stdlib.h>

#include "api/objects.h"
#include "lib/util.h"

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: an offset can move a
 * parsed time outside the years k8s_time_format writes in four digits. */
#define TIME_MIN (-62167219200LL * 1000000)
#define TIME_MAX (253402300800LL * 1000000 - 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = xstrndup((const char *)data, size);
        int64_t t, back, secs;
        char buf[64];

        if (k8s_time_parse(s, &t) < 0 || t < TIME_MIN || t > TIME_MAX)
                return 0;
        if (k8s_time_parse(k8s_time_format(t, true, buf, sizeof(buf)), &back) < 0 || back != t)
                abort();
        secs = t / 1000000 - (t % 1000000 < 0);
        if (k8s_time_parse(k8s_time_format(t, false, buf, sizeof(buf)), &back) < 0 ||
            back != secs * 1000000)
                abort();
        return 0;
}
