/* libFuzzer target: the node-heartbeat election's shard codec
 * (announce/bindings.h), the l2lb.io/bindings annotation any writer of a
 * Lease can set. Every input parses without a crash; whatever parses is
 * written back canonically, and that text parses to the same bindings and
 * the same text again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "announce/announce.h"
#include "announce/bindings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct bindings b = {0}, c = {0};
        char *text, *err = NULL, *again;
        int shard;

        if (size == 0)
                return 0;
        /* the first byte picks the shard the entries must belong to */
        shard = data[0] % (ANNOUNCE_SHARDS + 1) - 1;
        text = strndup((const char *)data + 1, size - 1);
        if (!text)
                return 0;
        (void)bindings_parse(text, shard, &b, &err);
        free(err);
        free(text);
        text = bindings_format(&b);
        if (bindings_parse(text, shard, &c, &err) != 0 || c.n != b.n)
                abort();
        again = bindings_format(&c);
        if (strcmp(text, again) != 0)
                abort();
        free(again);
        free(text);
        bindings_done(&b);
        bindings_done(&c);
        return 0;
}
