/**
 * What SiltLevel adds beyond abstract-level's suite: the exact `supports` manifest, engine errors
 * as `LEVEL_*` codes (locked, corrupt, invalid key, read-only), snapshots taken at call time, the
 * classic-level options and write `sync`, batched iterator reads, and the additional methods
 * (`compactRange`, `flush`, `checkpoint`, `stats`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCodes, SiltError } from '../../src/errors.js';
import { LevelCodes, SiltLevel, levelCodeOf } from '../../src/level.js';
import { tempDir } from '../db-helpers.js';

type Coded = { code?: string; cause?: Coded };

async function rejectsWith(promise: Promise<unknown>, check: (error: Coded) => void): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    check(error as Coded);
    return true;
  });
}

test('supports declares what SiltLevel does', (t) => {
  const db = new SiltLevel(join(tempDir(t, 'silt-level-supports-'), 'db'));
  const s = db.supports;
  assert.deepEqual(
    { buffer: s.encodings.buffer, view: s.encodings.view, utf8: s.encodings.utf8 },
    { buffer: true, view: true, utf8: true },
  );
  for (const feature of ['implicitSnapshots', 'explicitSnapshots', 'has', 'seek', 'createIfMissing', 'errorIfExists', 'permanence', 'deferredOpen'] as const) {
    assert.equal(s[feature], true, feature);
  }
  assert.equal((s as unknown as { getSync: boolean }).getSync, true);
  assert.deepEqual(s.signals, { iterators: true });
  assert.deepEqual(s.additionalMethods, { compactRange: true, flush: true, checkpoint: true, stats: true });
  for (const method of Object.keys(s.additionalMethods)) assert.equal(typeof (db as unknown as Record<string, unknown>)[method], 'function', method);
  return db.close();
});

test('engine codes map to LEVEL_* codes', () => {
  const error = (code: string) => new SiltError(code as never, 'x');
  assert.equal(levelCodeOf(error(ErrorCodes.LOCKED), 'open'), LevelCodes.LOCKED);
  assert.equal(levelCodeOf(error(ErrorCodes.CORRUPTION), 'keys'), LevelCodes.CORRUPTION);
  assert.equal(levelCodeOf(error(ErrorCodes.SHORT_FILE), 'iterator'), LevelCodes.CORRUPTION);
  assert.equal(levelCodeOf(error(ErrorCodes.IO_ERROR), 'database'), LevelCodes.IO_ERROR);
  assert.equal(levelCodeOf(error(ErrorCodes.POISONED), 'keys'), LevelCodes.IO_ERROR);
  assert.equal(levelCodeOf(error(ErrorCodes.READ_ONLY), 'keys'), LevelCodes.READONLY);
  assert.equal(levelCodeOf(error(ErrorCodes.CLOSED), 'database'), LevelCodes.DATABASE_NOT_OPEN);
  assert.equal(levelCodeOf(error(ErrorCodes.CLOSED), 'iterator'), LevelCodes.ITERATOR_NOT_OPEN);
  assert.equal(levelCodeOf(error(ErrorCodes.INVALID_ARGUMENT), 'keys'), LevelCodes.INVALID_KEY);
  assert.equal(levelCodeOf(error(ErrorCodes.INVALID_ARGUMENT), 'open'), undefined, 'a bad open option stays INVALID_ARGUMENT');
  assert.equal(levelCodeOf(new Error('plain'), 'keys'), undefined);
});

test('a second SiltLevel on the same directory fails to open with LEVEL_LOCKED', async (t) => {
  const location = join(tempDir(t, 'silt-level-lock-'), 'db');
  const first = new SiltLevel(location);
  await first.put('k', 'v');
  const second = new SiltLevel(location);
  await rejectsWith(second.open(), (error) => {
    assert.equal(error.code, 'LEVEL_DATABASE_NOT_OPEN');
    assert.equal(error.cause?.code, 'LEVEL_LOCKED');
    assert.equal(error.cause?.cause?.code, ErrorCodes.LOCKED, 'the engine error stays reachable');
  });
  assert.equal(second.status, 'closed');
  assert.equal(await first.get('k'), 'v', 'the holder is unaffected');
  await first.close();
  await second.open();
  assert.equal(await second.get('k'), 'v', 'opens once the lock is released');
  await second.close();
});

test('a damaged table is LEVEL_CORRUPTION, never data', async (t) => {
  const location = join(tempDir(t, 'silt-level-corrupt-'), 'db');
  const db = new SiltLevel(location, { blockSize: 256, disableAutoCompaction: true });
  const keys = Array.from({ length: 400 }, (_, i) => `key-${String(i).padStart(4, '0')}`);
  await db.batch(keys.map((key) => ({ type: 'put' as const, key, value: `value of ${key}`.repeat(3) })));
  await db.flush();
  await db.close();
  const table = readdirSync(location).find((name) => name.endsWith('.sst'));
  assert.ok(table, 'the flush wrote a table');
  const bytes = readFileSync(join(location, table));
  bytes[40] = bytes[40]! ^ 0xff; // inside the first data block
  writeFileSync(join(location, table), bytes);

  const damaged = new SiltLevel(location);
  await damaged.open();
  await rejectsWith(damaged.iterator().all(), (error) => assert.equal(error.code, 'LEVEL_CORRUPTION'));
  await rejectsWith(damaged.get(keys[0]!), (error) => assert.equal(error.code, 'LEVEL_CORRUPTION'));
  assert.throws(() => damaged.getSync(keys[0]!), (error: Coded) => error.code === 'LEVEL_CORRUPTION');
  await damaged.close();
});

test('keys over the engine limit are LEVEL_INVALID_KEY and write nothing', async (t) => {
  const db = new SiltLevel(join(tempDir(t, 'silt-level-key-'), 'db'));
  const huge = 'k'.repeat(65537);
  await rejectsWith(db.put(huge, 'v'), (error) => assert.equal(error.code, 'LEVEL_INVALID_KEY'));
  await rejectsWith(db.batch([{ type: 'put', key: 'fine', value: 'v' }, { type: 'put', key: huge, value: 'v' }]), (error) =>
    assert.equal(error.code, 'LEVEL_INVALID_KEY'),
  );
  await rejectsWith(db.batch().put('fine', 'v').del(huge).write(), (error) => assert.equal(error.code, 'LEVEL_INVALID_KEY'));
  await rejectsWith(db.get(huge), (error) => assert.equal(error.code, 'LEVEL_INVALID_KEY'));
  assert.throws(() => db.iterator({ gte: huge }), (error: Coded) => error.code === 'LEVEL_INVALID_KEY');
  assert.deepEqual(await db.keys().all(), [], 'no batch was applied in part');
  await db.close();
});

test('writes to a readOnly SiltLevel are LEVEL_READONLY; it reads what the writer flushed', async (t) => {
  const location = join(tempDir(t, 'silt-level-ro-'), 'db');
  const writer = new SiltLevel(location);
  await writer.put('a', '1');
  await writer.flush();
  const reader = new SiltLevel(location, { readOnly: true });
  assert.equal(await reader.get('a'), '1');
  await rejectsWith(reader.put('b', '2'), (error) => assert.equal(error.code, 'LEVEL_READONLY'));
  await rejectsWith(reader.compactRange('a', 'z'), (error) => assert.equal(error.code, 'LEVEL_READONLY'));
  await reader.close();
  await writer.close();
});

test('snapshots and iterators see the data as of their call', async (t) => {
  const db = new SiltLevel(join(tempDir(t, 'silt-level-snap-'), 'db'));
  await db.put('k', 'before');
  const snapshot = db.snapshot();
  const iterator = db.iterator();
  const keys = db.keys();
  await db.put('k', 'after');
  await db.put('new', 'x');
  assert.equal(db.getSync('k', { snapshot }), 'before');
  assert.deepEqual(await iterator.all(), [['k', 'before']]);
  assert.deepEqual(await keys.all(), ['k']);
  assert.deepEqual(await db.iterator({ snapshot }).all(), [['k', 'before']]);
  assert.deepEqual(await db.iterator().all(), [['k', 'after'], ['new', 'x']]);
  assert.equal(db.stats().openSnapshots, 1, 'finished iterators gave their snapshots back');
  await snapshot.close();
  assert.equal(db.stats().openSnapshots, 0);
  await db.close();
});

test('iterators read in batches and keep their snapshot across seeks past the end', async (t) => {
  const db = new SiltLevel(join(tempDir(t, 'silt-level-it-'), 'db'), { memtableBytes: 16 * 1024 });
  const keys = Array.from({ length: 3000 }, (_, i) => `k${String(i).padStart(5, '0')}`);
  for (let i = 0; i < keys.length; i += 500) {
    await db.batch(keys.slice(i, i + 500).map((key) => ({ type: 'put' as const, key, value: key })));
  }
  const it = db.iterator({ limit: 2500 });
  assert.equal((await it.nextv(1000)).length, 1000);
  assert.equal((await it.nextv(5000)).length, 1500, 'the limit caps a large nextv');
  assert.deepEqual(await it.nextv(10), []);
  await it.close();

  const values = db.values({ gte: 'k02990' });
  assert.deepEqual((await values.all()).length, 10);
  await db.put('k02995', 'changed');
  const again = db.values({ gte: 'k02990' });
  assert.deepEqual(await again.nextv(100), keys.slice(2990, 2995).concat('changed', ...keys.slice(2996)));
  await db.put('k02999', 'changed too');
  again.seek('k02998');
  assert.deepEqual(await again.all(), ['k02998', 'k02999'], 'a seek after the end reads at the first snapshot');
  assert.equal(db.stats().openIterators, 0);
  await db.close();
});

test('classic-level options: durability relaxed by default, sync writes, aliases, ignored tuning options', async (t) => {
  const dir = tempDir(t, 'silt-level-opt-');
  const db = new SiltLevel(join(dir, 'a'), { cacheSize: 1 << 20, writeBufferSize: 8 * 1024, compression: false, maxOpenFiles: 100 });
  await db.open();
  const stats = db.stats();
  assert.equal(stats.durability, 'relaxed');
  assert.equal(stats.blockCache.capacityBytes, 1 << 20, 'cacheSize is the block cache');
  // `sync` is classic-level's write option; abstract-level's typings do not list it.
  await db.batch(Array.from({ length: 300 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: 'x'.repeat(64) })), { sync: true } as never);
  assert.ok(db.stats().immutableMemtables + db.stats().tableFiles > 0, 'writeBufferSize is the memtable size');
  await db.close();

  // abstract-level forwards every constructor option to the implementation, which ignores the
  // ones it does not know (plugins and hooks pass their own).
  const other = new SiltLevel(join(dir, 'other'), { pluginOption: 1 } as never);
  await other.put('k', 'v');
  await other.close();
  // A bad value for an engine option fails the open with the engine's reason.
  const bad = new SiltLevel(join(dir, 'bad'), { memtableBytes: -1 });
  await rejectsWith(bad.open(), (error) => {
    assert.equal(error.code, 'LEVEL_DATABASE_NOT_OPEN');
    assert.equal(error.cause?.code, ErrorCodes.INVALID_ARGUMENT);
  });

  const synced = new SiltLevel(join(dir, 'b'), { durability: 'sync' });
  await synced.put('k', 'v', { sync: true } as never);
  assert.equal(synced.stats().durability, 'sync');
  await synced.close();
});

test('compactRange, flush, checkpoint and stats', async (t) => {
  const dir = tempDir(t, 'silt-level-methods-');
  const db = new SiltLevel(join(dir, 'db'), { disableAutoCompaction: true, memtableBytes: 4096 });
  await rejectsWith(
    (async () => {
      const closed = new SiltLevel(join(dir, 'other'));
      await closed.close();
      return closed.compactRange('a', 'b');
    })(),
    (error) => assert.equal(error.code, 'LEVEL_DATABASE_NOT_OPEN'),
  );
  for (let round = 0; round < 4; round++) {
    await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: `k${String(i).padStart(3, '0')}`, value: `r${round}` })));
    await db.flush();
  }
  await db.del('k000');
  assert.ok(db.stats().levels[0]!.files >= 4, 'each flush added an L0 table');
  await db.compactRange('k000', 'k999');
  const after = db.stats();
  assert.equal(after.levels[0]!.files, 0, 'compactRange moved the range out of L0');
  assert.ok(after.compaction.manualCompactions >= 1);
  assert.equal(await db.get('k000'), undefined);
  assert.equal(await db.get('k099'), 'r3');

  await db.checkpoint(join(dir, 'copy'));
  await db.put('k001', 'after the checkpoint');
  const copy = new SiltLevel(join(dir, 'copy'));
  assert.equal(await copy.get('k001'), 'r3');
  assert.equal((await copy.keys().all()).length, 99);
  await copy.close();
  await db.close();
  assert.throws(() => db.stats(), (error: Coded) => error.code === 'LEVEL_DATABASE_NOT_OPEN');
});
