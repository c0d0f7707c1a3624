# shellcheck shell=bash
# scripts/lib/oci.sh — an OCI image archive from a directory, with umoci and
# jq, no container engine or registry (scripts/image, scripts/image-base).
# Sourced after common.sh; bash only.

# oci_arch: this machine's architecture as OCI names it
oci_arch() {
	local a
	a=$(dpkg --print-architecture)
	case $a in
	amd64 | arm64 | s390x | riscv64) echo "$a" ;;
	ppc64el) echo ppc64le ;;
	*) die "no OCI name for the architecture $a" ;;
	esac
}

# oci_archive ROOTFS OUT REF [UMOCI-CONFIG-ARGS...]: the OCI archive OUT
# (a tar of an OCI layout) with one image, named REF (NAME:TAG) in the
# index for skopeo and podman (org.opencontainers.image.ref.name) and for
# containerd and docker (io.containerd.image.name); one layer: ROOTFS with
# sorted names, owner root, every time SOURCE_DATE_EPOCH (default 0), so
# that the same input gives the same digest. The arguments after REF go to
# `umoci config` (--config.user, --config.env, ...). Prints the manifest's
# digest and the compressed size (config and layers) in bytes. Runs in a
# subshell (its own EXIT trap).
oci_archive() (
	rootfs=${1:?rootfs} out=${2:?out} ref=${3:?ref}
	shift 3
	sde=${SOURCE_DATE_EPOCH:-0}
	created=$(date -u -d "@$sde" +%Y-%m-%dT%H:%M:%SZ)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/l2lb-oci.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(cd "$rootfs" && tar --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime="@$sde" --format=gnu -cf "$tmp/layer.tar" -- *) || return 1
	layout=$tmp/oci tag=${ref##*:}
	umoci init --layout "$layout" &&
		umoci new --image "$layout:$tag" &&
		umoci raw add-layer --image "$layout:$tag" --history.created "$created" \
			--history.created_by "l2lb scripts/lib/oci.sh" "$tmp/layer.tar" &&
		umoci config --image "$layout:$tag" --no-history --created "$created" \
			--os linux --architecture "$(oci_arch)" "$@" &&
		umoci gc --layout "$layout" || return 1
	jq --arg ref "$ref" '.manifests |= map(.annotations = ((.annotations // {})
		+ {"org.opencontainers.image.ref.name": $ref, "io.containerd.image.name": $ref}))' \
		"$layout/index.json" >"$tmp/index.json" && mv "$tmp/index.json" "$layout/index.json" || return 1
	mkdir -p "$(dirname "$out")"
	(cd "$layout" && tar --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime="@$sde" --format=gnu -cf "$out.tmp" -- oci-layout index.json blobs) || return 1
	mv "$out.tmp" "$out"
	digest=$(jq -r '.manifests[0].digest' "$layout/index.json")
	echo "$digest $(jq '[.config.size] + [.layers[].size] | add' "$layout/blobs/${digest/://}")"
)
