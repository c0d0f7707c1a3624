/* `l2lb doctor`: the checks, pure functions over facts gathered from the node
 * (doctor.c gathers them). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum doctor_level {
        DOCTOR_OK,
        DOCTOR_SKIP, /* cannot check here; not counted as a problem */
        DOCTOR_WARN,
        DOCTOR_FAIL,
};

enum doctor_peer {
        DOCTOR_PEER_NONE,      /* not a veth */
        DOCTOR_PEER_HERE,      /* the peer is in this network namespace */
        DOCTOR_PEER_ELSEWHERE, /* in another one: its XDP programs are not visible */
};

enum doctor_xdp_mode {
        DOCTOR_XDP_NONE,
        DOCTOR_XDP_NATIVE,
        DOCTOR_XDP_GENERIC,
        DOCTOR_XDP_OTHER, /* offloaded, or several modes */
};

struct doctor_device {
        const char *name;
        int rp_filter; /* net.ipv4.conf.<dev>.rp_filter; -1 unknown */
        enum doctor_peer peer;
        const char *peer_name; /* DOCTOR_PEER_HERE */
        bool peer_xdp;         /* the peer has an XDP program (DOCTOR_PEER_HERE) */
        bool xdp_known;        /* the XDP programs could be listed */
        enum doctor_xdp_mode xdp_mode;
        const char *const *xdp_progs; /* names of the programs on it, NULL-terminated */
};

struct doctor_facts {
        const char *bpf_root;
        bool bpffs;            /* /sys/fs/bpf is a bpf filesystem */
        bool bpf_root_present; /* bpf_root exists (the agent loaded the responder) */
        bool ipvs;             /* kube-ipvs0 exists (kube-proxy in IPVS mode) */
        int arp_ignore;        /* net.ipv4.conf.all.*; -1 unknown */
        int arp_announce;
        int rp_filter_all;
        const struct doctor_device *devs; /* the announcing devices */
        size_t n_devs;
        int clock_synced; /* 1, 0, -1 unknown */
};

struct doctor_result {
        enum doctor_level level;
        const char *check; /* stable name: bpffs, ipvs, rp-filter, veth-peer, xdp-programs, clock */
        char *message;     /* what was found and what to change */
};

/* Run every check: one result per check and, for per-device checks, per
 * device. *ret is malloc'ed; free with doctor_results_free. */
void doctor_run(const struct doctor_facts *f, struct doctor_result **ret, size_t *ret_n);
void doctor_results_free(struct doctor_result *r, size_t n);
const char *doctor_level_name(enum doctor_level l);
/* Whether a program name is one of l2lb's responder programs (the kernel
 * truncates names to 15 characters). */
bool doctor_prog_is_l2lb(const char *name);
