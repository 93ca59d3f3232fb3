/**
 * Write pacing on value-log debt: the pacer alone on a fake clock (soft-band delays in proportion
 * to bytes and depth, a write held at the hard line until relief lowers the debt, the escapes:
 * nothing reclaimable, relief without progress, the stall cap), and in a database: a write held at
 * the hard line stays pending while the maintenance pass is held and goes on once the pass
 * reclaims; a snapshot pinning every overwritten value never deadlocks writers; live-only data is
 * never paced. No assertion depends on timing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { open } from '../src/index.js';
import { pressureFor, WritePacer, writeBytes, type PacerHost, type PacingDebt } from '../src/maintenance/pacer.js';
import { noiseHex, rejectsCode, tempDir } from './db-helpers.js';

const MiB = 1024 * 1024;

/** A pacer host on a fake clock: sleeps resolve when the test advances time past them. */
function fakeHost(initial: PacingDebt) {
  let clock = 0;
  let debt = initial;
  const sleeps: { until: number; ms: number; resolve: () => void }[] = [];
  const reliefs: ((progressed: boolean) => void)[] = [];
  const host: PacerHost = {
    now: () => clock,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        const entry = { until: clock + ms, ms, resolve };
        sleeps.push(entry);
        signal?.addEventListener('abort', () => {
          sleeps.splice(sleeps.indexOf(entry), 1);
          resolve();
        });
      }),
    debt: () => debt,
    relieve: () => new Promise<boolean>((resolve) => reliefs.push(resolve)),
  };
  return {
    host,
    sleeps,
    reliefs,
    setDebt(next: PacingDebt) {
      debt = next;
    },
    async advance(ms: number) {
      clock += ms;
      for (const entry of [...sleeps]) {
        if (entry.until <= clock) {
          sleeps.splice(sleeps.indexOf(entry), 1);
          entry.resolve();
        }
      }
      await turn();
    },
  };
}

/** `stale` over `live` bytes, reclaimable unless said otherwise. */
function debtOf(stale: number, live: number, reclaimable = true): PacingDebt {
  return { stale, total: stale + live, reclaimable };
}

function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  return { promise, settled: () => done };
}

describe('write pacer', () => {
  const options = { softRatio: 0.2, hardRatio: 0.4, maxStallMs: 10_000, msPerMiB: 40, refreshMs: 0 };

  test('below the soft line writes pass untouched', async () => {
    const fake = fakeHost(debtOf(10, 100));
    const pacer = new WritePacer(fake.host, options);
    assert.equal(pacer.level(), 'none');
    assert.equal(pacer.paces(MiB), false);
    await pacer.admit(MiB);
    assert.equal(fake.sleeps.length, 0);
    assert.deepEqual({ ...pacer.stats(), debtRatio: 0 }, { slowdowns: 0, stops: 0, stallMs: 0, escapes: 0, timeouts: 0, debtRatio: 0 });
  });

  test('in the soft band a write sleeps in proportion to its bytes and to the depth', async () => {
    const fake = fakeHost(debtOf(25, 100)); // a quarter into the band
    let kicks = 0;
    fake.host.kick = () => void kicks++;
    const pacer = new WritePacer(fake.host, options);
    assert.equal(pacer.level(), 'soft');
    const shallow = tracked(pacer.admit(2 * MiB));
    await turn();
    assert.equal(fake.sleeps.length, 1);
    assert.ok(Math.abs(fake.sleeps[0]!.ms - 0.25 * 2 * 40) < 1e-9);
    assert.equal(shallow.settled(), false, 'sleeping');
    await fake.advance(20);
    await shallow.promise;

    fake.setDebt(debtOf(35, 100)); // three quarters in
    const deep = tracked(pacer.admit(2 * MiB));
    await turn();
    assert.ok(Math.abs(fake.sleeps[0]!.ms - 0.75 * 2 * 40) < 1e-9);
    await fake.advance(60);
    await deep.promise;
    assert.equal(kicks, 2, 'each sleep lets maintenance start a pass');
    const stats = pacer.stats();
    assert.equal(stats.slowdowns, 2);
    assert.equal(stats.stallMs, 80);
    assert.equal(stats.stops, 0);
  });

  test('small writes owe their delay and pay it together', async () => {
    const fake = fakeHost(debtOf(30, 100)); // half into the band: 20 ms per MiB
    const pacer = new WritePacer(fake.host, options);
    const small = 8 * 1024; // 0.156 ms each
    let paced = 0;
    for (let i = 0; i < 6; i++) {
      if (pacer.paces(small)) paced++;
      await pacer.admit(small); // owed, no sleep
    }
    assert.equal(paced, 0);
    assert.equal(fake.sleeps.length, 0);
    assert.equal(pacer.paces(small), true, 'the seventh makes a millisecond');
    const write = tracked(pacer.admit(small));
    await turn();
    assert.equal(fake.sleeps.length, 1);
    assert.ok(Math.abs(fake.sleeps[0]!.ms - (7 * small * 20) / MiB) < 1e-9);
    await fake.advance(2);
    await write.promise;
    assert.equal(pacer.stats().slowdowns, 1);
  });

  test('at the hard line a write waits for relief, and goes on once the debt is below it', async () => {
    const fake = fakeHost(debtOf(50, 100));
    const pacer = new WritePacer(fake.host, options);
    assert.equal(pacer.level(), 'hard');
    assert.equal(pacer.paces(1), true);
    const write = tracked(pacer.admit(1000));
    await turn();
    assert.equal(fake.reliefs.length, 1, 'relief asked for');
    assert.equal(write.settled(), false);
    // Relief made progress but the debt is still over the line: the write asks again.
    fake.reliefs.shift()!(true);
    await turn();
    await turn();
    assert.equal(fake.reliefs.length, 1);
    assert.equal(write.settled(), false);
    await fake.advance(300);
    fake.setDebt(debtOf(30, 100));
    fake.reliefs.shift()!(true);
    await write.promise;
    const stats = pacer.stats();
    assert.equal(stats.stops, 1);
    assert.equal(stats.escapes, 0);
    assert.equal(stats.timeouts, 0);
    assert.equal(stats.stallMs, 300);
    assert.equal(fake.sleeps.length, 0, 'the stall timer is cancelled');
  });

  test('relief without progress lets the write through (escape)', async () => {
    const fake = fakeHost(debtOf(90, 100));
    const pacer = new WritePacer(fake.host, options);
    const write = tracked(pacer.admit(1000));
    await turn();
    fake.reliefs.shift()!(false);
    await write.promise;
    assert.equal(pacer.stats().escapes, 1);
    assert.equal(pacer.stats().stops, 1);
  });

  test('debt maintenance cannot act on is never paced', async () => {
    const fake = fakeHost(debtOf(500, 100, false));
    const pacer = new WritePacer(fake.host, options);
    assert.equal(pacer.level(), 'none');
    await pacer.admit(10 * MiB);
    assert.equal(fake.reliefs.length, 0);
    assert.equal(pacer.stats().stops, 0);
  });

  test('debt under minDebtBytes is never paced, whatever the ratio', async () => {
    // 900 stale bytes over 100 live: nine times the live data, but under the floor.
    const fake = fakeHost(debtOf(900, 100));
    const pacer = new WritePacer(fake.host, { ...options, minDebtBytes: 1000 });
    assert.equal(pacer.level(), 'none');
    assert.equal(pacer.paces(10 * MiB), false);
    await pacer.admit(10 * MiB);
    assert.equal(fake.reliefs.length, 0);
    assert.equal(pacer.stats().debtRatio, 9, 'the ratio is still weighed and reported');
    // At the floor the ratio decides again.
    fake.setDebt(debtOf(1000, 100));
    pacer.invalidate();
    assert.equal(pacer.level(), 'hard');
    fake.setDebt(debtOf(1000, 4000)); // 0.25: in the soft band
    pacer.invalidate();
    assert.equal(pacer.level(), 'soft');
  });

  test('no write waits longer than maxStallMs', async () => {
    const fake = fakeHost(debtOf(90, 100));
    const pacer = new WritePacer(fake.host, { ...options, maxStallMs: 500 });
    const write = tracked(pacer.admit(1000));
    await turn();
    assert.equal(fake.reliefs.length, 1);
    await fake.advance(499);
    assert.equal(write.settled(), false);
    await fake.advance(1);
    await write.promise;
    assert.equal(pacer.stats().timeouts, 1);
    assert.equal(pacer.stats().escapes, 0);
    // A soft delay is capped the same way.
    fake.setDebt(debtOf(39, 100));
    const soft = tracked(pacer.admit(1000 * MiB));
    await turn();
    assert.equal(fake.sleeps[0]!.ms, 500);
    await fake.advance(500);
    await soft.promise;
  });

  test('debt is weighed at most every refreshMs, and at once when invalidated', async () => {
    const fake = fakeHost(debtOf(10, 100));
    let weighed = 0;
    const debt = fake.host.debt;
    fake.host.debt = () => (weighed++, debt());
    const pacer = new WritePacer(fake.host, { ...options, refreshMs: 100 });
    pacer.level();
    pacer.level();
    assert.equal(weighed, 1);
    fake.setDebt(debtOf(90, 100));
    assert.equal(pacer.level(), 'none', 'not weighed again yet');
    await fake.advance(100);
    assert.equal(pacer.level(), 'hard');
    assert.equal(weighed, 2);
    pacer.invalidate();
    pacer.level();
    assert.equal(weighed, 3);
  });

  test('the controller comes under pressure below the soft line', () => {
    assert.deepEqual(pressureFor({ softRatio: Infinity }), {});
    const { pressureRatio } = pressureFor({ softRatio: 0.2 });
    // stale ÷ total at the line ↔ stale ÷ live = 0.15
    assert.ok(Math.abs(pressureRatio! / (1 - pressureRatio!) - 0.15) < 1e-12);
  });

  test('writeBytes counts keys and values', () => {
    assert.equal(writeBytes([{ key: new Uint8Array(3), value: new Uint8Array(10) }, { key: new Uint8Array(2), value: new Uint8Array(0) }]), 15);
  });
});

describe('write pacing in a database', () => {
  const small = { valueThreshold: 32, valueLogSegmentBytes: 16 * 1024, memtableBytes: 16 * 1024, l0CompactionTrigger: 2, targetFileBytes: 8192, baseLevelBytes: 32 * 1024 };

  test('options are validated', async (t) => {
    const dir = tempDir(t);
    await rejectsCode(() => open(dir, { valueLogDebtSoftRatio: -1 }), 'INVALID_ARGUMENT');
    await rejectsCode(() => open(dir, { valueLogDebtSoftRatio: 0.5, valueLogDebtHardRatio: 0.4 }), 'INVALID_ARGUMENT');
    await rejectsCode(() => open(dir, { valueLogDebtHardRatio: Number.NaN }), 'INVALID_ARGUMENT');
    await rejectsCode(() => open(dir, { valueLogDebtMaxStallMs: 1.5 }), 'INVALID_ARGUMENT');
    const db = await open(dir, { valueLogDebtSoftRatio: Infinity });
    assert.equal(db.stats().stalls.valueLog, null, 'pacing off');
    await db.close();
    const paced = await open(dir, { valueLogDebtSoftRatio: 0.9 });
    assert.equal(paced.stats().stalls.valueLog!.stops, 0);
    await paced.close();
    const manual = await open(dir, { disableAutoCompaction: true });
    assert.equal(manual.stats().stalls.valueLog, null, 'no background maintenance, no pacing');
    await manual.close();
  });

  test('a write at the hard line stays pending while the pass is held, and goes on once it reclaims', async (t) => {
    const dir = tempDir(t);
    // 4 KiB segments: the pacing floor (two segments) sits under the hard line of ~25 KiB of live data.
    const db = await open(dir, { ...small, valueLogSegmentBytes: 4096, valueLogDebtSoftRatio: 0.5, valueLogDebtHardRatio: 0.5, valueLogDebtMaxStallMs: 3_600_000 });
    const keys = 300;
    const model = new Map<string, string>();
    for (let i = 0; i < keys; i++) {
      const value = noiseHex(i + 1, 8);
      await db.put(`k${i}`, value);
      model.set(`k${i}`, value);
    }
    // Every maintenance pass stops after its first copy until the gate opens.
    let open_!: () => void;
    const gate = new Promise<void>((resolve) => (open_ = resolve));
    let held = 0;
    db.maintenanceStepHook = async (step) => {
      if (step === 'copy') {
        held++;
        await gate;
      }
    };
    // Overwrite until a write is held at the hard line.
    let waiting: { promise: Promise<void>; settled: () => boolean } | null = null;
    for (let round = 1; round <= 20 && waiting === null; round++) {
      for (let i = 0; i < keys; i++) {
        const value = noiseHex(round * 1000 + i, 8);
        const stops = db.stats().stalls.valueLog!.stops;
        // Every fourth write also adds a key that is never overwritten, so every segment keeps live
        // records: its stale bytes can only be reclaimed by a rewrite's copy, never by GC alone.
        const ops: { type: 'put'; key: string; value: string }[] = [{ type: 'put', key: `k${i}`, value }];
        if (i % 4 === 0) ops.push({ type: 'put', key: `a${round}-${i}`, value: noiseHex(round * 1000 + i + 500, 8) });
        const write = tracked(db.batch(ops));
        for (const op of ops) model.set(op.key, op.value);
        // Held at the hard line with the pass it waits for stopped at the gate (a relief that only
        // flushes, with nothing to rewrite, lets the write go on: then the next write tries).
        const holding = (): boolean => db.stats().stalls.valueLog!.stops > stops && held > 0;
        while (!write.settled() && !holding()) await turn();
        if (!write.settled()) {
          waiting = write;
          break;
        }
        await write.promise;
      }
    }
    assert.ok(waiting !== null, 'a write reached the hard line');
    // The held write waits for the pass, which waits for the gate.
    for (let i = 0; i < 50; i++) await turn();
    assert.equal(waiting.settled(), false, 'pending while no pass can reclaim');
    const during = db.stats().stalls.valueLog!;
    assert.ok(during.debtRatio >= 0.5, JSON.stringify(during));
    db.maintenanceStepHook = null;
    open_();
    await waiting.promise;
    const after = db.stats();
    assert.equal(after.stalls.valueLog!.escapes, 0, JSON.stringify(after.stalls));
    assert.equal(after.stalls.valueLog!.timeouts, 0);
    assert.ok(after.maintenance!.background!.reliefs > 0);
    assert.ok(after.maintenance!.rewrittenSegments > 0);
    const entries = new Map<string, string>();
    for (const [k, v] of db.iterator()) entries.set(Buffer.from(k).toString(), Buffer.from(v).toString());
    assert.deepEqual(entries, model);
    const report = db.verifyLedger({ readValues: true });
    assert.ok(report.ok, report.problems.join('; '));
    await db.close();
  });

  test('a snapshot pinning every overwritten value never deadlocks writers', async (t) => {
    const dir = tempDir(t);
    // A stall cap far beyond any test timeout: only the escape can let writes through.
    const db = await open(dir, { ...small, valueLogDebtSoftRatio: 0.1, valueLogDebtHardRatio: 0.1, valueLogDebtMaxStallMs: 3_600_000 });
    const keys = 200;
    for (let i = 0; i < keys; i++) await db.put(`k${i}`, noiseHex(i + 1, 8));
    const snapshot = db.snapshot();
    for (let round = 1; round <= 4; round++) {
      for (let i = 0; i < keys; i++) await db.put(`k${i}`, noiseHex(round * 1000 + i, 8));
    }
    const stats = db.stats();
    // The overwritten values are all still on disk for the snapshot: the debt stays over the line.
    assert.ok(stats.stalls.valueLog!.debtRatio > 0.1 || stats.valueLog!.ledger.stale > stats.valueLog!.ledger.live, JSON.stringify(stats.stalls));
    for (let i = 0; i < keys; i += 37) {
      assert.equal(Buffer.from(db.getSync(`k${i}`, { snapshot })!).toString(), noiseHex(i + 1, 8));
      assert.equal(Buffer.from(db.getSync(`k${i}`)!).toString(), noiseHex(4000 + i, 8));
    }
    snapshot.release();
    await db.close();
  });

  test('a small database whose debt is many times its live data but under two segments is never paced', async (t) => {
    const dir = tempDir(t);
    // 64 KiB segments: the floor is 128 KiB; 20 keys of ~160 B values are ~4 KiB live.
    const db = await open(dir, { ...small, valueLogSegmentBytes: 64 * 1024, valueLogDebtSoftRatio: 0.1, valueLogDebtHardRatio: 0.1, valueLogDebtMaxStallMs: 3_600_000 });
    const keys = 20;
    let maxRatio = 0;
    for (let round = 0; round < 25; round++) {
      for (let i = 0; i < keys; i++) await db.put(`k${i}`, noiseHex(round * 1000 + i + 1, 20));
      maxRatio = Math.max(maxRatio, db.stats().stalls.valueLog!.debtRatio);
    }
    const stats = db.stats();
    assert.ok(maxRatio > 1, `the debt ratio went far over the hard line: ${maxRatio}`);
    assert.ok(stats.valueLog!.ledger.stale + stats.valueLog!.ledger.live < 128 * 1024, JSON.stringify(stats.valueLog!.ledger));
    const paced = stats.stalls.valueLog!;
    assert.equal(paced.stops + paced.slowdowns, 0, JSON.stringify(paced));
    for (let i = 0; i < keys; i++) assert.equal(Buffer.from(db.getSync(`k${i}`)!).toString(), noiseHex(24_000 + i + 1, 20));
    await db.close();
  });

  test('live data alone is never paced', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { ...small, valueLogDebtSoftRatio: 0, valueLogDebtHardRatio: 0, valueLogDebtMaxStallMs: 3_600_000 });
    for (let i = 0; i < 600; i++) await db.put(`k${i}`, noiseHex(i + 1, 8));
    const paced = db.stats().stalls.valueLog!;
    assert.equal(paced.stops + paced.slowdowns, 0, JSON.stringify(paced));
    await db.close();
  });
});
