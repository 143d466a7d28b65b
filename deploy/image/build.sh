#!/usr/bin/env bash
# `npm run image`: builds the sherpany image for linux/amd64 from
# dist/sherpany and for linux/arm64 from dist/sherpany-linux-arm64, each on
# its own base made by deploy/image/base.sh from Debian's packages for that
# architecture (built first when podman does not have it), and puts both
# under one manifest list, localhost/sherpany:<package.json version> and
# localhost/sherpany:latest. `podman run` of a list runs the host's image.
# CI and .github/workflows/release.yml run this same script.
#
#   deploy/image/build.sh [--iidfile FILE] [--iidfile-arm64 FILE] [--listidfile FILE]
#       FILE receives the built amd64 image's ID, the arm64 image's, or the
#       manifest list's (the tags may be moved by a later build)
#
# It prints the list's two names, then each image's:
# localhost/sherpany:<version>-amd64 and localhost/sherpany:<version>-arm64.
# Building the arm64 image runs nothing of arm64 (the Dockerfile only
# copies), so it needs no emulator; running it does (README.md here).
#
# Environment:
#   SHERPANY_REBUILD_BASE=1   rebuild the bases even when podman has them
#   SHERPANY_IMAGE_SOURCE     org.opencontainers.image.source label
#   SOURCE_DATE_EPOCH         image creation time (default: last commit time)
#   PODMAN                    podman command (default: deploy/image/podman.sh)
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
podman=${PODMAN:-$here/podman.sh}

die() {
	echo "npm run image: $*" >&2
	exit 1
}

# The executable of each architecture, by Debian's (and OCI's) name for it.
declare -A binaries=([amd64]=dist/sherpany [arm64]=dist/sherpany-linux-arm64)
declare -A iidfiles=()
listidfile=
while (($# > 0)); do
	case "$1" in
	--iidfile | --iidfile-arm64 | --listidfile)
		[[ -n ${2:-} ]] || die "$1 needs a file name"
		case "$1" in
		--iidfile) iidfiles[amd64]=$2 ;;
		--iidfile-arm64) iidfiles[arm64]=$2 ;;
		--listidfile) listidfile=$2 ;;
		esac
		shift 2
		;;
	*) die "unknown argument '$1' (expected --iidfile, --iidfile-arm64 or --listidfile FILE)" ;;
	esac
done

command -v podman >/dev/null ||
	die "podman is missing: run 'sudo bash .ci/install-podman.sh' (Debian/Ubuntu)"
for binary in "${binaries[@]}"; do
	[[ -x "$repo/$binary" ]] || die "$binary is missing: run 'npm run build' first"
done

version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
license=$(node -p 'require(process.argv[1]).license' "$repo/package.json")
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
# The commit time, so that two builds of one commit agree; else now.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}

# One build at a time on this machine (test files build in parallel): two
# would race to import the same base tag.
exec 9>"${TMPDIR:-/tmp}/sherpany-image-build.lock"
flock 9

# Makes the image for one architecture, tagged localhost/sherpany:<version>-<arch>.
build_image() {
	local arch=$1 base
	base=$(PODMAN=$podman "$here/base.sh" --arch "$arch" --print-ref)
	if [[ ${SHERPANY_REBUILD_BASE:-} == 1 ]] || ! "$podman" image exists "$base"; then
		command -v mmdebstrap >/dev/null ||
			die "mmdebstrap is missing (needed to build $base): run 'sudo bash .ci/install-podman.sh'"
		echo "building the base image $base" >&2
		PODMAN=$podman "$here/base.sh" --arch "$arch" >/dev/null
	fi
	# --format docker: the OCI format has no HEALTHCHECK. --pull=never: the
	# base is local and nothing may be pulled. --timestamp and --layers=false:
	# the layers are byte-identical for one commit (the Docker-format config
	# still records the build container's id, so the image id differs per
	# build). --platform: the image's architecture, which its base has.
	"$podman" build --quiet --format docker --pull=never --layers=false \
		--platform "linux/$arch" \
		--timestamp "$epoch" \
		--build-arg "BASE_IMAGE=$base" \
		--build-arg "BINARY=${binaries[$arch]}" \
		--build-arg "VERSION=$version" \
		--build-arg "LICENSES=$license" \
		--build-arg "REVISION=$revision" \
		--build-arg "SOURCE=${SHERPANY_IMAGE_SOURCE:-https://github.com/sherpany/sherpany}" \
		--build-arg "CREATED=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)" \
		--tag "localhost/sherpany:$version-$arch" \
		--iidfile "$work/$arch.iid" \
		--ignorefile "$here/.dockerignore" \
		--file "$here/Dockerfile" "$repo" >/dev/null
	[[ -z ${iidfiles[$arch]:-} ]] || cp "$work/$arch.iid" "${iidfiles[$arch]}"
}

# A manifest list named $1 holding both images, replacing whatever had the
# name (an older list, or an image from before lists).
make_list() {
	local name=$1 arch id list
	"$podman" manifest rm "$name" >/dev/null 2>&1 || "$podman" untag "$name" >/dev/null 2>&1 || true
	list=$("$podman" manifest create "$name")
	for arch in amd64 arm64; do
		id=$(<"$work/$arch.iid")
		"$podman" manifest add "$name" "containers-storage:${id#sha256:}" >/dev/null
	done
	echo "$list"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for arch in amd64 arm64; do
	build_image "$arch"
done
list=$(make_list "localhost/sherpany:$version")
make_list "localhost/sherpany:latest" >/dev/null
[[ -z $listidfile ]] || echo "$list" >"$listidfile"
echo "localhost/sherpany:$version"
echo "localhost/sherpany:latest"
for arch in amd64 arm64; do
	echo "localhost/sherpany:$version-$arch"
done
