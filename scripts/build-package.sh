#!/usr/bin/env bash
# Builds the npm package into pkg/, with two wasm builds, each with its own entry:
#   - the browser build (features `indexeddb`; memory always): index.js + evstore_wasm_bg.wasm,
#     what browsers and bundlers get (export conditions browser, import, default);
#   - the server build (features `durable-object,postgres,server`: the Durable Object and PostgreSQL
#     storages, the server half of sync, no IndexedDB):
#     server.js + evstore_server_bg.wasm, what workerd.js, node.js and deno.js load.
# pkg/ gets the hand-written files of pkg-template/ and the server's JS (server/, edge/src/service/),
# then each build: release wasm → wasm-bindgen
# (web target) → wasm-opt -Oz (npm binaryen, never Debian's) → one entry of that build's glue and
# pkg-template/index.js (scripts/bundle-entry.mjs). The browser build has its own target dir, so
# that neither build's artefacts are rebuilt when only the other's features changed.
# Links node_modules/evstore → pkg so that tests and the demo import "evstore" like any user.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

rm -rf pkg && mkdir -p pkg
cp pkg-template/* pkg/
# evstore/server: the Node host and the edge service's shared logic it runs, in the same relative
# layout as in the repository (server/*.js import ../edge/src/service/*.js unchanged).
mkdir -p pkg/server pkg/edge/src/service
cp server/*.js pkg/server/
cp edge/src/service/*.js pkg/edge/src/service/

glue=$(mktemp -d) # wasm-bindgen's output of both builds
trap 'rm -rf "$glue"' EXIT

# build <features> <target dir> <wasm-bindgen out name> <entry file> [server glue]
build() {
  local features=$1 target=$2 name=$3 entry=$4
  cargo build --quiet --release --lib --target wasm32-unknown-unknown \
    --no-default-features --features "$features" --target-dir "$target"
  wasm-bindgen --target web --out-dir "$glue" --out-name "$name" --no-typescript --weak-refs \
    "$target/wasm32-unknown-unknown/release/evstore.wasm"
  node_modules/.bin/wasm-opt -Oz \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$glue/${name}_bg.wasm" -o "pkg/${name}_bg.wasm"
  node scripts/bundle-entry.mjs "$glue/$name.js" pkg-template/index.js "pkg/$entry" "${name}_bg.wasm" ${5:+"$5"}
}

# The server build first: the browser entry stands in for the classes only it has.
build durable-object,postgres,server target evstore_server server.js
build indexeddb target/wasm-browser evstore_wasm index.js "$glue/evstore_server.js"
mkdir -p node_modules && ln -sfn ../pkg node_modules/evstore

# size <label> <entry> <wasm>: raw and gzip sizes of one build
size() {
  local wasm wasm_gz glue glue_gz
  wasm=$(stat -c %s "pkg/$3")
  wasm_gz=$(gzip -9c "pkg/$3" | wc -c)
  glue=$(wc -c < "pkg/$2")
  glue_gz=$(gzip -9c "pkg/$2" | wc -c)
  echo "pkg/ $1: wasm ${wasm} B (${wasm_gz} B gzip), JS ${glue} B (${glue_gz} B gzip), total $((wasm + glue)) B (gzip $((wasm_gz + glue_gz)) B)"
}
size "browser build (index.js)" index.js evstore_wasm_bg.wasm
size "server build (server.js) " server.js evstore_server_bg.wasm
