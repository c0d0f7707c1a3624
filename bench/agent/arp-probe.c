/* arp-probe: the neighbour's view of the L2 announcements, for bench/agent/run.
 *
 *   arp-probe -i IFNAME [-f IPFILE] [-p ROUND_MS] [-r MAX_FRAMES_PER_S] [-g GAP_MS]
 *
 * Reads IPv4 addresses (one a line; IPFILE or stdin), then sends a broadcast
 * who-has for every address once per round, the requests spread evenly over
 * the round: the round lasts ROUND_MS (default 100), or longer when the
 * addresses would exceed MAX_FRAMES_PER_S (default 10000) requests a second.
 * A silence is reported after GAP_MS, or after two rounds when they are
 * longer (the "start" line gives the values in use).
 * The sender is the interface's own MAC and first IPv4 address (0.0.0.0, an
 * ARP probe, if it has none). Replies are collected on the same raw
 * AF_PACKET socket. Lines on stdout, flushed at once, times in seconds
 * since the epoch with µs:
 *
 *   start <t> ips <n> round_ms <r> rate <frames/s> gap_ms <g>
 *   change <t> <ip> <old mac or -> <new mac>   the answering MAC changed
 *   double <t> <ip> <mac1> <mac2> <ms>  two MACs answered one request round
 *                                   (replies addressed to us: a broadcast
 *                                   gratuitous reply is no answer), the second
 *                                   <ms> after the first
 *   silent <t> <ip> <since> <last mac or ->    no reply for GAP_MS (so far)
 *   gap <t> <ip> <since> <seconds> <old mac or -> <new mac>
 *                                   the first reply after a silence > GAP_MS
 *   summary <t> ips <n> answered <k> silent <s> rounds <r> sent <n> replies <n>
 *           doubles <n> gaps <n> changes <n> unsolicited <broadcast replies>
 *           late_ms <max lag of a send since
 *           the summary before: the probe's own delay, > GAP_MS makes silences
 *           of its own>
 *   owner <mac> <number of addresses it answers now>
 *
 * summary and owner lines on SIGUSR1 and at exit (SIGTERM, SIGINT). An
 * address never answered yet is "silent" from the start. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

struct target {
        uint32_t ip;    /* network order */
        uint8_t mac[6]; /* current answering MAC */
        bool has_mac;
        bool silent;    /* a "silent" line was printed for this silence */
        bool doubled;   /* a "double" line was printed for this round */
        uint64_t round; /* round of the latest request sent */
        uint8_t round_mac[6];
        bool round_has;    /* round_mac answered in `round` */
        double round_t;    /* when it did (monotonic) */
        double last_reply; /* monotonic seconds; start time before the first */
        double since_wall; /* wall time of the last reply (or the start) */
};

static volatile sig_atomic_t want_summary, want_exit;

static void on_signal(int sig)
{
        if (sig == SIGUSR1)
                want_summary = 1;
        else
                want_exit = 1;
}

static double clock_s(clockid_t c)
{
        struct timespec ts;

        clock_gettime(c, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void mac_str(const uint8_t *m, bool has, char out[18])
{
        /* (void): 17 characters and the NUL always fit */
        if (!has)
                (void)snprintf(out, 18, "-");
        else
                (void)snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
                               m[4], m[5]);
}

static int cmp_ip(const void *a, const void *b)
{
        uint32_t x = ntohl(((const struct target *)a)->ip),
                 y = ntohl(((const struct target *)b)->ip);

        return x < y ? -1 : x > y;
}

static struct target *find(struct target *t, size_t n, uint32_t ip)
{
        struct target key = {.ip = ip};

        return bsearch(&key, t, n, sizeof(*t), cmp_ip);
}

static struct {
        uint64_t rounds, sent, replies, unsolicited, doubles, gaps, changes;
        double late_max;
} st;

static void summary(struct target *t, size_t n)
{
        size_t answered = 0, silent = 0, i, j, nown = 0;
        struct {
                uint8_t mac[6];
                size_t count;
        } *own = xcalloc(n ? n : 1, sizeof(*own));

        for (i = 0; i < n; i++) {
                if (t[i].silent || !t[i].has_mac) {
                        silent++;
                        continue;
                }
                answered++;
                for (j = 0; j < nown && memcmp(own[j].mac, t[i].mac, 6) != 0; j++)
                        ;
                if (j == nown)
                        memcpy(own[nown++].mac, t[i].mac, 6);
                own[j].count++;
        }
        printf("summary %.6f ips %zu answered %zu silent %zu rounds %llu sent %llu replies %llu "
               "doubles %llu gaps %llu "
               "changes %llu unsolicited %llu late_ms %.1f\n",
               clock_s(CLOCK_REALTIME), n, answered, silent, (unsigned long long)st.rounds,
               (unsigned long long)st.sent, (unsigned long long)st.replies,
               (unsigned long long)st.doubles, (unsigned long long)st.gaps,
               (unsigned long long)st.changes, (unsigned long long)st.unsolicited,
               st.late_max * 1000);
        for (j = 0; j < nown; j++) {
                char m[18];

                mac_str(own[j].mac, true, m);
                printf("owner %s %zu\n", m, own[j].count);
        }
        free(own);
        st.late_max = 0;
}

/* solicited: addressed to us, an answer to our request; a broadcast reply is
 * a gratuitous announcement (a new owner's), which may follow the old
 * owner's answer within one round without anybody answering twice. */
static void reply(struct target *t, const uint8_t *mac, bool solicited, double now, double wall)
{
        char ip[INET_ADDRSTRLEN], a[18], b[18];

        st.replies++;
        inet_ntop(AF_INET, &t->ip, ip, sizeof(ip));
        if (!solicited) {
                st.unsolicited++;
                goto seen;
        }
        if (t->round_has && memcmp(t->round_mac, mac, 6) != 0 && !t->doubled) {
                mac_str(t->round_mac, true, a);
                mac_str(mac, true, b);
                printf("double %.6f %s %s %s %.1f\n", wall, ip, a, b, (now - t->round_t) * 1000);
                st.doubles++;
                t->doubled = true;
        }
        if (!t->round_has) {
                memcpy(t->round_mac, mac, 6);
                t->round_has = true;
                t->round_t = now;
        }
seen:
        if (t->silent) {
                mac_str(t->mac, t->has_mac, a);
                mac_str(mac, true, b);
                printf("gap %.6f %s %.6f %.3f %s %s\n", wall, ip, t->since_wall,
                       now - t->last_reply, a, b);
                st.gaps++;
                t->silent = false;
        }
        if (!t->has_mac || memcmp(t->mac, mac, 6) != 0) {
                mac_str(t->mac, t->has_mac, a);
                mac_str(mac, true, b);
                printf("change %.6f %s %s %s\n", wall, ip, a, b);
                if (t->has_mac)
                        st.changes++;
                memcpy(t->mac, mac, 6);
                t->has_mac = true;
        }
        t->last_reply = now;
        t->since_wall = wall;
}

static int read_ips(FILE *f, struct target **out, size_t *n)
{
        char line[128];
        size_t cap = 0;

        *out = NULL;
        *n = 0;
        while (fgets(line, sizeof(line), f)) {
                struct in_addr a;

                line[strcspn(line, " \t\r\n")] = 0;
                if (!line[0] || line[0] == '#')
                        continue;
                if (inet_pton(AF_INET, line, &a) != 1) {
                        fprintf(stderr, "arp-probe: not an IPv4 address: %s\n", line);
                        return -EINVAL;
                }
                if (*n == cap) {
                        cap = cap ? 2 * cap : 256;
                        *out = xreallocarray(*out, cap, sizeof(**out));
                }
                (*out)[(*n)++] = (struct target){.ip = a.s_addr};
        }
        return 0;
}

static double number(const char *s)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end) {
                fprintf(stderr, "arp-probe: not a number: %s\n", s);
                exit(2);
        }
        return v;
}

static void usage(void)
{
        fprintf(stderr, "usage: arp-probe -i IFNAME [-f IPFILE] [-p ROUND_MS] [-r "
                        "MAX_FRAMES_PER_S] [-g GAP_MS]\n");
        exit(2);
}

int main(int argc, char **argv)
{
        const char *ifname = NULL, *file = NULL;
        double round_ms = 100, rate = 10000, gap_ms = 1000;
        struct target *t;
        size_t n, i;
        int c, fd;

        while ((c = getopt(argc, argv, "i:f:p:r:g:")) != -1) {
                switch (c) {
                case 'i':
                        ifname = optarg;
                        break;
                case 'f':
                        file = optarg;
                        break;
                case 'p':
                        round_ms = number(optarg);
                        break;
                case 'r':
                        rate = number(optarg);
                        break;
                case 'g':
                        gap_ms = number(optarg);
                        break;
                default:
                        usage();
                }
        }
        if (!ifname || round_ms <= 0 || rate <= 0 || gap_ms <= 0)
                usage();

        FILE *in = file ? fopen(file, "r") : stdin;
        if (!in) {
                fprintf(stderr, "arp-probe: %s: %s\n", file, strerror(errno));
                return 1;
        }
        if (read_ips(in, &t, &n) < 0)
                return 1;
        if (file)
                (void)fclose(in); /* read to the end already */
        if (!n) {
                fprintf(stderr, "arp-probe: no addresses\n");
                return 1;
        }
        qsort(t, n, sizeof(*t), cmp_ip);

        fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
        if (fd < 0) {
                perror("arp-probe: socket");
                return 1;
        }
        unsigned ifindex = if_nametoindex(ifname);
        if (!ifindex) {
                fprintf(stderr, "arp-probe: %s: %s\n", ifname, strerror(errno));
                return 1;
        }
        struct sockaddr_ll sll = {
            .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = (int)ifindex};
        if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
                perror("arp-probe: bind");
                return 1;
        }
        int rcvbuf = 8 << 20;
        /* best effort: a smaller buffer only risks drops, which show as gaps */
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));

        struct ifreq ifr = {0};
        uint8_t smac[6];
        uint32_t sip = 0;
        if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
                fprintf(stderr, "arp-probe: interface name too long: %s\n", ifname);
                return 1;
        }
        memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
        if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
                perror("arp-probe: SIOCGIFHWADDR");
                return 1;
        }
        memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
        if (ioctl(fd, SIOCGIFADDR, &ifr) == 0)
                sip = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr;

        struct {
                struct ether_header eth;
                struct ether_arp arp;
        } __attribute__((packed)) req = {0};
        memset(req.eth.ether_dhost, 0xff, 6);
        memcpy(req.eth.ether_shost, smac, 6);
        req.eth.ether_type = htons(ETHERTYPE_ARP);
        req.arp.arp_hrd = htons(ARPHRD_ETHER);
        req.arp.arp_pro = htons(ETHERTYPE_IP);
        req.arp.arp_hln = 6;
        req.arp.arp_pln = 4;
        req.arp.arp_op = htons(ARPOP_REQUEST);
        memcpy(req.arp.arp_sha, smac, 6);
        memcpy(req.arp.arp_spa, &sip, 4);

        double round = round_ms / 1000;
        if ((double)n / round > rate)
                round = (double)n / rate;
        /* a silence shorter than two rounds is only the probe's own pace */
        if (gap_ms < 2 * round * 1000)
                gap_ms = 2 * round * 1000;
        double step = round / (double)n, gap = gap_ms / 1000;

        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        if (setvbuf(stdout, NULL, _IOLBF, 0)) {
                perror("arp-probe: setvbuf");
                return 1;
        }

        double start = clock_s(CLOCK_MONOTONIC), wall0 = clock_s(CLOCK_REALTIME);
        for (i = 0; i < n; i++) {
                t[i].last_reply = start;
                t[i].since_wall = wall0;
        }
        printf("start %.6f ips %zu round_ms %.1f rate %.0f gap_ms %.0f\n", wall0, n, round * 1000,
               (double)n / round, gap_ms);

        uint64_t k = 0; /* requests sent in all */
        size_t scan = 0;
        while (!want_exit) {
                double now = clock_s(CLOCK_MONOTONIC);
                double due = start + (double)k * step;

                /* send what is due (catching up at most one round) */
                while (due <= now && !want_exit) {
                        struct target *x = &t[k % n];

                        if (now - due > st.late_max)
                                st.late_max = now - due;
                        memcpy(req.arp.arp_tpa, &x->ip, 4);
                        if (send(fd, &req, sizeof(req), 0) == (ssize_t)sizeof(req))
                                st.sent++;
                        x->round = k / n;
                        x->round_has = false;
                        x->doubled = false;
                        k++;
                        if (k % n == 0)
                                st.rounds++;
                        due = start + (double)k * step;
                        if (now - due > round) { /* far behind: skip ahead, do not burst */
                                k += (uint64_t)((now - due) / step) / n * n;
                                due = start + (double)k * step;
                        }
                }
                /* silences: a slice of the table per pass */
                for (size_t m = 0; m < n / 64 + 1; m++, scan = (scan + 1) % n) {
                        struct target *x = &t[scan];

                        if (!x->silent && now - x->last_reply > gap) {
                                char ip[INET_ADDRSTRLEN], mm[18];

                                inet_ntop(AF_INET, &x->ip, ip, sizeof(ip));
                                mac_str(x->mac, x->has_mac, mm);
                                printf("silent %.6f %s %.6f %s\n", clock_s(CLOCK_REALTIME), ip,
                                       x->since_wall, mm);
                                x->silent = true;
                        }
                }
                if (want_summary) {
                        want_summary = 0;
                        summary(t, n);
                }
                double wait = due - clock_s(CLOCK_MONOTONIC);
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int to = wait > 0 ? (int)(wait * 1000) : 0;
                if (to > 10)
                        to = 10;
                if (poll(&p, 1, to) <= 0)
                        continue;
                for (;;) {
                        uint8_t buf[256];
                        struct sockaddr_ll from = {0};
                        socklen_t fl = sizeof(from);
                        ssize_t r =
                            recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

                        if (r < 0)
                                break;
                        if (from.sll_pkttype == PACKET_OUTGOING ||
                            (size_t)r < sizeof(struct ether_header) + sizeof(struct ether_arp))
                                continue;
                        const struct ether_arp *a =
                            (const void *)(buf + sizeof(struct ether_header));
                        if (ntohs(a->arp_op) != ARPOP_REPLY)
                                continue;
                        uint32_t ip;
                        memcpy(&ip, a->arp_spa, 4);
                        struct target *x = find(t, n, ip);
                        if (x)
                                reply(x, a->arp_sha, from.sll_pkttype == PACKET_HOST,
                                      clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_REALTIME));
                }
        }
        summary(t, n);
        free(t);
        close(fd);
        return 0;
}
