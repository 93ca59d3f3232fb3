/**
 * Deferred seals (`none` durability): the fdatasync of a sealed segment does not start while the
 * writer is in the middle of a burst — it waits until the pump has been idle a while, until a
 * `sync()`, close or truncation, or until deferring one more would leave `MAX_PENDING_SEALS − 1`
 * of them waiting — and the bound on unsynced sealed segments (what recovery may have to verify)
 * stays `MAX_PENDING_SEALS`. Observed through the FaultVfs's synced state (its calls resolve
 * without a turn of the event loop, so a burst made of awaited calls gives the idle timer no
 * chance to run in the middle of it).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaultVfs, SeededRandom, type IndexedLog, type OpenOptions, type Vfs, type VfsFile } from '../src/log.js';
import { MAX_PENDING_SEALS } from '../src/log/log-writer.js';
import { CHAINED_SEAL_VERSION, LOG_FORMAT_VERSION } from '../src/log/index-stamp.js';
import { entries, openLog, rejectsWithCode, turns } from './helpers/log-fixtures.js';

const DIR = '/db';
/** Small segments: every few entries start a new one. */
const SEGMENT_BYTES = 160;

async function segmentPaths(vfs: Vfs): Promise<string[]> {
  const names = (await vfs.readdir(DIR)).filter((name) => name.endsWith('.seg')).sort();
  return names.map((name) => join(DIR, name));
}

/** Whether a crash would leave the file as it reads now. */
function synced(vfs: FaultVfs, path: string): boolean {
  return Buffer.compare(vfs.contentOf(path), vfs.durableContentOf(path)) === 0;
}

function stampVersion(vfs: FaultVfs, path: string): number {
  const bytes = vfs.contentOf(path);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
}

/**
 * Append in awaited calls of three entries, from entry `from` on, until the log has `segments`
 * segment files; returns the next entry. (A burst: the pump waits between calls, never idle.)
 */
async function burstUntil(log: IndexedLog<string>, vfs: Vfs, from: number, segments: number): Promise<number> {
  let next = from;
  while ((await segmentPaths(vfs)).length < segments) {
    await log.appendMany(entries(next, next + 3));
    next += 3;
  }
  return next;
}

/** Poll `condition` until it holds (no timed assertion: the timeout only ends a test that hangs). */
async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A Vfs over `vfs` that counts the fdatasyncs issued per file, delays file and directory syncs by
 * `syncMs`, and calls `check` before each segment file it creates and each write.
 */
function watching(vfs: FaultVfs, syncMs: number, datasyncs: Map<string, number>, check: (creating: string | null) => void): Vfs {
  const pause = async (): Promise<void> => {
    if (syncMs > 0) await new Promise((resolve) => setTimeout(resolve, syncMs));
  };
  const wrap = <T extends object>(target: T, overrides: Record<string, unknown>): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        if (typeof property === 'string' && property in overrides) return overrides[property];
        const value = Reflect.get(object, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
      },
    });
  return wrap(vfs, {
    syncDir: async (dir: string): Promise<void> => {
      await pause();
      await vfs.syncDir(dir);
    },
    open: async (path: string, options: OpenOptions): Promise<VfsFile> => {
      if (options.mode === 'exclusive' && path.endsWith('.seg')) check(path);
      const file = await vfs.open(path, options);
      const datasync = async (): Promise<void> => {
        datasyncs.set(path, (datasyncs.get(path) ?? 0) + 1);
        await pause();
        await file.datasync();
      };
      return wrap(file, {
        datasync,
        sync: datasync,
        write: (data: Uint8Array, position: number) => {
          check(null);
          return file.write(data, position);
        },
        writev: (chunks: readonly Uint8Array[], position: number) => {
          check(null);
          return file.writev(chunks, position);
        },
      });
    },
  });
}

describe('deferred seals in none mode', () => {
  test('a burst across segments issues no fdatasync: its sealed segments stay unsynced until the log is idle, then are synced and restamped', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    const syncsBefore = vfs.calls('sync');
    // Two sealed segments: one fewer than would start the seals for the bound's sake.
    const next = await burstUntil(log, vfs, 0, 3);
    const paths = await segmentPaths(vfs);
    const sealed = paths.slice(0, -1);
    assert.equal(vfs.calls('sync'), syncsBefore, 'an fdatasync ran during the burst');
    for (const path of sealed) assert.ok(!synced(vfs, path), `${path} was synced during the burst`);
    // Their successors say that their predecessors may be unsynced.
    assert.deepEqual(
      paths.slice(1).map((path) => stampVersion(vfs, path)),
      [CHAINED_SEAL_VERSION, CHAINED_SEAL_VERSION],
    );
    // Idle now: the seals start by themselves.
    await eventually(async () => sealed.every((path) => synced(vfs, path)), 'the sealed segments synced after the burst');
    await eventually(
      async () => paths.slice(1).every((path) => stampVersion(vfs, path) === LOG_FORMAT_VERSION),
      'the successors restamped as version 1',
    );
    // The log goes on as before.
    await log.appendMany(entries(next, next + 10));
    await log.close();
    const reopened = await openLog(vfs, DIR);
    assert.deepEqual(await reopened.readAll(), entries(0, next + 10));
    await reopened.close();
  });

  test('sync() starts the deferred seals and returns with every segment durable', async () => {
    let vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    const next = await burstUntil(log, vfs, 0, 3);
    const paths = await segmentPaths(vfs);
    for (const path of paths.slice(0, -1)) assert.ok(!synced(vfs, path), `${path} was synced during the burst`);
    await log.sync();
    for (const path of paths) assert.ok(synced(vfs, path), `${path} is not durable after sync()`);
    // A power loss right after: every entry is there.
    vfs = vfs.crash({ seed: 7, directoryOps: 'random-prefix' });
    const recovered = await openLog(vfs, DIR);
    assert.deepEqual(await recovered.readAll(), entries(0, next));
    await recovered.close();
  });

  test('close() waits for the deferred seals', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    const next = await burstUntil(log, vfs, 0, 3);
    const paths = await segmentPaths(vfs);
    for (const path of paths.slice(0, -1)) assert.ok(!synced(vfs, path), `${path} was synced during the burst`);
    await log.close();
    for (const path of paths.slice(0, -1)) assert.ok(synced(vfs, path), `${path} is not durable after close()`);
    assert.deepEqual(
      paths.map((path) => stampVersion(vfs, path)),
      paths.map(() => LOG_FORMAT_VERSION),
    );
    const reopened = await openLog(vfs, DIR);
    assert.deepEqual(await reopened.readAll(), entries(0, next));
    await reopened.close();
  });

  test('a truncation starts the deferred seals first', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    const next = await burstUntil(log, vfs, 0, 3);
    const paths = await segmentPaths(vfs);
    assert.ok(!synced(vfs, paths[0]!));
    await log.truncateBefore(2);
    for (const path of paths.slice(0, -1)) assert.ok(synced(vfs, path), `${path} is not durable after the truncation`);
    await log.close();
    const reopened = await openLog(vfs, DIR);
    assert.deepEqual(await reopened.readAll(), entries(2, next));
    await reopened.close();
  });

  for (const syncMs of [0, 3]) {
    test(`a burst across many segments (syncs taking ${syncMs} ms): never more than ${MAX_PENDING_SEALS} sealed segments unsynced`, async () => {
      const fault = new FaultVfs();
      const datasyncs = new Map<string, number>();
      const created: string[] = [];
      let mostUnsynced = 0;
      const vfs = watching(fault, syncMs, datasyncs, (creating) => {
        // Creating a segment: every existing one is sealed; otherwise all but the last.
        const sealed = creating === null ? created.slice(0, -1) : created.slice();
        mostUnsynced = Math.max(mostUnsynced, sealed.filter((path) => !synced(fault, path)).length);
        if (creating !== null) created.push(creating);
      });
      const log = await openLog(vfs, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
      const written = entries(0, 400);
      // One large call, then single appends, all in flight at once.
      await Promise.all([log.appendMany(written.slice(0, 200)), ...written.slice(200).map((value) => log.append(value))]);
      assert.ok(created.length >= 40, `${created.length} segments`);
      assert.ok(mostUnsynced <= MAX_PENDING_SEALS, `${mostUnsynced} sealed segments unsynced at once`);
      await log.close();
      for (const path of created.slice(0, -1)) assert.ok(synced(fault, path), `${path} unsynced after close`);
      // Each seal ran once: one fdatasync per sealed segment.
      assert.deepEqual(
        created.slice(0, -1).map((path) => datasyncs.get(path) ?? 0),
        created.slice(0, -1).map(() => 1),
      );
      const reopened = await openLog(fault, DIR);
      assert.deepEqual(await reopened.readAll(), written);
      await reopened.close();
    });
  }

  test('a failed deferred seal poisons the log, and the stamp after it keeps saying version 3', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES });
    const next = await burstUntil(log, vfs, 0, 3);
    const paths = await segmentPaths(vfs);
    vfs.inject({ kind: 'sync', path: paths[0]! });
    await rejectsWithCode(log.sync(), 'POISONED');
    await rejectsWithCode(log.append('x'), 'POISONED');
    assert.equal(stampVersion(vfs, paths[1]!), CHAINED_SEAL_VERSION);
    await log.close();
    const reopened = await openLog(vfs, DIR);
    const values = await reopened.readAll();
    assert.deepEqual(values, entries(0, next));
    await reopened.close();
  });

  test('power loss with seals deferred recovers a prefix holding every entry a sync() acknowledged', async () => {
    let deferredAtCrash = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const random = new SeededRandom(seed);
      let fault = new FaultVfs();
      const log = await openLog(fault, DIR, { durability: 'none', segmentBytes: SEGMENT_BYTES + random.int(0, 3) * 48 });
      const written = entries(0, random.int(20, 160));
      const syncedUpTo = random.int(0, Math.floor(written.length / 2));
      if (syncedUpTo > 0) {
        await log.appendMany(written.slice(0, syncedUpTo));
        await log.sync();
      }
      // The rest as a burst: awaited calls of random size, or everything in flight at once.
      const pending: Promise<unknown>[] = [];
      for (let at = syncedUpTo; at < written.length; ) {
        const size = random.int(1, 12);
        const call = log.appendMany(written.slice(at, at + size));
        at += size;
        if (random.chance(0.5)) await call;
        else pending.push(call);
      }
      // Mostly a crash in the middle of the burst (seals deferred); sometimes after some turns of
      // the event loop, when seals may have started or finished.
      if (random.chance(0.25)) await turns(random.int(0, 8));
      const paths = await segmentPaths(fault);
      if (paths.slice(0, -1).some((path) => !synced(fault, path))) deferredAtCrash++;
      fault = fault.crash(random.chance(0.8) ? { seed, directoryOps: random.chance(0.7) ? 'random-prefix' : 'drop' } : {});
      await Promise.allSettled(pending);
      const recovered = await openLog(fault, DIR);
      const values = await recovered.readAll();
      assert.ok(values.length >= syncedUpTo, `seed ${seed}: ${values.length} entries, ${syncedUpTo} were synced`);
      assert.deepEqual(values, written.slice(0, values.length), `seed ${seed}: not a prefix`);
      await recovered.append('next');
      await recovered.close();
    }
    assert.ok(deferredAtCrash >= 40, `only ${deferredAtCrash} crashes hit unsynced sealed segments`);
  });
});
