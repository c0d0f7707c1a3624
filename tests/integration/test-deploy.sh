#!/usr/bin/env bash
# deploy/ against a real kube-apiserver, and l2lb's programs run exactly as
# the manifests run them:
#   - the manifests render with kubectl's built-in kustomize: no wildcard in
#     any RBAC rule, the base is namespace-agnostic (an overlay moves every
#     namespaced object and the bindings' subjects); deploy/ installs into
#     l2lb-system (and creates it), the seed overlay into kube-system
#   - `kubectl apply -k deploy/` and `-k deploy/overlays/seed` pass server-side
#     validation (--dry-run=server), then really apply, and apply again unchanged
#   - every key of the ConfigMap l2lb-config (base and seed overlay, mounted as
#     the kubelet mounts it) and every flag of the manifests is accepted by
#     both programs: they get past configuration and stop at the (bad)
#     kubeconfig; a bogus key is refused (the check can fail)
#   - docs/configuration.md's key table matches the programs (scripts/config-doc)
#   - RBAC is sufficient: the operator, with only its ServiceAccount's rights,
#     leads, assigns an IP, writes Service and pool status and Events; the
#     agent, with only its rights and only the DaemonSet's capabilities, in a
#     node's network namespace, writes its Lease, the policy status and Events,
#     answers ARP for the IP, and after a restart still does (re-adopting the
#     attached responder: its pinned BPF link, without CAP_SYS_ADMIN)
#   - RBAC is minimal: forbidden reads and writes are denied (no update of
#     any status, no Lease outside l2lb-system, the control plane's included)
#   - the agent's metrics and health answer on the node's address, not on
#     the announced segment; an external IP outside
#     l2-announcements-external-ips-cidrs is not announced, and the policy's
#     condition says so
# It starts its own control plane on a veth address (the node's namespace must
# reach it), so it leaves the shared instance alone.
# Env: KUBECTL, L2LB_TESTENV, L2LB_BUILD, L2LB_TOP (KUBECONFIG is replaced).
# Not set -e: a failed check is counted (checks.sh) and the next one runs.
set -uo pipefail

NE_TAG=dpl
NE_NAMESPACE=l2lb-system # deploy/'s; the seed overlay's is kube-system
# shellcheck source=tests/integration/nodeenv.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/nodeenv.sh"
trap ne_cleanup EXIT
trap 'exit 130' INT TERM

deploy=$L2LB_TOP/deploy
ns=dpltest-$NE_ID

# ---- rendering (no cluster needed) ----
k kustomize "$deploy" >"$NE_WORK/all.yaml" || die "kubectl kustomize deploy/ failed"
k kustomize "$deploy/overlays/seed" >"$NE_WORK/seed.yaml" || die "kubectl kustomize deploy/overlays/seed failed"
kinds() { grep '^kind:' "$1" | sort | uniq -c | awk '{printf "%s%s×%s", (NR>1?" ":""), $3, $1}'; }
check "deploy/ renders the Namespace, CRDs, ServiceAccounts, RBAC, ConfigMap, Deployment, DaemonSet" \
	test "$(kinds "$NE_WORK/all.yaml")" = "ClusterRole×2 ClusterRoleBinding×2 ConfigMap×1 CustomResourceDefinition×2 DaemonSet×1 Deployment×1 Namespace×1 Role×2 RoleBinding×2 ServiceAccount×2"
check "the seed overlay renders the same objects but the Namespace (kube-system)" \
	test "$(kinds "$NE_WORK/seed.yaml")" = "$(kinds "$NE_WORK/all.yaml" | sed 's/ Namespace×1//')"
# 9 namespaced objects and 4 binding subjects each
nscount() { grep -c "^  namespace: $2\$" "$1"; }
check "deploy/ puts everything in l2lb-system, the seed overlay in kube-system" \
	bash -c "[[ $(nscount "$NE_WORK/all.yaml" l2lb-system) -eq 13 && $(nscount "$NE_WORK/seed.yaml" kube-system) -eq 13 ]] && ! grep -q kube-system '$NE_WORK/all.yaml' && ! grep -q l2lb-system '$NE_WORK/seed.yaml'"
check "the init container's command is installed by the build" test -x "$L2LB_BUILD/l2lb-mount-bpffs"
# A container gets a fresh sysfs whose /sys/fs/bpf is empty: runc cannot
# create a mount point under it (/sys/fs/bpf/l2lb: "no such file or
# directory", the pod never starts). Only the init container mounts there, at
# /sys/fs/bpf itself; the agent's bpffs directory is elsewhere and bpf-root
# (the ConfigMap) names it. Every rendering: deploy/ and both overlays.
k kustomize "$deploy/overlays/lab" >"$NE_WORK/lab.yaml" || die "kubectl kustomize deploy/overlays/lab failed"
bpf_mounts_ok() { # RENDERED.yaml
	local sys root
	sys=$(grep -E '^ *(- )?mountPath: /sys(/|$)' "$1" | sed 's/.*mountPath: //' | tr '\n' ' ')
	root=$(grep -E '^  bpf-root: ' "$1" | sed 's/^  bpf-root: //; s/"//g')
	[[ $sys == "/sys/fs/bpf " && -n $root ]] && grep -qE "^ *(- )?mountPath: $root\$" "$1" && return 0
	echo "     $1: mounts under /sys: '$sys'; bpf-root '$root' (must be the agent's bpffs mount)"
	return 1
}
bpf_mounts_ok_all() { bpf_mounts_ok "$NE_WORK/all.yaml" && bpf_mounts_ok "$NE_WORK/seed.yaml" && bpf_mounts_ok "$NE_WORK/lab.yaml"; }
check "no volumeMount under /sys/fs/bpf/ (only the init container's /sys/fs/bpf); bpf-root is the agent's bpffs mount (deploy/, seed, lab)" \
	bpf_mounts_ok_all
# every rule's apiGroups, resources and verbs are explicit lists without "*"
k kustomize "$deploy/base" >"$NE_WORK/rbac.yaml" || die "kubectl kustomize deploy/base failed"
check "deploy/base holds the ServiceAccounts and RBAC" \
	test "$(kinds "$NE_WORK/rbac.yaml")" = "ClusterRole×2 ClusterRoleBinding×2 Role×2 RoleBinding×2 ServiceAccount×2"
no_wildcard() { ! grep -nE "^ *- ['\"]?\*|\[.*\*.*\]" "$NE_WORK/rbac.yaml"; }
check "no wildcard in any RBAC rule" no_wildcard
mkdir -p "$NE_WORK/nsoverlay"
# (kustomize v2 wants relative paths)
cat >"$NE_WORK/nsoverlay/kustomization.yaml" <<EOF
namespace: l2lb-elsewhere
bases:
  - $(realpath --relative-to="$NE_WORK/nsoverlay" "$deploy/workloads")
EOF
k kustomize "$NE_WORK/nsoverlay" >"$NE_WORK/elsewhere.yaml" 2>&1
# 9 namespaced objects and 4 binding subjects, nothing left in l2lb-system
check "an overlay moves every namespaced object, and the bindings' subjects, to its namespace" \
	bash -c "[[ \$(grep -c '^  namespace: l2lb-elsewhere\$' '$NE_WORK/elsewhere.yaml') -eq 13 ]] && ! grep -q 'l2lb-system' '$NE_WORK/elsewhere.yaml'"

# kustomize v5 (kubectl >= 1.27) moves a binding's subject along with its
# ServiceAccount only when the subject names the account's namespace before
# any kustomization set one ("default"); v2 (kubectl 1.20) moves it either
# way. Render with the machine's own kubectl too when it is another one.
newk=$(command -v kubectl || true)
if [[ -n $newk && $(readlink -f "$newk") != "$(readlink -f "$KUBECTL")" ]]; then
	newv=$("$newk" version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p')
	"$newk" kustomize "$deploy" >"$NE_WORK/all-new.yaml" 2>/dev/null
	"$newk" kustomize "$deploy/overlays/seed" >"$NE_WORK/seed-new.yaml" 2>/dev/null
	check "kustomize ${newv:-of $newk} also puts everything, binding subjects included, in l2lb-system (the seed overlay in kube-system)" \
		bash -c "[[ $(nscount "$NE_WORK/all-new.yaml" l2lb-system) -eq 13 && $(nscount "$NE_WORK/seed-new.yaml" kube-system) -eq 13 ]] && ! grep -q kube-system '$NE_WORK/all-new.yaml'"
else
	echo "     (no other kubectl on PATH: rendered with $KUBECTL only)"
fi

# ---- a control plane reachable from the node ----
ne_net_up || die "cannot create the network namespaces"
ne_testenv_up || die "cannot start kube-testenv instance $NE_INSTANCE on $NE_API_ADDR"
echo "     control plane $NE_INSTANCE on $NE_API_ADDR, node namespace $NE_NODE"

# ---- apply ----
# (a server-side dry run creates no Namespace, and the objects in it need one)
k create namespace l2lb-system >/dev/null
check "kubectl apply -k deploy/ --dry-run=server" \
	bash -c "'$KUBECTL' apply -k '$deploy' --dry-run=server >'$NE_WORK/dry.out' 2>&1"
check "kubectl apply -k deploy/overlays/seed --dry-run=server" \
	bash -c "'$KUBECTL' apply -k '$deploy/overlays/seed' --dry-run=server >>'$NE_WORK/dry.out' 2>&1"
grep -iE 'error|invalid' "$NE_WORK/dry.out" | head -5
check "the API server validates (a Bidirectional mount in the agent container is refused)" \
	bash -c "sed 's/mountPropagation: HostToContainer/mountPropagation: Bidirectional/' '$NE_WORK/all.yaml' | '$KUBECTL' apply --dry-run=server -f - 2>&1 | grep -q 'Bidirectional mount propagation is available only to privileged containers'"
check "kubectl apply -k deploy/" bash -c "'$KUBECTL' apply -k '$deploy' >'$NE_WORK/apply.out' 2>&1"
check "the applied objects exist in l2lb-system" \
	bash -c "'$KUBECTL' -n l2lb-system get serviceaccount/l2lb-operator serviceaccount/l2lb-agent configmap/l2lb-config deployment/l2lb-operator daemonset/l2lb-agent role/l2lb-operator-leader-election role/l2lb-agent-leases >/dev/null"
check "kubectl apply -k deploy/overlays/seed" bash -c "'$KUBECTL' apply -k '$deploy/overlays/seed' >'$NE_WORK/apply-seed.out' 2>&1"
check "applying the overlay again changes nothing" \
	bash -c "'$KUBECTL' apply -k '$deploy/overlays/seed' | grep -v ' unchanged\$' | wc -l | grep -qx 0"
check "the seed overlay's objects are in kube-system" \
	bash -c "'$KUBECTL' -n kube-system get serviceaccount/l2lb-agent configmap/l2lb-config deployment/l2lb-operator daemonset/l2lb-agent role/l2lb-agent-leases >/dev/null"
cm() { k -n kube-system get configmap l2lb-config -o go-template="{{index .data \"$1\"}}"; }
check "the overlay's settings: lease 3s, renew 1s, retry 500ms, devices eth0,net0, external IPs in 12.0.0.0/24" \
	test "$(cm l2-announcements-lease-duration)/$(cm l2-announcements-renew-deadline)/$(cm l2-announcements-retry-period)/$(cm devices)/$(cm enable-external-ips)/$(cm l2-announcements-external-ips-cidrs)" = "3s/1s/500ms/eth0,net0/true/12.0.0.0/24"
# the ClusterRoleBindings name one namespace's ServiceAccounts: deploy/'s again
k apply -k "$deploy" >/dev/null 2>&1
check "operator: 2 replicas, preferred anti-affinity (a single node runs both), probes on /healthz and /readyz, POD_NAME, metrics on \$(POD_IP)" \
	test "$(k -n l2lb-system get deployment l2lb-operator -o go-template='{{.spec.replicas}} {{with .spec.template.spec}}{{.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution}} {{with index .affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution 0}}{{.weight}} {{.podAffinityTerm.topologyKey}}{{end}} {{with index .containers 0}}{{.livenessProbe.httpGet.path}} {{.readinessProbe.httpGet.path}} {{(index .env 0).name}}={{(index .env 0).valueFrom.fieldRef.fieldPath}} {{range .args}}{{if eq (printf "%.24s" .) "--prometheus-serve-addr="}}{{.}}{{end}}{{end}} {{(index .env 2).name}}={{(index .env 2).valueFrom.fieldRef.fieldPath}}{{end}}{{end}}')" \
	= "2 <no value> 100 kubernetes.io/hostname /healthz /readyz POD_NAME=metadata.name --prometheus-serve-addr=\$(POD_IP):9963 POD_IP=status.podIP"
check "agent: host network, every taint tolerated, NODE_NAME from spec.nodeName; mounts config, the host's /sys/fs/bpf/l2lb only (at /run/l2lb-bpf), /run/l2lb" \
	test "$(k -n l2lb-system get daemonset l2lb-agent -o go-template='{{with .spec.template.spec}}{{.hostNetwork}} {{(index .tolerations 0).operator}} {{with index .containers 0}}{{(index .env 0).name}}={{(index .env 0).valueFrom.fieldRef.fieldPath}}{{range .volumeMounts}} {{.mountPath}}{{end}}{{end}}{{end}}')" \
	= "true Exists NODE_NAME=spec.nodeName /etc/l2lb/config /run/l2lb-bpf /run/l2lb"
# the DaemonSet's pod as applied: seccomp, the init container, bpffs, the metrics address
render_agent() {
	k -n l2lb-system get daemonset l2lb-agent -o go-template='{{with .spec.template.spec}}{{.securityContext.seccompProfile.type}} {{with index .initContainers 0}}{{range .command}}{{.}},{{end}} {{.securityContext.privileged}} {{(index .volumeMounts 0).mountPath}}:{{(index .volumeMounts 0).mountPropagation}}{{end}} {{with index .containers 0}}{{range .args}}{{.}},{{end}} {{range .env}}{{.name}}={{if .valueFrom}}{{.valueFrom.fieldRef.fieldPath}}{{else}}{{.value}}{{end}},{{end}} {{.livenessProbe.httpGet.host}}{{.readinessProbe.httpGet.host}}{{end}} {{range .volumes}}{{with .hostPath}}{{.path}}:{{.type}},{{end}}{{end}}{{end}}'
}
# shellcheck disable=SC2016 # $(POD_NAMESPACE) and $(HOST_IP) as the manifest writes them
agent_expect='RuntimeDefault l2lb-mount-bpffs,--bpffs=/sys/fs/bpf,--dir=l2lb, true /sys/fs/bpf:Bidirectional --config-dir=/etc/l2lb/config,--k8s-namespace=$(POD_NAMESPACE),--status-socket=/run/l2lb/agent.sock,--prometheus-serve-addr=$(HOST_IP):9962, NODE_NAME=spec.nodeName,POD_NAMESPACE=metadata.namespace,HOST_IP=status.hostIP, <no value><no value> /sys/fs/bpf:Directory,/sys/fs/bpf/l2lb:,/run/l2lb:DirectoryOrCreate,'
agent_rendered() {
	local got
	got=$(render_agent 2>&1)
	[[ $got == "$agent_expect" ]] || { echo "     got:  $got"; echo "     want: $agent_expect"; return 1; }
}
check "agent: seccomp RuntimeDefault, init container l2lb-mount-bpffs (no shell), metrics on \$(HOST_IP) (probes there too), the host's bpffs only in the init container" \
	agent_rendered


# ---- every key and flag is accepted ----
printf 'apiVersion: v1\nkind: Config\nclusters: []\n' >"$NE_WORK/bad.kubeconfig"
# accepts PROGRAM CONFIGDIR [ARGS...]: the manifest's args and this config
# directory get the program past configuration (exit 2 and a message naming
# the key otherwise) to the kubeconfig, where it stops (exit 1)
accepts() {
	local prog=${1:?program} dir=${2:?config dir} args=() a kind rc
	shift 2
	[[ $prog == l2lb-operator ]] && kind=deployment || kind=daemonset
	while IFS= read -r a; do
		[[ $a == --config-dir=* ]] && a=--config-dir=$dir
		args+=("$a")
	done < <(ne_manifest_args "$kind" "$prog")
	POD_NAME=validate NODE_NAME=validate "$L2LB_BUILD/$prog" "${args[@]}" \
		--kubeconfig="$NE_WORK/bad.kubeconfig" "$@" >"$NE_WORK/validate.out" 2>&1
	rc=$?
	if [[ $rc -eq 1 ]] && grep -q 'msg="cannot load Kubernetes client configuration"' "$NE_WORK/validate.out"; then
		return 0
	fi
	echo "     $prog exited $rc:"
	sed 's/^/       /' "$NE_WORK/validate.out" | head -5
	return 1
}
# the agent loads its responder before connecting: its own bpffs directory
agent_paths=(--bpf-root="$NE_BPF/validate" --status-socket="$NE_WORK/validate.sock")
NE_NAMESPACE=kube-system ne_configmap_dir "$NE_WORK/config-seed" || die "cannot read the seed ConfigMap"
ne_configmap_dir "$NE_WORK/config-base" || die "cannot read the ConfigMap"
check "the base ConfigMap has Cilium's keys, and the external IPs' allow-list (empty)" \
	bash -c "cd '$NE_WORK/config-base' && ls enable-l2-announcements l2-announcements-lease-duration l2-announcements-renew-deadline l2-announcements-retry-period devices enable-external-ips k8s-client-qps k8s-client-burst default-lb-service-ipam enable-lb-ipam enable-ipv4 enable-ipv6 >/dev/null && [[ -f l2-announcements-external-ips-cidrs && ! -s l2-announcements-external-ips-cidrs ]]"
check "l2lb-operator accepts the base ConfigMap and its Deployment's flags" accepts l2lb-operator "$NE_WORK/config-base"
check "l2lb-operator accepts the seed overlay's ConfigMap" accepts l2lb-operator "$NE_WORK/config-seed"
check "l2lb-agent accepts the base ConfigMap and its DaemonSet's flags" accepts l2lb-agent "$NE_WORK/config-base" "${agent_paths[@]}"
check "l2lb-agent accepts the seed overlay's ConfigMap" accepts l2lb-agent "$NE_WORK/config-seed" "${agent_paths[@]}"
rm -rf "${NE_BPF:?}/validate"
cp -a "$NE_WORK/config-base" "$NE_WORK/config-bogus"
echo 1 >"$NE_WORK/config-bogus/l2-announcement-lease-duration" # sic: a typo
check "a misspelt key is refused, by name (exit 2)" \
	bash -c "'$L2LB_BUILD/l2lb-operator' --config-dir='$NE_WORK/config-bogus' --kubeconfig='$NE_WORK/bad.kubeconfig' 2>&1 | grep -q 'unknown configuration key \"l2-announcement-lease-duration\"'; [[ \${PIPESTATUS[0]} -eq 2 ]]"
check "docs/configuration.md lists every key, type and default as the programs' --help does" \
	env L2LB_BUILD="$L2LB_BUILD" "$L2LB_TOP/scripts/config-doc" --check "$L2LB_TOP/docs/configuration.md"
# the rest: deploy/'s objects and identities in l2lb-system, the seed's
# ConfigMap (its timings; external IPs allowed in 12.0.0.0/24 only)

# ---- identities: exactly the ServiceAccounts' rights ----
ne_identity l2lb-operator "$NE_WORK/operator.kubeconfig" || die "cannot mint the operator's identity"
ne_identity l2lb-agent "$NE_WORK/agent.kubeconfig" || die "cannot mint the agent's identity"
as_op() { KUBECONFIG=$NE_WORK/operator.kubeconfig "$KUBECTL" "$@"; }
as_agent() { KUBECONFIG=$NE_WORK/agent.kubeconfig "$KUBECTL" "$@"; }
can() { [[ $("$@" 2>/dev/null) == yes ]]; }
cannot() { [[ $("$@" 2>/dev/null) == no ]]; }
forbidden() { # COMMAND...: the API server answers 403
	local out
	out=$("$@" 2>&1)
	[[ $out == *"(Forbidden)"* ]] || { echo "     not forbidden: $out" | head -3; return 1; }
}

# ---- the operator works with its role ----
k create namespace "$ns" >/dev/null
cat <<EOF | k apply -f - >/dev/null
apiVersion: cilium.io/v2alpha1
kind: CiliumLoadBalancerIPPool
metadata: {name: dpltest-pool}
spec:
  blocks: [{start: "$NE_SEG.100", stop: "$NE_SEG.110"}]
  serviceSelector: {matchLabels: {dpltest: "yes"}}
---
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata: {name: dpltest-policy}
spec:
  serviceSelector: {matchLabels: {dpltest: "yes"}}
  interfaces: ["^net0\$"]
  loadBalancerIPs: true
---
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata: {name: dpltest-broken}
spec:
  serviceSelector: {matchLabels: {nothing: here}}
  interfaces: ["(["]
  externalIPs: true
---
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata: {name: dpltest-ext}
spec:
  serviceSelector: {matchLabels: {dpltest-ext: "yes"}}
  interfaces: ["^net0\$"]
  externalIPs: true
EOF
cat <<EOF | k -n "$ns" apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: web, labels: {dpltest: "yes"}}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, labels: {dpltest-ext: "yes"}}
spec: {type: ClusterIP, selector: {app: ext}, ports: [{port: 80}], externalIPs: ["$NE_SEG.50"]}
EOF
ne_start_operator l2lb-operator-test-0 "$NE_WORK/config-seed"
svc_ip() { k -n "$ns" get svc web -o jsonpath='{.status.loadBalancer.ingress[0].ip}'; }
check "operator: leads (Lease l2lb-operator-resource-lock, holder = POD_NAME)" \
	wait_for 20 bash -c "[[ \$('$KUBECTL' -n l2lb-system get lease l2lb-operator-resource-lock -o jsonpath='{.spec.holderIdentity}') == l2lb-operator-test-0 ]]"
check "operator: assigns the Service an IP from the pool (services/status)" \
	wait_for 20 bash -c "[[ \$('$KUBECTL' -n $ns get svc web -o jsonpath='{.status.loadBalancer.ingress[0].ip}') == $NE_SEG.100 ]]"
check "operator: writes the pool's status (IPsUsed = 1)" \
	wait_for 10 bash -c "[[ \$('$KUBECTL' get ippool dpltest-pool -o jsonpath='{.status.conditions[?(@.type==\"cilium.io/IPsUsed\")].message}') == 1 ]]"
check "operator: records an Event (IPAllocated)" \
	wait_for 10 bash -c "'$KUBECTL' -n $ns get events --field-selector involvedObject.name=web -o jsonpath='{.items[*].reason}' | grep -q IPAllocated"
op_port=$(ne_port l2lb-operator-test-0)
check "operator: /healthz and /readyz answer 200" \
	bash -c "curl -fsS http://127.0.0.1:$op_port/healthz >/dev/null && curl -fsS http://127.0.0.1:$op_port/readyz >/dev/null"

# ---- the agent works with its role and capabilities ----
ne_create_node || die "cannot create Node $NE_NODE"
# the checks below read the Service's own Lease (lease-per-service)
ne_start_agent l2lb-agent "$NE_WORK/config-seed" --l2-announcements-election=lease-per-service
lease=cilium-l2announce-$ns-web
holder() { k -n l2lb-system get lease "$lease" -o jsonpath='{.spec.holderIdentity}'; }
echo "     agent capabilities: $(ne_manifest_caps) $(ne_manifest_nnp)"
check "agent: acquires the Service's Lease in its namespace" \
	wait_for 20 bash -c "[[ \$('$KUBECTL' -n l2lb-system get lease $lease -o jsonpath='{.spec.holderIdentity}') == $NE_NODE ]]"
check "agent: writes the broken policy's status (io.cilium/bad-interface-regex)" \
	wait_for 15 bash -c "[[ \$('$KUBECTL' get l2announcement dpltest-broken -o jsonpath='{.status.conditions[?(@.type==\"io.cilium/bad-interface-regex\")].status}') == True ]]"
check "agent: records an Event (L2AnnouncementStarted)" \
	wait_for 10 bash -c "'$KUBECTL' -n $ns get events --field-selector involvedObject.name=web -o jsonpath='{.items[*].reason}' | grep -q L2AnnouncementStarted"
check "agent: /readyz answers 200 (caches synced, responder attached to eth0 and net0)" \
	wait_for 10 ne_http "http://$NE_NODE_ADDR:9962/readyz"
net0_mac=$(ne_mac "$NE_NODE" net0)
arp_ok() { [[ $(in_client arping -c 2 -C 1 -w 3 -i c0 "$NE_SEG.100" 2>/dev/null) == *"from $net0_mac "* ]]; }
check "agent: the client's ARP request for $NE_SEG.100 is answered with net0's MAC" wait_for 10 arp_ok
metrics_local() {
	ne_http "http://$NE_NODE_ADDR:9962/healthz" >/dev/null &&
		! in_client curl -sS --max-time 2 "http://$NE_SEG.1:9962/healthz" >/dev/null 2>&1
}
check "agent: metrics and health answer on the node's address only, not on the announced segment ($NE_SEG.1)" \
	metrics_local
ext_cond() {
	local c='{.status.conditions[?(@.type=="l2lb.io/external-ips-not-allowed")]'
	[[ $(k get l2announcement dpltest-ext -o jsonpath="$c.status}/$c.reason}/$c.message}") == \
		"True/NotAllowed/not announced: not in l2-announcements-external-ips-cidrs: $ns/ext $NE_SEG.50" ]]
}
check "agent: an external IP outside l2-announcements-external-ips-cidrs: the policy's condition names it" \
	wait_for 15 ext_cond
ext_silent() {
	! in_client arping -c 2 -w 3 -i c0 "$NE_SEG.50" >/dev/null 2>&1 &&
		! k -n l2lb-system get lease "cilium-l2announce-$ns-ext" >/dev/null 2>&1
}
check "... and it is not announced (no ARP answer, no Lease)" ext_silent
check "l2lb status (status socket) shows the lease held" \
	bash -c "'$L2LB_BUILD/l2lb' status --status-socket='$NE_WORK/agent.sock' | grep -E '$lease' | grep -q holder"
check "l2lb bpf l2 list shows the entry" \
	bash -c "'$L2LB_BUILD/l2lb' bpf l2 list --bpf-root='$NE_BPF/l2lb' | grep -q '^$NE_SEG.100 '"
# restart with the DaemonSet's capabilities: the responder stays attached and
# must be re-adopted (its pinned BPF link; no CAP_SYS_ADMIN)
# shellcheck disable=SC2154 # ne_start_agent l2lb-agent set it (eval)
ne_stop_pid "$pid_l2lb_agent"
ne_start_agent l2lb-agent "$NE_WORK/config-seed" --l2-announcements-election=lease-per-service
check "agent restarted: re-adopts the attached responder (no permission error)" \
	wait_for 10 bash -c "grep -q 'responder already attached' '$NE_WORK/l2lb-agent.log' && ! grep -q 'Operation not permitted' '$NE_WORK/l2lb-agent.log'"
restarted_ok() { ne_http "http://$NE_NODE_ADDR:9962/readyz" >/dev/null && arp_ok && [[ $(holder) == "$NE_NODE" ]]; }
check "agent restarted: ready again, same holder, still answering" wait_for 10 restarted_ok

# ---- sufficient: every right the programs use is granted ----
may_all() { # WHO RIGHT...: `kubectl auth can-i` says yes to each
	local who=${1:?identity} r
	shift
	for r in "$@"; do
		# shellcheck disable=SC2086 # RIGHT is "VERB RESOURCE [FLAGS]": split on purpose
		can "as_$who" auth can-i $r || { echo "     $who lacks: $r"; return 1; }
	done
}
check "operator may: watch pools and Services, patch their status, create/patch Events, create and update its Lease" \
	may_all op 'get ciliumloadbalancerippools.cilium.io' 'list ciliumloadbalancerippools.cilium.io' \
	'watch ciliumloadbalancerippools.cilium.io' 'patch ciliumloadbalancerippools.cilium.io --subresource=status' \
	'get services' 'list services' 'watch services' 'patch services --subresource=status' "create events -n $ns" \
	"patch events -n $ns" 'get leases/l2lb-operator-resource-lock -n l2lb-system' \
	'update leases/l2lb-operator-resource-lock -n l2lb-system' 'create leases -n l2lb-system'
check "agent may: watch policies, Services, EndpointSlices, Nodes, its Leases; patch policy status; write its Leases; create/patch Events" \
	may_all agent 'list ciliuml2announcementpolicies.cilium.io' 'watch ciliuml2announcementpolicies.cilium.io' \
	'patch ciliuml2announcementpolicies.cilium.io --subresource=status' 'list services' 'watch services' \
	'list endpointslices.discovery.k8s.io' 'watch endpointslices.discovery.k8s.io' 'list nodes' 'watch nodes' \
	'list leases -n l2lb-system' 'watch leases -n l2lb-system' 'create leases -n l2lb-system' \
	'update leases -n l2lb-system' 'delete leases -n l2lb-system' "create events -n $ns" "patch events -n $ns"

# ---- minimal: the rest is denied, by the API server ----
check "agent may not change a Service (label)" forbidden as_agent -n "$ns" label svc web x=y
check "agent may not write a Service's status" cannot as_agent auth can-i patch services --subresource=status
check "agent may not read Secrets" forbidden as_agent -n l2lb-system get secrets
check "agent may not write Leases outside its namespace" \
	forbidden as_agent -n default create -f - <<<'{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"dpltest"},"spec":{}}'
# another component's Lease, where Cilium and the control plane keep theirs
k -n kube-system create -f - >/dev/null 2>&1 <<<'{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"dpltest-other-component"},"spec":{"holderIdentity":"x"}}'
check "agent may not touch Leases in kube-system (l2lb-system is its own)" \
	forbidden as_agent -n kube-system annotate lease dpltest-other-component x=y
no_status_update() {
	cannot as_op auth can-i update services --subresource=status &&
		cannot as_op auth can-i update ciliumloadbalancerippools.cilium.io --subresource=status &&
		cannot as_agent auth can-i update ciliuml2announcementpolicies.cilium.io --subresource=status
}
check "nobody may update a status (they PATCH)" no_status_update
check "agent may not delete pools" forbidden as_agent delete ippool dpltest-pool
check "agent may not change a policy's spec" forbidden as_agent label l2announcement dpltest-policy x=y
check "operator may not write another Lease (the agent's)" forbidden as_op -n l2lb-system annotate lease "$lease" x=y
lease_rights() {
	cannot as_op -n l2lb-system auth can-i update "leases/$lease" &&
		cannot as_op -n l2lb-system auth can-i delete leases/l2lb-operator-resource-lock
}
check "... nor update another Lease, nor delete its own" lease_rights
check "operator may not list Leases" forbidden as_op -n l2lb-system get leases
check "operator may not delete pools" forbidden as_op delete ippool dpltest-pool
check "operator may not change a Service (label)" forbidden as_op -n "$ns" label svc web x=y
check "operator may not read Secrets" forbidden as_op -n l2lb-system get secrets
check "operator may not write policies' status" cannot as_op auth can-i patch ciliuml2announcementpolicies.cilium.io --subresource=status

ne_report test-deploy
