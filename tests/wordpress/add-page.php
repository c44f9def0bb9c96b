<?php
// php add-page.php WP_DIR TITLE CONTENT [META_JSON]: a published page (with post meta); prints {"id": N}.
[, $dir, $title, $content] = $argv;
$meta = isset($argv[4]) ? json_decode($argv[4], true) : array();
require $dir . '/wp-load.php';
$id = wp_insert_post(array('post_type' => 'page', 'post_status' => 'publish', 'post_title' => $title, 'post_content' => $content, 'meta_input' => $meta), true);
if (is_wp_error($id)) {
    fwrite(STDERR, 'add-page: ' . $id->get_error_code() . "\n");
    exit(1);
}
echo json_encode(array('id' => $id)), "\n";
