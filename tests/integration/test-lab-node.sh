#!/usr/bin/env bash
# One real lab node (lab/node: containerd + kubelet in a network namespace
# and a mount namespace of their own) against a control plane of the test's
# own, a pod from a locally built image on it, then the node killed and
# removed: nothing of it may be left (processes, cgroups, mounts, network
# namespaces).
#   - the node registers and turns Ready; its pod CIDR reaches the CNI
#     configuration
#   - a pod of l2lb.local/deathstar (imported, imagePullPolicy Never) runs
#     with the pause image l2lb.local/pause:1, gets an IP from the node's
#     pod CIDR and answers /v1/ with its own name from the node
#   - kubectl logs and exec reach the kubelet
#   - lab/node down: no process in the node's cgroups or with its
#     directory open, no cgroup /NODE in any hierarchy, no mount of its
#     directory in any mount namespace, no network namespace more than
#     before
# Env: L2LB_BUILD, L2LB_TOP (L2LB_TESTENV optional). Root; runs its own
# kube-testenv instance (the apiserver must listen on an address the node's
# namespace reaches); installs the lab's packages (scripts/deps lab).
set -uo pipefail

: "${L2LB_BUILD:?} ${L2LB_TOP:?}"
testenv=${L2LB_TESTENV:-$L2LB_TOP/scripts/kube-testenv}
id=$$
node=l2lb-tn$id
netns=l2lb-tn$id
inst=l2lb-tn$id
hostif=l2lbtn${id}h
work=$(mktemp -d /tmp/l2lb-lab-node-test-XXXXXX)
dir=/run/l2lb-lab-node-test-$id
# a /30 of 10.254.x.y per test run: host .1 (the apiserver), node .2
net=10.254.$((id / 64 % 256)).$((id % 64 * 4))
host_ip=${net%.*}.$((${net##*.} + 1))
node_ip=${net%.*}.$((${net##*.} + 2))
pod_cidr=10.253.$((id % 256)).0/24
KUBECTL="" testenv_up=0

# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"

k() { KUBECONFIG=$work/admin.kubeconfig "$KUBECTL" "$@"; }

cleanup() {
	"$L2LB_TOP/lab/node" down --name "$node" --dir "$dir" >/dev/null 2>&1
	ip netns del "$netns" 2>/dev/null
	ip link del "$hostif" 2>/dev/null
	((testenv_up)) && "$testenv" down --name "$inst" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# NS (e.g. net:[4026532281]) is held by no process and pinned by no mount
# (whole lists first: grep -q ending a pipeline early fails it, pipefail)
ns_gone() {
	local held pinned
	held=$(find /proc/[0-9]*/ns/net /proc/[0-9]*/ns/mnt -maxdepth 0 -printf '%l\n' 2>/dev/null)
	pinned=$(cat /proc/[0-9]*/mountinfo 2>/dev/null)
	! grep -qxF "$1" <<<"$held" && ! grep -qF "$1" <<<"$pinned"
}

# containerd, runc, the CNI plugins, umoci (as lab/lab up installs them)
"$L2LB_TOP/scripts/deps" lab >/dev/null || {
	echo "cannot install the lab's packages (scripts/deps lab)"
	exit 1
}

# ---- the node's network and the control plane ----
ip netns add "$netns" || exit 1
ip link add "$hostif" type veth peer name eth0 netns "$netns" || exit 1
ip addr add "$host_ip/30" dev "$hostif"
ip link set "$hostif" up
ip -n "$netns" addr add "$node_ip/30" dev eth0
ip -n "$netns" link set eth0 up
ip -n "$netns" link set lo up
ip -n "$netns" route add default via "$host_ip"
ip netns exec "$netns" sysctl -qw net.ipv4.ip_forward=1

out=$("$testenv" up --name "$inst" --address "$host_ip" --port 0 --no-crds \
	--apiserver-arg=--kubelet-preferred-address-types=InternalIP) || {
	echo "cannot start the control plane"
	exit 1
}
testenv_up=1
cp "${out##*KUBECONFIG=}" "$work/admin.kubeconfig"
KUBECTL=$("$testenv" bin)/kubectl
"$testenv" kubeconfig --name "$inst" --user "system:node:$node" --group system:nodes \
	--out "$work/node.kubeconfig" >/dev/null 2>&1 || {
	echo "cannot mint the node's credentials"
	exit 1
}
k apply -f "$L2LB_TOP/lab/manifests/lab-rbac-nodes.yaml" >/dev/null
# no controller-manager here: the service account the pod names is made by hand
k create serviceaccount default >/dev/null
ca=/run/l2lb-testenv/$inst/pki/ca.crt
[[ -n ${L2LB_TESTENV_DIR:-} ]] && ca=$L2LB_TESTENV_DIR/$inst/pki/ca.crt

# ---- images ----
version=$(meson introspect --projectinfo "$L2LB_BUILD" 2>/dev/null | jq -r .version)
if ! "$L2LB_TOP/lab/image" l2lb.local/pause:1 "$work/pause.tar" "$L2LB_BUILD/lab/src/l2lb-pause" >/dev/null ||
	! "$L2LB_TOP/lab/image" "l2lb.local/deathstar:$version" "$work/deathstar.tar" \
		"$L2LB_BUILD/lab/src/l2lb-deathstar" >/dev/null; then
	echo "cannot build the images"
	exit 1
fi

# ---- the node ----
t0=$SECONDS
check "lab/node up" "$L2LB_TOP/lab/node" up --name "$node" --dir "$dir" --netns "$netns" \
	--kubeconfig "$work/node.kubeconfig" --ca "$ca" --node-ip "$node_ip" \
	--kube-bin "$(dirname "$KUBECTL")"
check "images imported" "$L2LB_TOP/lab/node" import --name "$node" --dir "$dir" "$work/pause.tar" "$work/deathstar.tar"
k patch node "$node" -p "{\"spec\":{\"podCIDR\":\"$pod_cidr\",\"podCIDRs\":[\"$pod_cidr\"]}}" >/dev/null 2>&1 ||
	{ wait_for 60 k get node "$node" >/dev/null &&
		k patch node "$node" -p "{\"spec\":{\"podCIDR\":\"$pod_cidr\",\"podCIDRs\":[\"$pod_cidr\"]}}" >/dev/null; }
node_ready() { [[ $(k get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
check "node Ready" wait_for 90 node_ready
echo "# node Ready after $((SECONDS - t0)) s, kubelet $(k get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null), runtime $(k get node "$node" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}' 2>/dev/null)"
check "the pod CIDR is in the node's CNI configuration" \
	wait_for 30 grep -q "\"$pod_cidr\"" "$dir/cni-conf/10-containerd-net.conflist"

t1=$SECONDS
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: ds-$id
  namespace: default
spec:
  nodeName: $node
  automountServiceAccountToken: false
  containers:
    - name: deathstar
      image: l2lb.local/deathstar:$version
      imagePullPolicy: Never
      readinessProbe:
        httpGet: { path: /v1/, port: 80 }
        periodSeconds: 1
EOF
pod_ready() { [[ $(k get pod "ds-$id" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
check "pod Running and Ready" wait_for 90 pod_ready
echo "# pod Ready after $((SECONDS - t1)) s"
pod_ip=$(k get pod "ds-$id" -o jsonpath='{.status.podIP}')
check "pod IP $pod_ip in $pod_cidr" test "${pod_ip%.*}" = "${pod_cidr%.*}"
body=$(ip netns exec "$netns" curl -sS --max-time 3 "http://$pod_ip/v1/" 2>&1)
check "the pod answers /v1/ with its name" grep -q "\"hostname\": \"ds-$id\"" <<<"$body"
check "kubectl logs" wait_for 10 bash -c "KUBECONFIG=$work/admin.kubeconfig $KUBECTL logs ds-$id | grep -q 'Death Star listening'"
check "kubectl exec" bash -c "KUBECONFIG=$work/admin.kubeconfig $KUBECTL exec ds-$id -- /usr/bin/l2lb-deathstar --help | grep -q Usage"
rss=$(find "/sys/fs/cgroup/memory/$node" -name cgroup.procs -exec cat {} + | while read -r proc; do
	awk '/^VmRSS/ {print $2}' "/proc/$proc/status" 2>/dev/null
done | awk '{s += $1} END {print int(s / 1024)}')
echo "# memory: ${rss} MB resident in the node's processes (one pod)"

# the pod's network namespace and the node's mount namespace, which must go
pod_netns=$(readlink "/proc/$("$L2LB_TOP/lab/node" pod-pid --name "$node" --dir "$dir" "ds-$id")/ns/net")
node_mntns=$(readlink "/proc/$(cut -d' ' -f1 "$dir/pids/containerd.pid")/ns/mnt")

# ---- kill and remove ----
if ((failed)); then
	logs=$L2LB_BUILD/test-results/lab-node
	mkdir -p "$logs"
	cp "$dir"/logs/*.log "$logs/" 2>/dev/null
	k describe pods >"$logs/pods.txt" 2>&1
	echo "# the node's logs: $logs"
fi
check "lab/node down" "$L2LB_TOP/lab/node" down --name "$node" --dir "$dir"
ip netns del "$netns"
ip link del "$hostif" 2>/dev/null
# killed processes whose parent died wait to be reaped by PID 1 a moment
# (zombies, still showing their deleted cgroup): those do not count
node_procs() {
	local f pid
	grep -l "/$node\(/\|$\)" /proc/[0-9]*/cgroup 2>/dev/null | while read -r f; do
		pid=${f#/proc/} pid=${pid%/cgroup}
		awk '$3 != "Z" {found = 1} END {exit !found}' "/proc/$pid/stat" 2>/dev/null && echo "$pid"
	done
}
check "no process in the node's cgroups" wait_for 10 test -z "$(node_procs)"
left_procs=$(node_procs)
[[ -z $left_procs ]] || for p in $left_procs; do
	echo "#   left: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-100) $(grep "/$node" "/proc/$p/cgroup" | head -n 2 | tr '\n' ' ')"
done
left_cg=$(ls -d /sys/fs/cgroup/*/"$node" 2>/dev/null)
check "no cgroup /$node left" test -z "$left_cg"
left_mounts=$(grep -l -e "$dir" -e "/$node/" /proc/[0-9]*/mountinfo 2>/dev/null)
check "no mount of $dir in any mount namespace" test -z "$left_mounts"
check "the state directory is gone" test ! -e "$dir"
left_open=$(find /proc/[0-9]*/cwd /proc/[0-9]*/root -maxdepth 0 -printf '%l\n' 2>/dev/null | grep -F "$dir")
check "no process in the node's directory" test -z "$left_open"
check "the pod's network namespace $pod_netns is gone" wait_for 10 ns_gone "$pod_netns"
check "the node's mount namespace $node_mntns is gone" wait_for 10 ns_gone "$node_mntns"
echo "$passed passed, $failed failed"
((failed == 0))
