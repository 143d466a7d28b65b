#!/usr/bin/env bash
# Installs Prometheus and promtool (Debian's `prometheus` package), which
# test/observability/ needs to check and unit-test the alert rules, lint a live
# scrape and run a real server against `sherpany serve`. Idempotent: does
# nothing when both are on PATH. The package's own systemd service does not
# matter: the tests start their own prometheus on a free port with a temporary
# configuration and storage directory.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
	echo "Prometheus: $(command -v prometheus), promtool: $(command -v promtool)"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "Missing prometheus/promtool: run $0 as root to install them with apt-get" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# No recommends: the node exporter and the web assets are not needed.
apt-get install -y --no-install-recommends prometheus
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || {
	echo "apt-get installed prometheus, but prometheus or promtool is not on PATH" >&2
	exit 1
}
echo "Prometheus: $(command -v prometheus), promtool: $(command -v promtool)"
