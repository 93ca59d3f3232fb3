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
