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

# netns_is_host: this process runs in the host's network namespace (that of
# PID 1), where the package archive is reachable. Where PID 1's namespace
# cannot be read (some sandboxes deny it from inside a namespace), a named
# namespace of `ip netns` (a lab node, a test's) is not the host's; anything
# else counts as the host. Installers (scripts/deps, scripts/kube-testenv)
# never install anywhere else: inside a lab node apt-get only fails with
# "Temporary failure resolving".
netns_is_host() {
	local self init f
	self=$(stat -L -c %i /proc/self/ns/net 2>/dev/null) || return 0
	if init=$(stat -L -c %i /proc/1/ns/net 2>/dev/null); then
		[[ $self == "$init" ]]
		return
	fi
	for f in /run/netns/*; do
		[[ $(stat -L -c %i "$f" 2>/dev/null) == "$self" ]] && return 1
	done
	return 0
}

# netns_self: the network namespace of this process ("net:[4026531840]")
netns_self() { readlink /proc/self/ns/net 2>/dev/null || echo unknown; }
