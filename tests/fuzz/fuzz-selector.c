/* libFuzzer target: label selector parsing and matching. The input is a
 * JSON selector; the label set matched against is derived from it. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
        struct selector *s = NULL;
        struct labels l = {0};
        char *err = NULL;

        if (!j)
                return 0;
        if (selector_from_json(j, &s, &err) >= 0) {
                /* labels from matchLabels (if any) so that matches happen */
                (void)labels_from_json(json_object_get(j, "matchLabels"), &l, &err);
                (void)selector_matches(s, &l);
                (void)selector_equal(s, s);
                labels_done(&l);
                selector_free(s);
        }
        free(err);
        json_decref(j);
        return 0;
}
