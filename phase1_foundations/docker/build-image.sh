#!/usr/bin/env bash
# Build the phase-1 image from the lockfile, with no network access inside the build.
#
# On the host: choose a base image, export the locked requirements (with hashes) from uv.lock,
# download exactly those wheels for the base image's Python, and build the project's wheel, all
# into build/image/. Then `docker build --network none` installs them with --no-index.
#
# Usage (from anywhere; `make image` runs it): phase1_foundations/docker/build-image.sh
#   UV             the uv binary (default: uv on PATH, else .tools/bin/uv)
#   IMAGE          tag to build (default mlops-path:latest)
#   BASE_IMAGE     base to build on; if unset: python:3.11-slim-bookworm when it is here or can be
#                  pulled within PULL_TIMEOUT seconds (default 30), else mlops-path-base:bookworm
#                  built from Debian packages by base-image.sh
#   PIP_INDEX_URL  where wheels come from (default https://pypi.org/simple); hashes are checked
#   EXTRAS         optional-dependency groups of pyproject.toml to install on top of the core
#                  dependencies, space- or comma-separated (default none: the core environment)
#   DOCKERFILE     Dockerfile to build, relative to the repository root
#                  (default phase1_foundations/docker/Dockerfile)
#   CONTEXT        folder the build context is prepared in (default build/image); give each image
#                  its own, since the cached wheels there are only those its last export named
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

# uv: $UV, else the one on PATH, else the project-local copy `make setup` installs.
uv="${UV:-$(command -v uv || echo "$root/.tools/bin/uv")}"
image="${IMAGE:-mlops-path:latest}"
dockerfile="${DOCKERFILE:-$here/Dockerfile}"
official_base="python:3.11-slim-bookworm"
local_base="mlops-path-base:bookworm"
context="${CONTEXT:-build/image}"
wheels="$context/wheels"
started=$SECONDS

say() { echo "build-image: $*"; }

# Before anything slow (a base image, wheels): without a daemon nothing below can finish.
if ! docker info >/dev/null 2>&1; then
    echo "build-image: no Docker daemon answers \`docker info\`; start Docker first" >&2
    exit 1
fi
if [[ ! -f "$dockerfile" ]]; then
    echo "build-image: no Dockerfile at $dockerfile" >&2
    exit 1
fi
# `--extra NAME` for each name in EXTRAS.
extra_names="${EXTRAS:-}"
extras=()
for extra in ${extra_names//,/ }; do
    extras+=(--extra "$extra")
done

# --- 1. the base image ---------------------------------------------------------------------------
if [[ -n "${BASE_IMAGE:-}" ]]; then
    base="$BASE_IMAGE"
    reason="from \$BASE_IMAGE"
    docker image inspect "$base" >/dev/null 2>&1 || docker pull "$base"
elif docker image inspect "$official_base" >/dev/null 2>&1; then
    base="$official_base"
    reason="found locally"
elif timeout "${PULL_TIMEOUT:-30}" docker pull --quiet "$official_base" >/dev/null 2>&1; then
    base="$official_base"
    reason="pulled"
else
    base="$local_base"
    reason="$official_base is not here and cannot be pulled; built from Debian packages"
    BASE_TAG="$local_base" bash "$here/base-image.sh"
fi

# Wheels must match the base's interpreter, architecture and C library, so ask the base itself.
probe='import platform, sys
v = sys.version_info
print(f"{v.major}.{v.minor}", f"{v.major}{v.minor}", platform.python_version(),
      platform.machine(), platform.libc_ver()[1])'
probed="$(docker run --rm --network none "$base" python3 -c "$probe")"
read -r py_version py_tag py_full arch glibc <<<"$probed"
say "base image $base ($reason): Python $py_full, $arch, glibc $glibc"

# --- 2. the locked requirements and their wheels ---------------------------------------------------
mkdir -p "$wheels"
say "requirements: core dependencies${extra_names:+ + extras: $extra_names}"
# ${a[@]+"${a[@]}"}: an empty array is an unbound variable to bash 3.2 under set -u.
"$uv" export --frozen --no-dev --no-emit-project --format requirements-txt --quiet \
    ${extras[@]+"${extras[@]}"} --output-file "$context/requirements.txt"

glibc_minor="${glibc#*.}"
platforms=()
for ((minor = glibc_minor; minor >= 17; minor--)); do
    platforms+=(--platform "manylinux_2_${minor}_${arch}")
done
platforms+=(--platform "manylinux2014_${arch}")

stamp="$wheels/.complete"
key="$( (cat "$context/requirements.txt" && echo "cp$py_tag $arch $glibc") | sha256sum | cut -c1-64)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
    say "wheels: cached in $wheels"
else
    if python3 -m pip --version >/dev/null 2>&1; then
        pip=(python3 -m pip)
    else
        pip=("$uv" tool run pip)
    fi
    say "wheels: downloading for cp$py_tag $arch into $wheels"
    # Only the index and the pinned hashes decide what is downloaded: no machine-wide
    # find-links, constraints or pip.conf (PIP_INDEX_URL still picks a mirror).
    env -u PIP_FIND_LINKS -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null \
        "${pip[@]}" download --quiet --no-deps --only-binary=:all: --require-hashes \
        --index-url "${PIP_INDEX_URL:-https://pypi.org/simple}" \
        --implementation cp --python-version "$py_version" --abi "cp$py_tag" "${platforms[@]}" \
        --requirement "$context/requirements.txt" --dest "$wheels"
    # Drop wheels that an older lockfile needed, so the build context holds only locked files.
    for file in "$wheels"/*.whl; do
        grep -q "sha256:$(sha256sum "$file" | cut -c1-64)" "$context/requirements.txt" ||
            rm -f "$file"
    done
    echo "$key" >"$stamp"
fi
say "wheels: $(find "$wheels" -name '*.whl' | wc -l) files, $(du -sh "$wheels" | cut -f1)"

# --- 3. the project's wheel ------------------------------------------------------------------------
rm -rf "$context/project"
"$uv" build --wheel --quiet --out-dir "$context/project"
say "project: $(basename "$context"/project/*.whl)"

# --- 4. the image, built offline -------------------------------------------------------------------
git_commit="$(git rev-parse HEAD 2>/dev/null || true)"
lock_sha256="$(sha256sum uv.lock | cut -c1-64)"
say "building $image from $dockerfile (commit ${git_commit:-unknown}, uv.lock $lock_sha256)" \
    "with --network none"
docker build --network none \
    --file "$dockerfile" \
    --build-arg BASE_IMAGE="$base" \
    --build-arg GIT_COMMIT="$git_commit" \
    --build-arg LOCK_SHA256="$lock_sha256" \
    --tag "$image" \
    "$context"
size="$(docker image inspect --format '{{.Size}}' "$image")"
say "built $image: $((size / 1000000)) MB in $((SECONDS - started)) s"
