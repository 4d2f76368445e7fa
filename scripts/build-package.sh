#!/usr/bin/env bash
# Builds the npm package into pkg/: release wasm → wasm-bindgen (web target) → wasm-opt -Oz
# (npm binaryen, never Debian's) → the hand-written files of pkg-template/ → one browser entry
# (scripts/bundle-entry.mjs).
# Links node_modules/evstore → pkg so that tests and the demo import "evstore" like any user.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --quiet --release --lib --target wasm32-unknown-unknown
rm -rf pkg && mkdir -p pkg
wasm-bindgen --target web --out-dir pkg --out-name evstore_wasm --no-typescript --weak-refs \
  target/wasm32-unknown-unknown/release/evstore.wasm
node_modules/.bin/wasm-opt -Oz \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  pkg/evstore_wasm_bg.wasm -o pkg/evstore_wasm_bg.wasm
cp pkg-template/* pkg/
node scripts/bundle-entry.mjs pkg
mkdir -p node_modules && ln -sfn ../pkg node_modules/evstore

wasm=$(stat -c %s pkg/evstore_wasm_bg.wasm)
wasm_gz=$(gzip -9c pkg/evstore_wasm_bg.wasm | wc -c)
glue=$(wc -c < pkg/index.js)
glue_gz=$(gzip -9c pkg/index.js | wc -c)
echo "pkg/: wasm ${wasm} B (${wasm_gz} B gzip), JS glue ${glue} B (${glue_gz} B gzip), total gzip $((wasm_gz + glue_gz)) B"
