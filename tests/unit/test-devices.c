/* The agent's pure network decisions (src/agent/devices.c): which devices
 * are chosen when `devices` is empty, the global-unicast test, and the
 * kube-proxy IPVS strictARP check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <net/if.h>
#include <stdio.h>

#include "agent/devices.h"
#include "lib/util.h"

#define UP (IFF_UP | IFF_BROADCAST | IFF_MULTICAST)
/* name, kind, flags, master, Ethernet, global address, default route */
#define D(n, k, fl, m, eth, addr, defr)                                                            \
        {                                                                                          \
                n, k, fl, m, eth, addr, defr                                                       \
        }

static void test_choice(void **state)
{
        static const struct {
                struct device_facts f;
                const char *reason; /* NULL: chosen */
        } cases[] = {
            /* a physical NIC with an address, or only a default route */
            {D("ens3", NULL, UP, 0, true, true, false), NULL},
            {D("eno1", "", UP, 0, true, false, true), NULL},
            /* kind's node uplink: a veth with an address and the default route */
            {D("eth0", "veth", UP, 0, true, true, true), NULL},
            {D("eth1", "veth", UP, 0, true, true, false), "veth without default route"},
            /* pod veths: no address, or an excluded prefix */
            {D("veth1a2b3c", "veth", UP, 0, true, false, false), "veth without default route"},
            {D("lxc12345", "veth", UP, 0, true, true, true), "excluded name prefix"},
            {D("cali0123", "veth", UP, 0, true, false, false), "excluded name prefix"},
            /* bonds are chosen, their slaves and bridge ports are not */
            {D("bond0", "bond", UP, 0, true, true, true), NULL},
            {D("ens4", NULL, UP | IFF_SLAVE, 7, true, false, false), "bridge port or bond slave"},
            {D("ens5", NULL, UP, 8, true, true, false), "bridge port or bond slave"},
            {D("vlan100", "vlan", UP, 0, true, true, false), NULL},
            {D("mv0", "macvlan", UP, 0, true, true, false), NULL},
            /* bridges, tunnels, dummies, other CNIs', even with addresses */
            {D("br0", "bridge", UP, 0, true, true, true), "bridge-like device"},
            {D("ovsbr", "openvswitch", UP, 0, true, true, false), "bridge-like device"},
            {D("cni0", "bridge", UP, 0, true, true, false), "excluded name prefix"},
            {D("docker0", "bridge", UP, 0, true, true, false), "excluded name prefix"},
            {D("vx0", "vxlan", UP, 0, true, true, false), "tunnel device"},
            {D("flannel.1", "vxlan", UP, 0, true, true, false), "excluded name prefix"},
            {D("gen0", "geneve", UP, 0, true, true, false), "tunnel device"},
            {D("cilium_vxlan", "vxlan", UP, 0, true, true, false), "excluded name prefix"},
            {D("dummy0", "dummy", UP, 0, true, true, false), "dummy device"},
            {D("kube-ipvs0", "dummy", UP, 0, true, true, false), "excluded name prefix"},
            {D("nodelocaldns", "dummy", UP, 0, true, true, false), "excluded name prefix"},
            /* no address, down, not Ethernet, loopback */
            {D("ens6", NULL, UP, 0, true, false, false),
             "no global unicast address nor default route"},
            {D("ens7", NULL, IFF_BROADCAST, 0, true, true, true), "down (IFF_UP not set)"},
            {D("wg0", "wireguard", UP, 0, false, true, false), "not an Ethernet device"},
            {D("lo", NULL, UP | IFF_LOOPBACK, 0, false, true, false), "not an Ethernet device"},
            {D("lo1", NULL, UP | IFF_LOOPBACK, 0, true, true, false), "loopback"},
        };
        int bad = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *got = devices_skip_reason(&cases[i].f);
                const char *want = cases[i].reason;

                if (want ? !got || !startswith(got, want) : got != NULL) {
                        print_error("%s: got \"%s\", want \"%s\"\n", cases[i].f.name,
                                    got ? got : "(chosen)", want ? want : "(chosen)");
                        bad++;
                }
        }
        assert_int_equal(bad, 0);
}

static void test_global_unicast(void **state)
{
        static const struct {
                const char *ip;
                bool global;
        } cases[] = {
            {"192.0.2.1", true},
            {"10.1.2.3", true},
            {"172.18.0.2", true},
            {"100.64.0.1", true},
            {"0.0.0.0", false},
            {"127.0.0.1", false},
            {"169.254.20.10", false},
            {"224.0.0.1", false},
            {"239.255.255.250", false},
            {"255.255.255.255", false},
            {"2001:db8::1", true},
            {"fd00::1", true},
            {"::", false},
            {"::1", false},
            {"fe80::1", false},
            {"febf::1", false},
            {"fec0::1", true},
            {"ff02::1", false},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct ipaddr a;

                assert_int_equal(ipaddr_parse(cases[i].ip, &a), 0);
                if (devices_global_unicast(&a) != cases[i].global)
                        fail_msg("%s: expected global=%d", cases[i].ip, cases[i].global);
        }
}

static void test_ipvs_arp(void **state)
{
        (void)state;
        /* no kube-ipvs0: nothing to say whatever the sysctls */
        assert_null(devices_ipvs_arp_problem(false, 0, 0));
        assert_null(devices_ipvs_arp_problem(false, -1, -1));
        /* kube-proxy's strictARP: arp_ignore=1, arp_announce=2 (or stricter) */
        assert_null(devices_ipvs_arp_problem(true, 1, 2));
        assert_null(devices_ipvs_arp_problem(true, 2, 2));
        assert_non_null(strstr(devices_ipvs_arp_problem(true, 0, 0), "arp_ignore < 1"));
        assert_non_null(strstr(devices_ipvs_arp_problem(true, 0, 2), "arp_ignore < 1"));
        assert_non_null(strstr(devices_ipvs_arp_problem(true, 1, 1), "arp_announce < 2"));
        assert_non_null(strstr(devices_ipvs_arp_problem(true, -1, 2), "cannot read"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_choice),
            cmocka_unit_test(test_global_unicast),
            cmocka_unit_test(test_ipvs_arp),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
