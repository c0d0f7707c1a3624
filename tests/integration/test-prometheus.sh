#!/usr/bin/env bash
# A real Prometheus (Debian's package, installed through scripts/deps)
# scrapes two l2lb-operator replicas and an l2lb-agent run as deploy/ runs
# them (see nodeenv.sh: own control plane, the agent in a node's network
# namespace with the DaemonSet's capabilities), and its HTTP API
# (/api/v1/query) returns the expected series: targets up, process_* and
# build info, one leader, pool IPs, services, reconcile latency, Kubernetes
# client requests by verb/resource/code, leases held and renewing, no service
# unannounced, responder entries, and per-IP ARP requests, replies and
# gratuitous packets after the client ARPs for the IP. Each program's own
# scrape passes `promtool check metrics` (Prometheus' naming rules).
# Prometheus listens on a free loopback port with a temporary storage
# directory, and is stopped by its PID.
# Env: KUBECTL, L2LB_TESTENV, L2LB_BUILD, L2LB_TOP (KUBECONFIG is replaced).
# Not set -e: a failed check is counted (checks.sh) and the next one runs.
set -uo pipefail

NE_TAG=prom
# shellcheck source=tests/integration/nodeenv.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/nodeenv.sh"
trap ne_cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v prometheus >/dev/null; then
	"$L2LB_TOP/scripts/deps" prometheus >"$NE_WORK/deps.log" 2>&1 ||
		{ tail -5 "$NE_WORK/deps.log"; die "cannot install Debian's prometheus (scripts/deps prometheus)"; }
fi
echo "     $(prometheus --version 2>&1 | head -1)"

ns=promtest-$NE_ID
pool=promtest-pool

# ---- control plane, node, l2lb ----
ne_up_seed
k create namespace "$ns" >/dev/null
cat <<EOF | k apply -f - >/dev/null
apiVersion: cilium.io/v2alpha1
kind: CiliumLoadBalancerIPPool
metadata: {name: $pool}
spec:
  blocks: [{start: "$NE_SEG.100", stop: "$NE_SEG.110"}]
  serviceSelector: {matchLabels: {promtest: "yes"}}
---
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata: {name: promtest-policy}
spec:
  serviceSelector: {matchLabels: {promtest: "yes"}}
  interfaces: ["^net0\$"]
  loadBalancerIPs: true
EOF
cat <<EOF | k -n "$ns" apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: web, labels: {promtest: "yes"}}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
EOF
ne_create_node || die "cannot create Node $NE_NODE"
ne_start_operator op-0 "$NE_WORK/config"
ne_start_operator op-1 "$NE_WORK/config"
# the Lease series below are the per-service Leases'
ne_start_agent agent "$NE_WORK/config" --l2-announcements-election=lease-per-service
{ op0_port=$(ne_port op-0) && op1_port=$(ne_port op-1); } || die "the operators do not serve metrics"
ip=$NE_SEG.100
wait_for 20 bash -c "[[ \$('$KUBECTL' -n kube-system get lease cilium-l2announce-$ns-web -o jsonpath='{.spec.holderIdentity}') == $NE_NODE ]]" >/dev/null ||
	die "the agent did not acquire the lease"

# ---- Prometheus ----
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 30000))
		[[ -z $(ss -Htln "sport = :$p") ]] && { echo "$p"; return 0; }
	done
	return 1
}
cat >"$NE_WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: l2lb-operator
    static_configs:
      - targets: ["127.0.0.1:$op0_port", "127.0.0.1:$op1_port"]
  - job_name: l2lb-agent
    static_configs:
      - targets: ["$NE_NODE_ADDR:9962"]
        labels: {node: "$NE_NODE"}
EOF
prom_port=
for _attempt in 1 2 3; do
	prom_port=$(free_port) || die "no free port"
	prometheus --config.file="$NE_WORK/prometheus.yml" --storage.tsdb.path="$NE_WORK/prometheus-data" \
		--web.listen-address="127.0.0.1:$prom_port" --storage.tsdb.retention.time=1h \
		>"$NE_WORK/prometheus.log.txt" 2>&1 &
	prom_pid=$!
	NE_PIDS+=("$prom_pid")
	wait_for 15 curl -fsS "http://127.0.0.1:$prom_port/-/ready" >/dev/null && break
	ne_stop_pid "$prom_pid"
	prom_port=
done
[[ -n $prom_port ]] || { tail -5 "$NE_WORK/prometheus.log.txt"; die "Prometheus did not become ready"; }
echo "     prometheus pid $prom_pid on 127.0.0.1:$prom_port, storage $NE_WORK/prometheus-data"

# prom_query QUERY: the value of the first sample of an instant query
prom_query() {
	curl -fsS --max-time 5 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
		sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}
# prom_is QUERY OP NUMBER: the query has a value and it compares so
prom_is() {
	local v
	v=$(prom_query "$1")
	[[ -n $v ]] && awk -v v="$v" -v n="$3" "BEGIN { exit !(v $2 n) }"
}
# expect DESCRIPTION QUERY OP NUMBER: within 20 s (a few scrapes)
expect() {
	local d=${1:?description}
	shift
	if wait_for 20 prom_is "$@" >/dev/null; then
		ok "$d"
	else
		fail "$d (query: $1, got: '$(prom_query "$1")', want $2 $3)"
	fi
}

# ---- targets ----
expect "up == 1 for both operator replicas" 'count(up{job="l2lb-operator"} == 1)' == 2
expect "up == 1 for the agent" 'count(up{job="l2lb-agent"} == 1)' == 1
targets_clean() {
	local t
	t=$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/targets?state=active")
	[[ $(grep -o '"health":"up"' <<<"$t" | wc -l) -eq 3 && $(grep -o '"lastError":""' <<<"$t" | wc -l) -eq 3 ]]
}
check "no scrape errors (every target's lastError is empty)" wait_for 10 targets_clean

# ---- both: process_*, build info, and Prometheus' naming rules ----
expect "process_start_time_seconds: all three started within the last 10 minutes" \
	'count(time() - process_start_time_seconds < 600)' == 3
expect "process_resident_memory_bytes > 1 MiB for all three" 'count(process_resident_memory_bytes > 1048576)' == 3
expect "process_open_fds > 0 and below process_max_fds" 'count(process_open_fds > 0 and process_open_fds < process_max_fds)' == 3
expect "process_cpu_seconds_total present" 'count(process_cpu_seconds_total)' == 3
expect "l2lb_build_info = 1 with version, commit and compiler" 'count(l2lb_build_info{version!="",commit!="",compiler!=""} == 1)' == 3
for t in "127.0.0.1:$op0_port" "127.0.0.1:$op1_port" "$NE_NODE_ADDR:9962"; do
	if out=$(curl -fsS --max-time 5 "http://$t/metrics" | promtool check metrics 2>&1); then
		ok "promtool check metrics: the scrape of $t"
	else
		fail "promtool check metrics: the scrape of $t" "$out"
	fi
done

# ---- operator ----
expect "l2lb_operator_leader: exactly one of two replicas leads" 'sum(l2lb_operator_leader)' == 1
expect "l2lb_operator_leader: both replicas report it" 'count(l2lb_operator_leader)' == 2
expect "l2lb_lbipam_ips_capacity = 11" "max(l2lb_lbipam_ips_capacity{pool=\"$pool\"})" == 11
expect "l2lb_lbipam_ips_used = 1" "max(l2lb_lbipam_ips_used{pool=\"$pool\"})" == 1
expect "l2lb_lbipam_ips_available = 10" "max(l2lb_lbipam_ips_available{pool=\"$pool\"})" == 10
expect "l2lb_lbipam_pool_conflicting = 0" "max(l2lb_lbipam_pool_conflicting{pool=\"$pool\"})" == 0
expect "l2lb_lbipam_services_matching = 1" 'max(l2lb_lbipam_services_matching)' == 1
expect "l2lb_lbipam_services_unsatisfied = 0" 'max(l2lb_lbipam_services_unsatisfied)' == 0
expect "l2lb_lbipam_reconcile_duration_seconds observed" 'sum(l2lb_lbipam_reconcile_duration_seconds_count)' '>=' 1
expect "l2lb_lbipam_status_patches_total{resource=\"services/status\",result=\"ok\"}" \
	'sum(l2lb_lbipam_status_patches_total{resource="services/status",result="ok"})' '>=' 1

# ---- Kubernetes client (both) ----
expect "l2lb_k8s_client_requests_total: operator PATCH services/status 200" \
	'sum(l2lb_k8s_client_requests_total{job="l2lb-operator",verb="PATCH",resource="services/status",code="200"})' '>=' 1
expect "l2lb_k8s_client_requests_total: both replicas LIST pools (200)" \
	'count(l2lb_k8s_client_requests_total{job="l2lb-operator",verb="LIST",resource="ciliumloadbalancerippools",code="200"})' == 2
expect "l2lb_k8s_client_requests_total: agent wrote Leases (POST 201 / PUT 200)" \
	'sum(l2lb_k8s_client_requests_total{job="l2lb-agent",resource="leases",verb=~"POST|PUT",code=~"20."})' '>=' 1
expect "l2lb_k8s_client_requests_total: agent LIST nodes 200" \
	'sum(l2lb_k8s_client_requests_total{job="l2lb-agent",verb="LIST",resource="nodes",code="200"})' '>=' 1
expect "l2lb_k8s_client_request_duration_seconds histogram (le=\"+Inf\" buckets)" \
	'count(l2lb_k8s_client_request_duration_seconds_bucket{le="+Inf"})' '>=' 3
expect "l2lb_k8s_client_watch_restarts_total: the agent watches Leases" \
	'sum(l2lb_k8s_client_watch_restarts_total{job="l2lb-agent",resource="leases"})' '>=' 1
expect "l2lb_k8s_client_relists_total present for every informer" \
	'count(l2lb_k8s_client_relists_total)' == 9
expect "l2lb_k8s_client_rate_limiter_wait_seconds_total present" \
	'count(l2lb_k8s_client_rate_limiter_wait_seconds_total)' == 3
expect "l2lb_k8s_client_queued_requests: a gauge per class and process" \
	'count(l2lb_k8s_client_queued_requests)' == 9
expect "l2lb_k8s_client_queued_requests: nothing waits for the election in steady state" \
	'sum(l2lb_k8s_client_queued_requests{class="priority"})' == 0
counter_type() {
	[[ $(curl -fsS "http://127.0.0.1:$prom_port/api/v1/metadata?metric=$1") == *'"type":"counter"'* ]]
}
check "metadata: l2lb_k8s_client_relists_total is a counter" counter_type l2lb_k8s_client_relists_total
check "metadata: l2lb_k8s_client_requests_total is a counter" counter_type l2lb_k8s_client_requests_total

# ---- agent ----
expect "l2lb_agent_leases_held = 1" 'sum(l2lb_agent_leases_held)' == 1
expect "l2lb_agent_ready = 1" 'min(l2lb_agent_ready)' == 1
expect "l2lb_agent_heartbeat_timestamp_seconds within 5s of now" 'max(time() - l2lb_agent_heartbeat_timestamp_seconds)' '<' 5
expect "l2lb_agent_services_unannounced = 0 (the agent holds the only Lease)" 'max(l2lb_agent_services_unannounced)' == 0
expect "l2lb_agent_lease_transitions_total{event=\"acquisition\"} >= 1" \
	'sum(l2lb_agent_lease_transitions_total{event="acquisition"})' '>=' 1
expect "l2lb_agent_lease_transitions_total{event=\"renewal\"} keeps increasing (~1/s at renew deadline 1s)" \
	'sum(increase(l2lb_agent_lease_transitions_total{event="renewal"}[5s]))' '>=' 2
expect "l2lb_agent_election_info{mode=\"lease-per-service\"} = 1" \
	'sum(l2lb_agent_election_info{mode="lease-per-service"})' == 1
expect "l2lb_agent_lease_renewal_qps_needed = 1 (one Lease, renew deadline 1s)" \
	'sum(l2lb_agent_lease_renewal_qps_needed)' == 1
expect "l2lb_responder_entries = 1 (the IP on net0)" 'sum(l2lb_responder_entries)' == 1
expect "l2lb_responder_gratuitous_ip_sent_total for $ip on net0" \
	"sum(l2lb_responder_gratuitous_ip_sent_total{ip=\"$ip\",device=\"net0\"})" '>=' 2
expect "l2lb_responder_gratuitous_sent_total{type=\"arp_request\"}" \
	'sum(l2lb_responder_gratuitous_sent_total{type="arp_request"})' '>=' 1
before=$(prom_query "sum(l2lb_responder_requests_total{ip=\"$ip\",device=\"net0\"})")
before=${before:-0}
replies=$(in_client arping -c 3 -w 5 -i c0 "$ip" 2>&1 | grep -c "bytes from")
check "the client's 3 ARP requests for $ip get replies" test "$replies" -ge 2
expect "l2lb_responder_requests_total{ip=\"$ip\",device=\"net0\"} counts them" \
	"sum(l2lb_responder_requests_total{ip=\"$ip\",device=\"net0\"})" '>=' "$((${before%.*} + 3))"
expect "l2lb_responder_replies_total{ip=\"$ip\",device=\"net0\"} counts the replies" \
	"sum(l2lb_responder_replies_total{ip=\"$ip\",device=\"net0\"})" '>=' "$replies"

# a selected service no node may announce (externalTrafficPolicy Local, no
# endpoint anywhere) once it has its IP
cat <<EOF | k -n "$ns" apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: local, labels: {promtest: "yes"}}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, selector: {app: none}, ports: [{port: 80}]}
EOF
expect "l2lb_agent_services_unannounced = 1 with a Local service without endpoints" \
	'max(l2lb_agent_services_unannounced)' == 1
k -n "$ns" delete service local >/dev/null
expect "l2lb_agent_services_unannounced = 0 once it is gone" 'max(l2lb_agent_services_unannounced)' == 0

ne_stop_pid "$prom_pid"
check "Prometheus stopped (by its PID)" bash -c "! kill -0 $prom_pid 2>/dev/null"
ne_report test-prometheus
