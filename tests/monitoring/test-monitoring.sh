#!/usr/bin/env bash
# deploy/monitoring checked with promtool (Debian's prometheus package,
# scripts/deps test):
#   - the PrometheusRule's spec is a valid rules file (`promtool check rules`;
#     promtool does not read the PrometheusRule wrapper, so its spec is cut
#     out: the lines under `spec:`, dedented by two blanks),
#   - its alerts fire as alerts-test.yaml expects (`promtool test rules`),
#     and every alert of the rule file has such a test,
#   - the PodMonitor scrapes the port the workloads name `prometheus`,
#   - a real scrape of l2lb-operator (started without an API server, on a free
#     loopback port, stopped by its PID) passes `promtool check metrics`
#     (Prometheus naming: counters end in _total, gauges do not, base
#     units...) and carries the process_* and l2lb_build_info families, and
#     the same check rejects a gauge named like a counter.
#   test-monitoring.sh SOURCE_ROOT BUILD_DIR
set -uo pipefail

# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../integration/checks.sh"
top=${1:?source root}
build=${2:?build directory}
mon=$top/deploy/monitoring

if ! have_cmd promtool; then
	"$top/scripts/deps" test >&2 || die "promtool missing: run 'scripts/deps test'"
fi
work=$(mktemp -d /tmp/l2lb-test-monitoring.XXXXXX) || die "mktemp failed"
pid=
cleanup() {
	[[ -z $pid ]] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	rm -rf "$work"
}
trap cleanup EXIT

# ---- rules ----
sed -n '/^spec:$/,$p' "$mon/prometheusrule.yaml" | tail -n +2 | sed 's/^  //' >"$work/rules.yaml"
check "the PrometheusRule has a spec" test -s "$work/rules.yaml"
if out=$(promtool check rules "$work/rules.yaml" 2>&1); then ok "promtool check rules: $(grep -o '[0-9]* rules found' <<<"$out")"; else fail "promtool check rules" "$out"; fi
cp "$top/tests/monitoring/alerts-test.yaml" "$work/"
if out=$(promtool test rules "$work/alerts-test.yaml" 2>&1); then ok "promtool test rules (alerts-test.yaml)"; else fail "promtool test rules (alerts-test.yaml)" "$out"; fi
while read -r a; do
	check "alert $a has a test in alerts-test.yaml" \
		grep -Eq "^ *alertname: $a\$" "$work/alerts-test.yaml"
done < <(sed -n 's/^ *- alert: *//p' "$work/rules.yaml")
[[ $(grep -c 'exp_labels' "$work/alerts-test.yaml") -ge $(grep -c -- '- alert:' "$work/rules.yaml") ]] ||
	fail "alerts-test.yaml expects fewer firings than there are alerts"

# ---- PodMonitor → the workloads' port ----
port_ok() {
	local f
	grep -q '^ *- port: prometheus$' "$mon/podmonitor.yaml" || return 1
	for f in operator agent; do
		grep -Eq '^ *- name: prometheus$' "$top/deploy/workloads/$f.yaml" || return 1
		grep -q "l2lb-$f" "$mon/podmonitor.yaml" || return 1
	done
}
check "the PodMonitor selects both workloads by their port named prometheus" port_ok

# ---- a real scrape ----
cat >"$work/kubeconfig" <<'KC'
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
KC
"$build/l2lb-operator" --kubeconfig="$work/kubeconfig" --prometheus-serve-addr=127.0.0.1:0 \
	--k8s-namespace=monitoring-test >"$work/operator.log" 2>&1 &
pid=$!
listening() { grep -q 'msg="serving metrics and health"' "$work/operator.log"; }
wait_for 10 listening >/dev/null || { cat "$work/operator.log" >&2; die "l2lb-operator does not serve metrics"; }
port=$(sed -n 's/.*msg="serving metrics and health".* port=\([0-9]*\).*/\1/p' "$work/operator.log")
curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" >"$work/metrics" || die "cannot scrape 127.0.0.1:$port"
if out=$(promtool check metrics <"$work/metrics" 2>&1); then ok "promtool check metrics: l2lb-operator's scrape ($(grep -c '^# TYPE' "$work/metrics") families)"; else fail "promtool check metrics: l2lb-operator's scrape" "$out"; fi
for f in process_cpu_seconds_total process_resident_memory_bytes process_virtual_memory_bytes \
	process_open_fds process_max_fds process_start_time_seconds l2lb_build_info; do
	check "the scrape has $f" grep -Eq "^$f(\{.*\})? [0-9.e+]+\$" "$work/metrics"
done
kill "$pid"
wait "$pid" 2>/dev/null
pid=
printf '# HELP l2lb_x_total X.\n# TYPE l2lb_x_total gauge\nl2lb_x_total 1\n' >"$work/bad"
check "promtool check metrics rejects a gauge named like a counter" bash -c "! promtool check metrics <'$work/bad' >/dev/null 2>&1"

echo "# $passed passed, $failed failed"
((failed == 0))
