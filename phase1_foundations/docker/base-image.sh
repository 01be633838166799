#!/usr/bin/env bash
# Build a local stand-in for python:3.11-slim-bookworm from Debian's own packages, for machines
# that cannot reach Docker Hub: debootstrap a minimal bookworm with python3 and python3-venv,
# strip what a runtime image never reads, and `docker import` the result.
#
# Usage: phase1_foundations/docker/base-image.sh [--force]
#   BASE_TAG        image to create (default mlops-path-base:bookworm)
#   DEBIAN_MIRROR   apt mirror (default http://deb.debian.org/debian)
# Needs root (debootstrap) and a Docker engine. Skips the work if the image exists, unless --force.
set -euo pipefail

tag="${BASE_TAG:-mlops-path-base:bookworm}"
suite="bookworm"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
force="${1:-}"

if ! docker info >/dev/null 2>&1; then
    echo "base-image: no Docker daemon answers \`docker info\`; start Docker first" >&2
    exit 1
fi
if [[ "$force" != "--force" ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "base-image: $tag already exists (pass --force to rebuild)"
    exit 0
fi
if [[ "$(id -u)" -ne 0 ]]; then
    echo "base-image: debootstrap needs root; run as root or pull python:3.11-slim-bookworm" >&2
    exit 1
fi
debootstrap="$(command -v debootstrap || echo /usr/sbin/debootstrap)"
if [[ ! -x "$debootstrap" ]]; then
    echo "base-image: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/mlops-path-base.XXXXXX")"
rootfs="$workdir/rootfs"
log="$workdir/debootstrap.log"
cleanup() {
    # debootstrap mounts /proc and /sys inside the target; never delete through a mount.
    local mounts
    mounts="$(awk -v root="$rootfs/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r)"
    for mount in $mounts; do
        umount -l "$mount" || true
    done
    rm -rf --one-file-system "$workdir"
}
trap cleanup EXIT

echo "base-image: debootstrap $suite (minbase + python3, python3-venv) from $mirror"
"$debootstrap" --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$suite" "$rootfs" "$mirror" >"$log" 2>&1 || {
    tail -n 30 "$log" >&2
    exit 1
}

# Caches, package lists, docs and locales: nothing in the image reads them at run time.
(
    cd "$rootfs"
    rm -rf var/lib/apt/lists/* var/cache/apt/* var/cache/debconf/*-old var/log/* \
        usr/share/doc/* usr/share/man/* usr/share/info/* usr/share/locale/* \
        tmp/* dev/* proc/* sys/*
)
# python3 is /usr/bin/python3 here (not /usr/local/bin as on the official image).
tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    --message "debootstrap --variant=minbase $suite + python3 python3-venv ca-certificates" \
    - "$tag" >/dev/null
echo "base-image: built $tag ($(docker image inspect --format '{{.Size}}' "$tag") bytes)"
