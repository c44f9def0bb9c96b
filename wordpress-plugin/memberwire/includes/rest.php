<?php
/**
 * The REST API memberwire's WordPress directory adapter (js/adapters/wordpress-directory.mjs)
 * speaks, under /wp-json/memberwire/v1 (also /?rest_route=/memberwire/v1/..., so no pretty
 * permalinks are needed). Every route needs the memberwire_sync capability (an application
 * password of a dedicated user). Errors are JSON with a stable code:
 * {"error": {"code": "...", "message": "..."}}. Nothing is ever rendered as HTML.
 *
 *   POST /directory          one directory operation: {"op": ..., ...} -> {"result": ...}
 *   GET  /members            ?q=&offset=&limit=: {"total", "members"} (no password hashes)
 *   GET  /members/m<ID>      one member, or 404
 *   GET  /export?fields=plan|index   every member's id with its email and contact, or its tags
 *   POST /levels             {"members": [{"id", "levels"}]}: the levels memberwire's rules grant
 *   GET  /wpfusion?crm=SLUG  the users WP Fusion linked to a contact ({SLUG}_contact_id and
 *                            {SLUG}_tags usermeta) that are no members yet, for the import
 */

defined('ABSPATH') || exit;

const MEMBERWIRE_REST_NS = 'memberwire/v1';
const MEMBERWIRE_MAX_BODY = 262144;

function memberwire_rest_routes()
{
    $can = function () {
        return current_user_can(MEMBERWIRE_SYNC_CAP);
    };
    $routes = array(
        array('POST', '/directory', 'memberwire_rest_directory'),
        array('GET', '/members', 'memberwire_rest_members'),
        array('GET', '/members/(?P<id>m[0-9]{1,19})', 'memberwire_rest_member'),
        array('POST', '/levels', 'memberwire_rest_levels'),
        array('GET', '/wpfusion', 'memberwire_rest_wpfusion'),
        array('GET', '/export', 'memberwire_rest_export'),
    );
    foreach ($routes as list($method, $route, $callback)) {
        register_rest_route(MEMBERWIRE_REST_NS, $route, array(
            'methods' => $method,
            'callback' => $callback,
            'permission_callback' => $can,
        ));
    }
}

/**
 * WordPress's own refusals on memberwire's routes (no credentials, no capability, a body that
 * is not JSON) in memberwire's error shape too: {"error": {"code", "message"}}.
 */
function memberwire_error_shape($response, $server, $request)
{
    if (strpos((string) $request->get_route(), '/' . MEMBERWIRE_REST_NS . '/') !== 0 || !($response instanceof WP_REST_Response)) {
        return $response;
    }
    $data = $response->get_data();
    if ($response->get_status() >= 400 && is_array($data) && isset($data['code']) && !isset($data['error'])) {
        $response->set_data(array('error' => array('code' => (string) $data['code'], 'message' => wp_strip_all_tags((string) ($data['message'] ?? '')))));
    }
    return $response;
}
add_filter('rest_post_dispatch', 'memberwire_error_shape', 10, 3);

function memberwire_error($status, $code, $message)
{
    return new WP_REST_Response(array('error' => array('code' => $code, 'message' => $message)), $status);
}

/** A string field of $a, or null. */
function memberwire_str($a, $key)
{
    return (is_array($a) && isset($a[$key]) && is_string($a[$key])) ? $a[$key] : null;
}

/** The stored form memberwire computed for a member: checked for shape, not trusted further. */
function memberwire_row($row)
{
    if (!is_array($row)) {
        return null;
    }
    foreach (array('email', 'credentials', 'search', 'data') as $k) {
        if (!is_string(memberwire_str($row, $k))) {
            return null;
        }
    }
    if (strlen($row['email']) > 254 || !in_array($row['credentials'], array('none', 'link_issued', 'password'), true)) {
        return null;
    }
    if (isset($row['contactKey']) && !is_string($row['contactKey'])) {
        return null;
    }
    if (isset($row['contactKey']) && strlen($row['contactKey']) > 400) {
        return null;
    }
    if (!is_array(json_decode($row['data'], true))) {
        return null;
    }
    return $row;
}

function memberwire_rest_directory(WP_REST_Request $request)
{
    $body = $request->get_body();
    if (strlen($body) > MEMBERWIRE_MAX_BODY) {
        return memberwire_error(413, 'body_too_large', 'the body is larger than 256 KiB');
    }
    $in = json_decode($body, true);
    if (!is_array($in) || !is_string(memberwire_str($in, 'op'))) {
        return memberwire_error(400, 'malformed_body', 'send a directory operation as JSON: {"op": ...}');
    }
    try {
        switch ($in['op']) {
            case 'get_by_contact':
                $key = memberwire_str($in, 'key');
                if ($key === null) {
                    return memberwire_error(400, 'invalid_field', 'key is required');
                }
                return new WP_REST_Response(memberwire_find('contact', $key));
            case 'get_by_email':
                $row = memberwire_row(isset($in['row']) ? $in['row'] : null);
                if (!$row) {
                    return memberwire_error(400, 'invalid_field', 'row (the normalized email) is required');
                }
                // noAdopt: a lookup that must change nothing (an import's dry run).
                return new WP_REST_Response(memberwire_find('email', $row['email'], empty($in['noAdopt']) ? $row : null));
            case 'insert':
            case 'update':
                $row = memberwire_row(isset($in['row']) ? $in['row'] : null);
                if (!$row || !isset($in['member']) || !is_array($in['member'])) {
                    return memberwire_error(400, 'invalid_field', 'member and row are required');
                }
                $levels = isset($in['levels']) && is_array($in['levels']) ? $in['levels'] : null;
                $adopt = isset($in['adoptUserId']) && is_int($in['adoptUserId']) ? $in['adoptUserId'] : 0;
                return new WP_REST_Response($in['op'] === 'insert' ? memberwire_insert($in['member'], $row, $levels, $adopt) : memberwire_update($in['member'], $row, $levels));
            case 'put_token':
                $hash = memberwire_str($in, 'tokenHash');
                if ($hash === null || !preg_match('/^[0-9a-f]{64}$/', $hash) || !isset($in['expiresAt']) || !is_numeric($in['expiresAt'])) {
                    return memberwire_error(400, 'invalid_field', 'tokenHash (64 hex digits), memberId and expiresAt are required');
                }
                return new WP_REST_Response(memberwire_put_token($hash, (string) memberwire_str($in, 'memberId'), (int) $in['expiresAt']));
            case 'consume_token':
                $hash = memberwire_str($in, 'tokenHash');
                if ($hash === null || !isset($in['now']) || !is_numeric($in['now'])) {
                    return memberwire_error(400, 'invalid_field', 'tokenHash and now are required');
                }
                return new WP_REST_Response(memberwire_consume_token($hash, (int) $in['now']));
            case 'set_password':
                $hash = memberwire_str($in, 'passwordHash');
                if ($hash === null || !preg_match('/^\$2[aby]\$[0-9]{2}\$[.\/A-Za-z0-9]{53}$/', $hash) || !isset($in['now']) || !is_numeric($in['now'])) {
                    return memberwire_error(400, 'invalid_field', 'passwordHash (a bcrypt $2y$ hash), memberId and now are required');
                }
                return new WP_REST_Response(memberwire_set_password((string) memberwire_str($in, 'memberId'), $hash, (int) $in['now']));
            default:
                return memberwire_error(400, 'invalid_field', 'unknown directory operation');
        }
    } catch (Memberwire_Store_Error $e) {
        return memberwire_error(503, $e->error_code, $e->getMessage());
    }
}

/** A member as hosts may show it: no password hash. */
function memberwire_public($m)
{
    $m['hasPassword'] = isset($m['passwordHash']);
    unset($m['passwordHash']);
    return $m;
}

function memberwire_int_param(WP_REST_Request $request, $name, $default, $max)
{
    $v = $request->get_param($name);
    if ($v === null || $v === '') {
        return $default;
    }
    return max(0, min($max, (int) $v));
}

function memberwire_rest_members(WP_REST_Request $request)
{
    global $wpdb;
    $members = memberwire_table('members');
    $q = strtolower(trim((string) $request->get_param('q')));
    $where = $q === '' ? '' : $wpdb->prepare('WHERE m.search LIKE %s', '%' . $wpdb->esc_like($q) . '%');
    $total = (int) $wpdb->get_var("SELECT COUNT(*) FROM $members m $where");
    $rows = $wpdb->get_results($wpdb->prepare(
        memberwire_select_members() . " $where ORDER BY m.created_at DESC, m.user_id DESC LIMIT %d OFFSET %d",
        memberwire_int_param($request, 'limit', 20, 200),
        memberwire_int_param($request, 'offset', 0, PHP_INT_MAX)
    ));
    return new WP_REST_Response(array('total' => $total, 'members' => array_map(function ($r) {
        return memberwire_public(memberwire_member_of($r));
    }, $rows)));
}

function memberwire_rest_member(WP_REST_Request $request)
{
    $m = memberwire_member_at(memberwire_seq($request['id']));
    return $m ? new WP_REST_Response(memberwire_public($m)) : memberwire_error(404, 'not_found', 'no such member');
}

function memberwire_rest_levels(WP_REST_Request $request)
{
    $in = json_decode($request->get_body(), true);
    if (!is_array($in) || !isset($in['members']) || !is_array($in['members']) || count($in['members']) > 1000) {
        return memberwire_error(400, 'malformed_body', 'send {"members": [{"id": "m12", "levels": ["gold"]}]}, at most 1,000 at a time');
    }
    $changed = 0;
    foreach ($in['members'] as $m) {
        $user_id = memberwire_seq(is_array($m) ? memberwire_str($m, 'id') : null);
        if ($user_id === 0 || !isset($m['levels']) || !is_array($m['levels']) || !memberwire_member_at($user_id)) {
            continue;
        }
        if (memberwire_store_levels($user_id, $m['levels'])) {
            $changed++;
        }
    }
    return new WP_REST_Response(array('changed' => $changed));
}

function memberwire_rest_wpfusion(WP_REST_Request $request)
{
    global $wpdb;
    $slug = (string) $request->get_param('crm');
    if (!preg_match('/^[a-z0-9_]{1,40}$/', $slug)) {
        return memberwire_error(400, 'invalid_field', 'crm must be the WP Fusion CRM slug (infusionsoft, activecampaign, ...)');
    }
    $members = memberwire_table('members');
    $rows = $wpdb->get_results($wpdb->prepare(
        "SELECT u.ID, u.user_email, c.meta_value AS contact_id FROM {$wpdb->users} u
           JOIN {$wpdb->usermeta} c ON c.user_id = u.ID AND c.meta_key = %s AND c.meta_value <> ''
           LEFT JOIN $members m ON m.user_id = u.ID
         WHERE m.user_id IS NULL ORDER BY u.ID LIMIT %d OFFSET %d",
        $slug . '_contact_id',
        memberwire_int_param($request, 'limit', 500, 1000),
        memberwire_int_param($request, 'offset', 0, PHP_INT_MAX)
    ));
    $out = array();
    foreach ($rows as $r) {
        $tags = get_user_meta((int) $r->ID, $slug . '_tags', true);
        $out[] = array(
            'userId' => (int) $r->ID,
            'email' => $r->user_email,
            'contactId' => (string) $r->contact_id,
            'tags' => is_array($tags) ? array_values(array_map('strval', $tags)) : array(),
            'firstName' => (string) get_user_meta((int) $r->ID, 'first_name', true),
            'lastName' => (string) get_user_meta((int) $r->ID, 'last_name', true),
        );
    }
    return new WP_REST_Response($out);
}

function memberwire_rest_export(WP_REST_Request $request)
{
    global $wpdb;
    $fields = $request->get_param('fields');
    if ($fields !== 'plan' && $fields !== 'index') {
        return memberwire_error(400, 'invalid_field', 'fields must be plan or index');
    }
    $members = memberwire_table('members');
    $out = array();
    foreach ($wpdb->get_results("SELECT user_id, email, data FROM $members ORDER BY user_id") as $r) {
        $data = json_decode($r->data, true);
        $id = 'm' . $r->user_id;
        if ($fields === 'plan') {
            $out[] = array('id' => $id, 'email' => $r->email, 'contact' => isset($data['contact']) ? $data['contact'] : null);
        } else {
            $out[] = array('id' => $id, 'tags' => isset($data['tags']) ? $data['tags'] : array());
        }
    }
    return new WP_REST_Response($out);
}
