<?php
/**
 * Plugin Name: memberwire bench hook
 * Description: The baseline of memberwire's bench/posts.mjs: what a CRM webhook plugin (WP Fusion,
 *   Memberium and the like) does with a Keap "Send an HTTP post": check the access key, look the
 *   user up by email, create it when absent, store the contact id and tags. Installed as a
 *   must-use plugin by bench/wordpress/setup.sh. Not for production.
 *
 * POST /?memberwire_bench=keap&key=KEY, form fields Id, Email, FirstName, LastName, Groups.
 * Answers JSON: 201 {"outcome":"created","user":ID}, 200 {"outcome":"existing","user":ID},
 * 409 when wp_insert_user refuses a user that appeared between the lookup and the insert,
 * 400 / 401 / 405 for bad posts.
 *
 * The check-then-insert is written the way those plugins write it, without a lock: two posts for
 * one email that run at the same time can both find nothing and both insert (the users table has
 * no unique index). bench/wordpress/count-users.php counts the duplicates afterwards.
 */

if (!defined('ABSPATH')) {
    exit;
}

add_action('init', 'memberwire_bench_hook', 1);

function memberwire_bench_hook_answer($status, $body)
{
    $json = wp_json_encode($body);
    status_header($status);
    header('Content-Type: application/json; charset=utf-8');
    header('Cache-Control: no-store');
    // php -S closes the connection after each answer; a length lets clients that read answers
    // by their framing (autocannon) see where this one ends.
    header('Content-Length: ' . strlen($json));
    echo $json;
    exit;
}

function memberwire_bench_hook()
{
    if (!isset($_GET['memberwire_bench'])) {
        return;
    }
    // The key in the URL, as Keap's HTTP post requires; compared as digests in constant time.
    $key = isset($_GET['key']) ? (string) wp_unslash($_GET['key']) : '';
    if (!defined('MEMBERWIRE_BENCH_KEY_SHA256') || !hash_equals(MEMBERWIRE_BENCH_KEY_SHA256, hash('sha256', $key))) {
        memberwire_bench_hook_answer(401, ['error' => 'unauthorized']);
    }
    if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
        memberwire_bench_hook_answer(405, ['error' => 'POST only']);
    }
    $field = function ($name) {
        return isset($_POST[$name]) ? trim((string) wp_unslash($_POST[$name])) : '';
    };
    $contact_id = $field('Id') !== '' ? $field('Id') : $field('contactId');
    $email = sanitize_email($field('Email'));
    if ($contact_id === '' || !is_email($email)) {
        memberwire_bench_hook_answer(400, ['error' => 'Id and a valid Email are required']);
    }
    $tags = array_values(array_filter(array_map('trim', explode(',', $field('Groups'))), 'strlen'));

    $user = get_user_by('email', $email);
    if ($user) {
        update_user_meta($user->ID, 'keap_contact_id', $contact_id);
        update_user_meta($user->ID, 'keap_tags', $tags);
        memberwire_bench_hook_answer(200, ['outcome' => 'existing', 'user' => $user->ID]);
    }
    $id = wp_insert_user([
        'user_login' => $email,
        'user_email' => $email,
        'user_pass' => wp_generate_password(24, true, true),
        'first_name' => sanitize_text_field($field('FirstName')),
        'last_name' => sanitize_text_field($field('LastName')),
        'role' => 'subscriber',
    ]);
    if (is_wp_error($id)) {
        memberwire_bench_hook_answer(409, ['error' => $id->get_error_code()]);
    }
    update_user_meta($id, 'keap_contact_id', $contact_id);
    update_user_meta($id, 'keap_tags', $tags);
    memberwire_bench_hook_answer(201, ['outcome' => 'created', 'user' => $id]);
}
