#!/usr/bin/env bash
# The test command (`npm test` runs it; so does CI through .ci/run). Runs every test layer in
# order and stops at the first one that fails:
#
#   setup        scripts/setup.sh: install what is missing (wasm-bindgen-cli, chromium, npm ci)
#   lint         scripts/lint.sh: rustfmt, clippy (native and wasm), binding-layer boundary
#   native       cargo test: all Rust tests, natively
#   wasm-node    the Rust tests compiled to wasm32, run in Node by wasm-bindgen-test-runner
#   wasm-chrome  the same wasm tests in headless Chromium (WASM_BINDGEN_USE_BROWSER=1)
#   check-pkg    scripts/check-pkg.sh: the committed pkg/ is what the sources build to
#   fuzz-quick   scripts/fuzz.sh 10: every fuzz target for 10 s (libFuzzer via cargo fuzz)
#   js           node --test over tests/js/**/*.test.mjs (against pkg/, workerd via miniflare)
#   browser      node --test over tests/browser/**/*.test.mjs (Playwright), if tests/browser exists
#   bench-quick  node bench/run.mjs --quick: every benchmark at small sizes, as a smoke check
#                (it fails only if a benchmark breaks or its implementations disagree; times are
#                printed, never asserted)
#
# At most 2 jobs run at once (the machines have 2 cores). A summary line per layer ends the run.
#
# Usage: bash scripts/test.sh [layer ...]     (default: all layers, in the order above)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

all_layers=(setup lint native wasm-node wasm-chrome check-pkg fuzz-quick js browser bench-quick)
if (( $# > 0 )); then
  for layer in "$@"; do
    [[ " ${all_layers[*]} " == *" $layer "* ]] ||
      { echo "test: unknown layer '$layer' (layers: ${all_layers[*]})" >&2; exit 2; }
  done
  layers=("$@")
else
  layers=("${all_layers[@]}")
fi

# Parallelism: 2 compile jobs, 2 Rust test threads, 2 node test files at a time.
export CARGO_BUILD_JOBS=2
export RUST_TEST_THREADS=2
node_test=(node --test --test-concurrency=2)

# Every *.test.mjs under a directory, sorted, so every Node version runs the same files.
test_files_under() { find "$1" -type f -name '*.test.mjs' | LC_ALL=C sort; }

# --- the layers -------------------------------------------------------------------------------
layer_setup() { bash scripts/setup.sh; }

layer_lint() { bash scripts/lint.sh; }

layer_native() { cargo test --no-fail-fast; }

layer_wasm-node() {
  # Node is the runner's default when no WASM_BINDGEN_USE_* variable is set. (No -q: it breaks
  # wasm-bindgen-test-runner.)
  env -u WASM_BINDGEN_USE_BROWSER cargo test --target wasm32-unknown-unknown --tests --no-fail-fast
}

layer_wasm-chrome() {
  # wasm-bindgen-test-runner runs a test binary in a browser when WASM_BINDGEN_USE_BROWSER is set
  # (or the binary says wasm_bindgen_test_configure!(run_in_browser)), driving it through the
  # WebDriver named by CHROMEDRIVER; it adds --headless and --no-sandbox itself. The timeout is
  # for a whole test binary (default 20 s, too short for debug builds of long tests).
  local chromedriver
  chromedriver="$(command -v chromedriver)" || { echo "test: chromedriver not found" >&2; return 1; }
  WASM_BINDGEN_USE_BROWSER=1 \
    CHROMEDRIVER="$chromedriver" \
    WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}" \
    cargo test --target wasm32-unknown-unknown --tests --no-fail-fast
}

layer_check-pkg() { bash scripts/check-pkg.sh; }

layer_fuzz-quick() { bash scripts/fuzz.sh 10; }

layer_js() {
  local files
  mapfile -t files < <(test_files_under tests/js 2>/dev/null || true)
  (( ${#files[@]} > 0 )) || { echo "test: no *.test.mjs files under tests/js/" >&2; return 1; }
  "${node_test[@]}" "${files[@]}"
}

layer_bench-quick() { node bench/run.mjs --quick; }

layer_browser() {
  if [[ ! -d tests/browser ]]; then
    echo "test: tests/browser/ does not exist; skipping"
    return 0
  fi
  local files
  mapfile -t files < <(test_files_under tests/browser)
  (( ${#files[@]} > 0 )) || { echo "test: no *.test.mjs files under tests/browser/" >&2; return 1; }
  "${node_test[@]}" "${files[@]}"
}

# --- driver -----------------------------------------------------------------------------------
summary=()
print_summary() {
  (( ${#summary[@]} > 0 )) || return 0
  echo
  echo "==== summary ===="
  printf '%s\n' "${summary[@]}"
}
trap print_summary EXIT

for layer in "${layers[@]}"; do
  echo
  echo "================================================================================"
  echo "==== $layer"
  echo "================================================================================"
  started=$SECONDS
  status=0
  "layer_$layer" || status=$?
  elapsed=$(( SECONDS - started ))
  if (( status != 0 )); then
    summary+=("$(printf '%-12s FAIL (exit %d, %ds)' "$layer" "$status" "$elapsed")")
    exit "$status"
  fi
  if [[ "$layer" == browser && ! -d tests/browser ]]; then
    summary+=("$(printf '%-12s skipped (no tests/browser/)' "$layer")")
  else
    summary+=("$(printf '%-12s ok (%ds)' "$layer" "$elapsed")")
  fi
done
