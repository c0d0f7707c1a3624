# shellcheck shell=bash
# scripts/lib/netns.sh — network namespace helpers shared by lab/lab, the
# integration tests and the benchmarks. Namespaces are the named ones of
# `ip netns` (/run/netns/NAME). Sourced, never run; bash only.

# in_netns NETNS COMMAND...: run COMMAND in the network namespace NETNS only
# (the host's mounts stay, unlike `ip netns exec`)
in_netns() {
	local ns=${1:?network namespace}
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# netns_ensure NETNS: create NETNS unless it exists, with lo up
netns_ensure() {
	local ns=${1:?network namespace}
	[[ -e /run/netns/$ns ]] || ip netns add "$ns"
	ip -n "$ns" link set lo up
}
