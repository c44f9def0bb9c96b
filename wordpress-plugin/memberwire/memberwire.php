<?php
/**
 * Plugin Name: memberwire
 * Description: Makes this site's WordPress users the member directory of memberwire, which turns CRM purchases (Keap, ActiveCampaign, ...) into member accounts exactly once.
 * Version: 0.1.0
 * Requires at least: 6.1
 * Requires PHP: 7.4
 * License: MIT
 * Text Domain: memberwire
 *
 * The registration rules (contact first, then email, conflicts, credentials, the welcome tag)
 * run in memberwire's own engine (the Node server or the edge function). This plugin keeps the
 * directory's primitives only, enforced by the database: an InnoDB identity table with one row
 * per contact key and per normalized email, claimed in the transaction that creates or adopts
 * the WordPress user, so two concurrent claims can never both win.
 */

defined('ABSPATH') || exit;

define('MEMBERWIRE_PLUGIN_VERSION', '0.1.0');
define('MEMBERWIRE_PLUGIN_FILE', __FILE__);
define('MEMBERWIRE_SCHEMA_VERSION', '1');
define('MEMBERWIRE_SYNC_CAP', 'memberwire_sync');
// What makes an account staff: it can change the site. memberwire issues such an account no
// credentials, and no level grants a role that has any of these.
define('MEMBERWIRE_STAFF_CAPS', array('edit_others_posts', 'manage_options', 'edit_users', 'promote_users', 'activate_plugins', 'unfiltered_html', MEMBERWIRE_SYNC_CAP));

require_once __DIR__ . '/includes/schema.php';
require_once __DIR__ . '/includes/directory.php';
require_once __DIR__ . '/includes/rest.php';
require_once __DIR__ . '/includes/access.php';
require_once __DIR__ . '/includes/admin.php';
require_once __DIR__ . '/includes/profile.php';

register_activation_hook(__FILE__, 'memberwire_activate');
register_deactivation_hook(__FILE__, 'memberwire_deactivate');
add_action('rest_api_init', 'memberwire_rest_routes');
add_action('plugins_loaded', 'memberwire_maybe_upgrade');
