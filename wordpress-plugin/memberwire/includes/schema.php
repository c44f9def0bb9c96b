<?php
/**
 * memberwire's tables: the MySQL twin of the SQL schema in memberwire's migrations/ (members,
 * identities, tokens), with WordPress users as the members' accounts. InnoDB, so claims are
 * transactional; binary collation on identity values, which arrive already normalized.
 */

defined('ABSPATH') || exit;

function memberwire_table($name)
{
    global $wpdb;
    return $wpdb->prefix . 'memberwire_' . $name;
}

function memberwire_schema_sql()
{
    global $wpdb;
    $charset = $wpdb->get_charset_collate();
    $identities = memberwire_table('identities');
    $members = memberwire_table('members');
    $tokens = memberwire_table('tokens');
    return array(
        // One row per WordPress user that is a member: the fields memberwire keeps beside the
        // account (the account's own email, names and password stay in wp_users/wp_usermeta).
        "CREATE TABLE IF NOT EXISTS $members (
            user_id BIGINT UNSIGNED NOT NULL,
            version BIGINT UNSIGNED NOT NULL,
            email VARCHAR(254) NOT NULL,
            contact_key VARCHAR(400) NULL,
            credentials VARCHAR(16) NOT NULL DEFAULT 'none',
            password_set TINYINT(1) NOT NULL DEFAULT 0,
            search TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            data LONGTEXT NOT NULL,
            PRIMARY KEY (user_id)
        ) ENGINE=InnoDB $charset",
        // Uniqueness: one row per contact key and per normalized email. The primary key refuses
        // a second claim; a lost race reads the holder.
        "CREATE TABLE IF NOT EXISTS $identities (
            kind VARCHAR(16) NOT NULL,
            value VARCHAR(400) NOT NULL,
            user_id BIGINT UNSIGNED NOT NULL,
            PRIMARY KEY (kind, value),
            KEY user_id (user_id)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        // Set-password tokens by the SHA-256 digest of the token (never the token).
        "CREATE TABLE IF NOT EXISTS $tokens (
            token_hash CHAR(64) NOT NULL,
            user_id BIGINT UNSIGNED NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (token_hash),
            KEY user_id (user_id)
        ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin",
    );
}

/** Activation: the tables, and the sync capability for administrators. Data is never dropped here. */
function memberwire_activate()
{
    global $wpdb;
    foreach (memberwire_schema_sql() as $sql) {
        $wpdb->query($sql);
    }
    update_option('memberwire_schema_version', MEMBERWIRE_SCHEMA_VERSION, false);
    $admin = get_role('administrator');
    if ($admin) {
        $admin->add_cap(MEMBERWIRE_SYNC_CAP);
    }
}

/** Deactivation leaves every table and option as it is. */
function memberwire_deactivate()
{
}

function memberwire_maybe_upgrade()
{
    if (get_option('memberwire_schema_version') !== MEMBERWIRE_SCHEMA_VERSION) {
        memberwire_activate();
    }
}
