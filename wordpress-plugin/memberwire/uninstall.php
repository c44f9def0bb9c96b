<?php
/**
 * Uninstall: memberwire's own tables, options and capability only. WordPress users (the members'
 * accounts) stay: they are the site's.
 */

defined('WP_UNINSTALL_PLUGIN') || exit;

global $wpdb;
foreach (array('identities', 'members', 'tokens') as $name) {
    $table = $wpdb->prefix . 'memberwire_' . $name;
    $wpdb->query("DROP TABLE IF EXISTS $table");
}
delete_option('memberwire_schema_version');
foreach (wp_roles()->role_objects as $role) {
    $role->remove_cap('memberwire_sync');
}
// The levels memberwire stored on users for content gating.
delete_metadata('user', 0, 'memberwire_levels', '', true);
