#!/usr/bin/env bash
# Installs everything moim's build and tests need. Idempotent: when all is
# present it only checks versions and prints "ok" lines.
#
#   - Rust toolchain named in rust-toolchain.toml (+ wasm32-unknown-unknown)
#   - cargo-leptos (built without its binary downloads)
#   - wasm-bindgen-cli, same version as the wasm-bindgen crate in Cargo.lock
#   - Debian chromium (Playwright's browser download is not used), coturn
#     (the TURN relay test starts its own), and wrk and curl for `make bench`
#   - end2end npm packages: @playwright/test, and binaryen for wasm-opt
#
# The steps after the toolchain run at the same time (apt and npm wait on the
# network while cargo compiles), each into a log of its own under
# target/setup/, and every step prints how long it took.
#
# The two cargo tools are built with the dev profile, without debug info:
# they only drive other programs, and an optimised cargo-leptos took 18 min
# to build on a 2-core machine against ~6 min like this (BENCHMARKS.md,
# "Setup"). Cargo tools go to ~/.cargo/bin, shared by every clone on the
# machine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.11
# A quick build of a tool: the dev profile, no debug info to write and link.
TOOL_BUILD=(--debug --config profile.dev.debug=false)

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
setup_start=$SECONDS

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root for: $*"
  fi
}

logs=target/setup
mkdir -p "$logs"
pids=() names=()
# Starts an install step in the background, its output in a log of its own.
start_step() {
  local what=$1; shift
  say "installing $what (log: $logs/$what.log)"
  (
    start=$SECONDS
    if "$@" >"$logs/$what.log" 2>&1; then
      say "installed $what in $((SECONDS - start))s"
    else
      say "FAILED: $what after $((SECONDS - start))s; its log:"
      tail -n 40 "$logs/$what.log" | sed 's/^/    /'
      exit 1
    fi
  ) &
  pids+=($!) names+=("$what")
}

# --- Rust toolchain (first: the cargo steps below need it) ------------------
command -v rustup >/dev/null || die "rustup not found (see https://rustup.rs)"
channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
[ -n "$channel" ] || die "no channel in rust-toolchain.toml"
if rustup toolchain list | grep -q "^$channel-" &&
   rustup target list --installed --toolchain "$channel" | grep -qx wasm32-unknown-unknown; then
  say "ok: rust $channel with wasm32-unknown-unknown"
else
  start=$SECONDS
  # Without arguments rustup installs what rust-toolchain.toml names,
  # including its targets and components.
  rustup toolchain install
  rustup target add --toolchain "$channel" wasm32-unknown-unknown
  say "installed rust $channel in $((SECONDS - start))s"
fi

# --- cargo-leptos ------------------------------------------------------------
if cargo leptos --version 2>/dev/null | grep -qw "$CARGO_LEPTOS_VERSION"; then
  say "ok: cargo-leptos $CARGO_LEPTOS_VERSION"
else
  # no_downloads: take wasm-bindgen, wasm-opt and sass from PATH.
  start_step cargo-leptos \
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked \
      --features no_downloads "${TOOL_BUILD[@]}"
fi

# --- wasm-bindgen-cli --------------------------------------------------------
wb_version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$wb_version" ] || die "wasm-bindgen not found in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$wb_version" ]; then
  say "ok: wasm-bindgen $wb_version"
else
  # Not --locked: its lockfile pins a yanked webpki-roots.
  start_step wasm-bindgen-cli \
    cargo install wasm-bindgen-cli --version "$wb_version" --force "${TOOL_BUILD[@]}"
fi

# --- Debian packages: chromium, coturn, wrk, curl, openssl, a Korean font, libssl-dev
# fonts-nanum: headless Chromium draws Hangul with it (the Korean browser
# tests and the README's screenshots); without it, boxes.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends "$@" ||
    { as_root apt-get update && as_root apt-get install -y --no-install-recommends "$@"; }
}
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
for package in coturn:turnserver wrk:wrk curl:curl openssl:openssl; do
  tool=${package#*:} package=${package%%:*}
  command -v "$tool" >/dev/null || missing+=("$package")
done
[ -d /usr/share/fonts/truetype/nanum ] || missing+=(fonts-nanum)
# The forwarding unit's DTLS and SRTP (str0m's OpenSSL backend) build on these.
[ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if [ ${#missing[@]} -eq 0 ]; then
  say "ok: $(/usr/bin/chromium --version 2>/dev/null), coturn, wrk, curl, openssl, fonts-nanum, libssl-dev"
else
  start_step apt apt_install "${missing[@]}"
fi

# --- npm packages (Playwright, binaryen's wasm-opt) --------------------------
command -v npm >/dev/null || die "npm not found (Node.js 20 or newer is needed)"
lock_hash=$(sha256sum end2end/package.json end2end/package-lock.json | sha256sum | cut -d' ' -f1)
stamp=end2end/node_modules/.moim-installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  say "ok: end2end/node_modules"
else
  npm_install() {
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error) && echo "$lock_hash" > "$stamp"
  }
  start_step npm npm_install
fi

failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { failed=1; say "step failed: ${names[$i]}"; }
done
[ "$failed" -eq 0 ] || die "setup failed (logs in $logs/)"

wasm_opt=end2end/node_modules/binaryen/bin/wasm-opt
wasm_opt_version=$("$wasm_opt" --version 2>&1) || die "$wasm_opt does not run: $wasm_opt_version"
say "ok: $wasm_opt ($wasm_opt_version)"
say "setup done in $((SECONDS - setup_start))s"
