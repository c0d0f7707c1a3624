#!/usr/bin/env bash
# l2lb-agent against the real apiserver: three agents named like the seed's
# nodes (kind-control-plane, kind-worker, kind-worker2), each in a network
# namespace with eth0 on a host bridge (where a kube-apiserver of this test
# listens) and net0 on a shared L2 segment with a neighbor namespace
# (12.0.0.2/24), the agents with exactly the RBAC of deploy/base and the seed's
# timings (3s / 1s / 500ms). ARP is observed on the wire at the neighbor
# (tcpdump), so "one answer" means one reply frame.
#   1. exactly one holder per service (4 services): lease, agents' roles,
#      responder maps
#   2. the neighbor's ARP request gets exactly one reply, from the holder's MAC
#   9. `l2lb status` on the holder's socket shows the lease and the IP with
#      counters, and net0's XDP mode with its reason (default auto: generic,
#      as net0's peer has no XDP program, and ARP is answered);
#      `l2lb bpf l2 list` shows the entry
#  11. the neighbor claims a service IP (gratuitous ARP reply and request):
#      the holder's status, metric and log report the conflicts; a new MAC on
#      the holder's net0 is announced (gratuitous ARP) within 1 s and answers
#      carry it
#   5. agent restart (SIGTERM, start again): same holder, leaseTransitions
#      unchanged, no request unanswered during the restart (arping every 100 ms)
#   4. SIGTERM with --release-on-shutdown, `kubectl cordon` of the holder's
#      Node, and the label node.kubernetes.io/exclude-from-external-load-balancers
#      on it: takeover within one retry period (+ margin)
#   8. the holder's net0 loses carrier: another node takes over (Cilium #35507)
#   7. a frozen holder (SIGSTOP) falls silent before another node answers,
#      never two answers for one request; thawed (SIGCONT), it stays silent
#   3. kill -9 of the holder: another node holds the lease and answers within
#      lease duration + retry period
#  10. a node whose responder cannot be attached (another XDP program on
#      net0) is no candidate, and retries the attach with a backoff
#   6. the policy's nodeSelector excludes the control plane: it never holds
# Measured times are printed. Everything created is removed on exit.
# Env: KUBECTL, L2LB_TESTENV, L2LB_BUILD, L2LB_TOP (KUBECONFIG is not used: the
# agents need an apiserver reachable from their namespaces, so the test runs
# its own instance).
# Not set -e: a failed check is counted (checks.sh) and the next one runs.
set -uo pipefail

: "${KUBECTL:?} ${L2LB_TESTENV:?} ${L2LB_BUILD:?} ${L2LB_TOP:?}"
AG_TESTENV=$L2LB_TESTENV AG_BUILD=$L2LB_BUILD AG_TOP=$L2LB_TOP AG_KUBECTL=$KUBECTL
# shellcheck source=tests/integration/agents-lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/agents-lib.sh"
# every step checks per-service Leases (holders, transitions, re-adoption)
AG_AGENT_FLAGS=(--l2-announcements-election=lease-per-service)

# the seed's timings, and margins for a busy 2-core machine
DURATION=3.0 RETRY=0.5 RENEW=1.0
MARGIN=${L2LB_TEST_MARGIN:-0.7}

# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
none() { [[ -z $("$@") ]]; } # COMMAND...: prints nothing
fadd() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }

trap ag_on_exit EXIT
trap 'exit 130' INT TERM

SVCS=(svc0 svc1 svc2 svc3)
declare -A SVC_IP=([svc0]=12.0.0.100 [svc1]=12.0.0.101 [svc2]=12.0.0.102 [svc3]=12.0.0.103)
NS=default
lease_of() { ag_lease_name "$NS" "$1"; }
other_worker() { [[ $1 == kind-worker ]] && echo kind-worker2 || echo kind-worker; }

t_start=$SECONDS
# ---- topology, control plane, agents ----
ag_topology --l2 || { echo "cannot create the topology"; exit 1; }
ag_testenv_up || { echo "cannot start the control plane"; exit 1; }
sed 's/^  name: policy1$/  name: agenttest/' "$L2LB_TOP/lab/manifests/l2policy.yaml" | k apply -f - >/dev/null ||
	{ echo "cannot create the policy"; exit 1; }
for s in "${SVCS[@]}"; do
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s, labels: {color: blue}}\nspec: {type: ClusterIP, ports: [{port: 80}], externalIPs: ["%s"]}\n---\n' \
		"$s" "$NS" "${SVC_IP[$s]}"
done | k apply -f - >/dev/null || { echo "cannot create the services"; exit 1; }
# a service the policy does not select: nobody announces it
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: red, namespace: %s, labels: {color: red}}\nspec: {type: ClusterIP, ports: [{port: 80}], externalIPs: ["12.0.0.109"]}\n' \
	"$NS" | k apply -f - >/dev/null
ag_lease_watch "$AG_WORK/leases.watch"
for n in "${AG_NODES[@]}"; do ag_start_agent "$n"; done
echo "# setup: $((SECONDS - t_start)) s (apiserver on $AG_SUBNET.1, XDP $AG_XDP_MODE, work dir $AG_WORK)"

all_held() {
	local s h
	for s in "${SVCS[@]}"; do
		h=$(ag_holder "$(lease_of "$s")")
		[[ $h == kind-worker || $h == kind-worker2 ]] || return 1
	done
}
check "every selected service gets a lease held by a worker" wait_for 20 all_held
sleep 1 # let the responder maps settle after the first acquisitions

holder_of() { ag_holder "$(lease_of "$1")"; }
holder_is() { [[ $(holder_of "$1") == "$2" ]]; } # SVC NODE
# the same from the lease watch (no kubectl polling while a takeover is timed)
seen_holder_is() { ag_w_holders "$AG_WORK/leases.watch" | awk -v l="$(lease_of "$1")" -v h="$2" '$1 == l && $2 == h { f = 1 } END { exit !f }'; }
# the l2announce Leases only: kube-system also holds the apiservers' identity
# Leases (apiserver-<id>, Kubernetes 1.26+)
holds_nothing() { ! ag_leases | cut -d' ' -f2 | has -x "$1"; }
holds_all() { [[ $(ag_leases | cut -d' ' -f2 | sort -u) == "$1" ]]; }
status_has() { ag_status "$1" 2>/dev/null | has -E "$2"; } # NODE REGEX
no_lease() { ! k -n kube-system get lease "$1" >/dev/null 2>&1; }
# live entries for IP in NODE's responder map
live_entry() { ag_bpf_list "$1" 2>/dev/null | awk -v ip="$2" '$1 == ip && $3 == "live" { f = 1 } END { exit !f }'; }
holders_by_status() { # LEASE → the nodes whose agent reports itself holder
	local n
	for n in "${AG_NODES[@]}"; do
		ag_status "$n" 2>/dev/null | awk -v l="$1" '$1 == l && $4 == "holder" { f = 1 } END { exit !f }' && echo "$n"
	done
}

# ---- 1. exactly one holder per service ----
one_holder_everywhere() {
	local s h n nlive roles
	for s in "${SVCS[@]}"; do
		h=$(holder_of "$s")
		roles=$(holders_by_status "$(lease_of "$s")" | tr '\n' ' ')
		[[ $roles == "$h " ]] || { echo "  $s: lease holder $h, agents claiming it: $roles"; return 1; }
		nlive=0
		for n in "${AG_NODES[@]}"; do
			if live_entry "$n" "${SVC_IP[$s]}"; then
				nlive=$((nlive + 1))
				[[ $n == "$h" ]] || { echo "  $s: $n answers, holder is $h"; return 1; }
			fi
		done
		((nlive == 1)) || { echo "  $s: $nlive nodes with a live entry"; return 1; }
	done
}
check "1. one holder per service: lease, agents' own view and responder maps agree" one_holder_everywhere
echo "     holders: $(for s in "${SVCS[@]}"; do printf '%s=%s ' "$s" "$(holder_of "$s")"; done)"
check "1. the unselected service has no lease" no_lease "$(lease_of red)"

# ---- 2. one ARP reply per request, from the holder's MAC ----
cap=$AG_WORK/arp-basic.cap
ag_capture_start "$cap"
for s in "${SVCS[@]}"; do
	ag_in_neighbor arping -q -I net0 -c 5 -W 0.1 "${SVC_IP[$s]}" >/dev/null 2>&1 &
done
ag_in_neighbor arping -q -I net0 -c 3 -W 0.1 12.0.0.109 >/dev/null 2>&1 &
wait_arpings() { local j; for j in $(jobs -p); do wait "$j"; done; }
sleep 1.2
ag_capture_stop
exactly_one_reply() { # SVC
	local ip=${SVC_IP[$1]} mac table
	mac=$(ag_mac "$(holder_of "$1")")
	table=$(ag_arp_table "$cap" "$ip" | grep '^R')
	[[ $(wc -l <<<"$table") -ge 5 ]] || { echo "  $1: fewer than 5 requests captured"; return 1; }
	if awk -v m="$mac" '$3 != 1 || $4 != m { bad = 1 } END { exit !bad }' <<<"$table"; then
		echo "  $1 ($ip, holder MAC $mac):"
		# shellcheck disable=SC2001 # indents every line of the table
		sed 's/^/    /' <<<"$table"
		return 1
	fi
}
for s in "${SVCS[@]}"; do
	check "2. $s: each of 5 ARP requests got exactly one reply, from the holder's MAC" exactly_one_reply "$s"
done
unanswered_red() { [[ $(grep -c 'Reply 12.0.0.109' "$cap") == 0 && $(grep -c 'who-has 12.0.0.109' "$cap") -ge 3 ]]; }
check "2. no reply for the unselected service's IP" unanswered_red

# ---- 9. l2lb status and l2lb bpf l2 list ----
s=svc0
H=$(holder_of "$s")
st=$(ag_status "$H" 2>&1)
check "9. l2lb status: the holder's lease is listed with role holder" \
	grep -qE "^ +$(lease_of "$s") +$NS/$s +$H +holder" <<<"$st"
# shellcheck disable=SC2016 # an awk program: awk expands its $ fields
check "9. l2lb status: ${SVC_IP[$s]} announced on net0, live, with counters (>= 5 requests, >= 5 replies)" \
	awk -v ip="${SVC_IP[$s]}" '$1 == ip && $2 == "net0" && $3 == "live" && $4 >= 5 && $5 >= 5 { f = 1 } END { exit !f }' <<<"$st"
if [[ $AG_XDP_MODE == auto ]]; then
	check "9. l2lb status: default xdp-mode auto runs net0 (veth, peer on the host) in generic XDP, saying why" \
		grep -qE '^ +net0 .* generic \(veth peer in another network namespace\)$' <<<"$st"
else
	check "9. l2lb status: net0 runs in $AG_XDP_MODE XDP (configured)" \
		grep -qE "^ +net0 .* $AG_XDP_MODE \(configured\)\$" <<<"$st"
fi
bl=$(ag_bpf_list "$H" 2>&1)
# shellcheck disable=SC2016 # an awk program: awk expands its $ fields
check "9. l2lb bpf l2 list: the entry, live, with counters" \
	awk -v ip="${SVC_IP[$s]}" '$1 == ip && $3 == "live" && $(NF-1) >= 5 && $NF >= 5 { f = 1 } END { exit !f }' <<<"$bl"
no_live_entry() { ! live_entry "$@"; }
check "9. l2lb bpf l2 list on the follower: no live entry for it" no_live_entry "$(other_worker "$H")" "${SVC_IP[$s]}"
if ((failed)); then
	echo "$st"
	echo "$bl"
fi

# ---- 11. address conflicts and MAC changes ----
s=svc1 ip=${SVC_IP[svc1]}
H=$(holder_of "$s")
O=$(other_worker "$H")
conflicts_of() { ag_status "$1" 2>/dev/null | awk -v ip="$2" '$1 == ip { print $6 }'; } # NODE IP
conflicts_are() { [[ $(conflicts_of "$1" "$2") == "$3" ]]; }                            # NODE IP N
conflict_metric() { # NODE IP N
	ag_metrics "$1" | has -xF "l2lb_responder_conflicts_total{ip=\"$2\",device=\"net0\"} $3"
}
c0=$(conflicts_of "$H" "$ip")
# the neighbor claims the IP: a gratuitous ARP reply, then a gratuitous request
ag_in_neighbor arping -q -U -P -c 1 -I net0 -S "$ip" "$ip" >/dev/null 2>&1
ag_in_neighbor arping -q -U -c 1 -I net0 -S "$ip" "$ip" >/dev/null 2>&1
check "11. conflicts: l2lb status on $H counts the neighbor's 2 claims of $ip (before: ${c0:-none})" \
	wait_for 3 conflicts_are "$H" "$ip" $((c0 + 2))
check "11. conflicts: l2lb_responder_conflicts_total{ip=$ip,device=net0} on $H" \
	conflict_metric "$H" "$ip" $((c0 + 2))
check "11. conflicts: $H's agent logs a warning naming the IP, device and count" \
	wait_for 5 grep -qE "level=warn .*address conflict.* ip=$ip device=net0 conflicts=[1-9]" "$AG_WORK/$H.log"
check "11. conflicts: $O, not announcing $ip, counts nothing" none conflicts_of "$O" "$ip"
# the holder's net0 gets a new MAC: a gratuitous ARP with it at once, and
# the replies carry it
new_mac=02:4c:32:00:00:2${AG_INDEX[$H]}
cap=$AG_WORK/arp-mac.cap
ag_capture_start "$cap"
sleep 0.3
t0=$(ag_now)
ip -n "$(ag_ns "$H")" link set dev net0 address "$new_mac"
sleep 1.2
ag_in_neighbor arping -q -c 1 -W 0.1 -I net0 "$ip" >/dev/null 2>&1
ag_capture_stop
# shellcheck disable=SC2016 # an awk program: awk expands its $ fields
t_garp=$(ag_arp_table "$cap" "$ip" | awk -v m="$new_mac" -v t="$t0" '$1 == "G" && $2 > t && $3 == m { print $2; exit }')
echo "     MAC change on $H: first gratuitous ARP with the new MAC after $([[ -n $t_garp ]] && fsub "$t_garp" "$t0" || echo none) s"
garp_within() { [[ -n $t_garp ]] && fle "$(fsub "$t_garp" "$t0")" "$1"; } # SECONDS
check "11. MAC change: gratuitous ARP for $ip from the new MAC within 1 s" garp_within 1.0
# shellcheck disable=SC2016 # an awk program: awk expands its $ fields
check "11. MAC change: the reply to a request carries the new MAC" \
	awk -v m="$new_mac" '$1 == "R" && $3 == 1 && $4 == m { f = 1 } END { exit !f }' < <(ag_arp_table "$cap" "$ip" "$t0")
ip -n "$(ag_ns "$H")" link set dev net0 address "$(ag_mac "$H")"
sleep 0.5

# ---- 5. agent restart: same holder, no gap ----
s=svc0 ip=${SVC_IP[svc0]}
H=$(holder_of "$s")
declare -A tr_before=()
while read -r name holder tr; do tr_before[$name]="$holder $tr"; done < <(ag_leases)
cap=$AG_WORK/arp-restart.cap
ag_capture_start "$cap"
ag_arping_start "$ip" 0.1
sleep 0.5
t0=$(ag_now)
ag_stop_agent "$H" TERM 10
rc=$?
t_exit=$(ag_now)
ag_start_agent "$H" --release-on-shutdown # for step 4
check "5. SIGTERM: the agent exits cleanly (status $rc) in $(fsub "$t_exit" "$t0") s" test "$rc" = 0
wait_for 10 status_has "$H" '^Synced: +yes' 
t_up=$(ag_now)
sleep 2.5
ag_arping_stop
ag_capture_stop
echo "     restart: down $(fsub "$t_exit" "$t0") s, synced again $(fsub "$t_up" "$t0") s after SIGTERM"
same_leases() {
	local name holder tr bad=0
	while read -r name holder tr; do
		[[ ${tr_before[$name]:-} == "$holder $tr" ]] ||
			{ echo "  $name: before ${tr_before[$name]:-none}, after $holder $tr"; bad=1; }
	done < <(ag_leases)
	return $bad
}
check "5. restart: every lease kept its holder and leaseTransitions" same_leases
no_gap() { # CAPTURE IP MAC FROM TO
	local table
	table=$(ag_arp_table "$1" "$2" "$4" "$5" | grep '^R')
	[[ $(wc -l <<<"$table") -ge 20 ]] || { echo "  only $(wc -l <<<"$table") requests"; return 1; }
	if awk -v m="$3" '$3 != 1 || $4 != m { bad = 1 } END { exit !bad }' <<<"$table"; then
		awk -v m="$3" '$3 != 1 || $4 != m' <<<"$table" | sed 's/^/    /' | head -20
		return 1
	fi
}
check "5. restart: every request (100 ms apart) answered exactly once by $H" no_gap "$cap" "$ip" "$(ag_mac "$H")" 0 1e12
echo "     requests during the restart window: $(ag_arp_table "$cap" "$ip" | grep -c '^R')"
grep -q 're-adopt\|readopt' "$AG_WORK/$H.log" && echo "     the agent log reports the re-adoption"

# ---- 4. SIGTERM with --release-on-shutdown: takeover within one retry period ----
# measure_takeover NAME OLD T0 CAPTURE: prints "lease ΔL answer ΔA" relative to T0
measure_takeover() {
	local lease=${1:?lease} old=${2:?old holder} t0=${3:?start time} capf=${4:?capture file} ip=${5:?ip} l a
	l=$(ag_lease_change "$AG_WORK/leases.watch" "$lease" "$t0" "$old" | awk '{ print $1 }')
	a=$(ag_arp_table "$capf" "$ip" "$t0" | awk -v m="$(ag_mac "$old")" '$1 == "R" && $3 >= 1 && $4 != m { print $2; exit }')
	printf '%s %s\n' "$([[ -n $l ]] && fsub "$l" "$t0" || echo none)" "$([[ -n $a ]] && fsub "$a" "$t0" || echo none)"
}
never_two() { # CAPTURE IP: no request answered by two MACs; report the worst
	local table
	table=$(ag_arp_table "$1" "$2" | grep '^R')
	if awk '$4 ~ /,/ { bad = 1 } END { exit !bad }' <<<"$table"; then
		awk '$4 ~ /,/' <<<"$table" | sed 's/^/    two answerers: /'
		return 1
	fi
}
H=$(holder_of svc0)
O=$(other_worker "$H")
cap=$AG_WORK/arp-release.cap
ag_capture_start "$cap"
ag_arping_start "$ip" 0.1
sleep 0.3
t0=$(ag_now)
ag_stop_agent "$H" TERM 10
wait_for 5 seen_holder_is svc0 "$O"
sleep 0.5
ag_arping_stop
ag_capture_stop
read -r dl da < <(measure_takeover "$(lease_of svc0)" "$H" "$t0" "$cap" "$ip")
echo "     SIGTERM --release-on-shutdown of $H: $O holds the lease after $dl s, answers after $da s (retry period $RETRY s)"
check "4. SIGTERM --release-on-shutdown: $O answers within retry period + $MARGIN s" \
	fle "${da/none/99}" "$(fadd "$RETRY" "$MARGIN")"
check "4. ... and holds every lease $H held" wait_for 3 holds_nothing "$H"
check "4. never two answerers during the handover" never_two "$cap" "$ip"
ag_start_agent "$H"

# A change of the holder's Node hands svc0 over within one retry period:
# handover_by WHAT OFF UNDO, OFF and UNDO commands run with the Node's name
handover_by() {
	local what=${1:?what} off=${2:?command} undo=${3:?command} H O cap t0 t1 dl da
	H=$(holder_of svc0)
	O=$(other_worker "$H")
	sleep 1.5 # $O's agent is up again
	cap=$AG_WORK/arp-$what.cap
	ag_capture_start "$cap"
	ag_arping_start "$ip" 0.1
	sleep 0.3
	t0=$(ag_now)
	"$off" "$H" >/dev/null
	t1=$(ag_now)
	wait_for 5 seen_holder_is svc0 "$O"
	sleep 0.5
	ag_arping_stop
	ag_capture_stop
	read -r dl da < <(measure_takeover "$(lease_of svc0)" "$H" "$t0" "$cap" "$ip")
	echo "     $what $H (kubectl ran $(fsub "$t1" "$t0") s): $O holds the lease after $dl s, answers after $da s"
	check "4. $what: $O answers within the kubectl call + retry period + $MARGIN s" \
		fle "${da/none/99}" "$(fadd "$(fsub "$t1" "$t0")" "$(fadd "$RETRY" "$MARGIN")")"
	check "4. $what: $H holds nothing any more" wait_for 3 holds_nothing "$H"
	check "4. never two answerers during the handover" never_two "$cap" "$ip"
	HANDED_OVER_BY=$H
	"$undo" "$H" >/dev/null
}
cordon() { k cordon "$1"; }
uncordon() { k uncordon "$1"; }
EXCLUDE=node.kubernetes.io/exclude-from-external-load-balancers
exclude() { k label node "$1" "$EXCLUDE=true"; }
include() { k label node "$1" "$EXCLUDE-"; }
handover_by cordon cordon uncordon
# the label Kubernetes defines (MetalLB honours it): like a cordon
handover_by exclusion-label exclude include
check "4. exclusion-label: $HANDED_OVER_BY's agent said so, once" \
	test "$(grep -c "this node is labelled $EXCLUDE" "$AG_WORK/$HANDED_OVER_BY.log")" -eq 1

# ---- 8. carrier loss on the holder's net0 ----
H=$(holder_of svc0)
O=$(other_worker "$H")
sleep 0.5
cap=$AG_WORK/arp-carrier.cap
ag_capture_start "$cap"
ag_arping_start "$ip" 0.1
sleep 0.3
t0=$(ag_now)
ip link set "$(ag_host_port "$H")" down
wait_for 6 seen_holder_is svc0 "$O"
sleep 0.5
ag_arping_stop
ag_capture_stop
read -r dl da < <(measure_takeover "$(lease_of svc0)" "$H" "$t0" "$cap" "$ip")
echo "     $H's net0 lost carrier: $O holds the lease after $dl s, answers after $da s"
check "8. carrier loss: another node ($O) takes over within retry period + $MARGIN s" \
	fle "${da/none/99}" "$(fadd "$RETRY" "$MARGIN")"
check "8. carrier loss: $H reports net0 without carrier" status_has "$H" '^ +net0 .* down ' 
ip link set "$(ag_host_port "$H")" up
check "8. carrier back: $H's agent sees it" wait_for 5 status_has "$H" '^ +net0 .* up ' 

# ---- 7. frozen holder: silent before anyone else answers ----
H=$(holder_of svc0)
O=$(other_worker "$H")
sleep 0.5
cap=$AG_WORK/arp-freeze.cap
ag_capture_start "$cap"
ag_arping_start "$ip" 0.05
sleep 0.5
t0=$(ag_now)
ag_signal_agent "$H" STOP
wait_for 8 seen_holder_is svc0 "$O"
sleep 0.5
t_cont=$(ag_now)
ag_signal_agent "$H" CONT
sleep 2.5
ag_arping_stop
ag_capture_stop
table=$(ag_arp_table "$cap" "$ip")
mh=$(ag_mac "$H") mo=$(ag_mac "$O")
last_old=$(awk -v m="$mh" '$1 == "R" && $4 ~ m { t = $2 } END { print t }' <<<"$table")
first_new=$(awk -v m="$mo" '$1 == "R" && $4 ~ m { print $2; exit }' <<<"$table")
echo "     SIGSTOP $H: last answer by $H after $(fsub "${last_old:-0}" "$t0") s, first answer by $O after $(fsub "${first_new:-0}" "$t0") s, silent $(fsub "${first_new:-0}" "${last_old:-0}") s; $(grep -c '^R' <<<"$table") requests, 50 ms apart"
silent_first() { [[ -n $last_old && -n $first_new ]] && fle "$last_old" "$first_new"; }
check "7. freeze: the frozen holder fell silent (liveness gate) before $O answered" silent_first
# entries live renew deadline + retry period after the last renewal's send
# (client-go's give-up point; docs/l2announce.md): the last answer comes at
# most that long after the freeze (+ the 50 ms between requests)
check "7. freeze: $H stopped answering within renew deadline + retry period (+ 0.3 s) of the freeze" \
	fle "$(fsub "${last_old:-99}" "$t0")" "$(fadd "$(fadd "$RENEW" "$RETRY")" 0.3)"
# shellcheck disable=SC2016 # an awk program: awk expands its $ fields
check "7. freeze: never two answers for one request (all $(grep -c '^R' <<<"$table") requests)" \
	none awk '$1 == "R" && ($3 > 1 || $4 ~ /,/)' <<<"$table"
# shellcheck disable=SC2016 # an awk program: awk expands its $ fields
check "7. thawed: $H neither answers nor announces after SIGCONT" \
	none awk -v m="$mh" -v t="$t_cont" '$2 > t && $0 ~ m' <<<"$table"
# shellcheck disable=SC2016 # an awk program: awk expands its $ fields
check "7. thawed: $O answered every request after SIGCONT" \
	none awk -v m="$mo" -v t="$t_cont" '$1 == "R" && $2 > t && ($3 != 1 || $4 != m)' <<<"$table"
check "7. thawed: $H's agent knows it is no longer the holder" \
	wait_for 3 status_has "$H" "^ +$(lease_of svc0) .* follower" 

# ---- 3. kill -9 of the holder ----
H=$(holder_of svc0)
O=$(other_worker "$H")
tr0=$(ag_transitions "$(lease_of svc0)")
cap=$AG_WORK/arp-kill.cap
ag_capture_start "$cap"
ag_arping_start "$ip" 0.05
sleep 0.5
t0=$(ag_now)
ag_stop_agent "$H" KILL 5
wait_for 8 seen_holder_is svc0 "$O"
sleep 0.5
ag_arping_stop
ag_capture_stop
read -r dl da < <(measure_takeover "$(lease_of svc0)" "$H" "$t0" "$cap" "$ip")
echo "     kill -9 $H: $O holds the lease after $dl s, answers after $da s (lease duration + retry period = 3.5 s)"
check "3. kill -9: $O holds the lease and answers within lease duration + retry period + $MARGIN s" \
	fle "${da/none/99}" "$(fadd "$(fadd "$DURATION" "$RETRY")" "$MARGIN")"
check "3. kill -9: leaseTransitions went up by one" test "$(ag_transitions "$(lease_of svc0)")" = $((tr0 + 1))
check "3. kill -9: never two answerers" never_two "$cap" "$ip"
check "3. kill -9: every service is held by $O" wait_for 5 holds_all "$O"

# ---- 10. a node whose responder cannot be attached is no candidate ----
# (another program attached to its net0): it must not
# take leases it could not answer for, nor retry the attach in a busy loop
pass_obj=$AG_BUILD/src/bpf/xdp-pass.bpf.o
if [[ -f $pass_obj ]]; then
	D=$H # the agent killed in step 3
	xdpflag=$([[ $AG_XDP_MODE == native ]] && echo xdpdrv || echo xdpgeneric)
	# the dead agent's responder goes with its pinned link (netlink cannot
	# detach a link)
	rm -f "$(ag_bpf_root "$D")"/links/xdp-*
	ip -n "$(ag_ns "$D")" link set dev net0 "$xdpflag" off
	# (not iproute2's ELF loader: it would leave /sys/fs/bpf/xdp behind)
	generic=()
	[[ $xdpflag == xdpgeneric ]] && generic=(--generic)
	ag_in "$D" "$AG_TOP/scripts/xdp-pass-attach" "${generic[@]}" "$pass_obj" net0 >/dev/null
	t_blocked=$SECONDS
	ag_start_agent "$D"
	wait_for 10 status_has "$D" '^Synced: +yes'
	check "10. responder blocked by another program: $D reports not ready" status_has "$D" '^Ready: +no'
	ag_stop_agent "$O" KILL 5
	sleep "$(fadd "$DURATION" 1.5)"
	check "10. ... and takes no lease when $O dies" holds_nothing "$D"
	ip -n "$(ag_ns "$D")" link set dev net0 "$xdpflag" off
	t_free=$SECONDS
	check "10. once net0 is free, $D attaches (backoff) and takes every lease" wait_for 15 holds_all "$D"
	echo "     blocked for $((t_free - t_blocked)) s, took over $((SECONDS - t_free)) s after net0 was freed;" \
		"$(grep -c 'cannot attach the responder' "$AG_WORK/$D.log") attach attempts logged"
	check "10. attach retried with a backoff (< 10 attempts)" \
		test "$(grep -c 'cannot attach the responder' "$AG_WORK/$D.log")" -lt 10
	ag_start_agent "$O"
fi

# ---- 6. the control plane never held anything ----
# shellcheck disable=SC2016 # an awk program: awk expands its $ fields
cp_never_held() { [[ -s $AG_WORK/leases.watch ]] && none awk '$3 == "kind-control-plane"' "$AG_WORK/leases.watch"; }
cp_no_entries() { [[ $(ag_bpf_list kind-control-plane | grep -c '^12\.') == 0 ]]; }
check "6. nodeSelector: kind-control-plane never held a lease (watched all along: $(wc -l <"$AG_WORK/leases.watch") events)" \
	cp_never_held
check "6. kind-control-plane's responder map never had an entry for them" \
	cp_no_entries

for n in "${AG_NODES[@]}"; do
	# (step 10's attach failures are expected)
	errs=$(grep 'level=error' "$AG_WORK/$n.log" | grep -v 'cannot attach')
	if [[ -n $errs ]]; then
		echo "--- errors in $n's log:"
		head <<<"$errs"
	fi
done
echo "test-agent: $passed passed, $failed failed ($((SECONDS - t_start)) s)"
[[ $failed -eq 0 ]]
