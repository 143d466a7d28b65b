#!/usr/bin/env bash
# mmdebstrap --extract-hook for the sherpany base image: runs on the build
# host after the packages are unpacked into the root filesystem $1 (no
# maintainer script has run, and none ever will: the image has no shell).
#
# It turns the unpacked tree into a distroless-style root filesystem:
#   - removes every file of a package that is not in base-packages (apt pulls
#     in debconf, openssl, mawk... only for maintainer scripts);
#   - does by hand the little that the kept packages' maintainer scripts
#     would have done (CA bundle, /etc/localtime);
#   - adds the users, nsswitch.conf and the directories the app needs;
#   - records each kept package under /var/lib/dpkg/status.d/ (the layout
#     distroless uses) so SBOM scanners such as syft list the Debian packages;
#   - drops documentation (keeping copyright files), locales and iconv modules.
# Everything it writes has fixed content; mmdebstrap clamps mtimes to
# SOURCE_DATE_EPOCH and sorts the tarball, so the output is reproducible.
set -euo pipefail

root=${1:?usage: base-hook.sh ROOTFS}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
archives="$root/var/cache/apt/archives"

# The UID/GID the application runs as (distroless's "nonroot").
readonly APP_UID=65532
readonly DATA_DIR=/var/lib/sherpany

mapfile -t keep < <(grep -Ev '^[[:space:]]*(#|$)' "$here/base-packages")
is_kept() {
	local name
	for name in "${keep[@]}"; do [[ $name == "$1" ]] && return 0; done
	return 1
}

mkdir -p "$root/var/lib/dpkg/status.d"
shopt -s nullglob
for deb in "$archives"/*.deb; do
	package=$(dpkg-deb --field "$deb" Package)
	if is_kept "$package"; then
		# One control file per package, as distroless writes them.
		dpkg-deb --field "$deb" >"$root/var/lib/dpkg/status.d/$package"
		continue
	fi
	# Files only (directories may be shared with kept packages), longest first.
	dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -v '/$' | sort -r |
		while IFS= read -r path; do
			rm -f "$root/${path#./}"
		done
done
for package in "${keep[@]}"; do
	[[ -f "$root/var/lib/dpkg/status.d/$package" ]] || {
		echo "base-hook.sh: package $package was not downloaded" >&2
		exit 1
	}
done

# ca-certificates' postinst runs update-ca-certificates, which concatenates
# the enabled certificates; every Mozilla certificate is enabled by default.
mkdir -p "$root/etc/ssl/certs"
find "$root/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z |
	xargs -0 cat >"$root/etc/ssl/certs/ca-certificates.crt"
rm -f "$root/usr/sbin/update-ca-certificates"

# tzdata's postinst: UTC unless TZ says otherwise.
ln -sfn /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
echo Etc/UTC >"$root/etc/timezone"

# No login shell exists; /sbin/nologin is named only by convention.
cat >"$root/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:$APP_UID:$APP_UID:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<GROUP
root:x:0:
nobody:x:65534:
nonroot:x:$APP_UID:
GROUP
# Without this file glibc asks DNS before /etc/hosts.
cat >"$root/etc/nsswitch.conf" <<NSS
passwd: files
group: files
hosts: files dns
networks: files
protocols: files
services: files
NSS

# mmdebstrap copied the build host's hostname and resolv.conf: fixed content
# instead, so that the tarball is the same on every host (container runtimes
# mount their own over all three).
: >"$root/etc/hostname"
: >"$root/etc/resolv.conf"
chmod 0644 "$root/etc/hostname" "$root/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

install -d -m 0755 "$root/root"
install -d -m 1777 "$root/tmp"
install -d -m 0700 -o "$APP_UID" -g "$APP_UID" "$root/home/nonroot"
# The embedded database's data directory: a VOLUME in the Dockerfile.
install -d -m 0700 -o "$APP_UID" -g "$APP_UID" "$root$DATA_DIR"

# Size: documentation except copyright files, manuals, translations, and
# glibc's iconv modules (Node converts text with its own ICU, never iconv).
find "$root/usr/share/doc" -type f ! -name copyright -delete
find "$root/usr/share/doc" -type l -delete
find "$root/usr/share/doc" -depth -type d -empty -delete
rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" \
	"$root/usr/share/locale" "$root"/usr/lib/*-linux-gnu/gconv
# Directories left empty by the removed packages.
find "$root/usr/share" "$root/usr/lib" "$root/etc" -depth -type d -empty -delete

# What apt and dpkg left while unpacking (base.sh skips mmdebstrap's own
# cleanup of these): sources, package lists and caches, an empty dpkg
# database. Only the status.d records stay. base-files' motd script goes too.
rm -rf "$root/etc/apt" "$root/etc/dpkg" "$root/var/lib/apt" "$root/var/cache/apt" \
	"$root/var/cache/debconf" "$root/var/log/apt" "$root/etc/update-motd.d"
find "$root/var/lib/dpkg" -mindepth 1 -maxdepth 1 ! -name status.d -exec rm -rf {} +

# The promise of this image: nothing to execute but the application.
leftover=$(find "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
	"$root/usr/local/bin" \( -type f -o -type l \) 2>/dev/null || true)
if [[ -n $leftover ]]; then
	echo "base-hook.sh: executables left in the base:" >&2
	echo "$leftover" >&2
	exit 1
fi
