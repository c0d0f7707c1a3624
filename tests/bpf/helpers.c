/* See helpers.h. */
#include "helpers.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int tnet_new(void)
{
        int fd;

        if (unshare(CLONE_NEWNET) < 0)
                return -errno;
        fd = open("/proc/self/ns/net", O_RDONLY); /* not CLOEXEC: `ip ... netns /proc/self/fd/N` */
        if (fd < 0)
                return -errno;
        if (tsh("ip link set lo up") != 0) {
                close(fd);
                return -EIO;
        }
        return fd;
}

void tnet_enter(int fd)
{
        if (setns(fd, CLONE_NEWNET) < 0) {
                perror("setns");
                abort();
        }
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
int tsh(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        int st;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        st = system(cmd);
        if (st == -1 || !WIFEXITED(st)) {
                fprintf(stderr, "command failed: %s\n", cmd);
                return -1;
        }
        if (WEXITSTATUS(st) != 0)
                fprintf(stderr, "command exited %d: %s\n", WEXITSTATUS(st), cmd);
        return WEXITSTATUS(st);
}

char *tsh_output(const char *fmt, ...)
{
        char cmd[2048], *out = NULL;
        size_t len = 0;
        va_list ap;
        FILE *f, *m;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        f = popen(cmd, "r");
        if (!f)
                return NULL;
        m = open_memstream(&out, &len);
        if (!m) {
                pclose(f);
                return NULL;
        }
        for (int c; (c = fgetc(f)) != EOF;)
                fputc(c, m);
        fclose(m);
        pclose(f);
        return out;
}
#pragma GCC diagnostic pop

const char *tbpf_root(const char *name)
{
        static char buf[256];

        snprintf(buf, sizeof(buf), "/sys/fs/bpf/l2lb-test-%s-%d", name, (int)getpid());
        return buf;
}

void tbpf_remove_root(const char *root)
{
        DIR *d = opendir(root);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                char p[512];

                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof(p), "%s/%s", root, de->d_name);
                if (de->d_type == DT_DIR)
                        tbpf_remove_root(p);
                else
                        unlink(p);
        }
        closedir(d);
        rmdir(root);
}

static void (*cleanup_fn)(void);

static void cleanup_signal(int sig)
{
        if (cleanup_fn)
                cleanup_fn();
        signal(sig, SIG_DFL);
        raise(sig);
}

void tcleanup_at_exit(void (*fn)(void))
{
        cleanup_fn = fn;
        atexit(fn);
        signal(SIGABRT, cleanup_signal);
        signal(SIGTERM, cleanup_signal);
        signal(SIGINT, cleanup_signal);
}

bool tbpf_usable(void)
{
        if (geteuid() != 0) {
                fprintf(stderr, "BPF tests need root\n");
                return false;
        }
        return true;
}

int txdp_run(int prog_fd, int ifindex, const uint8_t *frame, size_t len, uint8_t *out, size_t cap,
             size_t *out_len)
{
        struct xdp_md ctx = {.data_end = (uint32_t)len, .ingress_ifindex = (uint32_t)ifindex};
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
                    .data_out = out, .data_size_out = (uint32_t)cap, .ctx_in = &ctx,
                    .ctx_size_in = sizeof(ctx), .repeat = 1);
        int err;

        err = bpf_prog_test_run_opts(prog_fd, &opts);
        if (err < 0)
                return err;
        *out_len = opts.data_size_out;
        return (int)opts.retval;
}

static uint32_t add16(uint32_t sum, const uint8_t *p, size_t len)
{
        size_t i;

        for (i = 0; i + 1 < len; i += 2)
                sum += ((uint32_t)p[i] << 8) + p[i + 1];
        if (i < len)
                sum += (uint32_t)p[i] << 8;
        return sum;
}

uint16_t tcsum_icmp6(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg, size_t len)
{
        uint32_t sum = 0;

        sum = add16(sum, src, 16);
        sum = add16(sum, dst, 16);
        sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff); /* upper-layer length */
        sum += 58;                                               /* next header */
        sum = add16(sum, msg, len);
        while (sum > 0xffff)
                sum = (sum >> 16) + (sum & 0xffff);
        return (uint16_t)(~sum & 0xffff);
}

int tpkt_open(const char *ifname, uint16_t proto)
{
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(proto)};
        int fd;

        fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto));
        if (fd < 0)
                return -errno;
        sll.sll_ifindex = (int)if_nametoindex(ifname);
        if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
                int err = -errno;

                close(fd);
                return err ? err : -ENODEV;
        }
        return fd;
}

int tpkt_send(int fd, const uint8_t *frame, size_t len)
{
        ssize_t n = send(fd, frame, len, 0);

        if (n < 0)
                return -errno;
        return n == (ssize_t)len ? 0 : -EIO;
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tpkt_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
        int64_t end = now_ms() + timeout_ms;

        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                struct sockaddr_ll from;
                socklen_t fl = sizeof(from);
                int64_t left = end - now_ms();
                ssize_t n;
                int r;

                if (left <= 0)
                        return 0;
                r = poll(&p, 1, (int)left);
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return 0;
                n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&from, &fl);
                if (n < 0)
                        return -errno;
                if (from.sll_pkttype == PACKET_OUTGOING)
                        continue;
                return (int)n;
        }
}

int txdp_attach_pass(int ifindex)
{
        struct bpf_insn insns[] = {
            {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
            {.code = BPF_JMP | BPF_EXIT},
        };
        int fd, err;

        fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "tpass", "GPL", insns, 2, NULL);
        if (fd < 0)
                return fd;
        err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
        if (err < 0) {
                close(fd);
                return err;
        }
        return fd;
}

void tdump_diff(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                size_t want_len)
{
        size_t n = got_len > want_len ? got_len : want_len;

        fprintf(stderr, "%s: got %zu bytes, want %zu\n", what, got_len, want_len);
        for (size_t i = 0; i < n; i++) {
                bool g = i < got_len, w = i < want_len;

                fprintf(stderr, "  %3zu: %s%02x  %s%02x%s\n", i, g ? "" : "-", g ? got[i] : 0,
                        w ? "" : "-", w ? want[i] : 0,
                        (g && w && got[i] == want[i]) ? "" : "   <--");
        }
}

struct ipaddr tip(const char *s)
{
        struct ipaddr a;

        if (ipaddr_parse(s, &a) < 0) {
                fprintf(stderr, "test address '%s' does not parse\n", s);
                abort();
        }
        return a;
}
