#!/usr/bin/env bash
# Installs a system PostgreSQL (Debian's 15) and openssl, when they are missing:
# CI runs the database suites on it beside PostgreSQL 18 from npm (which npm ci
# installs), and the TLS tests make certificates with openssl. Idempotent: does
# nothing when both are present.
# Finds the server the way the helper does: $PG_BIN, then `pg_config --bindir`,
# then the newest /usr/lib/postgresql/*/bin.
set -euo pipefail

is_server_bindir() {
	[[ -x "$1/initdb" && -x "$1/pg_ctl" && -x "$1/postgres" ]]
}

# Prints the server bindir, or fails. Runs in $(...), so it must not exit.
find_server_bindir() {
	if [[ -n "${PG_BIN:-}" ]]; then
		printf '%s\n' "$PG_BIN"
		return 0
	fi
	local dir
	if command -v pg_config >/dev/null 2>&1; then
		dir=$(pg_config --bindir 2>/dev/null || true)
		if [[ -n "$dir" ]] && is_server_bindir "$dir"; then
			printf '%s\n' "$dir"
			return 0
		fi
	fi
	# Newest version first.
	while IFS= read -r dir; do
		if is_server_bindir "$dir"; then
			printf '%s\n' "$dir"
			return 0
		fi
	done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -t/ -k5,5 -rn)
	return 1
}

# A wrong PG_BIN is a configuration error that installing packages cannot fix.
if [[ -n "${PG_BIN:-}" ]] && ! is_server_bindir "$PG_BIN"; then
	echo "PG_BIN=$PG_BIN holds no initdb, pg_ctl and postgres: fix or unset PG_BIN" >&2
	exit 1
fi

packages=()
if bindir=$(find_server_bindir); then
	echo "PostgreSQL server binaries: $bindir"
else
	packages+=(postgresql)
fi
if ! command -v openssl >/dev/null 2>&1; then
	packages+=(openssl)
fi
if ((${#packages[@]} == 0)); then
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "Missing ${packages[*]}: run $0 as root to install them with apt-get" >&2
	exit 1
fi
# Install both together, as a fresh machine lacks both.
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends postgresql openssl
bindir=$(find_server_bindir) || {
	echo "apt-get installed postgresql, but no server binaries were found" >&2
	exit 1
}
echo "PostgreSQL server binaries: $bindir"
