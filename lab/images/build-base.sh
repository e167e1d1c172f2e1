#!/usr/bin/env bash
# Builds the lab's base image without a registry: debootstrap a Debian rootfs with every
# package the lab services need, then `docker import` it. Reused when the tag exists, so
# a re-run costs a second; bump BASE_TAG when the package list changes.
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-appops-lab/base}"
BASE_TAG="${BASE_TAG:-bookworm-1}"
PACKAGES=(
  postgresql postgresql-client redis-server redis-tools sqlite3
  python3 python3-fastapi python3-uvicorn python3-psycopg2 python3-redis
  ca-certificates curl procps netcat-openbsd tini
)

if docker image inspect "${BASE_IMAGE}:${BASE_TAG}" >/dev/null 2>&1; then
  echo "base image ${BASE_IMAGE}:${BASE_TAG} present"
  exit 0
fi

# Two set-ups at once (a developer's `make lab` and a CI run) must not both debootstrap:
# the second waits for the first, then finds the image.
exec 9>"/var/tmp/appops-build-base-${BASE_TAG}.lock"
flock 9
if docker image inspect "${BASE_IMAGE}:${BASE_TAG}" >/dev/null 2>&1; then
  echo "base image ${BASE_IMAGE}:${BASE_TAG} present (built by a concurrent run)"
  exit 0
fi

mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
rootfs="$(mktemp -d /var/tmp/appops-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
# mktemp makes the directory 0700 and it becomes the image's "/": non-root users need 0755.
chmod 755 "$rootfs"

include="$(IFS=,; echo "${PACKAGES[*]}")"
echo "debootstrap bookworm (${include}) from ${mirror}"
debootstrap --variant=minbase --include="$include" bookworm "$rootfs" "$mirror" >/dev/null
# debootstrap installs the server packages but creates no cluster.
chroot "$rootfs" pg_createcluster 15 main >/dev/null 2>&1 || true
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin

tar -C "$rootfs" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "${BASE_IMAGE}:${BASE_TAG}" >/dev/null
echo "built ${BASE_IMAGE}:${BASE_TAG}"
