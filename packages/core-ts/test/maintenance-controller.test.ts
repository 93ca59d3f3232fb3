/**
 * The background maintenance controller: quiet-window detection, pressure overriding it, the
 * token-bucket budget, backoff after passes that reclaim nothing — and, end to end, a database
 * whose churn leaves stale segments gets its disk back without anyone calling `maintain`.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { open } from '../src/index.js';
import { MaintenanceController, type ControllerHost } from '../src/maintenance/controller.js';
import type { MaintainOptions, MaintenanceReport } from '../src/maintenance/maintain.js';
import { VLOG_DIR } from '../src/vlog/index.js';
import { strings, tempDir } from './db-helpers.js';

function fakeHost(debt: { queuedSegments: number; stale: number; total: number }, reclaim: number) {
  const calls: MaintainOptions[] = [];
  let writes = 0;
  const host: ControllerHost & { calls: MaintainOptions[]; write(): void } = {
    calls,
    write: () => void writes++,
    writeCount: () => writes,
    debt: () => debt,
    maintain: async (options) => {
      calls.push(options);
      const report: MaintenanceReport = {
        mode: 'rewrite', plannedSegments: 1, rewrites: [], copiedBytes: 100, deletedSegments: reclaim > 0 ? 1 : 0,
        reclaimedBytes: reclaim, stoppedBy: 'done', elapsedMs: 1,
      };
      return report;
    },
  };
  return host;
}

describe('maintenance controller', () => {
  test('waits for a quiet window unless the debt is high', async () => {
    const host = fakeHost({ queuedSegments: 2, stale: 10, total: 100 }, 1000);
    const controller = new MaintenanceController(host, { bytesPerSecond: 1 << 20, quietMs: 50 });
    host.write();
    controller.kick();
    assert.equal(host.calls.length, 0, 'writes just happened');
    host.write();
    controller.kick();
    assert.equal(controller.stats().skippedBusy, 2);
    await sleep(70);
    controller.kick();
    await controller.close();
    assert.equal(host.calls.length, 1, 'quiet: a pass ran');
    const budget = host.calls[0]!.budget!;
    assert.ok(budget.bytes! > 0 && budget.bytes! <= 1 << 20 && budget.segments! > 0 && budget.ms! > 0);

    const pressured = fakeHost({ queuedSegments: 2, stale: 50, total: 100 }, 1000);
    const busy = new MaintenanceController(pressured, { bytesPerSecond: 1 << 20, quietMs: 60_000 });
    pressured.write();
    busy.kick();
    await busy.close();
    assert.equal(pressured.calls.length, 1, 'high debt does not wait for quiet');
  });

  test('nothing queued, nothing runs; a pass that reclaims nothing backs off', async () => {
    const idle = fakeHost({ queuedSegments: 0, stale: 90, total: 100 }, 0);
    const c1 = new MaintenanceController(idle, { bytesPerSecond: 1 << 20, quietMs: 0 });
    c1.kick();
    await c1.close();
    assert.equal(idle.calls.length, 0);

    const futile = fakeHost({ queuedSegments: 3, stale: 90, total: 100 }, 0);
    const c2 = new MaintenanceController(futile, { bytesPerSecond: 1 << 20, quietMs: 0 });
    c2.kick();
    await sleep(5);
    c2.kick();
    await sleep(5);
    c2.kick();
    await c2.close();
    assert.equal(futile.calls.length, 1, 'backing off after a pass that reclaimed nothing');
    assert.ok(c2.stats().backoffMs >= 1000);
  });
});

describe('background maintenance in a database', () => {
  test('churn leaves stale segments; the controller reclaims them once writes go quiet', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { valueThreshold: 32, valueLogSegmentBytes: 8192, memtableBytes: 8192, l0CompactionTrigger: 2, targetFileBytes: 4096, baseLevelBytes: 8192 });
    const model = new Map<string, string>();
    let x = 1;
    const noise = (): string => {
      let out = '';
      for (let i = 0; i < 8; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        out += x.toString(16).padStart(8, '0');
      }
      return out;
    };
    // Long-lived keys mixed into every segment with churning ones: segments end partly stale.
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 100; i++) {
        const key = round === 0 || i % 4 !== 0 ? `churn${i}` : `keep${round}-${i}`;
        const value = `${round}:${noise()}`;
        await db.put(key, value);
        model.set(key, value);
      }
    }
    const vlogBytes = (): number => readdirSync(join(dir, VLOG_DIR)).reduce((n, name) => n + statSync(join(dir, VLOG_DIR, name)).size, 0);
    // Quiet now: wait until the controller has emptied the rewrite queue (1 s quiet window, 1 s ticks).
    for (let waited = 0; waited < 8000 && (db.stats().maintenance!.background!.passes === 0 || db.stats().maintenance!.queue.segments > 0); waited += 250) await sleep(250);
    const stats = db.stats().maintenance!;
    assert.ok(stats.background!.passes > 0, JSON.stringify(stats));
    assert.ok(stats.gc.deletedSegments > 0 && stats.rewrittenSegments > 0, JSON.stringify(stats));
    assert.equal(stats.queue.segments, 0);
    // What is left on disk: the live data, plus at most the lanes' open segments and some slack.
    const ledger = db.stats().valueLog!.ledger;
    const lanes = db.stats().valueLog!.lanes.length;
    assert.ok(vlogBytes() <= ledger.live * 1.5 + lanes * 8192, `${vlogBytes()} bytes on disk for ${ledger.live} live`);
    assert.deepEqual(new Map(strings(db.iterator())), model);
    const report = db.verifyLedger({ readValues: true });
    assert.ok(report.ok, report.problems.join('; '));
    await db.close();
  });
});
