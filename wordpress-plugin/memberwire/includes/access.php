<?php
/**
 * Access on the site, by the levels memberwire's access rules grant (stored on each member's user
 * as memberwire_levels, kept current by memberwire):
 *
 *   [memberwire level="gold"]Only members with the gold level see this.[/memberwire]
 *   [memberwire level="gold,silver" else="Join to read on."]...[/memberwire]
 *   the "Members only" block (memberwire/gate), with the same two settings
 *   a post's or page's own setting (the memberwire box in the editor): the whole content
 *   memberwire_user_has_level('gold')            // for themes: the current user
 *   memberwire_user_has_level('gold', $user_id)  // or any user
 *
 * And levels can grant WordPress roles (memberwire → Setup → Levels and roles), so anything that
 * already checks roles or their capabilities (menus, other plugins) follows memberwire too. Each
 * level is also a capability of its own, `memberwire_level_{level}`, held while the level is:
 *   current_user_can('memberwire_level_gold')
 * What is hidden is never sent: the check runs on the server, for feeds, excerpts, search and the
 * REST API too. (Not covered: core's Latest Posts block set to show each post's full content,
 * which prints the stored content without the content filters.)
 */

defined('ABSPATH') || exit;

/** The levels a user holds (an empty list for a visitor or a user who is not a member). */
function memberwire_user_levels($user_id = null)
{
    $user_id = $user_id === null ? get_current_user_id() : (int) $user_id;
    if ($user_id <= 0) {
        return array();
    }
    $levels = get_user_meta($user_id, 'memberwire_levels', true);
    return is_array($levels) ? $levels : array();
}

/** Whether the user (default: the current one) holds `level`. */
function memberwire_user_has_level($level, $user_id = null)
{
    return in_array((string) $level, memberwire_user_levels($user_id), true);
}

/** Whether the current user holds any of the comma-separated levels (none named: nobody does). */
function memberwire_has_any_level($levels_csv)
{
    foreach (array_filter(array_map('trim', explode(',', (string) $levels_csv)), 'strlen') as $level) {
        if (memberwire_user_has_level($level)) {
            return true;
        }
    }
    return false;
}

function memberwire_locked($else)
{
    return $else === '' ? '' : '<p class="memberwire-locked">' . esc_html($else) . '</p>';
}

/** [memberwire level="..." else="..."]content[/memberwire] */
function memberwire_shortcode($atts, $content = '')
{
    $atts = shortcode_atts(array('level' => '', 'else' => ''), $atts, 'memberwire');
    return memberwire_has_any_level($atts['level']) ? do_shortcode((string) $content) : memberwire_locked((string) $atts['else']);
}
add_shortcode('memberwire', 'memberwire_shortcode');

// ---- the block -----------------------------------------------------------------------------

function memberwire_gate_render($attributes, $content)
{
    $level = isset($attributes['level']) ? (string) $attributes['level'] : '';
    $else = isset($attributes['else']) ? (string) $attributes['else'] : '';
    return memberwire_has_any_level($level) ? (string) $content : memberwire_locked($else);
}

function memberwire_register_block()
{
    wp_register_script(
        'memberwire-gate-editor',
        plugins_url('assets/gate-block.js', MEMBERWIRE_PLUGIN_FILE),
        array('wp-blocks', 'wp-element', 'wp-block-editor', 'wp-components'),
        MEMBERWIRE_PLUGIN_VERSION,
        true
    );
    register_block_type('memberwire/gate', array(
        'api_version' => 2,
        'title' => __('Members only', 'memberwire'),
        'category' => 'widgets',
        'attributes' => array(
            'level' => array('type' => 'string', 'default' => ''),
            'else' => array('type' => 'string', 'default' => ''),
        ),
        'editor_script' => 'memberwire-gate-editor',
        'render_callback' => 'memberwire_gate_render',
    ));
}
add_action('init', 'memberwire_register_block');

// ---- a post's own setting ------------------------------------------------------------------

function memberwire_post_box()
{
    foreach (array('post', 'page') as $type) {
        add_meta_box('memberwire-access', __('memberwire: who can read this', 'memberwire'), 'memberwire_post_box_html', $type, 'side');
    }
}
add_action('add_meta_boxes', 'memberwire_post_box');

function memberwire_post_box_html($post)
{
    wp_nonce_field('memberwire_post_access', 'memberwire_post_nonce');
    printf(
        '<p><label for="memberwire_post_level">%s</label><input type="text" id="memberwire_post_level" name="memberwire_post_level" class="widefat" value="%s"></p><p class="description">%s</p>',
        esc_html__('Levels (comma-separated)', 'memberwire'),
        esc_attr((string) get_post_meta($post->ID, '_memberwire_level', true)),
        esc_html__('Empty: everyone. Otherwise only members with one of these levels read it.', 'memberwire')
    );
    printf(
        '<p><label for="memberwire_post_else">%s</label><textarea id="memberwire_post_else" name="memberwire_post_else" class="widefat" rows="2">%s</textarea></p>',
        esc_html__('Shown to everyone else', 'memberwire'),
        esc_textarea((string) get_post_meta($post->ID, '_memberwire_else', true))
    );
}

function memberwire_save_post_box($post_id)
{
    if (!isset($_POST['memberwire_post_nonce']) || !wp_verify_nonce(sanitize_text_field(wp_unslash($_POST['memberwire_post_nonce'])), 'memberwire_post_access')) {
        return;
    }
    if ((defined('DOING_AUTOSAVE') && DOING_AUTOSAVE) || !current_user_can('edit_post', $post_id)) {
        return;
    }
    $level = isset($_POST['memberwire_post_level']) ? sanitize_text_field(wp_unslash($_POST['memberwire_post_level'])) : '';
    $else = isset($_POST['memberwire_post_else']) ? sanitize_textarea_field(wp_unslash($_POST['memberwire_post_else'])) : '';
    if ($level === '') {
        delete_post_meta($post_id, '_memberwire_level');
    } else {
        update_post_meta($post_id, '_memberwire_level', $level);
    }
    if ($else === '') {
        delete_post_meta($post_id, '_memberwire_else');
    } else {
        update_post_meta($post_id, '_memberwire_else', $else);
    }
}
add_action('save_post', 'memberwire_save_post_box');

/** Whether the current user may read post `$post_id` under its memberwire setting. */
function memberwire_can_read($post_id)
{
    $level = (string) get_post_meta($post_id, '_memberwire_level', true);
    return $level === '' || memberwire_has_any_level($level) || current_user_can('edit_post', $post_id);
}

function memberwire_filter_content($content)
{
    $post = get_post();
    if (!$post || memberwire_can_read($post->ID)) {
        return $content;
    }
    return memberwire_locked((string) get_post_meta($post->ID, '_memberwire_else', true));
}
add_filter('the_content', 'memberwire_filter_content', 999);

function memberwire_filter_excerpt($excerpt, $post = null)
{
    $post = get_post($post);
    return (!$post || memberwire_can_read($post->ID)) ? $excerpt : '';
}
add_filter('get_the_excerpt', 'memberwire_filter_excerpt', 999, 2);

/** Site search never lists what the visitor may not read (its words would be probed otherwise). */
function memberwire_filter_search($posts, $query)
{
    if (is_admin() || !($query instanceof WP_Query) || !$query->is_search()) {
        return $posts;
    }
    return array_values(array_filter((array) $posts, function ($post) {
        return memberwire_can_read($post->ID);
    }));
}
add_filter('the_posts', 'memberwire_filter_search', 10, 2);

// ---- levels are capabilities -----------------------------------------------------------------

/**
 * Each level a user holds is the capability `memberwire_level_{level}` (granted as it is checked,
 * from memberwire_levels, so it comes and goes with the level and nothing is stored per user).
 * Plugins and menus that gate by capability follow memberwire without a role of their own. These
 * capabilities open no part of wp-admin: WordPress never asks for them.
 */
function memberwire_level_caps($allcaps, $caps, $args, $user)
{
    foreach ($caps as $cap) {
        if (is_string($cap) && strncmp($cap, 'memberwire_level_', 17) === 0 && $user instanceof WP_User) {
            $allcaps[$cap] = memberwire_user_has_level(substr($cap, 17), $user->ID);
        }
    }
    return $allcaps;
}
add_filter('user_has_cap', 'memberwire_level_caps', 10, 4);

// ---- levels grant roles ----------------------------------------------------------------------

/** {level: role}: the roles levels grant (never administrator). */
function memberwire_level_roles()
{
    $map = get_option('memberwire_level_roles', array());
    return is_array($map) ? $map : array();
}

/**
 * Roles a level may grant: those that cannot change the site (no editing of others' posts, no
 * options, users or plugins, not memberwire's sync role). A CRM tag must never make staff.
 */
function memberwire_grantable_roles()
{
    $out = array();
    foreach (wp_roles()->role_objects as $slug => $role) {
        $staff = false;
        foreach (MEMBERWIRE_STAFF_CAPS as $cap) {
            $staff = $staff || $role->has_cap($cap);
        }
        if (!$staff) {
            $out[$slug] = wp_roles()->role_names[$slug];
        }
    }
    return $out;
}

/**
 * Gives the user the roles its levels grant and takes back the ones memberwire granted for
 * levels it lost (kept in the user's memberwire_roles): a role the user held on its own, before
 * or besides memberwire, is never taken. A user left with none gets the members' role.
 */
function memberwire_apply_level_roles($user_id, $levels)
{
    $user = get_userdata($user_id);
    if (!$user || memberwire_is_staff($user_id)) {
        return;
    }
    $grantable = memberwire_grantable_roles();
    $want = array();
    foreach (memberwire_level_roles() as $level => $role) {
        if (isset($grantable[$role]) && in_array((string) $level, (array) $levels, true)) {
            $want[$role] = true;
        }
    }
    $granted = get_user_meta($user_id, 'memberwire_roles', true);
    $granted = is_array($granted) ? $granted : array();
    $now = array();
    foreach (array_keys($want) as $role) {
        if (!in_array($role, (array) $user->roles, true)) {
            $user->add_role($role);
            $now[] = $role;
        } elseif (in_array($role, $granted, true)) {
            $now[] = $role;
        }
    }
    foreach ($granted as $role) {
        if (!isset($want[$role]) && in_array($role, (array) $user->roles, true)) {
            $user->remove_role($role);
        }
    }
    if ($now) {
        update_user_meta($user_id, 'memberwire_roles', $now);
    } else {
        delete_user_meta($user_id, 'memberwire_roles');
    }
    if (empty($user->roles)) {
        $user->set_role(get_option('memberwire_role', 'subscriber'));
    }
}

/** After the mapping changed: every member's roles anew. Returns how many members were looked at. */
function memberwire_reapply_level_roles()
{
    global $wpdb;
    $members = memberwire_table('members');
    $ids = $wpdb->get_col("SELECT user_id FROM $members");
    // A level whose role is no longer mapped gives it back too: apply reads memberwire_roles.
    foreach ($ids as $id) {
        memberwire_apply_level_roles((int) $id, memberwire_user_levels((int) $id));
    }
    return count($ids);
}
