<?php
/**
 * memberwire inside wp-admin:
 *
 * - a top-level "memberwire" menu whose screens (members, access rules with the live impact
 *   preview, bulk import, activity, settings) are memberwire's own admin page, loaded from this
 *   plugin's assets/ and computing its previews with the same wasm in the browser;
 * - a REST proxy, /memberwire/v1/admin/..., that those screens call with the WordPress session
 *   (X-WP-Nonce, manage_options). It calls memberwire's admin API with the API token this plugin
 *   keeps server-side: the token is never printed into a page or sent to the browser;
 * - Setup: memberwire's URL and API token, the dedicated sync user with its application
 *   password (what memberwire uses to reach this site), and the hook URLs for the CRM.
 */

defined('ABSPATH') || exit;

const MEMBERWIRE_SYNC_USER = 'memberwire-sync';
const MEMBERWIRE_SYNC_ROLE = 'memberwire_sync';

/** The admin screens: page slug => [menu title, the app's route]. */
function memberwire_screens()
{
    return array(
        'memberwire' => array(__('Members', 'memberwire'), 'members'),
        'memberwire-rules' => array(__('Access Rules', 'memberwire'), 'rules'),
        'memberwire-bulk' => array(__('Bulk Import', 'memberwire'), 'bulk'),
        'memberwire-activity' => array(__('Activity', 'memberwire'), 'activity'),
        'memberwire-settings' => array(__('Settings', 'memberwire'), 'settings'),
        'memberwire-sources' => array(__('Sources', 'memberwire'), 'sources'),
    );
}

function memberwire_admin_menu()
{
    $screens = memberwire_screens();
    add_menu_page('memberwire', 'memberwire', 'manage_options', 'memberwire', 'memberwire_app_page', 'dashicons-groups', 71);
    foreach ($screens as $slug => list($title, $route)) {
        add_submenu_page('memberwire', $title . ' ‹ memberwire', $title, 'manage_options', $slug, 'memberwire_app_page');
    }
    add_submenu_page('memberwire', __('Setup', 'memberwire') . ' ‹ memberwire', __('Setup', 'memberwire'), 'manage_options', 'memberwire-setup', 'memberwire_setup_page');
}
add_action('admin_menu', 'memberwire_admin_menu');

function memberwire_asset_url($path)
{
    return plugins_url('assets/' . $path, MEMBERWIRE_PLUGIN_FILE);
}

function memberwire_connection()
{
    return array(
        'url' => rtrim((string) get_option('memberwire_url', ''), '/'),
        'token' => (string) get_option('memberwire_api_token', ''),
    );
}

/** One of memberwire's screens: the app, pointed at the REST proxy. */
function memberwire_app_page()
{
    if (!current_user_can('manage_options')) {
        wp_die(esc_html__('Sorry, you are not allowed to access this page.', 'memberwire'), 403);
    }
    $screens = memberwire_screens();
    $page = isset($_GET['page']) ? sanitize_key(wp_unslash($_GET['page'])) : 'memberwire';
    $route = isset($screens[$page]) ? $screens[$page][1] : 'members';
    $conn = memberwire_connection();
    if ($conn['url'] === '' || $conn['token'] === '') {
        echo '<div class="wrap"><h1>memberwire</h1><div class="notice notice-warning"><p>';
        echo esc_html__('memberwire is not connected yet.', 'memberwire') . ' ';
        echo '<a href="' . esc_url(admin_url('admin.php?page=memberwire-setup')) . '">' . esc_html__('Connect it under memberwire → Setup.', 'memberwire') . '</a>';
        echo '</p></div></div>';
        return;
    }
    $version = rawurlencode(MEMBERWIRE_PLUGIN_VERSION);
    printf(
        '<div id="app" class="mw-app" data-api-base="%s" data-nonce="%s" data-route="%s"><p class="mw-boot">%s</p></div>',
        esc_attr(rest_url(MEMBERWIRE_REST_NS . '/admin')),
        esc_attr(wp_create_nonce('wp_rest')),
        esc_attr($route),
        esc_html__('Loading memberwire…', 'memberwire')
    );
    printf('<noscript><p>%s</p></noscript>', esc_html__('These screens need JavaScript (and WebAssembly) enabled.', 'memberwire'));
    // A module script (WordPress 6.1 has no module enqueueing): the app imports its screens and
    // the wasm relative to itself.
    printf('<script type="module" src="%s"></script>', esc_url(memberwire_asset_url('admin/app.js') . '?ver=' . $version));
}

function memberwire_admin_styles($hook)
{
    if (strpos((string) $hook, 'memberwire') === false) {
        return;
    }
    // wp-admin draws buttons, tables and notices itself: only memberwire's own rules are added.
    wp_enqueue_style('memberwire-admin', memberwire_asset_url('admin/memberwire.css'), array(), MEMBERWIRE_PLUGIN_VERSION);
}
add_action('admin_enqueue_scripts', 'memberwire_admin_styles');

// ---- the REST proxy -------------------------------------------------------------------------

function memberwire_admin_proxy_route()
{
    // Segments of letters, digits, - and _ only: no dots, so no `..` can climb out of /api.
    register_rest_route(MEMBERWIRE_REST_NS, '/admin/(?P<path>[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+){0,5})', array(
        'methods' => array('GET', 'POST', 'PUT', 'DELETE'),
        'callback' => 'memberwire_admin_proxy',
        'permission_callback' => function () {
            return current_user_can('manage_options');
        },
    ));
}
add_action('rest_api_init', 'memberwire_admin_proxy_route');

/**
 * Forwards one admin API call to memberwire with the plugin's token. memberwire's own login
 * routes and its token management are not reachable through here.
 */
function memberwire_admin_proxy(WP_REST_Request $request)
{
    $path = (string) $request['path'];
    if (preg_match('#^(session|setup)(/|$)|^settings/api-tokens(/|$)#', $path)) {
        return memberwire_error(404, 'not_found', 'this route is not reachable from wp-admin');
    }
    $query = $request->get_query_params();
    unset($query['rest_route'], $query['_wpnonce']);
    $method = $request->get_method();
    $answer = memberwire_request($method, '/' . $path . ($query ? '?' . http_build_query($query, '', '&', PHP_QUERY_RFC3986) : ''), $method === 'GET' ? null : $request->get_body(), 60);
    if (is_wp_error($answer)) {
        $why = $answer->get_error_code();
        // A refused token is a 502 here: the browser's WordPress session itself is fine.
        $status = $why === 'not_connected' ? 409 : 502;
        return memberwire_error($status, $why, $answer->get_error_message());
    }
    return new WP_REST_Response($answer['data'], $answer['status']);
}

/**
 * One call to memberwire's admin API with the plugin's token: `$path` under /api (with its query),
 * `$raw_body` JSON text or null. Returns array('status', 'data') for any JSON answer but a refused
 * token, else a WP_Error (not_connected, memberwire_unreachable, memberwire_token_refused,
 * memberwire_bad_answer).
 */
function memberwire_request($method, $path, $raw_body, $timeout)
{
    $conn = memberwire_connection();
    if ($conn['url'] === '' || $conn['token'] === '') {
        return new WP_Error('not_connected', __('memberwire is not connected: set its URL and API token under memberwire → Setup.', 'memberwire'));
    }
    $args = array(
        'method' => $method,
        'timeout' => $timeout,
        'redirection' => 0,
        'headers' => array('Authorization' => 'Bearer ' . $conn['token'], 'Accept' => 'application/json'),
    );
    if ($raw_body !== null) {
        $args['headers']['Content-Type'] = 'application/json';
        $args['body'] = $raw_body;
    }
    $res = wp_remote_request($conn['url'] . '/api' . $path, $args);
    if (is_wp_error($res)) {
        return new WP_Error('memberwire_unreachable', __('memberwire could not be reached at its URL (memberwire → Setup).', 'memberwire'));
    }
    $status = (int) wp_remote_retrieve_response_code($res);
    if ($status === 401) {
        return new WP_Error('memberwire_token_refused', __('memberwire refused this site\'s API token: create a new one in memberwire (Settings → API tokens) and save it under memberwire → Setup.', 'memberwire'));
    }
    $data = json_decode((string) wp_remote_retrieve_body($res), true);
    if (!is_array($data)) {
        return new WP_Error('memberwire_bad_answer', sprintf(__('memberwire answered %d without JSON.', 'memberwire'), $status));
    }
    return array('status' => $status, 'data' => $data);
}

/** memberwire's admin API, from PHP (the setup page and the profile section): the answer, or a WP_Error for any error. */
function memberwire_call($method, $path, $body = null)
{
    $answer = memberwire_request($method, $path, $body === null ? null : wp_json_encode($body), 30);
    if (is_wp_error($answer)) {
        return $answer;
    }
    if ($answer['status'] >= 400) {
        $e = isset($answer['data']['error']) && is_array($answer['data']['error']) ? $answer['data']['error'] : array();
        return new WP_Error((string) ($e['code'] ?? 'http_' . $answer['status']), (string) ($e['message'] ?? sprintf(__('memberwire answered %d.', 'memberwire'), $answer['status'])), array('status' => $answer['status']));
    }
    return $answer['data'];
}

// ---- setup ----------------------------------------------------------------------------------

/** The dedicated user memberwire signs in as: it can only read and call memberwire's routes. */
function memberwire_sync_role()
{
    if (!get_role(MEMBERWIRE_SYNC_ROLE)) {
        add_role(MEMBERWIRE_SYNC_ROLE, 'memberwire sync', array('read' => true, MEMBERWIRE_SYNC_CAP => true));
    }
}

/**
 * Creates (or finds) the sync user and gives it a new application password. Returns the
 * password (shown once) or a WP_Error.
 */
function memberwire_new_sync_password()
{
    if (!class_exists('WP_Application_Passwords') || !wp_is_application_passwords_available()) {
        return new WP_Error('app_passwords_unavailable', __('Application passwords are not available on this site: WordPress offers them over HTTPS (or on a site whose environment type is "local").', 'memberwire'));
    }
    memberwire_sync_role();
    $user = get_user_by('login', MEMBERWIRE_SYNC_USER);
    if (!$user) {
        $host = wp_parse_url(home_url(), PHP_URL_HOST);
        $id = wp_insert_user(array(
            'user_login' => MEMBERWIRE_SYNC_USER,
            'user_email' => MEMBERWIRE_SYNC_USER . '@' . (strpos((string) $host, '.') !== false ? $host : 'example.invalid'),
            'user_pass' => wp_generate_password(64, true, true),
            'display_name' => 'memberwire sync',
            'role' => MEMBERWIRE_SYNC_ROLE,
        ));
        if (is_wp_error($id)) {
            return $id;
        }
        $user = get_user_by('id', $id);
    } elseif (!in_array(MEMBERWIRE_SYNC_ROLE, (array) $user->roles, true)) {
        return new WP_Error('sync_user_taken', __('A user named memberwire-sync exists but does not have the memberwire sync role: rename it or give it that role.', 'memberwire'));
    }
    // One live password for memberwire: a new one replaces the old.
    foreach (WP_Application_Passwords::get_user_application_passwords($user->ID) as $item) {
        if ($item['name'] === 'memberwire') {
            WP_Application_Passwords::delete_application_password($user->ID, $item['uuid']);
        }
    }
    $made = WP_Application_Passwords::create_new_application_password($user->ID, array('name' => 'memberwire'));
    if (is_wp_error($made)) {
        return $made;
    }
    return $made[0];
}

function memberwire_setup_page()
{
    if (!current_user_can('manage_options')) {
        wp_die(esc_html__('Sorry, you are not allowed to access this page.', 'memberwire'), 403);
    }
    $notices = array();
    $sync_password = null;
    if ($_SERVER['REQUEST_METHOD'] === 'POST' && isset($_POST['memberwire_action'])) {
        $action = sanitize_key(wp_unslash($_POST['memberwire_action']));
        if ($action === 'connect') {
            check_admin_referer('memberwire_connect');
            $url = esc_url_raw(trim((string) wp_unslash($_POST['memberwire_url'] ?? '')), array('http', 'https'));
            $token = trim((string) wp_unslash($_POST['memberwire_api_token'] ?? ''));
            if ($url === '' || !wp_parse_url($url, PHP_URL_HOST)) {
                $notices[] = array('error', __('Give memberwire\'s address, such as https://members.example.com.', 'memberwire'));
            } elseif ($token !== '' && !preg_match('/^mwt_[A-Za-z0-9_-]{20,100}$/', $token)) {
                $notices[] = array('error', __('That is not a memberwire API token (they start with mwt_). Create one in memberwire under Settings → API tokens.', 'memberwire'));
            } else {
                $moved = untrailingslashit($url) !== memberwire_connection()['url'];
                update_option('memberwire_url', untrailingslashit($url), false);
                if ($token !== '') {
                    update_option('memberwire_api_token', $token, false);
                    $notices[] = array('success', __('Saved.', 'memberwire'));
                } elseif ($moved) {
                    // The saved token is never sent to another address than the one it was given for.
                    delete_option('memberwire_api_token');
                    $notices[] = array('warning', __('Saved the new address. Enter the API token again: the saved one was for the old address and has been removed.', 'memberwire'));
                } else {
                    $notices[] = array('success', __('Saved.', 'memberwire'));
                }
            }
        } elseif ($action === 'level_roles') {
            check_admin_referer('memberwire_level_roles');
            $grantable = memberwire_grantable_roles();
            $map = array();
            $posted = isset($_POST['memberwire_role']) && is_array($_POST['memberwire_role']) ? wp_unslash($_POST['memberwire_role']) : array();
            foreach ($posted as $level => $role) {
                $level = (string) $level;
                $role = sanitize_key((string) $role);
                if ($level !== '' && strlen($level) <= 200 && isset($grantable[$role])) {
                    $map[$level] = $role;
                }
            }
            update_option('memberwire_level_roles', $map, false);
            $notices[] = array('success', sprintf(__('Saved. The roles of %d members are up to date.', 'memberwire'), memberwire_reapply_level_roles()));
        } elseif ($action === 'sync_password') {
            check_admin_referer('memberwire_sync_password');
            $made = memberwire_new_sync_password();
            if (is_wp_error($made)) {
                $notices[] = array('error', $made->get_error_message());
            } else {
                $sync_password = $made;
            }
        }
    }
    $conn = memberwire_connection();
    $settings = ($conn['url'] !== '' && $conn['token'] !== '') ? memberwire_call('GET', '/settings') : null;

    echo '<div class="wrap mw-setup"><h1>' . esc_html__('memberwire Setup', 'memberwire') . '</h1>';
    foreach ($notices as list($type, $message)) {
        printf('<div class="notice notice-%s"><p>%s</p></div>', esc_attr($type), esc_html($message));
    }

    // 1. Connect.
    echo '<h2>' . esc_html__('1. Connect memberwire', 'memberwire') . '</h2>';
    echo '<p>' . esc_html__('memberwire receives the CRM\'s posts and runs the registrations; these screens manage it. In memberwire\'s own admin page, create an API token under Settings → API tokens and paste it here. It is kept on this server and never shown again.', 'memberwire') . '</p>';
    echo '<form method="post" action="">';
    wp_nonce_field('memberwire_connect');
    echo '<input type="hidden" name="memberwire_action" value="connect">';
    echo '<table class="form-table" role="presentation"><tbody>';
    printf('<tr><th scope="row"><label for="memberwire_url">%s</label></th><td><input name="memberwire_url" id="memberwire_url" type="url" class="regular-text code" value="%s" placeholder="https://members.example.com" required></td></tr>', esc_html__('memberwire URL', 'memberwire'), esc_attr($conn['url']));
    printf(
        '<tr><th scope="row"><label for="memberwire_api_token">%s</label></th><td><input name="memberwire_api_token" id="memberwire_api_token" type="password" class="regular-text code" value="" autocomplete="off" spellcheck="false" placeholder="%s"><p class="description">%s</p></td></tr>',
        esc_html__('API token', 'memberwire'),
        esc_attr($conn['token'] !== '' ? __('saved (leave empty to keep it)', 'memberwire') : 'mwt_…'),
        esc_html__('Leave empty to keep the saved token.', 'memberwire')
    );
    echo '</tbody></table>';
    submit_button(__('Save and Test', 'memberwire'), 'primary', 'submit', true, array('id' => 'memberwire-connect'));
    echo '</form>';
    if (is_wp_error($settings)) {
        printf('<div class="notice notice-error inline" id="memberwire-connection"><p>%s %s</p></div>', esc_html__('Not connected:', 'memberwire'), esc_html($settings->get_error_message()));
    } elseif (is_array($settings)) {
        printf(
            '<div class="notice notice-success inline" id="memberwire-connection"><p>%s</p></div>',
            esc_html(sprintf(__('Connected: memberwire answers, with the CRM %1$s and passwords by %2$s.', 'memberwire'), (string) ($settings['crm']['kind'] ?? '?'), (string) ($settings['passwordMode'] ?? '?')))
        );
    }

    // 2. The sync user.
    echo '<h2>' . esc_html__('2. Let memberwire reach this site', 'memberwire') . '</h2>';
    echo '<p>' . esc_html__('memberwire keeps its members as this site\'s users. It signs in as a dedicated user, memberwire-sync, that can do nothing but call memberwire\'s routes, with an application password. Creating a new password replaces the old one.', 'memberwire') . '</p>';
    if ($sync_password !== null) {
        $lines = 'MEMBERWIRE_WP_URL=' . home_url('/') . "\nMEMBERWIRE_WP_USER=" . MEMBERWIRE_SYNC_USER . "\nMEMBERWIRE_WP_APP_PASSWORD=" . $sync_password;
        echo '<div class="notice notice-warning inline"><p>' . esc_html__('Shown only this once: give memberwire these settings (its environment, then start it with --directory wordpress).', 'memberwire') . '</p>';
        printf('<p><textarea id="memberwire-sync-env" class="large-text code" rows="3" readonly>%s</textarea></p></div>', esc_textarea($lines));
    }
    echo '<form method="post" action="">';
    wp_nonce_field('memberwire_sync_password');
    echo '<input type="hidden" name="memberwire_action" value="sync_password">';
    submit_button(__('Create Application Password for memberwire', 'memberwire'), 'secondary', 'submit', true, array('id' => 'memberwire-sync-password'));
    echo '</form>';

    // 4 comes last on the page but is read here: the levels the rules grant.
    $rules = is_array($settings) ? memberwire_call('GET', '/rules') : null;

    // 3. The hook URLs.
    echo '<h2>' . esc_html__('3. Point the CRM at memberwire', 'memberwire') . '</h2>';
    if (is_array($settings) && !empty($settings['hookUrls']) && is_array($settings['hookUrls'])) {
        echo '<p>' . esc_html__('Paste the URL for your CRM into its webhook or HTTP post action, with ?key= and memberwire\'s access key added (memberwire → Settings shows how to rotate it).', 'memberwire') . '</p>';
        echo '<table class="form-table" role="presentation"><tbody>';
        foreach ($settings['hookUrls'] as $name => $url) {
            printf('<tr><th scope="row">%s</th><td><input type="text" class="large-text code mw-hook-url" readonly value="%s"></td></tr>', esc_html((string) $name), esc_attr((string) $url));
        }
        echo '</tbody></table>';
    } else {
        echo '<p>' . esc_html__('The hook URLs show here once memberwire is connected.', 'memberwire') . '</p>';
    }

    // 4. Levels and roles.
    echo '<h2>' . esc_html__('4. Levels and roles', 'memberwire') . '</h2>';
    echo '<p>' . esc_html__('memberwire\'s access rules give members levels. A level can also give a WordPress role, so menus, other plugins and anything that checks roles or capabilities follow memberwire. A member who loses the level loses the role.', 'memberwire') . '</p>';
    $map = memberwire_level_roles();
    $levels = array_keys($map);
    if (is_array($rules) && isset($rules['rules']) && is_array($rules['rules'])) {
        foreach ($rules['rules'] as $rule) {
            if (isset($rule['level']) && is_string($rule['level'])) {
                $levels[] = $rule['level'];
            }
        }
    }
    $levels = array_values(array_unique(array_map('strval', $levels)));
    if (!$levels) {
        echo '<p>' . esc_html__('No levels yet: add access rules under memberwire → Access Rules.', 'memberwire') . '</p>';
    } else {
        echo '<form method="post" action="">';
        wp_nonce_field('memberwire_level_roles');
        echo '<input type="hidden" name="memberwire_action" value="level_roles"><table class="form-table" role="presentation"><tbody>';
        foreach ($levels as $i => $level) {
            printf('<tr><th scope="row"><label for="memberwire-role-%d">%s</label></th><td><select id="memberwire-role-%d" name="memberwire_role[%s]"><option value="">%s</option>', $i, esc_html($level), $i, esc_attr($level), esc_html__('— no role —', 'memberwire'));
            foreach (memberwire_grantable_roles() as $slug => $name) {
                printf('<option value="%s"%s>%s</option>', esc_attr($slug), selected(isset($map[$level]) ? $map[$level] : '', $slug, false), esc_html(translate_user_role($name)));
            }
            echo '</select></td></tr>';
        }
        echo '</tbody></table>';
        submit_button(__('Save Roles', 'memberwire'), 'secondary', 'submit', true, array('id' => 'memberwire-save-roles'));
        echo '</form>';
    }
    echo '</div>';
}
