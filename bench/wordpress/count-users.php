<?php
// php count-users.php WP_DIR
// Counts the users the benchmark made, per email (case-insensitive, as WordPress's email lookup
// compares): how many accounts, how many distinct emails, how many emails have more than one
// account, and how many accounts are extra. Prints JSON.
if ($argc !== 2) {
    fwrite(STDERR, "usage: php count-users.php WP_DIR\n");
    exit(2);
}
require $argv[1] . '/wp-load.php';
global $wpdb;
$rows = $wpdb->get_results(
    "SELECT LOWER(TRIM(user_email)) AS email, COUNT(*) AS n FROM {$wpdb->users}
     WHERE user_login <> 'admin' GROUP BY LOWER(TRIM(user_email))"
);
$users = 0;
$dupEmails = 0;
$extra = 0;
foreach ($rows as $r) {
    $n = (int) $r->n;
    $users += $n;
    if ($n > 1) {
        $dupEmails++;
        $extra += $n - 1;
    }
}
echo json_encode([
    'users' => $users,
    'distinctEmails' => count($rows),
    'emailsWithDuplicates' => $dupEmails,
    'duplicateAccounts' => $extra,
]), "\n";
