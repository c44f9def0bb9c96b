#!/usr/bin/env bash
# Check that the committed pkg/ is what the current sources build to.
#
# Rebuilds pkg/ with scripts/build-pkg.sh (deterministic), then fails if the result differs from
# the copy git has (`git diff` against the index, so a freshly staged pkg/ counts), or if the
# build wrote files git does not know about.
#
# Usage: bash scripts/check-pkg.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  { echo "check-pkg: error: $repo_root is not a git checkout" >&2; exit 1; }

bash scripts/build-pkg.sh

changed=0
if ! git diff --exit-code --stat -- pkg; then
  changed=1
fi
untracked="$(git ls-files --others --exclude-standard -- pkg)"
if [[ -n "$untracked" ]]; then
  echo "check-pkg: files in pkg/ that git does not track:"
  sed 's/^/  /' <<<"$untracked"
  changed=1
fi

if (( changed )); then
  {
    echo "check-pkg: FAILED: the committed pkg/ is out of date with the sources."
    echo "check-pkg: run \`npm run build\` (bash scripts/build-pkg.sh) and commit pkg/."
    echo "check-pkg: this build used $(rustc --version), wasm-bindgen $(wasm-bindgen --version | awk '{print $2}');"
    echo "check-pkg: a different Rust toolchain also changes the output."
  } >&2
  exit 1
fi
echo "check-pkg: pkg/ matches the sources"
