/* Helpers for the BPF tests: private network namespaces, shell commands in
 * them, BPF_PROG_TEST_RUN on one frame, an independent ICMPv6 checksum, raw
 * sockets that send and capture frames. Everything a test creates lives in
 * network namespaces the test process holds only by file descriptor, so the
 * kernel removes them (and their links) when the process exits, however it
 * exits; pins go in a per-process bpf root that the test removes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

/* An address the test writes as text; aborts on a typo. */
struct ipaddr tip(const char *s);

/* Moves the calling process into a new network namespace with lo up and
 * returns an fd for it (or -errno). */
int tnet_new(void);
/* Enter the namespace of fd (aborts the test on failure). */
void tnet_enter(int fd);
/* Runs a shell command in the current network namespace; returns its exit
 * status (or -1). The command line is echoed on failure. */
int tsh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs a command and returns its standard output (malloc'ed, NULL on error). */
char *tsh_output(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A bpf root unique to this process and test name, e.g.
 * /sys/fs/bpf/l2lb-test-datapath-1234 (static buffer). */
const char *tbpf_root(const char *name);

/* Removes a bpf root and the pins in it, whatever state the responder is
 * in (tests call it from teardown and at exit). */
void tbpf_remove_root(const char *root);

/* Run fn at exit and on SIGABRT/SIGTERM/SIGINT (a failed assert(), a
 * meson timeout), so that pins do not outlive a crashed test. */
void tcleanup_at_exit(void (*fn)(void));

/* Root and the kernel features the tests need; prints why when not. */
bool tbpf_usable(void);

/* One BPF_PROG_TEST_RUN of an XDP program on frame (len bytes) arriving on
 * ifindex. The output frame goes to out (cap bytes), its length to
 * *out_len. Returns the XDP action, or -errno when the kernel refused the
 * run (e.g. -EINVAL for frames shorter than an Ethernet header). */
int txdp_run(int prog_fd, int ifindex, const uint8_t *frame, size_t len, uint8_t *out, size_t cap,
             size_t *out_len);

/* RFC 1071 sum of the ICMPv6 message with its pseudo-header, written
 * independently of the code under test. 0 means the message's checksum is
 * valid; on a message whose checksum field is zero it gives the checksum. */
uint16_t tcsum_icmp6(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg, size_t len);

/* An AF_PACKET socket in the current namespace, bound to ifname, receiving
 * frames of ethertype proto (host order; 0 for none). */
int tpkt_open(const char *ifname, uint16_t proto);
int tpkt_send(int fd, const uint8_t *frame, size_t len);
/* Next frame that arrived from the wire (not one we sent) within timeout_ms;
 * returns its length, 0 on timeout, -errno on error. */
int tpkt_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms);

/* Loads `return XDP_PASS;` and attaches it to ifindex in native mode
 * (enables NAPI on a veth so native XDP_TX from its peer arrives). Returns
 * the program fd. */
int txdp_attach_pass(int ifindex);

/* Hex dump of two frames side by side, for failure messages. */
void tdump_diff(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                size_t want_len);
