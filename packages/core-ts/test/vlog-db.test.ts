/**
 * The value log inside the engine: separated values through every read path, power loss in each
 * durability mode (a prefix of the issued batches with no holes, every acknowledged `sync` write
 * kept, the ledger exact), checkpoints sharing an active segment, and damaged frames.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { open, type Db, type Durability } from '../src/index.js';
import { FaultVfs, NodeVfs, type Vfs } from '../src/vfs/index.js';
import { decodePointer, VLOG_DIR } from '../src/vlog/index.js';
import { MAX_POINTER_FLUSH_CHARGE, pointerFlushCharge } from '../src/db/flush-charge.js';
import { rng, s, strings, tempDir } from './db-helpers.js';

type Model = Map<string, string>;

interface Batch {
  readonly ops: { key: string; value: string | null }[];
}

function makeBatch(i: number, random: () => number): Batch {
  const ops: Batch['ops'] = [];
  for (let j = 0, n = 1 + Math.floor(random() * 4); j < n; j++) {
    const key = `k${String(Math.floor(random() * 40)).padStart(2, '0')}`;
    const r = random();
    ops.push({ key, value: r < 0.15 ? null : r < 0.6 ? `L${i}.${j}:${'x'.repeat(40 + Math.floor(random() * 400))}` : `s${i}.${j}` });
  }
  return { ops };
}

function apply(model: Model, batch: Batch): void {
  for (const op of batch.ops) {
    if (op.value === null) model.delete(op.key);
    else model.set(op.key, op.value);
  }
}

function write(db: Db, batch: Batch): Promise<void> {
  return db.batch(batch.ops.map((op) => (op.value === null ? { type: 'del' as const, key: op.key } : { type: 'put' as const, key: op.key, value: op.value })));
}

function contents(db: Db): Model {
  return new Map(strings(db.iterator()));
}

const baseOptions = { valueThreshold: 32, memtableBytes: 3000, blockSize: 256, valueLogSegmentBytes: 8192, l0CompactionTrigger: 2, targetFileBytes: 2048, baseLevelBytes: 4096 };

describe('separated values in the engine', () => {
  for (const fs of ['node:fs', 'FaultVfs'] as const) {
    test(`every read path resolves pointers (${fs})`, async (t) => {
      const vfs: Vfs = fs === 'node:fs' ? new NodeVfs() : new FaultVfs();
      const dir = fs === 'node:fs' ? tempDir(t) : '/db';
      let db = await open(dir, { ...baseOptions, vfs });
      const random = rng(5);
      const model: Model = new Map();
      for (let i = 0; i < 300; i++) {
        const batch = makeBatch(i, random);
        await write(db, batch);
        apply(model, batch);
        if (i === 150) {
          const snapshot = db.snapshot();
          const frozen = new Map(model);
          const iterator = db.iterator();
          for (let k = 151; k < 250; k++) {
            const more = makeBatch(k, random);
            await write(db, more);
            apply(model, more);
          }
          await db.compact();
          assert.deepEqual(new Map(strings(iterator)), frozen);
          assert.deepEqual(new Map(strings(db.iterator({ snapshot }))), frozen);
          for (const [key, value] of frozen) assert.equal(s(db.getSync(key, { snapshot })), value);
          snapshot.release();
          i = 249;
        }
      }
      const check = (): void => {
        assert.deepEqual(contents(db), model);
        for (const [key, value] of model) assert.equal(s(db.getSync(key)), value);
        const keys = [...model.keys()];
        assert.deepEqual(db.getMany(keys).map(s), keys.map((k) => model.get(k)));
        assert.deepEqual([...db.values()].map((v) => s(v)), [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v));
        const report = db.verifyLedger({ readValues: true });
        assert.ok(report.ok, report.problems.join('; '));
        assert.ok(report.pointers > 0, 'tables hold pointers');
      };
      check();
      const stats = db.stats().valueLog!;
      assert.ok(stats.segments > 1 && stats.ledger.total > 0 && stats.ledger.stale > 0, JSON.stringify(stats.ledger));
      assert.equal(stats.ledger.live, stats.ledger.total - stats.ledger.stale);
      await db.close();
      db = await open(dir, { ...baseOptions, vfs });
      check();
      await db.close();
    });
  }

  test('values below the threshold stay inline; Infinity turns separation off', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { valueThreshold: 100 });
    await db.put('small', 'x'.repeat(99));
    await db.put('large', 'y'.repeat(100));
    await db.flush();
    assert.equal(db.verifyLedger().pointers, 1);
    await db.close();
    const off = await open(tempDir(t), { valueThreshold: Infinity });
    await off.put('large', 'y'.repeat(100_000));
    assert.equal(off.stats().valueLog!.recordsWritten, 0);
    await off.close();
  });
});

describe('when a memtable of pointers is full (db/flush-charge.ts)', () => {
  test('each pointer charges 4× its record, at most 4 KiB: a memtable holds memtableBytes / 4 KiB pointers of 1 KiB values and of 16 KiB ones', async (t) => {
    assert.equal(pointerFlushCharge(200), 4 * 200);
    assert.equal(pointerFlushCharge(1024), MAX_POINTER_FLUSH_CHARGE);
    assert.equal(pointerFlushCharge(1041), MAX_POINTER_FLUSH_CHARGE);
    assert.equal(pointerFlushCharge(16 * 1024 + 17), MAX_POINTER_FLUSH_CHARGE);
    assert.equal(MAX_POINTER_FLUSH_CHARGE, 4096);
    const memtableBytes = 256 * 1024;
    const flushesFor = async (valueBytes: number, count: number): Promise<number> => {
      const db = await open(tempDir(t), { memtableBytes, disableAutoCompaction: true });
      const random = rng(valueBytes);
      for (let i = 0; i < count; i++) {
        const value = new Uint8Array(valueBytes);
        for (let j = 0; j < valueBytes; j += 64) value[j] = Math.floor(random() * 256);
        await db.put(`key-${String(i).padStart(6, '0')}`, value);
      }
      await db.flush();
      const flushes = db.stats().operations.flushes;
      for (let i = 0; i < count; i += 7) assert.equal(db.getSync(`key-${String(i).padStart(6, '0')}`)!.length, valueBytes);
      await db.close();
      return flushes;
    };
    // 1 MiB of 1 KiB values: each charges 4 KiB, a flush every ~64 values (the memtable's own
    // bytes per entry bring it a little earlier).
    const small = await flushesFor(1024, 1024);
    assert.ok(small >= 16 && small <= 18, `${small} flushes for 1 MiB of 1 KiB values`);
    // 2 MiB of 16 KiB values: the same 4 KiB each, a flush every ~64 values (a 16 KiB charge would
    // flush every 16, 4 every 4).
    const large = await flushesFor(16 * 1024, 128);
    assert.ok(large >= 2 && large <= 3, `${large} flushes for 2 MiB of 16 KiB values`);
  });
});

describe('power loss with separated values', () => {
  for (const durability of ['sync', 'relaxed', 'none'] as Durability[]) {
    for (const seed of [1, 2, 3, 4]) {
      test(`${durability}, seed ${seed}: a prefix of the batches, no holes, the ledger exact`, async () => {
        const random = rng(seed * 31 + durability.length);
        let vfs = new FaultVfs();
        const options = { ...baseOptions, durability, relaxedSyncMs: 5 };
        const batches: Batch[] = [];
        let floor = 0; // batches a crash may not lose
        for (let round = 0; round < 3; round++) {
          const db = await open('/db', { ...options, vfs });
          // What the database holds now is the state after the batches recovered so far.
          const crashAt = 40 + Math.floor(random() * 80);
          for (let n = 0; n < crashAt; n++) {
            const batch = makeBatch(batches.length, random);
            batches.push(batch);
            await write(db, batch);
            if (durability === 'sync') floor = batches.length;
            const r = random();
            if (r < 0.05) {
              await db.flush();
              floor = batches.length;
            } else if (r < 0.1 && durability !== 'none') {
              await db.sync();
              floor = batches.length;
            }
          }
          vfs = vfs.crash({ seed: seed * 100 + round });
          await db.close().catch(() => {});
          const reopened = await open('/db', { ...options, vfs });
          const state = contents(reopened);
          let matched = -1;
          const model: Model = new Map();
          const states: Model[] = [new Map()];
          for (const batch of batches) {
            apply(model, batch);
            states.push(new Map(model));
          }
          for (let p = batches.length; p >= floor; p--) {
            if (sameMap(states[p]!, state)) {
              matched = p;
              break;
            }
          }
          assert.ok(matched >= 0, `round ${round}: the recovered state is no prefix of ≥ ${floor} of ${batches.length} batches`);
          const report = reopened.verifyLedger({ readValues: true });
          assert.ok(report.ok, report.problems.join('; '));
          batches.length = matched;
          floor = matched;
          await reopened.close();
        }
      });
    }
  }
});

describe('WAL ahead of the value log', () => {
  test('a batch whose values never became durable ends the replay, and the WAL drops it and what follows', async () => {
    let vfs = new FaultVfs();
    const options = { valueThreshold: 16, durability: 'relaxed' as const, relaxedSyncMs: 3_600_000 };
    const db = await open('/db', { ...options, vfs });
    await db.put('early', 'an early value, long enough');
    await db.sync();
    await db.put('late', 'a late value that never reached the disk');
    await db.put('small', 'x');
    // The WAL alone is synced: it now names a value-log record that is not durable.
    await db.wal!.sync();
    vfs = vfs.crash();
    await db.close().catch(() => {});
    const reopened = await open('/db', { ...options, vfs });
    assert.deepEqual(strings(reopened.iterator()), [['early', 'an early value, long enough']]);
    await reopened.put('after', 'written after the recovery, long enough');
    await reopened.close();
    const again = await open('/db', { ...options, vfs });
    assert.deepEqual(strings(again.iterator()), [
      ['after', 'written after the recovery, long enough'],
      ['early', 'an early value, long enough'],
    ]);
    assert.ok(again.verifyLedger({ readValues: true }).ok);
    await again.close();
  });
});

function sameMap(a: Model, b: Model): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

describe('checkpoints and damage', () => {
  test('a checkpoint shares the active segment, trusts only its recorded length and appends to its own', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { valueThreshold: 16 });
    for (let i = 0; i < 50; i++) await db.put(`a${i}`, `first-${i}-${'p'.repeat(50)}`);
    const checkpoint = join(tempDir(t), 'cp');
    await db.checkpoint(checkpoint);
    const linked = readdirSync(join(checkpoint, VLOG_DIR));
    assert.equal(linked.length, 1);
    const before = readFileSync(join(checkpoint, VLOG_DIR, linked[0]!));
    // The source keeps appending to the same (shared) file.
    for (let i = 0; i < 50; i++) await db.put(`b${i}`, `second-${i}-${'q'.repeat(50)}`);
    await db.flush();
    const cp = await open(checkpoint, { valueThreshold: 16 });
    assert.equal(s(cp.getSync('a7')), `first-7-${'p'.repeat(50)}`);
    assert.equal(cp.getSync('b7'), undefined);
    await cp.put('c', 'checkpoint-only-value-long-enough');
    await cp.flush();
    assert.ok(cp.verifyLedger({ readValues: true }).ok);
    await cp.close();
    // The checkpoint wrote to a new segment of its own; the shared file kept the source's bytes.
    assert.equal(readdirSync(join(checkpoint, VLOG_DIR)).length, 2);
    const shared = readFileSync(join(checkpoint, VLOG_DIR, linked[0]!));
    assert.deepEqual(shared.subarray(0, before.length), before);
    assert.equal(s(db.getSync('b7')), `second-7-${'q'.repeat(50)}`);
    assert.ok(db.verifyLedger({ readValues: true }).ok);
    await db.close();
  });

  test('a damaged frame reads as CORRUPTION', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { valueThreshold: 16 });
    await db.put('key', 'a value long enough to separate');
    await db.flush();
    await db.close();
    const name = readdirSync(join(dir, VLOG_DIR))[0]!;
    const path = join(dir, VLOG_DIR, name);
    const bytes = readFileSync(path);
    bytes[bytes.length - 3]! ^= 0x40;
    writeFileSync(path, bytes);
    const again = await open(dir, { valueThreshold: 16 });
    assert.throws(() => again.getSync('key'), { code: 'CORRUPTION' });
    assert.throws(() => [...again.iterator()], { code: 'CORRUPTION' });
    assert.deepEqual([...again.keys()].map((k) => s(k)), ['key']);
    const report = again.verifyLedger({ readValues: true });
    assert.equal(report.ok, false);
    await again.close();
    assert.ok(decodePointer instanceof Function);
  });
});
