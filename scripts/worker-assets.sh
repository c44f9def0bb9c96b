#!/usr/bin/env bash
# Lays out the admin page's files for the Worker's ASSETS binding in DIR (default
# .wrangler/assets): www/ under /admin, the wasm package under /pkg, the browser host under
# /js/hosts, and the page's security headers. The same paths the Node server serves.
#
# Usage: bash scripts/worker-assets.sh [DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
assets="${1:-.wrangler/assets}"
rm -rf "$assets"
mkdir -p "$assets/admin" "$assets/pkg" "$assets/js/hosts"
cp -R www/. "$assets/admin/"
cp pkg/memberwire.js pkg/memberwire_bg.wasm "$assets/pkg/"
cp js/hosts/browser.mjs "$assets/js/hosts/"
# The admin page runs wasm, talks only to this origin and is never framed (as on the Node server).
cat >"$assets/_headers" <<'HEADERS'
/*
  Content-Security-Policy: default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'
  X-Content-Type-Options: nosniff
  Cache-Control: no-store
HEADERS
