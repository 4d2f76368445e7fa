#!/usr/bin/env bash
# `wasm-pack test --headless --chrome` with the runner wrapper of scripts/wasm-test/ (see there).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/wasm-test-bin
mkdir -p "$bin"
ln -sfn "$HOME/.cargo/bin/wasm-bindgen" "$bin/wasm-bindgen"
ln -sfn "$PWD/scripts/wasm-test/wasm-bindgen-test-runner" "$bin/wasm-bindgen-test-runner"
PATH="$PWD/$bin:$PATH" wasm-pack test --headless --chrome "$@"
