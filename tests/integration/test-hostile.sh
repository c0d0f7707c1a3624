#!/usr/bin/env bash
# Hostile objects against the real apiserver, all in one run (issue 11):
#   - a Service with a NUL in an annotation value ("a\u0000b")
#   - a Service with the largest lbipam.cilium.io/ips annotation the apiserver
#     accepts (found here by trying: dry-run creations, bisected)
#   - Services with absurd spec.loadBalancerIP values (those the apiserver
#     accepts of "999.1.1.1", "::::", a 1000-character string)
#   - a CiliumLoadBalancerIPPool with 10,000 blocks (distinct /30s)
# while l2lb-operator and one l2lb-agent run as deploy/ runs them (nodeenv.sh:
# own control plane, the agent in a node's network namespace, a client
# namespace on its net0). Meanwhile an ordinary Service created right after
# them gets its IP and is answered by ARP from the client within 5 s; and
# deleting everything hostile brings every counter back to what it was before:
# the operator's gauges, the ordinary pool's status conditions, the agent's
# leases, entries and `l2lb status`. Prints the numbers: time to IP, time to
# the first ARP answer, the operator's CPU time on the 10,000-block pool, the
# programs' memory.
# Env: KUBECTL, L2LB_TESTENV, L2LB_BUILD, L2LB_TOP (KUBECONFIG is replaced).
# Not set -e: a failed check is counted (checks.sh) and the next one runs.
set -uo pipefail

NE_TAG=hostile
# shellcheck source=tests/integration/nodeenv.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/nodeenv.sh"
trap ne_cleanup EXIT
trap 'exit 130' INT TERM

ns=hostile-$NE_ID
pool=hostile-ordinary
bigpool=hostile-blocks
NBLOCKS=${L2LB_HOSTILE_BLOCKS:-10000}
ANN=lbipam.cilium.io/ips
t_start=$SECONDS


# api METHOD PATH [BODY-FILE]: a request as admin (curl: bodies of 256 KiB
# and NULs in JSON strings, exactly as written); prints the answer; fails on
# HTTP >= 400, the answer then in $NE_WORK/api.err
api() {
	local dir server rc
	dir=$(dirname "$KUBECONFIG")
	# shellcheck source=/dev/null disable=SC2153 # kube-testenv's config.env sets SERVER
	server=$(. "$dir/config.env" && printf '%s' "$SERVER")
	curl -sS --fail-with-body --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $(cat "$dir/admin.token")" \
		-X "$1" ${3:+-H "Content-Type: application/json" --data-binary "@$3"} "$server$2" \
		>"$NE_WORK/api.out" 2>&1
	rc=$?
	if ((rc != 0)); then
		cp "$NE_WORK/api.out" "$NE_WORK/api.err"
		return $rc
	fi
	cat "$NE_WORK/api.out"
}
svc_path() { printf '/api/v1/namespaces/%s/services%s' "$ns" "${1:+/$1}"; }
# svc_ip NAME: its first ingress IP (from the API, without kubectl)
svc_ip() { api GET "$(svc_path "$1")" | tr -d ' \n' | sed -n 's/.*"ingress":\[{"ip":"\([^"]*\)".*/\1/p'; }
svc_reason() {
	k -n "$ns" get svc "$1" -o jsonpath='{.status.conditions[?(@.type=="cilium.io/IPAMRequestSatisfied")].reason}'
}
svc_message() {
	k -n "$ns" get svc "$1" -o jsonpath='{.status.conditions[?(@.type=="cilium.io/IPAMRequestSatisfied")].message}'
}
# svc_json NAME LABEL [ANNOTATIONS-JSON] [EXTRA-SPEC-JSON]: a LoadBalancer
# Service selected by pool LABEL (hostile: ordinary|blocks)
svc_json() {
	printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","labels":{"hostile":"%s"},"annotations":{%s}},"spec":{"type":"LoadBalancer","ports":[{"port":80}]%s}}\n' \
		"$1" "$2" "${3:-}" "${4:+,$4}"
}
# create_svc NAME LABEL [ANNOTATIONS-JSON] [EXTRA-SPEC-JSON] [?dryRun=All]
create_svc() {
	svc_json "$1" "$2" "${3:-}" "${4:-}" >"$NE_WORK/body.json"
	api POST "$(svc_path)${5:-}" "$NE_WORK/body.json" >/dev/null
}

proc_cpu() { # PID: user + system CPU seconds so far
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}
proc_mem() { # PID: "RSS now / peak" in MB
	awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "%.1f MB (peak %.1f MB)", r / 1024, h / 1024 }' "/proc/$1/status"
}

# ---- control plane, node, l2lb ----
ne_up_seed
k create namespace "$ns" >/dev/null
cat <<EOF | k apply -f - >/dev/null
apiVersion: cilium.io/v2alpha1
kind: CiliumLoadBalancerIPPool
metadata: {name: $pool}
spec:
  blocks: [{start: "$NE_SEG.100", stop: "$NE_SEG.139"}]
  serviceSelector: {matchLabels: {hostile: ordinary}}
---
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata: {name: hostile-policy}
spec:
  serviceSelector: {matchLabels: {hostile: ordinary}}
  interfaces: ["^net0\$"]
  loadBalancerIPs: true
EOF
ne_create_node || die "cannot create Node $NE_NODE"
ne_start_operator op-0 "$NE_WORK/config"
ne_start_agent agent "$NE_WORK/config"
# shellcheck disable=SC2154 # set by ne_start_operator / ne_start_agent
op_pid=$pid_op_0 agent_pid=$pid_agent
op_port=$(ne_port op-0) || die "the operator does not serve metrics"
create_svc web0 ordinary || die "cannot create Service web0: $(cat "$NE_WORK/api.err")"
wait_for 20 bash -c "[[ \$('$KUBECTL' -n kube-system get lease cilium-l2announce-$ns-web0 -o jsonpath='{.spec.holderIdentity}') == $NE_NODE ]]" >/dev/null ||
	die "the agent did not take web0's lease"
web0_ip=$(svc_ip web0)
echo "# setup: $((SECONDS - t_start)) s; web0 has $web0_ip; operator pid $op_pid, agent pid $agent_pid"

arp_answered() { # IP: one ARP request from the client gets a reply
	in_client arping -c 1 -w 0.3 -i c0 "$1" 2>/dev/null | has 'bytes from'
}
check "baseline: the client's ARP request for web0 ($web0_ip) is answered" wait_for 10 arp_answered "$web0_ip"

# ---- the state every counter must come back to ----
op_metric() { # NAME{LABELS}: its value, "absent" when not exported
	local v
	v=$(ne_http "http://127.0.0.1:$op_port/metrics" | awk -v m="$1" 'index($0, m " ") == 1 { print $2 }')
	printf '%s\n' "${v:-absent}"
}
agent_metric() {
	local v
	v=$(ne_http "http://$NE_NODE_ADDR:9962/metrics" | awk -v m="$1" 'index($0, m " ") == 1 { print $2 }')
	printf '%s\n' "${v:-absent}"
}
pool_cond() { # POOL TYPE: the condition's message
	k get ippool "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].message}" 2>/dev/null
}
cond_is() { [[ $(pool_cond "$1" "$2") == "$3" ]]; } # POOL TYPE MESSAGE
l2lb_status() { "$L2LB_BUILD/l2lb" --status-socket="$NE_WORK/agent.sock" status; }
l2lb_bpf() { "$L2LB_BUILD/l2lb" --bpf-root="$NE_BPF/l2lb" bpf l2 list; }
snapshot() {
	local t
	for t in total used available; do
		printf 'operator l2lb_lbipam_pool_ips{pool="%s",type="%s"} %s\n' "$pool" "$t" \
			"$(op_metric "l2lb_lbipam_pool_ips{pool=\"$pool\",type=\"$t\"}")"
		printf 'operator l2lb_lbipam_pool_ips{pool="%s",type="%s"} %s\n' "$bigpool" "$t" \
			"$(op_metric "l2lb_lbipam_pool_ips{pool=\"$bigpool\",type=\"$t\"}")"
	done
	for t in matching unsatisfied; do
		printf 'operator l2lb_lbipam_services{state="%s"} %s\n' "$t" "$(op_metric "l2lb_lbipam_services{state=\"$t\"}")"
	done
	for t in IPsTotal IPsUsed IPsAvailable PoolConflict; do
		printf 'pool %s cilium.io/%s "%s"\n' "$pool" "$t" "$(pool_cond "$pool" "cilium.io/$t")"
	done
	printf 'agent l2lb_agent_leases_held %s\n' "$(agent_metric l2lb_agent_leases_held)"
	printf 'agent l2lb_responder_entries %s\n' "$(agent_metric l2lb_responder_entries)"
	# the IPs announced, their device and state (not the packet counters)
	l2lb_status | awk '$1 ~ /^[0-9]+\.[0-9.]+$/ { print "l2lb status:", $1, $2, $3 }' | sort
	l2lb_status | awk -v p="cilium-l2announce-" 'index($1, p) == 1 { print "l2lb status lease:", $1, $2, $4 }' | sort
	l2lb_bpf | awk '$1 ~ /^[0-9]+\.[0-9.]+$/ { print "l2lb bpf l2 list:", $1, $3 }' | sort
	k -n kube-system get leases -o jsonpath='{range .items[*]}{.metadata.name} {.spec.holderIdentity}{"\n"}{end}' |
		grep '^cilium-l2announce-' | sed 's/^/lease /' | sort
	printf 'web0 %s\n' "$(svc_ip web0)"
	printf 'services in %s: %s\n' "$ns" "$(k -n "$ns" get svc -o name | sort | tr '\n' ' ')"
}
wait_for 10 cond_is "$pool" cilium.io/IPsUsed 1 >/dev/null
before=$(snapshot)
echo "     baseline:"
# shellcheck disable=SC2001 # indents every line
sed 's/^/       /' <<<"$before"
check "baseline: web0 is announced (l2lb status, responder map)" \
	grep -qx "l2lb status: $web0_ip net0 live" <<<"$before"
check "baseline: web0 is in the responder map" grep -qx "l2lb bpf l2 list: $web0_ip live" <<<"$before"

# ---- the largest lbipam.cilium.io/ips annotation the apiserver accepts ----
# "a,a,a,…" of LEN bytes, tried with dryRun=All (nothing stored), bisected
ann_value() { yes a, | tr -d '\n' | head -c "$1"; }
ann_accepted() { create_svc huge-ann ordinary "\"$ANN\":\"$(ann_value "$1")\"" "" '?dryRun=All'; }
lo=1 hi=$((300 * 1024)) tries=0
if ann_accepted "$lo" && ! ann_accepted "$hi"; then
	while ((hi - lo > 1)); do
		mid=$(((lo + hi) / 2))
		if ann_accepted "$mid"; then lo=$mid; else hi=$mid; fi
		tries=$((tries + 1))
	done
	# what the apiserver says about the first size it refuses
	ann_accepted "$hi"
	sed -n 's/.*"message": *"\(\([^"\\]\|\\.\)*\)".*/\1/p' "$NE_WORK/api.err" | head -1 | cut -c1-200 >"$NE_WORK/ann-limit.txt"
fi
max_ann=$lo
echo "     the apiserver accepts a $ANN value of at most $max_ann bytes ($tries dry-run tries;" \
	"with the key: $((max_ann + ${#ANN})) bytes; it says: $(cat "$NE_WORK/ann-limit.txt" 2>/dev/null))"
check "the annotation limit is the total 256 KiB of keys and values (one annotation: 262144 - ${#ANN} bytes)" \
	test "$max_ann" = $((256 * 1024 - ${#ANN}))

# ---- absurd spec.loadBalancerIP: which does the apiserver take? ----
long=$(head -c 1000 /dev/zero | tr '\0' 9)
absurd=("999.1.1.1" "::::" "$long")
absurd_ok=()
for i in "${!absurd[@]}"; do
	if create_svc "absurd-$i" ordinary "" "\"loadBalancerIP\":\"${absurd[$i]}\"" '?dryRun=All'; then
		absurd_ok+=("$i")
		echo "     spec.loadBalancerIP '${absurd[$i]:0:20}$([[ ${#absurd[$i]} -gt 20 ]] && echo "…(${#absurd[$i]} chars)")': accepted"
	else
		echo "     spec.loadBalancerIP '${absurd[$i]:0:20}…': rejected: $(head -c 200 "$NE_WORK/api.err")"
	fi
done

# ---- the pool with 10,000 blocks (body built once; created below) ----
awk -v n="$NBLOCKS" -v name="$bigpool" 'BEGIN {
	printf "{\"apiVersion\":\"cilium.io/v2alpha1\",\"kind\":\"CiliumLoadBalancerIPPool\",\"metadata\":{\"name\":\"%s\"},\"spec\":{\"serviceSelector\":{\"matchLabels\":{\"hostile\":\"blocks\"}},\"blocks\":[", name
	for (i = 0; i < n; i++) {
		a = 4 * i # in 10.128.0.0/9
		printf "%s{\"cidr\":\"10.%d.%d.%d/30\"}", (i ? "," : ""), 128 + int(a / 65536), int(a / 256) % 256, a % 256
	}
	printf "]}}\n"
}' >"$NE_WORK/bigpool.json"
echo "     the pool's body: $(wc -c <"$NE_WORK/bigpool.json") bytes, $NBLOCKS blocks"

# ---- all at once, and the ordinary Service right after ----
echo "     before: operator memory $(proc_mem "$op_pid"), agent memory $(proc_mem "$agent_pid")"
cpu0=$(proc_cpu "$op_pid") acpu0=$(proc_cpu "$agent_pid")
t_hostile=$EPOCHREALTIME
# stored COMMAND...: the apiserver took it (else its answer, for the record)
stored() { "$@" >/dev/null || { head -c 300 "$NE_WORK/api.err"; echo; return 1; }; }
check "the apiserver stores the pool with $NBLOCKS blocks" \
	stored api POST /apis/cilium.io/v2alpha1/ciliumloadbalancerippools "$NE_WORK/bigpool.json"
# a NUL in an annotation value, in the JSON as \u0000
check "the apiserver stores the Service with a NUL in an annotation" \
	stored create_svc nul ordinary '"hostile.l2lb.io/nul":"a\u0000b"'
check "the apiserver stores the Service with a $max_ann-byte $ANN" \
	stored create_svc huge-ann ordinary "\"$ANN\":\"$(ann_value "$max_ann")\""
for i in "${absurd_ok[@]}"; do
	create_svc "absurd-$i" ordinary "" "\"loadBalancerIP\":\"${absurd[$i]}\"" ||
		echo "       absurd-$i: $(head -c 300 "$NE_WORK/api.err")"
done
create_svc from-blocks blocks
t_created_hostile=$EPOCHREALTIME
t0=$EPOCHREALTIME
create_svc ordinary ordinary || echo "       ordinary: $(head -c 300 "$NE_WORK/api.err")"
ip=""
while fle "$(fsub "$EPOCHREALTIME" "$t0")" 10; do
	ip=$(svc_ip ordinary)
	[[ -n $ip ]] && break
	sleep 0.05
done
t_ip=$EPOCHREALTIME
t_arp=""
if [[ -n $ip ]]; then
	while fle "$(fsub "$EPOCHREALTIME" "$t0")" 10; do
		if arp_answered "$ip"; then t_arp=$EPOCHREALTIME; break; fi
	done
fi
echo "     hostile objects created in $(fsub "$t_created_hostile" "$t_hostile") s; the ordinary Service" \
	"then got $ip after $(fsub "$t_ip" "$t0") s, first ARP answer after $(fsub "${t_arp:-$EPOCHREALTIME}" "$t0") s"
# shellcheck disable=SC2053 # $2 is a glob pattern
ip_in() { [[ $(svc_ip "$1") == $2 ]]; } # SVC PATTERN
check "the ordinary Service gets an IP from $pool" ip_in ordinary "$NE_SEG.*"
check "the client's ARP request for it is answered within 5 s of its creation" \
	fle "$(fsub "${t_arp:-99999}" "$t0")" 5

# ---- every hostile object handled ----
total=$((4 * NBLOCKS))
check "the $NBLOCKS-block pool's status: IPsTotal $total" wait_for 20 cond_is "$bigpool" cilium.io/IPsTotal "$total"
sleep 1 # the operator's last patches
cpu1=$(proc_cpu "$op_pid") acpu1=$(proc_cpu "$agent_pid")
check "... no conflict in it" test "$(pool_cond "$bigpool" cilium.io/PoolConflict)" = ""
check "a Service selecting it gets its first address (10.128.0.0)" wait_for 10 ip_in from-blocks 10.128.0.0
check "the Service with a NUL in an annotation gets an IP" wait_for 10 ip_in nul "$NE_SEG.*"
nul_ip=$(svc_ip nul)
check "... and is answered by ARP" wait_for 5 arp_answered "$nul_ip"
kept_nul() { api GET "$(svc_path nul)" | has -F '"hostile.l2lb.io/nul": "a\u0000b"'; }
check "the annotation is kept whole through the API (a\\u0000b)" kept_nul
refused() { [[ $(svc_reason "$1") == "$2" && -z $(svc_ip "$1") ]]; } # SVC REASON
check "the $max_ann-byte annotation: no IP, condition too_many_requested_ips" \
	wait_for 10 refused huge-ann too_many_requested_ips
echo "     its message: $(svc_message huge-ann)"
for i in "${absurd_ok[@]}"; do
	echo "     absurd-$i (loadBalancerIP '${absurd[$i]:0:20}'): ip '$(svc_ip "absurd-$i")', reason '$(svc_reason "absurd-$i")': $(svc_message "absurd-$i" | head -c 160)"
	check "absurd-$i: the operator decided (a condition is set)" wait_for 10 test -n "$(svc_reason "absurd-$i")"
done
t=$EPOCHREALTIME
pools_out=$("$L2LB_BUILD/l2lb" --kubeconfig="$KUBECONFIG" pools 2>&1)
echo "     l2lb pools: $(fsub "$EPOCHREALTIME" "$t") s, $(wc -c <<<"$pools_out") bytes of output"
check "l2lb pools lists the $NBLOCKS-block pool" grep -q "$bigpool" <<<"$pools_out"
leases_out=$("$L2LB_BUILD/l2lb" --kubeconfig="$KUBECONFIG" leases 2>&1)
check "l2lb leases lists the NUL Service's lease with its IP" \
	grep -qE "^$ns/nul +$nul_ip " <<<"$leases_out"
check "the operator is alive" kill -0 "$op_pid"
check "the agent is alive" kill -0 "$agent_pid"
echo "     operator: $(fsub "$cpu1" "$cpu0") s CPU from the hostile objects' creation to the big pool's status (+1 s), memory $(proc_mem "$op_pid")"
echo "     agent: $(fsub "$acpu1" "$acpu0") s CPU in the same time, memory $(proc_mem "$agent_pid")"
# all of it costs it ~0.1 s; 0.4 s when conflict settlement compared every
# pair of the pool's ranges (0.3 s per pool event: its event loop also
# renews the leader Lease)
check "the operator spent < 0.25 s CPU on all of it" fle "$(fsub "$cpu1" "$cpu0")" 0.25

# ---- delete everything hostile (and the ordinary Service) ----
cpu2=$(proc_cpu "$op_pid")
k -n "$ns" delete svc nul huge-ann from-blocks ordinary "${absurd_ok[@]/#/absurd-}" --wait=false >/dev/null
k delete ippool "$bigpool" --wait=false >/dev/null
back() { [[ $(snapshot) == "$before" ]]; }
if wait_for 30 back; then
	ok "deleting everything hostile brings every counter back (operator gauges, pool conditions, agent leases and entries, l2lb status)"
else
	fail "deleting everything hostile brings every counter back" "$(diff <(echo "$before") <(snapshot))"
fi
echo "     operator: $(fsub "$(proc_cpu "$op_pid")" "$cpu2") s CPU for the deletions"
check "web0 is still answered" arp_answered "$web0_ip"

for f in "$NE_WORK"/op-0.log "$NE_WORK"/agent.log; do
	echo "     $(basename "$f"): $(grep -c 'level=warn' "$f") warnings, $(grep -c 'level=error' "$f") errors; last warnings:"
	grep 'level=warn' "$f" | tail -4 | cut -c1-220 | sed 's/^/       /'
done
echo "# total $((SECONDS - t_start)) s"
ne_report test-hostile
