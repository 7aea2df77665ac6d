# moim: build, run and test. Every target first runs scripts/setup.sh, which
# installs missing tools and is quick when everything is present.

# cargo-leptos finds wasm-bindgen (~/.cargo/bin) and wasm-opt (npm binaryen) on PATH.
export PATH := $(CURDIR)/end2end/node_modules/binaryen/bin:$(HOME)/.cargo/bin:$(PATH)

# A one-off build (CI, a fresh clone) has no use for incremental caches,
# which take gigabytes beside the build itself.
ifdef CI
export CARGO_INCREMENTAL := 0
endif

.PHONY: setup build run test bench bench-call bench-restart

# Views are type-erased in every build (always-erase-components in
# Cargo.toml): cargo-leptos passes this flag to the builds it runs, and the
# builds it does not run get the same one, or cargo would rebuild every
# dependency for them.
ERASED = --cfg erase_components

# The release build. --precompress writes .br (brotli 11) and .gz beside
# every static file, which the server sends as they are; cargo-leptos' gzip
# is a fast one, so the .gz files are made again with gzip -9.
RELEASE_BUILD = cargo leptos build --release --precompress && \
	find target/site -type f ! -name '*.gz' ! -name '*.br' -exec gzip -9 -k -f {} +

setup:
	bash scripts/setup.sh

# Dev build: target/site and target/debug/moim.
build: setup
	cargo leptos build

# Release build, served on 127.0.0.1:3000 (see Leptos.toml).
run: setup
	$(RELEASE_BUILD)
	./target/release/moim

# Rust unit and integration tests, then the browser tests against a dev build.
# cargo-leptos builds only the client here: `cargo test` builds the server
# binary the browser tests run (target/debug/moim), with the flag that
# cargo-leptos gives dev builds, so every dependency is compiled once for
# both (two feature sets and flags built them twice, ~10 min on 2 cores).
test: setup
	cargo fmt --check
	cargo leptos build --frontend-only
	RUSTFLAGS="$(ERASED)" cargo test --features ssr
	cd end2end && npx playwright test

# Every benchmark, each figure beside its budget (see BENCHMARKS.md).
bench: setup
	$(RELEASE_BUILD)
	RUSTFLAGS="$(ERASED)" cargo build --release --example signal_load --example signal_fuzz --example abuse --example forward_load --features ssr
	bash scripts/bench.sh

bench-call: setup
	$(RELEASE_BUILD)
	node end2end/bench/call.mjs

bench-restart: setup
	$(RELEASE_BUILD)
	node end2end/bench/restart.mjs
