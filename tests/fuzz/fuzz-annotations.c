/* libFuzzer target: LB-IPAM's reading of a Service: the lbipam.cilium.io
 * annotations (ips, sharing-key, sharing-cross-namespace,
 * sharing-permit-different-pods), spec.loadBalancerIP and the IP family
 * fields. The input is split at newlines into those values, in that order;
 * the Service goes through the real decoder first, as from the API. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/objects.h"
#include "ipam/ipam.h"
#include "ipam/request.h"

enum { N_FIELDS = 7 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const annotations[] = {"lbipam.cilium.io/ips",
                                                  "lbipam.cilium.io/sharing-key",
                                                  "lbipam.cilium.io/sharing-cross-namespace",
                                                  "lbipam.cilium.io/sharing-permit-different-pods"};
        json_t *field[N_FIELDS] = {0}, *ann, *spec, *svc, *families;
        const char *p = (const char *)data, *end = p + size;
        struct k8s_service *s = NULL;
        char *err = NULL;

        for (size_t i = 0; i < N_FIELDS && p <= end; i++) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

                field[i] = json_stringn(p, n); /* NULL if not UTF-8: left out */
                p += n + 1;
        }
        ann = json_object();
        for (size_t i = 0; i < 4; i++)
                if (field[i])
                        json_object_set(ann, annotations[i], field[i]);
        spec = json_pack("{s:s, s:[{s:i}]}", "type", "LoadBalancer", "ports", "port", 80);
        if (field[4])
                json_object_set(spec, "loadBalancerIP", field[4]);
        if (field[5])
                json_object_set(spec, "ipFamilyPolicy", field[5]);
        if (field[6]) {
                families = json_array();
                json_array_append(families, field[6]);
                json_array_append_new(families, json_string("IPv6"));
                json_object_set_new(spec, "ipFamilies", families);
        }
        svc = json_pack("{s:{s:s, s:s, s:s, s:o}, s:o}", "metadata", "name", "svc", "namespace",
                        "default", "uid", "u", "annotations", ann, "spec", spec);
        if (svc && K8S_TYPE_SERVICE.decode(svc, (void **)&s, &err) >= 0) {
                const struct ipam_options o[] = {
                    {.enable_ipv4 = true, .enable_ipv6 = true, .default_lbipam = true},
                    {.enable_ipv4 = true, .default_lbipam = true},
                };

                for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
                        struct svc_request r;

                        if (!svc_request_managed(&o[i], s))
                                continue;
                        svc_request_parse(&o[i], s, &r);
                        (void)svc_request_sharing_equal(&r, &r);
                        svc_request_done(&r);
                }
                K8S_TYPE_SERVICE.free(s);
        }
        free(err);
        json_decref(svc);
        for (size_t i = 0; i < N_FIELDS; i++)
                json_decref(field[i]);
        return 0;
}
