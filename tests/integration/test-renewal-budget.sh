#!/usr/bin/env bash
# Lease-per-service election beyond the client's budget (issue 12, goal 6):
# one l2lb-agent (seed timings 3s / 1s / 500ms, k8s-client-qps 10, burst 20)
# holds $N service Leases, whose renewals need N requests per second. Checks:
# the agent warns with the numbers (held, renew period, qps needed, the
# configured qps and burst); l2lb_agent_lease_renewal_qps_needed reads N;
# `l2lb status` shows the budget; and during $STEADY s of steady state no
# entry lapses ("stopped announcing ... renew deadline passed") although the
# renewals wait in the client's queue: a pending renewal keeps its entries
# up to 90% of the lease duration after the last successful one.
#
# N defaults to 12: a Lease's renewals go one at a time, each waiting
# W ~ N / qps in the queue, and the entries hold while the next result comes
# within 90% of the duration after the last successful send: 2 W <= 2.7 s,
# so at most ~13 Leases at qps 10 with the seed's 3 s (20 or 30 lapse for
# throughput whatever the extension; the warning needs more than 10).
# Env: KUBECTL, L2LB_TESTENV, L2LB_BUILD, L2LB_TOP; N, STEADY (optional).
# Not set -e: a failed check is counted (checks.sh) and the next one runs.
set -uo pipefail

: "${KUBECTL:?} ${L2LB_TESTENV:?} ${L2LB_BUILD:?} ${L2LB_TOP:?}"
AG_TESTENV=$L2LB_TESTENV AG_BUILD=$L2LB_BUILD AG_TOP=$L2LB_TOP AG_KUBECTL=$KUBECTL
# shellcheck source=tests/integration/agents-lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/agents-lib.sh"
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"

N=${N:-12} STEADY=${STEADY:-20}
NODE=kind-worker
AG_NODES=("$NODE")
NS=default

on_exit() {
	local rc=$?
	if ((failed > 0)) || [[ $rc != 0 ]]; then
		echo "--- last lines of $NODE.log:"
		tail -n 25 "$AG_WORK/$NODE.log"
	fi
	ag_cleanup
}
trap on_exit EXIT
trap 'exit 130' INT TERM

t_start=$SECONDS
# shellcheck disable=SC2119 # no --l2: no neighbor, net0 is a veth pair in the namespace
ag_topology || { echo "cannot create the topology"; exit 1; }
ag_testenv_up || { echo "cannot start the control plane"; exit 1; }
sed 's/^  name: policy1$/  name: budgettest/' "$L2LB_TOP/lab/manifests/l2policy.yaml" | k apply -f - >/dev/null ||
	{ echo "cannot create the policy"; exit 1; }
for ((i = 0; i < N; i++)); do
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: svc%d, namespace: %s, labels: {color: blue}}\nspec: {type: ClusterIP, ports: [{port: 80}], externalIPs: ["12.0.1.%d"]}\n---\n' \
		"$i" "$NS" $((i + 1))
done | k apply -f - >/dev/null || { echo "cannot create the services"; exit 1; }
ag_start_agent "$NODE" --l2-announcements-election=lease-per-service \
	--k8s-client-qps=10 --k8s-client-burst=20
echo "# setup: $((SECONDS - t_start)) s, $N services (apiserver on $AG_SUBNET.1, work dir $AG_WORK)"

n_held() { k -n kube-system get leases -o jsonpath='{range .items[*]}{.metadata.name} {.spec.holderIdentity}{"\n"}{end}' | grep -c "^cilium-l2announce-$NS-svc[0-9]* $NODE\$"; }
all_held() { [[ $(n_held) == "$N" ]]; }
check "the agent holds all $N Leases" wait_for 40 all_held
metric() { ag_metrics "$NODE" | awk -v m="$1" '$1 == m { print $2 }'; }
gauge_all() { [[ $(metric l2lb_agent_lease_renewal_qps_needed) == "$N" ]]; }
check "l2lb_agent_lease_renewal_qps_needed reads $N (N Leases / renew deadline 1s)" wait_for 10 gauge_all
echo "     gauge: $(metric l2lb_agent_lease_renewal_qps_needed)"
election_info() { [[ $(metric 'l2lb_agent_election_info{mode="lease-per-service"}') == 1 ]]; }
check "l2lb_agent_election_info{mode=\"lease-per-service\"} is 1" election_info

# the warning: said once when the renewals outgrew the budget, with its numbers
warning=$(grep -m1 'Lease renewals need more requests per second than k8s-client-qps' "$AG_WORK/$NODE.log")
echo "     warning: $warning"
warning_right() {
	local held
	held=$(sed -n 's/.* held=\([0-9]*\) .*/\1/p' <<<"$warning")
	[[ -n $held ]] && ((held > 10 && held <= N)) &&
		[[ $warning == *" renew_period_ms=1000 qps_needed=$held.0 k8s_client_qps=10 k8s_client_burst=20"* ]]
}
check "the warning names held, renew period, qps needed, k8s-client-qps 10 and burst 20" warning_right
check "it is said once, not on every run" \
	bash -c "[[ \$(grep -c 'Lease renewals need more requests per second' '$AG_WORK/$NODE.log') == 1 ]]"
status=$(ag_status "$NODE")
check "l2lb status: election lease-per-service and the renewal budget over qps" \
	bash -c "grep -q '^Election: *lease-per-service' <<<\"\$1\" && grep -qE '^Renewals: *$N\\.0/s needed \\($N Leases every 1000 ms\\), k8s-client-qps 10, burst 20 \\(over' <<<\"\$1\"" _ "$status"

# ---- steady state: renewals queue, entries never lapse ----
sleep 3
before=$(grep -c 'stopped announcing' "$AG_WORK/$NODE.log")
renewals0=$(ag_metrics "$NODE" | awk '$1 == "l2lb_agent_lease_transitions_total{event=\"renewal\"}" { print $2 }')
sleep "$STEADY"
renewals1=$(ag_metrics "$NODE" | awk '$1 == "l2lb_agent_lease_transitions_total{event=\"renewal\"}" { print $2 }')
lapses=$(grep 'stopped announcing' "$AG_WORK/$NODE.log" | tail -n +$((before + 1)) | grep -c 'renew deadline passed')
startup=$(grep 'stopped announcing' "$AG_WORK/$NODE.log" | head -n "$before" | grep -c 'renew deadline passed')
echo "     steady state $STEADY s: renewals $renewals0 → $renewals1 ($(awk -v a="$renewals0" -v b="$renewals1" -v t="$STEADY" 'BEGIN { printf "%.1f", (b - a) / t }')/s), lapses $lapses"
echo "     (lapses while the $N Leases were acquired at once and first renewed: $startup)"
check "no entry lapsed during $STEADY s of steady state (renewals merely queued)" test "$lapses" = 0
bpf=$(ag_bpf_list "$NODE" 2>&1)
live=$(awk '$1 ~ /^12\.0\.1\./ && $3 == "live"' <<<"$bpf" | wc -l)
if [[ $live == "$N" ]]; then
	ok "... and every IP is live in the responder map"
else
	fail "... and every IP is live in the responder map ($live of $N)" "$(head -n 5 <<<"$bpf")"
fi
check "... all $N Leases held" all_held
check "renewals went at about the client's rate (>= 7/s)" \
	awk -v a="$renewals0" -v b="$renewals1" -v t="$STEADY" 'BEGIN { exit !((b - a) / t >= 7) }'

echo "# $passed passed, $failed failed ($((SECONDS - t_start)) s)"
((failed == 0))
