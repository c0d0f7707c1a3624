#!/usr/bin/env bash
# l2lb-operator against the real apiserver, running with exactly the RBAC of
# deploy/base (its own ServiceAccount identity):
#   - the seed's flow: pool-blue, `kubectl expose --type LoadBalancer`, no IP
#     until labelled color=blue, then an IP in 12.0.0.128/25 and the
#     satisfied condition; an Event explains it
#   - a requested IP (lbipam.cilium.io/ips) and the exact no_pool message
#   - externalTrafficPolicy Local services selecting different pods share an
#     IP with lbipam.cilium.io/sharing-permit-different-pods on both; without
#     it, the exact refusal
#   - a conflict between two pools with the exact condition
#   - an operator restart keeps every IP
#   - two replicas: only the leader writes; killing it (SIGKILL) hands over
#     within a lease duration and no IP changes
#   - a forbidden write is denied (the role is minimal)
#   - Kubernetes >= 1.21 only (1.20 drops the field; skipped there, saying
#     so): spec.loadBalancerClass -- ours (io.cilium/l2-announcer) and none
#     get an IP, another class gets nothing at all; dual-stack Services whose
#     ipFamilies list IPv6 first
# Env: KUBECONFIG (admin), KUBECTL, L2LB_TESTENV, L2LB_BUILD, L2LB_TOP.
# Not set -e: a failed check is counted (checks.sh) and the next one runs.
set -uo pipefail

: "${KUBECONFIG:?} ${KUBECTL:?} ${L2LB_TESTENV:?} ${L2LB_BUILD:?} ${L2LB_TOP:?}"
instance=$(basename "$(dirname "$KUBECONFIG")")
work=$(mktemp -d /tmp/l2lb-operator-test-XXXXXX)
ns=optest-$$
pids=()

k() { "$KUBECTL" "$@"; }
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  # no namespace controller runs in the test instance: delete the contents
  k -n "$ns" delete svc,deployment --all --wait=false >/dev/null 2>&1
  k delete namespace "$ns" --wait=false >/dev/null 2>&1
  k delete ippools optest-blue optest-a optest-b optest-req optest-dual optest-cls >/dev/null 2>&1
  k -n kube-system delete lease l2lb-operator-resource-lock "cilium-l2announce-$ns-after-failover" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"

# ---- identity and RBAC from deploy/base ----
k apply -k "$L2LB_TOP/deploy/base" >/dev/null || { echo "cannot apply deploy/base"; exit 1; }
"$L2LB_TESTENV" kubeconfig --name "$instance" \
  --user system:serviceaccount:kube-system:l2lb-operator \
  --group system:serviceaccounts --group system:serviceaccounts:kube-system \
  --out "$work/operator.kubeconfig" >/dev/null 2>&1 || { echo "cannot mint operator identity"; exit 1; }
k create namespace "$ns" >/dev/null

start_operator() { # start_operator NAME → pid in $op_pid, log in $work/NAME.log
  "$L2LB_BUILD/l2lb-operator" --kubeconfig="$work/operator.kubeconfig" --identity="$1" \
    --leader-election-lease-duration=2s --leader-election-renew-deadline=1500ms \
    --leader-election-retry-period=300ms --enable-ipv6=true >"$work/$1.log" 2>&1 &
  op_pid=$!
  pids+=("$op_pid")
}

ingress_ip() { k -n "$ns" get svc "$1" -o jsonpath='{.status.loadBalancer.ingress[0].ip}'; }
cond() { # cond SVC FIELD → field of the IPAMRequestSatisfied condition
  k -n "$ns" get svc "$1" -o jsonpath="{.status.conditions[?(@.type==\"cilium.io/IPAMRequestSatisfied\")].$2}"
}
in_pool_blue() { local ip; ip=$(ingress_ip "$1"); [[ $ip =~ ^12\.0\.0\.([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 128)); }

start_operator op-a
a_pid=$op_pid

# ---- the seed's flow ----
# the seed's pool-blue, limited to this test's namespace (other tests share
# the apiserver)
sed -e 's/name: "pool-blue"/name: "optest-blue"/' \
  -e "s/      color: blue/      color: blue\n      io.kubernetes.service.namespace: $ns/" \
  "$L2LB_TOP/lab/manifests/pool-blue.yaml" | k apply -f - >/dev/null
k -n "$ns" create deployment deathstar --image=docker.io/cilium/starwars >/dev/null
k -n "$ns" expose deployment deathstar --name deathstar-3 --port 80 --type LoadBalancer >/dev/null
check "unlabelled service gets the no_pool condition" \
  wait_for 15 bash -c "[[ \$($KUBECTL -n $ns get svc deathstar-3 -o jsonpath='{.status.conditions[0].reason}') == no_pool ]]"
check "no IP while unlabelled" test -z "$(ingress_ip deathstar-3)"
check "no_pool message is exact" \
  test "$(cond deathstar-3 message)" = "There are no enabled CiliumLoadBalancerIPPools that match this service"
k -n "$ns" label svc deathstar-3 color=blue >/dev/null
check "labelled color=blue: an IP from 12.0.0.128/25" wait_for 15 in_pool_blue deathstar-3
check "condition satisfied/True" \
  bash -c "[[ \$($KUBECTL -n $ns get svc deathstar-3 -o jsonpath='{.status.conditions[?(@.type==\"cilium.io/IPAMRequestSatisfied\")].status}') == True ]]"
check "EXTERNAL-IP column shows it" bash -c "$KUBECTL -n $ns get svc deathstar-3 | grep -q 12.0.0."
check "an Event explains the assignment" \
  wait_for 10 bash -c "$KUBECTL -n $ns get events --field-selector involvedObject.name=deathstar-3 -o jsonpath='{.items[*].reason}' | grep -q IPAllocated"
check "pool status counts one used" \
  wait_for 10 bash -c "[[ \$($KUBECTL get ippool optest-blue -o jsonpath='{.status.conditions[?(@.type==\"cilium.io/IPsUsed\")].message}') == 1 ]]"
check "pool printer column IPs Available = 127" \
  bash -c "$KUBECTL get ippool optest-blue | grep -qE 'optest-blue +false +False +127'"

# ---- requested IP ----
cat <<EOF | k apply -f - >/dev/null
apiVersion: cilium.io/v2alpha1
kind: CiliumLoadBalancerIPPool
metadata: {name: optest-req}
spec:
  blocks: [{start: "10.77.0.10", stop: "10.77.0.20"}]
  serviceSelector: {matchLabels: {io.kubernetes.service.namespace: "$ns", req: "yes"}}
EOF
cat <<EOF | k -n "$ns" apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata:
  name: requested
  labels: {req: "yes"}
  annotations: {lbipam.cilium.io/ips: "10.77.0.15"}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: requested-outside
  labels: {req: "yes"}
  annotations: {lbipam.cilium.io/ips: "10.99.0.1"}
spec: {type: LoadBalancer, ports: [{port: 80}]}
EOF
check "requested IP granted" wait_for 15 bash -c "[[ \$($KUBECTL -n $ns get svc requested -o jsonpath='{.status.loadBalancer.ingress[0].ip}') == 10.77.0.15 ]]"
check "requested IP outside every pool: exact no_pool message" \
  wait_for 15 bash -c "[[ \"\$($KUBECTL -n $ns get svc requested-outside -o jsonpath='{.status.conditions[0].message}')\" == \"No pool exists with a CIDR containing '10.99.0.1'\" ]]"

# ---- IP families, as a dual-stack apiserver keeps them ----
# kube-testenv runs the apiserver with IPv6DualStack and a dual service range,
# so spec.ipFamilyPolicy and spec.ipFamilies reach l2lb (1.20 drops them
# otherwise).
dual_pool() { # dual_pool NAME CIDR4 CIDR6 LABEL: a pool for this namespace's Services labelled LABEL=yes
  cat <<EOF | k apply -f - >/dev/null
apiVersion: cilium.io/v2alpha1
kind: CiliumLoadBalancerIPPool
metadata: {name: $1}
spec:
  blocks: [{cidr: "$2"}, {cidr: "$3"}]
  serviceSelector: {matchLabels: {io.kubernetes.service.namespace: "$ns", $4: "yes"}}
EOF
}
dual_pool optest-dual 10.78.0.0/28 fd00:78::/124 fam
fam_svc() { # fam_svc NAME POLICY FAMILIES
  cat <<EOF | k -n "$ns" apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: $1, labels: {fam: "yes"}}
spec: {type: LoadBalancer, ports: [{port: 80}], ipFamilyPolicy: $2, ipFamilies: $3}
EOF
}
fam_svc fam-dual RequireDualStack '[IPv4, IPv6]'
fam_svc fam-v6 SingleStack '[IPv6]'
fam_svc fam-prefer PreferDualStack '[IPv6, IPv4]'
k -n "$ns" create service loadbalancer fam-default --tcp=80 >/dev/null
k -n "$ns" label svc fam-default fam=yes >/dev/null
families_is() { # families_is SVC WANT: the families of its ingress IPs ("4", "6", "4 6")
  local ip got=()
  for ip in $(k -n "$ns" get svc "$1" -o jsonpath='{range .status.loadBalancer.ingress[*]}{.ip}{" "}{end}'); do
    if [[ $ip == *:* ]]; then got+=(6); else got+=(4); fi
  done
  [[ "$(printf '%s\n' "${got[@]}" | sort | paste -sd' ')" == "$2" ]]
}
check "the apiserver keeps ipFamilyPolicy and ipFamilies" \
  test "$(k -n "$ns" get svc fam-dual -o jsonpath='{.spec.ipFamilyPolicy} {.spec.ipFamilies}')" = 'RequireDualStack ["IPv4","IPv6"]'
check "RequireDualStack: one IPv4 and one IPv6 address" wait_for 15 families_is fam-dual "4 6"
check "SingleStack [IPv6]: one IPv6 address only" wait_for 15 families_is fam-v6 6
check "PreferDualStack [IPv6, IPv4]: both" wait_for 15 families_is fam-prefer "4 6"
check "no family fields (SingleStack [IPv4] by default): IPv4 only" wait_for 15 families_is fam-default 4
k -n "$ns" delete svc fam-dual fam-v6 fam-prefer fam-default >/dev/null
k delete ippool optest-dual >/dev/null

# ---- what Kubernetes 1.20 cannot hold ----
server_minor=$(k get --raw /version | sed -n 's/^ *"minor": *"\([0-9]*\).*/\1/p')
if [[ ! $server_minor =~ ^[0-9]+$ ]]; then
  check "the apiserver's /version has a minor version" false
elif ((server_minor < 21)); then
  echo "SKIP: spec.loadBalancerClass and the IPv6-first dual-stack cases need Kubernetes >= 1.21 (this apiserver is 1.$server_minor, which drops loadBalancerClass); run with scripts/kube-testenv --kube-version 1.37"
else
  dual_pool optest-cls 10.79.0.0/28 fd00:79::/124 cls
  cls_svc() { # cls_svc NAME [CLASS] [POLICY FAMILIES]
    {
      printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, labels: {cls: "yes"}}\n' "$1"
      printf 'spec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n'
      [[ -z ${2:-} ]] || printf '  loadBalancerClass: %s\n' "$2"
      [[ -z ${3:-} ]] || printf '  ipFamilyPolicy: %s\n  ipFamilies: %s\n' "$3" "$4"
    } | k -n "$ns" apply -f - >/dev/null
  }
  cls_svc cls-ours io.cilium/l2-announcer
  cls_svc cls-none
  cls_svc cls-other example.org/other-lb
  check "the apiserver keeps spec.loadBalancerClass" \
    test "$(k -n "$ns" get svc cls-ours -o jsonpath='{.spec.loadBalancerClass}')" = io.cilium/l2-announcer
  in_cls_pool() { [[ $(ingress_ip "$1") =~ ^10\.79\.0\.[0-9]+$ ]]; }
  check "loadBalancerClass io.cilium/l2-announcer: an IP from the pool" wait_for 15 in_cls_pool cls-ours
  check "no loadBalancerClass: an IP from the pool" wait_for 15 in_cls_pool cls-none
  check "loadBalancerClass io.cilium/l2-announcer: condition satisfied/True" \
    test "$(cond cls-ours status)" = True
  sleep 2 # the operator handled the two others: it had the time for this one
  check "another loadBalancerClass: no IP" test -z "$(ingress_ip cls-other)"
  check "another loadBalancerClass: no condition, no status at all" \
    test "$(k -n "$ns" get svc cls-other -o jsonpath='{.status.conditions}{.status.loadBalancer.ingress}')" = ""
  check "another loadBalancerClass: no Event about it" \
    test -z "$(k -n "$ns" get events --field-selector involvedObject.name=cls-other -o name)"
  check "the operator logged nothing about the other class's Service" \
    bash -c "! grep -q 'cls-other' '$work/op-a.log'"

  # IPv6 listed first: the apiserver keeps the order (1.20's alpha
  # dual-stack could not be trusted with it); l2lb takes the families, the
  # pool hands out one address of each
  cls_svc fam6-require "" RequireDualStack '[IPv6, IPv4]'
  cls_svc fam6-prefer "" PreferDualStack '[IPv6]'
  check "RequireDualStack [IPv6, IPv4]: the apiserver keeps the order" \
    test "$(k -n "$ns" get svc fam6-require -o jsonpath='{.spec.ipFamilies}')" = '["IPv6","IPv4"]'
  check "RequireDualStack [IPv6, IPv4]: one IPv4 and one IPv6 address" wait_for 15 families_is fam6-require "4 6"
  check "PreferDualStack [IPv6] on a dual-stack cluster: the apiserver adds IPv4 second" \
    test "$(k -n "$ns" get svc fam6-prefer -o jsonpath='{.spec.ipFamilies}')" = '["IPv6","IPv4"]'
  check "PreferDualStack [IPv6]: both families" wait_for 15 families_is fam6-prefer "4 6"
  k -n "$ns" delete svc cls-ours cls-none cls-other fam6-require fam6-prefer >/dev/null
  k delete ippool optest-cls >/dev/null
fi

# ---- sharing-permit-different-pods ----
local_svc() { # local_svc NAME APP PORT EXTRA-ANNOTATIONS
  cat <<EOF | k -n "$ns" apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata:
  name: $1
  labels: {req: "yes"}
  annotations: {lbipam.cilium.io/sharing-key: "k"$4}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, selector: {app: $2}, ports: [{port: $3}]}
EOF
}
local_svc permit-a a 81 ', lbipam.cilium.io/sharing-permit-different-pods: "true"'
check "permit-a gets an IP" wait_for 15 bash -c "[[ -n \$($KUBECTL -n $ns get svc permit-a -o jsonpath='{.status.loadBalancer.ingress[0].ip}') ]]"
shared=$(ingress_ip permit-a)
local_svc permit-b b 82 ', lbipam.cilium.io/sharing-permit-different-pods: "true"'
check "Local services selecting different pods share with the opt-in on both" \
  wait_for 15 bash -c "[[ \$($KUBECTL -n $ns get svc permit-b -o jsonpath='{.status.loadBalancer.ingress[0].ip}') == $shared ]]"
local_svc permit-c c 83 ", lbipam.cilium.io/ips: \"$shared\""
check "without the opt-in: Cilium's exact refusal" \
  wait_for 15 bash -c "[[ \"\$($KUBECTL -n $ns get svc permit-c -o jsonpath='{.status.conditions[0].message}')\" == \"The IP '$shared' is already allocated to an incompatible service. Reason: ExternalTrafficPolicy local but selecting different set of pods without lbipam.cilium.io/sharing-permit-different-pods on both services\" ]]"
# the checks below expect one service per IP
k -n "$ns" delete svc permit-a permit-b permit-c >/dev/null

# ---- conflict ----
cat <<EOF | k apply -f - >/dev/null
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: optest-a}
spec: {blocks: [{cidr: "10.88.0.0/24"}], serviceSelector: {matchLabels: {optest: conflict}}}
EOF
sleep 1.1 # later creationTimestamp for the second pool
cat <<EOF | k apply -f - >/dev/null
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: optest-b}
spec: {blocks: [{cidr: "10.88.0.128/25"}], serviceSelector: {matchLabels: {optest: conflict}}}
EOF
check "the later pool is marked conflicting, with the exact message" \
  wait_for 15 bash -c "[[ \"\$($KUBECTL get ippool optest-b -o jsonpath='{.status.conditions[?(@.type==\"cilium.io/PoolConflict\")].message}')\" == \"Pool conflicts since range '10.88.0.128 - 10.88.0.255' overlaps range '10.88.0.0 - 10.88.0.255' from IP Pool 'optest-a'\" ]]"
check "the earlier pool is not" \
  bash -c "[[ \$($KUBECTL get ippool optest-a -o jsonpath='{.status.conditions[?(@.type==\"cilium.io/PoolConflict\")].status}') == False ]]"
check "CONFLICTING column" bash -c "$KUBECTL get ippool optest-b | grep -qE 'optest-b +false +True'"
k delete ippool optest-a >/dev/null
check "conflict resolved once the other pool is gone" \
  wait_for 15 bash -c "[[ \$($KUBECTL get ippool optest-b -o jsonpath='{.status.conditions[?(@.type==\"cilium.io/PoolConflict\")].reason}') == resolved ]]"

# ---- restart keeps every IP ----
for i in $(seq 1 20); do
  printf 'apiVersion: v1\nkind: Service\nmetadata: {name: many-%s, labels: {color: blue}}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\n---\n' "$i"
done | k -n "$ns" apply -f - >/dev/null
check "20 more services satisfied" wait_for 30 bash -c "[[ \$($KUBECTL -n $ns get svc -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[0].ip}{\"\\n\"}{end}' | grep -c 12.0.0.) -ge 21 ]]"
snapshot() { k -n "$ns" get svc -o jsonpath='{range .items[*]}{.metadata.name}={.status.loadBalancer.ingress[*].ip}{"\n"}{end}' | sort; }
before=$(snapshot)
kill -TERM "$a_pid"; wait "$a_pid" 2>/dev/null
# while no operator runs, the pool gains a block and another pool appears:
# neither may move a satisfied service
k patch ippool optest-blue --type merge -p '{"spec":{"cidrs":[{"cidr":"12.0.0.128/25"},{"cidr":"12.0.1.0/24"}]}}' >/dev/null
start_operator op-a2
a_pid=$op_pid
sleep 4
check "restart: every IP kept" test "$before" = "$(snapshot)"
check "restart: the operator took the lease back" \
  wait_for 10 bash -c "[[ \$($KUBECTL -n kube-system get lease l2lb-operator-resource-lock -o jsonpath='{.spec.holderIdentity}') == op-a2 ]]"

# ---- two replicas, leader killed ----
start_operator op-b
sleep 2
check "the second replica does not lead" \
  bash -c "[[ \$($KUBECTL -n kube-system get lease l2lb-operator-resource-lock -o jsonpath='{.spec.holderIdentity}') == op-a2 ]]"
t0=$SECONDS
kill -9 "$a_pid"; wait "$a_pid" 2>/dev/null
check "leader killed: the other replica takes over within a lease duration (+retry)" \
  wait_for 6 bash -c "[[ \$($KUBECTL -n kube-system get lease l2lb-operator-resource-lock -o jsonpath='{.spec.holderIdentity}') == op-b ]]"
echo "     takeover after $((SECONDS - t0)) s"
k -n "$ns" expose deployment deathstar --name after-failover --port 81 --type LoadBalancer >/dev/null
k -n "$ns" label svc after-failover color=blue >/dev/null
check "the new leader allocates" wait_for 15 in_pool_blue after-failover
check "no IP changed across the leader change" \
  test "$before" = "$(snapshot | grep -v '^after-failover=')"
check "the new leader's IP is unique" \
  bash -c "[[ \$(printf '%s\n' \"\$($KUBECTL -n $ns get svc -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[0].ip}{\"\\n\"}{end}')\" | grep . | sort | uniq -d | wc -l) == 0 ]]"

# ---- the role is minimal ----
check "the operator may not edit a Service's spec" \
  bash -c "KUBECONFIG=$work/operator.kubeconfig $KUBECTL -n $ns label svc requested x=y 2>&1 | grep -q Forbidden"
check "the operator may not delete pools" \
  bash -c "KUBECONFIG=$work/operator.kubeconfig $KUBECTL delete ippool optest-b 2>&1 | grep -q Forbidden"

# ---- the l2lb command prints what the API holds, escaped ----
# a lease holder with an ESC sequence and a newline: shown as \x1b[31m and
# \n, never raw on the terminal
hostile=cilium-l2announce-$ns-after-failover
printf '%s' '{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
  "metadata": {"name": "'"$hostile"'"},
  "spec": {"holderIdentity": "evil\u001b[31mred\nfake-line", "leaseDurationSeconds": 3}}' |
  k -n kube-system create -f - >/dev/null
"$L2LB_BUILD/l2lb" leases --kubeconfig="$KUBECONFIG" >"$work/leases.out" 2>&1
check "l2lb leases: the lease's service is listed" grep -qF "$ns/after-failover" "$work/leases.out"
check "l2lb leases: a holder's control characters are escaped" \
  grep -qF 'evil\x1b[31mred\nfake-line' "$work/leases.out"
check "l2lb leases: no raw ESC or extra line reaches the terminal" \
  bash -c "! grep -q \$'\\e' '$work/leases.out' && ! grep -q '^fake-line' '$work/leases.out'"

echo "test-operator: $passed passed, $failed failed"
for f in "$work"/*.log; do
  if grep -q 'level=error' "$f"; then echo "--- errors in $(basename "$f"):"; grep 'level=error' "$f" | head; fi
done
[[ $failed -eq 0 ]]
