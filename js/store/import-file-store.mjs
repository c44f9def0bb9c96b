// One-time import of a data directory written by memberwire's earlier file store (journals and
// snapshots under DIR/collections, small JSON files beside them) into the SQL store.
//
// Everything is read and checked first, then written in one transaction together with a
// marker, then the old files are moved (never deleted) into DIR/file-store-imported/. A crash
// before the commit leaves nothing imported and the old files in place; a crash after it finds
// the marker and only finishes the move. A damaged line followed by valid ones (data that had
// been acknowledged) stops the import with store_corrupt naming the file and line, and the
// server does not start; an incomplete last line (a write torn by a crash) is reported.

import { existsSync, readFileSync, readdirSync, mkdirSync, renameSync } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { StoreError } from './sql.mjs';
import { applyRecord, serialize } from '../server/bulk.mjs';
import { ACCESS_KEY } from '../server/settings.mjs';

const MARKER = 'imported-file-store';
const KEPT_IN = 'file-store-imported';
/** The old store's small files and the settings they become. */
const FILES = { 'access-key.json': ACCESS_KEY, 'admin.json': 'admin', 'rules.json': 'rules' };

/** Reads one `<crc32 hex> <json>\n` file: { values, tornTail }; damage before valid data throws. */
function readLines(file) {
  const text = readFileSync(file);
  const values = [];
  let damaged = null;
  let tornTail = 0;
  let pos = 0;
  let line = 0;
  while (pos < text.length) {
    const nl = text.indexOf(0x0a, pos);
    line += 1;
    const end = nl === -1 ? text.length : nl;
    const raw = text.subarray(pos, end);
    let value;
    if (nl !== -1 && raw.length > 9 && raw[8] === 0x20) {
      const body = raw.subarray(9);
      if (zlib.crc32(body).toString(16).padStart(8, '0') === raw.subarray(0, 8).toString('latin1')) {
        try {
          value = JSON.parse(body.toString('utf8'));
        } catch {
          value = undefined;
        }
      }
    }
    if (value === undefined) {
      damaged ??= line;
      tornTail += 1;
    } else {
      if (damaged !== null) {
        throw new StoreError('store_corrupt', `${file} is damaged at line ${damaged}, before data that was acknowledged; memberwire will not import it. Restore it from a backup.`, { file, line: damaged });
      }
      values.push(value);
    }
    pos = nl === -1 ? text.length : nl + 1;
  }
  return { values, tornTail };
}

/** A collection's records: its snapshot, then the journal of the snapshot's generation. */
function readCollection(cdir, name) {
  let records = [];
  let gen = 0;
  let tornTail = 0;
  const snap = path.join(cdir, `${name}.snap`);
  if (existsSync(snap)) {
    const { values, tornTail: torn } = readLines(snap);
    const [head, ...rest] = values;
    const trailer = rest.pop();
    if (torn || !head?.snapshot || trailer?.end !== rest.length) {
      throw new StoreError('store_corrupt', `${snap} is incomplete; memberwire will not import it`, { file: snap });
    }
    gen = head.gen;
    records = rest;
  }
  const log = path.join(cdir, `${name}.${gen}.log`);
  if (existsSync(log)) {
    const r = readLines(log);
    records = records.concat(r.values);
    tornTail += r.tornTail;
  }
  return { records, tornTail };
}

function replayEvents(records) {
  const events = new Map();
  for (const r of records) {
    if (r.t === 'accept') {
      events.set(r.event.id, { ...r.event });
      continue;
    }
    const e = events.get(r.id);
    if (!e) continue;
    e.state = r.state ?? e.state;
    e.updatedAt = r.at;
    if (r.t === 'progress' && r.status) e.status = r.status;
    else if (r.t === 'finish') {
      e.status = 'done';
      e.outcome = r.outcome;
      delete e.pending;
    } else if (r.t === 'park') {
      e.status = 'pending';
      e.pending = r.pending;
    }
  }
  return [...events.values()];
}

function replayDirectory(records) {
  const members = new Map();
  const tokens = new Map();
  for (const c of records) {
    if (c.kind === 'member') members.set(c.member.id, c.member);
    else if (c.kind === 'token') {
      if (c.token.memberId) tokens.set(c.token.tokenHash, c.token);
      else tokens.delete(c.token.tokenHash);
    }
  }
  return { members: [...members.values()], tokens: [...tokens.values()] };
}

/** Moves the old store's files into DIR/file-store-imported/ (kept, never deleted). */
function moveAway(dir) {
  const kept = path.join(dir, KEPT_IN);
  mkdirSync(kept, { recursive: true, mode: 0o700 });
  for (const f of readdirSync(dir)) {
    if (f === 'collections' || f === 'store.lock' || f in FILES || /^bulk-plan-.*\.json$/.test(f)) {
      renameSync(path.join(dir, f), path.join(kept, f));
    }
  }
  return kept;
}

/**
 * Imports DIR's earlier file store into `db` (once). Resolves to null when there is nothing to
 * import, else to counts and where the old files were kept.
 */
export async function importFileStore(dir, db, wasm) {
  dir = path.resolve(dir);
  const cdir = path.join(dir, 'collections');
  const hasOld = existsSync(cdir) || Object.keys(FILES).some((f) => existsSync(path.join(dir, f)));
  if (!hasOld) return null;
  const marker = await db.first('SELECT value FROM settings WHERE name = ?', [MARKER]);
  if (marker) {
    // Imported before a crash that came before the move: finish the move only.
    return { ...JSON.parse(marker.value), keptIn: moveAway(dir) };
  }

  const dirRecs = existsSync(cdir) ? readCollection(cdir, 'directory') : { records: [], tornTail: 0 };
  const evRecs = existsSync(cdir) ? readCollection(cdir, 'events') : { records: [], tornTail: 0 };
  const bulkRecs = existsSync(cdir) ? readCollection(cdir, 'bulk') : { records: [], tornTail: 0 };
  const { members, tokens } = replayDirectory(dirRecs.records);
  const events = replayEvents(evRecs.records);
  const runs = new Map();
  for (const r of bulkRecs.records) applyRecord(runs, r);

  const now = Date.now();
  const stmts = [];
  const put = (sql, ...params) => stmts.push({ sql, params });
  for (const m of members) {
    const seq = /^m([0-9]+)$/.exec(m.id)?.[1];
    const row = wasm.memberRow(m);
    if (!seq || row.rejected) {
      throw new StoreError('store_corrupt', `member ${m.id} in ${cdir} cannot be imported (${row.rejected ?? 'its id is not m<number>'}); nothing was imported`, { file: cdir });
    }
    put(
      'INSERT INTO members (seq, version, email, contact_key, credentials, password_hash, search, created_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      Number(seq),
      m.version,
      row.email,
      row.contactKey,
      row.credentials,
      m.passwordHash ?? null,
      row.search,
      m.createdAt ?? 0,
      m.updatedAt ?? 0,
      row.data,
    );
    if (row.contactKey !== null) put("INSERT INTO identities (kind, value, member_seq) VALUES ('contact', ?, ?)", row.contactKey, Number(seq));
    put("INSERT INTO identities (kind, value, member_seq) VALUES ('email', ?, ?)", row.email, Number(seq));
  }
  for (const t of tokens) {
    put('INSERT INTO tokens (token_hash, member_seq, expires_at) VALUES (?, ?, ?)', t.tokenHash, Number(t.memberId.slice(1)), t.expiresAt);
  }
  for (const e of events) {
    put(
      'INSERT INTO events (id, source, received_at, contact_key, contact, status, state, outcome, outcome_kind, pending, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      e.id,
      e.source,
      e.receivedAt,
      e.contactKey ?? null,
      JSON.stringify(e.contact ?? {}),
      e.status ?? 'running',
      e.state,
      e.outcome ? JSON.stringify(e.outcome) : null,
      e.outcome?.outcome ?? null,
      e.pending ? JSON.stringify(e.pending) : null,
      e.updatedAt ?? e.receivedAt,
    );
  }
  for (const run of runs.values()) {
    put('INSERT INTO bulk_runs (run_id, plan_id, created_at, data) VALUES (?, ?, ?, ?)', run.runId, run.planId, run.createdAt, JSON.stringify(serialize(run)));
  }
  for (const f of readdirSync(dir)) {
    if (!/^bulk-plan-.*\.json$/.test(f)) continue;
    const plan = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    put('INSERT INTO bulk_plans (plan_id, created_at, data) VALUES (?, ?, ?)', plan.planId, plan.createdAt ?? now, JSON.stringify(plan));
  }
  for (const [file, name] of Object.entries(FILES)) {
    const p = path.join(dir, file);
    if (!existsSync(p)) continue;
    const text = readFileSync(p, 'utf8');
    let value;
    try {
      value = JSON.parse(text);
    } catch {
      throw new StoreError('store_corrupt', `${p} is not valid JSON; nothing was imported. Restore it, or move it away.`, { file: p });
    }
    put('INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)', name, JSON.stringify(value), now);
  }
  const summary = {
    members: members.length,
    tokens: tokens.length,
    events: events.length,
    runs: runs.size,
    tornLines: dirRecs.tornTail + evRecs.tornTail + bulkRecs.tornTail,
    at: new Date(now).toISOString(),
  };
  put('INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)', MARKER, JSON.stringify(summary), now);
  await db.batch(stmts);
  return { ...summary, keptIn: moveAway(dir) };
}
