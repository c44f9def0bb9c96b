<?php
/**
 * The manual flow site owners follow today, on the user's own screens:
 *
 * - Users → (a user) → a memberwire section: the CRM contact id (editable), the member's tags and
 *   levels, and "Refresh from CRM (tags and credentials)": on Update User, memberwire loads the
 *   contact, copies its tags and names, issues new credentials into the CRM field, and applies
 *   the welcome tag only when the second box asks.
 * - Users → Add New with a contact id: the account is made by memberwire, through the same
 *   identity claims a webhook uses, so it can never duplicate a member a webhook made (a taken
 *   contact or email is refused on the form, naming the member).
 *
 * Every change goes through memberwire's admin API with the plugin's token (admin.php); the rules
 * stay in memberwire. Only administrators (manage_options) see or use any of it.
 */

defined('ABSPATH') || exit;

/** A notice for the current administrator's next screen. */
function memberwire_flash($type, $message)
{
    set_transient('memberwire_flash_' . get_current_user_id(), array($type, $message), 120);
}

function memberwire_show_flash()
{
    $key = 'memberwire_flash_' . get_current_user_id();
    $flash = get_transient($key);
    if (is_array($flash)) {
        delete_transient($key);
        printf('<div class="notice notice-%s is-dismissible memberwire-notice"><p>%s</p></div>', esc_attr($flash[0]), esc_html($flash[1]));
    }
}
add_action('admin_notices', 'memberwire_show_flash');

/** A contact id from the form: '' (none), the digits, or null when it is not one. */
function memberwire_posted_contact_id()
{
    $raw = isset($_POST['memberwire_contact_id']) ? trim((string) wp_unslash($_POST['memberwire_contact_id'])) : '';
    if ($raw === '') {
        return '';
    }
    return preg_match('/^[0-9]{1,20}$/', $raw) ? $raw : null;
}

function memberwire_tag_label($tag)
{
    if (!empty($tag['name'])) {
        return (string) $tag['name'];
    }
    return isset($tag['id']) ? '#' . $tag['id'] : '?';
}

/** The section on user-edit.php and profile.php. */
function memberwire_profile_section($user)
{
    if (!current_user_can('manage_options')) {
        return;
    }
    $m = memberwire_member_at((int) $user->ID);
    $contact = is_array($m) && isset($m['contact']['contactId']) ? (string) $m['contact']['contactId'] : '';
    wp_nonce_field('memberwire_profile', 'memberwire_profile_nonce');
    echo '<h2 id="memberwire">memberwire</h2><table class="form-table" role="presentation"><tbody>';
    printf(
        '<tr><th><label for="memberwire_contact_id">%s</label></th><td><input type="text" name="memberwire_contact_id" id="memberwire_contact_id" value="%s" class="regular-text code" inputmode="numeric" autocomplete="off"><p class="description">%s</p></td></tr>',
        esc_html__('CRM contact id', 'memberwire'),
        esc_attr($contact),
        esc_html($m ? __('The contact this member belongs to. Changing it links the member to another contact.', 'memberwire') : __('This user is not a member yet: a contact id makes it one, linked to that contact.', 'memberwire'))
    );
    if ($m) {
        $tags = isset($m['tags']) && is_array($m['tags']) ? array_map('memberwire_tag_label', $m['tags']) : array();
        $levels = memberwire_user_levels((int) $user->ID);
        printf('<tr><th>%s</th><td id="memberwire-tags">%s</td></tr>', esc_html__('Tags', 'memberwire'), $tags ? esc_html(implode(', ', $tags)) : '<em>' . esc_html__('none', 'memberwire') . '</em>');
        printf('<tr><th>%s</th><td id="memberwire-levels">%s</td></tr>', esc_html__('Levels', 'memberwire'), $levels ? esc_html(implode(', ', $levels)) : '<em>' . esc_html__('none', 'memberwire') . '</em>');
        printf('<tr><th>%s</th><td>%s</td></tr>', esc_html__('Credentials', 'memberwire'), esc_html((string) ($m['credentials'] ?? 'none')));
    }
    printf(
        '<tr><th>%s</th><td><label><input type="checkbox" name="memberwire_refresh" id="memberwire_refresh" value="1"> %s</label><br><label><input type="checkbox" name="memberwire_refresh_welcome" id="memberwire_refresh_welcome" value="1"> %s</label></td></tr>',
        esc_html__('Refresh', 'memberwire'),
        esc_html__('Refresh from CRM (tags and credentials)', 'memberwire'),
        esc_html__('and apply the welcome tag, so the CRM sends the welcome email (only if it was never sent)', 'memberwire')
    );
    echo '</tbody></table>';
}
add_action('show_user_profile', 'memberwire_profile_section');
add_action('edit_user_profile', 'memberwire_profile_section');

/** The contact id field on Users → Add New. */
function memberwire_new_user_section()
{
    if (!current_user_can('manage_options')) {
        return;
    }
    wp_nonce_field('memberwire_profile', 'memberwire_profile_nonce');
    echo '<h2>memberwire</h2><table class="form-table" role="presentation"><tbody>';
    printf(
        '<tr><th><label for="memberwire_contact_id">%s</label></th><td><input type="text" name="memberwire_contact_id" id="memberwire_contact_id" value="" class="regular-text code" inputmode="numeric" autocomplete="off"><p class="description">%s</p></td></tr>',
        esc_html__('CRM contact id', 'memberwire'),
        esc_html__('With a contact id, memberwire makes this member (the email as username), refusing a contact or email another member has.', 'memberwire')
    );
    printf(
        '<tr><th>%s</th><td><label><input type="checkbox" name="memberwire_refresh" id="memberwire_refresh" value="1"> %s</label><br><label><input type="checkbox" name="memberwire_refresh_welcome" id="memberwire_refresh_welcome" value="1"> %s</label></td></tr>',
        esc_html__('Refresh', 'memberwire'),
        esc_html__('Refresh from CRM (tags and credentials)', 'memberwire'),
        esc_html__('and apply the welcome tag, so the CRM sends the welcome email', 'memberwire')
    );
    echo '</tbody></table>';
}
add_action('user_new_form', 'memberwire_new_user_section');

function memberwire_profile_posted()
{
    return current_user_can('manage_options')
        && isset($_POST['memberwire_profile_nonce'])
        && wp_verify_nonce(sanitize_text_field(wp_unslash($_POST['memberwire_profile_nonce'])), 'memberwire_profile');
}

/** A refresh as the boxes ask; returns a sentence for the notice, or a WP_Error. */
function memberwire_refresh_member($member_id)
{
    $welcome = !empty($_POST['memberwire_refresh_welcome']);
    $r = memberwire_call('POST', '/members/' . rawurlencode($member_id) . '/refresh', array('credentials' => true, 'welcome' => $welcome));
    if (is_wp_error($r)) {
        return $r;
    }
    if (($r['outcome'] ?? '') === 'queued') {
        return __('Refresh from CRM started: it finishes in the background (memberwire → Activity).', 'memberwire');
    }
    $words = array(
        'link_sent' => __('a new set-password link is in the CRM', 'memberwire'),
        'crm_password' => __('the password from the CRM is set', 'memberwire'),
        'generated_password' => __('a new password is in the CRM', 'memberwire'),
    );
    $what = $words[$r['credentials'] ?? ''] ?? __('no new credentials (no CRM field is configured for them)', 'memberwire');
    $welcome_word = ($r['welcome'] ?? '') === 'applied' ? ' ' . __('The welcome tag was applied.', 'memberwire') : '';
    return sprintf(__('Refreshed from CRM: tags copied, %s.', 'memberwire'), $what) . $welcome_word;
}

/**
 * Before WordPress saves the form: a bad contact id, or an email change on a member (memberwire
 * keeps the member's email in step with the CRM's), stops the save with a message. On Add New
 * with a contact id, memberwire makes the account through its claims, and the screen goes to
 * that user (WordPress's own insert would only find the email taken).
 */
function memberwire_profile_errors($errors, $update, $user)
{
    if (!memberwire_profile_posted()) {
        return;
    }
    $contact_id = memberwire_posted_contact_id();
    if ($contact_id === null) {
        $errors->add('memberwire_contact_id', __('<strong>Error:</strong> The CRM contact id is a number.', 'memberwire'));
        return;
    }
    if ($update) {
        $m = memberwire_member_at((int) $user->ID);
        // (WordPress keeps only ASCII addresses: an international one is not compared here.)
        $kept = $m ? (string) $m['email'] : '';
        if ($m && isset($user->user_email) && preg_match('/^[\x21-\x7e]+$/', $kept) && strtolower((string) $user->user_email) !== strtolower($kept)) {
            $errors->add('memberwire_email', __('<strong>Error:</strong> This member\'s email comes from the CRM: change it there, then use Refresh from CRM.', 'memberwire'));
        }
        return;
    }
    if ($contact_id === '' || $errors->has_errors()) {
        return;
    }
    $made = memberwire_call('POST', '/members', array(
        'email' => (string) $user->user_email,
        'contactId' => $contact_id,
        'firstName' => isset($user->first_name) ? (string) $user->first_name : '',
        'lastName' => isset($user->last_name) ? (string) $user->last_name : '',
    ));
    if (is_wp_error($made)) {
        $errors->add('memberwire', '<strong>' . esc_html__('Error:', 'memberwire') . '</strong> ' . esc_html($made->get_error_message()));
        return;
    }
    $note = __('Member added by memberwire.', 'memberwire');
    if (!empty($_POST['memberwire_refresh'])) {
        $r = memberwire_refresh_member((string) $made['id']);
        $note .= ' ' . (is_wp_error($r) ? __('Refresh from CRM failed:', 'memberwire') . ' ' . $r->get_error_message() : $r);
    }
    // The member is this site's user only when memberwire keeps its members here.
    $new_user = get_userdata((int) substr((string) $made['id'], 1));
    if (!$new_user || strtolower((string) $new_user->user_email) !== strtolower((string) ($made['email'] ?? ''))) {
        $errors->add('memberwire', '<strong>' . esc_html__('Error:', 'memberwire') . '</strong> ' . esc_html__('memberwire added the member to its own directory, not to this site\'s users: start memberwire with this site as its directory (memberwire → Setup).', 'memberwire'));
        return;
    }
    memberwire_flash('success', $note);
    wp_safe_redirect(add_query_arg('user_id', $new_user->ID, admin_url('user-edit.php')));
    exit;
}
add_action('user_profile_update_errors', 'memberwire_profile_errors', 10, 3);

/** After WordPress saved an existing user: link the contact, then refresh as asked. */
function memberwire_profile_saved($user_id)
{
    if (!memberwire_profile_posted()) {
        return;
    }
    $contact_id = memberwire_posted_contact_id();
    $m = memberwire_member_at((int) $user_id);
    $current = is_array($m) && isset($m['contact']['contactId']) ? (string) $m['contact']['contactId'] : '';
    $notes = array();
    if (!$m && $contact_id !== '' && $contact_id !== null) {
        // Not a member yet: memberwire adopts this account (its email) under the contact.
        $user = get_userdata($user_id);
        $made = memberwire_call('POST', '/members', array('email' => (string) $user->user_email, 'contactId' => $contact_id, 'firstName' => (string) $user->first_name, 'lastName' => (string) $user->last_name));
        if (is_wp_error($made)) {
            memberwire_flash('error', __('memberwire could not make this user a member:', 'memberwire') . ' ' . $made->get_error_message());
            return;
        }
        $m = memberwire_member_at((int) $user_id);
        $notes[] = __('This user is a member now, linked to the contact.', 'memberwire');
    } elseif ($m && $contact_id !== null && $contact_id !== $current) {
        $r = memberwire_call('PUT', '/members/' . rawurlencode($m['id']) . '/contact', array('contactId' => $contact_id === '' ? null : $contact_id));
        if (is_wp_error($r)) {
            memberwire_flash('error', __('The contact id was not changed:', 'memberwire') . ' ' . $r->get_error_message());
            return;
        }
        $notes[] = $contact_id === '' ? __('The member is no longer linked to a contact.', 'memberwire') : __('The member is linked to the new contact.', 'memberwire');
    }
    if ($m && !empty($_POST['memberwire_refresh'])) {
        $r = memberwire_refresh_member((string) $m['id']);
        if (is_wp_error($r)) {
            memberwire_flash('error', __('Refresh from CRM failed:', 'memberwire') . ' ' . $r->get_error_message());
            return;
        }
        $notes[] = $r;
    }
    if ($notes) {
        memberwire_flash('success', implode(' ', $notes));
    }
}
add_action('profile_update', 'memberwire_profile_saved', 20);
