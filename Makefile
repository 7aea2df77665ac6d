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

# The release build. --precompress writes .br (brotli 11) and .gz beside
# every static file, which the server sends as they are; cargo-leptos' gzip
# is a fast one, so the .gz files are made again with gzip -9.
# cargo-leptos builds release views type-erased (always-erase-components in
# Cargo.toml) by passing this flag; the examples get the same one, or cargo
# would rebuild every release dependency for them and again for the server.
ERASED = --cfg erase_components
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
test: setup
	cargo fmt --check
	cargo test --features ssr
	cargo leptos build
	cd end2end && npx playwright test

# Every benchmark, each figure beside its budget (see BENCHMARKS.md).
bench: setup
	$(RELEASE_BUILD)
	RUSTFLAGS="$(ERASED)" cargo build --release --example signal_load --example signal_fuzz --features ssr
	bash scripts/bench.sh

bench-call: setup
	$(RELEASE_BUILD)
	node end2end/bench/call.mjs

bench-restart: setup
	$(RELEASE_BUILD)
	node end2end/bench/restart.mjs
