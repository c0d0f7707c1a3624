#!/usr/bin/env bash
# Nothing that runs inside a network namespace calls the package installer.
# lab/lab starts `scripts/kube-testenv up` inside the control-plane node's
# namespace, where no network reaches the archive: an apt-get there only
# fails ("Temporary failure resolving"). Everything that installs or builds
# runs on the host first (`lab/lab prepare`, the first step of `lab/lab up`).
#
# A fake apt-get, apt, apt-cache and dpkg first on PATH record the network
# namespace they run in (and fail outside the host's, as the real ones
# would); a fake dpkg-query says that no package is installed, or all of them.
# Nothing is installed and no lab is started: the cache and the state are
# temporary directories; the namespace is one of `ip netns` with a name of
# its own (l2lb-installer-test-PID), entered as the lab enters its nodes
# (in_netns of scripts/lib/netns.sh: nsenter --net).
#
#   1. on a fresh machine, kube-testenv up/install/bin and scripts/deps inside
#      a namespace fail at once, name the command to run on the host, and
#      never call the installer;
#   2. once prepared, kube-testenv install/bin inside a namespace succeed,
#      still without the installer;
#   3. lab/lab prepare installs on the host only; inside a namespace it
#      refuses to run.
#
# Needs root (ip netns add): skipped (77) otherwise.
set -euo pipefail

TOP=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
TESTENV=$TOP/scripts/kube-testenv
# shellcheck source=scripts/lib/netns.sh
source "$TOP/scripts/lib/netns.sh"

NS=l2lb-installer-test-$$
if [[ $EUID -ne 0 ]] || ! ip netns add "$NS" 2>/dev/null; then
	echo "skip: needs root (ip netns add)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'ip netns del "$NS"; rm -rf "$tmp"' EXIT
fake=$tmp/bin
calls=$tmp/calls
host=$(readlink /proc/self/ns/net)
mkdir -p "$fake"
touch "$calls"
for t in apt-get apt apt-cache dpkg; do
	cat >"$fake/$t" <<EOF
#!/bin/sh
ns=\$(readlink /proc/self/ns/net)
echo "\$ns $t \$*" >>"$calls"
[ "\$ns" = "$host" ]
EOF
done
cat >"$fake/dpkg-query" <<EOF
#!/bin/sh
[ -e "$tmp/installed" ] || exit 1
printf 'install ok installed'
EOF
chmod +x "$fake"/*

# a cache holding runnable kubernetes binaries of the expected build
# (1.20, whatever version the suite runs: its binaries, version and stamp
# as kube-testenv's set_kube_version sets them)
export L2LB_KUBE_VERSION=1.20
eval "$(grep -E '^readonly K8S_BINARIES_120=' "$TESTENV" | sed 's/^readonly //')"
K8S_VERSION=$(sed -n 's/^[[:space:]]*K8S_VERSION=\(1\.20\.[0-9]*\)$/\1/p' "$TESTENV" | head -n 1)
# shellcheck disable=SC2016 # the script's literal text: $K8S_VERSION unexpanded
BUILD_ID=$(sed -n 's/^[[:space:]]*BUILD_ID="kubernetes-\$K8S_VERSION \(reflect2[^"]*\)"$/\1/p' "$TESTENV" | head -n 1)
[[ -n $K8S_VERSION && -n $BUILD_ID && ${#K8S_BINARIES_120[@]} -gt 0 ]] ||
	{ echo "FAIL: cannot read the 1.20 version, stamp and binaries from $TESTENV"; exit 1; }
BUILD_ID="kubernetes-$K8S_VERSION $BUILD_ID"
built=$tmp/built-cache
kbin=$built/kubernetes-$K8S_VERSION/bin
mkdir -p "$kbin"
for b in "${K8S_BINARIES_120[@]}"; do
	# (kube-testenv checks that the apiserver names its version)
	# shellcheck disable=SC2016 # $1 belongs to the fake binary
	printf '#!/bin/sh\n[ "$1" = --version ] && echo "Kubernetes v%s"\nexit 0\n' "$K8S_VERSION" >"$kbin/$b"
	chmod +x "$kbin/$b"
done
printf '%s\n' "$BUILD_ID" >"$kbin/.build-id"

export PATH=$fake:$PATH L2LB_TESTENV_DIR=$tmp/state L2LB_TESTENV_TIMEOUT=5
failed=0
fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

# in_ns WANT_STATUS NAME COMMAND...: run COMMAND in the network namespace;
# it must exit 0 (WANT_STATUS ok) or not (fail), and never call the installer
in_ns() {
	local want=$1 name=$2 rc=0 before was=$failed
	shift 2
	before=$(wc -l <"$calls")
	in_netns "$NS" "$@" >"$tmp/out" 2>&1 || rc=$?
	if [[ $want == ok && $rc -ne 0 ]] || [[ $want == fail && $rc -eq 0 ]]; then
		fail "$name: exit status $rc: $(tail -n 3 "$tmp/out")"
	fi
	if (($(wc -l <"$calls") > before)); then
		fail "$name called the installer inside a namespace: $(tail -n +$((before + 1)) "$calls" | tr '\n' ';')"
	fi
	if [[ $want == fail ]] && ! grep -q 'on the host' "$tmp/out"; then
		fail "$name: the error does not say to run it on the host: $(tail -n 3 "$tmp/out")"
	fi
	((failed > was)) || echo "ok: $name ($want)"
}

# 1. a fresh machine: no packages, no binaries
rm -f "$tmp/installed"
export L2LB_CACHE=$tmp/empty-cache
in_ns fail "fresh: kube-testenv up in a namespace" "$TESTENV" up --name installer-test --port auto
in_ns fail "fresh: kube-testenv install in a namespace" "$TESTENV" install
grep -q "run '.*scripts/kube-testenv install' on the host" "$tmp/out" ||
	fail "kube-testenv does not name its host command: $(tail -n 3 "$tmp/out")"
in_ns fail "fresh: kube-testenv bin in a namespace" "$TESTENV" bin
in_ns fail "fresh: scripts/deps lab in a namespace" "$TOP/scripts/deps" lab
[[ ! -e $tmp/state/installer-test ]] || fail "kube-testenv up left state behind on failure"

# 2. prepared: packages and binaries there
touch "$tmp/installed"
export L2LB_CACHE=$built
in_ns ok "prepared: kube-testenv install in a namespace" "$TESTENV" install
in_ns ok "prepared: kube-testenv bin in a namespace" "$TESTENV" bin
grep -qx "$kbin" "$tmp/out" || fail "kube-testenv bin printed $(cat "$tmp/out"), not $kbin"

# 3. lab/lab prepare: the installer on the host only (with l2lb as
# processes: in pods mode prepare also builds l2lb's image, a release build
# of its own that has nothing to do with the installer and takes minutes on
# a fresh machine)
export L2LB_LAB_L2LB=processes
rm -f "$tmp/installed"
in_ns fail "lab/lab prepare in a namespace" "$TOP/lab/lab" prepare
: >"$calls"
if ! "$TOP/lab/lab" prepare >"$tmp/out" 2>&1; then
	fail "lab/lab prepare on the host: $(tail -n 3 "$tmp/out")"
fi
grep -q ' apt-get install ' "$calls" || fail "lab/lab prepare installed nothing: $(cat "$calls")"
if grep -vF "$host " "$calls"; then
	fail "lab/lab prepare called the installer outside the host's namespace"
fi
echo "lab/lab prepare on the host: $(wc -l <"$calls") installer calls"

# 4. lab/lab up prepares before it creates the first namespace
first=$(sed -n '/^cmd_up_infra() {/,/^}/p' "$TOP/lab/lab" |
	grep -E '^\s*(cmd_prepare|topology_up|control_plane_up)$' | head -n 1 | tr -d '[:space:]')
[[ $first == cmd_prepare ]] || fail "lab/lab up: $first runs before cmd_prepare"

((failed == 0)) || exit 1
echo "all ok"
