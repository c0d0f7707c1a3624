#!/usr/bin/env bash
# The l2lb command's conventions (kubectl's):
#   - exit status 2 for usage errors (unknown command, unknown flag, bad -o)
#   - config view and status fail (1) when no agent answers; status fails
#     when the agent answers not ready, and -o json|yaml keep the documented
#     field names (a fake agent on a unix socket, answered by socat)
#   - leases/pools find the kubeconfig in ~/.kube/config (HOME in a temp
#     dir), --context picks a context and refuses an absent one
#   - l2lb doctor in a netns of its own: kube-ipvs0 without strict ARP is a
#     WARN (exit 1); with arp_ignore=1 arp_announce=2 the check is OK
#   - doctor on a veth: the responder in native mode with a peer without XDP
#     is a FAIL, OK once the peer has one; a foreign XDP program is a WARN
# Env: KUBECONFIG (admin), KUBECTL, L2LB_BUILD, L2LB_TOP. Needs root (netns,
# bpftool).
set -uo pipefail

: "${KUBECONFIG:?} ${KUBECTL:?} ${L2LB_BUILD:?} ${L2LB_TOP:?}"
l2lb=$L2LB_BUILD/l2lb
work=$(mktemp -d /tmp/l2lb-cli-test-XXXXXX)
netns=l2lb-cli-$$
pool=clitest-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  ip netns del "$netns" 2>/dev/null
  "$KUBECTL" delete ippool "$pool" >/dev/null 2>&1
  "$KUBECTL" -n kube-system delete lease "cilium-l2announce-clitest-$$" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"

# expect_rc WANT DESCRIPTION COMMAND...: the command's exit status is WANT
expect_rc() {
  local want=$1 d=$2 rc=0
  shift 2
  "$@" >"$work/out" 2>&1 || rc=$?
  if [[ $rc == "$want" ]]; then ok "$d"; else fail "$d (exit $rc, want $want)" "$(cat "$work/out")"; fi
}

# ---- usage errors: 2 ----
expect_rc 2 "unknown command exits 2" "$l2lb" frobnicate
expect_rc 2 "unknown subcommand exits 2" "$l2lb" bpf l2 lst
expect_rc 2 "unknown flag exits 2" "$l2lb" status --no-such-flag
expect_rc 2 "bad -o value exits 2" "$l2lb" pools -o xml
check "bad -o names the allowed formats" grep -q "allowed formats are: json, table, yaml" "$work/out"

# ---- no agent: 1, and config view prints no local defaults ----
expect_rc 1 "config view without an agent exits 1" "$l2lb" config view --status-socket="$work/none.sock"
check "config view without an agent prints no configuration" \
  bash -c "! grep -q '^bpf-root' '$work/out'"
expect_rc 1 "status without an agent exits 1" "$l2lb" status --status-socket="$work/none.sock"

# ---- a fake agent: not ready, with one device and one entry ----
cat >"$work/status.json" <<'JSON'
{"node": "n1", "ready": false, "synced": true, "leasesHeld": 1, "internal": 7,
 "devices": [{"name": "eth1", "ifindex": 3, "mac": "02:00:00:00:00:01", "carrier": true, "responder": true}],
 "leases": [{"lease": "cilium-l2announce-ns-svc", "service": "ns/svc", "holder": "n1", "role": "holder"}],
 "entries": [{"ip": "10.0.0.1", "device": "eth1", "deadlineMs": 900, "requests": 4, "replies": 3}]}
JSON
printf 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n' >"$work/resp"
cat "$work/status.json" >>"$work/resp"
socat UNIX-LISTEN:"$work/agent.sock",fork SYSTEM:"cat '$work/resp'" &
pids+=($!)
wait_for 5 test -S "$work/agent.sock" || fail "fake agent socket"
expect_rc 1 "status exits 1 when the agent is not ready" "$l2lb" status --status-socket="$work/agent.sock"
check "status still prints the table" grep -q "^Ready: *no" "$work/out"
"$l2lb" status --status-socket="$work/agent.sock" -o json >"$work/status.out" 2>/dev/null
check "status -o json: documented fields" jq -e \
  '.node == "n1" and .ready == false and .leasesHeld == 1 and (has("internal") | not)
   and .devices[0].name == "eth1" and .devices[0].responder == true
   and .leases[0].role == "holder" and .entries[0].state == "live" and .entries[0].replies == 3' \
  "$work/status.out"
"$l2lb" status --status-socket="$work/agent.sock" --output=yaml >"$work/status.yaml" 2>/dev/null
check "status -o yaml: the same fields" grep -qx "leasesHeld: 1" "$work/status.yaml"
check "status -o yaml: block sequences" grep -q "^- name: eth1" "$work/status.yaml"

# ---- kubeconfig search and --context ----
mkdir -p "$work/home/.kube"
cp "$KUBECONFIG" "$work/home/.kube/config"
kc() { env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST HOME="$work/home" "$l2lb" "$@"; }
expect_rc 0 "pools from ~/.kube/config" kc pools -o json
check "pools -o json: items" jq -e '.items | type == "array"' "$work/out"
# a pool and an announcement Lease (no service behind it: service null)
cat <<YAML | "$KUBECTL" apply -f - >/dev/null || fail "create the pool and the lease"
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: $pool}
spec:
  blocks: [{cidr: 10.99.0.0/30}, {start: "10.99.1.1", stop: "10.99.1.9"}]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: cilium-l2announce-clitest-$$, namespace: kube-system}
spec: {holderIdentity: node-a, leaseDurationSeconds: 15, leaseTransitions: 2}
YAML
kc pools -o json >"$work/pools.json" 2>&1
# shellcheck disable=SC2016 # jq programs: jq expands their $ variables
check "pools -o json: name, blocks, disabled, conflict" jq -e --arg p "$pool" \
  '.items[] | select(.name == $p) | .blocks == ["10.99.0.0/30", "10.99.1.1-10.99.1.9"]
   and .disabled == false and .conflict == false and has("used") and has("available")' \
  "$work/pools.json"
kc leases -o yaml >"$work/leases.yaml" 2>&1
check "leases -o yaml: the lease" grep -qx -- "- lease: cilium-l2announce-clitest-$$" "$work/leases.yaml"
check "leases -o yaml: holder and transitions" \
  bash -c "grep -qx '  holder: node-a' '$work/leases.yaml' && grep -qx '  leaseTransitions: 2' '$work/leases.yaml'"
kc leases -o json >"$work/leases.json" 2>&1
# shellcheck disable=SC2016 # jq programs: jq expands their $ variables
check "leases -o json: a lease without service" jq -e --arg l "cilium-l2announce-clitest-$$" \
  '.items[] | select(.lease == $l) | .service == null and .holder == "node-a" and .leaseTransitions == 2 and .ips == []' \
  "$work/leases.json"
ctx=$(sed -n 's/^current-context: *//p' "$KUBECONFIG" | tr -d '"')
expect_rc 0 "--context with the kubeconfig's context" kc leases --context "$ctx" -o yaml
expect_rc 1 "--context with an absent context exits 1" kc leases --context=no-such-context
check "the absent context is named" grep -q 'no-such-context.*not found' "$work/out"

# ---- doctor in a netns of its own ----
ip netns add "$netns" || fail "ip netns add"
# (veth: the dummy module may be missing; kube-proxy's kube-ipvs0 is a dummy,
# the doctor looks at its name only)
ip -n "$netns" link add kube-ipvs0 type veth peer name ipvs-peer
ip -n "$netns" link add eth1 type veth peer name eth1-peer
ip netns exec "$netns" sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0
expect_rc 1 "doctor: problems found exit 1" ip netns exec "$netns" "$l2lb" doctor --devices=eth1
check "doctor: kube-ipvs0 without strict ARP is a WARN" grep -q "^WARN  ipvs .*strictARP: true" "$work/out"
ip netns exec "$netns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
ip netns exec "$netns" "$l2lb" doctor --devices=eth1 -o json >"$work/doctor.json" 2>&1
check "doctor -o json: strict ARP is OK" jq -e \
  '[.checks[] | select(.check == "ipvs")][0].level == "OK" and (.problems | type == "number")' \
  "$work/doctor.json"

# the responder in native mode on a veth: its peer needs an XDP program
# (bpffs mounted inside the netns' private mount namespace; gone with it)
obj=$L2LB_BUILD/src/bpf
ip -n "$netns" link set eth1 up
ip -n "$netns" link set eth1-peer up
ip netns exec "$netns" bash -c "mount -t bpf bpf /sys/fs/bpf && bpftool prog loadall '$obj/l2resp.bpf.o' /sys/fs/bpf/t &&
  bpftool net attach xdpdrv pinned /sys/fs/bpf/t/l2lb_responder dev eth1 && rm -rf /sys/fs/bpf/t &&
  '$l2lb' doctor --devices=eth1 >'$work/doctor1' 2>&1;
  '$L2LB_TOP/scripts/xdp-pass-attach' '$obj/xdp-pass.bpf.o' eth1-peer >/dev/null &&
  { '$l2lb' doctor --devices=eth1 >'$work/doctor2' 2>&1; true; }" || fail "attach the responder in the netns"
check "doctor: native responder on a veth whose peer has no XDP program is a FAIL" \
  grep -q "^FAIL  veth-peer .*eth1-peer has no XDP program" "$work/doctor1"
check "doctor: l2lb's own program is not foreign" grep -q "^OK    xdp-programs  eth1: only l2lb's" "$work/doctor1"
check "doctor: with an XDP program on the peer the check is OK" grep -q "^OK    veth-peer " "$work/doctor2"
ip netns exec "$netns" bash -c "'$L2LB_TOP/scripts/xdp-pass-attach' '$obj/xdp-pass.bpf.o' eth1 >/dev/null &&
  { '$l2lb' doctor --devices=eth1 >'$work/doctor3' 2>&1; true; }"
check "doctor: a foreign XDP program on the device is a WARN" \
  grep -q "^WARN  xdp-programs  eth1: XDP program(s) not l2lb's on it: xdp_pass" "$work/doctor3"

echo "test-cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
