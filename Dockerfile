# The sherpany image: dist/sherpany (one executable carrying Node.js and
# every dependency) on a distroless-style Debian 12 base with no shell and no
# package manager. Build it with `npm run image` (image/build.sh), which
# builds the base first (image/base.sh) and passes the arguments below.
# The HEALTHCHECK needs the Docker image format: `podman build --format docker`.

# Made locally from Debian packages by image/base.sh, never pulled; build.sh
# passes the exact tag (bookworm-<date>-<digest of the base's definition>).
ARG BASE_IMAGE=localhost/sherpany-base:bookworm
FROM ${BASE_IMAGE}

# Declared again: an ARG before FROM is out of scope after it.
ARG BASE_IMAGE
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/sherpany/sherpany
ARG CREATED=1970-01-01T00:00:00Z
ARG LICENSES=MIT
# The executable for the image's architecture: build.sh passes
# dist/sherpany-linux-arm64 for linux/arm64.
ARG BINARY=dist/sherpany

LABEL org.opencontainers.image.title="sherpany" \
	org.opencontainers.image.description="A small users service on PostgreSQL, shipped as one executable" \
	org.opencontainers.image.version="${VERSION}" \
	org.opencontainers.image.revision="${REVISION}" \
	org.opencontainers.image.source="${SOURCE}" \
	org.opencontainers.image.url="${SOURCE}" \
	org.opencontainers.image.created="${CREATED}" \
	org.opencontainers.image.licenses="${LICENSES}" \
	org.opencontainers.image.base.name="${BASE_IMAGE}"

# Owned by root and not writable: the app user cannot replace its own binary.
COPY --chown=0:0 --chmod=0555 ${BINARY} /usr/local/bin/sherpany

# The embedded database (used only when no PostgreSQL is configured) lives in
# a volume, so the root filesystem can be read-only. The base creates the
# directory owned by 65532 with mode 0700.
# serve listens on 127.0.0.1 by default on the embedded database; in a
# container it must be reachable from outside, so both addresses are set.
ENV SHERPANY_DATA_DIR=/var/lib/sherpany \
	HOST=0.0.0.0 \
	PORT=8080 \
	ADMIN_HOST=0.0.0.0 \
	ADMIN_PORT=9090
VOLUME ["/var/lib/sherpany"]

# 65532 is "nonroot" in the base's /etc/passwd; numeric so that Kubernetes'
# runAsNonRoot can verify it without reading the image's passwd file.
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 8080 9090

# check-health GETs http://127.0.0.1:$PORT/health with an 800 ms timeout and
# exits 0 or 1; it loads no database code, so it costs about one Node start.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
	CMD ["/usr/local/bin/sherpany", "check-health"]

ENTRYPOINT ["/usr/local/bin/sherpany"]
CMD ["serve"]
