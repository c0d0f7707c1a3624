/* Benchmark: nanoseconds per ARP reply and per Neighbor Advertisement from the
 * responder's XDP program, with 1 and with 10,000 map entries.
 *
 * Method. BPF_PROG_TEST_RUN with repeat runs a program many times in the
 * kernel and reports the mean time per run, but on the same buffer: after the
 * first run the frame is already the reply, so the next would be passed, not
 * answered. Each repetition therefore runs restore_and_call (bench.bpf.c),
 * which writes the request back into the frame and tail-calls the responder;
 * a second measurement tail-calls a program that only returns XDP_TX, and
 * the difference is the responder's own cost per reply. The frames arrive on
 * a veth in a private network namespace; the process is pinned to one CPU;
 * each figure is the best of several runs (other load on the machine only
 * ever adds time). Also shown: the cost of a
 * request for an IP without entry and of an unrelated frame (what every
 * other packet on the device pays).
 *
 * Capabilities. Once its network namespace is set up the benchmark keeps
 * only the agent's capabilities (BPF, NET_ADMIN, NET_RAW) before loading,
 * so the verifier treats the programs as it treats the agent's: without
 * CAP_PERFMON it adds its Spectre mitigations (nospec barriers, masking),
 * part of the cost measured. L2LB_BENCH_ALL_CAPS=1 keeps every capability
 * (the programs as root loads them). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "bench.skel.h"
#include "bpf/frames.h"
#include "bpf/responder.h"
#include "helpers.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

#define REPEAT 1000000
#define RUNS   11

static const uint8_t iface_mac[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t req_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static char root[256];

static void cleanup(void)
{
        if (root[0])
                tbpf_remove_root(root);
}

static void die(const char *what, int err)
{
        fprintf(stderr, "bench-reply: %s: %s\n", what, strerror(err < 0 ? -err : err));
        exit(1);
}

/* Mean ns per run of prog on frame over REPEAT runs; checks the verdict. */
static uint32_t measure_once(int prog, int ifindex, const uint8_t *frame, size_t len, int want_act)
{
        struct xdp_md ctx = {.data_end = (uint32_t)len, .ingress_ifindex = (uint32_t)ifindex};
        uint8_t out[256];
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len,
                    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
                    .ctx_size_in = sizeof(ctx), .repeat = REPEAT);
        int err = bpf_prog_test_run_opts(prog, &o);

        if (err < 0)
                die("BPF_PROG_TEST_RUN", err);
        if ((int)o.retval != want_act) {
                fprintf(stderr, "bench-reply: verdict %u, expected %d\n", o.retval, want_act);
                exit(1);
        }
        return o.duration;
}

static uint32_t measure(int prog, int ifindex, const uint8_t *frame, size_t len, int want_act)
{
        uint32_t best = UINT32_MAX;

        for (int i = 0; i < RUNS; i++) {
                uint32_t d = measure_once(prog, ifindex, frame, len, want_act);

                best = d < best ? d : best;
        }
        return best;
}

static void set_template(struct bench *b, const uint8_t *frame, size_t len)
{
        struct bench_frame f = {.len = (uint32_t)len};
        uint32_t k = 0;

        memcpy(f.data, frame, len);
        if (bpf_map_update_elem(bpf_map__fd(b->maps.tmpl), &k, &f, BPF_ANY) < 0)
                die("template", errno);
}

static void set_next(struct bench *b, int prog)
{
        uint32_t k = 0;

        if (bpf_map_update_elem(bpf_map__fd(b->maps.next), &k, &prog, BPF_ANY) < 0)
                die("prog array", errno);
}

/* The responder's own cost: restore_and_call tail-calling it, minus
 * restore_and_call tail-calling just_tx, measured in alternation so that
 * both see the same machine; the best of each (other load on the machine
 * only ever adds time). */
static double reply_cost(struct bench *b, int resp, int ifindex, const uint8_t *frame, size_t len,
                         uint32_t *ret_base)
{
        uint32_t best_base = UINT32_MAX, best_resp = UINT32_MAX;
        int wrapper = bpf_program__fd(b->progs.restore_and_call);

        set_template(b, frame, len);
        for (int i = 0; i < RUNS; i++) {
                uint32_t d;

                set_next(b, bpf_program__fd(b->progs.just_tx));
                d = measure_once(wrapper, ifindex, frame, len, XDP_TX);
                best_base = d < best_base ? d : best_base;
                set_next(b, resp);
                d = measure_once(wrapper, ifindex, frame, len, XDP_TX);
                best_resp = d < best_resp ? d : best_resp;
        }
        *ret_base = best_base;
        return (double)best_resp - best_base;
}

/* The desired entries: the two the benchmark asks for, plus fillers up to n. */
static void fill(struct responder *r, int ifindex, size_t n, const struct ipaddr *v4,
                 const struct ipaddr *v6)
{
        struct responder_want *w = calloc(n + 1, sizeof(*w));
        uint64_t alive = responder_now_ns() + 3600ULL * 1000000000ULL;
        size_t k = 0;
        int res;

        if (!w)
                die("calloc", ENOMEM);
        w[k++] = (struct responder_want){.ip = *v4, .ifindex = ifindex, .deadline_ns = alive};
        if (n > 1)
                w[k++] =
                    (struct responder_want){.ip = *v6, .ifindex = ifindex, .deadline_ns = alive};
        for (uint32_t i = 0; k < n; i++) {
                struct ipaddr a = i % 2 ? *v6 : *v4;

                a.v += 1000 + i; /* 192.0.3.x.. and 2001:db8::3f8.. */
                w[k++] = (struct responder_want){.ip = a, .ifindex = ifindex, .deadline_ns = alive};
        }
        res = responder_reconcile(r, w, k);
        if (res < 0)
                die("reconcile", res);
        free(w);
}

/* Keep only the agent's capabilities (deploy/workloads/agent.yaml). */
static int agent_caps(void)
{
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {};
        static const int keep[] = {CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW};

        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
                d[keep[i] / 32].effective |= 1U << (keep[i] % 32);
                d[keep[i] / 32].permitted |= 1U << (keep[i] % 32);
        }
        return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int main(void)
{
        struct ipaddr v4, v6;
        uint8_t arp[FRAME_ARP_LEN], ns[86], udp[60] = {0};
        struct responder *r = NULL;
        struct bench *b;
        cpu_set_t cpus;
        int ifindex, err, resp;
        bool all_caps;

        /* the responder's own notes (e.g. native XDP on a veth) are expected here */
        log_setup("bench", LOG_FORMAT_LOGFMT, LOG_LEVEL_ERROR);
        if (geteuid() != 0) {
                fprintf(stderr, "bench-reply: needs root\n");
                return 1;
        }
        CPU_ZERO(&cpus);
        CPU_SET(0, &cpus);
        sched_setaffinity(0, sizeof(cpus), &cpus);
        if (tnet_new() < 0 || tsh("ip link add l2bench0 address 02:00:00:00:00:0a type veth "
                                  "peer name l2bench0p") != 0)
                die("network namespace", EIO);
        ifindex = (int)if_nametoindex("l2bench0");
        all_caps = getenv("L2LB_BENCH_ALL_CAPS") && streq(getenv("L2LB_BENCH_ALL_CAPS"), "1");
        if (!all_caps) {
                err = agent_caps();
                if (err < 0)
                        die("capset", err);
        }
        snprintf(root, sizeof(root), "%s", tbpf_root("bench-reply"));
        tcleanup_at_exit(cleanup);
        err = responder_open(root, &r);
        if (err < 0)
                die("responder_open", err);
        resp = responder_xdp_prog_fd(r, false);
        b = bench__open_and_load();
        if (!b)
                die("bench BPF object", errno);

        ipaddr_parse("192.0.2.10", &v4);
        ipaddr_parse("2001:db8::10", &v6);
        {
                static const uint8_t req_ip[4] = {192, 0, 2, 1}, svc_ip[4] = {192, 0, 2, 10};

                frame_arp_request(arp, req_mac, req_ip, svc_ip);
        }
        {
                /* NS from 2001:db8::1 to ff02::1:ff00:10 for 2001:db8::10, with SLLA */
                static const uint8_t hdr[54] = {
                    0x33, 0x33, 0xff, 0x00, 0x00, 0x10, 0x02, 0,    0,    0,   0,
                    0x01, 0x86, 0xdd, 0x60, 0,    0,    0,    0x00, 0x20, 58,  255,
                    0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,    0,    0,   0,
                    0,    0,    0,    0,    0x01, 0xff, 0x02, 0,    0,    0,   0,
                    0,    0,    0,    0,    0,    0x01, 0xff, 0x00, 0x00, 0x10};
                uint16_t c;

                memset(ns, 0, sizeof(ns));
                memcpy(ns, hdr, sizeof(hdr));
                ns[54] = 135;
                ipaddr_to_bytes(&v6, ns + 62);
                ns[78] = 1, ns[79] = 1;
                memcpy(ns + 80, req_mac, 6);
                c = frame_icmp6_checksum(ns + 22, ns + 38, ns + 54, 32);
                ns[56] = (uint8_t)(c >> 8), ns[57] = (uint8_t)c;
        }
        /* an IPv4/UDP frame: what every other packet on the device costs */
        memcpy(udp, iface_mac, 6);
        memcpy(udp + 6, req_mac, 6);
        udp[12] = 0x08, udp[14] = 0x45, udp[23] = 17;

        printf("responder: ns per frame, BPF_PROG_TEST_RUN, repeat %d, best of %d runs, "
               "pinned to CPU 0, loaded with %s\n",
               REPEAT, RUNS, all_caps ? "all capabilities" : "the agent's capabilities");
        printf("  reply = (restore request + tail call + responder) - (restore + tail call + "
               "XDP_TX)\n");
        printf("%8s %12s %12s %14s %14s %14s\n", "entries", "ARP reply", "NA reply", "ARP no entry",
               "other frame", "(baseline)");
        static const size_t sizes[] = {1, 10000};
        bool ok = true;
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
                size_t n = sizes[si];
                uint32_t base_arp, base_ns, t_miss, t_other;
                double t_arp, t_ns;
                uint8_t miss[FRAME_ARP_LEN];

                /* with one entry, the map holds exactly the one being asked for */
                fill(r, ifindex, n, &v4, &v6);

                t_arp = reply_cost(b, resp, ifindex, arp, sizeof(arp), &base_arp);
                if (n == 1) {
                        struct responder_want w = {.ip = v6,
                                                   .ifindex = ifindex,
                                                   .deadline_ns = responder_now_ns() +
                                                                  3600ULL * 1000000000ULL};

                        if (responder_reconcile(r, &w, 1) < 0)
                                die("reconcile", EIO);
                }
                t_ns = reply_cost(b, resp, ifindex, ns, sizeof(ns), &base_ns);

                memcpy(miss, arp, sizeof(miss));
                miss[41] = 99; /* 192.0.2.99: no entry */
                t_miss = measure(resp, ifindex, miss, sizeof(miss), XDP_PASS);
                t_other = measure(resp, ifindex, udp, sizeof(udp), XDP_PASS);

                printf("%8zu %12.0f %12.0f %14u %14u %8u / %u\n", n, t_arp, t_ns, t_miss, t_other,
                       base_arp, base_ns);
                if (t_arp > 100 || t_ns > 100)
                        ok = false;
        }
        printf("target <= 100 ns per reply: %s\n", ok ? "met" : "NOT met");
        bench__destroy(b);
        responder_unpin(r);
        responder_close(r);
        return 0;
}
