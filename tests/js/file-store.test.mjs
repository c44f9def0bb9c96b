// Tests for js/store/file-store.mjs. Run: node --test tests/js/file-store.test.mjs
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openFileStore, StoreError } from '../../js/store/file-store.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const WRITER = path.join(here, 'fixtures', 'store-writer.mjs');

async function withDir(fn) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'memberwire-store-'));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

const logFile = (dir, c, gen = 0) => path.join(dir, 'collections', `${c}.${gen}.log`);

async function reopenReplay(dir, c, options) {
  const s = await openFileStore(dir, options);
  try {
    return await s.replay(c);
  } finally {
    await s.close();
  }
}

async function rejectsWith(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof StoreError, `expected StoreError, got ${e && e.stack}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('journal', () => {
  test('round trip and order, across reopen', () =>
    withDir(async (dir) => {
      const recs = [
        { id: 1, email: 'A@Example.com' },
        { s: 'line\nbreak and \u2028 and "quotes" and ünïcødé 🎉' },
        [1, 2, { deep: [null, true, false] }],
        'plain string',
        42,
        null,
      ];
      const s = await openFileStore(dir);
      for (const r of recs) await s.append('members', r);
      await s.append('events', { e: 1 });
      assert.deepEqual(await s.replay('members'), recs);
      assert.deepEqual(await s.replay('events'), [{ e: 1 }]);
      assert.deepEqual(await s.replay('tokens'), []);
      assert.deepEqual(await s.collections(), ['events', 'members', 'tokens']);
      await s.close();
      assert.deepEqual(await reopenReplay(dir, 'members'), recs);
      // each line is "<crc32 hex> <json>\n"
      const text = await fsp.readFile(logFile(dir, 'events'), 'utf8');
      assert.match(text, /^[0-9a-f]{8} \{"e":1\}\n$/);
    }));

  test('record is captured at call time', () =>
    withDir(async (dir) => {
      const s = await openFileStore(dir);
      const r = { v: 1 };
      const p = s.append('c', r);
      r.v = 2;
      await p;
      assert.deepEqual(await s.replay('c'), [{ v: 1 }]);
      await s.close();
    }));

  test('group commit: concurrent appends share fsyncs, resolve only after their fsync, keep order', () =>
    withDir(async (dir) => {
      let synced = 0;
      let resolved = 0;
      const s = await openFileStore(dir, {
        testHooks: {
          step(name, info) {
            if (name === 'append:synced') synced += info.count;
          },
        },
      });
      const N = 500;
      const ps = [];
      for (let i = 0; i < N; i++) {
        ps.push(
          s.append('members', { i }).then(() => {
            resolved++;
            assert.ok(resolved <= synced, `append ${i} resolved before its fsync`);
          }),
        );
      }
      await Promise.all(ps);
      const st = s.stats();
      assert.equal(st.appends, N);
      assert.ok(st.journalFsyncs < N / 10, `expected batching, got ${st.journalFsyncs} fsyncs for ${N} appends`);
      assert.deepEqual(
        (await s.replay('members')).map((r) => r.i),
        Array.from({ length: N }, (_, i) => i),
      );
      await s.close();
    }));

  test('torn final line is dropped and truncated; later appends replay cleanly', () =>
    withDir(async (dir) => {
      let s = await openFileStore(dir);
      for (let i = 0; i < 3; i++) await s.append('m', { i });
      await s.close();
      const f = logFile(dir, 'm');
      const good = (await fsp.stat(f)).size;
      await fsp.appendFile(f, '1a2b3c4d {"i":3,"half'); // crash mid-write: no newline
      const recovered = [];
      s = await openFileStore(dir, { onRecover: (info) => recovered.push(info) });
      assert.deepEqual(await s.replay('m'), [{ i: 0 }, { i: 1 }, { i: 2 }]);
      assert.equal(recovered.length, 1);
      assert.equal(recovered[0].line, 4);
      assert.equal(recovered[0].reason, 'torn-tail');
      assert.equal((await fsp.stat(f)).size, good, 'torn tail truncated');
      await s.append('m', { i: 3 });
      await s.close();
      assert.deepEqual(await reopenReplay(dir, 'm'), [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }]);
    }));

  test('complete but invalid final line (bit flip / zero fill) is dropped', () =>
    withDir(async (dir) => {
      let s = await openFileStore(dir);
      for (let i = 0; i < 4; i++) await s.append('m', { i });
      await s.close();
      const f = logFile(dir, 'm');
      const buf = await fsp.readFile(f);
      buf[buf.length - 3] ^= 0x01; // flip a bit inside the last record, keep its newline
      await fsp.writeFile(f, Buffer.concat([buf, Buffer.alloc(300)])); // plus a zero-filled tail
      assert.deepEqual(await reopenReplay(dir, 'm'), [{ i: 0 }, { i: 1 }, { i: 2 }]);
      s = await openFileStore(dir);
      await s.append('m', { i: 9 });
      await s.close();
      assert.deepEqual(await reopenReplay(dir, 'm'), [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 9 }]);
    }));

  test('corruption in the middle of a journal is store_corrupt with file and line', () =>
    withDir(async (dir) => {
      const s = await openFileStore(dir);
      for (let i = 0; i < 5; i++) await s.append('m', { i, name: 'abcdef' });
      await s.close();
      const f = logFile(dir, 'm');
      const text = await fsp.readFile(f, 'utf8');
      const lines = text.split('\n');
      lines[2] = lines[2].replace('abcdef', 'abcdeg'); // same length, valid JSON, wrong checksum
      await fsp.writeFile(f, lines.join('\n'));
      const s2 = await openFileStore(dir);
      await assert.rejects(s2.replay('m'), (e) => {
        assert.equal(e.code, 'store_corrupt');
        assert.equal(e.file, f);
        assert.equal(e.line, 3);
        assert.match(e.message, /m\.0\.log:3/);
        return true;
      });
      await rejectsWith(s2.append('m', { i: 5 }), 'store_corrupt'); // stays failed
      await s2.replay('other'); // other collections unaffected
      await s2.close();
      assert.equal(await fsp.readFile(f, 'utf8'), lines.join('\n'), 'file left untouched');
      // an operator can choose to cut at the damage
      assert.deepEqual(await reopenReplay(dir, 'm', { repair: true }), [
        { i: 0, name: 'abcdef' },
        { i: 1, name: 'abcdef' },
      ]);
    }));
});

describe('snapshots', () => {
  test('snapshot + journal replay, old journal removed', () =>
    withDir(async (dir) => {
      const s = await openFileStore(dir);
      const state = [];
      for (let i = 0; i < 5; i++) {
        await s.append('m', { i });
        state.push({ i });
      }
      await s.snapshot('m', state);
      for (let i = 5; i < 8; i++) await s.append('m', { i });
      const want = Array.from({ length: 8 }, (_, i) => ({ i }));
      assert.deepEqual(await s.replay('m'), want);
      await s.close();
      const files = (await fsp.readdir(path.join(dir, 'collections'))).sort();
      assert.deepEqual(files, ['m.1.log', 'm.snap']);
      assert.deepEqual(await reopenReplay(dir, 'm'), want);
      // a second snapshot from an async iterable
      const s2 = await openFileStore(dir);
      await s2.snapshot(
        'm',
        (async function* () {
          yield* want;
        })(),
      );
      assert.deepEqual(await s2.replay('m'), want);
      await s2.close();
      assert.deepEqual((await fsp.readdir(path.join(dir, 'collections'))).sort(), ['m.snap']);
      assert.deepEqual(await reopenReplay(dir, 'm'), want);
    }));

  test('snapshot is ordered between unawaited appends: no loss, no duplicates', () =>
    withDir(async (dir) => {
      const s = await openFileStore(dir);
      const ps = [];
      const state = [];
      for (let i = 0; i < 50; i++) {
        ps.push(s.append('m', { i }));
        state.push({ i });
        if (i % 10 === 9) ps.push(s.snapshot('m', state.slice()));
      }
      await Promise.all(ps);
      const want = Array.from({ length: 50 }, (_, i) => ({ i }));
      assert.deepEqual(await s.replay('m'), want);
      assert.equal(s.stats().snapshots, 5);
      await s.close();
      assert.deepEqual(await reopenReplay(dir, 'm'), want);
    }));

  test('a bad snapshot input leaves the previous state usable', () =>
    withDir(async (dir) => {
      const s = await openFileStore(dir);
      await s.append('m', { i: 0 });
      await rejectsWith(s.snapshot('m', [{ ok: 1 }, { bad: 1n }]), 'store_invalid_record');
      await s.append('m', { i: 1 });
      assert.deepEqual(await s.replay('m'), [{ i: 0 }, { i: 1 }]);
      await s.close();
      assert.deepEqual(await fsp.readdir(path.join(dir, 'collections')), ['m.0.log']);
    }));

  test('on-disk states a crash can leave behind recover to old or new state', () =>
    withDir(async (dir) => {
      const cdir = path.join(dir, 'collections');
      const s = await openFileStore(dir);
      for (let i = 0; i < 3; i++) await s.append('m', { i });
      await s.snapshot('m', [{ i: 0 }, { i: 1 }, { i: 2 }]); // -> m.snap gen 1
      await s.append('m', { i: 3 });
      await s.close();
      const snap1 = await fsp.readFile(path.join(cdir, 'm.snap'));
      const log1 = await fsp.readFile(path.join(cdir, 'm.1.log'));
      const want = [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }];

      // (a) crash before the rename: a temp snapshot lies around -> old state, temp removed
      await fsp.writeFile(path.join(cdir, '.m.snap.tmp-abc123'), 'garbage, half written');
      assert.deepEqual(await reopenReplay(dir, 'm'), want);
      assert.deepEqual((await fsp.readdir(cdir)).sort(), ['m.1.log', 'm.snap']);

      // (b) crash after the rename, before the old journal was removed: gen 2 snapshot + stale m.1.log
      const s2 = await openFileStore(dir);
      await s2.snapshot('m', want);
      await s2.close();
      await fsp.writeFile(path.join(cdir, 'm.1.log'), log1);
      assert.deepEqual(await reopenReplay(dir, 'm'), want, 'stale journal must not be applied twice');
      assert.deepEqual((await fsp.readdir(cdir)).sort(), ['m.snap']);

      // (c) a newer journal than the snapshot: empty is dropped, non-empty is corruption
      await fsp.writeFile(path.join(cdir, 'm.snap'), snap1);
      await fsp.writeFile(path.join(cdir, 'm.1.log'), log1);
      await fsp.writeFile(path.join(cdir, 'm.2.log'), '');
      assert.deepEqual(await reopenReplay(dir, 'm'), want);
      await fsp.writeFile(path.join(cdir, 'm.2.log'), log1);
      await rejectsWith(reopenReplay(dir, 'm'), 'store_corrupt');
      await fsp.unlink(path.join(cdir, 'm.2.log'));

      // (d) a damaged snapshot is never silently accepted
      const bad = Buffer.from(snap1);
      bad[bad.indexOf('"i":1') + 4] ^= 0x02;
      await fsp.writeFile(path.join(cdir, 'm.snap'), bad);
      await assert.rejects(reopenReplay(dir, 'm'), (e) => e.code === 'store_corrupt' && e.line === 3);
      await fsp.writeFile(path.join(cdir, 'm.snap'), snap1.subarray(0, snap1.length - 20)); // truncated
      await rejectsWith(reopenReplay(dir, 'm'), 'store_corrupt');
    }));
});

describe('lock', () => {
  test('second open fails with store_locked; close releases', () =>
    withDir(async (dir) => {
      const s = await openFileStore(dir);
      await rejectsWith(openFileStore(dir), 'store_locked');
      await rejectsWith(openFileStore(path.join(dir, '.', '')), 'store_locked');
      const lock = JSON.parse(await fsp.readFile(path.join(dir, 'store.lock'), 'utf8'));
      assert.equal(lock.pid, process.pid);
      await s.close();
      await assert.rejects(fsp.stat(path.join(dir, 'store.lock')), { code: 'ENOENT' });
      await rejectsWith(s.append('m', {}), 'store_closed');
      const s2 = await openFileStore(dir);
      await s2.close();
    }));

  test('a stale lock (dead pid, or our pid from an earlier process) is taken over', () =>
    withDir(async (dir) => {
      const child = spawn(process.execPath, ['-e', '']);
      const deadPid = child.pid;
      await new Promise((r) => child.on('exit', r));
      for (const holder of [
        { pid: deadPid, host: os.hostname(), token: 'x' },
        { pid: process.pid, host: os.hostname(), start: '1', token: 'y' },
        'not json at all',
      ]) {
        await fsp.writeFile(path.join(dir, 'store.lock'), typeof holder === 'string' ? holder : JSON.stringify(holder));
        if (typeof holder === 'string') {
          await rejectsWith(openFileStore(dir), 'store_locked'); // unreadable and young: being written
          const old = new Date(Date.now() - 60_000);
          await fsp.utimes(path.join(dir, 'store.lock'), old, old);
        }
        const s = await openFileStore(dir);
        const lock = JSON.parse(await fsp.readFile(path.join(dir, 'store.lock'), 'utf8'));
        assert.equal(lock.pid, process.pid);
        assert.notEqual(lock.token, holder.token);
        await s.close();
      }
      // a live process holding the lock is respected (our parent process is alive)
      await fsp.writeFile(path.join(dir, 'store.lock'), JSON.stringify({ pid: process.ppid, host: os.hostname() }));
      await assert.rejects(openFileStore(dir), (e) => e.code === 'store_locked' && e.pid === process.ppid);
      // another host's lock cannot be checked and is respected
      await fsp.writeFile(path.join(dir, 'store.lock'), JSON.stringify({ pid: deadPid, host: 'elsewhere.invalid' }));
      await rejectsWith(openFileStore(dir), 'store_locked');
    }));
});

describe('files and validation', () => {
  test('writeFileAtomic / readFile', () =>
    withDir(async (dir) => {
      const s = await openFileStore(dir);
      assert.equal(await s.readFile('access-key'), null);
      await s.writeFileAtomic('access-key', 'secret-1');
      assert.equal((await fsp.stat(path.join(dir, 'access-key'))).mode & 0o777, 0o600);
      await s.writeFileAtomic('access-key', Buffer.from('secret-2'));
      assert.equal(await s.readFile('access-key', { encoding: 'utf8' }), 'secret-2');
      await s.writeFileAtomic('config.json', '{"a":1}', { mode: 0o644 });
      assert.equal((await fsp.stat(path.join(dir, 'config.json'))).mode & 0o777, 0o644);
      assert.deepEqual(await s.readFile('config.json'), Buffer.from('{"a":1}'));
      assert.deepEqual((await fsp.readdir(dir)).filter((f) => f.startsWith('.')), [], 'no temp files left');
      for (const bad of ['../x', 'a/b', '.hidden', 'store.lock', 'collections', '']) {
        await rejectsWith(s.writeFileAtomic(bad, 'x'), 'store_invalid_name');
        await rejectsWith(s.readFile(bad), 'store_invalid_name');
      }
      await s.close();
    }));

  test('invalid names and records', () =>
    withDir(async (dir) => {
      const s = await openFileStore(dir, { maxRecordBytes: 1000 });
      for (const bad of ['a/b', '../m', 'a.b', '', 7]) await rejectsWith(s.append(bad, {}), 'store_invalid_name');
      const cyclic = {};
      cyclic.self = cyclic;
      for (const bad of [undefined, () => 1, 10n, cyclic, { big: 'x'.repeat(2000) }]) {
        await rejectsWith(s.append('m', bad), 'store_invalid_record');
      }
      await s.append('m', { ok: true });
      assert.deepEqual(await s.replay('m'), [{ ok: true }]);
      await s.close();
      await s.close(); // idempotent
      await rejectsWith(s.replay('m'), 'store_closed');
    }));

  test('close flushes pending appends', () =>
    withDir(async (dir) => {
      const s = await openFileStore(dir);
      const ps = [];
      for (let i = 0; i < 100; i++) ps.push(s.append('m', { i }));
      await s.close();
      await Promise.all(ps);
      assert.equal((await reopenReplay(dir, 'm')).length, 100);
    }));
});

test('100,000 records: append, replay, snapshot', (ctx) =>
  withDir(async (dir) => {
    const N = 100_000;
    const mk = (i) => ({ id: i, contactId: 1000 + i, email: `member${i}@example.com`, tags: ['gold', 'course-1'] });
    let s = await openFileStore(dir);
    const ps = [];
    for (let i = 0; i < N; i++) ps.push(s.append('members', mk(i)));
    await Promise.all(ps);
    await s.close();

    s = await openFileStore(dir);
    let t = performance.now();
    const recs = await s.replay('members');
    const journalMs = performance.now() - t;
    assert.equal(recs.length, N);
    assert.deepEqual(recs[N - 1], mk(N - 1));
    await s.snapshot('members', recs);
    await s.close();

    s = await openFileStore(dir);
    t = performance.now();
    const again = await s.replay('members');
    const snapMs = performance.now() - t;
    assert.equal(again.length, N);
    assert.deepEqual(again[12345], mk(12345));
    await s.close();
    ctx.diagnostic(`replay 100k: journal ${journalMs.toFixed(0)} ms, snapshot ${snapMs.toFixed(0)} ms`);
    assert.ok(journalMs < 1000 && snapMs < 1000, `replay too slow: ${journalMs} / ${snapMs} ms`);
  }));

// ─── real crashes ────────────────────────────────────────────────────────────────────────────

/** Run the writer; SIGKILL it after `killAfter` acknowledgements (unless it crashes itself). */
function runWriter(dir, cfg, { killAfter = Infinity, onReady } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = [];
    let start = null;
    let buf = '';
    let stderr = '';
    let killed = false;
    let readyCheck = null;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) {
        if (l.startsWith('ready ')) {
          start = Number(l.slice(6));
          if (onReady) readyCheck = onReady(child);
        } else if (l !== 'done') acked.push(Number(l));
      }
      if (!killed && acked.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      Promise.resolve(readyCheck).then(() => resolve({ acked, start, code, signal, stderr }), reject),
    );
  });
}

async function checkRecovered(dir, acked, label) {
  const recs = await reopenReplay(dir, 'nums');
  const ns = recs.map((r) => r.n);
  for (let i = 0; i < ns.length; i++) assert.equal(ns[i], i, `${label}: record ${i} is ${ns[i]} (order/duplicates)`);
  const maxAcked = acked.length ? Math.max(...acked) : -1;
  assert.ok(ns.length > maxAcked, `${label}: acknowledged ${maxAcked} missing (only ${ns.length} records)`);
  return ns.length;
}

describe('crash safety (child process, SIGKILL)', () => {
  test('every acknowledged append survives SIGKILL at varying points, with snapshots, across restarts', () =>
    withDir(async (dir) => {
      let total = 0;
      let lockChecked = false;
      for (const killAfter of [150, 300, 450]) {
        const r = await runWriter(
          dir,
          { window: 8, snapshotEvery: 97 },
          {
            killAfter,
            onReady: async (child) => {
              if (lockChecked) return;
              lockChecked = true;
              await assert.rejects(openFileStore(dir), (e) => e.code === 'store_locked' && e.pid === child.pid);
            },
          },
        );
        assert.equal(r.signal, 'SIGKILL', r.stderr);
        assert.equal(r.start, total, 'writer resumed after the previous run');
        assert.ok(r.acked.length >= killAfter);
        for (let i = 1; i < r.acked.length; i++) assert.ok(r.acked[i] > r.acked[i - 1], 'acks in order');
        total = await checkRecovered(dir, r.acked, `kill after ${killAfter}`);
      }
      assert.ok(lockChecked);
    }));

  for (const [crashStep, crashNth] of [
    ['append:written', 40],
    ['snapshot:tmp-synced', 2],
    ['snapshot:renamed', 2],
    ['snapshot:dir-synced', 3],
    ['snapshot:old-log-removed', 1],
  ]) {
    test(`crash inside the protocol at ${crashStep} #${crashNth}`, () =>
      withDir(async (dir) => {
        const r = await runWriter(dir, { window: 6, snapshotEvery: 37, crashStep, crashNth });
        assert.equal(r.signal, 'SIGKILL', `writer should have crashed itself: ${r.stderr}`);
        const n = await checkRecovered(dir, r.acked, crashStep);
        // and the store keeps working afterwards
        const r2 = await runWriter(dir, { window: 4, snapshotEvery: 10, limit: 25 });
        assert.equal(r2.code, 0, r2.stderr);
        assert.equal(r2.start, n);
        assert.equal(await checkRecovered(dir, r2.acked, `${crashStep} resumed`), n + 25);
      }));
  }
});
