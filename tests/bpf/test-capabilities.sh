#!/bin/bash
# The capabilities the agent's responder needs, measured: cap-responder (the
# agent's responder start-up: load, pin, attach through a pinned link, add
# entries, join a solicited-node group, send gratuitous ARP/NA) runs as root
# with only the capability set of the DaemonSet (deploy/workloads/agent.yaml)
# and no_new_privs, in a network namespace of this test, on a veth whose peer
# sends ARP requests:
#   - with exactly KEEP it starts, attaches, answers ARP; run again (an agent
#     restart) it reopens the pinned link and keeps the same program, which
#     answers again; its effective set is printed (CapEff, decoded) and is
#     exactly KEEP: every other capability is not needed (CAP_SYS_ADMIN,
#     CAP_SYS_RESOURCE for RLIMIT_MEMLOCK, CAP_DAC_OVERRIDE for the pins,
#     CAP_PERFMON: the datapath verifies without it, see src/bpf/lib/eth.h);
#   - without any one capability of KEEP, the start fails (EPERM): each kept
#     one is needed;
#   - a second instance with another bpf root is refused (EBUSY) and leaves
#     the first one's program in place.
# Needs root, setpriv and capsh (util-linux, libcap2-bin), arping.
#   test-capabilities.sh CAP_RESPONDER_BINARY
set -euo pipefail

helper=${1:?cap-responder binary}
KEEP=(bpf net_admin net_raw)
# how the start fails without each: bpf() and the packet socket refuse with
# EPERM
declare -A WITHOUT=([bpf]=EPERM [net_admin]=EPERM [net_raw]=EPERM)

if [[ $EUID -ne 0 ]]; then
	echo "SKIP: needs root"
	exit 77
fi
for t in setpriv capsh arping nsenter ip; do
	command -v "$t" >/dev/null || {
		echo "SKIP: no $t"
		exit 77
	}
done

tag=l2lbcap$$
node=$tag-n peer=$tag-p
root=/sys/fs/bpf/l2lb-test-caps-$$
work=$(mktemp -d)
cleanup() {
	ip netns del "$node" 2>/dev/null || true
	ip netns del "$peer" 2>/dev/null || true
	rm -rf "$root" "$root-2" "$work"
}
trap cleanup EXIT

ip netns add "$node"
ip netns add "$peer"
ip -n "$node" link set lo up
ip -n "$peer" link set lo up
ip -n "$node" link add c0 type veth peer name c0p netns "$peer"
ip -n "$node" link set c0 up
ip -n "$peer" addr add 192.0.2.1/24 dev c0p
ip -n "$peer" link set c0p up

fails=0
check() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
	else
		echo "not ok - $what"
		fails=$((fails + 1))
	fi
}

# run NAME BPF_ROOT CAP...: cap-responder with exactly CAP... (as the
# container runtime sets them up: bounding set, nothing inheritable, no
# privilege escalation); output in $work/NAME.{out,err}
run() {
	local name=$1 bpfroot=$2 set=-all c
	shift 2
	for c in "$@"; do set+=",+$c"; done
	nsenter --net="/run/netns/$node" -- \
		setpriv --no-new-privs --bounding-set="$set" --inh-caps=-all -- \
		"$helper" "$bpfroot" c0 192.0.2.10 2001:db8::10 >"$work/$name.out" 2>"$work/$name.err"
}

answers() { nsenter --net="/run/netns/$peer" -- arping -q -c 1 -w 3 -I c0p 192.0.2.10; }
prog_id() { sed -n 's/^prog_id=//p' "$work/$1.out"; }
# capeff NAME: the run's effective capabilities, decoded (cap_a,cap_b,...)
capeff() { capsh --decode="$(awk '/^CapEff:/ {print $2}' "$work/$1.out")" | sed 's/^.*=//'; }
sorted() { tr , '\n' | sort | paste -sd, -; }

# ---- each kept capability is needed ----
for drop in "${KEEP[@]}"; do
	rest=()
	for c in "${KEEP[@]}"; do [[ $c == "$drop" ]] || rest+=("$c"); done
	rc=0
	run "without-$drop" "$root" "${rest[@]}" || rc=$?
	echo "     without cap_$drop: exit $rc: $(grep -o 'cap-responder: .*' "$work/without-$drop.err" | head -n1)"
	check "without cap_$drop the start fails with ${WITHOUT[$drop]}" \
		grep -q "cap-responder: .*(${WITHOUT[$drop]})" "$work/without-$drop.err"
	rm -rf "$root" # pins, and with them a link a partial start left
done

# ---- exactly KEEP suffices: start, answer, restart, answer ----
rc=0
run first "$root" "${KEEP[@]}" || rc=$?
check "with ${KEEP[*]} the start succeeds" test "$rc" = 0
[[ $rc == 0 ]] || cat "$work/first.err"
echo "     effective capabilities: $(capeff first)"
check "the effective set is exactly ${KEEP[*]}" \
	test "$(capeff first | sorted)" = "$(printf 'cap_%s,' "${KEEP[@]}" | sed 's/,$//' | sorted)"
check "the responder answers ARP" answers
first_id=$(prog_id first)
rc=0
run restart "$root" "${KEEP[@]}" || rc=$?
check "restarted with ${KEEP[*]}: starts again" test "$rc" = 0
check "restarted: the pinned link is reopened and its program kept (id $first_id)" \
	test -n "$first_id" -a "$(prog_id restart)" = "$first_id"
check "restarted: logged as already attached" grep -q 'responder already attached' "$work/restart.err"
check "restarted: the responder answers ARP" answers
all=$(capsh --decode="$(printf '%x' $(((1 << ($(cat /proc/sys/kernel/cap_last_cap) + 1)) - 1)))" | sed 's/^.*=//')
left=$(tr , '\n' <<<"$all" | grep -vxF -f <(tr , '\n' <<<"$(capeff first)") | paste -sd, -)
echo "     not granted, so not needed: $left"
check "cap_sys_admin is not needed" grep -q 'cap_sys_admin' <<<"$left"
check "cap_sys_resource is not needed" grep -q 'cap_sys_resource' <<<"$left"
check "cap_dac_override is not needed" grep -q 'cap_dac_override' <<<"$left"
# the verifier accepts the datapath without allow_ptr_leaks/bypass_spec_v1
check "cap_perfmon is not needed" grep -q 'cap_perfmon' <<<"$left"

# ---- a second agent (another bpf root) on the device is refused ----
rc=0
run second "$root-2" "${KEEP[@]}" || rc=$?
echo "     second root: exit $rc: $(grep -o 'msg="cannot attach responder[^"]*".*' "$work/second.err" | head -n1)"
check "a second root on the device is refused with EBUSY" \
	grep -q 'cap-responder: attach: .*(EBUSY)' "$work/second.err"
check "the error names the program attached" grep -q "prog_id=$first_id" "$work/second.err"
check "the first root's program stays attached" \
	test "$(ip -n "$node" -d link show dev c0 | grep -o 'prog/xdp id [0-9]*' | head -n1)" = "prog/xdp id $first_id"
check "the first root's responder still answers" answers

echo "$fails failure(s)"
[[ $fails == 0 ]]
