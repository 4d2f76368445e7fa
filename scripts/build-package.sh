#!/usr/bin/env bash
# Builds the npm package into pkg/: three wasm builds, each with its own entry, and the browsers' entry.
#   - The browser builds (features `indexeddb`, memory always): evstore_local_bg.wasm without the
#     sync client (entry local.js) and evstore_wasm_bg.wasm with it (`sync`; entry synced.js).
#     index.js, what browsers and bundlers get (export conditions browser, import, default), imports
#     the entry its first `open()` of each kind needs (pkg-template/index.js).
#   - The server build (features `durable-object,postgres,server,sync`: the Durable Object and
#     PostgreSQL storages, both halves of sync, no IndexedDB): server.js + evstore_server_bg.wasm,
#     what node.js and deno.js load; and the same without PostgreSQL for workerd.js
#     (workerd-store.js + evstore_workerd_bg.wasm).
# pkg/ gets the hand-written files of pkg-template/ and the server's JS (server/, edge/src/service/),
# then each build: release wasm → wasm-bindgen (web target) → wasm-opt -Oz (npm binaryen, never
# Debian's) → one entry of that build's glue and pkg-template/store.js (scripts/bundle-entry.mjs).
# Each build has its own target dir, so that none is rebuilt when only another's features changed.
# Links node_modules/evstore → pkg so that tests and the demo import "evstore" like any user.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

rm -rf pkg && mkdir -p pkg
# (store.js is the template of the entries below, not a file of the package)
find pkg-template -maxdepth 1 -type f ! -name store.js -exec cp {} pkg/ \;
# evstore/server: the Node host and the edge service's shared logic it runs, in the same relative
# layout as in the repository (server/*.js import ../edge/src/service/*.js unchanged).
mkdir -p pkg/server pkg/edge/src/service
cp server/*.js pkg/server/
cp edge/src/service/*.js pkg/edge/src/service/

glue=$(mktemp -d) # wasm-bindgen's output of both builds
trap 'rm -rf "$glue"' EXIT

# build <features> <target dir> <name>: the release wasm, its glue in $glue/<name>/<name>.js, the
# optimised wasm in pkg/<name>_bg.wasm
build() {
  local features=$1 target=$2 name=$3 file=$3
  cargo build --quiet --release --lib --target wasm32-unknown-unknown \
    --no-default-features --features "$features" --target-dir "$target"
  mkdir -p "$glue/$file"
  wasm-bindgen --target web --out-dir "$glue/$file" --out-name "$name" --no-typescript --weak-refs \
    "$target/wasm32-unknown-unknown/release/evstore.wasm"
  node_modules/.bin/wasm-opt -Oz \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$glue/$file/${name}_bg.wasm" -o "pkg/${file}_bg.wasm"
}
entry() { node scripts/bundle-entry.mjs "$@"; }

# The server build (with the client half of sync too: Node and Deno apps sync as clients).
build durable-object,postgres,server,sync target evstore_server
entry "$glue/evstore_server/evstore_server.js" pkg-template/store.js pkg/server.js evstore_server_bg.wasm
# The workerd build: the server build without the PostgreSQL storage, which a Worker has no use for
# (what the edge service uploads).
build durable-object,server,sync target/wasm-workerd evstore_workerd
entry "$glue/evstore_workerd/evstore_workerd.js" pkg-template/store.js pkg/workerd-store.js evstore_workerd_bg.wasm
# The browser builds, each with its own glue and entry: with the sync client (synced.js) and without
# it (local.js, also without the sync host's JS); both take EventStoreError from index.js.
build indexeddb,sync target/wasm-browser evstore_wasm
entry "$glue/evstore_wasm/evstore_wasm.js" pkg-template/store.js pkg/synced.js evstore_wasm_bg.wasm --shared-error
build indexeddb target/wasm-local evstore_local
entry "$glue/evstore_local/evstore_local.js" pkg-template/store.js pkg/local.js evstore_local_bg.wasm \
  --shared-error --no-sync-host
node scripts/browser-entry.mjs pkg-template/index.js src/codec.js "$glue/evstore_wasm/evstore_wasm.js" \
  "$glue/evstore_server/evstore_server.js" pkg/index.js
mkdir -p node_modules && ln -sfn ../pkg node_modules/evstore

# size <label> <entry files> <wasm>: raw and gzip sizes of what a page of one build fetches
size() {
  local wasm wasm_gz js=0 js_gz=0 f
  wasm=$(stat -c %s "pkg/$3")
  wasm_gz=$(gzip -9c "pkg/$3" | wc -c)
  for f in $2; do
    js=$((js + $(wc -c < "pkg/$f")))
    js_gz=$((js_gz + $(gzip -9c "pkg/$f" | wc -c)))
  done
  echo "pkg/ $1: wasm ${wasm} B (${wasm_gz} B gzip), JS ${js} B (${js_gz} B gzip), total $((wasm + js)) B (gzip $((wasm_gz + js_gz)) B)"
}
size "browser, without sync (index.js + local.js)" "index.js local.js" evstore_local_bg.wasm
size "browser, with sync (index.js + synced.js)" "index.js synced.js" evstore_wasm_bg.wasm
size "server build (server.js)" server.js evstore_server_bg.wasm
size "workerd build (workerd-store.js)" workerd-store.js evstore_workerd_bg.wasm
