#!/usr/bin/env bash
# `npm run image`: builds localhost/sherpany:<package.json version> and
# localhost/sherpany:latest from dist/sherpany and the Dockerfile, on the base
# image made by image/base.sh (built first when podman does not have it).
# CI and .github/workflows/release.yml run this same script.
#
#   image/build.sh [--iidfile FILE]   FILE receives the built image's ID (the
#                                     tags may be moved by a later build)
#
# Environment:
#   SHERPANY_REBUILD_BASE=1   rebuild the base even when podman has it
#   SHERPANY_IMAGE_SOURCE     org.opencontainers.image.source label
#   SOURCE_DATE_EPOCH         image creation time (default: last commit time)
#   PODMAN                    podman command (default: image/podman.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
podman=${PODMAN:-$here/podman.sh}

die() {
	echo "npm run image: $*" >&2
	exit 1
}

iidfile=
case "${1:-}" in
--iidfile)
	[[ -n ${2:-} ]] || die "--iidfile needs a file name"
	iidfile=$2
	;;
"") ;;
*) die "unknown argument '$1' (expected --iidfile FILE)" ;;
esac

command -v podman >/dev/null ||
	die "podman is missing: run 'sudo bash .ci/install-podman.sh' (Debian/Ubuntu)"
[[ -x "$repo/dist/sherpany" ]] ||
	die "dist/sherpany is missing: run 'npm run build' first"

version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
license=$(node -p 'require(process.argv[1]).license' "$repo/package.json")
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
# The commit time, so that two builds of one commit agree; else now.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}

# One build at a time on this machine (test files build in parallel): two
# would race to import the same base tag.
exec 9>"${TMPDIR:-/tmp}/sherpany-image-build.lock"
flock 9

base=$(PODMAN=$podman "$here/base.sh" --print-ref)
if [[ ${SHERPANY_REBUILD_BASE:-} == 1 ]] || ! "$podman" image exists "$base"; then
	command -v mmdebstrap >/dev/null ||
		die "mmdebstrap is missing (needed to build $base): run 'sudo bash .ci/install-podman.sh'"
	echo "building the base image $base" >&2
	PODMAN=$podman "$here/base.sh" >/dev/null
fi

# --format docker: the OCI format has no HEALTHCHECK. --pull=never: the base
# is local and nothing may be pulled. --timestamp and --layers=false: the
# layers are byte-identical for one commit (the Docker-format config still
# records the build container's id, so the image id differs per build).
"$podman" build --quiet --format docker --pull=never --layers=false \
	--timestamp "$epoch" \
	--build-arg "BASE_IMAGE=$base" \
	--build-arg "VERSION=$version" \
	--build-arg "LICENSES=$license" \
	--build-arg "REVISION=$revision" \
	--build-arg "SOURCE=${SHERPANY_IMAGE_SOURCE:-https://github.com/sherpany/sherpany}" \
	--build-arg "CREATED=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)" \
	--tag "localhost/sherpany:$version" \
	--tag "localhost/sherpany:latest" \
	${iidfile:+--iidfile "$iidfile"} \
	--file "$repo/Dockerfile" "$repo" >/dev/null
echo "localhost/sherpany:$version"
echo "localhost/sherpany:latest"
