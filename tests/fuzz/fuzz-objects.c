/* libFuzzer target: every typed object decoder on arbitrary JSON, plus the
 * lease encoder on whatever decodes. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/objects.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const struct k8s_type *types[] = {&K8S_TYPE_SERVICE,       &K8S_TYPE_NODE,
                                          &K8S_TYPE_ENDPOINTSLICE, &K8S_TYPE_LEASE,
                                          &K8S_TYPE_IPPOOL,        &K8S_TYPE_L2POLICY};
        json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);

        if (!j)
                return 0;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                void *obj = NULL;
                char *err = NULL;

                if (types[i]->decode(j, &obj, &err) >= 0) {
                        if (types[i] == &K8S_TYPE_LEASE)
                                json_decref(k8s_lease_to_json(obj));
                        if (types[i] == &K8S_TYPE_SERVICE) {
                                struct labels l;

                                k8s_service_selector_labels(obj, &l);
                                labels_done(&l);
                        }
                        types[i]->free(obj);
                }
                free(err);
        }
        json_decref(j);
        return 0;
}
