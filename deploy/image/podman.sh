#!/usr/bin/env bash
# Runs podman with this project's settings (deploy/image/containers.conf): runc,
# cgroupfs, no default ulimits. Every image script and test goes through it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v podman >/dev/null || {
	echo "podman is missing: run 'sudo bash .ci/install-podman.sh' (Debian/Ubuntu)" >&2
	exit 127
}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
exec podman "$@"
