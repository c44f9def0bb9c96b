<?php
// php plugin-setup.php WP_DIR OUTFILE
// For the tests: activates the memberwire plugin (copied into wp-content/plugins/memberwire),
// empties its tables and its connection settings, and gives the user "memberwire-sync" (role memberwire_sync) a new
// application password, written to OUTFILE (mode 600), as Setup's button does. Prints nothing secret. (There is no wp-cli on these machines.)
if ($argc !== 3) {
    fwrite(STDERR, "usage: php plugin-setup.php WP_DIR OUTFILE\n");
    exit(2);
}
[, $dir, $out] = $argv;
require $dir . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

$r = activate_plugin('memberwire/memberwire.php');
if (is_wp_error($r)) {
    fwrite(STDERR, 'plugin-setup: activation failed: ' . $r->get_error_code() . "\n");
    exit(1);
}
global $wpdb;
foreach (array('identities', 'members', 'tokens') as $t) {
    $wpdb->query('DELETE FROM ' . $wpdb->prefix . 'memberwire_' . $t);
}
// Not connected yet, as on a new site.
delete_option('memberwire_url');
delete_option('memberwire_api_token');
// The sync user and its application password, made by the plugin's own Setup code.
$password = memberwire_new_sync_password();
if (is_wp_error($password)) {
    fwrite(STDERR, 'plugin-setup: ' . $password->get_error_code() . "\n");
    exit(1);
}
file_put_contents($out, $password);
chmod($out, 0600);
echo json_encode(array('user' => MEMBERWIRE_SYNC_USER)), "\n";
