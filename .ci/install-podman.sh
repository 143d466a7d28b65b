#!/usr/bin/env bash
# Installs what `npm run image` and test/image/ need, when missing: podman
# with runc (deploy/image/containers.conf selects runc and cgroupfs) and mmdebstrap,
# which builds the base image from Debian packages. Idempotent; run as root.
set -euo pipefail

packages=()
command -v podman >/dev/null 2>&1 || packages+=(podman)
command -v runc >/dev/null 2>&1 || packages+=(runc)
command -v mmdebstrap >/dev/null 2>&1 || packages+=(mmdebstrap)
# mmdebstrap verifies Debian's archive with it; Ubuntu (the release
# workflow's runner) does not have it by default.
[[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || packages+=(debian-archive-keyring)
# mmdebstrap (a Recommends) reads the keyring with gpg to write signed-by.
command -v gpg >/dev/null 2>&1 || packages+=(gpg)
if ((${#packages[@]} == 0)); then
	echo "podman, runc, mmdebstrap, gpg and Debian's archive keyring: present"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "Missing ${packages[*]}: run $0 as root to install them with apt-get" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Without recommends podman would not get an OCI runtime: runc is named, and
# uidmap/slirp4netns are for rootless use, which CI (root) does not need.
apt-get install -y --no-install-recommends "${packages[@]}"
podman --version
