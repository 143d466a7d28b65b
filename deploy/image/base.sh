#!/usr/bin/env bash
# Builds the sherpany base image, a distroless-style Debian 12 root
# filesystem, from Debian packages with mmdebstrap, and imports it into podman.
#
#   deploy/image/base.sh                 build and import localhost/sherpany-base:<tag>
#                                        (also tagged :bookworm, the Dockerfile's default)
#   deploy/image/base.sh --tar FILE      only write the root filesystem tarball
#   deploy/image/base.sh --print-ref     print the image reference it would build
#   deploy/image/base.sh --arch arm64 …  the same for Debian's arm64 packages (default
#                                        amd64); its tags end in -arm64. Nothing is
#                                        run inside the tree, so no emulator is needed.
#
# Environment:
#   SOURCE_DATE_EPOCH   timestamp of every file (default: BASE_EPOCH below)
#   SHERPANY_DEBIAN_MIRROR
#                       Debian mirror (default deb.debian.org). Point it at a
#                       snapshot.debian.org URL to pin every package version.
#   SHERPANY_DEBIAN_SECURITY_MIRROR
#                       the same for debian-security (default
#                       deb.debian.org/debian-security)
#   PODMAN              podman command (default: deploy/image/podman.sh)
#
# The same SOURCE_DATE_EPOCH and the same package versions give a
# byte-identical tarball (test/image/base.test.ts builds it twice).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Dates every file, so that builds agree whoever runs them and whenever.
readonly BASE_EPOCH=1764288000 # 2025-11-28T00:00:00Z
readonly SUITE=bookworm
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$BASE_EPOCH}
mirror=${SHERPANY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
podman=${PODMAN:-$here/podman.sh}
# The tag names the date and a digest of the base's definition, so that a
# changed definition is rebuilt rather than taken from podman's cache.
definition=$(cat "$here/base.sh" "$here/base-hook.sh" "$here/base-packages" | sha256sum | cut -c1-8)

die() {
	echo "deploy/image/base.sh: $*" >&2
	exit 1
}

arch=amd64
action=import
tar_file=
while (($# > 0)); do
	case "$1" in
	--arch)
		[[ ${2:-} == @(amd64|arm64) ]] || die "--arch takes amd64 or arm64, not '${2:-}'"
		arch=$2
		shift 2
		;;
	--print-ref)
		action=print-ref
		shift
		;;
	--tar)
		[[ -n ${2:-} ]] || die "--tar needs a file name"
		action=tar
		tar_file=$2
		shift 2
		;;
	*) die "unknown argument '$1' (expected --arch ARCH, --tar FILE or --print-ref)" ;;
	esac
done

# amd64's tags carry no suffix: the Dockerfile's default and older scripts
# name them so.
suffix=
[[ $arch == amd64 ]] || suffix=-$arch
tag="$SUITE-$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d)-$definition$suffix"
ref="localhost/sherpany-base:$tag"

# Writes the root filesystem tarball to $1.
build_tar() {
	command -v mmdebstrap >/dev/null ||
		die "mmdebstrap is missing: run 'sudo bash .ci/install-podman.sh' (or apt-get install mmdebstrap)"
	local packages
	packages=$(grep -Ev '^[[:space:]]*(#|$)' "$here/base-packages" | paste -sd, -)
	# extract: unpack the packages without running any maintainer script, so
	# nothing from the build (a shell, dpkg, apt) has to be in the result.
	# Security updates come from the matching debian-security suite.
	# Nothing runs inside the tree, so mmdebstrap's policy-rc.d guard is moot;
	# /dev comes from the container runtime, so the tarball holds no devices.
	# base-hook.sh removes apt's and dpkg's files itself, so mmdebstrap's
	# cleanup of them is skipped.
	mmdebstrap --quiet --variant=extract --architectures="$arch" --include="$packages" \
		--skip=chroot/policy-rc.d,chroot/start-stop-daemon,output/dev,output/mknod \
		--skip=cleanup/apt,cleanup/mmdebstrap \
		--format=tar --extract-hook="\"$here/base-hook.sh\" \"\$1\"" \
		"$SUITE" "$1" \
		"deb $mirror $SUITE main" \
		"deb $mirror $SUITE-updates main" \
		"deb ${SHERPANY_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} $SUITE-security main"
}

case $action in
print-ref)
	echo "$ref"
	exit 0
	;;
tar)
	build_tar "$tar_file"
	exit 0
	;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build_tar "$work/rootfs.tar"
# The package list with versions, as a label: what the base is made of.
manifest=$(tar -xOf "$work/rootfs.tar" --wildcards './var/lib/dpkg/status.d/*' |
	awk '/^Package:/{p=$2} /^Version:/{printf "%s%s=%s", sep, p, $2; sep=" "}')
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
"$podman" import \
	--change "LABEL org.opencontainers.image.created=$created" \
	--change "LABEL org.opencontainers.image.base.name=debian:$SUITE" \
	--change "LABEL io.github.sherpany.base.packages=\"$manifest\"" \
	--change "LABEL io.github.sherpany.base.rootfs.sha256=$(sha256sum "$work/rootfs.tar" | cut -c1-64)" \
	--os linux --arch "$arch" \
	--quiet --message "sherpany base: Debian $SUITE $arch packages via mmdebstrap" \
	"$work/rootfs.tar" "$ref" >/dev/null
"$podman" tag "$ref" "localhost/sherpany-base:$SUITE$suffix"
echo "$ref"
