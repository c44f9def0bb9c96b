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
foreach (array('memberwire_schema_version', 'memberwire_url', 'memberwire_api_token', 'memberwire_level_roles') as $option) {
    delete_option($option);
}
// The sync user's role goes; the user itself is the site's to remove (its application password
// stops working with the capability).
remove_role('memberwire_sync');
foreach (wp_roles()->role_objects as $role) {
    $role->remove_cap('memberwire_sync');
}
// The levels memberwire stored on users for content gating.
delete_metadata('user', 0, 'memberwire_levels', '', true);
delete_metadata('user', 0, 'memberwire_roles', '', true);
// Posts' own access settings.
delete_metadata('post', 0, '_memberwire_level', '', true);
delete_metadata('post', 0, '_memberwire_else', '', true);
