/* For the operator shell: does a Service's status.loadBalancer.ingress
 * already list the IPs the core wants, in order? (Status conditions are
 * merged by api/conditions.c.) */
#include "internal.h"

#include "lib/util.h"

bool ipam_service_ingress_equal(const struct k8s_service *svc, const struct ipam_service_status *st)
{
        assert(svc);
        assert(st);
        if (svc->n_ingress != st->n_ips)
                return false;
        for (size_t i = 0; i < st->n_ips; i++) {
                struct ipaddr a, b;

                if (svc->ingress[i].hostname || !svc->ingress[i].ip ||
                    ipaddr_parse(svc->ingress[i].ip, &a) < 0 || ipaddr_parse(st->ips[i], &b) < 0 ||
                    !ipaddr_equal(&a, &b))
                        return false;
        }
        return true;
}
