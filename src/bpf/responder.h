/* The L2 responder's user-space side, as l2lb-agent uses it.
 *
 * The datapath (l2resp.bpf.c) answers ARP and Neighbor Solicitations for the
 * entries in a map; this module loads it, keeps its maps pinned under a bpf
 * root, attaches it to interfaces, edits entries, and does the two things
 * an XDP program cannot: gratuitous announcements and solicited-node
 * multicast membership.
 *
 *   r = responder_open("/sys/fs/bpf/l2lb")     load; reuse or create pinned maps
 *   responder_attach(r, ifindex, mode)         idempotent; keeps a running program
 *   responder_entry_set(r, &ip, ifindex, dl)   answer for ip on ifindex until dl
 *   responder_announce(r, &ip, ifindex)        one burst of gratuitous ARP / NA
 *   responder_reconcile(r, want, n)            make the map equal to want
 *   responder_close(r)                         frees memory; datapath keeps running
 *
 * Restart without a gap: the maps are pinned (entries keep their deadlines
 * and counters) and the program is attached through a BPF link pinned under
 * the bpf root, so it stays attached when the agent exits and replies
 * continue, until each deadline passes, while no agent runs. The next agent
 * opens the same pins, and responder_attach() reopens the pinned link (file
 * access only: no CAP_SYS_ADMIN), keeps it when its program is of this
 * build and swaps in this build's program atomically otherwise
 * (bpf_link_update). Removing the bpf root detaches the program.
 *
 * Several agents on one machine (one per network namespace, as in tests and
 * the lab) must use different bpf roots; a second agent on the same device
 * (another root) is refused with -EBUSY. Pins live in the mount namespace's
 * bpffs: run agents in the host's mount namespace (`nsenter --net=...`), not
 * under `ip netns exec`, whose private /sys hides /sys/fs/bpf so pins would
 * die with the process.
 *
 * Network namespace: interface indexes, attachment and the packet socket
 * belong to the network namespace current when responder_open() ran; call
 * everything from that namespace.
 *
 * Errors are negative errno values, logged with context where they arise. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

#define RESPONDER_BPF_ROOT_DEFAULT "/sys/fs/bpf/l2lb"

struct responder;

enum responder_xdp_mode {
        /* Driver mode; falls back to generic mode (with a warning) when the
         * driver has no native XDP. On veth, a reply sent with native XDP_TX
         * reaches the peer only if the peer device has an XDP program (GRO on
         * the peer does not suffice, measured on 6.18): there replies vanish. */
        RESPONDER_XDP_NATIVE,
        RESPONDER_XDP_GENERIC,
        /* Per device (responder_xdp_mode_choose()): native, except on a veth
         * whose peer is not seen running a native XDP program (generic
         * there), and generic where native attach is not supported. */
        RESPONDER_XDP_AUTO,
};

/* What is known of a device's veth peer, for RESPONDER_XDP_AUTO. */
enum responder_veth_peer {
        RESPONDER_PEER_NOT_VETH,    /* not a veth: native replies reach the wire */
        RESPONDER_PEER_XDP,         /* peer in our namespace runs a native XDP program */
        RESPONDER_PEER_NO_XDP,      /* peer in our namespace, without native XDP program */
        RESPONDER_PEER_OTHER_NETNS, /* peer in another network namespace: unknown */
        RESPONDER_PEER_UNKNOWN,     /* could not be determined */
};

/* The mode to attach in for want (native, generic or auto) on a device
 * with that peer; *reason (optional) receives a short constant text for
 * logs and status. Pure. */
enum responder_xdp_mode responder_xdp_mode_choose(enum responder_xdp_mode want,
                                                  enum responder_veth_peer peer,
                                                  const char **reason);
/* "native", "generic", "auto" */
const char *responder_xdp_mode_name(enum responder_xdp_mode mode);
/* What the native-XDP replies of a device need: on a veth, where its peer is
 * and whether it runs a native XDP program (netlink, ethtool). *ret_peer
 * (optional) receives the peer's ifindex when it is in this network
 * namespace, else 0. */
enum responder_veth_peer responder_veth_peer(int ifindex, const char *ifname, int *ret_peer);

/* How responder_attach_report() attached (or found attached) a device. */
struct responder_attachment {
        enum responder_xdp_mode mode; /* native or generic */
        const char *reason;           /* constant text: why this mode */
};

struct responder_entry {
        struct ipaddr ip;
        int ifindex;
        uint64_t deadline_ns; /* CLOCK_BOOTTIME; the datapath answers while now < deadline */
        uint64_t requests;    /* valid requests addressed to the entry (answered or not) */
        uint64_t replies;     /* replies sent */
        uint64_t conflicts;   /* ARP announcements/replies or NAs for ip from other hosts */
        uint8_t mac[6];       /* the interface's, as replies carry it */
};

/* One element of the desired state for responder_reconcile(). */
struct responder_want {
        struct ipaddr ip;
        int ifindex;
        uint64_t deadline_ns;
};

/* What responder_announce() and the multicast joins did, since open. */
struct responder_stats {
        uint64_t arp_requests_sent; /* gratuitous ARP, request form */
        uint64_t arp_replies_sent;  /* gratuitous ARP, reply form */
        uint64_t nas_sent;          /* unsolicited Neighbor Advertisements */
        uint64_t send_errors;
        uint64_t mcast_joins; /* SIOCADDMULTI calls that succeeded */
        uint64_t mcast_leaves;
        uint64_t mcast_errors;
};

/* Load the responder and pin (or reuse) its maps in bpf_root (NULL: the
 * default), which is created if needed; bpffs is mounted at /sys/fs/bpf if
 * nothing is mounted there. Solicited-node groups of existing IPv6 entries
 * are (re)joined. */
int responder_open(const char *bpf_root, struct responder **ret);
/* Frees everything; leaves maps, pins and attachments in place. NULL is ok. */
void responder_close(struct responder *r);
/* Remove the pinned maps and links and the bpf root directory (tests,
 * uninstall): a link goes, and detaches, once no process holds it open. */
int responder_unpin(struct responder *r);

/* Attach to ifindex through a pinned link, or keep (or update to this
 * build) the link of ours that is already there; either way, entries on
 * ifindex get the interface's current MAC (call it again after a MAC
 * change). -EBUSY if another XDP program occupies the device (another
 * agent's link included); a netlink attachment of an older l2lb build is
 * replaced (see responder-attach.c). */
int responder_attach(struct responder *r, int ifindex, enum responder_xdp_mode mode);
/* The same; ret (optional) receives the mode the device runs in and why.
 * With RESPONDER_XDP_AUTO, a link of ours in native mode on a device where
 * generic is chosen is replaced by a generic one (a short gap). */
int responder_attach_report(struct responder *r, int ifindex, enum responder_xdp_mode mode,
                            struct responder_attachment *ret);
/* Detach our link from ifindex and unpin it. 0 if none was attached.
 * Entries for ifindex stay (the agent removes them). */
int responder_detach(struct responder *r, int ifindex);
/* Whether our pinned link holds ifindex: 1 yes, 0 no. ret_prog_id
 * (optional) receives the id of its program. */
int responder_is_attached(struct responder *r, int ifindex, uint32_t *ret_prog_id);
/* Answer for ip on ifindex while now < deadline_ns: insert the entry (zero
 * counters) or store the new deadline into the existing one (counters kept),
 * with ifindex's current MAC (-ENODEV if there is no such interface).
 * Inserting an IPv6 entry joins its solicited-node group on ifindex. */
int responder_entry_set(struct responder *r, const struct ipaddr *ip, int ifindex,
                        uint64_t deadline_ns);
/* Store a new deadline into an existing entry; -ENOENT if there is none.
 * One syscall: the cheap path for lease renewals. */
int responder_entry_update_deadline(struct responder *r, const struct ipaddr *ip, int ifindex,
                                    uint64_t deadline_ns);
/* Remove the entry (leaving its solicited-node group when no other entry on
 * ifindex needs it); -ENOENT if absent. */
int responder_entry_delete(struct responder *r, const struct ipaddr *ip, int ifindex);
int responder_entry_get(struct responder *r, const struct ipaddr *ip, int ifindex,
                        struct responder_entry *ret);
/* All entries, sorted by family, address, ifindex; *ret is malloc'ed. */
int responder_list(struct responder *r, struct responder_entry **ret, size_t *ret_n);
/* The same from the pinned map alone, without loading anything (for
 * `l2lb bpf l2 list`). -ENOENT if bpf_root has no responder maps. */
int responder_list_pinned(const char *bpf_root, struct responder_entry **ret, size_t *ret_n);
/* Make the entries equal to want (full sync): entries not in want are
 * deleted, the others set with their deadline (counters of kept entries
 * survive). Returns the number of entries added plus removed, or -errno
 * (after applying what it could). */
int responder_reconcile(struct responder *r, const struct responder_want *want, size_t n);

/* Send one burst of gratuitous announcements for ip out of ifindex: for
 * IPv4 an ARP request and an ARP reply (sender = target = ip, sha = the
 * interface MAC, broadcast), for IPv6 one unsolicited Neighbor
 * Advertisement to ff02::1 (R=0 S=0 O=1, target link-layer address option).
 * The caller schedules repeats. */
int responder_announce(struct responder *r, const struct ipaddr *ip, int ifindex);

void responder_get_stats(struct responder *r, struct responder_stats *ret);

/* Reference count of ifindex's solicited-node group for ip (tests). */
unsigned responder_mcast_refs(struct responder *r, const struct ipaddr *ip, int ifindex);

/* File descriptors of the loaded XDP programs (type XDP, using the pinned
 * maps) for BPF_PROG_TEST_RUN in tests and benchmarks. fixed selects the
 * variant that never changes the frame length. */
int responder_xdp_prog_fd(struct responder *r, bool fixed);

/* Deadlines are CLOCK_BOOTTIME ns, as bpf_ktime_get_boot_ns reads it: that
 * clock keeps running while the machine is suspended, so an entry whose
 * deadline passed during a suspend is silent on resume, whereas a
 * CLOCK_MONOTONIC deadline would stretch by the time slept (while another
 * node may have taken the lease over).
 *
 * BPF deadline for a CLOCK_BOOTTIME time in µs: the unit alone; saturates. */
uint64_t responder_deadline_from_usec(uint64_t boottime_usec);
/* BPF deadline for a CLOCK_MONOTONIC time in µs, as sd-event gives it:
 * shifted by the time the machine has spent suspended so far; saturates. */
uint64_t responder_deadline_from_monotonic_usec(uint64_t monotonic_usec);
/* CLOCK_BOOTTIME now, in ns: the clock of deadline_ns. */
uint64_t responder_now_ns(void);
