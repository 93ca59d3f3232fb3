/**
 * Model-based histories: random put/del/batch/snapshot/iterator/flush/compact/reopen checked
 * against an in-memory map, under several option sets (tiny memtable and blocks, each durability
 * mode, both accelerators). Small compaction triggers and output tables make background
 * compactions run throughout. The same seed gives the same observations in every set.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadNativeAccelerator, tsAccelerator, type Accelerator } from '@siltdb/bindings';
import { open, type Db, type Durability, type Snapshot } from '../src/index.js';
import { modelRange, rng, s, strings, tempDir } from './db-helpers.js';

function native(): Accelerator | null {
  try {
    return loadNativeAccelerator().accelerator;
  } catch {
    return null;
  }
}

async function runHistory(dir: string, seed: number, durability: Durability, accelerator: Accelerator, separate = false): Promise<string[]> {
  const random = rng(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const key = () => `k${String(pick(80)).padStart(2, '0')}`;
  const opts = {
    durability,
    accelerator,
    memtableBytes: 700 + pick(800),
    blockSize: 64,
    l0CompactionTrigger: 2 + pick(2),
    baseLevelBytes: 2048 + pick(4096),
    levelMultiplier: 2 + pick(3),
    targetFileBytes: 512 + pick(1024),
    // Most values go to the value log (small segments so they rotate) in the separating sets.
    ...(separate ? { valueThreshold: 12, valueLogSegmentBytes: 4096 } : {}),
  };
  let db: Db = await open(dir, opts);
  const model = new Map<string, string>();
  const snaps: { snap: Snapshot; model: Map<string, string> }[] = [];
  const trace: string[] = [];
  let compactions = 0;
  for (let step = 0; step < 400; step++) {
    const r = random();
    if (r < 0.45) {
      const k = key();
      const v = `v${step}-${'x'.repeat(pick(30))}`;
      await db.put(k, v);
      model.set(k, v);
    } else if (r < 0.6) {
      const k = key();
      await db.del(k);
      model.delete(k);
    } else if (r < 0.7) {
      const ops = Array.from({ length: 1 + pick(6) }, () =>
        random() < 0.7 ? { type: 'put' as const, key: key(), value: `b${step}` } : { type: 'del' as const, key: key() },
      );
      await db.batch(ops);
      for (const op of ops) if (op.type === 'put') model.set(op.key, op.value);
      else model.delete(op.key);
    } else if (r < 0.75) {
      snaps.push({ snap: db.snapshot(), model: new Map(model) });
    } else if (r < 0.85) {
      const a = key();
      const c = key();
      const o = { gte: a < c ? a : c, lt: a < c ? c : a, reverse: random() < 0.5, limit: random() < 0.3 ? pick(10) : -1 };
      const useSnap = snaps.length > 0 && random() < 0.4 ? snaps[pick(snaps.length)]! : null;
      const got = strings(db.iterator(useSnap === null ? o : { ...o, snapshot: useSnap.snap }));
      assert.deepEqual(got, modelRange(useSnap?.model ?? model, o), `seed ${seed} step ${step} iterator ${JSON.stringify(o)} snap=${useSnap !== null} ${JSON.stringify(db.stats().levels.slice(0, 1))} imm=${db.stats().immutableMemtables}`);
      trace.push(JSON.stringify(got));
    } else if (r < 0.9) {
      const k = key();
      const useSnap = snaps.length > 0 && random() < 0.5 ? snaps[pick(snaps.length)]! : null;
      const got = s(db.getSync(k, useSnap === null ? undefined : { snapshot: useSnap.snap }));
      assert.equal(got, (useSnap?.model ?? model).get(k), `seed ${seed} step ${step} get ${k}`);
      trace.push(`${k}=${got}`);
    } else if (r < 0.925) {
      await db.flush();
    } else if (r < 0.94) {
      if (random() < 0.5) {
        await db.compact();
      } else {
        const a = key();
        const c = key();
        await db.compact({ start: a < c ? a : c, end: a < c ? c : a });
      }
      trace.push('compact');
    } else if (r < 0.97 && snaps.length > 0) {
      snaps.splice(pick(snaps.length), 1)[0]!.snap.release();
    } else {
      compactions += sessionCompactions(db);
      checkLedger(db, seed);
      await db.close();
      snaps.length = 0;
      db = await open(dir, opts);
    }
  }
  assert.deepEqual(strings(db.iterator()), modelRange(model, {}));
  trace.push(JSON.stringify(strings(db.iterator())));
  compactions += sessionCompactions(db);
  checkLedger(db, seed);
  if (separate) assert.ok(db.stats().valueLog!.recordsWritten > 0 || db.stats().valueLog!.ledger.total > 0, 'values were separated');
  await db.close();
  assert.ok(compactions > 0, `seed ${seed}: compactions ran during the history`);
  return trace;
}

/** The value-log ledger equals a recount of the tables, and every pointer resolves. */
function checkLedger(db: Db, seed: number): void {
  const report = db.verifyLedger({ readValues: true });
  assert.ok(report.ok, `seed ${seed}: ${report.problems.join('; ')}`);
}

/** Compactions a session ran; it must have had no failure. */
function sessionCompactions(db: Db): number {
  const { compaction } = db.stats();
  assert.equal(compaction.failures, 0, String(compaction.lastError));
  return compaction.compactions;
}

describe('db model', () => {
  const nativeAccelerator = native();
  const accelerators: [string, Accelerator][] = [['ts', tsAccelerator]];
  if (nativeAccelerator !== null) accelerators.push(['native', nativeAccelerator]);
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    test(`seed ${seed}: every option set matches the model and each other`, async (t) => {
      const traces: string[][] = [];
      let set = 0;
      for (const durability of ['sync', 'relaxed', 'none'] as Durability[]) {
        for (const [name, accelerator] of accelerators) {
          // Every other option set separates values, so pointers meet every path of the history.
          const separate = (set++ + seed) % 2 === 0;
          const trace = await runHistory(join(tempDir(t), `${durability}-${name}${separate ? '-vlog' : ''}`), seed, durability, accelerator, separate);
          traces.push(trace);
        }
      }
      for (const trace of traces) assert.deepEqual(trace, traces[0]);
    });
  }

  test('a database written with the native accelerator reads with the TypeScript one', async (t) => {
    const dir = tempDir(t);
    const writer = await open(dir, { memtableBytes: 4096, blockSize: 256, accelerator: nativeAccelerator ?? tsAccelerator });
    for (let i = 0; i < 500; i++) await writer.put(`key${i}`, `value${i}`);
    await writer.del('key9');
    await writer.close();
    const script = `
      import { open } from ${JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)))};
      import { accel } from '@siltdb/bindings';
      const db = await open(process.argv[1], { readOnly: false });
      const keys = [...db.keys()].length;
      const v = new TextDecoder().decode(db.getSync('key123'));
      console.log(JSON.stringify({ kind: accel.kind, keys, v, gone: db.getSync('key9') === undefined }));
      await db.close();`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], {
      env: { ...process.env, SILTDB_NATIVE: 'off' },
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout.trim()), { kind: 'ts', keys: 499, v: 'value123', gone: true });
  });
});
