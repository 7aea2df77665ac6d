# moim: build, run and test. Every target first runs scripts/setup.sh, which
# installs missing tools and is quick when everything is present.

# cargo-leptos finds wasm-bindgen (~/.cargo/bin) and wasm-opt (npm binaryen) on PATH.
export PATH := $(CURDIR)/end2end/node_modules/binaryen/bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: setup build run test bench-call bench-restart

setup:
	bash scripts/setup.sh

# Dev build: target/site and target/debug/moim.
build: setup
	cargo leptos build

# Release build, served on 127.0.0.1:3000 (see Leptos.toml).
run: setup
	cargo leptos build --release
	./target/release/moim

# Rust unit and integration tests, then the browser tests against a dev build.
test: setup
	cargo fmt --check
	cargo test --features ssr
	cargo leptos build
	cd end2end && npx playwright test

bench-call: setup
	cargo leptos build --release
	node end2end/bench/call.mjs

bench-restart: setup
	cargo leptos build --release
	node end2end/bench/restart.mjs
