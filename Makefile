# evstore — every target sets up what it needs (scripts/setup.sh is idempotent).
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
WASM := --target wasm32-unknown-unknown
PORT ?= 8080
## The edge-service suites that run against both hosts (workerd and the Node server, EVSTORE_HOST=server);
## the rest of tests/js/edge-service/ (wrangler, make edge, the Durable Object's SQLite, misrouting, the
## benchmark's reference object, the in-process host) is about the Cloudflare host and runs on workerd only.
SERVICE_SUITES := $(addprefix tests/js/edge-service/,auth.test.mjs http.test.mjs lifecycle.test.mjs limits.test.mjs \
  reserved-keys.test.mjs scoped.test.mjs security.test.mjs sync.test.mjs)
EDGE_SUITES := $(filter-out $(SERVICE_SUITES),$(wildcard tests/js/edge-service/*.test.mjs))
BACKEND ?= edge

.PHONY: setup package demo edge server test lint test-native test-wasm test-js bench clean

setup:
	@scripts/setup.sh

package: setup
	@scripts/build-package.sh

## make demo: build the package, then run the demo app on http://127.0.0.1:$(PORT)/ synced through
## BACKEND=edge (default): the edge service in workerd on 127.0.0.1:$${EDGE_PORT:-8787}, data in
## $${EDGE_DATA:-.edge-data}; or BACKEND=server: the Node.js server on 127.0.0.1:$${SERVER_PORT:-8788},
## on DATABASE_URL or else PGlite in $${SERVER_DATA:-.server-data}. Prints the URLs of two devices
## to open side by side. Ctrl-C stops both. It needs no browser: setup skips Chromium.
demo: export EVSTORE_SETUP := package
demo: export PORT := $(PORT)
demo: export BACKEND := $(BACKEND)
demo: package
	node scripts/demo.mjs

## make edge: the edge service in workerd on 127.0.0.1:$${EDGE_PORT:-8787}, data in $${EDGE_DATA:-.edge-data}
edge: package
	node scripts/edge.mjs

## make server: the self-hosted server (Node.js) on 127.0.0.1:$${SERVER_PORT:-8788}, on $${DATABASE_URL}
## or else an embedded PostgreSQL (PGlite) in $${SERVER_DATA:-.server-data}
server: package
	node scripts/server.mjs

## make test: lints, native tests (+ proptest, doctests), wasm tests in Node and headless
## Chromium (wasm-pack), then the built package: tsc, Node, Chromium, Vite, the demo end-to-end,
## Deno and workerd, PostgreSQL (PGlite and a throwaway cluster), and a smoke run of the benchmark harness.
test: lint test-native test-wasm test-js

lint: setup
	cargo fmt --check
	cargo clippy --quiet --all-targets -- -D warnings
	cargo clippy --quiet --all-targets $(WASM) -- -D warnings
	cargo clippy --quiet --test durable_object $(WASM) -- -D warnings
	cargo clippy --quiet --all-targets --no-default-features -- -D warnings
	cargo clippy --quiet --all-targets $(WASM) --no-default-features --features indexeddb -- -D warnings
	cargo clippy --quiet --all-targets $(WASM) --no-default-features --features indexeddb,sync -- -D warnings
	cargo clippy --quiet --lib $(WASM) --no-default-features --features durable-object,postgres,server,sync -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps
	RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps $(WASM)

test-native: setup
	cargo test --quiet

## The browser suites run as one page each; wasm-bindgen-test-runner gives a page 20 s by default,
## too little for the IndexedDB suite on a loaded 2-core machine.
test-wasm: export WASM_BINDGEN_TEST_TIMEOUT := 300
test-wasm: setup
	wasm-pack test --node
	wasm-pack test --headless --chrome

test-js: package
	node_modules/.bin/tsc -p tests/js/tsconfig.json
	node --expose-gc --test --test-reporter=spec tests/js/node/
	node --test --test-reporter=spec --test-concurrency=1 tests/js/browser/
	node --test --test-reporter=spec tests/js/edge/
	node --test --test-reporter=spec $(SERVICE_SUITES) $(EDGE_SUITES)
	EVSTORE_HOST=server node --test --test-reporter=spec --test-concurrency=1 $(SERVICE_SUITES)
	node --test --test-reporter=spec --test-concurrency=1 tests/js/postgres/
	node --test --test-reporter=spec --test-concurrency=1 tests/js/server/
	node --test --test-reporter=spec --test-concurrency=1 tests/js/sync/
	node --test --test-reporter=spec --test-concurrency=1 tests/js/dx/
	node --test --test-reporter=spec --test-concurrency=1 tests/js/demo/
	node bench/run.mjs --smoke
	timeout 900 node bench/sync.mjs --smoke
	timeout 600 node bench/bootstrap.mjs --smoke
	timeout 600 node bench/server.mjs --smoke

bench: package
	node --expose-gc bench/run.mjs
	node bench/edge.mjs
	node bench/edge-size.mjs
	node bench/sync.mjs
	node bench/bootstrap.mjs
	node bench/server.mjs
	node bench/goals24.mjs

clean:
	cargo clean
	rm -rf pkg node_modules tests/js/vite/dist
