/**
 * Maintenance events (`db.on` / `db.off`): a manual pass reports its start, each rewritten segment,
 * each deleted segment and its end with numbers that agree with the report and with
 * `stats().maintenance`; background passes say so; a pass that reclaims nothing makes the
 * controller back off and say how long; a throwing listener changes nothing but a counter; bad
 * arguments are INVALID_ARGUMENT.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { open, type Db, type MaintenanceEvent } from '../src/index.js';
import { MaintenanceController } from '../src/maintenance/controller.js';
import type { MaintenanceReport } from '../src/maintenance/maintain.js';
import { strings, tempDir } from './db-helpers.js';

function noise(seed: number): string {
  let x = seed >>> 0 || 7;
  let out = '';
  for (let j = 0; j < 10; j++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out;
}

/** Long-lived keys interleaved with churning ones: every segment ends partly stale. */
async function churn(db: Db, model: Map<string, string>): Promise<void> {
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 80; i++) {
      const key = round === 0 || i % 3 !== 0 ? `churn${i}` : `keep${round}-${i}`;
      const value = `${round}:${noise(round * 1000 + i)}`;
      await db.put(key, value);
      model.set(key, value);
    }
  }
}

function record(db: Db): MaintenanceEvent[] {
  const events: MaintenanceEvent[] = [];
  for (const type of ['pass-start', 'pass-end', 'segment-rewritten', 'segment-deleted', 'backoff'] as const) {
    db.on(type, (event) => events.push(event));
  }
  return events;
}

describe('maintenance events', () => {
  test('a manual pass: start, rewritten segments, deleted segments, end — numbers agree with the report', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { valueThreshold: 16, valueLogSegmentBytes: 4096, memtableBytes: 16 * 1024, disableAutoCompaction: true });
    const model = new Map<string, string>();
    await churn(db, model);
    await db.compact();
    const events = record(db);
    const report = await db.maintain({ mode: 'rewrite' });
    assert.ok(report.rewrites.length > 0 && report.deletedSegments > 0, JSON.stringify(report));

    const start = events[0]!;
    assert.equal(start.type, 'pass-start');
    assert.ok(start.type === 'pass-start' && start.mode === 'rewrite' && !start.background && start.queuedSegments >= report.rewrites.length);
    assert.ok(start.type === 'pass-start' && start.queuedStaleBytes > 0);
    const end = events.at(-1)!;
    assert.ok(end.type === 'pass-end');
    assert.equal(end.pass, start.pass);
    assert.equal(end.rewrittenSegments, report.rewrites.length);
    assert.equal(end.copiedBytes, report.copiedBytes);
    assert.equal(end.deletedSegments, report.deletedSegments);
    assert.equal(end.reclaimedBytes, report.reclaimedBytes);
    assert.equal(end.stoppedBy, report.stoppedBy);
    assert.equal(end.error, null);
    assert.ok(end.elapsedMs >= 0 && end.at >= start.at);

    const rewritten = events.filter((e) => e.type === 'segment-rewritten');
    assert.deepEqual(rewritten.map((e) => e.segment), report.rewrites.map((r) => r.segment));
    assert.deepEqual(rewritten.map((e) => e.swapped), report.rewrites.map((r) => r.swapped));
    assert.equal(rewritten.reduce((n, e) => n + e.copiedBytes, 0), report.copiedBytes);
    for (const e of rewritten) assert.equal(e.pass, start.pass);

    // Every deletion of the pass is reported once, with the bytes the pass reclaimed.
    const deleted = events.filter((e) => e.type === 'segment-deleted');
    assert.equal(deleted.length, report.deletedSegments);
    assert.equal(new Set(deleted.map((e) => e.segment)).size, deleted.length);
    assert.equal(deleted.reduce((n, e) => n + e.bytes, 0), report.reclaimedBytes);
    for (const e of deleted) assert.equal(db.valueLog!.info(e.segment), undefined, `segment ${e.segment} is gone`);
    const stats = db.stats().maintenance!;
    assert.equal(stats.gc.reclaimedBytes, db.stats().valueLog!.gc.reclaimedBytes);
    assert.ok(stats.gc.deletedSegments >= deleted.length);
    assert.equal(stats.listenerErrors, 0);

    assert.deepEqual(new Map(strings(db.iterator())), model);
    assert.ok(db.verifyLedger({ readValues: true }).ok);
    await db.close();
  });

  test('off() and the returned unsubscribe stop delivery; a throwing listener is counted, maintenance unaffected', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { valueThreshold: 16, valueLogSegmentBytes: 4096, memtableBytes: 16 * 1024, disableAutoCompaction: true });
    const model = new Map<string, string>();
    await churn(db, model);
    await db.compact();
    const seen: string[] = [];
    const listener = (e: MaintenanceEvent): void => void seen.push(e.type);
    const unsubscribe = db.on('pass-start', listener);
    db.on('pass-end', listener);
    db.on('pass-start', () => {
      throw new Error('listener bug');
    });
    const report = await db.maintain({ mode: 'rewrite' });
    assert.deepEqual(seen, ['pass-start', 'pass-end']);
    assert.equal(db.stats().maintenance!.listenerErrors, 1);
    assert.ok(report.rewrites.length > 0, 'the pass ran in full despite the listener');
    unsubscribe();
    assert.equal(db.off('pass-end', listener), true);
    assert.equal(db.off('pass-end', listener), false);
    await db.maintain({ mode: 'gc' });
    assert.deepEqual(seen, ['pass-start', 'pass-end']);
    assert.deepEqual(new Map(strings(db.iterator())), model);

    assert.throws(() => db.on('nope' as 'pass-end', listener), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => db.on('pass-end', 42 as unknown as typeof listener), { code: 'INVALID_ARGUMENT' });
    await db.close();
  });

  test('background passes are marked background and reclaim what churn left', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { valueThreshold: 32, valueLogSegmentBytes: 8192, memtableBytes: 8192, l0CompactionTrigger: 2, targetFileBytes: 4096, baseLevelBytes: 8192 });
    const events = record(db);
    const model = new Map<string, string>();
    await churn(db, model);
    for (let waited = 0; waited < 8000 && !events.some((e) => e.type === 'pass-end' && e.rewrittenSegments > 0); waited += 250) await sleep(250);
    const passes = events.filter((e) => e.type === 'pass-end');
    assert.ok(passes.length > 0, 'a background pass ran');
    for (const e of passes) assert.ok(e.type === 'pass-end' && e.background);
    assert.ok(events.some((e) => e.type === 'segment-rewritten'));
    assert.ok(events.some((e) => e.type === 'segment-deleted'));
    assert.equal(db.stats().maintenance!.background!.passes, passes.length);
    assert.deepEqual(new Map(strings(db.iterator())), model);
    await db.close();
  });

  test('the controller reports its backoff after a pass that reclaimed nothing', async () => {
    const backoffs: { delayMs: number; reason: string }[] = [];
    const report: MaintenanceReport = {
      mode: 'rewrite', plannedSegments: 1, rewrites: [], copiedBytes: 0, deletedSegments: 0, reclaimedBytes: 0, stoppedBy: 'done', elapsedMs: 1,
    };
    let fail = false;
    const controller = new MaintenanceController(
      {
        writeCount: () => 0,
        debt: () => ({ queuedSegments: 1, stale: 60, total: 100 }),
        maintain: async () => {
          if (fail) throw new Error('disk on fire');
          return report;
        },
        backoff: (delayMs, reason) => void backoffs.push({ delayMs, reason }),
      },
      { bytesPerSecond: 1 << 20, quietMs: 0, maxBackoffMs: 1000 },
    );
    controller.kick();
    await sleep(10);
    assert.deepEqual(backoffs, [{ delayMs: 1000, reason: 'nothing-reclaimed' }]);
    assert.equal(controller.stats().backoffMs, 1000);
    await sleep(1050);
    fail = true;
    controller.kick();
    await sleep(10);
    assert.deepEqual(backoffs[1], { delayMs: 1000, reason: 'error' });
    await controller.close();
  });
});
