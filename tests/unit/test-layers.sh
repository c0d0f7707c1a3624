#!/usr/bin/env bash
# The layer rule, checked on the built archives rather than on #includes:
# a core (lib, api, ipam, announce) may only use symbols of the layers below
# it and of its declared system libraries. Any symbol it needs from the
# Kubernetes client, the daemon plumbing or the BPF loader, or from libcurl,
# libyaml, sd-event or libmicrohttpd directly, fails the test.
#
#   test-layers.sh CORE.a:ALLOWED1.a,ALLOWED2.a ... -- FORBIDDEN.a ...
set -euo pipefail

declare -a cores=() forbidden=()
while (($#)) && [[ $1 != -- ]]; do cores+=("$1"); shift; done
[[ ${1:-} == -- ]] || { echo "usage: $0 CORE.a:ALLOWED.a,... -- FORBIDDEN.a ..." >&2; exit 2; }
shift
forbidden=("$@")
((${#cores[@]} > 0 && ${#forbidden[@]} > 0)) || { echo "nothing to check" >&2; exit 2; }

defined() { nm --defined-only -g "$@" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u; }
undefined() { nm --undefined-only -g "$1" 2>/dev/null | awk '{ print $NF }' | sort -u; }

bad=0
forbidden_syms=$(defined "${forbidden[@]}")
for spec in "${cores[@]}"; do
	core=${spec%%:*}
	[[ -f $core ]] || { echo "missing archive $core" >&2; exit 2; }
	IFS=, read -r -a allowed <<<"${spec#*:}"
	own=$(defined "$core")
	below=""
	((${#allowed[@]} > 0)) && [[ -n ${allowed[0]} ]] && below=$(defined "${allowed[@]}")
	# symbols the core needs from outside itself
	needs=$(comm -23 <(undefined "$core") <(printf '%s\n' "$own"))
	from_forbidden=$(comm -12 <(printf '%s\n' "$needs") <(printf '%s\n' "$forbidden_syms"))
	from_libs=$(grep -E '^(curl_|yaml_|sd_|MHD_|bpf_|xdp_|mnl_)' <<<"$needs" || true)
	if [[ -n $from_forbidden || -n $from_libs ]]; then
		echo "FAIL $(basename "$core") reaches outside its layer:" >&2
		# shellcheck disable=SC2086 # one symbol per word
		printf '  %s\n' $from_forbidden $from_libs >&2
		bad=1
		continue
	fi
	n_below=$(comm -12 <(printf '%s\n' "$needs") <(printf '%s\n' "$below") | grep -c . || true)
	echo "ok   $(basename "$core"): $(grep -c . <<<"$needs" || true) outside symbols, $n_below from the layers below"
done
exit $bad
