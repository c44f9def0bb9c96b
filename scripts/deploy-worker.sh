#!/usr/bin/env bash
# `npm run deploy`: memberwire to Cloudflare Workers with wrangler (wrangler.toml).
#   1. lays out the admin page's assets in .wrangler/assets (www/ under /admin, the wasm package
#      under /pkg, the browser host under /js/hosts)
#   2. applies migrations/ to the D1 database (`wrangler d1 migrations apply memberwire --remote`)
#   3. deploys the Worker with its queue consumers and cron
#
# Usage: npm run deploy                 (needs `npx wrangler login`, and the D1 id in wrangler.toml)
#        npm run deploy -- --dry-run    (validates and bundles; nothing leaves this machine)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export WRANGLER_SEND_METRICS=false

bash scripts/worker-assets.sh .wrangler/assets

if [[ "${1:-}" == "--dry-run" ]]; then
  npx wrangler deploy --dry-run --outdir .wrangler/dry-run
  exit 0
fi
npx wrangler d1 migrations apply memberwire --remote
npx wrangler deploy
