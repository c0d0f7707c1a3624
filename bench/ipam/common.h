/* Helpers shared by the LB-IPAM core's benchmarks. */
#pragma once

#include <jansson.h>

#include "api/objects.h"
#include "ipam/ipam.h"

/* CPU time of this thread: the machine is shared, wall time is noisy (the
 * core is single-threaded and does no I/O, so CPU time is its cost). */
double bench_cpu_s(void);
/* Decodes a pool and takes j's reference; exits on a decoding error. */
struct k8s_ippool *bench_decode_pool(json_t *j);
/* Drops the core's queued Events and dirty sets (outside the timings). */
void bench_drain(struct ipam *ipam);
