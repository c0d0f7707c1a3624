/* The XDP mode per device (RESPONDER_XDP_AUTO): a pure decision on what
 * responder-attach.c found out about the device. */
#include "responder.h"

enum responder_xdp_mode responder_xdp_mode_choose(enum responder_xdp_mode want,
                                                  enum responder_veth_peer peer,
                                                  const char **reason)
{
        enum responder_xdp_mode mode = RESPONDER_XDP_GENERIC;
        const char *why;

        if (want != RESPONDER_XDP_AUTO) {
                mode = want;
                why = "configured";
        } else
                switch (peer) {
                case RESPONDER_PEER_NOT_VETH:
                        mode = RESPONDER_XDP_NATIVE;
                        why = "not a veth";
                        break;
                case RESPONDER_PEER_XDP:
                        mode = RESPONDER_XDP_NATIVE;
                        why = "veth peer runs native XDP";
                        break;
                case RESPONDER_PEER_NO_XDP:
                        why = "veth peer has no native XDP program";
                        break;
                case RESPONDER_PEER_OTHER_NETNS:
                        why = "veth peer in another network namespace";
                        break;
                default:
                        why = "veth peer unknown";
                        break;
                }
        if (reason)
                *reason = why;
        return mode;
}

const char *responder_xdp_mode_name(enum responder_xdp_mode mode)
{
        return mode == RESPONDER_XDP_NATIVE    ? "native"
               : mode == RESPONDER_XDP_GENERIC ? "generic"
                                               : "auto";
}
