#!/usr/bin/env bash
# Installs what test/deploy/ needs besides podman and PostgreSQL, when missing:
# iproute2, whose `ip netns` gives each conformance "pod" a network namespace
# of its own. kubectl is not installed here: Debian's kubernetes-client is
# 1.20, too old for kustomize components; the machines carry kubectl 1.32
# (kustomize 5.5), and the deploy tests fail with a clear message without it.
# Idempotent; run as root.
set -euo pipefail

if ! command -v ip >/dev/null 2>&1; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "Missing iproute2: run $0 as root to install it with apt-get" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends iproute2
fi
echo "ip: $(command -v ip)"
if command -v kubectl >/dev/null 2>&1; then
	kubectl version --client 2>/dev/null | sed 's/^/kubectl: /'
else
	echo "kubectl is missing: test/deploy will fail; install kubectl 1.27 or later (kustomize 5)" >&2
fi
