#!/usr/bin/env bash
# The agent's device detection and its kube-proxy IPVS check, on real
# devices: l2lb-agent with `devices` empty in a network namespace of its own
# with a mix of devices, its apiserver unreachable (both happen before and
# without the API). Read from its log and its status socket:
#   1. chosen: eth0, a veth with an address and the default route (a kind
#      node's uplink); not chosen: a veth with an address but no default route,
#      a pod-style veth pair without address (one end named lxc*), a bridge
#      with an address and its port, a VXLAN device with an address, a dummy
#      with an address (where the kernel has dummies), kube-ipvs0 (below)
#   2. `l2lb status` lists eth0 alone, as chosen by detection
#   3. the default route moves to eth1: eth1 chosen, eth0 no longer
#   4. no kube-ipvs0, arp_ignore=0: no IPVS warning; kube-ipvs0 appears: the
#      warning; arp_announce still 1: warned again; strictARP's sysctls set
#      (arp_ignore=1, arp_announce=2): resolved at the next check (a link
#      change), and no more warnings
# Needs root and bpffs (the agent loads its responder). Everything created is
# removed on exit.
set -uo pipefail

: "${L2LB_BUILD:?}"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../integration/checks.sh"
# shellcheck source=scripts/lib/netns.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../scripts/lib/netns.sh"

[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || { echo "SKIP: no bpffs"; exit 77; }

NS=l2lbdev$$
WORK=$(mktemp -d)
BPF=/sys/fs/bpf/l2lb-test-devices-$$
PID=
on_exit() {
	local rc=$?
	if [[ -n $PID ]]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	if ((${failed:-0} > 0)) || [[ $rc != 0 ]]; then
		echo "--- agent log:"
		grep -vE 'msg=libbpf|retrying API request' "$WORK/agent.log" 2>/dev/null | tail -n 40
	fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "$BPF" "$WORK"
}
trap on_exit EXIT

n() { ip -n "$NS" "$@"; }

# ---- the namespace and its devices ----
ip netns add "$NS" || die "cannot create network namespace $NS"
n link set lo up
# the uplink of a kind node: a veth, an address, the default route
{ n link add eth0 type veth peer name uplink0 && n addr add 192.0.2.2/24 dev eth0 &&
	n link set eth0 up && n link set uplink0 up && n route add default via 192.0.2.1 dev eth0; } ||
	die "cannot create eth0"
# a second veth with an address, no default route
{ n link add eth1 type veth peer name uplink1 && n addr add 198.51.100.2/24 dev eth1 &&
	n link set eth1 up && n link set uplink1 up; } ||
	die "cannot create eth1"
# a pod's veth pair as a CNI leaves it on the host: no address
{ n link add veth3f2a type veth peer name lxc3f2a && n link set veth3f2a up && n link set lxc3f2a up; } ||
	die "cannot create the pod veths"
# a bridge with an address and a port
{ n link add br0 type bridge && n addr add 203.0.113.1/24 dev br0 && n link set br0 up &&
	n link add brport0 type veth peer name brport1 && n link set brport0 master br0 &&
	n link set brport0 up && n link set brport1 up; } ||
	die "cannot create the bridge"
# a tunnel with an address
{ n link add vx0 type vxlan id 42 dstport 4789 dev eth0 && n addr add 10.244.0.0/32 dev vx0 &&
	n link set vx0 up; } ||
	die "cannot create the VXLAN device"
# another dummy with an address, where the kernel has dummies
dummies=0
if n link add dummy0 type dummy 2>/dev/null; then
	{ n addr add 100.64.0.1/32 dev dummy0 && n link set dummy0 up; } || die "cannot set dummy0 up"
	dummies=1
fi
# no strictARP
in_netns "$NS" sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0 ||
	die "cannot set the ARP sysctls"

# ---- the agent ----
cat >"$WORK/kubeconfig" <<'EOF'
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: unreachable}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
EOF
mkdir -p "$BPF"
# nsenter execs the agent: $! is its PID (in_netns, a function, would be a
# subshell's)
nsenter --net="/run/netns/$NS" -- "$L2LB_BUILD/l2lb-agent" --kubeconfig="$WORK/kubeconfig" --node-name=devtest \
	--bpf-root="$BPF/l2lb" --status-socket="$WORK/agent.sock" --prometheus-serve-addr= \
	--log-level=debug </dev/null >"$WORK/agent.log" 2>&1 &
PID=$!

logged() { grep -v 'msg=libbpf' "$WORK/agent.log" | has -E -- "$1"; }
count() { grep -v 'msg=libbpf' "$WORK/agent.log" | grep -cE -- "$1"; }
skipped() { # DEVICE REASON-PREFIX
	logged "msg=\"device not chosen\" device=$1 .*reason=\"$2"
}

check "the agent starts and says which devices it chose" wait_for 10 logged 'msg="devices chosen" devices=eth0$'
check "eth1 (veth, address, no default route): not chosen" skipped eth1 "veth without default route"
check "veth3f2a (pod veth, no address): not chosen" skipped veth3f2a "veth without default route"
check "lxc3f2a (pod veth, lxc prefix): not chosen" skipped lxc3f2a "excluded name prefix"
check "br0 (bridge with an address): not chosen" skipped br0 "bridge-like device"
check "brport0 (bridge port): not chosen" skipped brport0 "bridge port or bond slave"
check "vx0 (VXLAN with an address): not chosen" skipped vx0 "tunnel device"
if ((dummies)); then
	check "dummy0 (dummy with an address): not chosen" skipped dummy0 "dummy device"
fi
check "lo: not chosen" skipped lo "not an Ethernet device"

# the agent has no apiserver, so it is never ready: `l2lb status` prints its
# state and exits 1, which is not what these checks look at
status() { in_netns "$NS" "$L2LB_BUILD/l2lb" --status-socket="$WORK/agent.sock" status || true; }
devices_listed() { status | sed -n '/^Devices/,/^$/p' | awk 'NR > 2 && NF { print $1 }' | paste -sd, -; }
devices_are() { [[ $(devices_listed) == "$1" ]]; }
status_says() { status | grep -- "$1" >/dev/null; }
check "l2lb status: the devices chosen by detection, eth0 alone" wait_for 10 devices_are eth0
check "l2lb status: says the devices were chosen by detection" status_says '^Devices (chosen by detection'


# ---- the default route moves ----
{ n route del default && n route add default via 198.51.100.1 dev eth1; } || die "cannot move the default route"
check "the default route on eth1: eth1 chosen, eth0 no longer" \
	wait_for 5 logged 'msg="devices chosen" devices=eth1$'
check "l2lb status: eth1 alone" wait_for 5 devices_are eth1
check "the move is one change: no 'no device chosen' in between" bash -c "! grep -q 'no device chosen' '$WORK/agent.log'"
check "eth0 no longer chosen, with its reason" \
	logged 'msg="device no longer chosen" device=eth0 reason="veth without default route"'

# ---- kube-proxy IPVS without strictARP ----
ipvs_warning='msg="kube-proxy runs in IPVS mode without strictARP'
check "no kube-ipvs0, arp_ignore=0: no IPVS warning" test "$(count "$ipvs_warning")" -eq 0
# kube-proxy's IPVS device appears: a dummy where the kernel has them, else
# a bridge (the check goes by name)
n link add kube-ipvs0 type dummy 2>/dev/null || n link add kube-ipvs0 type bridge ||
	die "cannot create kube-ipvs0"
{ n addr add 10.96.0.10/32 dev kube-ipvs0 && n link set kube-ipvs0 up; } || die "cannot set kube-ipvs0 up"
check "kube-ipvs0 appears, arp_ignore=0: the IPVS warning" \
	wait_for 5 logged "$ipvs_warning.*arp_ignore=0 arp_announce=0"
check "kube-ipvs0: not chosen" skipped kube-ipvs0 "excluded name prefix"
check "l2lb status: the IPVS warning" status_says '^Warning: .*strictARP'
in_netns "$NS" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=1
n link set kube-ipvs0 mtu 1400 # a link change: the agent checks again
check "arp_ignore=1 but arp_announce=1: still warned" \
	wait_for 5 logged "$ipvs_warning.*arp_announce < 2.*arp_ignore=1 arp_announce=1"
in_netns "$NS" sysctl -qw net.ipv4.conf.all.arp_announce=2
n link set kube-ipvs0 mtu 1300
check "strictARP's sysctls set (arp_ignore=1, arp_announce=2): resolved" \
	wait_for 5 logged 'msg="ARP for IPVS service IPs fixed" ipvs_device=present arp_ignore=1 arp_announce=2'
no_warning() { ! status_says '^Warning:'; }
check "l2lb status: no IPVS warning" no_warning
warnings=$(count "$ipvs_warning")
n link set kube-ipvs0 mtu 1200
sleep 0.5
check "no new warning once resolved" test "$(count "$ipvs_warning")" -eq "$warnings"

check "the agent still runs" kill -0 "$PID"
stop_agent() { kill "$PID" && wait "$PID"; }
check "SIGTERM: the agent exits with status 0" stop_agent
PID=
check "no sanitizer report in the agent's log (ASan builds)" \
	bash -c "! grep -qE 'Sanitizer|runtime error' '$WORK/agent.log'"
echo "$passed passed, $failed failed"
((failed == 0))
