import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { IndexedLog } from '../src/log/indexed-log.js';
import { FaultVfs, type FaultKind } from '../src/vfs/index.js';
import { ChangelogRecord, changelogCodec } from '../src/versioned/changelog-codec.js';
import { rejectsCode } from './db-helpers.js';
import { hex, Model, openStore, scannedRoot } from './versioned-helpers.js';

const HOME = '/store';
const OPTIONS = { snapshotInterval: 5, snapshotKeepRecent: 1 };

async function built(versions: number, extra: object = {}) {
  const vfs = new FaultVfs();
  const model = new Model();
  const store = await openStore(HOME, { vfs, ...OPTIONS, ...extra });
  await model.run(store, versions);
  return { vfs, model, store };
}

/** Kinds of file-system call a rollback makes; a fault (then a power cut) is tried at each call. */
const ROLLBACK_KINDS: FaultKind[] = ['rename', 'unlink', 'rmdir', 'symlink', 'syncDir', 'mkdir', 'link', 'sync', 'open', 'write', 'readdir'];
/** At most this many fault points per kind (evenly spread), to bound the run time. */
const MAX_POINTS_PER_KIND = 24;

describe('versioned store: crashes', () => {
  test('a fault then a power cut at every step of a rollback leaves the old version or the target', async () => {
    const probe = await built(17);
    const before = new Map(ROLLBACK_KINDS.map((kind) => [kind, probe.vfs.calls(kind)]));
    await probe.store.rollback(12);
    await probe.store.close();
    let cases = 0;
    const outcomes = new Set<number>();
    for (const kind of ROLLBACK_KINDS) {
      const calls = probe.vfs.calls(kind) - before.get(kind)!;
      const stride = Math.max(1, Math.ceil(calls / MAX_POINTS_PER_KIND));
      for (let nth = 1; nth <= calls; nth += stride) {
        const { vfs, model, store } = await built(17);
        vfs.inject({ kind, nth, times: Infinity });
        let succeeded = true;
        await store.rollback(12).catch(() => (succeeded = false));
        const rebooted = vfs.crash();
        const reopened = await openStore(HOME, { vfs: rebooted, ...OPTIONS });
        const version = reopened.version;
        assert.ok(version === 17 || version === 12, `${kind} #${nth}: reopened at ${version}`);
        if (succeeded) assert.equal(version, 12, `${kind} #${nth}: the rollback succeeded`);
        model.check(reopened, version);
        // The store keeps working from there.
        model.versions.length = version + 1;
        await model.step(reopened);
        model.check(reopened, version + 1);
        await reopened.close();
        outcomes.add(version);
        cases++;
      }
    }
    assert.ok(cases > 50, `only ${cases} fault points`);
    assert.deepEqual([...outcomes].sort(), [12, 17]);
  });

  test('a power cut mid catch-up, at every point, gives the same root hash as before and as a full scan', async () => {
    // Small memtables: catch-up flushes tables while it replays.
    const engine = { memtableBytes: 2048 };
    const { vfs, model, store } = await built(30, engine);
    const root = hex(store.rootHash());
    let disk = vfs.crash();
    let failedOpens = 0;
    for (const nth of [1, 2, 3, 5, 8]) {
      disk.inject({ kind: 'sync', nth, times: Infinity });
      try {
        const attempt = await openStore(HOME, { vfs: disk, ...OPTIONS, ...engine });
        await attempt.close();
      } catch {
        failedOpens++;
      }
      disk = disk.crash();
    }
    assert.ok(failedOpens > 0, 'the faults hit the catch-up (or the flush of what it replayed)');
    const reopened = await openStore(HOME, { vfs: disk, ...OPTIONS, ...engine });
    assert.equal(hex(reopened.rootHash()), root);
    assert.equal(scannedRoot(reopened), root);
    model.check(reopened, 30);
    await reopened.close();
  });

  test('data and its hash land together: a power cut after a flush of part of the versions', async () => {
    const engine = { memtableBytes: 4096 };
    const { vfs, model, store } = await built(23, engine);
    // Some versions reached tables, the rest only the changelog: replay must not cancel anything out.
    const rebooted = vfs.crash({ seed: 7 });
    const reopened = await openStore(HOME, { vfs: rebooted, ...OPTIONS, ...engine });
    assert.ok(reopened.version === 23);
    const { replayed, baseSnapshot } = await reopened.info();
    // The case this test is about: some versions after the base were on disk, the rest replayed.
    assert.ok(replayed > 0 && replayed < 23 - baseSnapshot, `replayed ${replayed} of the ${23 - baseSnapshot} versions after snapshot ${baseSnapshot}`);
    assert.equal(hex(reopened.rootHash()), scannedRoot(reopened));
    model.check(reopened, 23);
    await reopened.close();
    await store.close().catch(() => {});
  });

  test('fsync on: every committed version survives a power cut', async () => {
    const { vfs, model } = await built(13);
    const reopened = await openStore(HOME, { vfs: vfs.crash(), ...OPTIONS });
    model.check(reopened, 13);
    await reopened.close();
  });

  test('fsync off: a power cut loses a suffix of versions at most, and the store goes on', async () => {
    const { vfs, model } = await built(13, { fsync: false });
    const reopened = await openStore(HOME, { vfs: vfs.crash(), ...OPTIONS, fsync: false });
    const version = reopened.version;
    assert.ok(version <= 13);
    model.check(reopened, version);
    model.versions.length = version + 1;
    await model.run(reopened, 3);
    model.check(reopened, version + 3);
    await reopened.close();
  });

  test('a commit whose engine write fails poisons the store; the reopened store has each version once', async () => {
    const engine = { memtableBytes: 2048 };
    const { vfs, model, store } = await built(3, { ...engine, snapshotInterval: 0 });
    // The next memtable flush fails, and with it the engine writes after it.
    vfs.inject({ kind: 'sync', path: /working/, times: Infinity });
    let failedAt = 0;
    for (let i = 0; i < 10 && failedAt === 0; i++) {
      const version = store.version + 1;
      await model.step(store).catch(() => (failedAt = version));
    }
    assert.ok(failedAt > 0, 'a commit failed');
    await rejectsCode(() => store.commit(), 'POISONED');
    assert.throws(() => store.get('k1'), { code: 'POISONED' });
    await store.close().catch(() => {});
    const reopened = await openStore(HOME, { vfs: vfs.crash(), ...engine, snapshotInterval: 0 });
    // The changelog record is the commit point: the failed version is there iff its record is.
    assert.ok(reopened.version === failedAt || reopened.version === failedAt - 1);
    if (reopened.version === failedAt) {
      const changes = model.changesFor(failedAt);
      const next = { ...model.versions[failedAt - 1]! };
      for (const c of changes) {
        if (c.delete) delete next[c.key];
        else next[c.key] = c.value!;
      }
      model.versions[failedAt] = next;
    }
    model.check(reopened, reopened.version);
    const { changelog } = await reopened.info();
    assert.deepEqual(changelog, { first: 1, last: reopened.version });
    await reopened.close();
  });

  test('a changelog behind the data: CORRUPTION with fsync on; with fsync off the log restarts', async () => {
    const { vfs, model, store } = await built(8, { snapshotInterval: 0 });
    await store.close();
    const log = await IndexedLog.open(join(HOME, 'changelog'), changelogCodec, { vfs });
    await log.truncateAfter(log.firstIndex + 5);
    await log.close();
    await rejectsCode(() => openStore(HOME, { vfs }), 'CORRUPTION');
    const relaxed = await openStore(HOME, { vfs, fsync: false });
    model.check(relaxed, 8);
    assert.equal((await relaxed.info()).changelog, null);
    await rejectsCode(() => relaxed.rollback(7), 'OUT_OF_RANGE');
    await model.step(relaxed);
    assert.deepEqual((await relaxed.info()).changelog, { first: 9, last: 9 });
    await relaxed.close();
  });

  test('a hole in the changelog is CORRUPTION, never skipped', async () => {
    const { vfs, store } = await built(10, { snapshotInterval: 0 });
    await store.close();
    const log = await IndexedLog.open(join(HOME, 'changelog'), changelogCodec, { vfs });
    const records = await log.readAll();
    await log.truncateAfter(log.firstIndex + records.findIndex((r) => r.version === 6));
    await log.append(ChangelogRecord.of(8, []));
    await log.close();
    // Force a re-clone from snapshot 0, so that the replay crosses the hole.
    await vfs.unlink(join(HOME, 'working', 'SNAPSHOT_BASE'));
    await rejectsCode(() => openStore(HOME, { vfs }), 'CORRUPTION');
  });

  test('a changelog starting after the committed version + 1 is CORRUPTION', async () => {
    const { vfs, store } = await built(10, { snapshotInterval: 0 });
    await store.close();
    const log = await IndexedLog.open(join(HOME, 'changelog'), changelogCodec, { vfs });
    const records = await log.readAll();
    await log.truncateBefore(log.firstIndex + records.findIndex((r) => r.version === 5));
    await log.close();
    await vfs.unlink(join(HOME, 'working', 'SNAPSHOT_BASE'));
    await rejectsCode(() => openStore(HOME, { vfs }), 'CORRUPTION');
    // The lock was released: the error is reported again, not LOCKED.
    await rejectsCode(() => openStore(HOME, { vfs }), 'CORRUPTION');
  });

  test('a corrupted changelog record is CORRUPTION', async () => {
    const { vfs, store } = await built(6, { snapshotInterval: 0 });
    await store.close();
    const segments = (await vfs.readdir(join(HOME, 'changelog'))).filter((name) => name.endsWith('.seg'));
    const segment = join(HOME, 'changelog', segments[0]!);
    // A record in the middle (a torn last record would be cut as a torn tail instead).
    vfs.corrupt(segment, Math.floor(vfs.contentOf(segment).length / 2));
    await vfs.unlink(join(HOME, 'working', 'SNAPSHOT_BASE'));
    await rejectsCode(() => openStore(HOME, { vfs }), 'CORRUPTION');
  });
});
