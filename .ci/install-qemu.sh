#!/usr/bin/env bash
# Installs and registers what the arm64 suites need, when missing, on an
# x86-64 machine: qemu-user-static (runs arm64 executables; test/arm64/ runs
# dist/sherpany-linux-arm64 through it), binutils-aarch64-linux-gnu (its
# strip, for npm run build) and the kernel's binfmt_misc entry for
# qemu-aarch64, through which podman runs arm64 images. Idempotent; run as
# root. The entry has the F flag: the kernel opens qemu once, here, so it
# runs inside containers whose root has no qemu.
set -euo pipefail

readonly BINFMT=/proc/sys/fs/binfmt_misc
readonly ENTRY_CONF=/usr/lib/binfmt.d/qemu-aarch64.conf

if [[ $(uname -m) == aarch64 ]]; then
	echo "arm64 host: nothing to emulate"
	exit 0
fi

packages=()
command -v qemu-aarch64-static >/dev/null 2>&1 || packages+=(qemu-user-static)
command -v aarch64-linux-gnu-strip >/dev/null 2>&1 || packages+=(binutils-aarch64-linux-gnu)
if ((${#packages[@]} > 0)); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "Missing ${packages[*]}: run $0 as root to install them with apt-get" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends "${packages[@]}"
fi

if [[ -e $BINFMT/qemu-aarch64 ]]; then
	# Registered but switched off (echo 0 >…): switch it on.
	[[ $(head -1 "$BINFMT/qemu-aarch64") == enabled ]] || echo 1 >"$BINFMT/qemu-aarch64"
	echo "qemu-aarch64: $(head -1 "$BINFMT/qemu-aarch64"), $(sed -n 's/^interpreter //p' "$BINFMT/qemu-aarch64")"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "qemu-aarch64 is not registered with binfmt_misc: run $0 as root" >&2
	exit 1
fi
[[ -e $BINFMT/register ]] || mount -t binfmt_misc binfmt_misc "$BINFMT"
[[ -e $BINFMT/status ]] && [[ $(<"$BINFMT/status") == enabled ]] || echo 1 >"$BINFMT/status"
grep -v '^#' "$ENTRY_CONF" | grep -m1 . >"$BINFMT/register"
echo "qemu-aarch64: registered from $ENTRY_CONF"
