#!/usr/bin/env bash
# Build the serving image the phase-1 way (locked wheels prepared on the host, no network inside
# the build), with only the core and `serving` dependencies, from phase3_serving/deploy/Dockerfile.
#
# Usage (from anywhere; `make serving-image` runs it): phase3_serving/deploy/build-serving-image.sh
#   IMAGE        tag to build (default mlops-path-serving:latest)
#   VERSION_TAG  second tag for the same image (default mlops-path-serving:<project version>, the
#                tag the Kubernetes manifests deploy); set it empty to skip
#   UV, BASE_IMAGE, PULL_TIMEOUT, PIP_INDEX_URL: passed on to build-image.sh (see there)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

image="${IMAGE:-mlops-path-serving:latest}"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)"
version_tag="${VERSION_TAG-mlops-path-serving:$version}"

# Its own build context, so the phase-1 image's cached wheels stay as they are.
IMAGE="$image" \
    EXTRAS=serving \
    DOCKERFILE=phase3_serving/deploy/Dockerfile \
    CONTEXT=build/serving-image \
    bash phase1_foundations/docker/build-image.sh

if [[ -n "$version_tag" && "$version_tag" != "$image" ]]; then
    docker tag "$image" "$version_tag"
    echo "build-serving-image: also tagged $version_tag"
fi
