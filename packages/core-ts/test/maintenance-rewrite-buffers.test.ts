/**
 * The rewrite's reused buffers (maintenance/rewrite.ts): scan chunks are read into buffers of the
 * value log's scan pool, handed back once the copy is appended and read into again by the next
 * rewrite, and the copy is appended in slices that each wait for the previous one to land (its
 * arena goes back to the value log's pool). Segments of several scan chunks with more live bytes
 * than a slice, rewritten one after the other in one pass: every value must read back exactly —
 * a chunk given back too early, or a slice's arena reused before it landed, would show as wrong
 * bytes (or a CORRUPTION) here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { open } from '../src/index.js';
import { checkModelAndLedger, tempDir } from './db-helpers.js';

// 4 MiB segments: four 1 MiB scan chunks each, ~2 MiB live after the overwrites (two slices).
const options = { valueThreshold: 16, valueLogSegmentBytes: 4 << 20, disableAutoCompaction: true } as const;
const VALUE_CHARS = 8192;
const KEYS = 1600;

/** Random hex: LZ4 finds no matches in it, so the frames are stored raw at full size. */
function valueOf(round: number, i: number): string {
  return `${round}:${i}:` + randomBytes(VALUE_CHARS / 2).toString('hex');
}

describe('rewrite buffers', () => {
  test('consecutive rewrites of multi-chunk segments copy every live value exactly', async (t) => {
    const db = await open(tempDir(t), options);
    const model = new Map<string, string>();
    // Every other key overwritten: each segment of the first round ends half stale.
    for (const round of [0, 1]) {
      for (let from = 0; from < KEYS; from += 100) {
        const ops: { type: 'put'; key: string; value: string }[] = [];
        for (let i = from; i < from + 100; i++) {
          if (round === 1 && i % 2 === 0) continue;
          const key = `k${String(i).padStart(5, '0')}`;
          const value = valueOf(round, i);
          ops.push({ type: 'put', key, value });
          model.set(key, value);
        }
        await db.batch(ops);
      }
    }
    await db.compact();
    const report = await db.maintain({ mode: 'rewrite', retire: 'defer', minStaleRatio: 0.25 });
    const copying = report.rewrites.filter((r) => r.copiedRecords > 0);
    assert.ok(copying.length >= 2, `${copying.length} segments copied: the second rewrite must reuse the first one's buffers`);
    assert.ok(
      copying.some((r) => r.copiedBytes > 1.5 * 1024 * 1024),
      `largest copy ${Math.max(...copying.map((r) => r.copiedBytes))} bytes: one must take several slices`,
    );
    checkModelAndLedger(db, model);
    await db.compact();
    await db.maintain({ mode: 'full' });
    checkModelAndLedger(db, model);
    await db.close();
  });
});
