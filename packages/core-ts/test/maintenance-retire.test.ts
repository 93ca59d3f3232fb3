/**
 * Rewrites under load (`retire: 'defer'`): the pass copies and swaps but leaves the old pointers to
 * the compactions writes trigger, so it deletes nothing itself; the rewritten segments are not
 * planned again while they wait; the next compaction's edit marks them stale and GC deletes them;
 * a `compact` pass retires what `defer` passes left. The ledger stays exact at every step.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { open, type Db } from '../src/index.js';
import { accel } from '@siltdb/bindings';
import { randomBytes } from 'node:crypto';
import { MaintenanceController } from '../src/maintenance/controller.js';
import { collectableSegments } from '../src/maintenance/gc.js';
import { EMPTY_LEDGER } from '../src/manifest/index.js';
import { COLD_LANE, ValueLog } from '../src/vlog/index.js';
import type { MaintainOptions, MaintenanceReport } from '../src/maintenance/maintain.js';
import { noiseHex, strings, tempDir } from './db-helpers.js';

function valueOf(tag: string, i: number): string {
  return `${tag}:${i}:${noiseHex((i * 2654435761 + tag.length * 131) >>> 0 || 7, 10)}`;
}

async function halfStale(db: Db, model: Map<string, string>, tag: string, repeat = 1): Promise<void> {
  const put = async (key: string, value: string): Promise<void> => {
    await db.put(key, value.repeat(repeat));
    model.set(key, value.repeat(repeat));
  };
  for (let i = 0; i < 80; i++) {
    await put(`keep-${tag}-${i}`, valueOf(`keep${tag}`, i));
    await put(`churn${i}`, valueOf(`churn${tag}`, i));
  }
  for (let i = 0; i < 80; i++) await put(`churn${i}`, valueOf(`churn${tag}b`, i));
  await db.compact();
}

function exact(db: Db, model: Map<string, string>): void {
  assert.deepEqual(new Map(strings(db.iterator())), model);
  const report = db.verifyLedger({ readValues: true });
  assert.ok(report.ok, report.problems.join('; '));
}

describe('deferred retirement of rewritten segments', () => {
  test('a defer pass deletes nothing; the next compaction retires its segments; they are not planned twice', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { valueThreshold: 16, valueLogSegmentBytes: 4096, memtableBytes: 16 * 1024, disableAutoCompaction: true });
    const model = new Map<string, string>();
    await halfStale(db, model, 'a');
    const deleted: number[] = [];
    db.on('segment-deleted', (event) => void deleted.push(event.segment));

    const first = await db.maintain({ mode: 'rewrite', retire: 'defer' });
    const rewritten = first.rewrites.filter((r) => r.swapped > 0).map((r) => r.segment);
    assert.ok(rewritten.length > 0, JSON.stringify(first));
    assert.equal(first.deletedSegments, 0, 'nothing retired the old pointers yet');
    for (const segment of rewritten) assert.ok(db.valueLog!.info(segment) !== undefined);
    exact(db, model);

    // Waiting segments are not rewritten again (their live records already have copies).
    const second = await db.maintain({ mode: 'rewrite', retire: 'defer' });
    for (const r of second.rewrites) assert.ok(!rewritten.includes(r.segment), `segment ${r.segment} planned twice`);

    // Any compaction over their keys retires them: the edit marks the bytes stale, GC deletes.
    await db.compact();
    await db.collectGarbage();
    for (const segment of rewritten) {
      assert.equal(db.valueLog!.info(segment), undefined, `segment ${segment} deleted`);
      assert.ok(deleted.includes(segment));
    }
    exact(db, model);
    await db.close();
  });

  test('a compact pass retires what earlier defer passes left, and survives reopen exact', async (t) => {
    const dir = tempDir(t);
    const options = { valueThreshold: 16, valueLogSegmentBytes: 4096, memtableBytes: 16 * 1024, disableAutoCompaction: true } as const;
    const db = await open(dir, options);
    const model = new Map<string, string>();
    await halfStale(db, model, 'a');
    const deferred = await db.maintain({ mode: 'rewrite', retire: 'defer' });
    const waiting = deferred.rewrites.filter((r) => r.swapped > 0).map((r) => r.segment);
    assert.ok(waiting.length > 0);
    await halfStale(db, model, 'b');
    // halfStale compacted everything: nothing may be left waiting, and a compact pass finds it so.
    const pass = await db.maintain({ mode: 'rewrite' });
    for (const segment of waiting) assert.equal(db.valueLog!.info(segment), undefined);
    assert.ok(pass.mode === 'rewrite');
    exact(db, model);

    // Deferred again, then retired by a compact pass without any compaction in between.
    const again = await db.maintain({ mode: 'rewrite', retire: 'defer', minStaleRatio: 0.01 });
    const left = again.rewrites.filter((r) => r.swapped > 0).map((r) => r.segment);
    const retire = await db.maintain({ mode: 'rewrite', minStaleRatio: 1 });
    assert.equal(retire.rewrites.length, 0, 'nothing new qualifies at a ratio of 1');
    for (const segment of left) assert.equal(db.valueLog!.info(segment), undefined, `segment ${segment} retired by the compact pass`);
    exact(db, model);
    await db.close();

    const reopened = await open(dir, options);
    exact(reopened, model);
    await reopened.close();
  });

  test('retire must be "compact" or "defer"', async (t) => {
    const db = await open(tempDir(t), { valueThreshold: 16 });
    assert.throws(() => db.maintain({ retire: 'later' as 'defer' }), { code: 'INVALID_ARGUMENT' });
    await db.close();
  });

  test('the controller defers under load, compacts when quiet, and sizes the pass to the debt', async () => {
    const calls: MaintainOptions[] = [];
    let writes = 0;
    let debt = { queuedSegments: 10, retiringSegments: 0, stale: 35, total: 100 };
    const report: MaintenanceReport = {
      mode: 'rewrite', plannedSegments: 10, rewrites: [{ segment: 1, copiedRecords: 1, copiedBytes: 10, swapped: 1 }], copiedBytes: 10,
      deletedSegments: 0, reclaimedBytes: 0, stoppedBy: 'done', elapsedMs: 1,
    };
    const controller = new MaintenanceController(
      { writeCount: () => writes, debt: () => debt, maintain: async (options) => (calls.push(options), report) },
      { bytesPerSecond: 1 << 30, quietMs: 60_000, passMs: 250, maxPassMs: 2000 },
    );
    const pass = async (): Promise<MaintainOptions> => {
      writes++;
      controller.kick();
      await new Promise((resolve) => setImmediate(resolve));
      return calls.at(-1)!;
    };
    const light = await pass();
    assert.equal(light.retire, 'defer', 'pressured while writes flow');
    assert.equal(light.budget!.segments, 10, 'every queued segment');
    debt = { ...debt, stale: 60 };
    const heavy = await pass();
    assert.ok(heavy.budget!.ms! > light.budget!.ms!, 'more debt, longer pass');
    assert.equal(heavy.budget!.ms, 2000);
    assert.equal(controller.stats().backoffMs, 0, 'a pass that swapped pointers is progress, not a reason to back off');
    await controller.close();

    // Quiet, with only segments waiting for retirement: one compacting pass.
    const quietCalls: MaintainOptions[] = [];
    const quiet = new MaintenanceController(
      { writeCount: () => 0, debt: () => ({ queuedSegments: 0, retiringSegments: 2, stale: 10, total: 100 }), maintain: async (o) => (quietCalls.push(o), report) },
      { bytesPerSecond: 1 << 20, quietMs: 0 },
    );
    quiet.kick();
    await quiet.close();
    assert.equal(quietCalls.length, 1);
    assert.equal(quietCalls[0]!.retire, 'compact');
  });

  test("GC never takes a segment whose pointers are still on their way to a memtable (a write or a rewrite's swap not applied)", async (t) => {
    const dir = tempDir(t);
    const log = await ValueLog.open(dir, { accelerator: accel, segmentBytes: 4096 });
    // One append whose frames fill one segment and seal it: its pointers are in no memtable, table
    // or ledger entry yet — to GC, an orphan.
    const keys = [0, 1, 2, 3].map((i) => new TextEncoder().encode(`k${i}`));
    const values = keys.map((_, i) => randomBytes(1500 + i));
    const pointers = log.append(COLD_LANE, keys, values);
    await log.sync();
    const sealed = log.segmentInfos().filter((info) => info.sealed).map((info) => info.segment);
    assert.ok(sealed.length > 0, 'the append sealed a segment');
    const host = {
      valueLog: log,
      ledger: () => EMPTY_LEDGER,
      referencedByVersions: () => new Set<number>(),
      reachableMemtables: () => [],
      dropFromLedger: async () => {},
      oldestReaderSeq: () => Infinity,
    };
    const held = collectableSegments(host);
    for (const segment of sealed) assert.ok(!held.collectable.includes(segment), `segment ${segment} is held by the append`);
    assert.equal(held.blocked, sealed.length);
    // Settled without ever reaching a memtable (the write failed, every swap lost): an orphan now.
    log.settle(pointers);
    log.settle(pointers);
    assert.deepEqual(collectableSegments(host).collectable, sealed);
    await log.close();
  });
});
