// memberwire embedded store: a crash-safe, ordered journal of JSON records with snapshots,
// plus small atomically-replaced files. Node standard library only.
//
// ─── Layout of DIR ────────────────────────────────────────────────────────────────────────────
//   DIR/store.lock                 {"pid","host","start","token","created"}: exclusive owner
//   DIR/<name>                     small files (writeFileAtomic / readFile), e.g. the access key
//   DIR/collections/<c>.snap       latest snapshot of collection <c> (absent = empty, gen 0)
//   DIR/collections/<c>.<gen>.log  journal of records appended after snapshot <gen>
//   .<something>.tmp-<random>      temp files; any left over by a crash are deleted at open
//
// ─── Line format (journals and snapshots) ────────────────────────────────────────────────────
//   <crc32 of the JSON text as 8 lowercase hex digits> <space> <JSON text> <\n>
// JSON.stringify never emits a raw newline, so '\n' delimits records. A line whose checksum does
// not match, that is not JSON, or that has no final '\n' is invalid: torn writes and bit flips
// are detected, never parsed. A snapshot is a header line {"snapshot":1,"collection","gen"},
// one line per record, and a trailer line {"end":<count>}.
//
// ─── Appends (group commit) ──────────────────────────────────────────────────────────────────
// Each collection has one FIFO of operations (append, snapshot, replay) run by one pump, so
// order is the call order. Consecutive appends at the head of the FIFO form one batch: one
// write(2) of all their lines to the O_APPEND journal, then one fdatasync; every promise in the
// batch resolves only after that sync. While a sync is in flight new appends queue up and form
// the next batch. Creating a journal file is followed by an fsync of the directory before the
// first append to it is acknowledged. An I/O error while writing or syncing leaves the file in
// an unknown state (a failed fsync cannot be retried safely), so the collection is poisoned:
// that and every later operation on it reject with `store_io` until the store is reopened.
//
// ─── Snapshot protocol: snapshot(c, records) with the journal at generation N ────────────────
// `records` must be the full state after every append to <c> that was *called* before
// snapshot(); the FIFO guarantees those appends are durable in <c>.N.log first, and appends
// called after snapshot() wait for it and go to the new journal.
//   1. write header(gen N+1) + records + trailer to DIR/collections/.<c>.snap.tmp-<rand>;
//      fsync it; close it.
//   2. rename the temp file over <c>.snap.                 (the commit point)
//   3. fsync DIR/collections: the rename is durable.       (snapshot() resolves after this)
//   4. close and unlink <c>.N.log. The first later append creates <c>.<N+1>.log and fsyncs
//      the directory before acknowledging anything.
// Open reads <c>.snap (gen G, or 0 if absent) and replays only <c>.G.log; logs with gen < G are
// deleted, temp files are deleted, a log with gen > G must be empty (it can only be created after
// step 3 made gen G+1 durable) and is deleted, otherwise `store_corrupt`. Crash analysis:
//   - before 2 (or 2 not yet durable): <c>.snap still says N; <c>.N.log is complete, because the
//     snapshot only started after all earlier appends were synced and nothing was appended
//     since. State = old snapshot + old journal. The temp file is garbage.
//   - after 2 is durable (with or without 3, 4): <c>.snap says N+1 and holds every record;
//     <c>.N.log is ignored (its gen is not N+1) and deleted; <c>.<N+1>.log is absent or holds
//     only appends acknowledged after 3. State = new snapshot + new journal.
// The snapshot file itself is never torn (fsynced before the rename); any invalid line in it is
// `store_corrupt`. No record is lost or applied twice in either case.
//
// ─── Recovery of a journal (at first use of a collection) ────────────────────────────────────
// An incomplete final line (no '\n') and invalid lines with no valid line after them are a torn
// tail from a crash mid-write: they were never acknowledged, so they are dropped and the file is
// truncated (and fsynced) to the end of the last valid line so later appends are clean
// (`options.onRecover` is told). An invalid line *followed by* a valid line is damage to data
// that had been acknowledged: `store_corrupt` with `err.file` and `err.line` (1-based), unless
// the store was opened with `repair: true`, which truncates at the first invalid line instead.
//
// ─── Lock ────────────────────────────────────────────────────────────────────────────────────
// DIR/store.lock is created atomically with its contents (write temp, link(2) to the name).
// If it exists, its owner is alive unless: same host and the pid does not exist, is a zombie, or
// has a different start time (pid reuse), or it is our own pid but not a store of this process,
// or the file is unreadable and older than 10 s (younger: still being written, so live).
// A stale lock is renamed away (atomic, so only one taker wins), checked, and removed; a live
// one is `store_locked` (err.pid, err.host). A lock from another host is always treated as live.
//
// Durability caveats: this relies on fsync/fdatasync reaching stable storage (on macOS that needs
// F_FULLFSYNC, which Node does not expose) and on directory fsync (skipped on Windows).
//
// ─── Error codes (err.code) ──────────────────────────────────────────────────────────────────
//   store_locked          DIR is held by another live process (or already open in this one)
//   store_corrupt         a journal/snapshot/lock line is damaged (err.file, err.line)
//   store_closed          the store was closed
//   store_invalid_name    bad collection or file name
//   store_invalid_record  record is not JSON-serializable, or larger than maxRecordBytes
//   store_io              an underlying I/O error (err.cause); collection unusable until reopen

import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import * as zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';

// ─── errors ────────────────────────────────────────────────────────────────────────────────────

export class StoreError extends Error {
  constructor(code, message, extra = {}) {
    super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'StoreError';
    this.code = code;
    for (const [k, v] of Object.entries(extra)) if (k !== 'cause') this[k] = v;
  }
}

function ioError(what, cause) {
  if (cause instanceof StoreError) return cause;
  return new StoreError('store_io', `${what}: ${cause && cause.message}`, { cause });
}

// ─── checksums and line codec ─────────────────────────────────────────────────────────────────

const crc32 = typeof zlib.crc32 === 'function' ? zlib.crc32 : crc32Js;

let CRC_TABLE = null;
function crc32Js(data) {
  if (!CRC_TABLE) {
    CRC_TABLE = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c;
    }
  }
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function hex8(n) {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** JSON text -> one journal line (string, ends with '\n'). */
function encodeLine(json) {
  return `${hex8(crc32(json))} ${json}\n`;
}

const NOT_PARSED = Symbol('invalid');
const HEX_VALUE = new Uint8Array(256).fill(255);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;

/** Decode the line buf[start, end) (end excludes '\n'); returns the value or NOT_PARSED. */
function decodeLine(buf, start, end) {
  if (end - start < 10 || buf[start + 8] !== 0x20) return NOT_PARSED;
  let want = 0;
  for (let i = start; i < start + 8; i++) {
    const h = HEX_VALUE[buf[i]];
    if (h === 255) return NOT_PARSED;
    want = want * 16 + h;
  }
  if (crc32(buf.subarray(start + 9, end)) !== want) return NOT_PARSED;
  try {
    return JSON.parse(buf.utf8Slice(start + 9, end));
  } catch {
    return NOT_PARSED;
  }
}

/**
 * Split a journal/snapshot buffer into lines.
 * Returns { values, validEnd, invalid: [{line, offset}], incomplete } where validEnd is the byte
 * offset just after the last valid line.
 */
function scanLines(buf) {
  const values = [];
  const invalid = [];
  let pos = 0;
  let lineNo = 0;
  let validEnd = 0;
  let firstInvalidBeforeValid = null;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    lineNo++;
    if (nl === -1) {
      return { values, validEnd, invalid, incomplete: { line: lineNo, offset: pos }, firstInvalidBeforeValid };
    }
    const v = decodeLine(buf, pos, nl);
    if (v === NOT_PARSED) {
      invalid.push({ line: lineNo, offset: pos });
    } else {
      if (invalid.length && !firstInvalidBeforeValid) firstInvalidBeforeValid = invalid[0];
      values.push(v);
      validEnd = nl + 1;
    }
    pos = nl + 1;
  }
  return { values, validEnd, invalid, incomplete: null, firstInvalidBeforeValid };
}

// ─── small fs helpers ─────────────────────────────────────────────────────────────────────────

const IS_WINDOWS = process.platform === 'win32';
const LOCK_NAME = 'store.lock';
const COLLECTIONS_DIR = 'collections';
const COLLECTION_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const FILE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TMP_RE = /^\..+\.tmp-[0-9a-f]+$/;

function tmpName(base) {
  return `.${base}.tmp-${randomBytes(6).toString('hex')}`;
}

async function exists(p) {
  try {
    await fsp.lstat(p);
    return true;
  } catch (e) {
    if (e.code === 'ENOENT') return false;
    throw e;
  }
}

async function readIfExists(p) {
  try {
    return await fsp.readFile(p);
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
}

async function writeAll(fh, buf) {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, null);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    off += bytesWritten;
  }
}

// ─── lock ─────────────────────────────────────────────────────────────────────────────────────

const openDirs = new Set(); // real paths of stores open in this process

async function procStat(pid) {
  // Linux only: [state, starttime]; null when unavailable.
  try {
    const s = await fsp.readFile(`/proc/${pid}/stat`, 'latin1');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], start: rest[19] };
  } catch {
    return null;
  }
}

async function ownerIsAlive(holder) {
  if (!holder || !Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  if (holder.host !== os.hostname()) return true; // cannot check another machine: assume alive
  if (holder.pid === process.pid) return false; // not a store of ours (checked by the caller)
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    if (e.code === 'ESRCH') return false;
    // EPERM: exists, owned by someone else
  }
  const st = await procStat(holder.pid);
  if (st) {
    if (st.state === 'Z' || st.state === 'X') return false;
    if (holder.start && st.start !== holder.start) return false; // pid reused
  }
  return true;
}

async function readLock(lockPath) {
  const raw = await readIfExists(lockPath);
  if (raw === null) return null;
  let holder;
  try {
    holder = JSON.parse(raw.toString('utf8'));
  } catch {
    // Unreadable. With link(2) a lock is always complete when it appears; only the fallback for
    // file systems without hard links creates it empty first, so a young one is being written.
    holder = {};
    const st = await fsp.stat(lockPath).catch(() => null);
    if (st && Date.now() - st.mtimeMs < 10_000) holder.young = true;
  }
  return { raw, holder };
}

async function createLockFile(dir, lockPath, content) {
  const tmp = path.join(dir, tmpName(LOCK_NAME));
  const fh = await fsp.open(tmp, 'wx', 0o644);
  try {
    await writeAll(fh, Buffer.from(content));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.link(tmp, lockPath); // atomic: fails with EEXIST if a lock exists
  } catch (e) {
    if (e.code === 'EEXIST') throw e;
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(e.code)) throw e;
    // file system without hard links: exclusive create (contents written right after)
    const fh2 = await fsp.open(lockPath, 'wx', 0o644);
    try {
      await writeAll(fh2, Buffer.from(content));
      await fh2.sync();
    } finally {
      await fh2.close();
    }
  } finally {
    await fsp.unlink(tmp).catch(() => {});
  }
}

async function acquireLock(dir) {
  const lockPath = path.join(dir, LOCK_NAME);
  const me = await procStat(process.pid);
  const token = randomBytes(12).toString('hex');
  const content =
    JSON.stringify({
      pid: process.pid,
      host: os.hostname(),
      start: me ? me.start : null,
      token,
      created: new Date().toISOString(),
    }) + '\n';
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      await createLockFile(dir, lockPath, content);
      return { lockPath, token };
    } catch (e) {
      if (e.code !== 'EEXIST') throw ioError(`cannot create lock ${lockPath}`, e);
    }
    const cur = await readLock(lockPath);
    if (cur === null) continue; // released meanwhile: retry
    if (cur.holder.young || (await ownerIsAlive(cur.holder))) {
      throw new StoreError(
        'store_locked',
        `store ${dir} is locked by pid ${cur.holder.pid} on ${cur.holder.host}` +
          ' (if that process is gone, delete the lock file)',
        { file: lockPath, pid: cur.holder.pid, host: cur.holder.host },
      );
    }
    // Stale: move it aside atomically, make sure what we moved is what we judged stale.
    const aside = path.join(dir, tmpName(LOCK_NAME + '.stale'));
    try {
      await fsp.rename(lockPath, aside);
    } catch (e) {
      if (e.code === 'ENOENT') continue;
      throw ioError(`cannot take over stale lock ${lockPath}`, e);
    }
    const moved = await readIfExists(aside);
    if (moved !== null && !moved.equals(cur.raw)) {
      // Someone else took over between our read and our rename: put their lock back.
      await fsp.link(aside, lockPath).catch(() => {});
      await fsp.unlink(aside).catch(() => {});
      continue;
    }
    await fsp.unlink(aside).catch(() => {});
  }
  throw new StoreError('store_locked', `could not acquire the lock of ${dir}`, { file: lockPath });
}

async function releaseLock(lock) {
  const cur = await readLock(lock.lockPath).catch(() => null);
  if (cur && cur.holder && cur.holder.token === lock.token) await fsp.unlink(lock.lockPath).catch(() => {});
}

// ─── collection ───────────────────────────────────────────────────────────────────────────────

class Collection {
  constructor(store, name) {
    this.store = store;
    this.name = name;
    this.dir = store.collectionsDir;
    this.queue = [];
    this.running = false;
    this.opened = false;
    this.failed = null;
    this.gen = 0;
    this.fh = null; // journal handle, opened lazily on first append
    this.cache = null; // records decoded at open, handed to the first replay if still current
  }

  get snapPath() {
    return path.join(this.dir, `${this.name}.snap`);
  }

  logPath(gen = this.gen) {
    return path.join(this.dir, `${this.name}.${gen}.log`);
  }

  enqueue(op) {
    return new Promise((resolve, reject) => {
      op.resolve = resolve;
      op.reject = reject;
      this.queue.push(op);
      if (!this.running) this.pump();
    });
  }

  async pump() {
    this.running = true;
    try {
      while (this.queue.length) {
        if (this.failed) {
          const err = this.failed;
          for (const op of this.queue.splice(0)) op.reject(err);
          break;
        }
        if (!this.opened) {
          try {
            await this.open();
            this.opened = true;
          } catch (e) {
            this.failed = ioError(`cannot open collection ${this.name}`, e);
            continue;
          }
        }
        const head = this.queue[0];
        if (head.kind === 'append') {
          let n = 1;
          while (n < this.queue.length && this.queue[n].kind === 'append') n++;
          const batch = this.queue.splice(0, n);
          try {
            await this.commit(batch);
          } catch (e) {
            this.failed = ioError(`append to ${this.name} failed; reopen the store`, e);
            for (const op of batch) op.reject(this.failed);
            continue;
          }
          for (const op of batch) op.resolve();
        } else {
          this.queue.shift();
          try {
            head.resolve(await this.run(head));
          } catch (e) {
            head.reject(e);
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  async run(op) {
    if (op.kind === 'replay') return this.readAll();
    if (op.kind === 'snapshot') return this.doSnapshot(op.records);
    if (op.kind === 'noop') return undefined;
    throw new Error(`unknown op ${op.kind}`);
  }

  step(name, info) {
    const hooks = this.store.options.testHooks;
    if (hooks && typeof hooks.step === 'function') hooks.step(name, { collection: this.name, ...info });
  }

  // Recovery: runs before the first operation on this collection.
  async open() {
    const entries = await fsp.readdir(this.dir);
    const snap = await this.readSnapshot();
    this.gen = snap ? snap.gen : 0;
    const prefix = `${this.name}.`;
    for (const f of entries) {
      const full = path.join(this.dir, f);
      if (f.startsWith(`.${this.name}.`) && TMP_RE.test(f)) {
        await fsp.unlink(full).catch(() => {});
        continue;
      }
      if (!f.startsWith(prefix)) continue;
      const m = /^(\d+)\.log$/.exec(f.slice(prefix.length));
      if (!m) continue;
      const g = Number(m[1]);
      if (g < this.gen) {
        await fsp.unlink(full); // superseded by the snapshot (crash between rename and unlink)
      } else if (g > this.gen) {
        const st = await fsp.stat(full);
        if (st.size !== 0) {
          throw new StoreError(
            'store_corrupt',
            `${full}: journal generation ${g} is newer than snapshot generation ${this.gen}`,
            { file: full, line: 1 },
          );
        }
        await fsp.unlink(full);
      }
    }
    const records = snap ? snap.records : [];
    const logPath = this.logPath();
    const buf = await readIfExists(logPath);
    if (buf !== null) {
      const scan = scanLines(buf);
      let cut = null;
      if (scan.firstInvalidBeforeValid) {
        const bad = scan.firstInvalidBeforeValid;
        if (!this.store.options.repair) {
          throw new StoreError(
            'store_corrupt',
            `${logPath}:${bad.line}: corrupt journal record (checksum or format mismatch)`,
            { file: logPath, line: bad.line },
          );
        }
        cut = { offset: bad.offset, line: bad.line, reason: 'repair' };
        scan.values.length = 0;
        // re-scan the prefix up to the bad line to keep only records before it
        scan.values.push(...scanLines(buf.subarray(0, bad.offset)).values);
      } else if (scan.validEnd < buf.length) {
        const first = scan.invalid[0] || scan.incomplete;
        cut = { offset: scan.validEnd, line: first.line, reason: 'torn-tail' };
      }
      if (cut) {
        const fh = await fsp.open(logPath, 'r+');
        try {
          await fh.truncate(cut.offset);
          await fh.sync();
        } finally {
          await fh.close();
        }
        this.store.counters.truncatedBytes += buf.length - cut.offset;
        const cb = this.store.options.onRecover;
        if (typeof cb === 'function') {
          cb({
            collection: this.name,
            file: logPath,
            line: cut.line,
            reason: cut.reason,
            droppedBytes: buf.length - cut.offset,
          });
        }
      }
      for (const v of scan.values) records.push(v);
    }
    this.cache = records;
  }

  async readSnapshot() {
    const file = this.snapPath;
    const buf = await readIfExists(file);
    if (buf === null) return null;
    const corrupt = (line, why) =>
      new StoreError('store_corrupt', `${file}:${line}: corrupt snapshot (${why})`, { file, line });
    const scan = scanLines(buf);
    if (scan.invalid.length) throw corrupt(scan.invalid[0].line, 'checksum or format mismatch');
    if (scan.incomplete) throw corrupt(scan.incomplete.line, 'incomplete line');
    const v = scan.values;
    const header = v[0];
    if (!header || header.snapshot !== 1 || header.collection !== this.name || !Number.isInteger(header.gen) || header.gen < 1) {
      throw corrupt(1, 'bad header');
    }
    const trailer = v.length >= 2 ? v[v.length - 1] : null;
    if (!trailer || trailer.end !== v.length - 2) throw corrupt(v.length, 'missing or wrong trailer');
    return { gen: header.gen, records: v.slice(1, -1) };
  }

  async readAll() {
    if (this.cache) {
      const c = this.cache;
      this.cache = null;
      return c;
    }
    const snap = await this.readSnapshot();
    const records = snap ? snap.records : [];
    const logPath = this.logPath();
    const buf = await readIfExists(logPath);
    if (buf !== null) {
      const scan = scanLines(buf);
      const bad = scan.invalid[0] || scan.incomplete;
      if (bad) {
        // We truncated at open and only ever append whole lines: this is damage since open.
        throw new StoreError('store_corrupt', `${logPath}:${bad.line}: corrupt journal record`, {
          file: logPath,
          line: bad.line,
        });
      }
      for (const r of scan.values) records.push(r);
    }
    return records;
  }

  async ensureJournal() {
    if (this.fh) return;
    const p = this.logPath();
    const created = !(await exists(p));
    this.fh = await fsp.open(p, 'a', 0o600);
    if (created) {
      await this.fh.sync();
      await this.store.syncDir(this.dir);
    }
  }

  async commit(batch) {
    this.cache = null;
    await this.ensureJournal();
    let text = '';
    for (const op of batch) text += op.line;
    await writeAll(this.fh, Buffer.from(text, 'utf8'));
    this.step('append:written', { count: batch.length });
    await this.fh.datasync();
    this.store.counters.journalFsyncs++;
    this.store.counters.batches++;
    this.step('append:synced', { count: batch.length });
  }

  async doSnapshot(records) {
    this.cache = null;
    const oldGen = this.gen;
    const newGen = oldGen + 1;
    const tmp = path.join(this.dir, tmpName(`${this.name}.snap`));
    let renamed = false;
    try {
      const fh = await fsp.open(tmp, 'wx', 0o600);
      try {
        let chunk = encodeLine(JSON.stringify({ snapshot: 1, collection: this.name, gen: newGen }));
        let count = 0;
        const flush = async () => {
          await writeAll(fh, Buffer.from(chunk, 'utf8'));
          chunk = '';
        };
        const add = async (r) => {
          chunk += encodeLine(serializeRecord(r, this.store.options.maxRecordBytes));
          count++;
          if (chunk.length >= 1 << 20) await flush();
        };
        if (records && typeof records[Symbol.asyncIterator] === 'function') {
          for await (const r of records) await add(r);
        } else if (records && typeof records[Symbol.iterator] === 'function') {
          for (const r of records) await add(r);
        } else {
          throw new StoreError('store_invalid_record', 'snapshot records must be an iterable or async iterable');
        }
        chunk += encodeLine(JSON.stringify({ end: count }));
        await flush();
        await fh.sync();
        this.store.counters.fileFsyncs++;
      } finally {
        await fh.close();
      }
      this.step('snapshot:tmp-synced', { gen: newGen });
      await fsp.rename(tmp, this.snapPath);
      renamed = true;
      this.step('snapshot:renamed', { gen: newGen });
      await this.store.syncDir(this.dir);
      this.step('snapshot:dir-synced', { gen: newGen });
    } catch (e) {
      if (!renamed) {
        await fsp.unlink(tmp).catch(() => {});
        if (e instanceof StoreError) throw e; // bad input: state unchanged, collection usable
        throw ioError(`snapshot of ${this.name} failed (previous state kept)`, e);
      }
      this.failed = ioError(`snapshot of ${this.name} failed after rename; reopen the store`, e);
      throw this.failed;
    }
    this.gen = newGen;
    this.store.counters.snapshots++;
    if (this.fh) {
      const fh = this.fh;
      this.fh = null;
      await fh.close().catch(() => {});
    }
    await fsp.unlink(this.logPath(oldGen)).catch((e) => {
      if (e.code !== 'ENOENT') throw ioError(`cannot remove old journal`, e); // harmless: ignored at open
    });
    this.step('snapshot:old-log-removed', { gen: newGen });
  }

  async close() {
    if (this.fh) {
      const fh = this.fh;
      this.fh = null;
      await fh.close().catch(() => {});
    }
  }
}

function serializeRecord(record, maxBytes) {
  let json;
  try {
    json = JSON.stringify(record);
  } catch (e) {
    throw new StoreError('store_invalid_record', `record is not JSON-serializable: ${e.message}`, { cause: e });
  }
  if (typeof json !== 'string') {
    throw new StoreError('store_invalid_record', `record is not JSON-serializable (${typeof record})`);
  }
  // A UTF-8 byte count is at most 3x the UTF-16 length; only measure exactly when it matters.
  if (json.length * 3 > maxBytes && Buffer.byteLength(json, 'utf8') > maxBytes) {
    throw new StoreError('store_invalid_record', `record is larger than ${maxBytes} bytes`);
  }
  return json;
}

// ─── store ────────────────────────────────────────────────────────────────────────────────────

class FileStore {
  constructor(dir, realDir, options, lock) {
    this.dir = dir;
    this.realDir = realDir;
    this.collectionsDir = path.join(dir, COLLECTIONS_DIR);
    this.options = options;
    this.lock = lock;
    this.closed = false;
    this.closing = null;
    this.cols = new Map();
    this.counters = {
      appends: 0,
      batches: 0,
      journalFsyncs: 0,
      fileFsyncs: 0,
      dirFsyncs: 0,
      snapshots: 0,
      truncatedBytes: 0,
    };
  }

  checkOpen() {
    if (this.closed || this.closing) throw new StoreError('store_closed', `store ${this.dir} is closed`);
  }

  col(name) {
    if (typeof name !== 'string' || !COLLECTION_RE.test(name)) {
      throw new StoreError('store_invalid_name', `invalid collection name ${JSON.stringify(name)}`);
    }
    let c = this.cols.get(name);
    if (!c) {
      c = new Collection(this, name);
      this.cols.set(name, c);
    }
    return c;
  }

  async syncDir(dir) {
    if (IS_WINDOWS) return;
    const fh = await fsp.open(dir, fsc.O_RDONLY);
    try {
      await fh.sync();
      this.counters.dirFsyncs++;
    } finally {
      await fh.close();
    }
  }

  /** Append one record; resolves after it is durable. */
  async append(collection, record) {
    this.checkOpen();
    const c = this.col(collection);
    const line = encodeLine(serializeRecord(record, this.options.maxRecordBytes)); // captured now
    this.counters.appends++;
    return c.enqueue({ kind: 'append', line });
  }

  /** All records of the collection (snapshot, then journal), after every earlier append. */
  async replay(collection) {
    this.checkOpen();
    return this.col(collection).enqueue({ kind: 'replay' });
  }

  /** Replace the collection's state by `records` (iterable or async iterable). */
  async snapshot(collection, records) {
    this.checkOpen();
    return this.col(collection).enqueue({ kind: 'snapshot', records });
  }

  /** Names of the collections present on disk or used since open. */
  async collections() {
    this.checkOpen();
    const names = new Set(this.cols.keys());
    for (const f of await fsp.readdir(this.collectionsDir)) {
      const m = /^([A-Za-z0-9][A-Za-z0-9_-]*)\.(?:snap|\d+\.log)$/.exec(f);
      if (m) names.add(m[1]);
    }
    return [...names].sort();
  }

  checkFileName(name) {
    if (typeof name !== 'string' || !FILE_RE.test(name) || name === LOCK_NAME || name === COLLECTIONS_DIR) {
      throw new StoreError('store_invalid_name', `invalid file name ${JSON.stringify(name)}`);
    }
    return path.join(this.dir, name);
  }

  /** Contents of DIR/name as a Buffer (or a string if options.encoding), or null if absent. */
  async readFile(name, options = {}) {
    this.checkOpen();
    const p = this.checkFileName(name);
    try {
      const buf = await readIfExists(p);
      if (buf === null) return null;
      return options.encoding ? buf.toString(options.encoding) : buf;
    } catch (e) {
      throw ioError(`cannot read ${p}`, e);
    }
  }

  /** Atomically replace DIR/name: temp file, fsync, rename, directory fsync. */
  async writeFileAtomic(name, data, options = {}) {
    this.checkOpen();
    const p = this.checkFileName(name);
    const mode = options.mode ?? 0o600;
    let buf;
    if (typeof data === 'string') buf = Buffer.from(data, 'utf8');
    else if (ArrayBuffer.isView(data)) buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    else if (data instanceof ArrayBuffer) buf = Buffer.from(data);
    else throw new StoreError('store_invalid_record', 'file data must be a string, Buffer, TypedArray or ArrayBuffer');
    const tmp = path.join(this.dir, tmpName(name));
    try {
      const fh = await fsp.open(tmp, 'wx', mode);
      try {
        if (!IS_WINDOWS) await fh.chmod(mode); // exact mode regardless of umask
        await writeAll(fh, buf);
        await fh.sync();
        this.counters.fileFsyncs++;
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, p);
      await this.syncDir(this.dir);
    } catch (e) {
      await fsp.unlink(tmp).catch(() => {});
      throw ioError(`cannot write ${p}`, e);
    }
  }

  /** Counters for tests and metrics (a copy). */
  stats() {
    return { ...this.counters };
  }

  /** Wait for queued operations, close files, release the lock. Idempotent. */
  close() {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      const cols = [...this.cols.values()];
      await Promise.all(cols.map((c) => (c.queue.length || c.running ? c.enqueue({ kind: 'noop' }).catch(() => {}) : null)));
      await Promise.all(cols.map((c) => c.close()));
      await releaseLock(this.lock);
      openDirs.delete(this.realDir);
      this.closed = true;
    })();
    return this.closing;
  }
}

async function syncPath(p) {
  if (IS_WINDOWS) return;
  const fh = await fsp.open(p, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Open (creating if needed) the store in `dir`.
 * options:
 *   repair         false  truncate a journal at its first corrupt line instead of store_corrupt
 *   onRecover      fn({collection, file, line, reason, droppedBytes}) when a journal is truncated
 *   maxRecordBytes 16 MiB largest serialized record
 *   testHooks      {step(name, info)} called at protocol steps (tests only)
 */
export async function openFileStore(dir, options = {}) {
  if (typeof dir !== 'string' || dir === '') throw new StoreError('store_invalid_name', 'store directory required');
  const opts = { repair: false, onRecover: null, maxRecordBytes: 16 * 1024 * 1024, testHooks: null, ...options };
  dir = path.resolve(dir);
  try {
    const first = await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    if (first) {
      // make every newly created directory entry durable, parent first
      let d = dir;
      const created = [];
      while (d.length >= first.length) {
        created.push(path.dirname(d));
        if (d === first) break;
        d = path.dirname(d);
      }
      for (const p of created.reverse()) await syncPath(p);
    }
  } catch (e) {
    throw ioError(`cannot create ${dir}`, e);
  }
  const realDir = await fsp.realpath(dir);
  if (openDirs.has(realDir)) {
    throw new StoreError('store_locked', `store ${dir} is already open in this process`, {
      file: path.join(dir, LOCK_NAME),
      pid: process.pid,
      host: os.hostname(),
    });
  }
  openDirs.add(realDir);
  let lock = null;
  try {
    lock = await acquireLock(dir);
    const cdir = path.join(dir, COLLECTIONS_DIR);
    if (!(await exists(cdir))) {
      await fsp.mkdir(cdir, { recursive: true, mode: 0o700 });
      await syncPath(dir);
    }
    for (const f of await fsp.readdir(dir)) {
      if (TMP_RE.test(f) && !f.startsWith(`.${LOCK_NAME}`)) await fsp.unlink(path.join(dir, f)).catch(() => {});
    }
    return new FileStore(dir, realDir, opts, lock);
  } catch (e) {
    openDirs.delete(realDir);
    if (lock) await releaseLock(lock);
    throw ioError(`cannot open store ${dir}`, e);
  }
}

export const _internal = { crc32, crc32Js, encodeLine, scanLines };
