/* The agent's responder start-up, alone, for test-capabilities.sh: open the
 * responder in a bpf root (load, pin or reuse the maps), attach it to a
 * device in generic mode (a pinned link, or the one a previous run left),
 * answer for an IPv4 and an IPv6 address on it for an hour (the IPv6 one
 * joins its solicited-node group) and send one gratuitous burst for each,
 * as the agent does when it takes a lease. It prints its effective
 * capabilities and the attached program's id, then exits: the responder
 * keeps answering, as after an agent exits.
 *
 *   cap-responder BPF_ROOT DEVICE IPV4 IPV6
 *
 * Exit status 0, or 1 with the failing step and errno on stderr (the error
 * also goes to the log lines). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "bpf/responder.h"
#include "lib/addr.h"

static int fail(const char *step, int err)
{
        fprintf(stderr, "cap-responder: %s: %s (%s)\n", step, strerror(-err),
                err == -EPERM    ? "EPERM"
                : err == -EACCES ? "EACCES"
                : err == -EBUSY  ? "EBUSY"
                                 : "other");
        return 1;
}

static void print_capeff(void)
{
        char line[256];
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "CapEff:", 7) == 0)
                        fputs(line, stdout);
        fclose(f);
}

int main(int argc, char **argv)
{
        struct responder *r = NULL;
        struct ipaddr ip[2];
        uint32_t id = 0;
        int ifindex, err;

        if (argc != 5 || ipaddr_parse(argv[3], &ip[0]) < 0 || ipaddr_parse(argv[4], &ip[1]) < 0) {
                fprintf(stderr, "usage: cap-responder BPF_ROOT DEVICE IPV4 IPV6\n");
                return 2;
        }
        print_capeff();
        ifindex = (int)if_nametoindex(argv[2]);
        if (ifindex == 0)
                return fail("device", -errno);
        err = responder_open(argv[1], &r);
        if (err < 0)
                return fail("open", err);
        err = responder_attach(r, ifindex, RESPONDER_XDP_GENERIC);
        if (err < 0) {
                responder_close(r);
                return fail("attach", err);
        }
        for (size_t i = 0; i < 2 && err >= 0; i++) {
                err = responder_entry_set(r, &ip[i], ifindex,
                                          responder_now_ns() + 3600ULL * 1000000000ULL);
                if (err >= 0)
                        err = responder_announce(r, &ip[i], ifindex);
        }
        if (err >= 0)
                err = responder_is_attached(r, ifindex, &id);
        responder_close(r);
        if (err < 0)
                return fail("entries", err);
        printf("prog_id=%u\n", id);
        return 0;
}
