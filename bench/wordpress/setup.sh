#!/usr/bin/env bash
# Sets up real WordPress (Debian's package, MariaDB, php -S) as the baseline of bench/posts.mjs.
# Idempotent: every run leaves the same state, a WordPress with only its administrator.
#
#   bash bench/wordpress/setup.sh            # base dir /tmp/memberwire-bench-wordpress
#   MW_WP_BASE=/some/dir bash bench/wordpress/setup.sh
#
# The database (memberwire_bench) is one per machine: a second base dir takes it over (its own
# database password and application password); running setup.sh again for the first one takes
# it back.
#
# What it does:
#   1. apt-get install wordpress php-cli php-mysql php-curl php-xml php-mbstring mariadb-server
#      (only when one is missing; apt-get update first if the install fails);
#   2. service mariadb start (when it is not answering), a database and a user;
#   3. copies /usr/share/wordpress (symlinks resolved) to BASE/wordpress and writes its own
#      wp-config.php (WP_ENVIRONMENT_TYPE=local, so application passwords work over plain HTTP;
#      no cron spawns, no outbound HTTP), and installs the benchmark's webhook plugin
#      (memberwire-bench-hook.php) as a must-use plugin;
#   4. installs WordPress through wp-admin/install.php?step=2 on a php -S started for that and
#      stopped again (by process group), when it is not installed yet;
#   5. creates an application password for the administrator (php -r style, through
#      WP_Application_Passwords), kept in BASE/state;
#   6. deletes every user but the administrator (the benchmark counts users per email).
#
# Secrets (database password, administrator password, application password, the hook key) are
# written to BASE/state (mode 700), never printed. The last line on stdout is JSON naming the
# directories. Progress goes to stderr.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE=${MW_WP_BASE:-/tmp/memberwire-bench-wordpress}
WP_DIR="$BASE/wordpress"
STATE="$BASE/state"
DB_NAME=memberwire_bench
DB_USER=memberwire_bench
ADMIN_USER=admin
ADMIN_EMAIL=admin@example.com

say() { echo "wordpress setup: $*" >&2; }

# ---- 1. packages --------------------------------------------------------------------------------
PACKAGES=(wordpress php-cli php-mysql php-curl php-xml php-mbstring mariadb-server)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >&2; }
  if ! apt_install; then
    apt-get -o DPkg::Lock::Timeout=600 update -q >&2
    apt_install
  fi
fi

# ---- 2. MariaDB -----------------------------------------------------------------------------------
if ! mysqladmin ping --silent >/dev/null 2>&1; then
  say 'starting mariadb'
  service mariadb start >&2
  for _ in $(seq 1 60); do
    mysqladmin ping --silent >/dev/null 2>&1 && break
    sleep 0.5
  done
  mysqladmin ping --silent >/dev/null 2>&1 || { say 'mariadb did not start'; exit 1; }
fi

mkdir -p "$STATE"
chmod 700 "$BASE" "$STATE"
secret() { # secret FILE LENGTH: the file's content, made once
  if [[ ! -s "$STATE/$1" ]]; then
    (umask 077; php -r 'echo substr(bin2hex(random_bytes(64)), 0, (int) $argv[1]);' "$2" >"$STATE/$1")
  fi
  cat "$STATE/$1"
}
DB_PASS=$(secret db-password 32)
ADMIN_PASS=$(secret admin-password 32)
HOOK_KEY=$(secret hook-key 43)

mysql -u root <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL

# ---- 3. the WordPress directory ------------------------------------------------------------------
if [[ ! -f "$WP_DIR/wp-settings.php" ]]; then
  say "copying /usr/share/wordpress to $WP_DIR"
  rm -rf "$WP_DIR.tmp"
  cp -rL /usr/share/wordpress "$WP_DIR.tmp"
  mv "$WP_DIR.tmp" "$WP_DIR"
fi
salts=$(for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
  echo "define('$k', '$(secret "salt-$k" 64)');"
done)
HOOK_KEY_SHA256=$(printf '%s' "$HOOK_KEY" | sha256sum | cut -d' ' -f1)
tmp_config=$(mktemp "$WP_DIR/.wp-config.XXXXXX")
cat >"$tmp_config" <<PHP
<?php
// Written by memberwire's bench/wordpress/setup.sh.
define('DB_NAME', '$DB_NAME');
define('DB_USER', '$DB_USER');
define('DB_PASSWORD', '$DB_PASS');
define('DB_HOST', 'localhost');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
\$table_prefix = 'wp_';
$salts
// Application passwords over plain HTTP on loopback.
define('WP_ENVIRONMENT_TYPE', 'local');
// Whatever port php -S listens on (the CLI has no Host header).
\$mw_host = isset(\$_SERVER['HTTP_HOST']) ? \$_SERVER['HTTP_HOST'] : '127.0.0.1';
define('WP_HOME', 'http://' . \$mw_host);
define('WP_SITEURL', 'http://' . \$mw_host);
// Benchmark hygiene: no cron requests spawned mid-run, no calls leave the machine.
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_DEBUG', false);
// The benchmark webhook's key, as its SHA-256 (bench/wordpress/memberwire-bench-hook.php).
define('MEMBERWIRE_BENCH_KEY_SHA256', '$HOOK_KEY_SHA256');
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
PHP
chmod 600 "$tmp_config"
mv "$tmp_config" "$WP_DIR/wp-config.php"
mkdir -p "$WP_DIR/wp-content/mu-plugins"
cp "$HERE/memberwire-bench-hook.php" "$WP_DIR/wp-content/mu-plugins/memberwire-bench-hook.php"

# ---- 4. install -----------------------------------------------------------------------------------
installed() {
  [[ -n "$(mysql -u root -N -B -e "SELECT option_value FROM \`$DB_NAME\`.wp_options WHERE option_name='siteurl'" 2>/dev/null)" ]]
}
if ! installed; then
  PORT=$(php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); fclose($s); echo substr($n, strrpos($n, ":") + 1);')
  say "installing WordPress through http://127.0.0.1:$PORT/wp-admin/install.php"
  setsid php -S "127.0.0.1:$PORT" -t "$WP_DIR" >"$BASE/php-install.log" 2>&1 &
  PHP_PID=$!
  trap 'kill -TERM -- "-$PHP_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/wp-admin/install.php" && break
    sleep 0.2
  done
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/wp-admin/install.php?step=2" \
    --data-urlencode 'weblog_title=memberwire bench' \
    --data-urlencode "user_name=$ADMIN_USER" \
    --data-urlencode "admin_password=$ADMIN_PASS" \
    --data-urlencode "admin_password2=$ADMIN_PASS" \
    --data-urlencode "admin_email=$ADMIN_EMAIL" \
    --data-urlencode 'blog_public=0' \
    --data-urlencode 'language=' >"$BASE/install-status"
  kill -TERM -- "-$PHP_PID" 2>/dev/null || true
  wait "$PHP_PID" 2>/dev/null || true
  trap - EXIT
  installed || { say "install.php answered $(cat "$BASE/install-status") and WordPress is still not installed"; exit 1; }
fi

# ---- 5. the administrator's password, then an application password -------------------------------
# The database is one per machine: a site installed from another base dir has that dir's
# administrator password. This base's is set when it does not verify (read from its file, never
# passed on a command line).
php -r 'require $argv[1] . "/wp-load.php"; $u = get_user_by("login", $argv[2]); $p = trim(file_get_contents($argv[3]));
  if (!$u) { fwrite(STDERR, "no user {$argv[2]}\n"); exit(1); }
  if (!wp_check_password($p, $u->user_pass, $u->ID)) { wp_set_password($p, $u->ID); fwrite(STDERR, "wordpress setup: administrator password set\n"); }' \
  "$WP_DIR" "$ADMIN_USER" "$STATE/admin-password"

# Made anew when the stored one no longer works (a reinstalled site).
(umask 077; php "$HERE/app-password.php" "$WP_DIR" "$ADMIN_USER" "$STATE/app-password")

# ---- 6. only the administrator --------------------------------------------------------------------
mysql -u root "$DB_NAME" <<SQL
DELETE FROM wp_usermeta WHERE user_id IN (SELECT ID FROM wp_users WHERE user_login <> '$ADMIN_USER');
DELETE FROM wp_users WHERE user_login <> '$ADMIN_USER';
SQL

say "ready: $WP_DIR ($(php -r "include '$WP_DIR/wp-includes/version.php'; echo \$wp_version;"), PHP $(php -r 'echo PHP_VERSION;'), $(mysql -V | sed 's/.*Distrib \([^,]*\),.*/MariaDB \1/'))"
printf '{"base":"%s","dir":"%s","state":"%s","adminUser":"%s"}\n' "$BASE" "$WP_DIR" "$STATE" "$ADMIN_USER"
