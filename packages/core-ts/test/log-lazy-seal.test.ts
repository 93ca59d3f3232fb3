/**
 * Lazy sealing (`none` durability): a segment is created before its predecessor's sync has
 * finished, and its stamp (format version 2) says so. Recovery verifies the predecessor of such a
 * segment and cuts the log back to a prefix when a crash cost the predecessor a tail or its file —
 * never CORRUPTION for what a crash can do — while segments written with a synced seal (version 1)
 * keep their promise of being whole, and damage to them stays CORRUPTION.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaultVfs, SeededRandom, type OpenOptions, type Vfs, type VfsFile } from '../src/log.js';
import { segmentFileName } from '../src/log/file-names.js';
import { encodeIndexStamp, INDEX_STAMP_BYTES, LAZY_SEAL_VERSION, LOG_FORMAT_VERSION, SEGMENT_MAGIC } from '../src/log/index-stamp.js';
import { entries, FILE_SYSTEMS, openLog, rejectsWithCode, turns } from './helpers/log-fixtures.js';

const DIR = '/db';
/** Small segments: every few entries start a new one. */
const SEGMENT_BYTES = 160;

const segmentPath = (start: number): string => join(DIR, segmentFileName(start));

async function segmentStarts(vfs: Vfs): Promise<number[]> {
  return (await vfs.readdir(DIR)).filter((name) => name.endsWith('.seg')).map((name) => Number(name.slice(0, -4)));
}

function stampVersion(vfs: FaultVfs, start: number): number {
  const bytes = vfs.contentOf(segmentPath(start));
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
}

/** A closed log of `count` entries in small segments, written with `durability`; its segment starts. */
async function writeLog(vfs: FaultVfs, durability: 'none' | 'sync', count: number): Promise<number[]> {
  const log = await openLog(vfs, DIR, { durability, segmentBytes: SEGMENT_BYTES });
  await log.appendMany(entries(0, count));
  await log.close();
  const starts = await segmentStarts(vfs);
  assert.ok(starts.length >= 4, `${starts.length} segments`);
  return starts;
}

/**
 * Stamp segment `start` version 2 again, as a crash leaves it when its predecessor's background
 * seal had not finished (a finished seal rewrites the stamp as version 1).
 */
async function markLazy(vfs: Vfs, path: string, start: number, stamp = encodeIndexStamp(SEGMENT_MAGIC, start, LAZY_SEAL_VERSION)): Promise<void> {
  const file = await vfs.open(path, { mode: 'readwrite' });
  await file.write(stamp, 0);
  await file.close();
}

/** Replace the file's content from `from` on by `length` bytes of `fill` (or cut it there). */
async function damageTail(vfs: FaultVfs, start: number, from: number, fill?: { length: number; byte: number }): Promise<void> {
  await vfs.truncate(segmentPath(start), from);
  if (fill !== undefined) {
    const file = await vfs.open(segmentPath(start), { mode: 'readwrite' });
    await file.write(new Uint8Array(fill.length).fill(fill.byte), from);
    await file.close();
  }
}

describe('lazy sealing in none mode', () => {
  test('none mode stamps a new segment version 2 until its predecessor is synced, then version 1; sync mode always 1', async () => {
    const lazy = new FaultVfs();
    const log = await openLog(slowSyncs(lazy, 20), DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    await log.appendMany(entries(0, 8));
    const [first, second] = await segmentStarts(lazy);
    assert.equal(stampVersion(lazy, first!), 1);
    // The seal of the first segment is still syncing (20 ms): the second says so.
    assert.equal(stampVersion(lazy, second!), 2);
    await log.appendMany(entries(8, 40));
    await log.close();
    // Every seal finished before close returned, and every stamp was rewritten.
    const lazyStarts = await segmentStarts(lazy);
    assert.ok(lazyStarts.length >= 4);
    assert.deepEqual(
      lazyStarts.map((start) => stampVersion(lazy, start)),
      lazyStarts.map(() => 1),
    );
    const synced = new FaultVfs();
    const syncedStarts = await writeLog(synced, 'sync', 40);
    assert.deepEqual(
      syncedStarts.map((start) => stampVersion(synced, start)),
      syncedStarts.map(() => 1),
    );
    // Both read back whole, by either accelerator (the stamp is the only difference).
    for (const vfs of [lazy, synced]) {
      const log = await openLog(vfs, DIR);
      assert.deepEqual(await log.readAll(), entries(0, 40));
      await log.close();
    }
  });

  test('a predecessor that lost a tail: the log is cut back to its whole records', async () => {
    for (const damage of ['cut inside a record', 'zeros over its last records'] as const) {
      const vfs = new FaultVfs();
      const starts = await writeLog(vfs, 'none', 40);
      const last = starts[starts.length - 1]!;
      const predecessor = starts[starts.length - 2]!;
      await markLazy(vfs, segmentPath(last), last);
      // Keep the stamp and the first record (12-byte header + payload) and part of the next one.
      const firstRecordEnd = INDEX_STAMP_BYTES + 12 + entries(predecessor, predecessor + 1)[0]!.length;
      const size = vfs.contentOf(segmentPath(predecessor)).length;
      if (damage === 'cut inside a record') await damageTail(vfs, predecessor, firstRecordEnd + 5);
      else await damageTail(vfs, predecessor, firstRecordEnd, { length: size - firstRecordEnd, byte: 0 });
      const log = await openLog(vfs, DIR, { segmentBytes: SEGMENT_BYTES });
      assert.equal(log.nextIndex, predecessor + 1, damage);
      assert.deepEqual(await log.readAll(), entries(0, predecessor + 1), damage);
      assert.equal(await vfs.exists(segmentPath(last)), false, `${damage}: the segment after the cut is gone`);
      // It is a working log again: appends continue from the cut, and survive reopening.
      assert.equal(await log.append('after'), predecessor + 1);
      await log.close();
      const again = await openLog(vfs, DIR);
      assert.deepEqual(await again.readAll(), [...entries(0, predecessor + 1), 'after']);
      await again.close();
    }
  });

  for (const fs of FILE_SYSTEMS) {
    test(`${fs.name}: a lazily sealed log reopens whole, and cut back to a prefix when its predecessor is short`, async (t) => {
      const { vfs, dir } = fs.make(t);
      const options = { durability: 'none' as const, segmentBytes: SEGMENT_BYTES };
      const log = await openLog(vfs, dir, options);
      await log.appendMany(entries(0, 30));
      await Promise.all(entries(30, 60).map((value) => log.append(value)));
      await log.close();
      const names = (await vfs.readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
      assert.ok(names.length >= 4, `${names.length} segments`);
      const whole = await openLog(vfs, dir, options);
      assert.deepEqual(await whole.readAll(), entries(0, 60));
      await whole.close();
      // A crash before the last seal finished: the last segment still says version 2, and the
      // predecessor of the last segment loses everything after its first record.
      const last = Number(names[names.length - 1]!.slice(0, -4));
      await markLazy(vfs, join(dir, names[names.length - 1]!), last);
      const predecessor = Number(names[names.length - 2]!.slice(0, -4));
      const firstRecordEnd = INDEX_STAMP_BYTES + 12 + entries(predecessor, predecessor + 1)[0]!.length;
      await vfs.truncate(join(dir, names[names.length - 2]!), firstRecordEnd + 3);
      const cut = await openLog(vfs, dir, options);
      assert.deepEqual(await cut.readAll(), entries(0, predecessor + 1));
      assert.equal(await vfs.exists(join(dir, names[names.length - 1]!)), false);
      await cut.close();
    });
  }

  test('a predecessor whose file was lost: the log ends with the segment before it', async () => {
    const vfs = new FaultVfs();
    const starts = await writeLog(vfs, 'none', 40);
    const last = starts[starts.length - 1]!;
    const predecessor = starts[starts.length - 2]!;
    await markLazy(vfs, segmentPath(last), last);
    await vfs.unlink(segmentPath(predecessor));
    const log = await openLog(vfs, DIR);
    assert.deepEqual(await log.readAll(), entries(0, predecessor));
    assert.equal(await vfs.exists(segmentPath(last)), false);
    await log.close();
  });

  test('a lazily sealed segment whose only predecessor was lost: the log is empty', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    await log.appendMany(entries(0, 8));
    await log.close();
    const starts = await segmentStarts(vfs);
    assert.equal(starts.length, 2);
    await markLazy(vfs, segmentPath(starts[1]!), starts[1]!);
    await vfs.unlink(segmentPath(0));
    const reopened = await openLog(vfs, DIR);
    assert.equal(reopened.firstIndex, 0);
    assert.equal(reopened.nextIndex, 0);
    assert.deepEqual(await segmentStarts(vfs), []);
    await reopened.close();
  });

  test('a predecessor cut back past the first index: the log is empty at the first index', async () => {
    const vfs = new FaultVfs();
    const starts = await writeLog(vfs, 'none', 40);
    const predecessor = starts[starts.length - 2]!;
    const log = await openLog(vfs, DIR);
    await log.truncateBefore(predecessor + 2);
    await log.close();
    const last = starts[starts.length - 1]!;
    await markLazy(vfs, segmentPath(last), last);
    await damageTail(vfs, predecessor, INDEX_STAMP_BYTES + 3);
    const reopened = await openLog(vfs, DIR);
    assert.equal(reopened.firstIndex, predecessor + 2);
    assert.equal(reopened.nextIndex, predecessor + 2);
    await reopened.close();
  });

  test('damage a crash cannot cause is still CORRUPTION: a bad record followed by good ones', async () => {
    const vfs = new FaultVfs();
    const starts = await writeLog(vfs, 'none', 40);
    const predecessor = starts[starts.length - 2]!;
    await markLazy(vfs, segmentPath(starts[starts.length - 1]!), starts[starts.length - 1]!);
    vfs.corrupt(segmentPath(predecessor), INDEX_STAMP_BYTES + 14);
    await rejectsWithCode(openLog(vfs, DIR), 'CORRUPTION');
    assert.equal(vfs.openFiles, 0, 'the failed open left no file open');
  });

  test('opening reads the predecessor only while the last stamp says version 2, then rewrites it', async () => {
    const fault = new FaultVfs();
    const opened: string[] = [];
    const watching = new Proxy(fault, {
      get(target, property, receiver) {
        if (property === 'open') {
          return (path: string, options: OpenOptions): Promise<VfsFile> => {
            opened.push(path);
            return target.open(path, options);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const starts = await writeLog(fault, 'none', 40);
    const last = starts[starts.length - 1]!;
    const predecessorPath = segmentPath(starts[starts.length - 2]!);
    await markLazy(fault, segmentPath(last), last);
    const reopen = async (): Promise<boolean> => {
      opened.length = 0;
      const log = await openLog(watching, DIR);
      await log.close();
      return opened.includes(predecessorPath);
    };
    assert.equal(await reopen(), true, 'version 2: the predecessor is verified');
    assert.equal(stampVersion(fault, last), 1, 'and the stamp rewritten');
    assert.equal(await reopen(), false, 'version 1: only the last segment is read');
  });

  test('a torn rewrite of a stamp (bytes of both versions) is read as version 2, never CORRUPTION', async () => {
    for (const predecessorShort of [false, true]) {
      const vfs = new FaultVfs();
      const starts = await writeLog(vfs, 'none', 40);
      const last = starts[starts.length - 1]!;
      const predecessor = starts[starts.length - 2]!;
      const lazy = encodeIndexStamp(SEGMENT_MAGIC, last, LAZY_SEAL_VERSION);
      const torn = encodeIndexStamp(SEGMENT_MAGIC, last, LOG_FORMAT_VERSION);
      torn.set(lazy.subarray(18), 18); // the rewrite reached byte 18 and no further
      await markLazy(vfs, segmentPath(last), last, torn);
      if (predecessorShort) await damageTail(vfs, predecessor, INDEX_STAMP_BYTES + 5);
      const log = await openLog(vfs, DIR);
      assert.deepEqual(await log.readAll(), predecessorShort ? entries(0, predecessor) : entries(0, 40), `short ${predecessorShort}`);
      await log.close();
    }
    // Bytes that are neither version's are still CORRUPTION.
    const vfs = new FaultVfs();
    const starts = await writeLog(vfs, 'none', 40);
    const last = starts[starts.length - 1]!;
    const bad = encodeIndexStamp(SEGMENT_MAGIC, last, LOG_FORMAT_VERSION);
    bad[17] = bad[17]! ^ 0xff;
    await markLazy(vfs, segmentPath(last), last, bad);
    await rejectsWithCode(openLog(vfs, DIR), 'CORRUPTION');
  });

  test('segments sealed with a sync (version 1) promise to be whole: a short one is CORRUPTION when read', async () => {
    const vfs = new FaultVfs();
    const starts = await writeLog(vfs, 'sync', 40);
    const predecessor = starts[starts.length - 2]!;
    const firstRecordEnd = INDEX_STAMP_BYTES + 12 + entries(predecessor, predecessor + 1)[0]!.length;
    await damageTail(vfs, predecessor, firstRecordEnd);
    const log = await openLog(vfs, DIR);
    await rejectsWithCode(log.readAll(), 'CORRUPTION');
    await log.close();
  });

  test('a segment of a newer format version is refused with a clear CORRUPTION', async () => {
    const vfs = new FaultVfs();
    const starts = await writeLog(vfs, 'none', 40);
    const last = starts[starts.length - 1]!;
    const file = await vfs.open(segmentPath(last), { mode: 'readwrite' });
    await file.write(encodeIndexStamp(SEGMENT_MAGIC, last, 3), 0);
    await file.close();
    const error = await rejectsWithCode(openLog(vfs, DIR), 'CORRUPTION');
    assert.match(error.message, /format version 3/);
  });

  test('a segment is created only once the segment two before it is synced', async () => {
    const fault = new FaultVfs();
    const violations: string[] = [];
    let created = 0;
    const checking = slowSyncs(fault, 3, async (path) => {
      if (!path.endsWith('.seg')) return;
      created++;
      const starts = await segmentStarts(fault);
      const earlier = starts.filter((start) => join(DIR, segmentFileName(start)) !== path).sort((a, b) => a - b);
      // Every segment but the newest existing one (the new file's predecessor) must be durable.
      for (const start of earlier.slice(0, -1)) {
        const current = fault.contentOf(segmentPath(start));
        if (Buffer.compare(current, fault.durableContentOf(segmentPath(start))) !== 0) violations.push(`${start} before ${path}`);
      }
    });
    const log = await openLog(checking, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    // Many appends in flight at once, across many rotations.
    await Promise.all(entries(0, 200).map((value) => log.append(value)));
    await log.close();
    assert.ok(created >= 10, `${created} segments`);
    assert.deepEqual(violations, []);
  });

  test('power loss at any point of a run of rotations recovers a prefix, never CORRUPTION', async () => {
    for (let seed = 1; seed <= 120; seed++) {
      const random = new SeededRandom(seed);
      let vfs = new FaultVfs();
      const log = await openLog(slowSyncs(vfs, random.int(0, 2)), DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES + random.int(0, 3) * 48 });
      const written = entries(0, random.int(10, 120));
      const pending = [log.appendMany(written.slice(0, 5)), ...written.slice(5).map((value) => log.append(value))];
      let synced = 0;
      if (random.chance(0.3)) {
        await Promise.allSettled(pending);
        await log.sync();
        synced = written.length;
      }
      if (random.chance(0.5)) await turns(random.int(0, 12));
      else await pause(random.int(0, 8));
      vfs = vfs.crash(random.chance(0.8) ? { seed, directoryOps: random.chance(0.7) ? 'random-prefix' : 'drop' } : {});
      await Promise.allSettled(pending);
      const recovered = await openLog(vfs, DIR);
      const values = await recovered.readAll();
      assert.ok(values.length >= synced, `seed ${seed}: a synced entry was lost`);
      assert.deepEqual(values, written.slice(0, values.length), `seed ${seed}: not a prefix`);
      await recovered.append('next');
      await recovered.close();
    }
  });
});

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A Vfs over `vfs` whose file and directory syncs take `syncMs` (so background seals are still
 * running while the writer goes on), and that runs `onCreate` (awaited) before each file it creates.
 */
function slowSyncs(vfs: Vfs, syncMs: number, onCreate: (path: string) => Promise<void> = async () => {}): Vfs {
  const delayed = <T extends object>(target: T, names: readonly string[], wrap?: Record<string, unknown>): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        if (wrap !== undefined && typeof property === 'string' && property in wrap) return wrap[property];
        const value = Reflect.get(object, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(object);
        if (typeof property === 'string' && names.includes(property)) {
          return async (...args: unknown[]) => {
            await pause(syncMs);
            return bound(...args);
          };
        }
        return bound;
      },
    });
  return delayed(vfs, ['syncDir'], {
    open: async (path: string, options: OpenOptions): Promise<VfsFile> => {
      if (options.mode === 'exclusive') await onCreate(path);
      return delayed(await vfs.open(path, options), ['sync', 'datasync']);
    },
  });
}
