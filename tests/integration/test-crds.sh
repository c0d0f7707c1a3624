#!/usr/bin/env bash
# shellcheck disable=SC2015 # ok/fail always return 0, so A && ok || fail is if/else
# Integration test of l2lb's CRDs (deploy/crds/) against a real kube-apiserver.
#
# Environment:
#   KUBECONFIG  an instance that is up with the CRDs installed
#               (eval "$(scripts/kube-testenv up)")
#   KUBECTL     the cached kubectl 1.20 ("$(scripts/kube-testenv bin)/kubectl")
#
# Exit 0 when every check passes; prints one line per check and a summary
# "N passed, N failed". Every object the test creates is deleted again, also on
# failure or interruption.
# Not set -e: a failed check is counted (checks.sh) and the next one runs.
set -uo pipefail

: "${KUBECONFIG:?KUBECONFIG must point to a kube-testenv instance with the CRDs}"
: "${KUBECTL:?KUBECTL must be the path of the cached kubectl 1.20}"
export KUBECONFIG

REPO_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
# shellcheck source=tests/integration/checks.sh
source "$REPO_ROOT/tests/integration/checks.sh"
MANIFESTS=$REPO_ROOT/lab/manifests
POOLS=ciliumloadbalancerippools.cilium.io
POLICIES=ciliuml2announcementpolicies.cilium.io
T=crdtest-$$ # prefix of the objects this test creates
TMP=$(mktemp -d)

CREATED=() # "resource/name" created by this test, deleted on exit

# A private discovery cache: a shared one may predate the CRDs of this instance.
k() { "$KUBECTL" --cache-dir "$TMP/kube-cache" "$@"; }

cleanup() {
	local obj
	for obj in "${CREATED[@]}"; do
		k delete "$obj" --ignore-not-found --wait=false >/dev/null 2>&1 ||
			echo "warning: could not delete $obj" >&2
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

created() { CREATED+=("$1"); }

# exists RESOURCE NAME
exists() { k get "$1" "$2" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------
# Raw API access with the kubeconfig's credentials (kubectl 1.20 cannot write
# subresources), via curl.
# ---------------------------------------------------------------------------
SERVER=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
CURL_AUTH=()
setup_curl() {
	local v
	v=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
	if [[ -n $v ]]; then
		printf '%s' "$v" | base64 -d >"$TMP/ca.crt"
		CURL_AUTH+=(--cacert "$TMP/ca.crt")
	else
		v=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')
		if [[ -n $v ]]; then CURL_AUTH+=(--cacert "$v"); else CURL_AUTH+=(-k); fi
	fi
	v=$(k config view --raw --minify -o jsonpath='{.users[0].user.token}')
	if [[ -n $v ]]; then
		printf 'header "Authorization: Bearer %s"\n' "$v" >"$TMP/curl-auth"
		CURL_AUTH+=(-K "$TMP/curl-auth")
	fi
	v=$(k config view --raw --minify -o jsonpath='{.users[0].user.client-certificate-data}')
	if [[ -n $v ]]; then
		printf '%s' "$v" | base64 -d >"$TMP/client.crt"
		k config view --raw --minify -o jsonpath='{.users[0].user.client-key-data}' | base64 -d >"$TMP/client.key"
		CURL_AUTH+=(--cert "$TMP/client.crt" --key "$TMP/client.key")
	fi
}
setup_curl

# api METHOD PATH [BODYFILE] -> prints body; HTTP status in $TMP/code
api() {
	local method=${1:?method} path=${2:?path} body=${3:-}
	local args=(-sS --max-time 20 -X "$method" -o "$TMP/resp" -w '%{http_code}' "${CURL_AUTH[@]}")
	[[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
	curl "${args[@]}" "$SERVER$path" >"$TMP/code" 2>"$TMP/curl-err" || echo 000 >"$TMP/code"
	cat "$TMP/resp" 2>/dev/null
}
code() { cat "$TMP/code"; }

jget() { # jget RESOURCE NAME JSONPATH
	k get "$1" "$2" -o "jsonpath=$3" 2>&1
}

# expect_reject DESCRIPTION EXPECTED-SUBSTRING (manifest on stdin)
expect_reject() {
	local desc=${1:?description} want=${2:?expected error} out rc name kind
	cat >"$TMP/bad.yaml"
	name=$(sed -n 's/^  name: *//p' "$TMP/bad.yaml" | head -1)
	kind=$(sed -n 's/^kind: *//p' "$TMP/bad.yaml" | head -1)
	# --validate=false: the apiserver, not kubectl, must reject it
	out=$(k create --validate=false -f "$TMP/bad.yaml" 2>&1)
	rc=$?
	if ((rc == 0)); then
		case $kind in
		CiliumLoadBalancerIPPool) created "$POOLS/$name" ;;
		CiliumL2AnnouncementPolicy) created "$POLICIES/$name" ;;
		esac
		fail "rejects $desc" "accepted: $out"
	elif [[ $out == *"$want"* ]]; then
		ok "rejects $desc ($(printf '%s' "$out" | grep -o "$want.*" | head -1 | cut -c1-110))"
	else
		fail "rejects $desc with a message containing '$want'" "$out"
	fi
}

# ---------------------------------------------------------------------------
echo "# CRDs installed, Established, structural"
for crd in $POOLS $POLICIES; do
	est=$(jget crd "$crd" '{.status.conditions[?(@.type=="Established")].status}')
	nonstruct=$(jget crd "$crd" '{.status.conditions[?(@.type=="NonStructuralSchema")].status}')
	if [[ $est == True && -z $nonstruct ]]; then ok "$crd Established, structural schema"; else
		fail "$crd Established, structural schema" "Established=$est NonStructuralSchema=$nonstruct"
	fi
done
vers=$(jget crd $POOLS '{range .spec.versions[*]}{.name}:{.served}:{.storage} {end}')
if [[ $vers == *"v2:true:true"* && $vers == *"v2alpha1:true:false"* ]]; then
	ok "pool CRD serves v2alpha1 and v2, stores v2"
else fail "pool CRD serves v2alpha1 and v2, stores v2" "$vers"; fi

# ---------------------------------------------------------------------------
echo "# lab manifests apply"
apply_lab() { # file resource name
	local pre=0 out
	exists "$2" "$3" && pre=1
	if out=$(k apply -f "$MANIFESTS/$1" 2>&1); then
		ok "kubectl apply -f lab/manifests/$1 ($out)"
		((pre)) || created "$2/$3"
	else
		fail "kubectl apply -f lab/manifests/$1" "$out"
	fi
}
apply_lab pool-blue.yaml $POOLS pool-blue
apply_lab l2policy.yaml $POLICIES policy1

cat >"$TMP/v2pool.yaml" <<EOF
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata:
  name: $T-blocks
spec:
  allowFirstLastIPs: "No"
  blocks:
  - cidr: 10.200.0.0/24
  - start: 10.201.0.10
    stop: 10.201.0.20
  - start: 10.202.0.1
  - cidr: fd00:10:200::/64
  serviceSelector:
    matchExpressions:
    - key: color
      operator: In
      values: [blue, green]
    - key: tier
      operator: Exists
EOF
if out=$(k apply -f "$TMP/v2pool.yaml" 2>&1); then
	created "$POOLS/$T-blocks"
	ok "v2 pool with blocks cidr/start/stop applies ($out)"
else fail "v2 pool with blocks cidr/start/stop applies" "$out"; fi

got=$(jget ciliumloadbalancerippools.v2.cilium.io "$T-blocks" '{.spec.blocks[1].start}-{.spec.blocks[1].stop} {.spec.blocks[2].start} {.spec.blocks[3].cidr} {.spec.serviceSelector.matchExpressions[0].values}')
want='10.201.0.10-10.201.0.20 10.202.0.1 fd00:10:200::/64 ["blue","green"]'
[[ $got == "$want" ]] && ok "v2 blocks stored as given" || fail "v2 blocks stored as given" "got:  $got"$'\n'"want: $want"
# Unknown fields are pruned by the server (structural schema without
# x-kubernetes-preserve-unknown-fields); kubectl's own validation is skipped.
sed 's/^spec:$/spec:\n  bogusUnknownField: 1/; s/-blocks$/-prune/' "$TMP/v2pool.yaml" >"$TMP/prune.yaml"
if out=$(k create --validate=false -f "$TMP/prune.yaml" 2>&1); then
	created "$POOLS/$T-prune"
	got=$(k get ciliumloadbalancerippools.v2.cilium.io "$T-prune" -o json 2>&1)
	[[ $got != *bogusUnknownField* && $got == *10.201.0.10* ]] &&
		ok "unknown spec field pruned by the server (structural schema)" ||
		fail "unknown spec field pruned by the server" "$got"
else fail "pool with an unknown spec field accepted (and pruned)" "$out"; fi

# Empty strings are values, not null (broken on Go >= 1.16 without
# kube-testenv's go-openapi fix).
cat >"$TMP/empty.yaml" <<EOF
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata:
  name: $T-empty
spec:
  blocks: [{cidr: 10.203.0.0/24, start: ""}]
  serviceSelector:
    matchLabels: {color: ""}
EOF
if out=$(k create -f "$TMP/empty.yaml" 2>&1); then
	created "$POOLS/$T-empty"
	got=$(jget $POOLS "$T-empty" '{.spec.serviceSelector.matchLabels}')
	[[ $got == '{"color":""}' ]] && ok "empty strings accepted and kept (matchLabels color: \"\")" ||
		fail "empty strings kept" "got: $got"
else fail "empty strings accepted (matchLabels color: \"\")" "$out"; fi

got=$(jget $POOLS pool-blue '{.spec.disabled} {.spec.allowFirstLastIPs}')
[[ $got == "false Yes" ]] && ok "defaults: disabled=false, allowFirstLastIPs=Yes" ||
	fail "defaults: disabled=false, allowFirstLastIPs=Yes" "got: $got"
got=$(jget $POOLS "$T-blocks" '{.spec.disabled} {.spec.allowFirstLastIPs}')
[[ $got == "false No" ]] && ok "explicit allowFirstLastIPs=No kept" || fail "explicit allowFirstLastIPs=No kept" "got: $got"

got=$(jget $POLICIES policy1 '{.spec.externalIPs} {.spec.loadBalancerIPs} {.spec.interfaces} {.spec.serviceSelector.matchLabels.color} {.spec.nodeSelector.matchExpressions[0].operator}')
[[ $got == 'true false ["net0"] blue DoesNotExist' ]] && ok "policy1 stored as in the lab" ||
	fail "policy1 stored as in the lab" "got: $got"

# ---------------------------------------------------------------------------
echo "# short names and printer columns"
for sn in ippools ippool lbippool lbippools; do
	out=$(k get "$sn" 2>&1)
	hdr=$(printf '%s\n' "$out" | head -1)
	if [[ $hdr =~ ^NAME\ +DISABLED\ +CONFLICTING\ +IPS\ AVAILABLE\ +AGE$ && $out == *pool-blue* && $out == *"$T-blocks"* ]]; then
		ok "kubectl get $sn lists pools with columns NAME DISABLED CONFLICTING IPS AVAILABLE AGE"
	else
		fail "kubectl get $sn lists pools with the printer columns" "$out"
	fi
done
out=$(k get lbippool pool-blue 2>&1)
row=$(printf '%s\n' "$out" | sed -n 2p)
[[ $row =~ ^pool-blue\ +false\ + ]] && ok "pool-blue row shows Disabled=false" || fail "pool-blue row shows Disabled=false" "$out"
out=$(k get l2announcement 2>&1)
if [[ $(printf '%s\n' "$out" | head -1) =~ ^NAME\ +AGE$ && $out == *policy1* ]]; then
	ok "kubectl get l2announcement lists policy1"
else fail "kubectl get l2announcement lists policy1" "$out"; fi
out=$(k get ciliuml2announcementpolicy policy1 -o name 2>&1)
[[ $out == ciliuml2announcementpolicy.cilium.io/policy1 ]] && ok "singular name ciliuml2announcementpolicy" ||
	fail "singular name ciliuml2announcementpolicy" "$out"
out=$(k get ciliumloadbalancerippool pool-blue -o name 2>&1)
[[ $out == ciliumloadbalancerippool.cilium.io/pool-blue ]] && ok "singular name ciliumloadbalancerippool" ||
	fail "singular name ciliumloadbalancerippool" "$out"
out=$(k explain lbippool.spec.blocks 2>&1)
[[ $out == *cidr* && $out == *start* && $out == *stop* ]] && ok "kubectl explain lbippool.spec.blocks (schema published)" ||
	fail "kubectl explain lbippool.spec.blocks" "$out"

# ---------------------------------------------------------------------------
echo "# versions"
got=$(jget ciliumloadbalancerippools.v2.cilium.io pool-blue '{.apiVersion} {.spec.cidrs[0].cidr} {.spec.serviceSelector.matchLabels.color}')
[[ $got == "cilium.io/v2 12.0.0.128/25 blue" ]] && ok "v2alpha1 pool-blue readable as cilium.io/v2 (cidrs kept)" ||
	fail "v2alpha1 pool-blue readable as cilium.io/v2" "got: $got"
body=$(api GET /apis/cilium.io/v2/ciliumloadbalancerippools/pool-blue)
# compared without blanks: newer apiservers indent JSON for clients like curl
[[ $(code) == 200 && ${body//[[:space:]]/} == *'"apiVersion":"cilium.io/v2"'* && $body == *12.0.0.128/25* ]] &&
	ok "GET /apis/cilium.io/v2/ciliumloadbalancerippools/pool-blue" ||
	fail "GET /apis/cilium.io/v2/ciliumloadbalancerippools/pool-blue" "HTTP $(code): $body $(cat "$TMP/curl-err")"
got=$(jget ciliumloadbalancerippools.v2alpha1.cilium.io "$T-blocks" '{.apiVersion} {.spec.blocks[0].cidr}')
[[ $got == "cilium.io/v2alpha1 10.200.0.0/24" ]] && ok "v2 pool readable as cilium.io/v2alpha1" ||
	fail "v2 pool readable as cilium.io/v2alpha1" "got: $got"

# ---------------------------------------------------------------------------
echo "# malformed objects are rejected"
expect_reject 'disabled: "maybe"' 'spec.disabled' <<EOF
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata:
  name: $T-bad-disabled
spec:
  disabled: "maybe"
  blocks: [{cidr: 10.210.0.0/24}]
EOF
expect_reject 'allowFirstLastIPs: Perhaps' 'Unsupported value: "Perhaps"' <<EOF
apiVersion: cilium.io/v2alpha1
kind: CiliumLoadBalancerIPPool
metadata:
  name: $T-bad-firstlast
spec:
  allowFirstLastIPs: Perhaps
  blocks: [{cidr: 10.210.0.0/24}]
EOF
expect_reject 'matchExpressions operator Contains (pool)' 'Unsupported value: "Contains"' <<EOF
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata:
  name: $T-bad-operator
spec:
  blocks: [{cidr: 10.210.0.0/24}]
  serviceSelector:
    matchExpressions:
    - {key: color, operator: Contains, values: [blue]}
EOF
expect_reject 'blocks being a string' 'spec.blocks' <<EOF
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata:
  name: $T-bad-blocks
spec:
  blocks: "10.210.0.0/24"
EOF
expect_reject 'cidr that is not a prefix' 'must be of type cidr' <<EOF
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata:
  name: $T-bad-cidr
spec:
  blocks: [{cidr: 10.210.0.300/24}]
EOF
# 1.20 names the field spec.cidrs.cidr, later versions spec.cidrs[0].cidr
expect_reject 'v2alpha1 cidrs entry that is not a prefix' 'cidr in body must be of type cidr: "not-a-cidr"' <<EOF
apiVersion: cilium.io/v2alpha1
kind: CiliumLoadBalancerIPPool
metadata:
  name: $T-bad-cidrs
spec:
  cidrs: [{cidr: not-a-cidr}]
EOF
expect_reject 'pool without spec' 'spec: Required value' <<EOF
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata:
  name: $T-bad-nospec
EOF
expect_reject 'interfaces not a list' 'spec.interfaces' <<EOF
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata:
  name: $T-bad-interfaces
spec:
  externalIPs: true
  interfaces: net0
EOF
expect_reject 'loadBalancerIPs: "yes"' 'spec.loadBalancerIPs' <<EOF
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata:
  name: $T-bad-lbips
spec:
  loadBalancerIPs: "yes"
EOF
expect_reject 'nodeSelector operator Contains (policy)' 'Unsupported value: "Contains"' <<EOF
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata:
  name: $T-bad-nodesel
spec:
  externalIPs: true
  nodeSelector:
    matchExpressions:
    - {key: node-role.kubernetes.io/control-plane, operator: Contains}
EOF
expect_reject 'matchExpressions entry without operator' 'operator: Required value' <<EOF
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata:
  name: $T-bad-noop
spec:
  serviceSelector:
    matchExpressions:
    - {key: color}
EOF
expect_reject 'matchLabels value that is not a label value' 'spec.serviceSelector.matchLabels' <<EOF
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata:
  name: $T-bad-labelvalue
spec:
  serviceSelector:
    matchLabels:
      color: "not a valid value!"
EOF

# ---------------------------------------------------------------------------
echo "# status subresource"
POOL_PATH=/apis/cilium.io/v2/ciliumloadbalancerippools/$T-blocks
api GET "$POOL_PATH/status" >"$TMP/cur.json"
if [[ $(code) == 200 ]]; then ok "GET $POOL_PATH/status"; else
	fail "GET $POOL_PATH/status" "HTTP $(code): $(cat "$TMP/cur.json" "$TMP/curl-err")"
fi
gen_before=$(jget $POOLS "$T-blocks" '{.metadata.generation}')
rv=$(jget $POOLS "$T-blocks" '{.metadata.resourceVersion}')
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cond() { # type status reason message
	printf '{"type":"%s","status":"%s","reason":"%s","message":"%s","lastTransitionTime":"%s","observedGeneration":%s}' \
		"$1" "$2" "$3" "$4" "$now" "${gen_before:-1}"
}
# The object with a status and a changed spec (disabled: true), PUT to /status.
cat >"$TMP/status.json" <<EOF
{"apiVersion":"cilium.io/v2","kind":"CiliumLoadBalancerIPPool",
 "metadata":{"name":"$T-blocks","resourceVersion":"$rv"},
 "spec":{"disabled":true,"blocks":[{"cidr":"10.99.0.0/24"}]},
 "status":{"conditions":[$(cond cilium.io/PoolConflict False resolved ""),
   $(cond cilium.io/IPsAvailable Unknown noreason 18446744073709552152)]}}
EOF
out=$(api PUT "$POOL_PATH/status" "$TMP/status.json")
if [[ $(code) == 200 ]]; then ok "PUT $POOL_PATH/status accepted (one condition with message \"\")"; else
	fail "PUT $POOL_PATH/status accepted" "HTTP $(code): $out $(cat "$TMP/curl-err")"
fi
got=$(jget $POOLS "$T-blocks" '{.status.conditions[?(@.type=="cilium.io/IPsAvailable")].message} {.status.conditions[?(@.type=="cilium.io/PoolConflict")].reason}')
[[ $got == "18446744073709552152 resolved" ]] && ok "status conditions written via /status" ||
	fail "status conditions written via /status" "got: $got"
got=$(jget $POOLS "$T-blocks" '{.spec.disabled} {.spec.blocks[0].cidr} {.metadata.generation}')
[[ $got == "false 10.200.0.0/24 $gen_before" ]] &&
	ok "spec change sent to /status ignored (spec unchanged, generation unchanged)" ||
	fail "spec change sent to /status ignored" "got: $got (generation before: $gen_before)"
out=$(k get lbippool "$T-blocks" 2>&1)
row=$(printf '%s\n' "$out" | sed -n 2p)
[[ $row =~ ^$T-blocks\ +false\ +False\ +18446744073709552152\ + ]] &&
	ok "printer columns show Conflicting=False and IPs Available from the conditions" ||
	fail "printer columns show the conditions" "$out"

# Status sent to the main resource is ignored.
out=$(k patch $POOLS "$T-blocks" --type merge -p '{"status":{"conditions":null},"metadata":{"labels":{"crdtest":"yes"}}}' 2>&1)
got=$(jget $POOLS "$T-blocks" '{.metadata.labels.crdtest} {.status.conditions[?(@.type=="cilium.io/IPsAvailable")].message}')
[[ $got == "yes 18446744073709552152" ]] && ok "status change sent to the main resource ignored" ||
	fail "status change sent to the main resource ignored" "patch: $out; got: $got"

# merge_status PATH JSON: merge-patch a /status subresource
merge_status() {
	printf '%s' "$2" >"$TMP/patch.json"
	curl -sS --max-time 20 -X PATCH -H 'Content-Type: application/merge-patch+json' \
		--data-binary "@$TMP/patch.json" -o "$TMP/resp" -w '%{http_code}' "${CURL_AUTH[@]}" \
		"$SERVER$1/status" >"$TMP/code" 2>"$TMP/curl-err" || echo 000 >"$TMP/code"
	cat "$TMP/resp"
}

# Status is validated too.
out=$(merge_status "$POOL_PATH" '{"status":{"conditions":['"$(cond cilium.io/PoolConflict Maybe resolved "")"']}}')
[[ $(code) == 422 && $out == *'Unsupported value: \"Maybe\"'* ]] && ok "condition status Maybe rejected by /status (422)" ||
	fail "condition status Maybe rejected by /status" "HTTP $(code): $out"
out=$(merge_status "$POOL_PATH" '{"status":{"conditions":[{"type":"cilium.io/IPsUsed","status":"Unknown","message":"0","lastTransitionTime":"'"$now"'"}]}}')
[[ $(code) == 422 && $out == *reason* ]] && ok "condition without reason rejected by /status (422)" ||
	fail "condition without reason rejected by /status" "HTTP $(code): $out"
got=$(jget $POOLS "$T-blocks" '{.status.conditions[?(@.type=="cilium.io/IPsAvailable")].message}')
[[ $got == 18446744073709552152 ]] && ok "rejected status writes left the status alone" ||
	fail "rejected status writes left the status alone" "got: $got"

# Duplicate condition types: kube-apiserver 1.20 does not enforce the
# uniqueness of x-kubernetes-list-type: map keys (later versions do), so l2lb
# itself must never write two conditions of one type.
out=$(merge_status "$POOL_PATH" '{"status":{"conditions":['"$(cond cilium.io/IPsUsed Unknown noreason 0),$(cond cilium.io/IPsUsed Unknown noreason 1)"']}}')
case $(code) in
422) ok "duplicate condition type rejected (list-type map keyed by type)" ;;
200) echo "note - duplicate condition types accepted by this kube-apiserver (list-map keys not enforced before 1.21)" ;;
*) fail "duplicate condition type: unexpected answer" "HTTP $(code): $out" ;;
esac

# Merge patch of the status subresource (what a controller may send).
merge_status "$POOL_PATH" '{"status":{"conditions":['"$(cond cilium.io/PoolConflict True cidr_overlap "Pool conflicts")"']}}' >/dev/null
got=$(jget $POOLS "$T-blocks" '{.status.conditions[*].type}={.status.conditions[0].status}')
[[ $(code) == 200 && $got == "cilium.io/PoolConflict=True" ]] && ok "merge patch of /status" ||
	fail "merge patch of /status" "HTTP $(code): $(cat "$TMP/resp"); got: $got"

# The policy has a status subresource too.
POL_PATH=/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies/policy1
merge_status "$POL_PATH" '{"status":{"conditions":[{"type":"io.cilium/bad-interface-regex","status":"True","reason":"error","message":"error parsing regexp","lastTransitionTime":"'"$now"'"}]},"spec":{"externalIPs":false}}' >/dev/null
got=$(jget $POLICIES policy1 '{.status.conditions[0].type}={.status.conditions[0].status} externalIPs={.spec.externalIPs}')
[[ $(code) == 200 && $got == "io.cilium/bad-interface-regex=True externalIPs=true" ]] &&
	ok "policy status subresource: condition written, spec untouched" ||
	fail "policy status subresource" "HTTP $(code): $(cat "$TMP/resp"); got: $got"

# ---------------------------------------------------------------------------
echo "# deletion"
if out=$(k delete $POOLS "$T-blocks" 2>&1) && ! exists $POOLS "$T-blocks"; then ok "delete $T-blocks"; else fail "delete $T-blocks" "$out"; fi

echo
echo "test-crds: $passed passed, $failed failed"
((failed == 0))
