/* See devices.h. */
#include "devices.h"

#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/util.h"

/* Cilium's excluded prefixes, then other CNIs' and kube-proxy's devices
 * (Calico, Flannel, Weave, Antrea, OVN-Kubernetes, kube-router, NodeLocal
 * DNSCache, kube-proxy IPVS). */
static const char *const excluded_prefixes[] = {
    "cilium_",   "lo",         "lxc",         "cni",           "docker",
    "cali",      "flannel",    "weave",       "vethwe",        "antrea-",
    "ovn-k8s-",  "genev_sys_", "kube-bridge", "kube-dummy-if", "nodelocaldns",
    "kube-ipvs", NULL,
};

static bool kind_in(const char *kind, const char *const *list)
{
        for (; *list; list++)
                if (streq(kind, *list))
                        return true;
        return false;
}

const char *devices_skip_reason(const struct device_facts *f)
{
        static const char *const bridges[] = {"bridge", "openvswitch", NULL};
        static const char *const tunnels[] = {"vxlan",  "geneve",    "gretap",  "ip6gretap",
                                              "erspan", "ip6erspan", "bareudp", NULL};
        const char *kind;

        assert(f);
        assert(f->name);
        kind = strempty(f->kind);
        if (!f->ether)
                return "not an Ethernet device";
        if (!(f->flags & IFF_UP))
                return "down (IFF_UP not set)";
        if (f->flags & IFF_LOOPBACK)
                return "loopback";
        if ((f->flags & IFF_SLAVE) || f->master != 0)
                return "bridge port or bond slave";
        for (const char *const *p = excluded_prefixes; *p; p++)
                if (startswith(f->name, *p))
                        return "excluded name prefix (Cilium's or another CNI's device)";
        if (kind_in(kind, bridges))
                return "bridge-like device";
        if (kind_in(kind, tunnels))
                return "tunnel device";
        if (streq(kind, "dummy"))
                return "dummy device";
        if (streq(kind, "veth") && !f->default_route)
                return "veth without default route";
        if (!f->global_addr && !f->default_route)
                return "no global unicast address nor default route";
        return NULL;
}

bool devices_global_unicast(const struct ipaddr *a)
{
        uint8_t b[16];

        assert(a);
        ipaddr_to_bytes(a, b);
        if (a->family == AF_INET) {
                static const uint8_t zero[4], bcast[4] = {255, 255, 255, 255};

                return memcmp(b, zero, 4) != 0 && memcmp(b, bcast, 4) != 0 && b[0] != 127 &&
                       !(b[0] == 169 && b[1] == 254) && (b[0] & 0xf0) != 0xe0;
        }
        if (a->family == AF_INET6) {
                static const uint8_t zero[16], one[16] = {[15] = 1};

                return memcmp(b, zero, 16) != 0 && memcmp(b, one, 16) != 0 && b[0] != 0xff &&
                       !(b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
        }
        return false;
}

const char *devices_ipvs_arp_problem(bool ipvs_device, int arp_ignore, int arp_announce)
{
        if (!ipvs_device)
                return NULL;
        if (arp_ignore < 0 || arp_announce < 0)
                return "cannot read net.ipv4.conf.all.arp_ignore/arp_announce";
        if (arp_ignore < 1)
                return "net.ipv4.conf.all.arp_ignore < 1: every node answers ARP for the service "
                       "IPs on kube-ipvs0";
        if (arp_announce < 2)
                return "net.ipv4.conf.all.arp_announce < 2: ARP requests may carry service IPs "
                       "as their source";
        return NULL;
}
