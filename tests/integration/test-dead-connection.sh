#!/usr/bin/env bash
# A black-holed apiserver connection is detected within ~30 s and replaced
# (issue 11). The client (deadconn-client: an informer on Leases and a Lease
# renewal every second, over the one HTTP/2 connection they share) runs in a
# network namespace of this test, reaching the apiserver through a veth pair
# and a relay on the host (socat on the veth's host address to the apiserver's
# 127.0.0.1 port; the kubeconfig names the apiserver's certificate through
# tls-server-name). Then iptables inside the namespace drops every packet to
# and from the relay: the renewals written into the black hole stay unacked,
# so TCP keepalive never probes, and without TCP_USER_TIMEOUT the kernel
# retransmits for ~15 minutes. Checks:
#   1. the watch ends with a transport error within DETECT_MAX s of the drop
#   2. (the drop removed) a new connection from another local port carries a
#      new watch: a Lease created after the black hole arrives as an event,
#      and renewals succeed again
# Measured times are printed. The namespace (with its iptables rules), the
# relay, the client and the API namespace are removed on exit.
# Usage: test-dead-connection.sh DEADCONN_CLIENT
# Env: KUBECONFIG, KUBECTL (an apiserver listening on 127.0.0.1, as
# scripts/kube-testenv starts it).
set -uo pipefail

: "${KUBECONFIG:?} ${KUBECTL:?}"
CLIENT=${1:?usage: test-dead-connection.sh DEADCONN_CLIENT}
PROG=test-dead-connection
DETECT_MAX=${L2LB_TEST_DETECT_MAX:-35} # seconds; the client's bound is ~22 s
GIVE_UP=60                             # the test's own bound for detection

# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
# shellcheck source=scripts/lib/netns.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../scripts/lib/netns.sh"
require_root
for c in socat iptables ss; do
	have_cmd "$c" || die "$c is missing: run 'scripts/deps test' on the host"
done

ID=$$
NETNS=dc$ID HOSTLINK=dc${ID}h
NET=10.252.$((ID % 250))
HOST_IP=$NET.1 NS_IP=$NET.2
APINS=deadconn-$ID
WORK=$(mktemp -d)
client_pid="" relay_pid=""

on_exit() {
	local rc=$?
	[[ -n $client_pid ]] && kill "$client_pid" 2>/dev/null && wait "$client_pid" 2>/dev/null
	if [[ -n $relay_pid ]]; then
		pkill -P "$relay_pid" # its per-connection children
		kill "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null
	fi
	if ((failed > 0)) || [[ $rc != 0 ]]; then
		echo "--- client output:"
		tail -n 40 "$WORK/client.out" 2>/dev/null
		echo "--- client log:"
		tail -n 20 "$WORK/client.err" 2>/dev/null
	fi
	ip netns del "$NETNS" 2>/dev/null # its iptables rules and veth end go with it
	ip link del "$HOSTLINK" 2>/dev/null
	"$KUBECTL" delete namespace "$APINS" --wait=false >/dev/null 2>&1
	rm -rf "$WORK"
}
trap on_exit EXIT

# first_after T PATTERN: the time of the client's first line matching PATTERN
# (an awk regex on the rest of the line) at or after T; fails if none
first_after() {
	awk -v t="$1" -v p="$2" '$1 >= t { l = $0; sub(/^[^ ]+ /, "", l); if (l ~ p) { print $1; f = 1; exit } }
		END { exit !f }' "$WORK/client.out"
}
# the client's established connections to the relay, as local ports
conn_ports() {
	in_netns "$NETNS" ss -Htn state established dst "$HOST_IP" | awk '{ n = split($3, a, ":"); print a[n] }' | sort
}
drop() { # -A|-D: add or delete the black hole
	in_netns "$NETNS" iptables "$1" OUTPUT -d "$HOST_IP" -p tcp --dport "$PORT" -j DROP &&
		in_netns "$NETNS" iptables "$1" INPUT -s "$HOST_IP" -p tcp --sport "$PORT" -j DROP
}

# --- the path: namespace, veth pair, relay, kubeconfig -----------------------
server=$("$KUBECTL" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
[[ $server =~ ^https://127\.0\.0\.1:([0-9]+)$ ]] || die "apiserver not on 127.0.0.1: '$server'"
PORT=${BASH_REMATCH[1]}
netns_ensure "$NETNS" || die "cannot create netns $NETNS"
ip link add "$HOSTLINK" type veth peer name eth0 netns "$NETNS" || die "cannot create the veth pair"
if ! { ip addr add "$HOST_IP/30" dev "$HOSTLINK" && ip link set "$HOSTLINK" up &&
	ip -n "$NETNS" addr add "$NS_IP/30" dev eth0 && ip -n "$NETNS" link set eth0 up; }; then
	die "cannot address the veth pair"
fi
socat "TCP-LISTEN:$PORT,bind=$HOST_IP,reuseaddr,fork" "TCP:127.0.0.1:$PORT" >/dev/null 2>"$WORK/relay.err" &
relay_pid=$!
wait_for 10 in_netns "$NETNS" bash -c "exec 3<>/dev/tcp/$HOST_IP/$PORT" || die "relay not reachable"
"$KUBECTL" config view --minify --flatten >"$WORK/kubeconfig" || die "cannot copy the kubeconfig"
cluster=$("$KUBECTL" --kubeconfig "$WORK/kubeconfig" config view -o jsonpath='{.clusters[0].name}')
"$KUBECTL" --kubeconfig "$WORK/kubeconfig" config set-cluster "$cluster" \
	--server "https://$HOST_IP:$PORT" --tls-server-name kubernetes >/dev/null ||
	die "cannot point the kubeconfig at the relay"

"$KUBECTL" create namespace "$APINS" >/dev/null || die "cannot create namespace $APINS"
"$KUBECTL" -n "$APINS" apply -f - >/dev/null <<EOF || die "cannot create the Lease"
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: deadconn-beat}
spec: {holderIdentity: deadconn}
EOF

# --- the client, settled on one connection ----------------------------------
# nsenter and env exec: $! is the client's PID (in_netns, a function, would
# leave a subshell in between)
nsenter --net="/run/netns/$NETNS" -- env KUBECONFIG="$WORK/kubeconfig" "$CLIENT" "$APINS" \
	>"$WORK/client.out" 2>"$WORK/client.err" &
client_pid=$!
settled() { [[ $(grep -c ' write ok$' "$WORK/client.out") -ge 3 ]] && grep -q ' synced$' "$WORK/client.out"; }
wait_for 30 settled || die "the client did not sync and renew through the relay"
before=$(conn_ports)
[[ -n $before ]] || die "no connection from the client to the relay"
echo "# connections before: ${before//$'\n'/ }"

# --- 1. black hole ----------------------------------------------------------
t_drop=$EPOCHREALTIME
drop -A || die "cannot add the iptables drop rules"
detected() { first_after "$t_drop" '^watch-errors' >/dev/null; }
if wait_for "$GIVE_UP" detected; then
	t_det=$(first_after "$t_drop" '^watch-errors')
	took=$(fsub "$t_det" "$t_drop")
	echo "# dead connection detected after ${took}s: $(grep -m1 'watch ended' "$WORK/client.err")"
	check "dead connection detected within ${DETECT_MAX}s (took ${took}s)" fle "$took" "$DETECT_MAX"
else
	fail "dead connection not detected within ${GIVE_UP}s" "$(tail -n 8 "$WORK/client.out")"
fi
t_fail=$(first_after "$t_drop" '^write failed') &&
	echo "# first renewal failure after $(fsub "$t_fail" "$t_drop")s"

# --- 2. a new connection carries a new watch --------------------------------
drop -D || die "cannot delete the iptables drop rules"
t_heal=$EPOCHREALTIME
"$KUBECTL" -n "$APINS" create -f - >/dev/null <<EOF || die "cannot create a Lease"
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: after-blackhole}
spec: {}
EOF
if wait_for 30 first_after "$t_heal" '^added after-blackhole$'; then
	echo "# event after the black hole delivered $(fsub "$(first_after "$t_heal" '^added after-blackhole$')" "$t_heal")s after the drop ended"
	ok "watch resumed: a Lease created after the black hole arrived"
else
	fail "no watch event after the black hole" "$(tail -n 8 "$WORK/client.out")"
fi
check "renewals succeed again" wait_for 15 first_after "$t_heal" '^write ok$'
after=$(conn_ports)
echo "# connections after: ${after//$'\n'/ }"
new=$(comm -13 <(echo "$before") <(echo "$after"))
check "a new connection replaced the dead one" test -n "$new"

echo "# $passed passed, $failed failed"
((failed == 0))
