// The event store on the file store: nothing acknowledged is lost across snapshots, even when
// records keep arriving while a snapshot is being taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileStore } from '../../js/store/file-store.mjs';
import { openEventStore } from '../../js/adapters/events.mjs';

test('concurrent events across many snapshots all survive a reopen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-events-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let store = await openFileStore(dir);
  let events = await openEventStore(store, { snapshotEvery: 10 });
  // 25 accepts, then progress and finish records, none awaited before the next is written.
  const writes = [];
  for (let i = 0; i < 25; i++) writes.push(events.accept([{ id: `ev${i}`, source: 'json', receivedAt: i, contactKey: `k${i}`, contact: {}, state: '{}' }]));
  for (let i = 0; i < 25; i += 2) writes.push(events.progress(`ev${i}`, `{"step":${i}}`));
  for (let i = 0; i < 25; i += 3) writes.push(events.finish(`ev${i}`, { outcome: 'created', event: `ev${i}` }, '{}'));
  await Promise.all(writes);
  await store.close();

  store = await openFileStore(dir);
  events = await openEventStore(store, { snapshotEvery: 10 });
  t.after(() => store.close());
  assert.equal(events.size, 25, 'every acknowledged event is back');
  const counts = events.counts();
  assert.equal(counts.done, 9);
  assert.equal(counts.running, 16);
  assert.equal((await events.get('ev4')).state, '{"step":4}');
});
