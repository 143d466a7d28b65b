#!/usr/bin/env bash
# Installs what test/deploy/ansible*.test.ts needs, when missing: Debian's
# ansible (7.x: ansible-core 2.14 with the kubernetes.core collection bundled),
# ansible-lint, yamllint, and the Python Kubernetes client that the
# kubernetes.core modules import (the `render` tag does not need it; the
# tests run the `deploy` tag up to the point where a cluster is needed).
# Idempotent; run as root.
set -euo pipefail

packages=()
command -v ansible-playbook >/dev/null 2>&1 || packages+=(ansible)
command -v ansible-lint >/dev/null 2>&1 || packages+=(ansible-lint)
command -v yamllint >/dev/null 2>&1 || packages+=(yamllint)
# Debian's ansible runs on Debian's python3, whatever python3 comes first on PATH.
/usr/bin/python3 -c 'import kubernetes' >/dev/null 2>&1 || packages+=(python3-kubernetes)
if ((${#packages[@]} == 0)); then
	echo "ansible-playbook, ansible-lint, yamllint and python3-kubernetes: present"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "Missing ${packages[*]}: run $0 as root to install them with apt-get" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Without recommends: the collections come with the ansible package itself.
apt-get install -y --no-install-recommends "${packages[@]}"
ansible-playbook --version | sed -n 1p
