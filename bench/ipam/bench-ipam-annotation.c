/* Benchmark of the LB-IPAM core against hostile list annotations: a
 * LoadBalancer Service whose lbipam.cilium.io/ips (or
 * lbipam.cilium.io/sharing-cross-namespace) is as large as the apiserver
 * accepts. apimachinery's TotalAnnotationSizeLimitB is 256 * (1 << 10)
 * bytes, counted as the sum of len(key) + len(value) over all annotations;
 * with this one annotation the value may take all of it but the key.
 *
 * Shapes: all-bad entries ("a,a,a,…"), one valid IP repeated, distinct IPv4,
 * distinct IPv6, a mix of all of them, one IP behind 256 KiB of blanks, the
 * longest list granted (IPAM_REQUEST_MAX_IPS distinct IPv4), and a
 * sharing-cross-namespace list of one-letter namespaces.
 *
 * Before the linear parser and the cap (2 shared cores, 3 repetitions,
 * median): all bad 6.8 s, one IP repeated 0.17 s, distinct IPv4 8.9 s,
 * distinct IPv6 9.6 s, mixed 4.5 s, blanks 1.2 s, cross-namespace 4.6 s.
 * After: all under 1.2 ms but cross-namespace (2.5-4.8 ms: 131,000
 * namespaces are kept, not capped).
 *
 * Measures ipam_service_upsert() of that Service into a started core with a
 * pool present (decoding is the informer's cost, not the core's; events and
 * dirty sets are drained between repetitions, outside the timing), and
 * prints min/median/max per upsert over the repetitions. Target: ≤ 5 ms.
 * Times are the thread's CPU time, as in bench-ipam.
 *
 * Usage: bench-ipam-annotation [repetitions] */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "ipam/ipam.h"
#include "ipam/request.h"
#include "api/objects.h"
#include "lib/util.h"

#define ANNOTATION_LIMIT ((size_t)256 * (1 << 10)) /* TotalAnnotationSizeLimitB */
#define TARGET_MS        5.0

enum shape { BAD, DUPLICATE, IPV4, IPV6, MIXED, BLANKS, AT_CAP, _SHAPE_MAX };

static const char *const shape_name[_SHAPE_MAX] = {
    [BAD] = "all bad (a,a,a,...)",   [DUPLICATE] = "one valid IP repeated",
    [IPV4] = "distinct IPv4",        [IPV6] = "distinct IPv6",
    [MIXED] = "mixed v4/v6/bad/dup", [BLANKS] = "one IP after blanks",
    [AT_CAP] = "IPv4 up to the cap",
};

static void entry(enum shape shape, size_t i, char *buf, size_t size)
{
        switch (shape) {
        case BAD:
                (void)snprintf(buf, size, "a");
                break;
        case DUPLICATE:
                (void)snprintf(buf, size, "10.0.0.1");
                break;
        case IPV4:
                (void)snprintf(buf, size, "10.%zu.%zu.%zu", i >> 16 & 255, i >> 8 & 255, i & 255);
                break;
        case IPV6:
                (void)snprintf(buf, size, "fd00::%zx", i);
                break;
        case AT_CAP:
                entry(IPV4, i, buf, size);
                break;
        case MIXED:
                entry((enum shape[]){IPV4, IPV6, BAD, DUPLICATE}[i % 4], i / 4, buf, size);
                break;
        default:
                abort();
        }
}

/* The largest value the apiserver accepts for key, of this shape. */
static char *hostile_value(enum shape shape, const char *key, size_t *ret_entries)
{
        size_t max = ANNOTATION_LIMIT - strlen(key), len = 0, n = 0;
        char *v = g_malloc(max + 1), e[64];

        if (shape == BLANKS) {
                memset(v, ' ', max);
                memcpy(v + max - strlen("10.0.0.1"), "10.0.0.1", strlen("10.0.0.1"));
                v[max] = 0;
                *ret_entries = 1;
                return v;
        }
        for (;; n++) {
                size_t l;

                entry(shape, n, e, sizeof(e));
                l = strlen(e) + (n > 0);
                if (len + l > max || (shape == AT_CAP && n == IPAM_REQUEST_MAX_IPS))
                        break;
                if (n > 0)
                        v[len++] = ',';
                memcpy(v + len, e, strlen(e));
                len += strlen(e);
        }
        v[len] = 0;
        *ret_entries = n;
        return v;
}

static struct k8s_service *service(const char *key, const char *value)
{
        struct k8s_service *s = NULL;
        char *err = NULL;
        json_t *j =
            json_pack("{s:{s:s, s:s, s:s, s:i, s:{s:s, s:s}}, s:{s:s, "
                      "s:s, s:[{s:i, s:s}]}}",
                      "metadata", "name", "hostile", "namespace", "default", "creationTimestamp",
                      "2024-02-01T00:00:00Z", "generation", 1, "annotations", key, value,
                      IPAM_ANNOTATION_SHARING_KEY, "k", "spec", "type", "LoadBalancer",
                      "ipFamilyPolicy", "PreferDualStack", "ports", "port", 80, "protocol", "TCP");

        if (k8s_service_decode(j, &s, &err) < 0) {
                fprintf(stderr, "service: %s\n", err);
                exit(1);
        }
        json_decref(j);
        return s;
}

static struct ipam *core_with_pool(void)
{
        struct ipam_options o = {.enable_ipv4 = true,
                                 .enable_ipv6 = true,
                                 .l2_announcements = true,
                                 .default_lbipam = true};
        struct ipam *ipam = ipam_new(&o);
        struct k8s_ippool *p = NULL;
        char *err = NULL;
        json_t *j = json_pack("{s:{s:s, s:s, s:i}, s:{s:[{s:s}, {s:s}]}}", "metadata", "name",
                              "pool", "creationTimestamp", "2024-01-01T00:00:00Z", "generation", 1,
                              "spec", "blocks", "cidr", "10.0.0.0/8", "cidr", "fd00::/104");

        if (k8s_ippool_decode(j, &p, &err) < 0 || ipam_pool_upsert(ipam, p, &err) < 0) {
                fprintf(stderr, "pool: %s\n", err);
                exit(1);
        }
        json_decref(j);
        k8s_ippool_free(p);
        ipam_start(ipam);
        return ipam;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* Returns whether the median met the target. */
static bool run(const char *label, const char *key, const char *value, size_t entries, int reps)
{
        struct k8s_service *s = service(key, value);
        struct ipam *ipam = core_with_pool();
        struct ipam_service_status st;
        double *t = g_new(double, reps);
        bool ok;

        for (int r = 0; r < reps; r++) {
                double t0 = bench_cpu_s();

                ipam_service_upsert(ipam, s);
                t[r] = (bench_cpu_s() - t0) * 1e3;
                bench_drain(ipam);
        }
        qsort(t, (size_t)reps, sizeof(*t), cmp_double);
        ipam_service_status(ipam, "default", "hostile", &st);
        ok = t[reps / 2] <= TARGET_MS;
        printf("%-16s %-24s %7zu entries  min %9.3f  median %9.3f  max %9.3f ms  %s  -> %zu IPs, "
               "%s\n",
               streq(key, IPAM_ANNOTATION_IPS) ? "ips" : "cross-namespace", label, entries, t[0],
               t[reps / 2], t[reps - 1], ok ? "ok" : "OVER TARGET", st.n_ips,
               st.condition.reason ? st.condition.reason : "-");
        ipam_service_status_done(&st);
        g_free(t);
        ipam_free(ipam);
        k8s_service_free(s);
        return ok;
}

int main(int argc, char **argv)
{
        int reps = argc > 1 ? atoi(argv[1]) : 9;
        bool all_ok = true;

        if (reps <= 0) {
                fprintf(stderr, "usage: bench-ipam-annotation [repetitions]\n");
                return 2;
        }
        printf("LB-IPAM core: one Service upsert with a %zu-byte annotation (the apiserver's "
               "limit), %d repetitions, target %.0f ms\n",
               ANNOTATION_LIMIT, reps, TARGET_MS);
        for (int sh = 0; sh < _SHAPE_MAX; sh++) {
                size_t n;
                g_autofree char *v = hostile_value(sh, IPAM_ANNOTATION_IPS, &n);

                all_ok &= run(shape_name[sh], IPAM_ANNOTATION_IPS, v, n, reps);
        }
        {
                size_t n;
                g_autofree char *v = hostile_value(BAD, IPAM_ANNOTATION_CROSS_NS, &n);

                all_ok &= run("namespaces a,a,a,...", IPAM_ANNOTATION_CROSS_NS, v, n, reps);
        }
        return all_ok ? 0 : 1;
}
