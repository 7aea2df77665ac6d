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
# Cargo tools go to ~/.cargo/bin, shared by every clone on the machine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.11

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# Runs an install command and reports how long it took.
install_step() {
  local what=$1; shift
  say "installing $what: $*"
  local start=$SECONDS
  "$@"
  say "installed $what in $((SECONDS - start))s"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root for: $*"
  fi
}

# --- Rust toolchain ----------------------------------------------------------
command -v rustup >/dev/null || die "rustup not found (see https://rustup.rs)"
channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
[ -n "$channel" ] || die "no channel in rust-toolchain.toml"
if rustup toolchain list | grep -q "^$channel-" &&
   rustup target list --installed --toolchain "$channel" | grep -qx wasm32-unknown-unknown; then
  say "ok: rust $channel with wasm32-unknown-unknown"
else
  # Without arguments rustup installs what rust-toolchain.toml names,
  # including its targets and components.
  install_step "rust $channel" rustup toolchain install
  rustup target add --toolchain "$channel" wasm32-unknown-unknown
fi

# --- cargo-leptos ------------------------------------------------------------
if cargo leptos --version 2>/dev/null | grep -qw "$CARGO_LEPTOS_VERSION"; then
  say "ok: cargo-leptos $CARGO_LEPTOS_VERSION"
else
  # no_downloads: take wasm-bindgen, wasm-opt and sass from PATH.
  install_step "cargo-leptos $CARGO_LEPTOS_VERSION" \
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

# --- wasm-bindgen-cli --------------------------------------------------------
wb_version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$wb_version" ] || die "wasm-bindgen not found in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$wb_version" ]; then
  say "ok: wasm-bindgen $wb_version"
else
  # Not --locked: its lockfile pins a yanked webpki-roots.
  install_step "wasm-bindgen-cli $wb_version" \
    cargo install wasm-bindgen-cli --version "$wb_version" --force
fi

# --- Debian packages: chromium, coturn, wrk, curl, openssl ----------------------------
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends "$@" ||
    { as_root apt-get update && as_root apt-get install -y --no-install-recommends "$@"; }
}
if [ -x /usr/bin/chromium ]; then
  say "ok: $(/usr/bin/chromium --version 2>/dev/null)"
else
  install_step chromium apt_install chromium
fi
for package in coturn:turnserver wrk:wrk curl:curl openssl:openssl; do
  tool=${package#*:} package=${package%%:*}
  if command -v "$tool" >/dev/null; then
    say "ok: $tool"
  else
    install_step "$package" apt_install "$package"
  fi
done

# --- npm packages (Playwright, binaryen's wasm-opt) --------------------------
command -v npm >/dev/null || die "npm not found (Node.js 20 or newer is needed)"
lock_hash=$(sha256sum end2end/package.json end2end/package-lock.json | sha256sum | cut -d' ' -f1)
stamp=end2end/node_modules/.moim-installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  say "ok: end2end/node_modules"
else
  npm_install() { (cd end2end && npm ci --no-audit --no-fund --loglevel=error); }
  install_step "end2end npm packages (npm ci)" npm_install
  echo "$lock_hash" > "$stamp"
fi

wasm_opt=end2end/node_modules/binaryen/bin/wasm-opt
wasm_opt_version=$("$wasm_opt" --version 2>&1) || die "$wasm_opt does not run: $wasm_opt_version"
say "ok: $wasm_opt ($wasm_opt_version)"
