/**
 * The value-log debt the controller and the pacer weigh (maintenance/debt.ts): stale bytes as the
 * larger of the ledger's and the sampled estimate; retired segments all garbage while their file
 * is on disk and nothing after; a rewritten segment waiting for its retire edit all garbage, with
 * the uncharged copies of its live share counted on disk.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { weighDebt } from '../src/maintenance/debt.js';
import type { LedgerEntry } from '../src/manifest/index.js';

function entry(segment: number, total: number, stale: number, retiredAt = 0): LedgerEntry {
  return { segment, lane: 0, total, stale, length: total, sealed: true, created: 0, attempts: 0, cooldownUntil: 0, retiredAt };
}

test('stale bytes: the larger of the ledger and the sampled estimate', () => {
  const debt = weighDebt({
    entries: [entry(1, 1000, 100), entry(2, 1000, 600), entry(3, 1000, 0)],
    present: () => true,
    sampled: (segment) => (segment === 1 ? 0.5 : segment === 2 ? 0.2 : undefined),
    awaitingRetire: () => false,
  });
  assert.deepEqual(debt, { stale: 500 + 600 + 0, total: 3000 });
});

test('a retired segment is all garbage while its file is on disk, nothing once it is gone', () => {
  const inputs = { sampled: () => undefined, awaitingRetire: () => false };
  const entries = [entry(1, 1000, 200, 42), entry(2, 1000, 0)];
  assert.deepEqual(weighDebt({ ...inputs, entries, present: () => true }), { stale: 1000, total: 2000 });
  assert.deepEqual(weighDebt({ ...inputs, entries, present: (segment) => segment !== 1 }), { stale: 0, total: 1000 });
});

test('a rewritten segment awaiting retirement counts whole, and the copies of its live share count on disk', () => {
  const entries = [entry(1, 1000, 100), entry(2, 1000, 0)];
  // Sampled 40 % stale: 600 bytes were copied into the cold lane and no ledger entry charges them yet.
  const waiting = weighDebt({ entries, present: () => true, sampled: (s) => (s === 1 ? 0.4 : undefined), awaitingRetire: (s) => s === 1 });
  assert.deepEqual(waiting, { stale: 1000, total: 1000 + 600 + 1000 });
});
