/* The framing of a watch response: one JSON event a line,
 * {"type": "ADDED", "object": {...}}, decoded from a buffer that fills as
 * bytes arrive. No I/O, so it is unit-tested.
 *
 * A line that is not such an event cannot be skipped: the event it carried
 * would be lost and the cache would drift from the truth. The caller ends
 * the watch instead, and its owner lists again. */
#pragma once

#include <jansson.h>
#include <stddef.h>

struct kube_watch_event {
        json_t *json;     /* owned: the whole event */
        const char *type; /* borrowed from json */
        json_t *object;   /* borrowed from json */
};

/* The next complete line of buf[*pos, len), *pos moved past it (empty lines
 * are skipped). Returns 1 with *ret (json_decref(ret->json) when done), 0
 * when no complete line is left, or -EBADMSG for a line that is not a watch
 * event, with *ret_error saying why. Strings may hold NULs (the API allows
 * them in annotation values). */
int kube_watch_frame_next(const char *buf, size_t len, size_t *pos, struct kube_watch_event *ret,
                          char **ret_error);
