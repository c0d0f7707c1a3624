#!/usr/bin/env bash
# l2lb-mount-bpffs (the agent's init container) in a mount namespace of its
# own (unshare -m, private propagation): every mount made here goes away with
# it and the host's mounts are untouched (checked at the end). The cases:
#   a plain directory        → bpffs mounted, l2lb/ created (0700)
#   run again                → nothing to do, no second mount; the directory's
#                              mode is 0700 again
#   the kernel's empty /sys/fs/bpf through a bind mount (a hostPath volume on
#   a host without bpffs)    → bpffs mounted over it
#   a path with a space      → found again in mountinfo (octal escapes)
#   a tmpfs mounted there    → refused with a message naming it
#   a missing path, a file where the directory goes, a bad --dir → errors
# Usage: test-mount-bpffs.sh PATH-TO-l2lb-mount-bpffs (needs root)
set -uo pipefail

prog=$(readlink -f "${1:?usage: test-mount-bpffs.sh l2lb-mount-bpffs}")
if [[ $(id -u) -ne 0 ]] || ! command -v unshare >/dev/null; then
	echo "SKIP: needs root and unshare"
	exit 77
fi
if [[ -z ${L2LB_MNTNS_TEST:-} ]]; then
	L2LB_MNTNS_TEST=1 exec unshare --mount --propagation private -- bash "$0" "$prog"
fi
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../integration/checks.sh"

work=$(mktemp -d /tmp/l2lb-mount-bpffs-test-XXXXXX)
cleanup() { # unmount first: rm -rf would walk into the mounts
	local m
	while IFS= read -r m; do
		umount -l "$m" 2>/dev/null
	done < <(findmnt -ln -o TARGET | grep -F "$work" | sort -r)
	rm -rf "$work"
}
trap cleanup EXIT

fstype() { findmnt -n -o FSTYPE --mountpoint "$1" | tail -1; }
mounts_at() { findmnt -rn -o TARGET | grep -cxF "$1"; }
run() { # DIR [ARGS...]: output in $out, status in $rc
	local d=${1:?dir}
	shift
	out=$("$prog" --bpffs="$d" "$@" 2>&1)
	rc=$?
}

# a plain directory
mkdir "$work/plain"
run "$work/plain"
check "a plain directory: bpffs mounted (exit 0)" \
	test "$rc/$(fstype "$work/plain")" = "0/bpf"
echo "     $out" | head -2
check "... and $work/plain/l2lb created, mode 0700" \
	test "$(stat -c %F/%a "$work/plain/l2lb" 2>/dev/null)" = "directory/700"
chmod 0755 "$work/plain/l2lb"
run "$work/plain"
check "run again: nothing to do (exit 0, 'already mounted', still one mount)" \
	bash -c "[[ $rc -eq 0 && '$out' == *'bpffs already mounted at $work/plain'* && \$(findmnt -rn -o TARGET | grep -cxF '$work/plain') -eq 1 ]]"
check "... and l2lb/, found 0755, is 0700 again" test "$(stat -c %a "$work/plain/l2lb")" = 700

# the kernel's empty /sys/fs/bpf seen through a bind mount, as in a pod
mkdir "$work/sys" "$work/hostpath"
mount -t sysfs sysfs "$work/sys" && mount --bind "$work/sys/fs/bpf" "$work/hostpath"
check "setup: a bind mount of an unmounted /sys/fs/bpf (sysfs)" test "$(fstype "$work/hostpath")" = sysfs
run "$work/hostpath" --dir=pins
check "the hostPath case: bpffs mounted over the sysfs bind mount, pins/ created" \
	bash -c "[[ $rc -eq 0 && \$(findmnt -n -o FSTYPE --mountpoint '$work/hostpath' | tail -1) == bpf && -d '$work/hostpath/pins' ]]"

# mountinfo escapes a space as \040
mkdir "$work/with space"
run "$work/with space"
first=$rc
run "$work/with space"
check "a mount point with a space is found again (one mount, 'already mounted')" \
	bash -c "[[ $first -eq 0 && $rc -eq 0 && '$out' == *'already mounted'* && \$(findmnt -rn -o TARGET | grep -cxF '$work/with\\x20space') -eq 1 ]]"

# someone else's filesystem is not hidden
mkdir "$work/tmpfs"
mount -t tmpfs tmpfs "$work/tmpfs"
run "$work/tmpfs"
check "a tmpfs there: refused (exit 1) with a message naming it, nothing mounted over it" \
	bash -c "[[ $rc -eq 1 && '$out' == *'$work/tmpfs is a tmpfs mount, not bpffs'* && \$(findmnt -n -o FSTYPE --mountpoint '$work/tmpfs' | tail -1) == tmpfs ]]"
echo "     $out"

run "$work/missing"
check "a missing mount point: exit 1, named" \
	bash -c "[[ $rc -eq 1 && '$out' == *'$work/missing: No such file or directory'* ]]"
ln -s elsewhere "$work/plain/notadir" # (bpffs holds no regular files)
run "$work/plain" --dir=notadir
check "a file where the directory goes: exit 1, named" \
	bash -c "[[ $rc -eq 1 && '$out' == *'notadir exists and is not a directory'* ]]"
run "$work/plain" --dir=../escape
check "--dir with a slash: usage error (exit 2)" test "$rc" -eq 2

check "the host's mount table has none of these mounts" \
	bash -c "! grep -qF '$work' /proc/1/mountinfo"

echo "mount-bpffs: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
