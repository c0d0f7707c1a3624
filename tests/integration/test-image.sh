#!/usr/bin/env bash
# The OCI image (`make image`, scripts/image), built here and unpacked:
#   - it builds, and twice from the same sources to the same digest, the one
#     scripts/image prints;
#   - its one image is named l2lb.local/l2lb:<version> for skopeo/podman
#     (org.opencontainers.image.ref.name) and containerd (io.containerd.image.name);
#   - its configuration runs a non-root user (the operator's), present in its
#     /etc/passwd, also in the runtime bundle umoci makes from it;
#   - it holds exactly the four programs, /etc/passwd, /etc/group and the
#     libraries the image's own dynamic loader maps for the programs (with the
#     symbolic links to them): no shell, no package manager, nothing else;
#   - each program starts inside it (chroot, empty environment: only the
#     image's libraries), the operator as the image's user;
#   - its compressed size is under 40 MB;
#   - deploy/ renders ghcr.io/l2lb/l2lb:<version>, deploy/overlays/lab
#     l2lb.local/l2lb:<version> never pulled, in every container.
# Self-test: the same checks on a copy without one library, and on a copy
# with a /bin/sh, must fail.
# With L2LB_IMAGE_ARCHIVE=FILE it checks that OCI archive instead of
# building one (the Containerfile's image: docs/install.md).
# Usage: test-image.sh SOURCE-ROOT VERSION (needs root: chroot, umoci unpack)
set -uo pipefail

top=${1:?usage: test-image.sh SOURCE-ROOT VERSION}
version=${2:?usage: test-image.sh SOURCE-ROOT VERSION}
if [[ $(id -u) -ne 0 ]]; then
	echo "SKIP: needs root (chroot into the image, umoci unpack)"
	exit 77
fi
# shellcheck source=tests/integration/checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"

# the programs of the image (scripts/image-rootfs) and what each prints
image_programs=(l2lb-operator l2lb-agent l2lb l2lb-mount-bpffs)
limit=40000000 # bytes, compressed: config and layers
name=l2lb.local/l2lb:$version

chroot=$(command -v chroot) || die "chroot (coreutils) missing"
work=$(mktemp -d /tmp/l2lb-image-test-XXXXXX)
trap 'rm -rf "$work"' EXIT

summary() {
	echo "test-image: $passed passed, $failed failed"
	[[ $failed -eq 0 ]]
}

# ---- build, twice ----
build() { # OUT: the archive; scripts/image's report in $work/OUT.report
	"$top/scripts/image" --out "$work/$1" >"$work/$1.report" 2>"$work/$1.log"
}
annotations=(org.opencontainers.image.ref.name io.containerd.image.name)
if [[ -n ${L2LB_IMAGE_ARCHIVE:-} ]]; then
	# an archive made elsewhere (the Containerfile's image, copied with
	# `skopeo copy containers-storage:... oci-archive:FILE:NAME`): the same
	# checks but the build's own and the containerd name, which skopeo
	# does not write
	archive=$(readlink -f "$L2LB_IMAGE_ARCHIVE")
	annotations=(org.opencontainers.image.ref.name)
	echo "# checking $archive, not building"
else
	start=$SECONDS
	if ! build a.oci.tar; then
		fail "scripts/image builds the image" "$(tail -n 30 "$work/a.oci.tar.log")"
		summary
		exit
	fi
	ok "scripts/image builds the image ($((SECONDS - start)) s)"
	cat "$work/a.oci.tar.report"
	archive=$work/a.oci.tar
	digest=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$archive" 2>&1)
	check "skopeo reads the archive; scripts/image printed its digest ($digest)" \
		grep -qxE "digest: +$digest" "$work/a.oci.tar.report"
	if build b.oci.tar; then
		digest2=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$work/b.oci.tar" 2>&1)
		check "a second build gives the same digest ($digest2)" [ "$digest2" = "$digest" ]
	else
		fail "scripts/image builds the image a second time" "$(tail -n 30 "$work/b.oci.tar.log")"
	fi
fi

# ---- name ----
index=$(tar -xOf "$archive" index.json)
check "the archive holds one image" [ "$(jq '.manifests | length' <<<"$index")" = 1 ]
for a in "${annotations[@]}"; do
	got=$(jq -r --arg a "$a" '.manifests[0].annotations[$a]' <<<"$index")
	check "annotation $a is $name (got $got)" [ "$got" = "$name" ]
done

# ---- size ----
size=$(skopeo inspect --raw "oci-archive:$archive" | jq '[.config.size] + [.layers[].size] | add')
check "compressed size $size bytes is under $limit" [ "${size:-$limit}" -lt "$limit" ]

# ---- configuration ----
config=$(skopeo inspect --config "oci-archive:$archive")
user=$(jq -r '.config.User // ""' <<<"$config")
uid=${user%%:*}
nonroot() { [[ $1 =~ ^[0-9]+$ && $1 != 0 ]]; }
check "the configuration's user ($user) is numeric and not root" nonroot "$uid"
check "the configuration's PATH is /usr/bin" \
	grep -qx PATH=/usr/bin < <(jq -r '.config.Env[]' <<<"$config")

# ---- unpacked ----
if ! skopeo copy --quiet "oci-archive:$archive" "oci:$work/layout:test" >"$work/copy.log" 2>&1 ||
	! umoci unpack --image "$work/layout:test" "$work/bundle" >"$work/unpack.log" 2>&1; then
	fail "skopeo and umoci unpack the image" "$(cat "$work/copy.log" "$work/unpack.log")"
	summary
	exit
fi
ok "skopeo and umoci unpack the image"
rootfs=$work/bundle/rootfs
check "the runtime bundle runs uid $uid (umoci's config.json)" \
	[ "$(jq -r .process.user.uid "$work/bundle/config.json")" = "$uid" ]
check "/etc/passwd of the image names uid $uid" \
	grep -qE "^[a-z]+:x:$uid:" "$rootfs/etc/passwd"

# expected_files ROOTFS PATH...: every entry of ROOTFS that PATHs (absolute,
# inside the image) pass through: their directories, each symbolic link on
# the way (followed inside ROOTFS, absolute targets too), the files
expected_files() {
	python3 - "$@" <<'PY'
import os, sys
root = sys.argv[1]
seen = set()
def walk(path, depth=0):
    if depth > 40:
        sys.exit("symbolic link loop at " + path)
    parts = [p for p in path.split("/") if p]
    cur = ""
    for i, c in enumerate(parts):
        cur += "/" + c
        seen.add(cur)
        host = root + cur
        if os.path.islink(host):
            t = os.readlink(host)
            nxt = t if t.startswith("/") else os.path.join(os.path.dirname(cur), t)
            rest = "/".join(parts[i + 1:])
            walk(os.path.normpath(nxt + ("/" + rest if rest else "")), depth + 1)
            return
for p in sys.argv[2:]:
    walk(p)
print("\n".join(sorted(seen)))
PY
}

# check_rootfs ROOTFS: 0 if ROOTFS is what the image must be; else 1, the
# problems on stdout
check_rootfs() {
	local r=$1 p interp list out want rc=0
	local -a paths=(/etc/passwd /etc/group)
	for p in "${image_programs[@]}"; do
		paths+=("/usr/bin/$p")
		if [[ ! -f $r/usr/bin/$p ]]; then
			echo "/usr/bin/$p missing"
			rc=1
			continue
		fi
		interp=$(readelf -l "$r/usr/bin/$p" | sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
		if [[ -z $interp ]]; then
			echo "/usr/bin/$p: no program interpreter (not dynamically linked?)"
			rc=1
			continue
		fi
		paths+=("$interp")
		# the image's own loader, inside the image: what it maps there
		if ! list=$(env -i "$chroot" "$r" "$interp" --list "/usr/bin/$p" 2>&1) ||
			[[ $list == *"not found"* ]]; then
			echo "the loader in the image cannot resolve /usr/bin/$p:"
			printf '%s\n' "$list" | grep -v '=> /' | sed 's/^/  /'
			rc=1
		fi
		mapfile -t -O "${#paths[@]}" paths < <(sed -nE 's/.*=> (\/[^ ]+) \(.*/\1/p' <<<"$list")
	done

	for p in "${image_programs[@]}"; do
		case $p in
		l2lb-mount-bpffs) want="Usage: l2lb-mount-bpffs" && set -- --help ;;
		*) want="$p version $version " && set -- --version ;;
		esac
		# the operator as the image's user, the others as root (deploy/)
		local spec=0:0
		[[ $p == l2lb-operator ]] && spec=$user
		if ! out=$(env -i PATH=/usr/bin "$chroot" --userspec="$spec" "$r" "/usr/bin/$p" "$@" 2>&1) ||
			[[ $out != *"$want"* ]]; then
			echo "/usr/bin/$p $* as $spec in the image: $out"
			rc=1
		fi
	done

	for p in /bin/sh /usr/bin/sh /bin/bash /usr/bin/bash /bin/busybox; do
		if [[ -e $r$p || -L $r$p ]]; then
			echo "a shell: $p"
			rc=1
		fi
	done
	out=$(find "$r" \( -name 'apt*' -o -name 'dpkg*' -o -name '*sh' -o -name busybox \) -printf '/%P\n')
	if [[ -n $out ]]; then
		echo "a shell or package manager: $out"
		rc=1
	fi

	# exactly those files
	if ! diff -u <(expected_files "$r" "${paths[@]}") <(find "$r" -mindepth 1 -printf '/%P\n' | sort) \
		>"$work/files.diff"; then
		echo "files besides the programs, /etc/passwd, /etc/group and their libraries (+), or missing (-):"
		grep -E '^[-+]/' "$work/files.diff" | sed 's/^/  /'
		rc=1
	fi
	return $rc
}

if out=$(check_rootfs "$rootfs"); then
	ok "the image holds exactly the programs, /etc/passwd, /etc/group and their libraries; each starts in it"
else
	fail "the image holds exactly the programs and their libraries; each starts in it" "$out"
fi
nfiles=$(find "$rootfs" -type f | wc -l)
nlibs=$(find "$rootfs" -type f -name '*.so*' | wc -l)
echo "# $nfiles files: ${#image_programs[@]} programs, $nlibs libraries, /etc/passwd, /etc/group;" \
	"$(du -sh "$rootfs" | cut -f1) unpacked"

# ---- deploy/: the image the manifests run ----
# images RENDERED: "image pullPolicy" of every container, sorted, unique
images() { awk '$1 == "image:" {i = $2} $1 == "imagePullPolicy:" {print i, $2}' "$1" | sort -u; }
kubectl=${KUBECTL:-kubectl}
for o in "deploy ghcr.io/l2lb/l2lb IfNotPresent" "deploy/overlays/lab l2lb.local/l2lb Never"; do
	read -r dir iname policy <<<"$o"
	if "$kubectl" kustomize "$top/$dir" >"$work/rendered.yaml" 2>"$work/rendered.err"; then
		got=$(images "$work/rendered.yaml")
		check "$dir runs $iname:$version ($policy) in each container (got: ${got//$'\n'/, })" \
			[ "$got" = "$iname:$version $policy" ]
	else
		fail "kubectl kustomize $dir" "$(cat "$work/rendered.err")"
	fi
done

# ---- self-test: the checks catch a missing library and a shell ----
# self_test WHAT PATTERN COMMAND...: on a copy of the image ($copy) changed
# by COMMAND, check_rootfs must fail with a line matching PATTERN
self_test() {
	local what=$1 pattern=$2 out
	shift 2
	copy=$work/copy
	rm -rf "$copy" && cp -a "$rootfs" "$copy" && "$@"
	if out=$(check_rootfs "$copy"); then
		fail "self-test: $what: the checks fail"
	elif grep -q -- "$pattern" <<<"$out"; then
		ok "self-test: $what: the checks fail, naming it"
	else
		fail "self-test: $what: the checks fail, naming it" "$out"
	fi
	rm -rf "$copy"
}
lib=$(readlink -f "$rootfs/usr/lib/x86_64-linux-gnu/libjansson.so.4")
lib=${lib#"$rootfs"}
drop_lib() { rm -f "$copy$lib"; }
add_shell() { cp "$rootfs/usr/bin/l2lb" "$copy/usr/bin/sh"; }
self_test "without $lib" "libjansson.so.4: cannot open shared object file" drop_lib
self_test "with a /usr/bin/sh" "^ *+/usr/bin/sh$" add_shell

summary
