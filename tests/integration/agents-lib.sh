# shellcheck shell=bash
# Helpers to run l2lb-agents in network namespaces against a kube-apiserver of
# their own (scripts/kube-testenv), sourced by tests/integration/test-agent.sh
# and bench/agent/run.
#
# Topology (every name carries the unique id $AG_ID, so runs never collide
# with each other, the lab or other tests):
#
#   host bridge ag<ID>h  10.251.<N>.1/24 ── kube-apiserver listens here
#     └─ veth ag<ID><node>e ── eth0 (10.251.<N>.<2..>) in netns ag<ID><node>
#   with --l2: L2 segment bridge ag<ID>l (no address)
#     ├─ veth ag<ID><node>n ── net0 (12.0.0.<10+i>/24, MAC 02:4c:32:00:00:<10+i in hex>)
#     │                        of node i (the seed's three: .10-.12, :10-:12)
#     └─ veth ag<ID>nbn     ── net0 (12.0.0.2/24) in netns ag<ID>nb (the neighbor)
#   without --l2: net0 is one end of a veth pair inside each node namespace
#
# Nodes: AG_NODE_COUNT of them (default 3, the seed's kind-control-plane,
# kind-worker, kind-worker2, short names cp, w1, w2; then kind-worker3 (w3),
# kind-worker4 (w4), ...). A test may narrow AG_NODES to some of them after
# sourcing this file.
#
# Every process is started by us and stopped by its PID; ag_cleanup removes
# the agents, the namespaces, links, bridges, bpf pins and the testenv
# instance, and is safe to call more than once.
#
# Needs: AG_TESTENV (scripts/kube-testenv), AG_BUILD (build dir), AG_TOP (repo).

: "${AG_TESTENV:?} ${AG_BUILD:?} ${AG_TOP:?}"
# shellcheck source=scripts/lib/common.sh
source "$AG_TOP/scripts/lib/common.sh"
# shellcheck source=scripts/lib/netns.sh
source "$AG_TOP/scripts/lib/netns.sh"

AG_NODE_COUNT=${AG_NODE_COUNT:-3}
# at most 200: net0 addresses 12.0.0.10.., MACs 02:4c:32:00:00:10..
if ! [[ $AG_NODE_COUNT =~ ^[0-9]+$ ]] || ((AG_NODE_COUNT < 1 || AG_NODE_COUNT > 200)); then
	die "AG_NODE_COUNT: 1 to 200 nodes, not '$AG_NODE_COUNT'"
fi
AG_ID=${AG_ID:-$$}
AG_PREFIX=ag$AG_ID
AG_WORK=${AG_WORK:-$(mktemp -d "/tmp/l2lb-agents-$AG_ID-XXXXXX")}
AG_BPF=/sys/fs/bpf/l2lb-ag$AG_ID
AG_INSTANCE=agt-$AG_ID
AG_NODES=()
declare -A AG_SHORT=() # node → short name (netns and link names)
declare -A AG_INDEX=() # node → 0, 1, ... (MAC, addresses, metrics port)
declare -A AG_PID=()   # node → agent pid
_ag_nodes() {
	local i name short
	for ((i = 0; i < AG_NODE_COUNT; i++)); do
		case $i in
		0) name=kind-control-plane short=cp ;;
		1) name=kind-worker short=w1 ;;
		*) name=kind-worker$i short=w$i ;;
		esac
		AG_NODES+=("$name")
		AG_SHORT[$name]=$short
		AG_INDEX[$name]=$i
	done
}
_ag_nodes
AG_NEIGHBOR_NS=${AG_PREFIX}nb
AG_L2=0
AG_SUBNET=""           # 10.251.N
# XDP mode of the agents: auto (default: no --xdp-mode, the agent's default;
# net0's peer is on the host, in another namespace, without XDP program, so
# the agent picks generic), generic, or native: that needs an XDP program on
# the far (host) end of each node's net0 veth, or frames sent with XDP_TX are
# lost there; ag_topology --l2 attaches src/bpf's pass-through program
AG_XDP_MODE=${AG_XDP_MODE:-auto}
AG_EXTRA_PIDS=()       # helpers (tcpdump, watchers) to stop on cleanup
AG_ADMIN_KC=""
AG_AGENT_KC=$AG_WORK/agent.kubeconfig
AG_KUBECTL=${AG_KUBECTL:-${KUBECTL:-}}

ag_now() { printf '%s\n' "$EPOCHREALTIME"; } # wall clock, seconds with µs

ag_ns() { printf '%s%s' "$AG_PREFIX" "${AG_SHORT[${1:?node}]}"; }        # node → netns name
ag_in() { local n=${1:?node}; shift; in_netns "$(ag_ns "$n")" "$@"; }
ag_in_neighbor() { in_netns "$AG_NEIGHBOR_NS" "$@"; }
ag_mac() { printf '02:4c:32:00:00:%02x' $((0x10 + AG_INDEX[${1:?node}])); } # node's net0 MAC
ag_addr() { printf '12.0.0.%d' $((10 + AG_INDEX[${1:?node}])); }          # node's net0 address
ag_host_port() { printf '%s%sn' "$AG_PREFIX" "${AG_SHORT[${1:?node}]}"; } # host end of node's net0
ag_sock() { printf '%s/%s.sock' "$AG_WORK" "${1:?node}"; }
ag_bpf_root() { printf '%s/%s' "$AG_BPF" "${1:?node}"; }
ag_metrics_port() { printf '%d' $((9963 + AG_INDEX[${1:?node}])); }
ag_node_of_mac() {
	local n
	for n in "${AG_NODES[@]}"; do [[ $(ag_mac "$n") == "$1" ]] && { printf '%s\n' "$n"; return 0; }; done
	printf 'unknown(%s)\n' "$1"
}

k() { KUBECONFIG=$AG_ADMIN_KC "$AG_KUBECTL" "$@"; }

# ag_pick_subnet: a 10.251.N.0/24 not configured anywhere on the host
ag_pick_subnet() {
	local n i
	for ((i = 0; i < 200; i++)); do
		n=$(((AG_ID + i) % 200 + 20))
		if ! ip -4 -o addr show | has " 10\.251\.$n\."; then
			AG_SUBNET=10.251.$n
			return 0
		fi
	done
	return 1
}

_ag_veth() { # HOSTLINK NETNS DEV [MAC] [BRIDGE]
	ip link add "$1" type veth peer name "$3" netns "$2" || return 1
	[[ -z ${4:-} ]] || ip -n "$2" link set "$3" address "$4"
	[[ -z ${5:-} ]] || ip link set "$1" master "$5"
	ip link set "$1" up
	ip -n "$2" link set "$3" up
}

_ag_bridge() { # NAME [ADDR]
	ip link add "$1" type bridge || return 1
	# bridged frames must not traverse the host's iptables (br_netfilter)
	ip link set "$1" type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 2>/dev/null
	[[ -z ${2:-} ]] || ip addr add "$2" dev "$1"
	ip link set "$1" up
}

# ag_topology [--l2]
ag_topology() {
	local node i=2
	[[ ${1:-} == --l2 ]] && AG_L2=1
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || return 1
	ag_pick_subnet || { log "no free 10.251.N.0/24"; return 1; }
	_ag_bridge "${AG_PREFIX}h" "$AG_SUBNET.1/24" || return 1
	((AG_L2)) && { _ag_bridge "${AG_PREFIX}l" || return 1; }
	for node in "${AG_NODES[@]}"; do
		ip netns add "$(ag_ns "$node")" || return 1
		ip -n "$(ag_ns "$node")" link set lo up
		_ag_veth "${AG_PREFIX}${AG_SHORT[$node]}e" "$(ag_ns "$node")" eth0 "" "${AG_PREFIX}h" || return 1
		ip -n "$(ag_ns "$node")" addr add "$AG_SUBNET.$i/24" dev eth0
		if ((AG_L2)); then
			_ag_veth "$(ag_host_port "$node")" "$(ag_ns "$node")" net0 "$(ag_mac "$node")" "${AG_PREFIX}l" || return 1
			ip -n "$(ag_ns "$node")" addr add "$(ag_addr "$node")/24" dev net0
		else
			# a veth pair inside the namespace (the kernel may lack dummy)
			ip -n "$(ag_ns "$node")" link add net0 address "$(ag_mac "$node")" type veth peer name net0p || return 1
			ip -n "$(ag_ns "$node")" link set net0p up
			ip -n "$(ag_ns "$node")" link set net0 up
		fi
		mkdir -p "$(ag_bpf_root "$node")"
		i=$((i + 1))
	done
	if ((AG_L2)) && [[ $AG_XDP_MODE == native ]]; then
		local ports=()
		for node in "${AG_NODES[@]}"; do ports+=("$(ag_host_port "$node")"); done
		"$AG_TOP/scripts/xdp-pass-attach" "$AG_BUILD/src/bpf/xdp-pass.bpf.o" "${ports[@]}" ||
			{ log "cannot attach the pass-through XDP program to ${ports[*]}"; return 1; }
	fi
	if ((AG_L2)); then
		ip netns add "$AG_NEIGHBOR_NS" || return 1
		ip -n "$AG_NEIGHBOR_NS" link set lo up
		_ag_veth "${AG_PREFIX}nbn" "$AG_NEIGHBOR_NS" net0 02:4c:32:00:00:02 "${AG_PREFIX}l" || return 1
		ip -n "$AG_NEIGHBOR_NS" addr add 12.0.0.2/24 dev net0
	fi
}

# ag_testenv_up: an apiserver on the host bridge, RBAC of deploy/base, the
# agent's identity, the Node objects (Ready; the control plane labelled)
ag_testenv_up() {
	local out
	out=$("$AG_TESTENV" up --name "$AG_INSTANCE" --address "$AG_SUBNET.1" --port 0 2>"$AG_WORK/testenv-up.log") ||
		{ log "kube-testenv up failed:"; tail -20 "$AG_WORK/testenv-up.log" >&2; return 1; }
	AG_ADMIN_KC=$(tail -n 1 <<<"$out")
	AG_ADMIN_KC=${AG_ADMIN_KC#export KUBECONFIG=}
	[[ -n $AG_KUBECTL ]] || AG_KUBECTL=$("$AG_TESTENV" bin)/kubectl
	k apply -k "$AG_TOP/deploy/base" >/dev/null || { log "cannot apply deploy/base"; return 1; }
	"$AG_TESTENV" kubeconfig --name "$AG_INSTANCE" \
		--user system:serviceaccount:kube-system:l2lb-agent \
		--group system:serviceaccounts --group system:serviceaccounts:kube-system \
		--out "$AG_AGENT_KC" >/dev/null 2>&1 || { log "cannot mint the agent identity"; return 1; }
	local node
	for node in "${AG_NODES[@]}"; do
		printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n  labels: {kubernetes.io/hostname: %s%s}\n' \
			"$node" "$node" "$([[ $node == kind-control-plane ]] && printf ', node-role.kubernetes.io/control-plane: ""')"
		printf -- '---\n'
	done | k apply -f - >/dev/null || return 1
	for node in "${AG_NODES[@]}"; do ag_node_ready "$node" || return 1; done
}

# ag_api METHOD PATH [BODY] [CONTENT-TYPE]: a request as admin (curl; kubectl
# 1.20 cannot write status subresources)
ag_api() {
	: "${1:?method} ${2:?path}"
	local dir server
	dir=$(dirname "$AG_ADMIN_KC")
	# shellcheck source=/dev/null disable=SC2153 # kube-testenv's config.env sets SERVER
	server=$(. "$dir/config.env" && printf '%s' "$SERVER")
	curl -sS --fail ${AG_API_MAX_TIME:+--max-time "$AG_API_MAX_TIME"} --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $(cat "$dir/admin.token")" \
		-X "$1" ${3:+-H "Content-Type: ${4:-application/merge-patch+json}" --data "$3"} "$server$2"
}

ag_node_ready() { # NODE: status Ready=True (no kubelet here)
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	ag_api PATCH "/api/v1/nodes/${1:?node}/status" \
		"{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"lastHeartbeatTime\":\"$now\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null
}

# ag_start_agent NODE [FLAGS...]: start (or restart) NODE's agent; pid in AG_PID[NODE]
ag_start_agent() {
	local node=${1:?node} xdp=()
	shift
	[[ $AG_XDP_MODE == auto ]] || xdp=(--xdp-mode="$AG_XDP_MODE")
	setsid nsenter --net="/run/netns/$(ag_ns "$node")" -- \
		"$AG_BUILD/l2lb-agent" --kubeconfig="$AG_AGENT_KC" --node-name="$node" --devices=net0 \
		--enable-external-ips --l2-announcements-external-ips-cidrs=12.0.0.0/8 \
		--l2-announcements-lease-duration=3s \
		--l2-announcements-renew-deadline=1s --l2-announcements-retry-period=500ms \
		--bpf-root="$(ag_bpf_root "$node")" --status-socket="$(ag_sock "$node")" \
		--prometheus-serve-addr=":$(ag_metrics_port "$node")" "${xdp[@]}" \
		"${AG_AGENT_FLAGS[@]}" "$@" </dev/null >>"$AG_WORK/$node.log" 2>&1 &
	AG_PID[$node]=$!
}
AG_AGENT_FLAGS=()

# ag_signal_agent NODE SIGNAL: signal the agent by its PID (no wait)
ag_signal_agent() {
	local p=${AG_PID[${1:?node}]:-} sig=${2:?signal}
	[[ -n $p ]] && kill "-$sig" "$p" 2>/dev/null
}

# ag_stop_agent NODE SIGNAL [TIMEOUT_S]: signal it, wait for it to exit
# (SIGKILL after the timeout); returns how it ended
ag_stop_agent() {
	local p=${AG_PID[${1:?node}]:-} t=${3:-10} i
	: "${2:?signal}"
	[[ -n $p ]] || return 0
	# no "Killed" notice from bash for an intended kill
	[[ $2 == KILL || $2 == 9 ]] && disown "$p" 2>/dev/null
	kill "-$2" "$p" 2>/dev/null
	for ((i = 0; i < t * 20; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$p" 2>/dev/null; then
		log "agent $1 (pid $p) still running after $t s: SIGKILL"
		kill -KILL "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
	local rc=$?
	unset "AG_PID[$1]"
	return $rc
}

# the agent's state as `l2lb status` prints it; that exits 1 for an agent that
# is not ready (or absent: then nothing is printed), callers read the output
ag_status() { "$AG_BUILD/l2lb" --status-socket="$(ag_sock "${1:?node}")" status || true; }
ag_bpf_list() { "$AG_BUILD/l2lb" --bpf-root="$(ag_bpf_root "${1:?node}")" bpf l2 list; }
ag_metrics() { ag_in "${1:?node}" curl -s --max-time 5 "http://127.0.0.1:$(ag_metrics_port "$1")/metrics"; }

# lease helpers
ag_lease_name() { printf 'cilium-l2announce-%s-%s' "${1:?namespace}" "${2:?service}"; } # NS SVC
ag_holder() { k -n kube-system get lease "${1:?lease}" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
ag_transitions() { k -n kube-system get lease "${1:?lease}" -o jsonpath='{.spec.leaseTransitions}' 2>/dev/null; }
# all l2announce leases as "name holder transitions" lines
ag_leases() {
	k -n kube-system get leases -o jsonpath='{range .items[*]}{.metadata.name} {.spec.holderIdentity} {.spec.leaseTransitions}{"\n"}{end}' 2>/dev/null |
		grep '^cilium-l2announce-'
}

# ag_bg CMD...: start a helper in its own session (process group = its PID),
# so ag_cleanup can stop it with everything it started; pid in AG_BG_PID
ag_bg() {
	setsid "$@" &
	AG_BG_PID=$!
	AG_EXTRA_PIDS+=("$AG_BG_PID")
}
ag_bg_stop() { # PID: stop a helper's process group
	local p keep=()
	kill -TERM -- "-${1:?pid}" 2>/dev/null
	wait "$1" 2>/dev/null
	for p in "${AG_EXTRA_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	AG_EXTRA_PIDS=("${keep[@]}")
}

# ag_lease_watch FILE: background watch of the leases, one line per event,
# timestamped on arrival: "<wall time> <name> <holder or -> <transitions> ..."
# (bench-lease-watch, a C informer, if built; else kubectl get -w)
ag_lease_watch() {
	local w=$AG_BUILD/bench/agent/bench-lease-watch
	: "${1:?watch file}"
	if [[ -x $w ]]; then
		ag_bg env KUBECONFIG="$AG_ADMIN_KC" "$w" kube-system >>"$1" 2>/dev/null </dev/null
		return
	fi
	# shellcheck disable=SC2016 # the inner bash expands $1.. and $EPOCHREALTIME
	ag_bg bash -c '
		KUBECONFIG=$1 "$2" -n kube-system get leases -w --request-timeout=0 \
			-o jsonpath="{.metadata.name} {.spec.holderIdentity} {.spec.leaseTransitions}{\"\\n\"}" 2>/dev/null |
			while read -r name holder tr; do
				[[ $name == cilium-l2announce-* ]] || continue
				printf "%s %s %s %s\n" "$EPOCHREALTIME" "$name" "${holder:--}" "${tr:-0}"
			done >>"$3"' _ "$AG_ADMIN_KC" "$AG_KUBECTL" "$1" </dev/null
}

# ag_on_exit: the EXIT trap of a test: the last lines of every log when a
# check failed (checks.sh's $failed) or the script did, then ag_cleanup
ag_on_exit() {
	local rc=$? f
	if ((${failed:-0} > 0)) || [[ $rc != 0 ]]; then
		for f in "$AG_WORK"/*.log; do
			[[ -f $f ]] || continue
			echo "--- last lines of $(basename "$f"):"
			tail -n 20 "$f"
		done
	fi
	ag_cleanup
}

ag_cleanup() {
	local node p
	for node in "${!AG_PID[@]}"; do
		p=${AG_PID[$node]}
		disown "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	AG_PID=()
	for p in "${AG_EXTRA_PIDS[@]}"; do
		disown "$p" 2>/dev/null
		kill -KILL -- "-$p" 2>/dev/null
	done
	sleep 0.2 # let them go before their namespaces do
	AG_EXTRA_PIDS=()
	for node in "${AG_NODES[@]}"; do
		[[ -e /run/netns/$(ag_ns "$node") ]] && ip netns del "$(ag_ns "$node")"
	done
	[[ -e /run/netns/$AG_NEIGHBOR_NS ]] && ip netns del "$AG_NEIGHBOR_NS"
	local links=("${AG_PREFIX}h" "${AG_PREFIX}l" "${AG_PREFIX}nbn")
	for p in "${AG_SHORT[@]}"; do links+=("$AG_PREFIX${p}e" "$AG_PREFIX${p}n"); done
	for p in "${links[@]}"; do
		ip link show "$p" >/dev/null 2>&1 && ip link del "$p" 2>/dev/null
	done
	[[ -d $AG_BPF ]] && rm -rf "$AG_BPF"
	if [[ -n $AG_SUBNET ]]; then
		"$AG_TESTENV" down --name "$AG_INSTANCE" >/dev/null 2>&1
	fi
	[[ -n ${AG_KEEP_WORK:-} ]] || rm -rf "$AG_WORK"
}

# ---- the neighbor's view (with --l2) ----

# ag_capture_start FILE: tcpdump of ARP on the neighbor's net0 (wall-clock
# timestamps, link-layer headers), ready when this returns; pid in AG_CAP_PID
ag_capture_start() {
	local i
	: >"${1:?capture file}.err"
	ag_bg nsenter --net="/run/netns/$AG_NEIGHBOR_NS" -- \
		tcpdump -i net0 -n -e -l --immediate-mode -tt arp >"$1" 2>"$1.err" </dev/null
	AG_CAP_PID=$AG_BG_PID
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$1.err" 2>/dev/null && return 0
		sleep 0.05
	done
	log "tcpdump did not start: $(cat "$1.err")"
	return 1
}
ag_capture_stop() { sleep 0.2; ag_bg_stop "$AG_CAP_PID"; }

# ag_arping_start IP [INTERVAL]: ARP requests from the neighbor until stopped
ag_arping_start() {
	ag_bg nsenter --net="/run/netns/$AG_NEIGHBOR_NS" -- \
		arping -q -I net0 -W "${2:-0.1}" "${1:?ip}" </dev/null >/dev/null 2>&1
	AG_ARPING_PID=$AG_BG_PID
}
ag_arping_stop() { ag_bg_stop "$AG_ARPING_PID"; }

# ag_arp_table CAPTURE IP [FROM] [TO]: the neighbor's requests for IP (sent
# between the wall times FROM and TO) with the replies each got, one line per
# request: "R <time> <number of replies> <distinct MACs, comma-separated, or ->"
# (a reply belongs to the latest request before it), then one line per
# gratuitous announcement for IP (broadcast reply, or request with sender =
# target): "G <time> <MAC>".
ag_arp_table() {
	: "${1:?capture file}"
	awk -v ip="${2:?ip}" -v from="${3:-0}" -v to="${4:-1e12}" '
	function idx(w,   i) { for (i = 1; i <= NF; i++) if ($i == w) return i; return 0 }
	{
		t = $1; src = $2; dst = $4; sub(/,$/, "", dst)
		if ((i = idx("who-has")) > 0) {
			tgt = $(i + 1); snd = $(i + 3); sub(/,$/, "", snd)
			if (tgt != ip) next
			if (snd == tgt) { g[++ng] = t " " src; next }
			if (t < from || t > to) { cur = 0; next }
			n++; rt[n] = t; cnt[n] = 0; macs[n] = ""; cur = n
			next
		}
		if ((i = idx("Reply")) > 0) {
			if ($(i + 1) != ip) next
			mac = $(i + 3); sub(/,$/, "", mac)
			if (dst == "ff:ff:ff:ff:ff:ff") { g[++ng] = t " " mac; next }
			if (!cur) next
			cnt[cur]++
			if (index("," macs[cur] ",", "," mac ",") == 0)
				macs[cur] = macs[cur] == "" ? mac : macs[cur] "," mac
		}
	}
	END {
		for (j = 1; j <= n; j++) print "R", rt[j], cnt[j], (macs[j] == "" ? "-" : macs[j])
		for (j = 1; j <= ng; j++) print "G", g[j]
	}' "$1"
}

# ag_lease_change WATCHFILE LEASE AFTER [NOT_HOLDER]: wall time of the first
# event after AFTER naming a holder other than NOT_HOLDER (and not empty)
ag_lease_change() {
	: "${1:?watch file}"
	awk -v l="${2:?lease}" -v after="${3:?after time}" -v old="${4:-}" \
		'$2 == l && $1 > after && $3 != "-" && $3 != "deleted" && $3 != old { print $1, $3; exit }' "$1"
}

# ---- the lease state from a watch file (no kubectl polling) ----

# ag_w_holders WATCHFILE: current "name holder" of every lease (holder - when
# empty), from the last event of each
ag_w_holders() {
	awk '{ h[$2] = $3 } $3 == "deleted" { delete h[$2] } END { for (l in h) print l, h[l] }' "${1:?watch file}" | sort
}
# ag_w_last_change WATCHFILE: wall time of the last holder change (or creation)
ag_w_last_change() {
	awk '$3 != h[$2] { t = $1; h[$2] = $3 } END { print t + 0 }' "${1:?watch file}"
}
