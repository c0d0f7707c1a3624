#!/usr/bin/env bash
# End-to-end tests of the seed lab (lab/lab), run by `make test` as root.
#
#   test-lab.sh scenario   lab/lab up with every step; the steps in
#                         $L2LB_E2E_ASSERT must pass; the lab must come up in
#                         under $L2LB_E2E_MAX_UP seconds; the network path
#                         without l2lb (lab/lab selfcheck) must work; then
#                         lab/lab down must leave nothing behind
#   test-lab.sh interrupt  kill `lab/lab up` during the control plane's start,
#                         then `down` must leave nothing; kill it while it
#                         starts the nodes, during step 1 and during step 2:
#                         each time `up` again must work; kill `down`
#                         half-way: `down` again must leave nothing
#
# L2LB_E2E_ASSERT: steps that must pass (default: all eight).
set -euo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
TOP=${L2LB_TOP:-$(cd "$HERE/../.." && pwd)}
PROG=e2e
# shellcheck source=scripts/lib/common.sh
source "$HERE/../../scripts/lib/common.sh"
# shellcheck source=scripts/lib/proc.sh
source "$HERE/../../scripts/lib/proc.sh"
export L2LB_BUILD=${L2LB_BUILD:-$TOP/build}
LAB=$TOP/lab/lab
STATE=/run/l2lb-lab
TESTENV_STATE=${L2LB_TESTENV_DIR:-/run/l2lb-testenv}/lab
ASSERT=${L2LB_E2E_ASSERT:-1 2 3 4 5 6 7 8}
MAX_UP=${L2LB_E2E_MAX_UP:-120}
LOGDIR=$L2LB_BUILD/test-results/e2e
mkdir -p "$LOGDIR"

say() { printf 'e2e: %s\n' "$*"; }
fail() {
	printf 'e2e: FAIL: %s\n' "$*"
	exit 1
}

pidfile_pids() { # the PIDs (with start times) recorded by the lab and its control plane
	cat "$STATE"/pids/*/*.pid "$STATE"/nodes/*/pids/*.pid "$TESTENV_STATE"/*.pid 2>/dev/null || true
}

lab_running() { # a lab that someone else runs: never touch it
	pidfiles_alive "$STATE"/pids/*/*.pid "$STATE"/nodes/*/pids/*.pid "$TESTENV_STATE"/*.pid
}

# Nothing of the lab may be left: namespaces, links, bridges, processes, BPF
# pins, state. $1: "PID STARTTIME" lines recorded before `down`.
check_clean() {
	local recorded=${1?recorded pids (may be none)} left=() ns pid st cur l p
	for ns in $(ip netns list | awk '{print $1}'); do
		case $ns in
		kind-control-plane | kind-worker | kind-worker2 | clab-garp-demo-neighbor | pod-*) left+=("netns $ns") ;;
		esac
	done
	for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
		[[ $l == l2lb-kind || $l == l2lb-net0 || $l =~ ^l2lb-(cp|w1|w2|nb)-(eth0|net0)$ ]] && left+=("link $l")
	done
	while read -r pid st; do
		[[ $pid =~ ^[0-9]+$ ]] || continue
		cur=$(proc_starttime "$pid") || continue
		[[ $cur == "$st" ]] && left+=("process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-80))")
	done <<<"$recorded"
	for p in /proc/[0-9]*; do
		grep -qaE '/run/l2lb-lab/|/run/l2lb-testenv/lab/|l2lb-deathstar|l2lb-pause' "$p/cmdline" 2>/dev/null || continue
		awk '$3 == "Z" {exit 1}' "$p/stat" 2>/dev/null || continue
		left+=("process ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" | cut -c1-80))")
	done
	[[ -e /sys/fs/bpf/l2lb-lab ]] && left+=("BPF pins /sys/fs/bpf/l2lb-lab")
	# the real nodes' cgroups (lab/node), and mounts of their state anywhere
	for p in /sys/fs/cgroup/*/kind-control-plane /sys/fs/cgroup/*/kind-worker /sys/fs/cgroup/*/kind-worker2; do
		[[ -d $p ]] && left+=("cgroup $p")
	done
	p=$(grep -l ' /run/l2lb-lab/' /proc/[0-9]*/mountinfo 2>/dev/null | head -n 3 | tr '\n' ' ')
	[[ -z $p ]] || left+=("mounts of /run/l2lb-lab/ (in $p)")
	[[ -e $STATE ]] && left+=("state $STATE")
	[[ -e $TESTENV_STATE ]] && left+=("control plane state $TESTENV_STATE")
	if ((${#left[@]})); then
		printf 'e2e: left behind: %s\n' "${left[@]}"
		return 1
	fi
	say "nothing left behind (namespaces, links, bridges, processes, BPF pins, state)"
}

down_and_check() {
	local recorded
	recorded=$(pidfile_pids)
	"$LAB" down || fail "lab/lab down failed"
	check_clean "$recorded" || fail "lab/lab down left things behind"
}

prepare() {
	if lab_running; then
		say "a lab is running on this machine (lab/lab status): not touching it; test skipped"
		exit 77
	fi
	"$TOP/scripts/deps" lab
	"$LAB" down >/dev/null 2>&1 || true # leftovers of a crashed earlier run
	trap 'cleanup' EXIT
}

cleanup() {
	local rc=$?
	"$LAB" down >/dev/null 2>&1 || true
	exit $rc
}

# start_up LOG [env...]: `lab/lab up` in its own process group, in the background
start_up() {
	local logf=${1:?log file}
	shift
	env "$@" setsid "$LAB" up >"$logf" 2>&1 &
	UP_PID=$!
}

kill_up() { # the runner and its children, as a Ctrl-C that nobody handles would
	kill -KILL -- "-$UP_PID" 2>/dev/null || true
	wait "$UP_PID" 2>/dev/null || true
}

wait_log() { # LOG PATTERN SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$UP_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

scenario() {
	local logf=$LOGDIR/lab-up.log up s
	prepare
	say "lab/lab up (every step; asserted: $ASSERT); transcript in $logf"
	if ! L2LB_LAB_ASSERT="$ASSERT" "$LAB" up >"$logf" 2>&1; then
		cat "$logf"
		fail "lab/lab up failed (asserted steps: $ASSERT)"
	fi
	cat "$logf"
	up=$(sed -n 's/.*lab is up in \([0-9]*\)s.*/\1/p' "$logf" | tail -n 1)
	[[ -n $up ]] || fail "no 'lab is up in Ns' line"
	((up < MAX_UP)) || fail "the lab took ${up}s to come up (limit ${MAX_UP}s)"
	say "lab up in ${up}s (limit ${MAX_UP}s)"
	for s in $ASSERT; do
		[[ $(cat "$STATE/steps/$s" 2>/dev/null) == ok ]] || fail "step $s: $(cat "$STATE/steps/$s" 2>/dev/null || echo 'no result')"
	done
	"$LAB" selfcheck || fail "the network path neighbor → kube-proxy → Death Star does not work"
	"$LAB" status >/dev/null || say "note: lab/lab status reports missing parts (a node killed by step 7?)"
	down_and_check
	say "scenario ok"
}

# interrupt_at WHAT PATTERN: start lab/lab up (steps 1-2), kill it (the
# runner and its helpers, not the daemons it started) when PATTERN shows in
# its output, then lab/lab up again must work
interrupt_at() {
	local logf=$LOGDIR/lab-interrupt.log
	say "kill lab/lab up $1, then lab/lab up again"
	start_up "$logf" L2LB_LAB_STEPS="1 2"
	wait_log "$logf" "$2" 180 || {
		cat "$logf"
		fail "lab/lab up never printed '$2'"
	}
	sleep 0.3
	kill_up
	tail -n 2 "$logf" | sed 's/^/    | /'
	if ! L2LB_LAB_STEPS="1 2" L2LB_LAB_ASSERT="1 2" "$LAB" up >"$logf" 2>&1; then
		cat "$logf"
		fail "lab/lab up after an interruption $1 failed"
	fi
	grep -A2 '== summary' "$logf" | sed 's/^/    | /'
}

interrupt() {
	local logf=$LOGDIR/lab-interrupt.log recorded
	prepare

	say "kill lab/lab up during the control plane's start, then lab/lab down"
	start_up "$logf"
	wait_log "$logf" 'started kube-apiserver' 120 || {
		cat "$logf"
		fail "lab/lab up never started kube-apiserver"
	}
	kill_up
	tail -n 2 "$logf" | sed 's/^/    | /'
	down_and_check

	interrupt_at "while it starts the node components" 'started kubelet of kind-worker '
	interrupt_at "during step 1" '== step 1'
	interrupt_at "during step 2" '== step 2'

	say "lab/lab up once more on the running lab (idempotent)"
	if ! L2LB_LAB_STEPS="1 2" L2LB_LAB_ASSERT="1 2" "$LAB" up >"$logf" 2>&1; then
		cat "$logf"
		fail "lab/lab up on a running lab failed"
	fi

	say "kill lab/lab down half-way, then lab/lab down again"
	recorded=$(pidfile_pids)
	setsid "$LAB" down >"$logf" 2>&1 &
	UP_PID=$!
	wait_log "$logf" 'kube-testenv\|ignored SIGTERM' 30 || sleep 1
	kill_up
	"$LAB" down || fail "lab/lab down after an interrupted down failed"
	check_clean "$recorded" || fail "lab/lab down left things behind"
	say "interrupt ok"
}

case ${1:-} in
scenario) scenario ;;
interrupt) interrupt ;;
*)
	echo "usage: $0 scenario|interrupt" >&2
	exit 2
	;;
esac
