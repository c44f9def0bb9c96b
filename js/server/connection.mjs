// The settings an owner changes on the Settings screen, kept in the store and applied without a
// restart: the CRM connection (kind, API URL, token, HighLevel's location), the fields that carry
// the credentials, the welcome tag, the password mode and the set-password link's lifetime.
//
// What the environment or the command line sets wins: those settings are `locked` (each with
// the reason the page shows) and saving them is refused. The token is write-only: it is kept
// server-side and never shown again once saved (the page only learns whether one is set).

import { bad } from './settings.mjs';

export const CONNECTION = 'connection';

const CRM_FIELDS = ['kind', 'baseUrl', 'token', 'accountId', 'passwordField', 'passwordFieldMax', 'linkField', 'welcomeTag'];
const KINDS = ['keap', 'activecampaign', 'hubspot', 'mailchimp', 'kit', 'drip', 'mailerlite', 'highlevel'];
/** The set-password link's lifetime: an hour to thirty days. */
const TTL_MIN = 60 * 60_000;
const TTL_MAX = 30 * 24 * 60 * 60_000;

/**
 * @param {object} settings  the settings store
 * @param {object} wasm
 * @param {object} o
 * @param {object} o.base     {crm, passwordMode, linkTtlMs}: what the command line and environment give
 * @param {Record<string, string>} o.locked  setting → why it cannot be changed here ('crm.kind', 'passwordMode', ...)
 * @param {(settings: object) => object} o.registrarConfig  the whole Registrar config for these settings (the core checks it)
 * @param {(effective: object) => void} [o.apply]  called with the new settings once saved
 */
export async function openConnection(settings, wasm, { base, locked = {}, registrarConfig, apply = () => {}, now = Date.now }) {
  let stored = (await settings.get(CONNECTION)) ?? {};
  let readAt = now();
  let write = Promise.resolve();

  /** Base settings with the stored ones over them, where not locked. */
  function merge(from) {
    const crm = { ...(base.crm ?? {}) };
    for (const k of CRM_FIELDS) {
      if (from.crm && Object.hasOwn(from.crm, k) && !locked[`crm.${k}`]) crm[k] = from.crm[k];
    }
    for (const k of Object.keys(crm)) if (crm[k] === null || crm[k] === '') delete crm[k];
    const out = { crm, passwordMode: base.passwordMode ?? 'link', linkTtlMs: base.linkTtlMs ?? null };
    if (from.passwordMode && !locked.passwordMode) out.passwordMode = from.passwordMode;
    if (from.linkTtlMs && !locked.linkTtlMs) out.linkTtlMs = from.linkTtlMs;
    return out;
  }

  /** Checks one change set's shapes (the core checks the whole configuration after). */
  function check(changes) {
    if (!changes || typeof changes !== 'object' || Array.isArray(changes)) throw bad('the settings must be an object');
    const out = {};
    if (changes.crm !== undefined) {
      if (!changes.crm || typeof changes.crm !== 'object' || Array.isArray(changes.crm)) throw bad('crm must be an object');
      out.crm = {};
      for (const [k, v] of Object.entries(changes.crm)) {
        if (!CRM_FIELDS.includes(k)) throw bad(`crm.${k} is not a setting`);
        if (locked[`crm.${k}`]) throw bad(`crm.${k} cannot be changed here: ${locked[`crm.${k}`]}`, 'setting_locked');
        if (k === 'token' && (v === undefined || v === null || v === '')) continue; // kept as it is
        if (k === 'passwordFieldMax') {
          if (v !== null && (!Number.isInteger(v) || v < 8 || v > 100_000)) throw bad('crm.passwordFieldMax must be a whole number from 8 to 100000, or null');
        } else if (v !== null && (typeof v !== 'string' || v.length > (k === 'token' ? 4096 : 2048) || /[\u0000-\u001f]/.test(v))) {
          throw bad(`crm.${k} must be a string of printable characters${k === 'token' ? '' : ', or null'}`);
        }
        if (k === 'kind' && !KINDS.includes(v)) throw bad(`crm.kind must be one of ${KINDS.join(', ')}`);
        if (k === 'baseUrl' && v !== null) {
          let u;
          try {
            u = new URL(v);
          } catch {
            throw bad('crm.baseUrl must be a URL');
          }
          const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
          if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) throw bad('crm.baseUrl must be an https URL (http only on this machine)');
        }
        out.crm[k] = typeof v === 'string' ? v.trim() : v;
      }
    }
    if (changes.passwordMode !== undefined) {
      if (locked.passwordMode) throw bad(`passwordMode cannot be changed here: ${locked.passwordMode}`, 'setting_locked');
      if (changes.passwordMode !== 'link' && changes.passwordMode !== 'crm') throw bad('passwordMode must be link or crm');
      out.passwordMode = changes.passwordMode;
    }
    if (changes.linkTtlMs !== undefined) {
      if (locked.linkTtlMs) throw bad(`linkTtlMs cannot be changed here: ${locked.linkTtlMs}`, 'setting_locked');
      if (!Number.isInteger(changes.linkTtlMs) || changes.linkTtlMs < TTL_MIN || changes.linkTtlMs > TTL_MAX) throw bad('linkTtlMs must be between one hour and thirty days (in ms)');
      out.linkTtlMs = changes.linkTtlMs;
    }
    return out;
  }

  const api = {
    /** The settings in force. */
    effective: () => merge(stored),

    /**
     * Reads the saved settings again when this copy is older than `maxAgeMs`, and applies them
     * if another instance changed them (Workers' isolates share one store).
     */
    async fresh(maxAgeMs = 10_000) {
      if (now() - readAt < maxAgeMs) return;
      readAt = now();
      await write.catch(() => {});
      const next = (await settings.get(CONNECTION)) ?? {};
      if (JSON.stringify(next) === JSON.stringify(stored)) return;
      stored = next;
      apply(merge(stored));
    },

    /** What the Settings screen shows: never the token, only whether one is set. */
    view() {
      const { crm, passwordMode, linkTtlMs } = merge(stored);
      const { token, ...shown } = crm;
      return { crm: { ...shown, tokenSet: Boolean(token) }, passwordMode, linkTtlMs, locked };
    },

    /**
     * Validates `changes` (partial: what the form changed), saves them and applies the result.
     * The core checks the whole configuration first: a combination that cannot work is refused
     * with its `invalid_config` message and nothing is saved.
     */
    async put(changes) {
      const clean = check(changes);
      const next = { ...stored, ...clean, crm: { ...(stored.crm ?? {}), ...(clean.crm ?? {}) } };
      // A new CRM kind starts from its own fields: another CRM's field ids mean nothing there.
      if (clean.crm?.kind && clean.crm.kind !== merge(stored).crm.kind) {
        for (const k of ['passwordField', 'passwordFieldMax', 'linkField', 'welcomeTag', 'accountId', 'baseUrl', 'token']) {
          if (!Object.hasOwn(clean.crm, k) && !locked[`crm.${k}`]) next.crm[k] = null;
        }
      }
      // The saved token goes only to the CRM it was saved for: a new kind, URL or location needs
      // the token typed again, so a session cannot send the saved one somewhere else.
      const before = merge(stored).crm;
      const moved = ['kind', 'baseUrl', 'accountId'].some((k) => clean.crm && Object.hasOwn(clean.crm, k) && (clean.crm[k] ?? null) !== (before[k] ?? null));
      if (moved && !clean.crm?.token && !locked['crm.token']) throw bad('a new CRM, API URL or location needs its API token typed again', 'token_required');
      const effective = merge(next);
      if (!effective.crm.baseUrl || !effective.crm.token) throw bad('the CRM needs its API URL and a token', 'invalid_config');
      let probe;
      try {
        probe = new wasm.Registrar(registrarConfig(effective));
      } catch (err) {
        throw bad(err?.message ?? 'these settings cannot work together', 'invalid_config');
      } finally {
        probe?.free();
      }
      const record = { ...next, updatedAt: new Date(now()).toISOString() };
      await (write = write.catch(() => {}).then(() => settings.put(CONNECTION, record)));
      stored = record;
      readAt = now();
      apply(effective);
      return api.view();
    },
  };
  return api;
}
