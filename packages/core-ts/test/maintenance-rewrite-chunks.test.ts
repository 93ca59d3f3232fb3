/**
 * A rewrite of segments longer than its 1 MiB scan chunks (maintenance/rewrite.ts): the chunks are
 * dropped as they are listed and the live values read again afterwards, chunk by chunk, skipping
 * chunks with no live record. Every copied value must be the record's own bytes, in every chunk.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { open } from '../src/index.js';
import { checkModelAndLedger, noiseHex, tempDir } from './db-helpers.js';

const KEYS = 6000;
const options = { valueThreshold: 16, valueLogSegmentBytes: 4 << 20, disableAutoCompaction: true } as const;

const keyOf = (i: number): string => `key${String(i).padStart(5, '0')}`;
/** ~1 KiB, different for every key and round. */
const valueOf = (round: number, i: number): string => `${round}:${i}:${noiseHex(((i + 1) * 2654435761 + round * 40503) >>> 0 || 7, 128)}`;

test('rewrites of multi-chunk segments copy each live value intact, whole stale chunks included', async (t) => {
  const db = await open(tempDir(t), options);
  const model = new Map<string, string>();
  for (let b = 0; b < KEYS; b += 500) {
    const ops = [];
    for (let i = b; i < b + 500; i++) {
      ops.push({ type: 'put' as const, key: keyOf(i), value: valueOf(0, i) });
      model.set(keyOf(i), valueOf(0, i));
    }
    await db.batch(ops);
  }
  // Stale: a run of 1200 keys (more than a whole 1 MiB chunk of the first segment) and every
  // third key elsewhere; the rest stay live in every chunk.
  const ops = [];
  for (let i = 0; i < KEYS; i++) {
    if ((i >= 1100 && i < 2300) || i % 3 === 0) {
      ops.push({ type: 'put' as const, key: keyOf(i), value: valueOf(1, i) });
      model.set(keyOf(i), valueOf(1, i));
    }
  }
  for (let b = 0; b < ops.length; b += 500) await db.batch(ops.slice(b, b + 500));
  await db.compact();
  const report = await db.maintain({ mode: 'rewrite', retire: 'defer', minStaleRatio: 0.2 });
  const copied = report.rewrites.reduce((n, r) => n + r.copiedRecords, 0);
  const swapped = report.rewrites.reduce((n, r) => n + r.swapped, 0);
  assert.ok(report.rewrites.length > 0 && copied > 1000, `${report.rewrites.length} rewrites, ${copied} records copied`);
  assert.equal(swapped, copied, 'nothing wrote meanwhile: every copy is swapped in');
  checkModelAndLedger(db, model);
  await db.compact();
  await db.maintain({ mode: 'full' });
  checkModelAndLedger(db, model);
  for (const [key, value] of model) assert.equal(new TextDecoder().decode(db.getSync(key)), value, key);
  await db.close();
});
