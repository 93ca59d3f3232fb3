/**
 * Early retirement of rewritten segments (maintenance/maintain.ts, "Early retirement"; FORMAT §7
 * `retired`): once a rewrite's swaps reach a table, the old segment is retired and GC deletes its
 * file without waiting for compactions to drop its (shadowed) pointers — unless a snapshot or an
 * iterator older than the retirement still reads it. The ledger stays equal to a recount, every
 * pointer into a retired segment is shadowed, a crash at every step loses nothing, and checkpoints
 * and read-only opens of a database with deleted retired segments work.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { open, type Db } from '../src/index.js';
import type { MaintenanceStep } from '../src/maintenance/maintain.js';
import { FaultVfs } from '../src/vfs/index.js';
import { segmentPath } from '../src/vlog/index.js';
import { noiseHex, s, strings, tempDir } from './db-helpers.js';

const options = { valueThreshold: 16, valueLogSegmentBytes: 4096, memtableBytes: 16 * 1024, disableAutoCompaction: true } as const;

function valueOf(tag: string, n: number): string {
  return `${tag}:${n}:${noiseHex((n * 2654435761 + tag.length * 97) >>> 0 || 7, 12)}`;
}

/** Long-lived keys interleaved with keys overwritten three times, compacted: half-stale segments. */
async function halfStale(db: Db): Promise<Map<string, string>> {
  const model = new Map<string, string>();
  const put = async (key: string, value: string): Promise<void> => {
    await db.put(key, value);
    model.set(key, value);
  };
  for (let i = 0; i < 60; i++) {
    await put(`keep${i}`, valueOf('keep', i));
    await put(`churn${i}`, valueOf('churn0', i));
  }
  for (let round = 1; round <= 3; round++) for (let i = 0; i < 60; i++) await put(`churn${i}`, valueOf(`churn${round}`, i));
  await db.compact();
  return model;
}

function checkModel(db: Db, model: Map<string, string>): void {
  assert.deepEqual(new Map(strings(db.iterator())), model);
  for (const [key, value] of model) assert.equal(s(db.getSync(key)), value, key);
  const report = db.verifyLedger({ readValues: true });
  assert.ok(report.ok, report.problems.join('; '));
}

function retiredSegments(db: Db): number[] {
  return db
    .verifyLedger()
    .segments.filter((seg) => (db as unknown as { versions: { ledger: Map<number, { retiredAt: number }> } }).versions.ledger.get(seg.segment)!.retiredAt > 0)
    .map((seg) => seg.segment);
}

function ledgerOf(db: Db): ReadonlyMap<number, { readonly retiredAt: number; readonly total: number; readonly stale: number; readonly lane: number }> {
  return (db as unknown as { versions: { ledger: ReadonlyMap<number, { retiredAt: number; total: number; stale: number; lane: number }> } }).versions.ledger;
}

describe('early retirement', () => {
  test('after the swaps are flushed the old segments are deleted before any compaction; every key reads its value, also after reopen', async (t) => {
    const dir = tempDir(t);
    // Memtables large enough that no flush happens by itself during the pass.
    const db = await open(dir, { ...options, memtableBytes: 1 << 20 });
    const model = await halfStale(db);
    await db.collectGarbage();
    const compactions = db.stats().compaction.compactions;
    const retiredEvents: number[] = [];
    db.on('segment-retired', (event) => void retiredEvents.push(event.segment));
    const deferred = await db.maintain({ mode: 'rewrite', retire: 'defer' });
    const rewritten = deferred.rewrites.filter((r) => r.swapped > 0).map((r) => r.segment);
    assert.ok(rewritten.length > 0, JSON.stringify(deferred));
    // The swaps are in the memtable only (no WAL record): nothing may go yet.
    assert.equal(deferred.deletedSegments, 0);
    await db.collectGarbage();
    for (const segment of rewritten) assert.ok(db.valueLog!.info(segment) !== undefined, `segment ${segment} kept before the flush`);
    assert.deepEqual(retiredSegments(db), []);

    assert.deepEqual(retiredEvents, []);
    await db.flush();
    await db.collectGarbage();
    assert.equal(db.stats().compaction.compactions, compactions, 'no compaction ran');
    assert.deepEqual([...retiredEvents].sort((a, b) => a - b), [...rewritten].sort((a, b) => a - b), 'one segment-retired event per segment');
    const ledger = ledgerOf(db);
    for (const segment of rewritten) {
      assert.equal(db.valueLog!.info(segment), undefined, `segment ${segment} deleted`);
      const entry = ledger.get(segment)!;
      assert.ok(entry.retiredAt > 0, `segment ${segment} retired`);
      assert.ok(entry.total > entry.stale, 'its shadowed pointers are still charged');
      assert.ok(!existsSync(segmentPath(dir, entry.lane, segment)));
    }
    const report = db.verifyLedger({ readValues: true });
    assert.ok(report.retiredPointers > 0);
    // stats() tells the shadowed bytes apart from what reads can reach.
    const shadowed = rewritten.reduce((sum, segment) => sum + ledger.get(segment)!.total - ledger.get(segment)!.stale, 0);
    const ledgerStats = db.stats().valueLog!.ledger;
    assert.equal(ledgerStats.retiredSegments, rewritten.length);
    assert.equal(ledgerStats.shadowed, shadowed);
    assert.ok(ledgerStats.live - ledgerStats.shadowed > 0 && ledgerStats.live - ledgerStats.shadowed < ledgerStats.live);
    checkModel(db, model);
    await db.close();

    const again = await open(dir, { ...options, memtableBytes: 1 << 20 });
    checkModel(again, model);
    // Compactions drop the shadowed pointers; the entries leave the ledger with them.
    await again.compact();
    await again.collectGarbage();
    for (const segment of rewritten) assert.equal(ledgerOf(again).get(segment), undefined, `segment ${segment} left the ledger`);
    assert.equal(again.stats().valueLog!.ledger.shadowed, 0);
    assert.equal(again.stats().valueLog!.ledger.retiredSegments, 0);
    checkModel(again, model);
    await again.close();
  });

  test('a snapshot and an iterator taken before the rewrite keep reading the old values and hold the files until released', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    const model = await halfStale(db);
    const snapshot = db.snapshot();
    const iterator = db.iterator();
    const first = iterator.next().value as [Uint8Array, Uint8Array];
    // Writes after the readers were taken: the snapshot must not see them, the rewrite copies around them.
    const later = new Map(model);
    for (let i = 0; i < 60; i += 3) {
      await db.put(`keep${i}`, valueOf('later', i));
      later.set(`keep${i}`, valueOf('later', i));
    }
    const report = await db.maintain({ mode: 'rewrite' });
    const rewritten = report.rewrites.filter((r) => r.swapped > 0).map((r) => r.segment);
    assert.ok(rewritten.length > 0);
    const retired = retiredSegments(db);
    for (const segment of rewritten) assert.ok(retired.includes(segment), `segment ${segment} retired`);
    for (const segment of rewritten) assert.ok(db.valueLog!.info(segment) !== undefined, `segment ${segment} held by the readers`);
    for (const [key, value] of model) assert.equal(s(db.getSync(key, { snapshot })), value, `snapshot ${key}`);
    snapshot.release();
    await db.collectGarbage();
    for (const segment of rewritten) assert.ok(db.valueLog!.info(segment) !== undefined, `segment ${segment} held by the iterator`);
    const rest = strings(iterator);
    assert.deepEqual(new Map([[s(first[0])!, s(first[1])!], ...rest]), model);
    // The iterator ended: GC runs by itself.
    await db.collectGarbage();
    for (const segment of rewritten) assert.equal(db.valueLog!.info(segment), undefined, `segment ${segment} deleted after release`);
    checkModel(db, later);
    await db.close();
  });

  test('a read that reaches a deleted retired segment fails with CORRUPTION, and verifyLedger names the unshadowed pointer', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    const model = await halfStale(db);
    // Retire a segment nothing rewrote (a bug the engine must never make): its live pointers are newest.
    const victim = db.verifyLedger().segments.find((seg) => seg.live > 0 && db.valueLog!.info(seg.segment)?.sealed === true)!;
    assert.ok(victim !== undefined);
    await db.installEdit({ valueLog: [{ segment: victim.segment, retiredAt: 1 }] });
    const report = db.verifyLedger();
    assert.ok(!report.ok);
    assert.ok(report.problems.some((p) => p.includes(`retired segment ${victim.segment}`)), report.problems.join('; '));
    await db.collectGarbage();
    assert.equal(db.valueLog!.info(victim.segment), undefined);
    let failures = 0;
    for (const key of model.keys()) {
      try {
        db.getSync(key);
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'CORRUPTION');
        failures++;
      }
    }
    assert.ok(failures > 0, 'reads reaching the deleted segment failed loudly');
    await db.close();
  });

  test('checkpoints taken after a retired segment was deleted open, verify, and collect it; read-only opens too', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    const model = await halfStale(db);
    await db.maintain({ mode: 'rewrite', retire: 'defer' });
    await db.flush();
    await db.collectGarbage();
    const retired = retiredSegments(db).filter((segment) => db.valueLog!.info(segment) === undefined);
    assert.ok(retired.length > 0, 'some retired segment was deleted');
    const cp = join(tempDir(t), 'cp');
    await db.checkpoint(cp);
    for (const segment of retired) assert.ok(!existsSync(segmentPath(cp, ledgerOf(db).get(segment)!.lane, segment)), 'not linked');

    const readOnly = await open(dir, { ...options, readOnly: true });
    checkModel(readOnly, model);
    await readOnly.close();

    const copy = await open(cp, options);
    for (const segment of retired) assert.ok(ledgerOf(copy).get(segment)!.retiredAt > 0, `segment ${segment} retired in the checkpoint`);
    checkModel(copy, model);
    await copy.collectGarbage();
    checkModel(copy, model);
    await copy.compact();
    await copy.collectGarbage();
    for (const segment of retired) assert.equal(ledgerOf(copy).get(segment), undefined);
    checkModel(copy, model);
    await copy.close();
    await db.close();
  });
});

describe('checkpoints while a retired segment is still held', () => {
  test('a snapshot keeps a retired file; a checkpoint taken meanwhile does not link it, and opens exact', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    const model = await halfStale(db);
    const snapshot = db.snapshot();
    await db.maintain({ mode: 'rewrite' });
    const held = retiredSegments(db).filter((segment) => db.valueLog!.info(segment) !== undefined);
    assert.ok(held.length > 0, 'the snapshot holds retired files');
    const cp = join(tempDir(t), 'cp');
    await db.checkpoint(cp);
    for (const segment of held) assert.ok(!existsSync(segmentPath(cp, ledgerOf(db).get(segment)!.lane, segment)), `segment ${segment} not linked`);
    for (const [key, value] of model) assert.equal(s(db.getSync(key, { snapshot })), value);
    snapshot.release();
    await db.collectGarbage();
    for (const segment of held) assert.equal(db.valueLog!.info(segment), undefined);
    const copy = await open(cp, options);
    checkModel(copy, model);
    await copy.maintain({ mode: 'full' });
    checkModel(copy, model);
    await copy.close();
    checkModel(db, model);
    await db.close();
  });
});

describe('a crash at every step of early retirement', () => {
  for (const step of ['copy', 'swap', 'flush', 'retire', 'unlink'] as const satisfies readonly MaintenanceStep[]) {
    test(`after ${step}: nothing lost, the ledger equals a recount, the next pass finishes`, async () => {
      let vfs = new FaultVfs();
      const db = await open('/db', { ...options, vfs });
      const model = await halfStale(db);
      // Segments the compaction emptied go first: the unlink step below is a retired segment's.
      await db.collectGarbage();
      let crashed: FaultVfs | null = null;
      db.maintenanceStepHook = (at) => {
        if (at === step && crashed === null) {
          crashed = vfs.crash({ seed: step.length * 7 });
          throw new Error(`crash after ${step}`);
        }
      };
      // The retire and unlink steps may be reached by a GC the flush started: the pass need not fail.
      await db.maintain({ mode: 'rewrite' }).catch(() => {});
      await db.collectGarbage().catch(() => {});
      assert.ok(crashed !== null, `the pass reached ${step}`);
      db.maintenanceStepHook = null;
      await db.close().catch(() => {});
      vfs = crashed;
      const reopened = await open('/db', { ...options, vfs });
      checkModel(reopened, model);
      if (step === 'retire' || step === 'unlink') assert.ok(retiredSegments(reopened).length > 0, 'the retire edit was durable');
      await reopened.collectGarbage();
      checkModel(reopened, model);
      const report = await reopened.maintain({ mode: 'full' });
      assert.equal(report.stoppedBy, 'done');
      checkModel(reopened, model);
      await reopened.close();
      const again = await open('/db', { ...options, vfs });
      checkModel(again, model);
      await again.close();
    });
  }
});
