# shellcheck shell=bash
# Sourced by test-deploy.sh and test-prometheus.sh: a control plane and a
# "node" of their own, and l2lb's programs run the way deploy/ runs them.
#
#   host ── veth (198.18.X.1 | eth0 198.18.X.2) ── netns NODE ── veth (net0 198.19.X.1 | c0 198.19.X.2) ── netns CLIENT
#
# * a kube-testenv instance bound to 198.18.X.1 (reachable from the node)
# * identities minted for the ServiceAccounts of deploy/base, so each program
#   runs with exactly its RBAC
# * the programs get the args of the rendered manifests (with $(POD_NAMESPACE)
#   expanded), the ConfigMap l2lb-config as a config directory laid out as the
#   kubelet lays out a ConfigMap volume, and the agent only the capabilities of
#   the DaemonSet's securityContext (setpriv bounding set; no_new_privs when it
#   says allowPrivilegeEscalation: false)
# Everything is removed by ne_cleanup (trap it), by name and PID, never by pattern.
#
# Needs: KUBECTL, L2LB_TESTENV, L2LB_BUILD, L2LB_TOP; set NE_TAG (short word) first.

: "${KUBECTL:?} ${L2LB_TESTENV:?} ${L2LB_BUILD:?} ${L2LB_TOP:?} ${NE_TAG:?}"

NE_ID=$$
NE_WORK=$(mktemp -d "/tmp/l2lb-$NE_TAG-test-XXXXXX")
NE_INSTANCE=l2lb-$NE_TAG-$NE_ID
NE_NODE=l2lb-$NE_TAG-node-$NE_ID # Node object and netns
NE_CLIENT=l2lb-$NE_TAG-client-$NE_ID
NE_HOSTLINK=l2h$NE_ID # host end of the node's eth0 (<= 15 characters)
NE_BPF=/sys/fs/bpf/l2lb-$NE_TAG-test-$NE_ID
NE_NAMESPACE=${NE_NAMESPACE:-kube-system} # where the manifests were applied (deploy/: l2lb-system)
NE_PIDS=()
NE_UP=0 # testenv instance started

# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
# shellcheck source=scripts/lib/netns.sh
source "$L2LB_TOP/scripts/lib/netns.sh"
k() { "$KUBECTL" "$@"; }

ne_stop_pid() { # PID: SIGTERM, SIGKILL after 8 s
	local p=${1:?pid} i
	kill -TERM "$p" 2>/dev/null || return 0
	for ((i = 0; i < 80; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

ne_cleanup() {
	local p
	for p in "${NE_PIDS[@]}"; do ne_stop_pid "$p"; done
	if ((NE_UP)); then
		"$L2LB_TESTENV" down --name "$NE_INSTANCE" >/dev/null 2>&1 ||
			echo "warning: kube-testenv down --name $NE_INSTANCE failed" >&2
	fi
	ip netns del "$NE_CLIENT" 2>/dev/null
	ip netns del "$NE_NODE" 2>/dev/null
	ip link del "$NE_HOSTLINK" 2>/dev/null
	rm -rf "$NE_BPF" 2>/dev/null
	rm -rf "$NE_WORK"
}

# ---- network ----

ne_net_up() {
	local x i
	# a /24 of 198.18.0.0/15 (benchmarking range) that nothing on the host uses
	local used
	used=$(ip -o -4 addr show; ip -4 route show)
	for ((i = 0; i < 250; i++)); do
		x=$(((NE_ID + i) % 250 + 1))
		[[ $used == *" 198.18.$x."* || $used == *$'\n'"198.18.$x."* || $used == "198.18.$x."* ]] || break
	done
	NE_API_ADDR=198.18.$x.1
	NE_NODE_ADDR=198.18.$x.2
	NE_SEG=198.19.$x # the node's L2 segment (only inside the namespaces)
	ip netns add "$NE_NODE" || return 1
	ip netns add "$NE_CLIENT" || return 1
	ip -n "$NE_NODE" link set lo up && ip -n "$NE_CLIENT" link set lo up || return 1
	ip link add "$NE_HOSTLINK" type veth peer name eth0 netns "$NE_NODE" || return 1
	ip addr add "$NE_API_ADDR/24" dev "$NE_HOSTLINK" && ip link set "$NE_HOSTLINK" up || return 1
	ip -n "$NE_NODE" addr add "$NE_NODE_ADDR/24" dev eth0 && ip -n "$NE_NODE" link set eth0 up || return 1
	ip -n "$NE_NODE" link add net0 type veth peer name c0 netns "$NE_CLIENT" || return 1
	ip -n "$NE_NODE" addr add "$NE_SEG.1/24" dev net0 && ip -n "$NE_NODE" link set net0 up || return 1
	ip -n "$NE_CLIENT" addr add "$NE_SEG.2/24" dev c0 && ip -n "$NE_CLIENT" link set c0 up || return 1
	mkdir -p "$NE_BPF"
}

in_node() { in_netns "$NE_NODE" "$@"; }
in_client() { in_netns "$NE_CLIENT" "$@"; }
ne_mac() { # NETNS DEV
	ip -n "${1:?netns}" -o link show "${2:?device}" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# ---- control plane and identities ----

ne_testenv_up() {
	local out
	NE_UP=1
	out=$("$L2LB_TESTENV" up --name "$NE_INSTANCE" --address "$NE_API_ADDR" --port 0 2>"$NE_WORK/testenv.log") ||
		{ tail -20 "$NE_WORK/testenv.log"; return 1; }
	eval "$(tail -n 1 <<<"$out")"
	export KUBECONFIG
}

# ne_up_seed: the namespaces, the control plane with deploy/overlays/seed
# applied, the ConfigMap as a config directory ($NE_WORK/config) and both
# programs' identities ($NE_WORK/{operator,agent}.kubeconfig); dies on failure
ne_up_seed() {
	ne_net_up || die "cannot create the network namespaces"
	ne_testenv_up || die "cannot start kube-testenv instance $NE_INSTANCE on $NE_API_ADDR"
	k apply -k "$L2LB_TOP/deploy/overlays/seed" >/dev/null || die "kubectl apply -k deploy/overlays/seed failed"
	ne_configmap_dir "$NE_WORK/config" || die "cannot read the ConfigMap"
	ne_identity l2lb-operator "$NE_WORK/operator.kubeconfig" || die "cannot mint the operator's identity"
	ne_identity l2lb-agent "$NE_WORK/agent.kubeconfig" || die "cannot mint the agent's identity"
}

ne_identity() { # SERVICEACCOUNT OUT: a client certificate as system:serviceaccount:<ns>:<sa>
	local sa=${1:?service account} out=${2:?output file}
	"$L2LB_TESTENV" kubeconfig --name "$NE_INSTANCE" \
		--user "system:serviceaccount:$NE_NAMESPACE:$sa" \
		--group system:serviceaccounts --group "system:serviceaccounts:$NE_NAMESPACE" \
		--out "$out" >/dev/null 2>&1
}

# ---- what the manifests say ----

# ne_configmap_dir DIR: the applied ConfigMap l2lb-config as the kubelet mounts
# it (files are symlinks through ..data into a timestamped directory)
ne_configmap_dir() {
	local dir=${1:?config dir} ts key keys
	ts="..$(date +%Y_%m_%d_%H_%M_%S.%N)"
	mkdir -p "$dir/$ts"
	# shellcheck disable=SC2016 # $k and $v are go-template variables
	keys=$(k -n "$NE_NAMESPACE" get configmap l2lb-config \
		-o go-template='{{range $k, $v := .data}}{{$k}}{{"\n"}}{{end}}') || return 1
	for key in $keys; do
		k -n "$NE_NAMESPACE" get configmap l2lb-config \
			-o go-template="{{index .data \"$key\"}}" >"$dir/$ts/$key" || return 1
		ln -s "..data/$key" "$dir/$key"
	done
	ln -s "$ts" "$dir/..data"
}

# ne_manifest_args KIND NAME: the first container's args, one per line, with
# $(POD_NAMESPACE), $(HOST_IP) (the node's eth0 address) and $(POD_IP)
# (loopback) expanded as the kubelet would
ne_manifest_args() {
	k -n "$NE_NAMESPACE" get "${1:?kind}" "${2:?name}" \
		-o go-template='{{range (index .spec.template.spec.containers 0).args}}{{.}}{{"\n"}}{{end}}' |
		sed -e "s/\$(POD_NAMESPACE)/$NE_NAMESPACE/g" -e "s/\$(HOST_IP)/${NE_NODE_ADDR:-127.0.0.1}/g" \
			-e "s/\$(POD_IP)/127.0.0.1/g"
}

# ne_manifest_nnp: --nnp (no_new_privs) if the agent container forbids privilege escalation
ne_manifest_nnp() {
	[[ $(k -n "$NE_NAMESPACE" get daemonset l2lb-agent \
		-o go-template='{{(index .spec.template.spec.containers 0).securityContext.allowPrivilegeEscalation}}') == false ]] &&
		echo --nnp
}

# ne_manifest_caps: setpriv's --bounding-set for the agent container's capabilities
ne_manifest_caps() {
	local caps c out=-all
	caps=$(k -n "$NE_NAMESPACE" get daemonset l2lb-agent \
		-o go-template='{{range (index .spec.template.spec.containers 0).securityContext.capabilities.add}}{{.}} {{end}}')
	for c in $caps; do out+=",+${c,,}"; done
	printf '%s\n' "$out"
}

# ---- the programs ----

# ne_start_operator NAME CONFIGDIR [EXTRA ARGS...]: the Deployment's args, its
# identity; metrics on a free loopback port (ne_port NAME reads it)
ne_start_operator() {
	local name=${1:?name} cfg=${2:?config dir} args=() a
	shift 2
	while IFS= read -r a; do
		[[ $a == --config-dir=* ]] && a=--config-dir=$cfg
		[[ $a == --prometheus-serve-addr=* ]] && a=--prometheus-serve-addr=127.0.0.1:0
		args+=("$a")
	done < <(ne_manifest_args deployment l2lb-operator)
	POD_NAME=$name POD_NAMESPACE=$NE_NAMESPACE "$L2LB_BUILD/l2lb-operator" "${args[@]}" \
		--kubeconfig="$NE_WORK/operator.kubeconfig" "$@" >"$NE_WORK/$name.log" 2>&1 &
	NE_PIDS+=($!)
	eval "pid_$(tr -c 'a-zA-Z0-9\n' _ <<<"$name")=$!"
}

ne_port() { # NAME: port of "serving metrics and health" in its log
	local name=${1:?name} i p
	for ((i = 0; i < 50; i++)); do
		p=$(sed -n 's/.*msg="serving metrics and health".* port=\([0-9]*\).*/\1/p' "$NE_WORK/$name.log" | tail -1)
		[[ -n $p && $p != 0 ]] && { echo "$p"; return 0; }
		sleep 0.1
	done
	return 1
}

# ne_start_agent NAME CONFIGDIR [EXTRA ARGS...]: in the node's namespace, the
# DaemonSet's args and capabilities, its identity, generic XDP (veth), its
# bpffs (/sys/fs/bpf → $NE_BPF) and status socket under the test's own paths
ne_start_agent() {
	local name=${1:?name} cfg=${2:?config dir} args=() a caps nnp
	shift 2
	while IFS= read -r a; do
		[[ $a == --config-dir=* ]] && a=--config-dir=$cfg
		args+=("$a")
	done < <(ne_manifest_args daemonset l2lb-agent)
	caps=$(ne_manifest_caps)
	nnp=$(ne_manifest_nnp)
	# shellcheck disable=SC2086 # $nnp is one word or none
	NODE_NAME=$NE_NODE POD_NAMESPACE=$NE_NAMESPACE \
		nsenter --net="/run/netns/$NE_NODE" -- \
		setpriv $nnp --bounding-set="$caps" --inh-caps=-all -- \
		"$L2LB_BUILD/l2lb-agent" "${args[@]}" --kubeconfig="$NE_WORK/agent.kubeconfig" \
		--bpf-root="$NE_BPF/l2lb" --status-socket="$NE_WORK/agent.sock" --xdp-mode=generic \
		"$@" >>"$NE_WORK/$name.log" 2>&1 &
	NE_PIDS+=($!)
	eval "pid_$(tr -c 'a-zA-Z0-9\n' _ <<<"$name")=$!"
}

# ne_create_node: the Node object a kubelet would have registered, Ready
ne_create_node() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	k create -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $NE_NODE
  labels: {kubernetes.io/hostname: $NE_NODE, kubernetes.io/os: linux}
status:
  conditions:
    - {type: Ready, status: "True", reason: KubeletReady, message: "test node",
       lastHeartbeatTime: "$now", lastTransitionTime: "$now"}
EOF
}

# ne_http URL: body of a GET from the host (127.0.0.1 or the node's address)
ne_http() { curl -fsS --max-time 3 "${1:?url}"; }

ne_report() { # NAME
	local name=${1:?test name} f
	echo "$name: $passed passed, $failed failed"
	for f in "$NE_WORK"/*.log; do
		[[ $f == */testenv.log ]] && continue
		if grep -q 'level=error' "$f"; then
			echo "--- errors in $(basename "$f"):"
			grep 'level=error' "$f" | head -5
		fi
	done
	if ((failed)); then
		for f in "$NE_WORK"/*.log; do
			[[ $f == */testenv.log ]] && continue
			echo "--- last lines of $(basename "$f"):"
			tail -15 "$f"
		done
	fi
	[[ $failed -eq 0 ]]
}
