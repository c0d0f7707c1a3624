# shellcheck shell=bash
# scripts/lib/proc.sh — PID files that are safe against recycled PIDs, shared
# by scripts/kube-testenv and lab/lab. A PID file holds "PID STARTTIME"
# (STARTTIME: field 22 of /proc/PID/stat, clock ticks since boot); a PID whose
# start time differs belongs to some other process and is never touched.
# Sourced, never run; bash only.

# proc_stat PID: the fields of /proc/PID/stat from the 3rd (state) on, so
# that field N of proc(5) is word N-2; fails if PID does not exist
proc_stat() {
	local pid=${1:?pid} stat
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	printf '%s\n' "${stat##*) }" # the command name may hold spaces and parentheses
}

# proc_starttime PID: print the start time of PID; fails if PID does not run
# (or is a zombie)
proc_starttime() {
	local stat
	stat=$(proc_stat "${1:?pid}") || return 1
	# shellcheck disable=SC2086 # split the fields of stat on purpose
	set -- $stat
	[[ $1 != Z && $1 != X ]] || return 1 # zombie or dead
	printf '%s\n' "${20}"
}

# pidfile_alive FILE: print the PID recorded in FILE if that very process runs
pidfile_alive() {
	local f=${1:?pid file} pid st cur
	[[ -f $f ]] || return 1
	read -r pid st <"$f" || true
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	cur=$(proc_starttime "$pid") || return 1
	[[ -z $st || $st == "$cur" ]] || return 1
	printf '%s\n' "$pid"
}

# pidfile_write FILE PID: record PID (and its start time, if it runs) in FILE
pidfile_write() {
	local f=${1:?pid file} pid=${2:?pid} st
	st=$(proc_starttime "$pid") || st=""
	printf '%s %s\n' "$pid" "$st" >"$f"
}

# pidfiles_alive FILE...: some FILE's process runs (a lab or control plane
# that someone else started: never touch it)
pidfiles_alive() { # an unmatched glob (no such file) is fine
	local f
	for f in "$@"; do
		pidfile_alive "$f" >/dev/null && return 0
	done
	return 1
}
