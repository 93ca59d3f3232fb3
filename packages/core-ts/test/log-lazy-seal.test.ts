/**
 * Lazy sealing (`none` durability): a segment is created before its predecessor's sync has
 * finished — possibly while the syncs of several earlier segments are still queued — and its stamp
 * (format version 3; version 2 from older writers) says so. Recovery verifies predecessors back to
 * the nearest version-1 stamp and cuts the log back to a prefix when a crash cost one of them a
 * tail or its file — never CORRUPTION for what a crash can do — while segments written with a
 * synced seal (version 1) keep their promise of being whole, and damage to them stays CORRUPTION.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaultVfs, SeededRandom, type OpenOptions, type Vfs, type VfsFile } from '../src/log.js';
import { segmentFileName } from '../src/log/file-names.js';
import {
  CHAINED_SEAL_VERSION,
  encodeIndexStamp,
  INDEX_STAMP_BYTES,
  LAZY_SEAL_VERSION,
  LOG_FORMAT_VERSION,
  SEGMENT_MAGIC,
} from '../src/log/index-stamp.js';
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
  test('none mode stamps a new segment version 3 until its predecessor is synced, then version 1; sync mode always 1', async () => {
    const lazy = new FaultVfs();
    const log = await openLog(slowSyncs(lazy, 20), DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    await log.appendMany(entries(0, 8));
    const [first, second] = await segmentStarts(lazy);
    assert.equal(stampVersion(lazy, first!), 1);
    // The seal of the first segment is still syncing (20 ms): the second says so.
    assert.equal(stampVersion(lazy, second!), CHAINED_SEAL_VERSION);
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
    await file.write(encodeIndexStamp(SEGMENT_MAGIC, last, 4), 0);
    await file.close();
    const error = await rejectsWithCode(openLog(vfs, DIR), 'CORRUPTION');
    assert.match(error.message, /format version 4/);
  });

  test('segments are created while several seals are pending, at most four; a version-1 stamp is written only once everything before it is durable', async () => {
    const fault = new FaultVfs();
    const violations: string[] = [];
    let mostLazy = 0;
    let created = 0;
    const checking = slowSyncs(
      fault,
      15,
      async (path) => {
        if (!path.endsWith('.seg')) return;
        created++;
        existing.add(path.slice(DIR.length + 1));
        const starts = await segmentStarts(fault);
        // Segments whose stamp says their predecessor may be unsynced, at the creation of another.
        mostLazy = Math.max(mostLazy, starts.filter((start) => stampVersion(fault, start) === CHAINED_SEAL_VERSION).length);
      },
      (path, data, position) => {
        if (!path.endsWith('.seg') || position !== 0 || data.length < INDEX_STAMP_BYTES) return;
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        if (view.getUint32(4, true) !== LOG_FORMAT_VERSION) return;
        const start = Number(view.getBigUint64(8, true));
        // The stamp promises that every earlier segment is durable, directory entries included.
        for (const earlier of [...existing].filter((name) => Number(name.slice(0, -4)) < start)) {
          const path = join(DIR, earlier);
          if (!durableEntries.has(earlier) || Buffer.compare(fault.contentOf(path), fault.durableContentOf(path)) !== 0) {
            violations.push(`${earlier} before the version-1 stamp of ${start}`);
          }
        }
      },
      () => {},
      (names) => {
        for (const name of names) durableEntries.add(name);
      },
    );
    const existing = new Set<string>();
    const durableEntries = new Set<string>();
    const log = await openLog(checking, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    // Many appends in flight at once, across many rotations, faster than the syncs.
    await Promise.all(entries(0, 200).map((value) => log.append(value)));
    await log.close();
    assert.ok(created >= 10, `${created} segments`);
    assert.ok(mostLazy >= 2, `at most ${mostLazy} version-3 stamps at once: no chain of pending seals formed`);
    assert.ok(mostLazy <= 5, `${mostLazy} version-3 stamps at once: more than four seals were pending`);
    assert.deepEqual(violations, []);
    const reopened = await openLog(fault, DIR);
    assert.deepEqual(await reopened.readAll(), entries(0, 200));
    await reopened.close();
  });

  test('a chain of lazily sealed segments: verified back to the nearest version-1 stamp, cut at the first short one', async () => {
    for (const shortAt of [1, 2, 3]) {
      const vfs = new FaultVfs();
      const starts = await writeLog(vfs, 'none', 60);
      assert.ok(starts.length >= 5, `${starts.length} segments`);
      // A crash left the last three seals unfinished: the last three stamps still say version 3.
      const chain = starts.slice(-3);
      for (const start of chain) await markLazy(vfs, segmentPath(start), start, encodeIndexStamp(SEGMENT_MAGIC, start, CHAINED_SEAL_VERSION));
      // The segment `shortAt` back from the last lost everything after its first record.
      const short = starts[starts.length - 1 - shortAt]!;
      const firstRecordEnd = INDEX_STAMP_BYTES + 12 + entries(short, short + 1)[0]!.length;
      await damageTail(vfs, short, firstRecordEnd + 2);
      const log = await openLog(vfs, DIR, { segmentBytes: SEGMENT_BYTES });
      assert.deepEqual(await log.readAll(), entries(0, short + 1), `short at ${shortAt}`);
      const left = await segmentStarts(vfs);
      assert.equal(left[left.length - 1], short, `short at ${shortAt}: the segments after the cut are gone`);
      await log.append('after');
      await log.close();
      const again = await openLog(vfs, DIR);
      assert.deepEqual(await again.readAll(), [...entries(0, short + 1), 'after']);
      await again.close();
    }
  });

  test('a chain of lazily sealed segments found whole: every stamp rewritten as version 1, and not read again', async () => {
    const fault = new FaultVfs();
    const opened: string[] = [];
    const watching = slowSyncs(fault, 0, async () => {}, () => {}, (path) => opened.push(path));
    const starts = await writeLog(fault, 'none', 60);
    const chain = starts.slice(-3);
    for (const start of chain) await markLazy(fault, segmentPath(start), start, encodeIndexStamp(SEGMENT_MAGIC, start, CHAINED_SEAL_VERSION));
    const before = starts[starts.length - 4]!;
    opened.length = 0;
    const log = await openLog(watching, DIR);
    assert.deepEqual(await log.readAll(), entries(0, 60));
    await log.close();
    // The walk read the predecessors of the three version-3 segments, the last of them the
    // version-1 segment `before`, whose own predecessor it trusted.
    assert.ok(opened.includes(segmentPath(before)));
    assert.ok(!opened.slice(0, opened.indexOf(segmentPath(before))).includes(segmentPath(starts[starts.length - 5]!)));
    assert.deepEqual(
      chain.map((start) => stampVersion(fault, start)),
      chain.map(() => LOG_FORMAT_VERSION),
    );
    opened.length = 0;
    const again = await openLog(watching, DIR);
    await again.close();
    assert.deepEqual(opened, [segmentPath(starts[starts.length - 1]!)], 'version 1: only the last segment is read');
  });

  test('damage a crash cannot cause inside a chain is CORRUPTION, and so is damage behind the nearest version-1 stamp when read', async () => {
    const vfs = new FaultVfs();
    const starts = await writeLog(vfs, 'none', 60);
    const chain = starts.slice(-3);
    for (const start of chain) await markLazy(vfs, segmentPath(start), start, encodeIndexStamp(SEGMENT_MAGIC, start, CHAINED_SEAL_VERSION));
    // A bad record followed by good ones, two segments back: never taken for a torn tail.
    vfs.corrupt(segmentPath(starts[starts.length - 3]!), INDEX_STAMP_BYTES + 14);
    await rejectsWithCode(openLog(vfs, DIR), 'CORRUPTION');
    assert.equal(vfs.openFiles, 0, 'the failed open left no file open');
    vfs.corrupt(segmentPath(starts[starts.length - 3]!), INDEX_STAMP_BYTES + 14);
    // Damage in a segment before the version-1 stamp that ends the walk: opening trusts it, and
    // reading it reports CORRUPTION (a short segment included), never a shorter log.
    const trusted = starts[1]!;
    await damageTail(vfs, trusted, INDEX_STAMP_BYTES + 12 + entries(trusted, trusted + 1)[0]!.length);
    const log = await openLog(vfs, DIR);
    assert.equal(log.nextIndex, 60);
    await rejectsWithCode(log.readAll(), 'CORRUPTION');
    await log.close();
  });

  test('power loss at any point of a run of rotations recovers a prefix, never CORRUPTION', async () => {
    for (let seed = 1; seed <= 160; seed++) {
      const random = new SeededRandom(seed);
      let vfs = new FaultVfs();
      // Slow syncs (up to 6 ms, against appends that take none) leave chains of pending seals.
      const log = await openLog(slowSyncs(vfs, random.int(0, 6)), DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES + random.int(0, 3) * 48 });
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
 * running while the writer goes on), that runs `onCreate` (awaited) before each file it creates,
 * `onWrite` before each positional write (not writev) and `onOpen` at each open.
 */
function slowSyncs(
  vfs: Vfs,
  syncMs: number,
  onCreate: (path: string) => Promise<void> = async () => {},
  onWrite: (path: string, data: Uint8Array, position: number) => void = () => {},
  onOpen: (path: string) => void = () => {},
  onDirSynced: (names: readonly string[]) => void = () => {},
): Vfs {
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
  return delayed(vfs, [], {
    syncDir: async (dir: string): Promise<void> => {
      await pause(syncMs);
      // The listing and the sync in one synchronous run (both FaultVfs calls do their work at
      // once): the names listed are exactly the entries the sync made durable.
      const [names] = await Promise.all([vfs.readdir(dir), vfs.syncDir(dir)]);
      onDirSynced(names);
    },
    open: async (path: string, options: OpenOptions): Promise<VfsFile> => {
      onOpen(path);
      if (options.mode === 'exclusive') await onCreate(path);
      const file = await vfs.open(path, options);
      return delayed(file, ['sync', 'datasync'], {
        write: (data: Uint8Array, position: number) => {
          onWrite(path, data, position);
          return file.write(data, position);
        },
      });
    },
  });
}
