/* responder_xdp_mode_choose(): the XDP mode per device, on every input
 * (pure: no root needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bpf/responder.h"

static void check(enum responder_xdp_mode want, enum responder_veth_peer peer,
                  enum responder_xdp_mode mode, const char *reason)
{
        const char *got = NULL;

        assert_int_equal(responder_xdp_mode_choose(want, peer, &got), mode);
        assert_string_equal(got, reason);
        assert_int_equal(responder_xdp_mode_choose(want, peer, NULL), mode);
}

static void test_auto(void **state)
{
        (void)state;
        check(RESPONDER_XDP_AUTO, RESPONDER_PEER_NOT_VETH, RESPONDER_XDP_NATIVE, "not a veth");
        check(RESPONDER_XDP_AUTO, RESPONDER_PEER_XDP, RESPONDER_XDP_NATIVE,
              "veth peer runs native XDP");
        check(RESPONDER_XDP_AUTO, RESPONDER_PEER_NO_XDP, RESPONDER_XDP_GENERIC,
              "veth peer has no native XDP program");
        check(RESPONDER_XDP_AUTO, RESPONDER_PEER_OTHER_NETNS, RESPONDER_XDP_GENERIC,
              "veth peer in another network namespace");
        check(RESPONDER_XDP_AUTO, RESPONDER_PEER_UNKNOWN, RESPONDER_XDP_GENERIC,
              "veth peer unknown");
}

/* An explicit mode is kept whatever the device */
static void test_explicit(void **state)
{
        static const enum responder_veth_peer peers[] = {
            RESPONDER_PEER_NOT_VETH,    RESPONDER_PEER_XDP,     RESPONDER_PEER_NO_XDP,
            RESPONDER_PEER_OTHER_NETNS, RESPONDER_PEER_UNKNOWN,
        };

        (void)state;
        for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
                check(RESPONDER_XDP_NATIVE, peers[i], RESPONDER_XDP_NATIVE, "configured");
                check(RESPONDER_XDP_GENERIC, peers[i], RESPONDER_XDP_GENERIC, "configured");
        }
}

static void test_names(void **state)
{
        (void)state;
        assert_string_equal(responder_xdp_mode_name(RESPONDER_XDP_NATIVE), "native");
        assert_string_equal(responder_xdp_mode_name(RESPONDER_XDP_GENERIC), "generic");
        assert_string_equal(responder_xdp_mode_name(RESPONDER_XDP_AUTO), "auto");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_auto),
            cmocka_unit_test(test_explicit),
            cmocka_unit_test(test_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
