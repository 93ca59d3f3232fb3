/**
 * Compaction wired into the database: background jobs after flushes keep L0 bounded, data matches
 * an in-memory model (point reads, iteration, after reopen), snapshots survive the files they read
 * being replaced, `db.compact()` collapses everything into one level, failures install nothing and
 * are retried, write stalls hold writes until compaction catches up, and close aborts cleanly.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { open, type Db } from '../src/index.js';
import { MAX_IMMUTABLE_MEMTABLES } from '../src/db/db.js';
import { nodeVfs } from '../src/vfs/node-vfs.js';
import type { Vfs } from '../src/vfs/types.js';
import { modelRange, rejectsCode, rng, s, strings, tempDir, throwsCode } from './db-helpers.js';

const small = {
  durability: 'relaxed' as const,
  memtableBytes: 2048,
  blockSize: 256,
  l0CompactionTrigger: 3,
  l0SlowdownTrigger: 8,
  l0StopTrigger: 12,
  baseLevelBytes: 16 * 1024,
  levelMultiplier: 4,
  targetFileBytes: 4096,
};

const key = (i: number) => `key${String(i).padStart(5, '0')}`;

/** Wait until no compaction runs and none is due (background work has settled). */
async function settle(db: Db): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const st = db.stats();
    if (!st.compaction.running && st.immutableMemtables === 0 && st.levels[0]!.files < small.l0CompactionTrigger) {
      await sleep(5);
      const again = db.stats();
      if (!again.compaction.running && again.compaction.compactions === st.compaction.compactions) return;
    }
    await sleep(5);
  }
  throw new Error('compaction did not settle');
}

function checkModel(db: Db, model: Map<string, string>, keys: number, label: string): void {
  for (let i = 0; i < keys; i++) assert.equal(s(db.getSync(key(i))), model.get(key(i)), `${label}: ${key(i)}`);
  assert.deepEqual(strings(db.iterator()), modelRange(model, {}), `${label}: forward iteration`);
  assert.deepEqual(strings(db.iterator({ reverse: true })), modelRange(model, { reverse: true }), `${label}: reverse iteration`);
}

/** Whether the caller is the compaction scheduler creating an output table (not a flush). */
function fromCompaction(): boolean {
  return (new Error().stack ?? '').includes('compaction-scheduler');
}

/** The real file system, with `hook` run before every table file is created. */
function hookedVfs(hook: (path: string) => Promise<void> | void): Vfs {
  return Object.create(nodeVfs, {
    open: {
      value: (path: string, options: Parameters<Vfs['open']>[1]) => {
        const before = path.endsWith('.sst') && fromCompaction() ? hook(path) : undefined;
        return Promise.resolve(before).then(() => nodeVfs.open(path, options));
      },
    },
  }) as Vfs;
}

function tableFilesOnDisk(dir: string): number {
  return readdirSync(dir).filter((name) => name.endsWith('.sst')).length;
}

describe('db compaction', () => {
  test('background compaction keeps L0 bounded and the data matches the model, also after reopen', async (t) => {
    const dir = tempDir(t);
    let db = await open(dir, small);
    const model = new Map<string, string>();
    const random = rng(7);
    const keys = 600;
    let maxL0 = 0;
    for (let step = 0; step < 6000; step++) {
      const k = key(Math.floor(random() * keys));
      if (random() < 0.2) {
        await db.del(k);
        model.delete(k);
      } else {
        const v = `v${step}-${'x'.repeat(Math.floor(random() * 40))}`;
        await db.put(k, v);
        model.set(k, v);
      }
      maxL0 = Math.max(maxL0, db.stats().levels[0]!.files);
    }
    await settle(db);
    const stats = db.stats();
    assert.ok(stats.compaction.compactions > 0, 'compactions ran');
    assert.ok(stats.compaction.bytesWritten > 0 && stats.compaction.bytesRead > 0);
    assert.equal(stats.compaction.failures, 0);
    assert.equal(stats.compaction.lastError, null);
    assert.ok(maxL0 < small.l0StopTrigger, `L0 peaked at ${maxL0}`);
    assert.ok(stats.levels[0]!.files < small.l0CompactionTrigger);
    assert.ok(stats.levels.slice(1).some((level) => level.files > 0), 'data reached L1+');
    checkModel(db, model, keys, 'live');
    await db.close();
    // Obsolete inputs were unlinked: the directory holds exactly the live tables.
    db = await open(dir, small);
    assert.equal(tableFilesOnDisk(dir), db.stats().tableFiles);
    checkModel(db, model, keys, 'reopened');
    await db.close();
  });

  test('a snapshot taken before a compaction still reads its data after the compaction replaced the files', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { ...small, disableAutoCompaction: true });
    const before = new Map<string, string>();
    for (let i = 0; i < 300; i++) {
      await db.put(key(i), `old${i}`);
      before.set(key(i), `old${i}`);
    }
    await db.flush();
    const snap = db.snapshot();
    const filesBefore = new Set(readdirSync(dir).filter((n) => n.endsWith('.sst')));
    const after = new Map(before);
    for (let i = 0; i < 300; i += 2) {
      await db.put(key(i), `new${i}`);
      after.set(key(i), `new${i}`);
    }
    for (let i = 1; i < 300; i += 3) {
      await db.del(key(i));
      after.delete(key(i));
    }
    const iterator = db.iterator({ snapshot: snap });
    await db.compact();
    const stats = db.stats();
    assert.ok(stats.compaction.compactions > 0);
    assert.equal(stats.levels[0]!.files, 0);
    // The compaction replaced every table that existed when the snapshot was taken.
    const live = new Set(readdirSync(dir).filter((n) => n.endsWith('.sst')));
    assert.ok([...live].some((n) => !filesBefore.has(n)), 'new tables were written');
    for (let i = 0; i < 300; i++) {
      assert.equal(s(db.getSync(key(i), { snapshot: snap })), before.get(key(i)), `snapshot ${key(i)}`);
      assert.equal(s(db.getSync(key(i))), after.get(key(i)), `now ${key(i)}`);
    }
    assert.deepEqual(strings(iterator), modelRange(before, {}));
    assert.deepEqual(strings(db.iterator({ snapshot: snap })), modelRange(before, {}));
    assert.deepEqual(strings(db.iterator()), modelRange(after, {}));
    snap.release();
    // Released: new writes and another compaction still read right, and so does a reopen.
    for (let i = 0; i < 300; i += 5) {
      await db.put(key(i), `newer${i}`);
      after.set(key(i), `newer${i}`);
    }
    await db.compact();
    assert.deepEqual(strings(db.iterator()), modelRange(after, {}));
    await db.close();
    const reopened = await open(dir, small);
    assert.deepEqual(strings(reopened.iterator()), modelRange(after, {}));
    await reopened.close();
  });

  test('db.compact() leaves one populated level, drops tombstones and reclaims space', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { ...small, disableAutoCompaction: true });
    const model = new Map<string, string>();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 400; i++) {
        const v = `r${round}-${i}-${'y'.repeat(20)}`;
        await db.put(key(i), v);
        model.set(key(i), v);
      }
      await db.flush();
    }
    for (let i = 0; i < 400; i += 2) {
      await db.del(key(i));
      model.delete(key(i));
    }
    await db.flush();
    const before = db.stats();
    assert.ok(before.levels[0]!.files >= 5, 'auto compaction is off');
    assert.equal(before.compaction.compactions, 0);
    await db.compact();
    const after = db.stats();
    const populated = after.levels.filter((level) => level.files > 0);
    assert.equal(populated.length, 1, JSON.stringify(after.levels));
    assert.ok(populated[0]!.level >= 1);
    assert.ok(after.tableBytes < before.tableBytes / 2, `${after.tableBytes} < ${before.tableBytes} / 2`);
    assert.ok(after.compaction.droppedTombstones >= 200);
    assert.ok(after.compaction.manualCompactions >= 1);
    checkModel(db, model, 400, 'compacted');
    // Obsolete files go once nothing pins them.
    for (let i = 0; i < 50 && tableFilesOnDisk(dir) !== after.tableFiles; i++) await sleep(10);
    assert.equal(tableFilesOnDisk(dir), after.tableFiles);
    // Entries on disk: only the live keys remain, one version each.
    const entries = [...db.iterator()].length;
    assert.equal(entries, 200);
    // A range compaction of an already compacted range changes nothing.
    const count = after.compaction.compactions;
    await db.compact({ start: key(10), end: key(20) });
    assert.equal(db.stats().compaction.compactions, count);
    await db.close();
    const reopened = await open(dir, small);
    checkModel(reopened, model, 400, 'reopened');
    await reopened.close();
  });

  test('compact() of a key range only rewrites that range; bad arguments throw synchronously', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { ...small, disableAutoCompaction: true });
    for (let i = 0; i < 200; i++) await db.put(key(i), `v${i}`);
    await db.flush();
    for (let i = 100; i < 200; i++) await db.put(key(i), `w${i}`);
    await db.flush();
    await db.compact({ start: key(0), end: key(50) });
    const st = db.stats();
    assert.ok(st.compaction.compactions > 0);
    for (let i = 0; i < 200; i++) assert.equal(s(db.getSync(key(i))), i < 100 ? `v${i}` : `w${i}`);
    throwsCode(() => db.compact(null as never), 'INVALID_ARGUMENT');
    throwsCode(() => db.compact({ start: 5 as never }), 'INVALID_ARGUMENT');
    await db.close();
    throwsCode(() => db.compact(), 'CLOSED');
    const ro = await open(dir, { readOnly: true });
    throwsCode(() => ro.compact(), 'READ_ONLY');
    await ro.close();
  });

  test('compaction options are validated on open', async (t) => {
    const dir = tempDir(t);
    await rejectsCode(() => open(dir, { l0CompactionTrigger: 0 }), 'INVALID_ARGUMENT');
    await rejectsCode(() => open(dir, { l0SlowdownTrigger: 10, l0StopTrigger: 5 }), 'INVALID_ARGUMENT');
    await rejectsCode(() => open(dir, { targetFileBytes: 'big' as never }), 'INVALID_ARGUMENT');
    await rejectsCode(() => open(dir, { disableAutoCompaction: 1 as never }), 'INVALID_ARGUMENT');
    // A compaction trigger above the default slowdown trigger moves the stall triggers with it.
    const db = await open(dir, { l0CompactionTrigger: 50 });
    await db.close();
  });

  test('a failed compaction installs nothing, loses nothing, is recorded and retried', async (t) => {
    const dir = tempDir(t);
    let failing = false;
    let failures = 0;
    // Fail the creation of compaction outputs.
    const vfs = hookedVfs(() => {
      if (!failing) return;
      failures++;
      throw Object.assign(new Error('injected compaction write failure'), { code: 'IO_ERROR' });
    });
    const db = await open(dir, { ...small, vfs, disableAutoCompaction: true });
    const model = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) {
        await db.put(key(i), `r${round}-${i}`);
        model.set(key(i), `r${round}-${i}`);
      }
      await db.flush();
    }
    const filesBefore = db.stats().tableFiles;
    const onDiskBefore = tableFilesOnDisk(dir);
    failing = true;
    await assert.rejects(db.compact(), /injected compaction write failure/);
    failing = false;
    assert.ok(failures > 0);
    let st = db.stats();
    assert.equal(st.compaction.failures, 1);
    assert.match(st.compaction.lastError ?? '', /injected/);
    assert.equal(st.tableFiles, filesBefore, 'nothing installed');
    assert.equal(tableFilesOnDisk(dir), onDiskBefore, 'no partial output left behind');
    assert.equal(st.backgroundError, null, 'writes go on');
    checkModel(db, model, 100, 'after failure');
    // Background: the failing job is retried with backoff until it succeeds.
    await db.close();
    failing = true;
    const bg = await open(dir, { ...small, vfs, l0CompactionTrigger: 2 });
    for (let i = 0; i < 200 && bg.stats().compaction.failures < 2; i++) await sleep(10);
    assert.ok(bg.stats().compaction.failures >= 2, 'retried after a failure');
    assert.ok(bg.stats().compaction.lastError !== null);
    checkModel(bg, model, 100, 'while failing');
    failing = false;
    for (let i = 0; i < 1000 && bg.stats().compaction.compactions === 0; i++) await sleep(10);
    st = bg.stats();
    assert.ok(st.compaction.compactions > 0, 'the retry succeeded');
    assert.equal(st.compaction.lastError, null);
    assert.ok(st.levels[0]!.files < 2);
    checkModel(bg, model, 100, 'after retry');
    await bg.close();
  });

  test('writes stop at the stop trigger until compaction brings L0 down', async (t) => {
    const dir = tempDir(t);
    // Every held table open waits on its own gate: several compactions may block before the
    // release, and each must be let go (a single overwritten gate left writes waiting forever).
    const gates: (() => void)[] = [];
    let blocked = 0;
    let block = true;
    // Hold the compaction's first output table until released: L0 keeps growing meanwhile.
    const vfs = hookedVfs(async () => {
      if (!block) return;
      blocked++;
      await new Promise<void>((resolve) => gates.push(resolve));
    });
    const db = await open(dir, {
      durability: 'relaxed',
      vfs,
      memtableBytes: 512,
      blockSize: 128,
      l0CompactionTrigger: 2,
      l0SlowdownTrigger: 3,
      l0StopTrigger: 5,
      targetFileBytes: 4096,
    });
    const model = new Map<string, string>();
    const writes: Promise<void>[] = [];
    // Writes before the compaction is seen blocking: one of them may already be held at the stop
    // trigger (flushes run in the background between the checks), so none is awaited for ever.
    const early: Promise<void>[] = [];
    let i = 0;
    while (blocked === 0 && i < 5000) {
      const write = db.put(key(i % 300), `v${i}`);
      early.push(write);
      model.set(key(i % 300), `v${i}`);
      i++;
      await Promise.race([write, sleep(20)]);
    }
    assert.ok(blocked > 0, 'a compaction is writing');
    // Fill L0 up to the stop trigger while the compaction is held.
    let settled = 0;
    for (let n = 0; n < 400; n++, i++) {
      const k = key(i % 300);
      const v = `v${i}`;
      model.set(k, v);
      writes.push(db.put(k, v).then(() => void settled++));
      if (n % 10 === 9) await sleep(1);
    }
    // Flushes run in the background: wait for L0 to reach the stop trigger (however slow the
    // machine is) rather than for a fixed time.
    const reachedStop = (): boolean => db.stats().levels[0]!.files >= 5 && db.stats().stalls.stops > 0;
    for (let waited = 0; !reachedStop() && waited < 30_000; waited += 10) await sleep(10);
    const st = db.stats();
    assert.ok(st.levels[0]!.files >= 5, `L0 reached the stop trigger: ${st.levels[0]!.files}`);
    assert.ok(st.stalls.stops > 0, 'writes stopped');
    assert.ok(settled < writes.length, 'some writes are held');
    block = false;
    for (const release of gates.splice(0)) release();
    await Promise.all([...early, ...writes]);
    assert.equal(settled, writes.length);
    assert.ok(db.stats().levels[0]!.files < 5);
    checkModel(db, model, 300, 'after the stall');
    await db.close();
    const reopened = await open(dir, { durability: 'relaxed' });
    checkModel(reopened, model, 300, 'reopened');
    await reopened.close();
  });

  test('close aborts a running compaction cleanly; nothing is lost', async (t) => {
    const dir = tempDir(t);
    let release: (() => void) | null = null;
    let held = false;
    const vfs = hookedVfs(async () => {
      if (held) return;
      held = true;
      await new Promise<void>((resolve) => (release = resolve));
    });
    const db = await open(dir, { ...small, vfs, l0CompactionTrigger: 2 });
    const model = new Map<string, string>();
    // A write may be held at the stop trigger once the compaction blocks: none is awaited for ever,
    // and the model takes each write when it is acknowledged (one still held at close may fail).
    const early: Promise<unknown>[] = [];
    for (let i = 0; !held && i < 5000; i++) {
      const k = key(i % 200);
      const v = `v${i}`;
      const write = db.put(k, v);
      early.push(write.then(() => void model.set(k, v), (error: unknown) => error));
      await Promise.race([write, sleep(20)]);
    }
    assert.ok(held, 'a compaction is running');
    const closing = db.close();
    await sleep(10);
    (release as (() => void) | null)?.();
    await closing;
    await Promise.all(early);
    assert.equal(db.closed, true);
    const reopened = await open(dir, { ...small, disableAutoCompaction: true });
    assert.equal(tableFilesOnDisk(dir), reopened.stats().tableFiles, 'no stray outputs');
    checkModel(reopened, model, 200, 'reopened after an aborted compaction');
    await reopened.close();
  });
});

test('writes wait for flushes when memtables pile up, even without a WAL', async (t) => {
  // Without a WAL an awaited write resolves in a microtask; a tight loop of them must still let
  // the flushes run instead of stacking frozen memtables without bound.
  const db = await open(tempDir(t), { durability: 'none', memtableBytes: 4096, disableAutoCompaction: true });
  let most = 0;
  const value = 'v'.repeat(100);
  for (let i = 0; i < 3000; i++) {
    await db.put(`key-${String(i).padStart(6, '0')}`, value);
    most = Math.max(most, db.stats().immutableMemtables);
  }
  assert.ok(most <= MAX_IMMUTABLE_MEMTABLES, `at most ${MAX_IMMUTABLE_MEMTABLES} immutable memtables, saw ${most}`);
  assert.ok(db.stats().operations.memtableStalls > 0, 'the limit was reached and writes waited');
  assert.equal(db.getSync('key-000000')?.length, 100);
  assert.equal(db.getSync('key-002999')?.length, 100);
  await db.close();
});
