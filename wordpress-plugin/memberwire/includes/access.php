<?php
/**
 * Content gating by the levels memberwire's access rules grant (stored on each member's user as
 * memberwire_levels, kept current by memberwire):
 *
 *   [memberwire level="gold"]Only members with the gold level see this.[/memberwire]
 *   [memberwire level="gold" else="Join to read on."]...[/memberwire]
 *   memberwire_user_has_level('gold')            // for themes: the current user
 *   memberwire_user_has_level('gold', $user_id)  // or any user
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

/** [memberwire level="..." else="..."]content[/memberwire] */
function memberwire_shortcode($atts, $content = '')
{
    $atts = shortcode_atts(array('level' => '', 'else' => ''), $atts, 'memberwire');
    $levels = array_filter(array_map('trim', explode(',', (string) $atts['level'])), 'strlen');
    foreach ($levels as $level) {
        if (memberwire_user_has_level($level)) {
            return do_shortcode((string) $content);
        }
    }
    return $atts['else'] === '' ? '' : '<p class="memberwire-locked">' . esc_html($atts['else']) . '</p>';
}
add_shortcode('memberwire', 'memberwire_shortcode');
