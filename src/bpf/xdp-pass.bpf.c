// SPDX-License-Identifier: GPL-2.0
/* A pass-through XDP program for the far end of veth pairs.
 *
 * On veth, a frame a native-XDP program sends with XDP_TX is delivered to the
 * peer only if the peer device has an XDP program attached (it enables the
 * peer's NAPI/XDP receive path). Test beds and the lab put this on the
 * bridge-side ends of their veths so that the responder's replies reach the
 * bridge. Real NICs do not need it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
        (void)ctx;
        return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
