<?php
// php app-password.php WP_DIR LOGIN OUTFILE
// Makes sure LOGIN has a working application password named "memberwire-bench" and that OUTFILE
// holds it: keeps the stored one when it still verifies, otherwise replaces it. Prints nothing
// secret. (There is no wp-cli on these machines; this does what `wp user application-password
// create` would.)
if ($argc !== 4) {
    fwrite(STDERR, "usage: php app-password.php WP_DIR LOGIN OUTFILE\n");
    exit(2);
}
[, $dir, $login, $out] = $argv;
require $dir . '/wp-load.php';

$user = get_user_by('login', $login);
if (!$user) {
    fwrite(STDERR, "app-password: no user $login\n");
    exit(1);
}
$name = 'memberwire-bench';
$stored = is_readable($out) ? trim((string) file_get_contents($out)) : '';
$ours = array_filter(
    WP_Application_Passwords::get_user_application_passwords($user->ID),
    fn ($item) => $item['name'] === $name
);
foreach ($ours as $item) {
    if ($stored !== '' && wp_check_password($stored, $item['password'], $user->ID)) {
        fwrite(STDERR, "app-password: the stored application password still works\n");
        exit(0);
    }
}
foreach ($ours as $item) {
    WP_Application_Passwords::delete_application_password($user->ID, $item['uuid']);
}
$created = WP_Application_Passwords::create_new_application_password($user->ID, ['name' => $name]);
if (is_wp_error($created)) {
    fwrite(STDERR, 'app-password: ' . $created->get_error_code() . "\n");
    exit(1);
}
[$password] = $created;
if (file_put_contents($out, $password) === false) {
    fwrite(STDERR, "app-password: cannot write $out\n");
    exit(1);
}
chmod($out, 0600);
fwrite(STDERR, "app-password: created one for $login\n");
