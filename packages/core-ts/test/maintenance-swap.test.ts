/**
 * The rewrite's compare-and-set after its batched lookups (maintenance/rewrite.ts, db.ts
 * `swapPointers`): the lookups run before the copy, the swap checks again when it is applied. Writes,
 * deletes, flushes and compactions landing in between — so that the swap can trust its lookups for
 * the keys no memtable holds (nothing flushed or compacted), or must look again in one ordered pass
 * (tables came and went) — never lose to the swap: no overwritten value comes back, no deleted key
 * is resurrected (also when compaction dropped the tombstone and the old pointer together), and
 * every copied record is referenced once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { open, type Db } from '../src/index.js';
import { checkModelAndLedger as checkModel, noiseHex, tempDir } from './db-helpers.js';

const options = { valueThreshold: 16, valueLogSegmentBytes: 4096, memtableBytes: 64 * 1024, disableAutoCompaction: true } as const;

function valueOf(tag: string, n: number): string {
  return `${tag}:${n}:${noiseHex((n * 2654435761 + tag.length * 31) >>> 0 || 7, 12)}`;
}

/** `keep*` keys written once, `churn*` keys overwritten three times, all compacted: half-stale segments. */
async function halfStale(db: Db): Promise<Map<string, string>> {
  const model = new Map<string, string>();
  const put = async (key: string, value: string): Promise<void> => {
    await db.put(key, value);
    model.set(key, value);
  };
  for (let i = 0; i < 80; i++) {
    await put(`keep${i}`, valueOf('keep', i));
    await put(`churn${i}`, valueOf('churn0', i));
  }
  for (let round = 1; round <= 3; round++) for (let i = 0; i < 80; i++) await put(`churn${i}`, valueOf(`churn${round}`, i));
  await db.compact();
  return model;
}

type Between = 'nothing' | 'flush' | 'compact';

describe('rewrite swap after batched lookups', () => {
  for (const between of ['nothing', 'flush', 'compact'] as const satisfies readonly Between[]) {
    test(`writes and deletes between the lookups and the swap win (then: ${between})`, async (t) => {
      const db = await open(tempDir(t), options);
      const model = await halfStale(db);
      let copies = 0;
      db.maintenanceStepHook = async (step) => {
        if (step !== 'copy') return;
        // The copy is made and its lookups are done: overwrite or delete a share of the keep* keys
        // (the live records being copied), then let tables change as `between` says.
        const share = copies++ % 5;
        for (let i = share; i < 80; i += 5) {
          const key = `keep${i}`;
          if (i % 2 === 0) {
            const value = valueOf(`race${copies}`, i);
            await db.put(key, value);
            model.set(key, value);
          } else {
            await db.del(key);
            model.delete(key);
          }
        }
        if (between === 'flush') await db.flush();
        // A full compaction drops the tombstones at the bottom together with the old pointers they
        // shadow: the keys then have no entry at all, and the swap must not bring them back.
        if (between === 'compact') await db.compact();
      };
      const report = await db.maintain({ mode: 'rewrite', retire: 'defer' });
      db.maintenanceStepHook = null;
      const copied = report.rewrites.reduce((n, r) => n + r.copiedRecords, 0);
      const swapped = report.rewrites.reduce((n, r) => n + r.swapped, 0);
      assert.ok(copies > 0 && copied > 0, `${copies} copies, ${copied} records`);
      assert.ok(swapped > 0 && swapped < copied, `${swapped} of ${copied} swapped`);
      checkModel(db, model);
      await db.compact();
      await db.maintain({ mode: 'full' });
      checkModel(db, model);
      await db.close();
    });
  }
});

describe('rewrite of a segment with more records than one lookup batch', () => {
  test('writes and deletes landing while the lookups yield between batches win; every record is copied once', async (t) => {
    // ~40k records (LZ4 frames) in a 512 KiB segment: the lookups take more than one batch and yield between them.
    const db = await open(tempDir(t), { valueThreshold: 16, valueLogSegmentBytes: 512 << 10, memtableBytes: 4 << 20, disableAutoCompaction: true });
    const model = new Map<string, string>();
    const keyOf = (i: number): string => `k${String(i).padStart(6, '0')}`;
    const count = 40_000;
    const write = async (ids: number[], tag: string): Promise<void> => {
      const ops = ids.map((i) => ({ type: 'put' as const, key: keyOf(i), value: `${tag}${String(i).padStart(16, '0')}` }));
      await db.batch(ops);
      for (const op of ops) model.set(op.key, op.value);
    };
    for (let i = 0; i < count; i += 1000) await write(Array.from({ length: 1000 }, (_, j) => i + j), 'a');
    // A third of the keys overwritten: the first segment is a third stale.
    for (let i = 0; i < count; i += 3000) await write(Array.from({ length: 1000 }, (_, j) => i + 3 * j).filter((k) => k < count), 'b');
    await db.compact();
    let done = false;
    let racing = 0;
    // Writes racing the rewrite, spread over the whole key range (so over every lookup batch).
    const race = (async (): Promise<void> => {
      for (let round = 0; !done; round++) {
        await new Promise((resolve) => setImmediate(resolve));
        const from = (round * 7919) % count;
        const ids = Array.from({ length: 50 }, (_, j) => (from + j * 797) % count);
        if (round % 4 === 3) {
          await db.batch(ids.map((i) => ({ type: 'del' as const, key: keyOf(i) })));
          for (const i of ids) model.delete(keyOf(i));
        } else {
          await write(ids, `r${round}-`);
        }
        racing++;
      }
    })();
    const report = await db.maintain({ mode: 'rewrite', minStaleRatio: 0.2, retire: 'defer' });
    done = true;
    await race;
    const first = report.rewrites.find((r) => r.copiedRecords > 16_384);
    assert.ok(first !== undefined, `a rewrite copied more than one lookup batch of records: ${report.rewrites.map((r) => r.copiedRecords).join(', ')}`);
    assert.ok(racing > 0 && first.swapped > 0 && first.swapped <= first.copiedRecords, `${racing} racing batches, ${first.swapped} of ${first.copiedRecords} swapped`);
    checkModel(db, model);
    await db.compact();
    await db.maintain({ mode: 'full' });
    checkModel(db, model);
    await db.close();
  });
});
