#!/usr/bin/env bash
# Install what a fresh machine lacks to build and test memberwire. Idempotent: every step checks
# first and does nothing when its tool is already there. Quiet on success (one line per thing it
# installs); on failure it prints the failing command's full output and exits non-zero.
#
# Expects: Rust via rustup, Node 20+ with npm, gcc. Installs:
#   - the wasm32-unknown-unknown target, plus the clippy and rustfmt components (scripts/lint.sh)
#   - wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock
#     (wasm-bindgen, wasm-bindgen-test-runner)
#   - Debian's chromium and chromium-driver (headless wasm tests, Playwright)
#   - node_modules/ from package-lock.json with `npm ci` (wasm-opt from npm binaryen, miniflare,
#     playwright-core)
#
# Usage: bash scripts/setup.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

die() { echo "setup: error: $*" >&2; exit 1; }

# Run a command with its output captured; show the output only if it fails.
quietly() {
  local description="$1"; shift
  local log
  log="$(mktemp)"
  echo "setup: $description"
  if ! "$@" </dev/null >"$log" 2>&1; then
    echo "setup: FAILED: $description" >&2
    echo "setup: command: $*" >&2
    sed 's/^/  | /' "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

# Root runs apt-get directly; anyone else needs sudo.
as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi
}

# --- prerequisites ----------------------------------------------------------------------------
for tool in rustup cargo node npm; do
  command -v "$tool" >/dev/null || die "$tool is not installed (expected on every machine)"
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || die "Node $(node --version) is too old; memberwire needs Node 20+"

# --- Rust target and components ---------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  quietly "adding Rust target wasm32-unknown-unknown" rustup target add wasm32-unknown-unknown
fi
for component in clippy rustfmt; do
  if ! rustup component list --installed | grep -q "^$component"; then
    quietly "adding Rust component $component" rustup component add "$component"
  fi
done

# --- wasm-bindgen CLI, same version as the crate ----------------------------------------------
# The CLI refuses to process a module built against a different wasm-bindgen crate version.
# No --locked: one of its locked dependency versions is missing from the registry mirror.
bindgen_version="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')"
[[ -n "$bindgen_version" ]] || die "could not read the wasm-bindgen version from Cargo.lock"
installed_version() { "$1" --version 2>/dev/null | awk '{print $2}' || true; }
if [[ "$(installed_version wasm-bindgen)" != "$bindgen_version" ||
      "$(installed_version wasm-bindgen-test-runner)" != "$bindgen_version" ]]; then
  quietly "installing wasm-bindgen-cli $bindgen_version (takes a few minutes)" \
    cargo install wasm-bindgen-cli --version "=$bindgen_version" --force
fi

# --- cargo-fuzz (scripts/fuzz.sh) -------------------------------------------------------------
if ! cargo fuzz --version >/dev/null 2>&1; then
  quietly "installing cargo-fuzz (takes a minute)" cargo install cargo-fuzz --version =0.13.2
fi

# --- Chromium and its WebDriver (Debian packages) ---------------------------------------------
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  command -v apt-get >/dev/null || die "chromium/chromedriver missing and apt-get is not available"
  quietly "apt-get update" as_root apt-get update
  quietly "installing chromium and chromium-driver" \
    as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends chromium chromium-driver
fi

# --- npm packages -----------------------------------------------------------------------------
# node_modules/ is current when it was installed from this exact package-lock.json; the stamp
# records the lock's hash after a successful `npm ci`.
stamp=node_modules/.memberwire-lock.sha256
lock_hash="$(sha256sum package-lock.json | awk '{print $1}')"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  rm -f "$stamp"   # a failed `npm ci` must not leave a stale stamp behind
  quietly "installing npm packages (npm ci)" npm ci --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
fi
