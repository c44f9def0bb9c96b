<?php
// php add-user.php WP_DIR LOGIN EMAIL [META_JSON]: a plain WordPress user (as a site owner adds
// one by hand), with usermeta from META_JSON (as another plugin, WP Fusion say, left it).
[, $dir, $login, $email] = $argv;
$meta = isset($argv[4]) ? json_decode($argv[4], true) : array();
require $dir . '/wp-load.php';
$id = wp_insert_user(array('user_login' => $login, 'user_email' => $email, 'user_pass' => wp_generate_password(24), 'role' => 'subscriber', 'first_name' => 'Existing'));
if (is_wp_error($id)) {
    fwrite(STDERR, 'add-user: ' . $id->get_error_code() . "\n");
    exit(1);
}
foreach ((array) $meta as $key => $value) {
    update_user_meta($id, $key, $value);
}
echo json_encode(array('id' => $id)), "\n";
