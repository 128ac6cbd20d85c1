#!/usr/bin/env bash
# setup.sh: installs what dimo-indexer needs on Debian 12 and builds it.
#
# Idempotent: installs only missing apt packages, runs `npm ci` only when
# package-lock.json changed, compiles the devnet contracts only when their
# sources changed, and lets ninja rebuild only what changed. As root it
# installs; as another user it prints the exact command to run and stops.
#
# Environment: BUILD_DIR (default build), SETUP_SKIP_BUILD=1 to stop after
# the installs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build_dir=${BUILD_DIR:-build}

say() { printf 'setup: %s\n' "$*" >&2; }

apt_packages=(
  build-essential pkg-config meson ninja-build git
  libcurl4-openssl-dev libjansson-dev libsecp256k1-dev libuv1-dev libpq-dev
  nettle-dev libhttp-parser-dev
  postgresql-15 postgresql-client-15
  clang libclang-rt-14-dev clang-format valgrind
  curl ca-certificates procps psmisc iproute2 wrk time
  chromium
)
# Node.js: keep a newer one the machine already has (Debian's is 18, which
# the pinned npm tools also run on).
if ! command -v node >/dev/null 2>&1; then
  apt_packages+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  apt_packages+=(npm)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    say "missing Debian packages; install them with:"
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm tools pinned in package.json / package-lock.json (anvil, cast, solc).
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.dimo-lock-sha256
if [[ ! -f $stamp || $(cat "$stamp") != "$lock_sum" || ! -x node_modules/.bin/anvil ]]; then
  say "installing npm tools (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_sum" >"$stamp"
fi

# Devnet contracts (compile.js skips the work when sources are unchanged).
if [[ -f tests/devnet/compile.js ]]; then
  node tests/devnet/compile.js
fi

if [[ ${SETUP_SKIP_BUILD:-0} == 1 ]]; then
  exit 0
fi

if [[ ! -f $build_dir/build.ninja ]]; then
  say "configuring $build_dir"
  meson setup "$build_dir" -Dwerror=true >/dev/null
fi
say "building $build_dir"
meson compile -C "$build_dir" >/dev/null
say "ok: $build_dir/indexer/dimo-indexer"
