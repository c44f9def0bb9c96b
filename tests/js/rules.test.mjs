// Access rules shared by several instances over one store (Workers' isolates over one D1): a rule
// saved through one reaches the others within the freshness window, so the levels they write
// (WordPress's content gating) follow it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openRules } from '../../js/server/settings.mjs';
import { loadWasm } from '../../js/hosts/node.mjs';

test('a rule saved through one instance reaches another once its copy is older than the window', async () => {
  const wasm = loadWasm();
  const stored = new Map();
  const settings = { get: async (k) => stored.get(k) ?? null, put: async (k, v) => void stored.set(k, v) };
  let clock = 1_000_000;
  const now = () => clock;
  const a = await openRules(settings, wasm, { now });
  const b = await openRules(settings, wasm, { now });
  await a.put([{ id: 'gold', level: 'gold', anyOf: ['91'], allOf: [], noneOf: [] }]);
  assert.deepEqual(b.levels([{ id: '91' }]), [], 'b still has its copy');
  await b.fresh(10_000);
  assert.deepEqual(b.levels([{ id: '91' }]), [], 'within the window: no read');
  clock += 10_001;
  await b.fresh(10_000);
  assert.deepEqual(b.levels([{ id: '91' }]), ['gold'], 'read again after the window');
});
