#!/usr/bin/env bash
# Builds the installable WordPress plugin: dist/memberwire-wordpress.zip, with the plugin in a
# top-level memberwire/ folder (Plugins -> Add New -> Upload Plugin takes it as it is).
#
# Usage: npm run plugin-zip
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p dist
rm -f dist/memberwire-wordpress.zip
( cd wordpress-plugin && python3 -m zipfile -c ../dist/memberwire-wordpress.zip memberwire/ )
python3 -m zipfile -l dist/memberwire-wordpress.zip | head -n 20
echo "plugin-zip: dist/memberwire-wordpress.zip"
