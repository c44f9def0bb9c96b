<?php
/**
 * The directory port's primitives over WordPress: members are WordPress users, and uniqueness is
 * InnoDB's. Every operation answers exactly as memberwire's in-memory reference directory does
 * (its conformance suite runs against this file through the REST API), with one addition that
 * only WordPress has: an existing WordPress user whose email a lookup or an insert names is
 * adopted as a member (never duplicated).
 *
 * Inputs are checked and normalized by memberwire before they arrive: `row` carries the
 * normalized email, the contact key, the search text and the member's other fields as JSON, all
 * computed by the same Rust core that the other stores use.
 */

defined('ABSPATH') || exit;

const MEMBERWIRE_MAX_TRIES = 8;

/** A directory answer: array('result' => ..., ...). */
function memberwire_result($result, $extra = array())
{
    return array_merge(array('result' => $result), $extra);
}

/** A members row (joined with its user's password) as the member record memberwire reads. */
function memberwire_member_of($row)
{
    if (!$row) {
        return null;
    }
    $m = json_decode($row->data, true);
    if (!is_array($m)) {
        $m = array();
    }
    $m['id'] = 'm' . $row->user_id;
    $m['version'] = (int) $row->version;
    $m['email'] = $row->email;
    $m['credentials'] = $row->credentials;
    if ((int) $row->password_set === 1 && $row->user_pass !== null) {
        $m['passwordHash'] = $row->user_pass;
    }
    $m['createdAt'] = (int) $row->created_at;
    $m['updatedAt'] = (int) $row->updated_at;
    return $m;
}

function memberwire_select_members()
{
    global $wpdb;
    $members = memberwire_table('members');
    return "SELECT m.*, u.user_pass FROM $members m LEFT JOIN {$wpdb->users} u ON u.ID = m.user_id";
}

function memberwire_member_at($user_id, $lock = false)
{
    global $wpdb;
    $sql = memberwire_select_members() . ' WHERE m.user_id = %d' . ($lock ? ' FOR UPDATE' : '');
    return memberwire_member_of($wpdb->get_row($wpdb->prepare($sql, $user_id)));
}

function memberwire_holder_of($kind, $value, $except = 0)
{
    global $wpdb;
    if ($value === null || $value === '') {
        return null;
    }
    $identities = memberwire_table('identities');
    $user_id = (int) $wpdb->get_var($wpdb->prepare("SELECT user_id FROM $identities WHERE kind = %s AND value = %s", $kind, $value));
    if ($user_id === 0 || $user_id === (int) $except) {
        return null;
    }
    return memberwire_member_at($user_id);
}

/** Who holds one of the row's identities: the contact first, as the reference checks. */
function memberwire_holder($row, $except = 0)
{
    $by_contact = memberwire_holder_of('contact', isset($row['contactKey']) ? $row['contactKey'] : null, $except);
    if ($by_contact) {
        return array('contact', $by_contact);
    }
    $by_email = memberwire_holder_of('email', $row['email'], $except);
    return $by_email ? array('email', $by_email) : null;
}

function memberwire_seq($id)
{
    return (is_string($id) && preg_match('/^m([1-9][0-9]{0,18})$/', $id, $m)) ? (int) $m[1] : 0;
}

/** Runs $fn in a transaction; a deadlock or lock wait timeout runs it again. */
function memberwire_transaction($fn)
{
    global $wpdb;
    for ($try = 0; $try < MEMBERWIRE_MAX_TRIES; $try++) {
        $wpdb->query('START TRANSACTION');
        try {
            $out = $fn();
        } catch (Memberwire_Retry $e) {
            $wpdb->query('ROLLBACK');
            usleep(random_int(1000, 20000) * ($try + 1));
            continue;
        } catch (Throwable $e) {
            $wpdb->query('ROLLBACK');
            throw $e;
        }
        if ($out === null) {
            // $fn rolled back on its own and asks for another try.
            continue;
        }
        if (isset($out['rollback'])) {
            $wpdb->query('ROLLBACK');
            return $out['answer'];
        }
        if ($wpdb->query('COMMIT') === false) {
            $wpdb->query('ROLLBACK');
            continue;
        }
        return $out['answer'];
    }
    throw new Memberwire_Store_Error('directory_contended', 'the directory stayed contended; try again');
}

class Memberwire_Retry extends Exception
{
}

class Memberwire_Store_Error extends Exception
{
    public $error_code;

    public function __construct($code, $message)
    {
        parent::__construct($message);
        $this->error_code = $code;
    }
}

/**
 * A write that must succeed, or tells which constraint refused it: 'duplicate' for a taken
 * identity; a deadlock or lock timeout becomes a retry; anything else is a store error.
 */
function memberwire_write($sql)
{
    global $wpdb;
    $wpdb->suppress_errors(true);
    $r = $wpdb->query($sql);
    $wpdb->suppress_errors(false);
    if ($r !== false) {
        return $r;
    }
    $err = (string) $wpdb->last_error;
    if (stripos($err, 'Duplicate entry') !== false) {
        return 'duplicate';
    }
    if (stripos($err, 'Deadlock') !== false || stripos($err, 'Lock wait timeout') !== false) {
        throw new Memberwire_Retry($err);
    }
    throw new Memberwire_Store_Error('store_unavailable', 'the WordPress database refused a write');
}

/** The claims of a row: the contact key first (when there is one), then the email. */
function memberwire_claims($row)
{
    $claims = array();
    if (isset($row['contactKey']) && $row['contactKey'] !== null && $row['contactKey'] !== '') {
        $claims[] = array('contact', (string) $row['contactKey']);
    }
    $claims[] = array('email', (string) $row['email']);
    return $claims;
}

/** A WordPress user with this email that is not a member yet (the oldest), or 0. */
function memberwire_unclaimed_user($email)
{
    global $wpdb;
    $members = memberwire_table('members');
    return (int) $wpdb->get_var($wpdb->prepare(
        "SELECT u.ID FROM {$wpdb->users} u LEFT JOIN $members m ON m.user_id = u.ID WHERE u.user_email = %s AND m.user_id IS NULL ORDER BY u.ID LIMIT 1",
        $email
    ));
}

/** `$user_id` when that account exists, is no member yet and has this email (any case), else 0. */
function memberwire_adoptable($user_id, $email)
{
    global $wpdb;
    if ((int) $user_id <= 0) {
        return 0;
    }
    $members = memberwire_table('members');
    return (int) $wpdb->get_var($wpdb->prepare(
        "SELECT u.ID FROM {$wpdb->users} u LEFT JOIN $members m ON m.user_id = u.ID WHERE u.ID = %d AND u.user_email = %s AND m.user_id IS NULL",
        $user_id,
        $email
    ));
}

/** A new WordPress user for a member: the email as username (as site owners do by hand). */
function memberwire_create_user($member, $email)
{
    $login = $email;
    if (strlen($login) > 60 || username_exists($login)) {
        $login = 'member_' . substr(hash('sha256', $email), 0, 16);
    }
    $user = array(
        'user_login' => $login,
        'user_email' => $email,
        // Never used to log in: the member gets a set-password link or the CRM password.
        'user_pass' => wp_generate_password(32, true, true),
        'role' => get_option('memberwire_role', 'subscriber'),
        'first_name' => isset($member['firstName']) ? (string) $member['firstName'] : '',
        'last_name' => isset($member['lastName']) ? (string) $member['lastName'] : '',
    );
    $id = wp_insert_user(wp_slash($user));
    if (is_wp_error($id)) {
        throw new Memberwire_Store_Error('wordpress_refused', 'WordPress refused the user: ' . $id->get_error_code());
    }
    return (int) $id;
}

function memberwire_write_member_row($user_id, $version, $row, $member, $password_set)
{
    global $wpdb;
    $members = memberwire_table('members');
    return memberwire_write($wpdb->prepare(
        "INSERT INTO $members (user_id, version, email, contact_key, credentials, password_set, search, created_at, updated_at, data)
         VALUES (%d, %d, %s, NULLIF(%s, ''), %s, %d, %s, %d, %d, %s)
         ON DUPLICATE KEY UPDATE version = VALUES(version), email = VALUES(email), contact_key = VALUES(contact_key),
           credentials = VALUES(credentials), search = VALUES(search), created_at = VALUES(created_at),
           updated_at = VALUES(updated_at), data = VALUES(data)",
        $user_id,
        $version,
        $row['email'],
        isset($row['contactKey']) ? (string) $row['contactKey'] : '',
        $row['credentials'],
        $password_set ? 1 : 0,
        $row['search'],
        isset($member['createdAt']) ? (int) $member['createdAt'] : 0,
        isset($member['updatedAt']) ? (int) $member['updatedAt'] : 0,
        $row['data']
    ));
}

/** The levels memberwire's rules grant a user (what the content gating reads). */
function memberwire_store_levels($user_id, $levels)
{
    $clean = array();
    foreach ((array) $levels as $l) {
        if (is_string($l) && $l !== '' && strlen($l) <= 200) {
            $clean[] = $l;
        }
    }
    $clean = array_values(array_unique($clean));
    sort($clean);
    $before = get_user_meta($user_id, 'memberwire_levels', true);
    if ($before === $clean) {
        return false;
    }
    update_user_meta($user_id, 'memberwire_levels', $clean);
    memberwire_apply_level_roles($user_id, $clean);
    return true;
}

/** The account's own fields follow the member's: email and names. */
function memberwire_sync_user($user_id, $member, $email)
{
    global $wpdb;
    memberwire_write($wpdb->prepare("UPDATE {$wpdb->users} SET user_email = %s WHERE ID = %d", $email, $user_id));
    update_user_meta($user_id, 'first_name', isset($member['firstName']) ? (string) $member['firstName'] : '');
    update_user_meta($user_id, 'last_name', isset($member['lastName']) ? (string) $member['lastName'] : '');
}

/** Insert if neither the contact key nor the email is taken: creates or adopts the WordPress user. */
function memberwire_insert($member, $row, $levels = null, $adopt_user_id = 0)
{
    global $wpdb;
    $identities = memberwire_table('identities');
    return memberwire_transaction(function () use ($member, $row, $levels, $adopt_user_id, $wpdb, $identities) {
        foreach (memberwire_claims($row) as $claim) {
            // Placeholder owner 0 until the user exists: the claim itself is what races.
            if (memberwire_write($wpdb->prepare("INSERT INTO $identities (kind, value, user_id) VALUES (%s, %s, 0)", $claim[0], $claim[1])) === 'duplicate') {
                $wpdb->query('ROLLBACK');
                $h = memberwire_holder($row);
                return $h ? array('rollback' => true, 'answer' => memberwire_result('exists', array('on' => $h[0], 'member' => $h[1]))) : null;
            }
        }
        // A named account (an import from another plugin) is adopted when it is still no
        // member's and its email is this one; otherwise the oldest account with the email.
        $user_id = memberwire_adoptable($adopt_user_id, $row['email']) ?: memberwire_unclaimed_user($row['email']);
        if ($user_id === 0) {
            $user_id = memberwire_create_user($member, $row['email']);
        }
        $password_set = isset($member['passwordHash']) && is_string($member['passwordHash']) && $member['passwordHash'] !== '';
        if ($password_set) {
            memberwire_write($wpdb->prepare("UPDATE {$wpdb->users} SET user_pass = %s WHERE ID = %d", $member['passwordHash'], $user_id));
        }
        foreach (memberwire_claims($row) as $claim) {
            memberwire_write($wpdb->prepare("UPDATE $identities SET user_id = %d WHERE kind = %s AND value = %s", $user_id, $claim[0], $claim[1]));
        }
        memberwire_write_member_row($user_id, 1, $row, $member, $password_set);
        memberwire_sync_user($user_id, $member, $row['email']);
        if ($levels !== null) {
            memberwire_store_levels($user_id, $levels);
        }
        return array('answer' => memberwire_result('inserted', array('member' => memberwire_member_at($user_id))));
    });
}

/** Replace the member whose id and version match; its new identities must be free or its own. */
function memberwire_update($member, $row, $levels = null)
{
    global $wpdb;
    $user_id = memberwire_seq(isset($member['id']) ? $member['id'] : '');
    if ($user_id === 0) {
        return memberwire_result('stale', array('member' => null));
    }
    $identities = memberwire_table('identities');
    $answer = memberwire_transaction(function () use ($member, $row, $levels, $user_id, $wpdb, $identities) {
        $current = memberwire_member_at($user_id, true);
        if (!$current || $current['version'] !== (int) $member['version']) {
            return array('rollback' => true, 'answer' => memberwire_result('stale', array('member' => $current)));
        }
        $contact = isset($row['contactKey']) ? (string) $row['contactKey'] : '';
        memberwire_write($wpdb->prepare(
            "DELETE FROM $identities WHERE user_id = %d AND NOT ((kind = 'email' AND value = %s) OR (kind = 'contact' AND value = %s))",
            $user_id,
            $row['email'],
            $contact
        ));
        foreach (memberwire_claims($row) as $claim) {
            $sql = $wpdb->prepare(
                "INSERT INTO $identities (kind, value, user_id) SELECT %s, %s, %d FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM $identities WHERE kind = %s AND value = %s AND user_id = %d)",
                $claim[0],
                $claim[1],
                $user_id,
                $claim[0],
                $claim[1],
                $user_id
            );
            if (memberwire_write($sql) === 'duplicate') {
                $wpdb->query('ROLLBACK');
                $h = memberwire_holder($row, $user_id);
                return $h ? array('rollback' => true, 'answer' => memberwire_result('taken', array('on' => $h[0], 'member' => $h[1]))) : null;
            }
        }
        memberwire_write_member_row($user_id, $current['version'] + 1, $row, $member, isset($current['passwordHash']));
        memberwire_sync_user($user_id, $member, $row['email']);
        if ($levels !== null) {
            memberwire_store_levels($user_id, $levels);
        }
        return array('answer' => memberwire_result('updated', array('member' => memberwire_member_at($user_id))));
    });
    clean_user_cache($user_id);
    return $answer;
}

/** Store a token's digest for a member (one live link per member). */
function memberwire_put_token($token_hash, $member_id, $expires_at)
{
    global $wpdb;
    $user_id = memberwire_seq($member_id);
    $refused = memberwire_credentials_refused($user_id);
    if ($refused) {
        return $refused;
    }
    $members = memberwire_table('members');
    $tokens = memberwire_table('tokens');
    $answer = memberwire_transaction(function () use ($wpdb, $user_id, $members, $tokens, $token_hash, $expires_at) {
        if (!memberwire_member_at($user_id, true)) {
            return array('rollback' => true, 'answer' => memberwire_result('no_such_member'));
        }
        memberwire_write($wpdb->prepare("UPDATE $members SET credentials = 'link_issued', version = version + 1 WHERE user_id = %d AND credentials = 'none'", $user_id));
        memberwire_write($wpdb->prepare("DELETE FROM $tokens WHERE user_id = %d", $user_id));
        memberwire_write($wpdb->prepare(
            "INSERT INTO $tokens (token_hash, user_id, expires_at) VALUES (%s, %d, %d) ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), expires_at = VALUES(expires_at)",
            $token_hash,
            $user_id,
            $expires_at
        ));
        return array('answer' => memberwire_result('token_stored', array('member' => memberwire_member_at($user_id))));
    });
    // The member sets the password on this site's own login page: the link memberwire writes into
    // the CRM is WordPress's reset link (a new key replaces any earlier one; it lasts as long as
    // WordPress lets reset keys last, a day unless password_reset_expiration says otherwise).
    if (($answer['result'] ?? '') === 'token_stored') {
        $user = get_userdata($user_id);
        $key = $user ? get_password_reset_key($user) : null;
        if ($user && is_string($key)) {
            $answer['link'] = network_site_url('wp-login.php?action=rp&key=' . rawurlencode($key) . '&login=' . rawurlencode($user->user_login), 'login');
        }
    }
    return $answer;
}

/** In a transaction holding the member's row: the member has a password now (a new version). */
function memberwire_mark_password_set($user_id, $now)
{
    global $wpdb;
    $members = memberwire_table('members');
    memberwire_write($wpdb->prepare("UPDATE $members SET password_set = 1, credentials = 'password', version = version + 1, updated_at = %d WHERE user_id = %d", $now, $user_id));
}

/**
 * A member who set a password through WordPress (the reset link, the lost-password form, a
 * profile edit) has credentials now: the member row says so, and memberwire's own set-password
 * tokens for that member stop working.
 */
function memberwire_password_changed($user)
{
    global $wpdb;
    $user_id = is_object($user) ? (int) $user->ID : (int) $user;
    $tokens = memberwire_table('tokens');
    memberwire_transaction(function () use ($wpdb, $user_id, $tokens) {
        if (!memberwire_member_at($user_id, true)) {
            return array('rollback' => true, 'answer' => null);
        }
        memberwire_mark_password_set($user_id, (int) round(microtime(true) * 1000));
        memberwire_write($wpdb->prepare("DELETE FROM $tokens WHERE user_id = %d", $user_id));
        return array('answer' => null);
    });
}
add_action('after_password_reset', 'memberwire_password_changed');

/**
 * Whether the account can change the site (edit others' posts, manage options or users, install
 * plugins, or act as memberwire's sync user). memberwire never issues credentials to such an
 * account, even when a contact's email matched it: a set-password link or a password in a CRM
 * field must never open a staff account to whoever can read the CRM.
 */
function memberwire_is_staff($user_id)
{
    foreach (MEMBERWIRE_STAFF_CAPS as $cap) {
        if (user_can((int) $user_id, $cap)) {
            return true;
        }
    }
    return false;
}

/** Why credentials cannot be issued to user `$user_id` (no member there, or a staff account), or null. */
function memberwire_credentials_refused($user_id)
{
    if ($user_id === 0) {
        return memberwire_result('no_such_member');
    }
    if (memberwire_is_staff($user_id)) {
        return memberwire_result('rejected', array('reason' => 'this WordPress account can change the site, so memberwire never sets its password or sends it a link; it signs in with its own'));
    }
    return null;
}

/** Use up a token: succeeds once, before it expires. */
function memberwire_consume_token($token_hash, $now)
{
    global $wpdb;
    $tokens = memberwire_table('tokens');
    $token = memberwire_transaction(function () use ($wpdb, $tokens, $token_hash) {
        $t = $wpdb->get_row($wpdb->prepare("SELECT user_id, expires_at FROM $tokens WHERE token_hash = %s FOR UPDATE", $token_hash));
        if ($t) {
            memberwire_write($wpdb->prepare("DELETE FROM $tokens WHERE token_hash = %s", $token_hash));
        }
        return array('answer' => $t);
    });
    if (!$token || !((int) $token->expires_at > (int) $now)) {
        return memberwire_result('token_invalid');
    }
    $member = memberwire_member_at((int) $token->user_id);
    return $member ? memberwire_result('token_consumed', array('member' => $member)) : memberwire_result('token_invalid');
}

/** Set the member's password hash: it becomes the WordPress user's password. */
function memberwire_set_password($member_id, $password_hash, $now)
{
    global $wpdb;
    $user_id = memberwire_seq($member_id);
    $refused = memberwire_credentials_refused($user_id);
    if ($refused) {
        return $refused;
    }
    $answer = memberwire_transaction(function () use ($wpdb, $user_id, $password_hash, $now) {
        if (!memberwire_member_at($user_id, true)) {
            return array('rollback' => true, 'answer' => memberwire_result('no_such_member'));
        }
        memberwire_mark_password_set($user_id, $now);
        memberwire_write($wpdb->prepare("UPDATE {$wpdb->users} SET user_pass = %s WHERE ID = %d", $password_hash, $user_id));
        return array('answer' => memberwire_result('password_set', array('member' => memberwire_member_at($user_id))));
    });
    clean_user_cache($user_id);
    return $answer;
}

/**
 * Find by contact key or by email. Looking up an email that an existing WordPress user has but
 * no member does adopts that user as a member without a contact (so memberwire links it rather
 * than creating a second account).
 */
function memberwire_find($kind, $value, $adopt = null)
{
    $found = memberwire_holder_of($kind, $value);
    if ($found || $kind !== 'email' || !$adopt) {
        return memberwire_result('found', array('member' => $found));
    }
    if (memberwire_unclaimed_user($value) === 0) {
        return memberwire_result('found', array('member' => null));
    }
    $r = memberwire_adopt($value, $adopt);
    return memberwire_result('found', array('member' => $r));
}

/** Makes the WordPress user with this email a member (no contact), claiming the email. */
function memberwire_adopt($email, $row)
{
    global $wpdb;
    $identities = memberwire_table('identities');
    return memberwire_transaction(function () use ($wpdb, $identities, $email, $row) {
        if (memberwire_write($wpdb->prepare("INSERT INTO $identities (kind, value, user_id) VALUES ('email', %s, 0)", $email)) === 'duplicate') {
            $wpdb->query('ROLLBACK');
            $h = memberwire_holder_of('email', $email);
            return $h ? array('rollback' => true, 'answer' => $h) : null;
        }
        $user_id = memberwire_unclaimed_user($email);
        if ($user_id === 0) {
            return array('rollback' => true, 'answer' => null);
        }
        $user = get_userdata($user_id);
        $member = array('createdAt' => strtotime($user->user_registered . ' UTC') * 1000, 'updatedAt' => strtotime($user->user_registered . ' UTC') * 1000);
        memberwire_write($wpdb->prepare("UPDATE $identities SET user_id = %d WHERE kind = 'email' AND value = %s", $user_id, $email));
        // An account with its own password: memberwire issues no credentials for it.
        $row['credentials'] = 'password';
        memberwire_write_member_row($user_id, 1, $row, $member, false);
        return array('answer' => memberwire_member_at($user_id));
    });
}
