/* libFuzzer target: kubeconfig parsing (YAML/JSON) never crashes or leaks. */
#include <stdint.h>
#include <stdlib.h>

#include "kube/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kube_config *c = NULL;
        char *err = NULL;

        /* base_dir NULL: file references resolve relative to the cwd and
         * mostly fail to open, which is an error path worth covering too */
        if (kube_config_parse((const char *)data, size, "/nonexistent", &c, &err) >= 0)
                kube_config_free(c);
        free(err);
        return 0;
}
