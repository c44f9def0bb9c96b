// The line to the CRM: the token bucket that paces it, and the order of its two lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { tokenBucket, crmQueue, FRESH, BACKGROUND } from '../../js/engine/crm-queue.mjs';

test('the bucket never lets more than the rate through in any one-second window (burst 1, as Keap counts)', () => {
  const bucket = tokenBucket(10, 1);
  const sends = Array.from({ length: 100 }, (_, i) => i * 3 + bucket.reserve(i * 3));
  assert.equal(sends[0], 0);
  assert.equal(sends[1], 100);
  assert.equal(sends[99], 9900);
  for (const t of sends) {
    const inWindow = sends.filter((s) => s >= t && s < t + 1000).length;
    assert.ok(inWindow <= 10, `window at ${t}: ${inWindow}`);
  }
});

test('a burst lets that many go at once, then the rate paces the rest', () => {
  const bucket = tokenBucket(10, 5);
  assert.deepEqual(Array.from({ length: 7 }, () => bucket.reserve(0)), [0, 0, 0, 0, 0, 100, 200]);
});

test('a quiet period refills the bucket; a rate of 0 is no limit', () => {
  const bucket = tokenBucket(5, 1);
  assert.equal(bucket.reserve(0), 0);
  assert.equal(bucket.reserve(0), 200);
  assert.equal(bucket.reserve(10_000), 0);
  const free = tokenBucket(0, 1);
  assert.equal(free.reserve(0), 0);
  assert.equal(free.reserve(0), 0);
});

test('the queue gives fresh requests the next turn ahead of the background, each line in arrival order', async () => {
  let clock = 0;
  const queue = crmQueue(tokenBucket(10, 1), { now: () => clock, sleep: (ms) => new Promise((resolve) => setImmediate(() => { clock += ms; resolve(); })) });
  const order = [];
  const turns = [
    queue.turn(BACKGROUND).then(() => order.push(['b1', clock])),
    queue.turn(BACKGROUND).then(() => order.push(['b2', clock])),
    queue.turn(FRESH).then(() => order.push(['f1', clock])),
    queue.turn(BACKGROUND).then(() => order.push(['b3', clock])),
    queue.turn(FRESH).then(() => order.push(['f2', clock])),
  ];
  await Promise.all(turns);
  // b1 asked first, with nobody waiting: its turn was at once. Then the fresh ones go first.
  assert.deepEqual(order.map(([name]) => name), ['b1', 'f1', 'f2', 'b2', 'b3']);
  assert.deepEqual(order.map(([, at]) => at), [0, 100, 200, 300, 400]);
});
