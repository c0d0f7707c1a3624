/* libFuzzer target: watch framing (newline-delimited events, split anywhere
 * by the transport), each event's object key, and for ERROR events the
 * Status fields the informer reads (code, details.retryAfterSeconds) and its
 * retry decision. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/objects.h"
#include "kube/informer.h"
#include "kube/watch-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t pos = 0;

        for (;;) {
                struct kube_watch_event ev = {0};
                char *err = NULL;
                size_t before = pos;
                int r = kube_watch_frame_next((const char *)data, size, &pos, &ev, &err);

                free(err);
                if (r > 0) {
                        char *kerr = NULL, *key = k8s_key_from_json(ev.object, &kerr);

                        if (ev.type && strcmp(ev.type, "ERROR") == 0) {
                                json_int_t code =
                                    json_integer_value(json_object_get(ev.object, "code"));
                                json_int_t ra = json_integer_value(json_object_get(
                                    json_object_get(ev.object, "details"), "retryAfterSeconds"));

                                (void)kube_informer_watch_retry(
                                    (long)code, -5, ra > 0 ? (uint64_t)ra * 1000000 : 0, 1000000);
                        }
                        free(key);
                        free(kerr);
                        json_decref(ev.json);
                }
                /* a bad line is passed over, as the client does not: it
                 * ends the watch; the lines after it are fuzzed too */
                if (r == 0 || pos <= before)
                        break;
        }
        return 0;
}
