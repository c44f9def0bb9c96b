#!/usr/bin/env bash
# Builds the installable WordPress plugin: dist/memberwire-wordpress.zip, with the plugin in a
# top-level memberwire/ folder (Plugins -> Add New -> Upload Plugin takes it as it is).
#
# The zip holds wordpress-plugin/memberwire plus the admin screens for wp-admin in assets/:
#   assets/admin/     www/ (its scripts and screens; memberwire.css: only memberwire's own rules,
#                     scripts/embed-css.mjs, since wp-admin draws the rest)
#   assets/js/hosts/  the browser host, as browser.js (web servers know .js; not all know .mjs)
#   assets/pkg/       the wasm package the previews run
#
# Usage: npm run plugin-zip
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R wordpress-plugin/memberwire "$stage/memberwire"
assets="$stage/memberwire/assets"
mkdir -p "$assets/admin" "$assets/js/hosts" "$assets/pkg"
cp -R www/. "$assets/admin/"
rm -f "$assets/admin/index.html" "$assets/admin/admin.css"
node scripts/embed-css.mjs www/admin.css >"$assets/admin/memberwire.css"
sed -i "s#'../js/hosts/browser.mjs'#'../js/hosts/browser.js'#" "$assets/admin/wasm.js"
grep -q "'../js/hosts/browser.js'" "$assets/admin/wasm.js" || { echo "plugin-zip: www/wasm.js no longer imports ../js/hosts/browser.mjs" >&2; exit 1; }
cp js/hosts/browser.mjs "$assets/js/hosts/browser.js"
cp pkg/memberwire.js pkg/memberwire_bg.wasm "$assets/pkg/"
mkdir -p dist
rm -f dist/memberwire-wordpress.zip
( cd "$stage" && python3 -m zipfile -c "$OLDPWD/dist/memberwire-wordpress.zip" memberwire/ )
python3 -m zipfile -l dist/memberwire-wordpress.zip | wc -l | xargs echo "plugin-zip: files:"
echo "plugin-zip: dist/memberwire-wordpress.zip"
