/**
 * The maintenance engine: rewrites of mostly-stale segments into the cold lane (compare-and-set, a
 * newer write always wins, no record referenced twice), budgets, readers pinning old segments,
 * checkpoints untouched, a crash after every rewrite step, random histories with maintenance mixed
 * in, and the shape of the value-log directory.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { open, type Db } from '../src/index.js';
import { FaultVfs } from '../src/vfs/index.js';
import { COLD_LANE, parseSegmentFileName, VLOG_DIR } from '../src/vlog/index.js';
import { checkModelAndLedger as checkModel, noiseHex, rng, s, strings, tempDir } from './db-helpers.js';

const options = { valueThreshold: 16, valueLogSegmentBytes: 4096, memtableBytes: 16 * 1024, disableAutoCompaction: true } as const;

/** An incompressible value. */
function valueOf(tag: string, n: number): string {
  return `${tag}:${n}:${noiseHex((n * 2654435761) >>> 0 || 7, 12)}`;
}

/** Long-lived keys `keep*` interleaved with keys `churn*` overwritten `rounds` times: segments end half stale. */
async function mixedHistory(db: Db, rounds = 3): Promise<Map<string, string>> {
  const model = new Map<string, string>();
  for (let i = 0; i < 60; i++) {
    for (const [key, value] of [
      [`keep${i}`, valueOf('keep', i)],
      [`churn${i}`, valueOf('churn0', i)],
    ] as const) {
      await db.put(key, value);
      model.set(key, value);
    }
  }
  for (let round = 1; round <= rounds; round++) {
    for (let i = 0; i < 60; i++) {
      const value = valueOf(`churn${round}`, i);
      await db.put(`churn${i}`, value);
      model.set(`churn${i}`, value);
    }
  }
  await db.compact();
  return model;
}

function vlogBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(join(dir, VLOG_DIR))) total += readFileSync(join(dir, VLOG_DIR, name)).length;
  return total;
}

describe('rewrite', () => {
  test('mostly-stale segments move their live records to the cold lane, then go', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    const model = await mixedHistory(db);
    const before = vlogBytes(dir);
    const queued = db.stats().maintenance!.queue;
    assert.ok(queued.segments > 0, 'the ledger shows half-stale segments');
    const report = await db.maintain({ mode: 'rewrite' });
    assert.ok(report.rewrites.length >= queued.segments);
    assert.ok(report.rewrites.every((r) => r.swapped === r.copiedRecords), 'nothing raced the rewrite');
    assert.ok(report.deletedSegments > 0);
    checkModel(db, model);
    const after = vlogBytes(dir);
    assert.ok(after < before * 0.8, `value log ${before} → ${after} bytes`);
    assert.ok(readdirSync(join(dir, VLOG_DIR)).some((name) => parseSegmentFileName(name)!.lane === COLD_LANE));
    assert.equal(db.stats().maintenance!.queue.segments, 0);
    await db.close();
    const again = await open(dir, options);
    checkModel(again, model);
    await again.close();
  });

  test('full maintenance reaches the floor; budgets stop a pass early and the next resumes', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    const model = await mixedHistory(db);
    const first = await db.maintain({ mode: 'rewrite', budget: { segments: 1 } });
    assert.equal(first.rewrites.length, 1);
    assert.equal(first.stoppedBy, 'segments');
    const bytesBudget = await db.maintain({ mode: 'rewrite', budget: { bytes: 1 } });
    assert.equal(bytesBudget.rewrites.length, 1);
    assert.equal(bytesBudget.stoppedBy, 'bytes');
    const progress: string[] = [];
    const full = await db.maintain({ mode: 'full', onProgress: (p) => progress.push(p.phase) });
    assert.equal(full.stoppedBy, 'done');
    assert.deepEqual([progress[0], progress.at(-1)], ['compact', 'done']);
    checkModel(db, model);
    const ledger = db.stats().valueLog!.ledger;
    // The floor: every sealed segment fully live; only active segments may hold stale bytes.
    for (const segment of db.verifyLedger().segments) {
      const info = db.stats().valueLog!.lanes.find((l) => l.active === segment.segment);
      if (info === undefined) assert.equal(segment.stale, 0, `segment ${segment.segment}`);
    }
    assert.ok(ledger.live > 0);
    const controller = new AbortController();
    controller.abort();
    const aborted = await db.maintain({ mode: 'rewrite', signal: controller.signal, minStaleRatio: 0 });
    assert.equal(aborted.rewrites.length, 0);
    assert.throws(() => db.maintain({ mode: 'sideways' as 'gc' }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => db.maintain({ budget: { bytes: -1 } }), { code: 'INVALID_ARGUMENT' });
    await db.close();
  });

  test('a write landing during a rewrite wins over the swap; no record is referenced twice', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    const model = await mixedHistory(db);
    const racing = new Map<string, string>();
    let calls = 0;
    db.maintenanceStepHook = async (step) => {
      if (step !== 'copy') return;
      // Between a segment's copy and its swap: overwrite (or delete) a fresh share of the keys.
      const share = calls++ % 7;
      for (let i = share; i < 60; i += 7) {
        for (const key of [`keep${i}`, `churn${i}`]) {
          if (i % 2 === 0) {
            const value = valueOf(`race${calls}`, i);
            await db.put(key, value);
            racing.set(key, value);
          } else {
            await db.del(key);
            racing.set(key, '');
          }
        }
      }
    };
    const report = await db.maintain({ mode: 'rewrite' });
    db.maintenanceStepHook = null;
    const copied = report.rewrites.reduce((n, r) => n + r.copiedRecords, 0);
    const swapped = report.rewrites.reduce((n, r) => n + r.swapped, 0);
    assert.ok(swapped < copied, `${swapped} of ${copied} swapped`);
    for (const [key, value] of racing) {
      if (value === '') model.delete(key);
      else model.set(key, value);
    }
    checkModel(db, model);
    await db.close();
  });

  test('a snapshot and an iterator taken before rewrite and GC keep reading; their segments go after release', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    const model = await mixedHistory(db);
    const snapshot = db.snapshot();
    const iterator = db.iterator();
    const firstEntry = iterator.next();
    // The segments the readers' version references (others may go at once: nothing reaches them).
    const lanes = new Map(db.valueLog!.segmentInfos().map((i) => [i.segment, i.lane]));
    const beforeFiles = db
      .verifyLedger()
      .segments.filter((seg) => seg.live > 0)
      .map((seg) => `${String(lanes.get(seg.segment)).padStart(3, '0')}-${String(seg.segment).padStart(6, '0')}.vlog`);
    assert.ok(beforeFiles.length > 0);
    await db.maintain({ mode: 'rewrite' });
    assert.ok(db.stats().maintenance!.swappedRecords > 0);
    for (const name of beforeFiles) assert.ok(existsSync(join(dir, VLOG_DIR, name)), `${name} went while readers held it`);
    for (const [key, value] of model) assert.equal(s(db.getSync(key, { snapshot })), value);
    const rest = strings(iterator);
    assert.deepEqual(new Map([[s((firstEntry.value as [Uint8Array, Uint8Array])[0])!, s((firstEntry.value as [Uint8Array, Uint8Array])[1])!], ...rest]), model);
    snapshot.release();
    // Shadowed versions kept for the snapshot go when compaction next passes over them.
    await db.maintain({ mode: 'full' });
    const gone = beforeFiles.filter((name) => !existsSync(join(dir, VLOG_DIR, name)));
    assert.ok(gone.length > 0, 'old segments were deleted after release');
    checkModel(db, model);
    await db.close();
  });

  test("a checkpoint's files are byte-identical before and after maintenance", async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    const model = await mixedHistory(db);
    const checkpoint = join(tempDir(t), 'cp');
    await db.checkpoint(checkpoint);
    const snapshotOf = (): Map<string, string> => {
      const files = new Map<string, string>();
      for (const name of readdirSync(checkpoint, { recursive: true }) as string[]) {
        const path = join(checkpoint, name);
        try {
          files.set(name, readFileSync(path).toString('hex'));
        } catch {
          // a directory
        }
      }
      return files;
    };
    const before = snapshotOf();
    // Maintenance alone (rewrites into the cold lane, compactions, GC) leaves every file as it was.
    await db.maintain({ mode: 'full' });
    await db.maintain({ mode: 'full' });
    assert.deepEqual(snapshotOf(), before);
    // New writes may append to a segment the checkpoint shares, past the length it recorded: the
    // bytes it trusts never change.
    for (let i = 0; i < 30; i++) await db.put(`late${i}`, valueOf('late', i));
    await db.maintain({ mode: 'full' });
    const after = snapshotOf();
    assert.deepEqual([...after.keys()], [...before.keys()]);
    for (const [name, hex] of before) {
      if (name.startsWith(VLOG_DIR)) assert.equal(after.get(name)!.slice(0, hex.length), hex, name);
      else assert.equal(after.get(name), hex, name);
    }
    const cp = await open(checkpoint, options);
    checkModel(cp, model);
    await cp.close();
    await db.close();
  });
});

describe('a crash at every rewrite step', () => {
  for (const step of ['copy', 'swap', 'compact', 'gc'] as const) {
    test(`after ${step}: nothing lost, the ledger exact, and the next pass finishes`, async () => {
      let vfs = new FaultVfs();
      const db = await open('/db', { ...options, vfs });
      const model = await mixedHistory(db);
      let crashed: FaultVfs | null = null;
      db.maintenanceStepHook = (at) => {
        if (at === step && crashed === null) {
          crashed = vfs.crash({ seed: step.length });
          throw new Error(`crash after ${step}`);
        }
      };
      if (step === 'gc') {
        // Between the ledger's drop and the unlink: the unlink never happens.
        vfs.inject({ kind: 'unlink', path: '.vlog', times: Infinity });
        db.maintenanceStepHook = null;
        await assert.rejects(db.maintain({ mode: 'rewrite' }));
        crashed = vfs.crash({ seed: 9 });
      } else {
        await assert.rejects(db.maintain({ mode: 'rewrite' }), /crash after/);
      }
      await db.close().catch(() => {});
      vfs = crashed!;
      const reopened = await open('/db', { ...options, vfs });
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

describe('maintenance in random histories', () => {
  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: maintenance mixed into writes, snapshots, reopens and crashes matches the model`, async () => {
      const random = rng(seed);
      let vfs = new FaultVfs();
      const o = { valueThreshold: 24, valueLogSegmentBytes: 4096, memtableBytes: 4096, l0CompactionTrigger: 2, targetFileBytes: 2048, baseLevelBytes: 4096 };
      let db = await open('/db', { ...o, vfs });
      const model = new Map<string, string>();
      const snaps: { snap: ReturnType<Db['snapshot']>; model: Map<string, string> }[] = [];
      let retiredPointers = 0;
      for (let step = 0; step < 600; step++) {
        const r = random();
        const key = `k${Math.floor(random() * 50)}`;
        if (r < 0.6) {
          const value = random() < 0.8 ? valueOf(`s${step}`, step) : `short${step}`;
          await db.put(key, value);
          model.set(key, value);
        } else if (r < 0.7) {
          await db.del(key);
          model.delete(key);
        } else if (r < 0.75) {
          snaps.push({ snap: db.snapshot(), model: new Map(model) });
        } else if (r < 0.8 && snaps.length > 0) {
          const { snap, model: frozen } = snaps.splice(Math.floor(random() * snaps.length), 1)[0]!;
          for (const [k, v] of frozen) assert.equal(s(db.getSync(k, { snapshot: snap })), v, `step ${step} snapshot`);
          snap.release();
        } else if (r < 0.9) {
          const modes = ['gc', 'rewrite', 'full'] as const;
          // Early retirement either inside the pass (compact) or at a later flush (defer).
          const retire = random() < 0.5 ? 'defer' : 'compact';
          await db.maintain({ mode: modes[Math.floor(random() * 3)]!, minStaleRatio: random(), retire });
          if (retire === 'defer' && random() < 0.5) {
            await db.flush();
            await db.collectGarbage();
          }
          // The recount also checks that every pointer into a retired segment is shadowed.
          const report = db.verifyLedger({ readValues: true });
          assert.ok(report.ok, `step ${step}: ${report.problems.join('; ')}`);
          retiredPointers += report.retiredPointers;
        } else if (r < 0.93) {
          if (random() < 0.5) vfs = vfs.crash({ seed: step });
          for (const { snap } of snaps.splice(0)) snap.release();
          await db.close().catch(() => {});
          db = await open('/db', { ...o, vfs });
          checkModel(db, model);
        }
      }
      checkModel(db, model);
      assert.ok(retiredPointers > 0, 'the history retired segments whose pointers verifyLedger checked');
      // Shape: lanes seal full segments only, so few partly filled sealed segments exist per lane.
      const small = new Map<number, number>();
      for (const info of db.valueLog!.segmentInfos()) {
        if (info.sealed && info.length < o.valueLogSegmentBytes / 2) small.set(info.lane, (small.get(info.lane) ?? 0) + 1);
      }
      for (const [lane, count] of small) assert.ok(count <= 2, `lane ${lane}: ${count} small sealed segments`);
      await db.close();
    });
  }
});

describe('shape', () => {
  test('idle lanes make no segments; repeated passes with nothing to do create no files', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { ...options, valueLogLanes: 4 });
    const model = await mixedHistory(db);
    await db.maintain({ mode: 'full' });
    const files = readdirSync(join(dir, VLOG_DIR));
    for (let i = 0; i < 5; i++) await db.maintain({ mode: 'full' });
    assert.deepEqual(readdirSync(join(dir, VLOG_DIR)), files);
    // Sealed segments are full ones: at most one partly filled segment per lane is open.
    const sealedSmall = db.valueLog!.segmentInfos().filter((i) => i.sealed && i.length < options.valueLogSegmentBytes / 2);
    assert.ok(sealedSmall.length <= 2, JSON.stringify(sealedSmall));
    checkModel(db, model);
    await db.close();
  });
});
