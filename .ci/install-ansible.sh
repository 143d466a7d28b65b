#!/usr/bin/env bash
# Installs what test/deploy/ansible*.test.ts needs, when missing: Debian's
# ansible (7.x: ansible-core 2.14 with the kubernetes.core collection bundled),
# ansible-lint and yamllint. The playbook's Kubernetes modules need the Python
# kubernetes client only against a cluster; the `render` tag runs without it.
# Idempotent; run as root.
set -euo pipefail

packages=()
command -v ansible-playbook >/dev/null 2>&1 || packages+=(ansible)
command -v ansible-lint >/dev/null 2>&1 || packages+=(ansible-lint)
command -v yamllint >/dev/null 2>&1 || packages+=(yamllint)
if ((${#packages[@]} == 0)); then
	echo "ansible-playbook, ansible-lint and yamllint: present"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "Missing ${packages[*]}: run $0 as root to install them with apt-get" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Without recommends: the collections come with the ansible package itself,
# and python3-kubernetes (a recommend) is for a real cluster, not for CI.
apt-get install -y --no-install-recommends "${packages[@]}"
ansible-playbook --version | head -1
