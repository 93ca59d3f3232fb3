import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { IndexedLog } from '../src/log/indexed-log.js';
import { FaultVfs } from '../src/vfs/index.js';
import { writeSnapshotBase } from '../src/versioned/base-snapshot.js';
import { changelogCodec } from '../src/versioned/changelog-codec.js';
import { rejectsCode } from './db-helpers.js';
import { hex, Model, openStore } from './versioned-helpers.js';

const HOME = '/store';
const snap = (v: number): string => `snapshot-${String(v).padStart(20, '0')}`;

/** A store on a FaultVfs at version `versions`, snapshots every `interval`, `keep` older ones kept. */
async function built(versions: number, interval = 5, keep = 1) {
  const vfs = new FaultVfs();
  const model = new Model();
  const store = await openStore(HOME, { vfs, snapshotInterval: interval, snapshotKeepRecent: keep });
  await model.run(store, versions);
  return { vfs, model, store, options: { vfs, snapshotInterval: interval, snapshotKeepRecent: keep } };
}

describe('versioned store: snapshots', () => {
  test('a snapshot every interval; current + keepRecent kept; the changelog cut below the oldest kept', async () => {
    const { vfs, model, store } = await built(17);
    const info = await store.info();
    assert.deepEqual(info.snapshots, [10, 15]);
    assert.equal(info.baseSnapshot, 15);
    assert.deepEqual(info.changelog, { first: 11, last: 17 });
    assert.equal(await vfs.readlink(join(HOME, 'current')), snap(15));
    assert.equal(new TextDecoder().decode(await vfs.readFile(join(HOME, 'working', 'SNAPSHOT_BASE'))), `${snap(15)}\n`);
    model.check(store, 17);
    await store.close();
    // Reopen reuses working/ (its base is current) and replays nothing the data already holds.
    const reopened = await openStore(HOME, { vfs });
    assert.equal((await reopened.info()).lastClone, null);
    model.check(reopened, 17);
    await reopened.close();
  });

  test('keepRecent 0 keeps only current and may empty the changelog', async () => {
    const built10 = await built(10, 5, 0);
    const { model, options } = built10;
    let { store } = built10;
    const info = await store.info();
    assert.deepEqual(info.snapshots, [10]);
    assert.equal(info.changelog, null);
    await store.close();
    // Reopening over an emptied changelog, then writing to it again.
    store = await openStore(HOME, options);
    model.check(store, 10);
    await model.run(store, 2);
    assert.deepEqual((await store.info()).changelog, { first: 11, last: 12 });
    model.check(store, 12);
    await store.close();
  });

  test('a snapshot failing halfway leaves no snapshot, reports the error with the commit, and the store goes on', async () => {
    const { vfs, model, store } = await built(4);
    vfs.inject({ kind: 'rename', path: `${snap(5)}-tmp` });
    const result = await model.step(store).catch(() => assert.fail('the commit must stand'));
    assert.equal(result.version, 5);
    assert.equal((result.snapshotError as { code?: string } | undefined)?.code, 'IO_ERROR', 'the failed snapshot is reported');
    const info = await store.info();
    assert.deepEqual(info.snapshots, [0]);
    assert.deepEqual(await vfs.readdir(HOME), ['changelog', 'current', snap(0), 'working']);
    await model.run(store, 5);
    assert.deepEqual((await store.info()).snapshots, [0, 10]);
    model.check(store, 10);
    await store.close();
  });

  test('a snapshot interrupted by a crash leaves a -tmp directory that the next open removes', async () => {
    const { vfs, model, store } = await built(4);
    vfs.inject({ kind: 'rename', path: `${snap(5)}-tmp`, times: Infinity });
    await model.step(store);
    assert.ok((await vfs.readdir(HOME)).every((name) => !name.endsWith('-tmp')));
    vfs.clearFaults();
    // Leave one behind as a crash would, then crash.
    await vfs.mkdir(join(HOME, `${snap(5)}-tmp`));
    const rebooted = vfs.crash();
    const reopened = await openStore(HOME, { vfs: rebooted });
    assert.ok((await rebooted.readdir(HOME)).every((name) => !name.endsWith('-tmp')));
    model.check(reopened, 5);
    await reopened.close();
  });

  test('leftovers of interrupted work (-tmp, -removing, a current-tmp link, a view) are deleted on open', async () => {
    const { vfs, model, store } = await built(7);
    await store.close();
    assert.deepEqual(await vfs.readdir(HOME), ['changelog', 'current', snap(0), snap(5), 'working']);
    await vfs.mkdir(join(HOME, `${snap(0)}-removing`));
    const file = await vfs.open(join(HOME, `${snap(0)}-removing`, 'half-deleted.sst'), { mode: 'replace' });
    await file.write(new Uint8Array(10), 0);
    await file.close();
    await vfs.mkdir(join(HOME, 'view-3-1-tmp'));
    await vfs.symlink(snap(5), join(HOME, 'current-tmp'));
    const reopened = await openStore(HOME, { vfs });
    assert.deepEqual(await vfs.readdir(HOME), ['changelog', 'current', snap(0), snap(5), 'working']);
    model.check(reopened, 7);
    await reopened.close();
  });

  test('a snapshot that cannot be pruned is reported with the commit; the new snapshot stands', async () => {
    const { vfs, model, store } = await built(4, 5, 0);
    vfs.inject({ kind: 'rename', path: snap(0), times: Infinity });
    store.applyChangeSets([{ name: 'x', changes: [{ key: 'k1', value: 'x' }] }]);
    const result = await store.commit();
    assert.equal(result.version, 5);
    assert.equal((result.snapshotError as { code?: string } | undefined)?.code, 'IO_ERROR');
    vfs.clearFaults();
    assert.equal(await vfs.readlink(join(HOME, 'current')), snap(5));
    assert.deepEqual((await store.info()).snapshots, [0, 5]);
    model.versions[5] = { ...model.versions[4]!, k1: 'x' };
    model.check(store, 5);
    // The next snapshot prunes it.
    await model.run(store, 5);
    assert.deepEqual((await store.info()).snapshots, [10]);
    await store.close();
  });

  test('an orphan snapshot (no current link) is adopted', async () => {
    const { vfs, model, store } = await built(7);
    await store.close();
    await vfs.unlink(join(HOME, 'current'));
    const reopened = await openStore(HOME, { vfs });
    assert.equal(await vfs.readlink(join(HOME, 'current')), snap(5));
    model.check(reopened, 7);
    await reopened.close();
  });

  test('an orphan snapshot newer than current (a crash before the link swap) is kept and used', async () => {
    const { vfs, model, store } = await built(12);
    await store.close();
    // As a crash between the rename of snapshot-10 and the swap of current would leave it.
    await vfs.unlink(join(HOME, 'current'));
    await vfs.symlink(snap(5), join(HOME, 'current'));
    await writeSnapshotBase(vfs, HOME, 5);
    const reopened = await openStore(HOME, { vfs, snapshotInterval: 5, snapshotKeepRecent: 1 });
    model.check(reopened, 12);
    assert.deepEqual((await reopened.info()).snapshots, [5, 10]);
    await reopened.rollback(11);
    model.check(reopened, 11);
    assert.equal(await vfs.readlink(join(HOME, 'current')), snap(10), 'the rollback rebuilt from the orphan');
    model.versions.length = 12;
    await model.run(reopened, 4);
    assert.deepEqual((await reopened.info()).snapshots, [10, 15]);
    model.check(reopened, 15);
    await reopened.close();
  });

  test('hard-link failures fall back to copying', async () => {
    const { vfs, model, store } = await built(12);
    vfs.inject({ kind: 'link', path: /\.sst$/, times: Infinity });
    await store.writeSnapshot();
    await store.rollback(11);
    const info = await store.info();
    assert.ok(info.lastClone !== null && info.lastClone.copied > 0 && info.lastClone.linked === 0, JSON.stringify(info.lastClone));
    model.check(store, 11);
    await store.close();
  });
});

describe('versioned store: rollback', () => {
  test('rolls back across snapshots, drops newer ones, and commits on from there', async () => {
    const { vfs, model, store, options } = await built(17);
    await store.rollback(12);
    model.check(store, 12);
    const info = await store.info();
    assert.deepEqual(info.snapshots, [10]);
    assert.deepEqual(info.changelog, { first: 11, last: 12 });
    model.versions.length = 13;
    await model.run(store, 3);
    model.check(store, 15);
    await store.close();
    const reopened = await openStore(HOME, options);
    model.check(reopened, 15);
    await reopened.close();
    assert.equal(vfs.openFiles, 0);
  });

  test('rollback while working/ shares the base snapshot and is ahead of the target (#3011)', async () => {
    const { model, store, options } = await built(8);
    assert.equal((await store.info()).baseSnapshot, 5);
    await store.rollback(6);
    model.check(store, 6);
    await store.close();
    const reopened = await openStore(HOME, options);
    model.check(reopened, 6);
    await reopened.close();
  });

  test('a replay never passes data ahead of its target for the target', async () => {
    const { vfs, store } = await built(8);
    await store.close();
    const { openState, replay } = await import('../src/versioned/base-snapshot.js');
    const { Changelog } = await import('../src/versioned/changelog.js');
    const { accel } = await import('@siltdb/bindings');
    // working/ is at version 8, as it would be if a rollback to 6 had not re-cloned it.
    const state = await openState(join(HOME, 'working'), { vfs, durability: 'none' }, accel);
    const changelog = await Changelog.open(join(HOME, 'changelog'), vfs, true);
    try {
      assert.equal(state.version, 8);
      await rejectsCode(() => replay(state, changelog, 6), 'CORRUPTION');
      assert.equal(await replay(state, changelog, 8), 0);
    } finally {
      await state.db.close();
      await changelog.close();
    }
  });

  test('rollback to a snapshot version, to the current version, and with pending changes', async () => {
    const { model, store } = await built(12);
    store.applyChangeSets([{ name: 'x', changes: [{ key: 'pending', value: '1' }] }]);
    await store.rollback(12);
    model.check(store, 12);
    await store.rollback(10);
    model.check(store, 10);
    await store.close();
  });

  test('a rollback to the snapshot before the first changelog record empties the changelog; the store goes on', async () => {
    const { model, store, options } = await built(12, 5, 0);
    assert.deepEqual((await store.info()).changelog, { first: 11, last: 12 });
    await store.rollback(10);
    model.check(store, 10);
    assert.equal((await store.info()).changelog, null);
    await store.close();
    let reopened = await openStore(HOME, options);
    model.check(reopened, 10);
    model.versions.length = 11;
    await model.run(reopened, 2);
    assert.deepEqual((await reopened.info()).changelog, { first: 11, last: 12 });
    await reopened.close();
    reopened = await openStore(HOME, options);
    model.check(reopened, 12);
    await reopened.close();
  });

  test('no snapshot at or below the target: refused, the store unchanged and usable', async () => {
    const { model, store, options } = await built(17);
    await rejectsCode(() => store.rollback(9), 'OUT_OF_RANGE');
    model.check(store, 17);
    await model.step(store);
    model.check(store, 18);
    await store.close();
    const reopened = await openStore(HOME, options);
    model.check(reopened, 18);
    await reopened.close();
  });

  test('a target between the base snapshot and the first changelog record is refused before any change', async () => {
    const { vfs, model, store, options } = await built(9);
    await store.close();
    // Cut the changelog (1..9) to 8..9: versions 6 and 7 are now unreachable from snapshot 5.
    const log = await IndexedLog.open(join(HOME, 'changelog'), changelogCodec, { vfs });
    const index = (await log.readAll()).findIndex((record) => record.version === 8) + log.firstIndex;
    await log.truncateBefore(index);
    await log.close();
    const store2 = await openStore(HOME, options);
    const before = await vfs.readdir(HOME);
    await rejectsCode(() => store2.rollback(6), 'OUT_OF_RANGE');
    assert.deepEqual(await vfs.readdir(HOME), before);
    assert.equal(await vfs.readlink(join(HOME, 'current')), snap(5));
    model.check(store2, 9);
    await store2.rollback(5);
    model.check(store2, 5);
    await store2.close();
  });

  test('a failure removing a newer snapshot is reported and the store stays as it was', async () => {
    const { vfs, model, store, options } = await built(17);
    vfs.inject({ kind: 'rename', path: snap(15), times: Infinity });
    await rejectsCode(() => store.rollback(12), 'IO_ERROR');
    vfs.clearFaults();
    model.check(store, 17);
    await model.step(store);
    model.check(store, 18);
    await store.close();
    const reopened = await openStore(HOME, options);
    model.check(reopened, 18);
    await reopened.close();
  });

  test('loadVersion gives a read-only view and leaves current alone; commits continue without duplicates', async () => {
    const { vfs, model, store } = await built(17);
    const view = await store.loadVersion(12);
    model.check(view, 12);
    assert.equal(await vfs.readlink(join(HOME, 'current')), snap(15));
    assert.equal(store.version, 17);
    await model.step(store);
    model.check(store, 18);
    model.check(view, 12);
    const latest = await store.loadVersion(18);
    assert.equal(hex(latest.rootHash()), hex(store.rootHash()));
    await latest.close();
    await view.close();
    assert.ok((await vfs.readdir(HOME)).every((name) => !name.startsWith('view-')));
    await rejectsCode(() => store.loadVersion(3), 'OUT_OF_RANGE');
    await rejectsCode(() => store.loadVersion(19), 'OUT_OF_RANGE');
    const { changelog } = await store.info();
    assert.deepEqual(changelog, { first: 11, last: 18 });
    await store.close();
  });
});

describe('versioned store: snapshots of a version that has one', () => {
  test('a snapshot at a version that already has one keeps it (after a rollback to it, or twice in a row)', async () => {
    const { vfs, model, store } = await built(12);
    await store.rollback(10);
    await store.writeSnapshot();
    await store.writeSnapshot();
    assert.equal(await vfs.readlink(join(HOME, 'current')), snap(10));
    model.versions.length = 11;
    await model.run(store, 3);
    await store.close();
    const reopened = await openStore(HOME, { vfs });
    model.check(reopened, 13);
    await reopened.close();
  });
});
