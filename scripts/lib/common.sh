# shellcheck shell=bash
# scripts/lib/common.sh — the shell helpers every script of the repository
# shares: messages (log, die), checks (have_cmd, require_root) and polling
# (wait_for, wait_or_die). Sourced, never run; bash only. Source it relative
# to the script's own file, so that it works from any directory and from a
# fresh clone:
#
#   # shellcheck source=scripts/lib/common.sh
#   source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../scripts/lib/common.sh"
#
# Messages are prefixed with $PROG (default: the script's file name); set it
# before or after sourcing. Nothing here changes the shell's options.

PROG=${PROG:-$(basename "$0")}

# log MESSAGE...: one line on stderr
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# die MESSAGE...: one line on stderr, exit 1
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

# have_cmd NAME: NAME is a command (program, function or builtin)
have_cmd() { command -v "${1:?command name}" >/dev/null 2>&1; }

# has GREP-ARGS...: whether standard input has a matching line. Reads all of
# it: `producer | grep -q` stops reading at the first match, and under
# `set -o pipefail` the producer's SIGPIPE then fails the pipeline (a check
# that passed or failed by the size of a log).
has() {
	local n
	n=$(grep -c "$@")
	[[ ${n:-0} -gt 0 ]]
}

# require_root: die unless running as root
require_root() { [[ $EUID -eq 0 ]] || die "needs root"; }

# wait_for SECONDS COMMAND...: run COMMAND every $WAIT_INTERVAL s (default
# 0.1) until it succeeds, silently; after SECONDS, one last try whose output
# is shown (the reason, when it never succeeds) and whose status is returned.
wait_for() {
	local secs=${1:?seconds} end
	shift
	(($# > 0)) || die "wait_for: no command"
	end=$((SECONDS + secs))
	while ((SECONDS < end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep "${WAIT_INTERVAL:-0.1}"
	done
	"$@"
}

# wait_or_die SECONDS WHAT COMMAND...: wait_for, then die "timed out after
# SECONDS waiting for WHAT" if COMMAND never succeeded
wait_or_die() {
	local secs=${1:?seconds} what=${2:?what is awaited}
	shift 2
	wait_for "$secs" "$@" >/dev/null 2>&1 || die "timed out after ${secs}s waiting for $what"
}
