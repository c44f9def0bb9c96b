// When parked events are retried automatically: every event store follows this schedule.

/**
 * Pending codes no automatic retry can change: the operator fixes the cause and retries by hand.
 * (A contact missing from the CRM, or a CRM that fails, may well be fine later: those back off.)
 */
export const MANUAL_ONLY = ['cannot_continue', 'state_unreadable', 'dead_letter', 'not_a_member', 'member_rejected'];
/** The first automatic retry comes this long after a park, doubling with each park, up to the cap. */
export const RETRY_FIRST_MS = 60_000;
export const RETRY_CAP_MS = 6 * 3600_000;
