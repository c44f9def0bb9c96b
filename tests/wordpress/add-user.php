<?php
// php add-user.php WP_DIR LOGIN EMAIL: a plain WordPress user (as a site owner adds one by hand).
[, $dir, $login, $email] = $argv;
require $dir . '/wp-load.php';
$id = wp_insert_user(array('user_login' => $login, 'user_email' => $email, 'user_pass' => wp_generate_password(24), 'role' => 'subscriber', 'first_name' => 'Existing'));
if (is_wp_error($id)) {
    fwrite(STDERR, 'add-user: ' . $id->get_error_code() . "\n");
    exit(1);
}
echo json_encode(array('id' => $id)), "\n";
