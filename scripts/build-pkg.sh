#!/usr/bin/env bash
# Build the committed wasm package pkg/ from the Rust crate.
#
#   1. cargo build --release for wasm32-unknown-unknown
#   2. wasm-bindgen --target web (one build serves browsers, workerd, Node and Deno)
#   3. wasm-opt -Os from the npm `binaryen` package (Debian's binaryen 108 produces broken output)
#   4. drop the files wasm-bindgen writes that we do not commit
#
# The result is deterministic: the same sources and toolchain give byte-identical files, which
# scripts/check-pkg.sh relies on. Absolute paths (the cargo registry, the checkout) are remapped
# so that panic locations embedded in the wasm do not depend on where the repo or CARGO_HOME live.
#
# Usage: bash scripts/build-pkg.sh        (from anywhere; works on the repo it lives in)
#        bash scripts/build-pkg.sh --names DIR
#          the same build, with the function and data names kept, written to DIR/memberwire_bg.wasm
#          instead of pkg/ (bench/size.mjs reads where the bytes go from it)
set -euo pipefail

names_dir=""
if [[ "${1:-}" == "--names" ]]; then
  [[ -n "${2:-}" ]] || { echo "build-pkg: --names needs a directory" >&2; exit 2; }
  names_dir="$(mkdir -p "$2" && cd "$2" && pwd)"
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

crate=memberwire
out_dir=pkg
wasm_opt="$repo_root/node_modules/.bin/wasm-opt"

die() { echo "build-pkg: error: $*" >&2; exit 1; }

command -v wasm-bindgen >/dev/null || die "wasm-bindgen not found; run scripts/setup.sh"
[[ -x "$wasm_opt" ]] || die "$wasm_opt not found; run scripts/setup.sh (npm ci)"

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
locked_version="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')"
cli_version="$(wasm-bindgen --version | awk '{print $2}')"
[[ "$cli_version" == "$locked_version" ]] ||
  die "wasm-bindgen CLI is $cli_version but Cargo.lock has $locked_version; run scripts/setup.sh"

# --- 1. compile -------------------------------------------------------------------------------
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
# CARGO_ENCODED_RUSTFLAGS separates flags with 0x1f, so paths with spaces survive.
remap_flags=("--remap-path-prefix=$cargo_home=/cargo" "--remap-path-prefix=$repo_root=/$crate")
if [[ -n "${RUSTFLAGS:-}" ]]; then
  read -r -a user_flags <<<"$RUSTFLAGS"
  remap_flags=("${user_flags[@]}" "${remap_flags[@]}")
fi
CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f'; echo "${remap_flags[*]}")"
export CARGO_ENCODED_RUSTFLAGS
unset RUSTFLAGS

cargo build --lib --release --target wasm32-unknown-unknown

target_dir="$(cargo metadata --format-version 1 --no-deps |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
raw_wasm="$target_dir/wasm32-unknown-unknown/release/$crate.wasm"
[[ -f "$raw_wasm" ]] || die "cargo did not produce $raw_wasm"

# --- 2. bindings ------------------------------------------------------------------------------
# Generate into a fresh temporary directory, then move only the files we keep into pkg/.
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
# --experimental-reset-state-function: __wbg_reset_state() gives the glue a fresh instance of the
# same module after a trap (hosts that cannot load a second copy of the glue, such as workerd).
keep_names=()
[[ -z "$names_dir" ]] || keep_names=(--keep-debug)
wasm-bindgen --target web --experimental-reset-state-function ${keep_names[@]+"${keep_names[@]}"} --out-dir "$staging" --out-name "$crate" "$raw_wasm"

# --- 3. optimize ------------------------------------------------------------------------------
# Enable exactly the features current rustc emits by default for wasm32-unknown-unknown
# (`rustc --print cfg --target wasm32-unknown-unknown`); wasm-opt rejects input that uses a
# feature it was not told about. bulk-memory-opt and call-indirect-overlong are the parts of
# bulk-memory and reference-types that LLVM names separately.
# -Os rather than -Oz: measured on the same build, -Os was 327 bytes smaller in gzip and the 1M
# bulk plan 1.5% faster; the CPU per post did not change (-O3: 557 bytes more than -Oz, no faster
# than -Os).
opt_names=()
[[ -z "$names_dir" ]] || opt_names=(-g)
"$wasm_opt" -Os ${opt_names[@]+"${opt_names[@]}"} \
  --enable-bulk-memory --enable-bulk-memory-opt \
  --enable-nontrapping-float-to-int \
  --enable-sign-ext \
  --enable-mutable-globals \
  --enable-reference-types --enable-call-indirect-overlong \
  --enable-multivalue \
  "$staging/${crate}_bg.wasm" -o "$staging/${crate}_bg.wasm"

if [[ -n "$names_dir" ]]; then
  cp "$staging/${crate}_bg.wasm" "$names_dir/${crate}_bg.wasm"
  echo "build-pkg: $names_dir/${crate}_bg.wasm (names kept; pkg/ untouched)"
  exit 0
fi

# --- 4. publish into pkg/ ---------------------------------------------------------------------
# wasm-bindgen may also write a .gitignore, package.json or snippets/ (none of which we commit).
keep=("$crate.js" "$crate.d.ts" "${crate}_bg.wasm" "${crate}_bg.wasm.d.ts")
[[ ! -d "$staging/snippets" ]] ||
  die "wasm-bindgen wrote snippets/ (inline_js or module imports); decide whether pkg/ should commit them"
rm -rf "$out_dir"
mkdir -p "$out_dir"
for file in "${keep[@]}"; do
  [[ -f "$staging/$file" ]] || die "wasm-bindgen did not write $file"
  cp "$staging/$file" "$out_dir/$file"
done

raw_size="$(wc -c <"$out_dir/${crate}_bg.wasm")"
gzip_size="$(gzip -9 -c "$out_dir/${crate}_bg.wasm" | wc -c)"
echo "build-pkg: $out_dir/${crate}_bg.wasm: $raw_size bytes raw, $gzip_size bytes gzip -9"
