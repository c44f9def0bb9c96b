<?php
// php plugin-setup.php WP_DIR OUTFILE
// For the tests: activates the memberwire plugin (copied into wp-content/plugins/memberwire),
// empties its tables, and makes sure the user "memberwire-sync" (role subscriber, plus the
// memberwire_sync capability) has a working application password, written to OUTFILE (mode
// 600). Prints nothing secret. (There is no wp-cli on these machines.)
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
$login = 'memberwire-sync';
$user = get_user_by('login', $login);
if (!$user) {
    $id = wp_insert_user(array('user_login' => $login, 'user_email' => 'sync@memberwire.invalid', 'user_pass' => wp_generate_password(40), 'role' => 'subscriber'));
    if (is_wp_error($id)) {
        fwrite(STDERR, 'plugin-setup: ' . $id->get_error_code() . "\n");
        exit(1);
    }
    $user = get_user_by('id', $id);
}
$user->add_cap('memberwire_sync');
foreach (WP_Application_Passwords::get_user_application_passwords($user->ID) as $item) {
    WP_Application_Passwords::delete_application_password($user->ID, $item['uuid']);
}
$created = WP_Application_Passwords::create_new_application_password($user->ID, array('name' => 'memberwire tests'));
if (is_wp_error($created)) {
    fwrite(STDERR, 'plugin-setup: ' . $created->get_error_code() . "\n");
    exit(1);
}
file_put_contents($out, $created[0]);
chmod($out, 0600);
echo json_encode(array('user' => $login, 'userId' => $user->ID)), "\n";
