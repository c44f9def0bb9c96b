#!/usr/bin/env bash
# Static checks: formatting, clippy on both targets, and the binding-layer boundary.
#
#   1. cargo fmt --check
#   2. cargo clippy --all-targets -- -D warnings                      (native: lib, tests, ...)
#   3. cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings (the wasm build,
#      and the tests as they run in Node and Chromium)
#   4. only src/bindings/ may mention wasm_bindgen, js_sys, web_sys or getrandom; Rust files
#      under tests/ may also use wasm_bindgen_test (and its macros). Comments (after //) are
#      not checked, so docs may name the crates.
#
# Usage: bash scripts/lint.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { echo "lint: $*"; }

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy (native, all targets)"
cargo clippy --all-targets -- -D warnings

step "cargo clippy (wasm32-unknown-unknown, all targets)"
cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings

step "binding layer boundary"
# Every Rust file in the repo that git would track (so target/ and node_modules/ are skipped).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t rust_files < <(git ls-files --cached --others --exclude-standard -- '*.rs')
else
  mapfile -t rust_files < <(find . -name '*.rs' -not -path './target/*' -not -path './node_modules/*' | sed 's|^\./||')
fi

# Text before any `//` comment on the line (a `//` right after `:` is a URL, not a comment),
# then one of the JS-facing crates as a whole identifier.
code_before_comment='^(?:(?!(?<!:)//).)*?'
js_crates='\b(wasm_bindgen\w*|js_sys|web_sys|getrandom)\b'
# The same, but letting wasm_bindgen_test and wasm_bindgen_test_configure through.
js_crates_except_test='\b(?!wasm_bindgen_test)(wasm_bindgen\w*|js_sys|web_sys|getrandom)\b'

offenders=()
for file in "${rust_files[@]}"; do
  [[ -f "$file" ]] || continue   # deleted but still in the index
  case "$file" in
    src/bindings/*) continue ;;
    tests/*) pattern="$code_before_comment$js_crates_except_test" ;;
    *) pattern="$code_before_comment$js_crates" ;;
  esac
  if matches="$(grep -nP "$pattern" "$file")"; then
    offenders+=("$file")
    sed "s|^|  $file:|" <<<"$matches" >&2
  fi
done

if (( ${#offenders[@]} > 0 )); then
  {
    echo "lint: FAILED: only src/bindings/ may use wasm_bindgen, js_sys, web_sys or getrandom"
    echo "lint: (tests/ may use wasm_bindgen_test). Move the JS-facing code into src/bindings/ in:"
    printf '  %s\n' "${offenders[@]}"
  } >&2
  exit 1
fi
step "ok"
