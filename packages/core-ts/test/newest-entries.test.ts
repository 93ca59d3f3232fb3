/**
 * Batched newest-entry lookups (db/newest-entries.ts, table/sorted-seeker.ts), which a value-log
 * rewrite uses instead of one point read per record: for ascending keys — present, absent, repeated,
 * before and after a table's range, sharing long prefixes, prefixes of each other — the answer must
 * be exactly what point reads give, in a single table and across memtables, L0 and deeper levels
 * after random histories of puts (inline and separated values) and deletes.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { compareInternalKeys, compareUserKeys, encodeInternalKey, Kind } from '../src/keys/internal-key.js';
import { open, type Db } from '../src/index.js';
import { visitNewestEntries } from '../src/db/newest-entries.js';
import { compareUserPart, findInLevel } from '../src/db/read-path.js';
import { NUM_LEVELS } from '../src/manifest/index.js';
import { BlockCache, TableBuilder, TableReader } from '../src/table/index.js';
import { PassingRun } from '../src/table/table-reader.js';
import { SortedTableSeeker } from '../src/table/sorted-seeker.js';
import { NodeVfs } from '../src/vfs/index.js';
import { b, rng, tempDir } from './db-helpers.js';

const vfs = new NodeVfs();

function sortKeys(keys: Uint8Array[]): Uint8Array[] {
  return keys.sort(compareUserKeys);
}

/** Keys with long shared prefixes, of varied lengths, some prefixes of others. */
function keyPool(random: () => number, count: number): Uint8Array[] {
  const pool = new Map<string, Uint8Array>();
  while (pool.size < count) {
    const n = Math.floor(random() * count * 3);
    const text = random() < 0.5 ? `user/0000${n.toString().padStart(6, '0')}` : `u${n.toString(36)}${random() < 0.3 ? '' : '/' + 'z'.repeat(Math.floor(random() * 5))}`;
    pool.set(text, b(text));
  }
  return [...pool.values()];
}

describe('SortedTableSeeker', () => {
  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: ascending seeks find what point gets find (several versions, tombstones, small blocks and restart intervals)`, async (t) => {
      const random = rng(seed);
      const dir = tempDir(t);
      const users = keyPool(random, 600);
      const entries: { key: Uint8Array; userKey: Uint8Array; seq: number; kind: Kind; value: Uint8Array }[] = [];
      let seq = 1;
      for (const userKey of users) {
        if (random() < 0.4) continue;
        const versions = 1 + Math.floor(random() * 3);
        for (let v = 0; v < versions; v++) {
          const s = seq++;
          const roll = random();
          const kind = roll < 0.2 ? Kind.Delete : roll < 0.5 ? Kind.Pointer : Kind.Put;
          const value = kind === Kind.Delete ? new Uint8Array(0) : b(`v${s}:${'#'.repeat(Math.floor(random() * 30))}`);
          entries.push({ key: encodeInternalKey(userKey, s), userKey, seq: s, kind, value });
        }
      }
      entries.sort((x, y) => compareInternalKeys(x.key, y.key));
      const path = join(dir, '000007.sst');
      const builder = await TableBuilder.create({ vfs, path, fileNumber: 7, blockSize: 128 + Math.floor(random() * 512), restartInterval: 1 + Math.floor(random() * 12) });
      for (const e of entries) {
        const wait = builder.add(e.key, e.kind, e.value);
        if (wait !== undefined) await wait;
      }
      await builder.finish();
      const cache = new BlockCache(1 << 20);
      const reader = TableReader.open(path, { fileNumber: 7, cache });
      // Expected answers from a reader of its own, so the seeker meets cached and uncached blocks
      // as they come: only the point reads below put blocks into `cache`.
      const reference = TableReader.open(path, { fileNumber: 7 });
      try {
        assert.ok(reader.blockCount > 10, `${reader.blockCount} blocks`);
        for (let round = 0; round < 30; round++) {
          // A random share of the pool (present and absent keys), repeats, and keys outside the range.
          const share = [0.01, 0.1, 0.5, 1][round % 4]!;
          const keys = users.filter(() => random() < share);
          for (let i = 0; i < 5; i++) keys.push(users[Math.floor(random() * users.length)]!);
          keys.push(b(''), b('\u0000'), b('zzzz'), b('user/'), b('user/0000'));
          sortKeys(keys);
          // Some blocks cached by point reads, the rest read by the seeker past the cache.
          if (round % 3 === 1) for (const key of keys) if (random() < 0.2) reader.get(key);
          const cachedBefore = cache.stats().blocks;
          const seeker = new SortedTableSeeker(reader);
          for (const key of keys) {
            const expected = reference.get(key);
            const found = seeker.seek(key);
            assert.equal(found, expected !== undefined, `seek(${Buffer.from(key).toString()})`);
            if (expected === undefined) continue;
            assert.equal(seeker.kind, expected.kind);
            assert.deepEqual(Buffer.from(seeker.data.subarray(seeker.valueFrom, seeker.valueTo)), Buffer.from(expected.value));
          }
          seeker.release();
          assert.equal(cache.stats().blocks, cachedBefore, 'a seeker pass leaves the block cache as it found it');
        }
      } finally {
        reader.close();
        reference.close();
      }
    });
  }

  test('passingBlock: cached blocks come from the cache, others from runs read ahead and checked, never cached', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, '000009.sst');
    const builder = await TableBuilder.create({ vfs, path, fileNumber: 9, blockSize: 128 });
    for (let i = 0; i < 400; i++) {
      const wait = builder.add(encodeInternalKey(b(`key${String(i).padStart(4, '0')}`), i + 1), Kind.Put, b(`value ${i}`));
      if (wait !== undefined) await wait;
    }
    await builder.finish();
    const cache = new BlockCache(1 << 20);
    const reader = TableReader.open(path, { fileNumber: 9, cache });
    const reference = TableReader.open(path, { fileNumber: 9 });
    try {
      assert.ok(reader.blockCount > 40, `${reader.blockCount} blocks`);
      const run = new PassingRun();
      // Block after block: each run reads more blocks ahead, up to the cap.
      for (let i = 0; i < reader.blockCount; i++) {
        const block = reader.passingBlock(i, run);
        assert.deepEqual(Buffer.from(block.data), Buffer.from(reference.block(i).data), `block ${i}`);
        assert.equal(block.count, reference.block(i).count, `block ${i} count`);
        assert.ok(i >= run.first && i < run.end);
      }
      assert.ok(run.span > 8, `read ahead to ${run.span} blocks`);
      assert.equal(cache.stats().blocks, 0, 'nothing entered the cache');
      // A jump reads one block again.
      reader.passingBlock(3, run);
      assert.equal(run.end - run.first, 1);
      // A cached block comes from the cache, whatever the run holds.
      const cached = reader.block(20);
      assert.equal(reader.passingBlock(20, run), cached);
      assert.equal(run.first, 3);
    } finally {
      reader.close();
      reference.close();
    }
    // A damaged block inside a run is CORRUPTION naming the run's blocks, as a cached read reports it.
    const bytes = readFileSync(path);
    const at = 600;
    bytes[at] = bytes[at]! ^ 0x40;
    writeFileSync(path, bytes);
    const damaged = TableReader.open(path, { fileNumber: 9 });
    try {
      const run = new PassingRun();
      let failed: { code?: string; message: string } | null = null;
      for (let i = 0; i < damaged.blockCount && failed === null; i++) {
        try {
          damaged.passingBlock(i, run);
        } catch (error) {
          failed = error as { code?: string; message: string };
        }
      }
      assert.ok(failed !== null, 'the damaged block was read');
      assert.equal(failed.code, 'CORRUPTION');
      assert.match(failed.message, /blocks \d+…\d+ of .*000009\.sst/);
    } finally {
      damaged.close();
    }
  });
});

interface Internals {
  slots: Parameters<typeof visitNewestEntries>[0];
  versions: { current: Parameters<typeof visitNewestEntries>[1] };
  tables: Parameters<typeof visitNewestEntries>[2];
}

/** The newest entry of `key` by point reads (a read path's order, kinds kept): its kind and raw value, or undefined. */
function pointNewest(db: Db, key: Uint8Array): { kind: Kind; value: Buffer } | undefined {
  const d = db as unknown as Internals;
  for (const slot of d.slots) {
    const entry = slot.mem.find(key);
    if (entry >= 0) return { kind: slot.mem.kindAt(entry), value: Buffer.from(slot.mem.valueAt(entry)) };
  }
  const version = d.versions.current;
  for (let level = 0; level < NUM_LEVELS; level++) {
    const tables = version.tables(level);
    const candidates = level === 0 ? tables.filter((table) => compareUserPart(table.smallest, key) <= 0 && compareUserPart(table.largest, key) >= 0) : [findInLevel(tables, key)];
    for (const table of candidates) {
      if (table === undefined) continue;
      const found = d.tables.get(table.fileNumber).get(key);
      if (found !== undefined) return { kind: found.kind, value: Buffer.from(found.value) };
    }
  }
  return undefined;
}

/** The most tables seen in L0 and in one deeper level when a batch was checked. */
const shape = { level0: 0, deeper: 0 };

function checkBatch(db: Db, keys: Uint8Array[]): number {
  const d = db as unknown as Internals;
  shape.level0 = Math.max(shape.level0, d.versions.current.tables(0).length);
  for (let level = 1; level < NUM_LEVELS; level++) shape.deeper = Math.max(shape.deeper, d.versions.current.tables(level).length);
  sortKeys(keys);
  const seen = new Map<number, { kind: Kind; value: Buffer }>();
  visitNewestEntries(d.slots, d.versions.current, d.tables, keys, (index, kind, data, from, to) => {
    assert.ok(!seen.has(index), `key ${index} visited twice`);
    seen.set(index, { kind, value: Buffer.from(data.subarray(from, to)) });
  });
  let found = 0;
  for (let i = 0; i < keys.length; i++) {
    const expected = pointNewest(db, keys[i]!);
    const got = seen.get(i);
    const name = Buffer.from(keys[i]!).toString();
    if (expected === undefined) {
      assert.equal(got, undefined, `${name}: visited, point reads found nothing`);
      continue;
    }
    assert.ok(got !== undefined, `${name}: not visited, point reads found kind ${expected.kind}`);
    assert.equal(got.kind, expected.kind, name);
    assert.deepEqual(got.value, expected.value, name);
    found++;
  }
  return found;
}

describe('visitNewestEntries', () => {
  for (const seed of [11, 12, 13, 14]) {
    test(`seed ${seed}: equals point reads across memtables, L0 and levels after random puts, separated values and deletes`, async (t) => {
      const random = rng(seed);
      const db = await open(tempDir(t), {
        valueThreshold: 40,
        valueLogSegmentBytes: 8192,
        memtableBytes: 4096,
        blockSize: 256,
        targetFileBytes: 2048,
        disableAutoCompaction: true,
      });
      const pool = keyPool(random, 400);
      const model = new Map<string, string | null>();
      let visited = 0;
      for (let step = 0; step < 1500; step++) {
        const key = pool[Math.floor(random() * pool.length)]!;
        const roll = random();
        if (roll < 0.15) {
          await db.del(key);
          model.set(Buffer.from(key).toString(), null);
        } else {
          // Long values are separated (a pointer entry), short ones stay inline.
          const value = `${step}:${'v'.repeat(random() < 0.5 ? 60 : 4)}`;
          await db.put(key, value);
          model.set(Buffer.from(key).toString(), value);
        }
        if (step % 300 === 299) await db.flush();
        if (step % 500 === 499) {
          // A partial compaction: some keys reach deeper levels, others stay in L0.
          const [start, end] = sortKeys([pool[Math.floor(random() * pool.length)]!, pool[Math.floor(random() * pool.length)]!]);
          await db.compact({ start: start!, end: end! });
        }
        if (step % 100 === 99) {
          const keys = pool.filter(() => random() < 0.3);
          for (let i = 0; i < 10; i++) keys.push(pool[Math.floor(random() * pool.length)]!);
          keys.push(b(''), b('~~~'));
          visited += checkBatch(db, keys);
        }
      }
      await db.compact();
      visited += checkBatch(db, [...pool]);
      assert.ok(visited > 1000, `${visited} keys checked`);
      // The histories reached the shapes the batch must handle: several L0 tables, a level of several tables.
      assert.ok(shape.level0 >= 2 && shape.deeper >= 3, JSON.stringify(shape));
      // The model agrees with what the batch and the point reads agreed on.
      for (const [key, value] of model) assert.equal(db.getSync(key) === undefined ? null : Buffer.from(db.getSync(key)!).toString(), value, key);
      const d = db as unknown as Internals;
      assert.throws(() => visitNewestEntries(d.slots, d.versions.current, d.tables, [b('b'), b('a')], () => {}), { code: 'INVALID_ARGUMENT' });
      await db.close();
    });
  }
});
