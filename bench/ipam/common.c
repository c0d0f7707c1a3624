/* Helpers shared by the LB-IPAM core's benchmarks; see common.h. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_cpu_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct k8s_ippool *bench_decode_pool(json_t *j)
{
        struct k8s_ippool *p = NULL;
        char *err = NULL;

        if (k8s_ippool_decode(j, &p, &err) < 0) {
                fprintf(stderr, "pool: %s\n", err);
                exit(1);
        }
        json_decref(j);
        return p;
}

void bench_drain(struct ipam *ipam)
{
        struct ipam_event e;
        struct ipam_dirty d;

        while (ipam_event_pop(ipam, &e))
                ipam_event_done(&e);
        ipam_take_dirty(ipam, &d);
        ipam_dirty_done(&d);
}
