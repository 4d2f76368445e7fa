#!/usr/bin/env bash
# Idempotent setup: everything `make test`, `make demo` and `make bench` need on a fresh machine.
# Safe to run again: each step checks first and does nothing when already satisfied.
# EVSTORE_SETUP=package (what `make demo` sets) installs only what building the package and running
# the demo need: no Chromium and no wasm-pack, which only the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

# The one place the wasm-bindgen version is written is Cargo.toml (`wasm-bindgen = "=x.y.z"`).
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"$/\1/p' Cargo.toml)
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "setup: no exact wasm-bindgen version in Cargo.toml" >&2; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

FOR_TESTS=true
[ "${EVSTORE_SETUP:-}" = package ] && FOR_TESTS=false

# Chromium + chromedriver for the browser tests (Debian packages; no browser downloads).
if $FOR_TESTS && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
  log "installing chromium and chromium-driver (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# PostgreSQL for the PostgreSQL storage's tests (Debian's package: initdb and pg_ctl in
# /usr/lib/postgresql/<version>/bin; the tests start their own throwaway clusters).
if $FOR_TESTS && ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing postgresql (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must match Cargo.lock exactly; --locked fails here (see shared/TOOLCHAIN.md).
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (cargo, ~4 min)"
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if $FOR_TESTS && ! command -v wasm-pack >/dev/null; then
  log "installing wasm-pack (cargo, ~5 min)"
  cargo install -q wasm-pack --locked
fi

# JS dev tools (wasm-opt from npm binaryen, playwright-core, typescript, vite, bench contenders).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dev dependencies"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi

log "ready"
