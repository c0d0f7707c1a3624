# shellcheck shell=bash
# Sourced by the integration tests written in shell: one line per check
# ("ok   - ..." / "FAIL - ..."), counted in $passed and $failed, and the
# shared helpers of scripts/lib/common.sh (die, log, wait_for, ...).

# shellcheck source=scripts/lib/common.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../scripts/lib/common.sh"

passed=0 failed=0
# ok DESCRIPTION
ok() {
	echo "ok   - ${1:?description}"
	passed=$((passed + 1))
}
# fail DESCRIPTION [DETAIL]: DETAIL (e.g. the output that explains the
# failure) is printed indented below; returns 0, like ok
fail() {
	echo "FAIL - ${1:?description}"
	[[ -z ${2:-} ]] || printf '%s\n' "$2" | sed 's/^/       | /'
	failed=$((failed + 1))
	return 0
}
# check DESCRIPTION COMMAND...
check() {
	local d=${1:?description}
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}

# fsub A B: A - B (seconds, 3 decimals); fle A B: A <= B (decimal numbers)
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
fle() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
