# shellcheck shell=bash
# lab/steps.sh — the seed's steps, sourced by lab/lab (whose helpers and
# variables it uses).
#
# Each step prints its commands and their output like the seed's transcript
# (root@server is the host with kubectl, root@neighbor the
# clab-garp-demo-neighbor namespace, root@kind-* a node) and checks what the
# seed says should happen. A step is a function step_N that returns 0, or 1
# with STEP_WHY set; STEP_NOTE adds details to an "ok". Steps never exit the
# runner: the next step runs either way, and a summary closes the run.
#
# Commands run in $WORK (a fresh copy of lab/manifests), with `kubectl`
# being the cached kubectl 1.20 on the lab's admin kubeconfig. Background
# helpers (captures, arping, watchers) end by themselves (timeout) and do not
# keep the lab's lock ({LOCK_FD}>&-), so an interrupted run never blocks the
# next one.

STEP_TITLES=(
	[1]="Deploy a Workload and Service (deathstar)"
	[2]="External IP 12.0.0.100, not announced yet: the neighbor's curl times out"
	[3]="L2 announcement policy for color=blue: still times out (service is red)"
	[4]="Announce the service (color=blue): the neighbor reaches the Death Star"
	[5]="deathstar-2 (12.0.0.101): a worker holds the lease and answers ARP"
	[6]="LB-IPAM: pool-blue gives deathstar-3 an IP in 12.0.0.128/25"
	[7]="Resilience: kill the node holding 12.0.0.100, the lease and ARP move"
	[8]="l2lb config view | grep l2 (a live worker's agent) shows the lease settings"
)

if [[ -t 1 ]]; then
	B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' N=$'\033[0m'
else
	B="" G="" R="" N=""
fi

export SVC_IP
OUT="" RC=0 STEP_WHY="" STEP_NOTE=""

fail() {
	STEP_WHY=$*
	return 1
}

l2lb() { "$BUILD/l2lb" --config-dir "$LAB/config" "$@"; }

# show PROMPT CMD: print a command the way the transcript does
show() { printf '%s%s%s%s\n' "$B" "$1" "$N" "$2"; }

# host CMD: run a shell command line on the host (kubectl, files in $WORK)
host() {
	: "${1:?command line}"
	show 'root@server:~# ' "$1"
	if OUT=$(cd "$WORK" && eval "$1" 2>&1); then RC=0; else RC=$?; fi
	[[ -z $OUT ]] || printf '%s\n' "$OUT"
	return $RC
}

# on NETNS CMD: run a command line in a node or the neighbor
on() {
	local ns=${1:?netns} who=$1
	: "${2:?command line}"
	[[ $ns == "$NEIGHBOR" ]] && who=neighbor
	show "root@$who:/# " "$2"
	# CURL_HOME: a .curlrc with --silent --show-error, so that captured output
	# looks like curl on a terminal (no progress meter)
	if OUT=$(cd / && CURL_HOME=$STATE/curl SVC_IP=$SVC_IP in_netns "$ns" bash -c "$2" 2>&1); then RC=0; else RC=$?; fi
	[[ -z $OUT ]] || printf '%s\n' "$OUT"
	return $RC
}

q() { kubectl "$@" 2>/dev/null || true; } # quiet query for checks

lease_holder() { q -n kube-system get lease "cilium-l2announce-default-${1:?service}" -o jsonpath='{.spec.holderIdentity}'; }

is_worker() {
	local w
	for w in "${WORKERS[@]}"; do [[ ${1:?node} == "$w" ]] && return 0; done
	return 1
}

node_of_mac() {
	local node
	for node in "${NODES[@]}"; do [[ $(net0_mac "$node") == "${1:?mac}" ]] && printf '%s' "$node"; done
}

# The neighbor forgets what it learnt about IP, so that the next curl asks
# again (a FAILED entry from a moment ago would make it fail at once with
# "No route to host" instead of the seed's timeout).
forget_arp() { ip -n "$NEIGHBOR" neigh flush to "${1:?ip}" 2>/dev/null || true; }

is_deathstar() { grep -q '"name": "Death Star"' <<<"$1"; }

# neighbor_curl SECONDS IP: the seed's curl from the neighbor, repeated
# (quietly) until it answers or SECONDS pass; shows the last attempt.
neighbor_curl() {
	local secs=${1:?seconds} ip=${2:?ip} t0=$EPOCHREALTIME tries=0 out
	local cmd="curl --connect-timeout 1 http://$ip/v1/"
	while :; do
		tries=$((tries + 1))
		if out=$(in_netns "$NEIGHBOR" curl -sS --connect-timeout 1 --max-time 3 "http://$ip/v1/" 2>&1) &&
			is_deathstar "$out"; then
			break
		fi
		if (($(elapsed "$t0") >= secs * 1000)); then
			show 'root@neighbor:/# ' "$cmd"
			printf '%s\n' "$out"
			printf '(%d attempts in %ss, none answered)\n' "$tries" "$secs"
			OUT=$out
			return 1
		fi
		sleep 0.2
	done
	show 'root@neighbor:/# ' "$cmd"
	printf '%s\n' "$out"
	((tries == 1)) || printf '(answered at attempt %d, after %s ms)\n' "$tries" "$(elapsed "$t0")"
	OUT=$out
}

elapsed() { # T0 (an $EPOCHREALTIME) -> milliseconds since
	local t0=${1:?start time} now=$EPOCHREALTIME
	echo $(((${now/./} - ${t0/./}) / 1000))
}
ms() { printf '%d.%03d' $((${1:?ms} / 1000)) $(($1 % 1000)); }

# ---------------------------------------------------------------------------

steps_reset() {
	log "resetting the scenario (deathstar services, deployment, policy, pool, leases)"
	kubectl delete --ignore-not-found --wait=false service deathstar deathstar-2 deathstar-3 >/dev/null 2>&1 || true
	kubectl delete --ignore-not-found deployment deathstar >/dev/null 2>&1 || true
	kubectl delete --ignore-not-found ciliuml2announcementpolicies.cilium.io policy1 >/dev/null 2>&1 || true
	kubectl delete --ignore-not-found ciliumloadbalancerippools.cilium.io pool-blue >/dev/null 2>&1 || true
	kubectl -n kube-system delete --ignore-not-found lease cilium-l2announce-default-deathstar \
		cilium-l2announce-default-deathstar-2 cilium-l2announce-default-deathstar-3 >/dev/null 2>&1 || true
	local i
	for ((i = 0; i < 240; i++)); do
		[[ -z $(q get pods -l org=empire -o name) ]] && break
		sleep 0.25
	done
	[[ -z $(q get pods -l org=empire -o name) ]] || log "warning: Death Star pods of an earlier run still exist"
	ip -n "$NEIGHBOR" neigh flush dev net0 2>/dev/null || true
	rm -rf "$WORK"
	mkdir -p "$WORK" "$STATE/curl"
	printf 'silent\nshow-error\n' >"$STATE/curl/.curlrc"
	cp "$LAB"/manifests/{deathstar,deathstar-2,l2policy,pool-blue}.yaml "$WORK/"
	sed -i "s|image: l2lb.local/deathstar:.*|image: l2lb.local/deathstar:$(deathstar_version)|" "$WORK/deathstar.yaml"
}

step_1() {
	host 'kubectl apply -f deathstar.yaml' || fail "kubectl apply -f deathstar.yaml failed" || return
	host 'kubectl rollout status deployment deathstar --timeout=90s' ||
		fail "the deployment did not roll out (pods: $(q get pods -l org=empire -o wide --no-headers | tr '\n' ';'))" || return
	host 'kubectl get svc deathstar --show-labels' || fail "no service deathstar" || return
	local pods name node ip served=()
	pods=$(q get pods -l org=empire,class=deathstar -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP}{"\n"}{end}')
	(($(grep -c . <<<"$pods") == 2)) || fail "expected 2 Death Star pods, found: $pods" || return
	while read -r name node ip; do
		[[ -n $ip ]] || fail "pod $name has no IP" || return
		on "$node" "curl -s --max-time 2 http://$ip/v1/ | grep hostname" ||
			fail "pod $name ($ip on $node) does not serve /v1/" || return
		grep -q "\"hostname\": \"$name\"" <<<"$OUT" || fail "pod $name answered with another hostname: $OUT" || return
		served+=("$name@$node")
	done <<<"$pods"
	STEP_NOTE="2 Death Star pods serve (${served[*]})"
}

step_2() {
	show 'root@server:~# ' "SVC_IP=$SVC_IP"
	host "kubectl patch service deathstar -p '{\"spec\":{\"externalIPs\":[\"'\$SVC_IP'\"]}}'" ||
		fail "kubectl patch failed" || return
	host 'kubectl get svc deathstar' || return
	[[ $(q get svc deathstar -o jsonpath='{.spec.externalIPs[0]}') == "$SVC_IP" ]] ||
		fail "the service has no external IP $SVC_IP" || return
	forget_arp "$SVC_IP"
	# shellcheck disable=SC2016 # the transcript shows $SVC_IP; on() sets it
	on "$NEIGHBOR" 'curl --connect-timeout 1 http://$SVC_IP/v1/'
	((RC == 28)) || fail "expected a connection timeout (curl exit 28), got exit $RC: ${OUT:0:200}"
}

step_3() {
	host 'kubectl apply -f l2policy.yaml' || fail "kubectl apply -f l2policy.yaml failed" || return
	sleep 1 # let the agents see the policy before the check
	forget_arp "$SVC_IP"
	# shellcheck disable=SC2016 # the transcript shows $SVC_IP; on() sets it
	on "$NEIGHBOR" 'curl --connect-timeout 1 http://$SVC_IP/v1/'
	((RC == 28)) || fail "expected a timeout: the policy selects color=blue and deathstar is red (curl exit $RC: ${OUT:0:200})"
}

step_4() {
	host 'kubectl label svc deathstar color=blue --overwrite' || fail "kubectl label failed" || return
	neighbor_curl 10 "$SVC_IP" ||
		fail "no answer from $SVC_IP within 10s: no node announces it (l2lb-agent: lease + ARP responder on net0)" || return
	grep -q '"hostname": "deathstar-' <<<"$OUT" || fail "unexpected answer: ${OUT:0:200}"
}

step_5() {
	local holder="" i mac link cap_link cap_node tpid_link tpid_node
	host 'kubectl apply -f deathstar-2.yaml' || fail "kubectl apply -f deathstar-2.yaml failed" || return
	host 'kubectl get svc deathstar-2' || return
	for ((i = 0; i < 40; i++)); do
		holder=$(lease_holder deathstar-2)
		[[ -n $holder ]] && break
		sleep 0.25
	done
	host 'kubectl get leases -n kube-system cilium-l2announce-default-deathstar-2 -o yaml' ||
		fail "no lease cilium-l2announce-default-deathstar-2 in kube-system after 10s (l2lb-agent creates it)" || return
	host "LEASE_NODE=\$(kubectl -n kube-system get leases cilium-l2announce-default-deathstar-2 -o jsonpath='{.spec.holderIdentity}')
echo \$LEASE_NODE"
	is_worker "$holder" || fail "the lease holder is '$holder', not a worker (the policy excludes the control plane)" || return

	# Capture ARP on the holder (as the seed does in its Cilium pod) and on
	# the holder's net0 link: an XDP responder answers before the node's own
	# packet taps, so the link (the host end of its veth) is where the request
	# and the reply are both visible.
	mac=$(net0_mac "$holder")
	link=$(host_link "$holder" net0)
	cap_node=$WORK/arp-node.txt cap_link=$WORK/arp-link.txt
	timeout 20 nsenter --net="/run/netns/$holder" -- tcpdump -i any -nn -l arp >"$cap_node" 2>&1 {LOCK_FD}>&- &
	tpid_node=$!
	timeout 20 tcpdump -i "$link" -nn -e -l arp >"$cap_link" 2>&1 {LOCK_FD}>&- &
	tpid_link=$!
	for ((i = 0; i < 40; i++)); do
		grep -q 'listening on' "$cap_node" && grep -q 'listening on' "$cap_link" && break
		sleep 0.1
	done
	forget_arp "$SVC_IP_2"
	show "root@$holder:/# " 'tcpdump -i any arp &'
	neighbor_curl 1 "$SVC_IP_2"
	local curl_ok=$?
	sleep 0.5
	kill -INT "$tpid_node" "$tpid_link" 2>/dev/null || true
	wait "$tpid_node" "$tpid_link" 2>/dev/null || true
	show "root@$holder:/# " 'fg; ^C  # the capture on the node'
	echo "(l2lb answers ARP in XDP, before the node's own packet taps: the neighbor's request and"
	echo " its reply show on $holder's net0 link, below)"
	grep -v 'listening on\|verbose output' "$cap_node" || true
	show 'root@server:~# ' "tcpdump -i $link -nn -e arp  # $holder's net0 link"
	grep -v 'listening on\|verbose output' "$cap_link" || true
	grep -q "Request who-has $SVC_IP_2 tell" "$cap_link" ||
		fail "no ARP request for $SVC_IP_2 seen on $holder's net0" || return
	# the answer to the neighbor's request is unicast to it (gratuitous ARP
	# after a takeover is broadcast and does not count)
	grep -q "$mac > $(net0_mac "$NEIGHBOR"), .*Reply $SVC_IP_2 is-at $mac" "$cap_link" ||
		fail "no ARP reply '$SVC_IP_2 is-at $mac' from $holder to the neighbor on $holder's net0$(
			grep -q "Reply $SVC_IP_2 is-at $mac" "$cap_link" && echo ' (only gratuitous ARP)')" || return
	((curl_ok == 0)) || fail "the neighbor's curl to $SVC_IP_2 got no Death Star answer" || return
	STEP_NOTE="$holder holds the lease and answered ARP for $SVC_IP_2 with $mac"
}

step_6() {
	local i ip=""
	host 'kubectl apply -f pool-blue.yaml' || fail "kubectl apply -f pool-blue.yaml failed" || return
	host "sed -i 's/loadBalancerIPs: false/loadBalancerIPs: true/' l2policy.yaml && grep loadBalancerIPs l2policy.yaml"
	host 'kubectl apply -f l2policy.yaml' || fail "re-applying l2policy.yaml failed" || return
	host 'kubectl expose deployment deathstar --name deathstar-3 --port 80 --type LoadBalancer' ||
		fail "kubectl expose failed" || return
	sleep 2
	host 'kubectl get svc deathstar-3 --show-labels'
	ip=$(q get svc deathstar-3 -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
	[[ -z $ip ]] || fail "deathstar-3 got $ip without a label matching a pool" || return
	host 'kubectl label svc deathstar-3 color=blue' || fail "kubectl label failed" || return
	for ((i = 0; i < 40; i++)); do
		ip=$(q get svc deathstar-3 -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
		[[ -n $ip ]] && break
		sleep 0.25
	done
	host 'kubectl get svc deathstar-3 --show-labels'
	[[ -n $ip ]] || fail "deathstar-3 got no LoadBalancer IP within 10s (l2lb-operator: LB-IPAM from pool-blue)" || return
	[[ $ip =~ ^12\.0\.0\.([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 128)) ||
		fail "deathstar-3 got $ip, not in $POOL_CIDR" || return
	host "SVC2_IP=\$(kubectl get svc deathstar-3 -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
echo \$SVC2_IP"
	neighbor_curl 10 "$ip" || fail "the neighbor cannot reach deathstar-3 at $ip within 10s (not announced)" || return
	STEP_NOTE="deathstar-3 got $ip from pool-blue and answers"
}

step_7() {
	local old new="" other t0 i line mac_old="" mac_new="" apid arplog t_lease="" t_arp="" t_curl="" out
	old=$(lease_holder deathstar)
	host 'kubectl -n kube-system get leases cilium-l2announce-default-deathstar -o yaml' ||
		fail "no lease cilium-l2announce-default-deathstar (l2lb-agent)" || return
	is_worker "$old" || fail "the lease holder is '$old', not a worker" || return
	for other in "${WORKERS[@]}"; do [[ $other != "$old" ]] && break; done

	arplog=$WORK/arping.txt
	: >"$arplog"
	# timestamped arping lines; timeout ends it even if this runner is killed;
	# stdbuf: arping's stdout into a pipe is flushed only when it sends the
	# next request, which would date each reply one interval late
	(timeout 90 nsenter --net="/run/netns/$NEIGHBOR" -- stdbuf -oL arping -W 0.2 "$SVC_IP" 2>&1 |
		while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$arplog") {LOCK_FD}>&- &
	apid=$!
	show 'root@neighbor:/# ' "arping $SVC_IP &"
	for ((i = 0; i < 50; i++)); do
		mac_old=$(grep -o 'bytes from [0-9a-f:]*' "$arplog" | head -n 1 | awk '{print $3}')
		[[ -n $mac_old ]] && break
		sleep 0.1
	done
	cut -d' ' -f2- "$arplog" | head -n 3
	[[ -n $mac_old ]] || {
		kill "$apid" 2>/dev/null
		fail "arping $SVC_IP gets no answer before the failover"
		return
	}
	on "$NEIGHBOR" "ip neigh show $SVC_IP"
	[[ $(node_of_mac "$mac_old") == "$old" ]] ||
		fail "ARP answers come from $mac_old ($(node_of_mac "$mac_old")), not from the holder $old" || return

	# watchers, each bounded in time even if this runner dies: the lease
	# (a watch), the neighbor's curl, and arping (above)
	local leaselog=$WORK/lease.txt curllog=$WORK/curl.txt lpid cpid
	: >"$curllog"
	KUBECONFIG=$ADMIN_KUBECONFIG timeout 40 "$KUBECTL_BIN" -n kube-system get lease \
		cilium-l2announce-default-deathstar -w -o jsonpath='{.spec.holderIdentity}{"\n"}' >"$leaselog" 2>/dev/null {LOCK_FD}>&- &
	lpid=$!
	show 'root@server:~# ' "# docker kill $old: every process of the node by PID, then its links down"
	t0=$EPOCHREALTIME
	mkdir -p "$STATE/killed"
	touch "$STATE/killed/$old" # lab/lab up recreates it
	kill_node_now "$old"
	host "ip link set $(host_link "$old" net0) down; ip link set $(host_link "$old" eth0) down"
	(
		while (($(elapsed "$t0") < 30000)); do
			if out=$(nsenter --net="/run/netns/$NEIGHBOR" -- curl -sS --connect-timeout 1 --max-time 2 "http://$SVC_IP/v1/" 2>&1) &&
				is_deathstar "$out"; then
				echo "$EPOCHREALTIME" >"$curllog"
				break
			fi
			sleep 0.1
		done
	) {LOCK_FD}>&- &
	cpid=$!
	while (($(elapsed "$t0") < 30000)); do
		if [[ -z $t_lease ]]; then
			new=$(grep -v -x -e "$old" -e '' "$leaselog" | head -n 1 || true)
			[[ -n $new ]] && t_lease=$(elapsed "$t0")
		fi
		if [[ -z $t_arp ]]; then
			line=$(grep 'bytes from' "$arplog" | grep -v "$mac_old" | head -n 1 || true)
			if [[ -n $line ]]; then
				mac_new=$(grep -o 'bytes from [0-9a-f:]*' <<<"$line" | awk '{print $3}')
				t_arp=$(elapsed_between "$t0" "${line%% *}")
			fi
		fi
		[[ -z $t_curl && -s $curllog ]] && t_curl=$(elapsed_between "$t0" "$(cat "$curllog")")
		[[ -n $t_lease && -n $t_arp && -n $t_curl ]] && break
		sleep 0.05
	done
	kill "$lpid" "$cpid" 2>/dev/null || true
	wait "$lpid" "$cpid" 2>/dev/null || true
	kill "$apid" 2>/dev/null || true
	wait "$apid" 2>/dev/null || true
	show 'root@neighbor:/# ' "# arping $SVC_IP, around the failover"
	# the last old-MAC answers, the timeouts, the first new-MAC answers
	cut -d' ' -f2- "$arplog" | awk -v old="$mac_old" '
		{ l[NR] = $0 }
		index($0, "bytes from") && index($0, old) { last_old = NR }
		index($0, "bytes from") && !index($0, old) && !first_new { first_new = NR }
		END {
			from = last_old > 2 ? last_old - 2 : 1
			to = first_new ? first_new + 2 : NR
			if (to > NR) to = NR
			for (i = from; i <= to; i++) print l[i]
		}'
	host "kubectl -n kube-system get leases cilium-l2announce-default-deathstar -o jsonpath='{.spec.holderIdentity}'; echo"
	# the dead node's pod stays an endpoint until the node is NotReady (16s):
	# kube-proxy may send a request there meanwhile, so the curl is retried
	neighbor_curl 30 "$SVC_IP" >/dev/null
	show 'root@neighbor:/# ' "curl --connect-timeout 1 http://$SVC_IP/v1/ | grep hostname"
	grep hostname <<<"$OUT" || printf '%s\n' "$OUT"
	printf 'failover of %s: lease moved %ss, arping new MAC %ss, first successful curl %ss (after the kill)\n' \
		"$SVC_IP" "${t_lease:+$(ms "$t_lease")}" "${t_arp:+$(ms "$t_arp")}" "${t_curl:+$(ms "$t_curl")}"
	printf 'lease=%s arp=%s curl=%s old=%s new=%s\n' "${t_lease:--}" "${t_arp:--}" "${t_curl:--}" \
		"$old" "${new:--}" >"$STATE/failover.txt"
	[[ -n $t_lease ]] || fail "the lease stayed with $old for 30s after it died" || return
	[[ $new == "$other" ]] || fail "the lease moved to '$new', expected $other" || return
	[[ -n $t_arp ]] || fail "arping saw no new MAC within 30s" || return
	[[ $mac_new == "$(net0_mac "$other")" ]] || fail "the new MAC $mac_new is not $other's net0" || return
	[[ -n $t_curl ]] || fail "no successful curl within 30s after the kill" || return
	STEP_NOTE="$old → $other: lease $(ms "$t_lease")s, ARP $(ms "$t_arp")s, curl $(ms "$t_curl")s"
}

elapsed_between() { # T0 T1 (EPOCHREALTIME values) -> ms
	local t0=${1:?start time} t1=${2:?end time}
	echo $(((${t1/./} - ${t0/./}) / 1000))
}

step_8() {
	# config view asks an agent over its status socket, as the seed asks a
	# cilium pod: a worker whose agent answers (step 7 killed one of them).
	# Pods (the default): in the agent's pod, as the seed's
	# `kubectl -n kube-system exec ds/cilium -- cilium config view`.
	local node='' pod=''
	if [[ $L2LB_MODE == pods ]]; then
		for node in "${WORKERS[@]}" "${NODES[@]}"; do
			read -r pod < <(agent_pod "$node") || pod=
			[[ -n $pod ]] && kubectl -n kube-system exec --request-timeout=5s "$pod" -- \
				l2lb config view >/dev/null 2>&1 && break
			node='' pod=''
		done
		[[ -n $pod ]] || fail "no agent pod answers l2lb config view" || return
		host "kubectl -n kube-system exec $pod -- l2lb config view | grep l2" ||
			fail "l2lb config view in $pod failed" || return
		step_8_check "$node ($pod)"
		return
	fi
	for node in "${WORKERS[@]}" "${NODES[@]}"; do
		(cd "$WORK" && l2lb --status-socket="$STATE/$node/agent.sock" config view) >/dev/null 2>&1 && break
		node=
	done
	[[ -n $node ]] || fail "no agent answers on its status socket" || return
	host "l2lb --status-socket=$STATE/$node/agent.sock config view | grep l2" ||
		fail "l2lb config view failed" || return
	step_8_check "$node"
}

step_8_check() { # WHO: the agent's lease settings in $OUT
	local want
	for want in 'enable-l2-announcements +true' 'l2-announcements-lease-duration +3s' \
		'l2-announcements-renew-deadline +1s' 'l2-announcements-retry-period +500ms'; do
		grep -Eq "^$want\$" <<<"$OUT" || fail "missing '$want' (agent of $1)" || return
	done
	STEP_NOTE="lease duration 3s, renew deadline 1s, retry period 500ms (agent of $1)"
}

run_steps() {
	local steps=${L2LB_LAB_STEPS:-$ALL_STEPS} s failed=0 t0
	local assert=${L2LB_LAB_ASSERT:-$steps}
	local summary=()
	[[ -f $ADMIN_KUBECONFIG ]] || die "the lab is not up (lab/lab up)"
	for s in $steps; do
		[[ -n ${STEP_TITLES[$s]:-} ]] || die "no step $s (steps: $ALL_STEPS)"
	done
	local node
	for node in "${NODES[@]}"; do
		pidfile_alive "$NODE_DIRS/$node/pids/kubelet.pid" >/dev/null ||
			die "node $node is down (after step 7?): run lab/lab up to bring it back"
	done
	KUBECTL_BIN=$(kube_bin)/kubectl
	steps_reset
	mkdir -p "$STATE/steps"
	rm -f "$STATE/steps"/*
	for s in $steps; do
		printf '\n%s== step %s: %s%s\n' "$B" "$s" "${STEP_TITLES[$s]}" "$N"
		STEP_WHY="" STEP_NOTE=""
		t0=$SECONDS
		if "step_$s"; then
			summary+=("$(printf '%sstep %s ok%s      %s' "$G" "$s" "$N" "${STEP_NOTE:-${STEP_TITLES[$s]}}")")
			echo "ok" >"$STATE/steps/$s"
		else
			summary+=("$(printf '%sstep %s FAILED%s  %s' "$R" "$s" "$N" "${STEP_WHY:-failed}")")
			echo "failed: ${STEP_WHY:-failed}" >"$STATE/steps/$s"
			[[ " $assert " == *" $s "* ]] && failed=$((failed + 1))
		fi
		printf '%s (%ss)\n' "${summary[-1]}" $((SECONDS - t0))
	done
	printf '\n%s== summary%s%s\n' "$B" "${LAB_UP_SECONDS:+ (lab up in ${LAB_UP_SECONDS}s)}" "$N"
	printf '%s\n' "${summary[@]}"
	echo "The lab stays up: eval \"\$(lab/lab env)\"; lab/lab shell $NEIGHBOR; lab/lab down to remove it."
	((failed == 0)) || {
		log "$failed of the asserted steps ($assert) failed"
		return 1
	}
}
