# shellcheck shell=bash
# Sourced by the integration tests written in shell: one line per check
# ("ok   - ..." / "FAIL - ..."), counted in $passed and $failed, and polling.

passed=0 failed=0
ok() { echo "ok   - $*"; passed=$((passed + 1)); }
fail() { echo "FAIL - $*"; failed=$((failed + 1)); }
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}
# wait_for SECONDS COMMAND...: retry every 0.1 s until it succeeds; the last
# try's output is shown (the reason, when it never does)
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ((SECONDS < end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}
