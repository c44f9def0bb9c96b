// The directory port over the SQL schema (migrations/), for every SQL driver (SQLite on Node,
// D1 on Workers). It answers exactly as the in-memory reference (src/core/directory.rs) does;
// tests/js/directory-conformance.test.mjs holds every adapter to that.
//
// Uniqueness is the database's: the `identities` table has one row per contact key and per
// normalized email, and its primary key refuses a second claim. An insert claims both identities
// in the batch that inserts the member; an update claims the new ones and releases the old ones
// in the batch that rewrites it, behind a guard row that aborts the batch unless the version is
// the expected one. A batch a constraint refused is rolled back whole, and the adapter reads
// who holds the identity: a lost race comes back as the existing owner.
//
// What a member may hold (limits) and its identity keys come from the Rust core
// (`wasm.memberRow`), so no rule is written twice.

import { SqlConstraintError } from '../store/sql.mjs';

const SELECT_MEMBER = 'SELECT seq, version, email, credentials, password_hash, created_at, updated_at, data FROM members';

/** A members row as the member record the core reads (the hash included). */
export function memberOf(row) {
  const m = JSON.parse(row.data);
  m.id = `m${row.seq}`;
  m.version = row.version;
  m.email = row.email;
  m.credentials = row.credentials;
  if (row.password_hash) m.passwordHash = row.password_hash;
  m.createdAt = row.created_at;
  m.updatedAt = row.updated_at;
  return m;
}

/** What hosts may show of a member: no password hash. */
function publicOf(row) {
  const { passwordHash, ...m } = memberOf(row);
  m.hasPassword = Boolean(passwordHash);
  return m;
}

const seqOf = (id) => {
  const m = /^m([1-9][0-9]{0,15})$/.exec(String(id ?? ''));
  return m ? Number(m[1]) : null;
};

const stmt = (sql, ...params) => ({ sql, params });

/**
 * @param {object} wasm  the initialized wasm package (memberRow, Directory for plans)
 * @param {object} db    a SQL driver (js/store/sql.mjs)
 */
export function sqlDirectory(wasm, db) {
  async function memberAt(seq) {
    return (await db.first(`${SELECT_MEMBER} WHERE seq = ?`, [seq])) ?? null;
  }

  async function holderOf(kind, value, exceptSeq = null) {
    if (value === null || value === undefined) return null;
    const row = await db.first(
      `${SELECT_MEMBER} WHERE seq = (SELECT member_seq FROM identities WHERE kind = ? AND value = ?)`,
      [kind, value],
    );
    return row && row.seq !== exceptSeq ? row : null;
  }

  /** Who holds one of `row`'s identities (contact first, as the reference checks). */
  async function holder(row, exceptSeq = null) {
    const byContact = await holderOf('contact', row.contactKey, exceptSeq);
    if (byContact) return { on: 'contact', member: byContact };
    const byEmail = await holderOf('email', row.email, exceptSeq);
    return byEmail ? { on: 'email', member: byEmail } : null;
  }

  const claim = (kind, value, seqSql) =>
    stmt(
      `INSERT INTO identities (kind, value, member_seq) SELECT ?, ?, ${seqSql} WHERE NOT EXISTS (SELECT 1 FROM identities WHERE kind = ? AND value = ? AND member_seq = ${seqSql})`,
      kind,
      value,
      kind,
      value,
    );

  async function insert(member, stored, opts) {
    const row = stored ?? wasm.memberRow(member);
    if (row.rejected) return { result: 'rejected', reason: row.rejected };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        // Inserts into WITHOUT ROWID tables leave last_insert_rowid() alone: it stays the member's.
        const out = await db.batch([
          stmt(
            'INSERT INTO members (version, email, contact_key, credentials, password_hash, search, created_at, updated_at, data) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq, version, email, credentials, password_hash, created_at, updated_at, data',
            row.email,
            row.contactKey,
            row.credentials,
            member.passwordHash ?? null,
            row.search,
            member.createdAt ?? 0,
            member.updatedAt ?? 0,
            row.data,
          ),
          ...(row.contactKey === null ? [] : [stmt("INSERT INTO identities (kind, value, member_seq) VALUES ('contact', ?, last_insert_rowid())", row.contactKey)]),
          stmt("INSERT INTO identities (kind, value, member_seq) VALUES ('email', ?, last_insert_rowid())", row.email),
        ], opts);
        return { result: 'inserted', member: out[0].rows[0] };
      } catch (err) {
        if (!(err instanceof SqlConstraintError)) throw err;
        const h = await holder(row);
        if (h) return { result: 'exists', on: h.on, member: h.member };
        // The holder moved between the refusal and the read: claim again.
      }
    }
    throw new Error('the directory kept losing an insert race without finding the holder');
  }

  async function update(member, stored, opts) {
    const row = stored ?? wasm.memberRow(member);
    if (row.rejected) return { result: 'rejected', reason: row.rejected };
    const seq = seqOf(member.id);
    if (seq === null) return { result: 'stale', member: null };
    // Most updates keep the member's email and contact (tags, names, the welcome flag): then the
    // identities it holds stay as they are, and one statement does it, guarded by the version
    // and by both identities being the stored ones. When it changes nothing (another version,
    // or an identity moves), the whole batch below decides.
    // What every rewrite of the row sets (the password hash only ever changes through set_password).
    const fields = [row.credentials, row.search, member.createdAt ?? 0, member.updatedAt ?? 0, row.data];
    // The creation time, which an update keeps, is matched rather than assigned: SQLite rewrites
    // an index's entry whenever the SET names one of its columns, and members_created has it.
    const [same] = await db.batch([
      stmt(
        `UPDATE members SET version = version + 1, credentials = ?, search = ?, updated_at = ?, data = ? WHERE seq = ? AND version = ? AND email = ? AND contact_key IS ? AND created_at = ? RETURNING seq, version, email, credentials, password_hash, created_at, updated_at, data`,
        row.credentials,
        row.search,
        member.updatedAt ?? 0,
        row.data,
        seq,
        member.version,
        row.email,
        row.contactKey,
        member.createdAt ?? 0,
      ),
    ], opts);
    if (same.rows.length) return { result: 'updated', member: same.rows[0] };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const out = await db.batch([
          stmt("INSERT INTO guards (reason, ok) SELECT 'stale', 0 WHERE NOT EXISTS (SELECT 1 FROM members WHERE seq = ? AND version = ?)", seq, member.version),
          // Release what the member no longer holds, then claim what it now holds.
          stmt(
            "DELETE FROM identities WHERE member_seq = ? AND NOT ((kind = 'email' AND value = ?) OR (kind = 'contact' AND value IS ?))",
            seq,
            row.email,
            row.contactKey,
          ),
          ...(row.contactKey === null ? [] : [claim('contact', row.contactKey, String(seq))]),
          claim('email', row.email, String(seq)),
          stmt(
            `UPDATE members SET version = version + 1, email = ?, contact_key = ?, credentials = ?, search = ?, created_at = ?, updated_at = ?, data = ? WHERE seq = ? RETURNING seq, version, email, credentials, password_hash, created_at, updated_at, data`,
            row.email,
            row.contactKey,
            ...fields,
            seq,
          ),
        ], opts);
        return { result: 'updated', member: out.at(-1).rows[0] };
      } catch (err) {
        if (!(err instanceof SqlConstraintError)) throw err;
        if (err.constraint === 'guard_failed') return { result: 'stale', member: await memberAt(seq) };
        const h = await holder(row, seq);
        if (h) return { result: 'taken', on: h.on, member: h.member };
      }
    }
    throw new Error('the directory kept losing an update race without finding the holder');
  }

  /**
   * Brings stored emails that are not all ASCII to the normalized form of this version (NFC, the
   * domain as A-labels), identities included, each through an ordinary versioned update. Two
   * members that turn out to share an address (they were typed in two Unicode forms before) both
   * stay as they are; they are returned, for the operator to merge.
   */
  async function renormalizeEmails() {
    const rows = await db.all(`${SELECT_MEMBER} WHERE email GLOB ?`, ['*[^\x01-\x7f]*']);
    const out = { changed: 0, clashes: [] };
    for (const r of rows) {
      const m = memberOf(r);
      const row = wasm.memberRow(m);
      if (row.rejected || row.email === r.email) continue;
      const u = await update(m);
      if (u.result === 'updated') out.changed += 1;
      else if (u.result === 'taken') out.clashes.push({ member: m.id, with: u.member ? `m${u.member.seq}` : null });
      // stale: another runner (a second isolate at start) changed it meanwhile, in the same way.
    }
    return out;
  }

  async function putToken({ tokenHash, memberId, expiresAt }, opts) {
    const seq = seqOf(memberId);
    if (seq === null) return { result: 'no_such_member' };
    try {
      const out = await db.batch([
        stmt("INSERT INTO guards (reason, ok) SELECT 'no_member', 0 WHERE NOT EXISTS (SELECT 1 FROM members WHERE seq = ?)", seq),
        // One live link per member: a new one replaces the old.
        stmt('DELETE FROM tokens WHERE member_seq = ?', seq),
        stmt('INSERT INTO tokens (token_hash, member_seq, expires_at) VALUES (?, ?, ?) ON CONFLICT (token_hash) DO UPDATE SET member_seq = excluded.member_seq, expires_at = excluded.expires_at', tokenHash, seq, expiresAt),
        // The member as it stands after: its credentials become `link_issued` if it had none.
        stmt(
          "UPDATE members SET credentials = CASE credentials WHEN 'none' THEN 'link_issued' ELSE credentials END, version = version + (credentials = 'none') WHERE seq = ? RETURNING seq, version, email, credentials, password_hash, created_at, updated_at, data",
          seq,
        ),
      ], opts);
      return { result: 'token_stored', member: out.at(-1).rows[0] };
    } catch (err) {
      if (err instanceof SqlConstraintError && err.constraint === 'guard_failed') return { result: 'no_such_member' };
      throw err;
    }
  }

  async function consumeToken({ tokenHash, now }) {
    // The lookup is by digest of a 256-bit random token: nothing usable leaks from its timing.
    const [out] = await db.batch([stmt('DELETE FROM tokens WHERE token_hash = ? RETURNING member_seq, expires_at', tokenHash)]);
    const t = out.rows[0];
    if (!t || !(t.expires_at > now)) return { result: 'token_invalid' };
    const member = await memberAt(t.member_seq);
    return member ? { result: 'token_consumed', member } : { result: 'token_invalid' };
  }

  async function setPassword({ memberId, passwordHash, now }) {
    const seq = seqOf(memberId);
    if (seq === null) return { result: 'no_such_member' };
    const [out] = await db.batch([
      stmt(
        "UPDATE members SET password_hash = ?, credentials = 'password', version = version + 1, updated_at = ? WHERE seq = ? RETURNING seq, version, email, credentials, password_hash, created_at, updated_at, data",
        passwordHash,
        now,
        seq,
      ),
    ]);
    return out.rows.length ? { result: 'password_set', member: out.rows[0] } : { result: 'no_such_member' };
  }

  /** Normalizes an email the one way the core does (a raw one from the admin page, say). */
  function normalEmail(email) {
    // Printable ASCII already lower-cased is its own normal form (the workflow's lookups are):
    // no call into wasm for it. An address the core would refuse finds no member either way.
    if (typeof email === 'string' && /^[\x21-\x7e]{1,254}$/.test(email) && email === email.toLowerCase()) return email;
    const row = wasm.memberRow({ email, tags: [] });
    return row.email;
  }

  async function perform(op, stored, opts) {
    switch (op?.op) {
      case 'get_by_contact':
        return { result: 'found', member: await holderOf('contact', String(op.key)) };
      case 'get_by_email':
        return { result: 'found', member: await holderOf('email', normalEmail(op.email)) };
      case 'insert':
        return insert(op.member, stored, opts);
      case 'update':
        return update(op.member, stored, opts);
      case 'put_token':
        return putToken(op, opts);
      case 'consume_token':
        return consumeToken(op);
      case 'set_password':
        return setPassword(op);
      default:
        throw Object.assign(new Error(`unknown directory operation ${op?.op}`), { code: 'invalid_field', status: 400 });
    }
  }

  return {
    kind: 'sql',

    /**
     * Performs one directory operation (DirOp) and resolves, once durable, to its DirResult.
     * `stored`: the member's stored form when the caller has it already (a workflow's step
     * carries it for its writes), else it is computed here. `{ durable: false }`: a write a
     * replay redoes (a workflow's), durable with the next durable write (js/store/sql.mjs).
     * `{ rows: true }`: the result's member is its row as read (`seq`, `version`, `email`,
     * `credentials`, `password_hash`, `created_at`, `updated_at`, and `data` as stored text),
     * which a workflow's step reads as it is (the driver asks for it); else the member record.
     */
    async apply(op, stored, opts) {
      const r = await perform(op, stored, opts);
      return opts?.rows || !r.member ? r : { ...r, member: memberOf(r.member) };
    },

    /** A member as hosts may show it (no password hash), or null. */
    async get(id) {
      const seq = seqOf(id);
      if (seq === null) return null;
      const row = await db.first(`${SELECT_MEMBER} WHERE seq = ?`, [seq]);
      return row ? publicOf(row) : null;
    },

    /** Members whose email, contact id or name contains `query` (case-insensitive), newest first. */
    async search(query, offset = 0, limit = 20) {
      const q = String(query ?? '').trim().toLowerCase();
      const where = q ? 'WHERE instr(search, ?) > 0' : '';
      const params = q ? [q] : [];
      const total = (await db.first(`SELECT COUNT(*) AS n FROM members ${where}`, params)).n;
      const rows = await db.all(`${SELECT_MEMBER} ${where} ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`, [...params, limit, offset]);
      return { total, members: rows.map(publicOf) };
    },

    /** Every member's id and tags as JSON text, for the rule-impact index: built by SQLite in one pass. */
    async accessIndexJson() {
      const row = await db.first("SELECT json_group_array(json_object('id', 'm' || seq, 'tags', json(json_extract(data, '$.tags')))) AS j FROM members", []);
      return row.j;
    },

    /** Plans a CSV import against the directory as stored (changes nothing). */
    async planImport(csv, crm, account) {
      const dir = new wasm.Directory();
      try {
        dir.loadMembersJson(await membersJson());
        return dir.planImport(csv, crm, account);
      } finally {
        dir.free();
      }
    },

    renormalizeEmails,

    async size() {
      return (await db.first('SELECT COUNT(*) AS n FROM members', [])).n;
    },
  };

  /**
   * Every member as one JSON array, built by SQLite, with what planning reads of a member (its
   * id, email and contact link: the planner matches on nothing else).
   */
  async function membersJson() {
    const row = await db.first(
      "SELECT json_group_array(json_object('id', 'm' || seq, 'email', email, 'contact', json(json_extract(data, '$.contact')))) AS j FROM members",
      [],
    );
    return row.j;
  }
}
