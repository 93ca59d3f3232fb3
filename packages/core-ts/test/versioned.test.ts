import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FaultVfs } from '../src/vfs/index.js';
import { openCommitStore } from '../src/versioned.js';
import { rejectsCode, tempDir, throwsCode } from './db-helpers.js';
import { b, contents, hex, Model, openStore, scannedRoot, str } from './versioned-helpers.js';

const EMPTY_ROOT = 'be2a8de3dcf46c94ce85cdc8e07ac308f4d8a95490d956c38d780fd610db0813';

describe('versioned store: basics', () => {
  test('a new store is version 0 with the empty LtHash, laid out as documented', async (t) => {
    const home = tempDir(t, 'silt-versioned-');
    const store = await openStore(home);
    assert.equal(store.version, 0);
    assert.equal(hex(store.rootHash()), EMPTY_ROOT);
    const vfs = new (await import('../src/vfs/index.js')).NodeVfs();
    assert.deepEqual(await vfs.readdir(home), ['LOCK', 'changelog', 'current', 'snapshot-00000000000000000000', 'working']);
    assert.equal(await vfs.readlink(join(home, 'current')), 'snapshot-00000000000000000000');
    assert.equal(str(await vfs.readFile(join(home, 'working', 'SNAPSHOT_BASE'))), 'snapshot-00000000000000000000\n');
    await store.close();
    await store.close();
  });

  test('commits versions; reads see pending changes; the root hash matches a full scan; reopen replays', async (t) => {
    const home = tempDir(t, 'silt-versioned-');
    const model = new Model();
    let store = await openStore(home);
    await model.run(store, 12);
    model.check(store, 12);
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'pending', value: 'p' }, { key: 'k1', delete: true }] }]);
    assert.equal(str(store.get('pending')), 'p');
    assert.equal(store.has('k1'), false);
    assert.equal(store.version, 12);
    assert.equal(contents(store).pending, 'p');
    assert.equal(hex(store.rootHash()), scannedRoot(store), 'the working hash covers pending changes');
    const { version, rootHash } = await store.commit();
    assert.equal(version, 13);
    assert.equal(hex(rootHash), scannedRoot(store));
    const root13 = hex(rootHash);
    await store.close();
    store = await openStore(home);
    assert.equal(store.version, 13);
    assert.equal(hex(store.rootHash()), root13);
    assert.equal(str(store.get('pending')), 'p');
    await store.close();
  });

  test('an empty version commits and keeps the hash', async (t) => {
    const store = await openStore(tempDir(t, 'silt-versioned-'));
    store.applyChangeSets([{ name: 'x', changes: [{ key: 'a', value: '1' }] }]);
    const first = await store.commit();
    const empty = await store.commit();
    assert.equal(empty.version, 2);
    assert.equal(hex(empty.rootHash), hex(first.rootHash));
    await store.close();
  });

  test('bad input throws INVALID_ARGUMENT and changes nothing', async (t) => {
    const store = await openStore(tempDir(t, 'silt-versioned-'));
    const before = hex(store.rootHash());
    throwsCode(() => store.applyChangeSets([{ name: 'x', changes: [{ key: 'ok', value: '1' }, { key: '', value: 'v' }] }]), 'INVALID_ARGUMENT');
    throwsCode(() => store.applyChangeSets([{ name: 'x', changes: [{ key: 'k', value: '' }] }]), 'INVALID_ARGUMENT');
    throwsCode(() => store.applyChangeSets([{ name: 'x', changes: [{ key: 'k', value: 'v', delete: true } as never] }]), 'INVALID_ARGUMENT');
    throwsCode(() => store.applyChangeSets([{ name: 7, changes: [] } as never]), 'INVALID_ARGUMENT');
    throwsCode(() => store.applyChangeSets('x' as never), 'INVALID_ARGUMENT');
    throwsCode(() => store.get(''), 'INVALID_ARGUMENT');
    assert.equal(store.has('ok'), false);
    assert.equal(hex(store.rootHash()), before);
    await rejectsCode(() => store.rollback(5), 'OUT_OF_RANGE');
    await rejectsCode(() => store.rollback(-1), 'INVALID_ARGUMENT');
    await rejectsCode(() => openCommitStore(tempDir(t, 'silt-versioned-'), { snapshotInterval: -1 }), 'INVALID_ARGUMENT');
    await rejectsCode(() => openCommitStore(tempDir(t, 'silt-versioned-'), { bogus: 1 } as never), 'INVALID_ARGUMENT');
    await store.close();
    throwsCode(() => store.get('a'), 'CLOSED');
    await rejectsCode(() => store.commit(), 'CLOSED');
  });

  test('several change sets per version, delete then recreate, delete of an absent key', async (t) => {
    const store = await openStore(tempDir(t, 'silt-versioned-'));
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'x', value: '1' }, { key: 'y', value: '2' }] }]);
    await store.commit();
    const afterOne = hex(store.rootHash());
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'x', delete: true }] }]);
    store.applyChangeSets([{ name: 'b', changes: [{ key: 'x', value: '1' }, { key: 'absent', delete: true }] }]);
    assert.equal(hex(store.rootHash()), afterOne, 'delete, recreate and an absent delete leave the hash as it was');
    await store.commit();
    assert.equal(str(store.get('x')), '1');
    assert.equal(hex(store.rootHash()), scannedRoot(store));
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'x', delete: true }, { key: 'y', delete: true }] }]);
    await store.commit();
    assert.equal(hex(store.rootHash()), EMPTY_ROOT, 'insert then delete is the empty hash');
    await store.close();
  });

  test('iterator: bounds, reverse, limit, pending overlay', async (t) => {
    const store = await openStore(tempDir(t, 'silt-versioned-'));
    store.applyChangeSets([{ name: 'a', changes: ['a', 'b', 'c', 'd', 'e'].map((k) => ({ key: k, value: k.toUpperCase() })) }]);
    await store.commit();
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'c', delete: true }, { key: 'bb', value: 'BB' }, { key: 'e', value: 'E2' }] }]);
    const keys = (options?: object) => [...store.iterator(options)].map(([k, v]) => `${str(k)}=${str(v)}`);
    assert.deepEqual(keys(), ['a=A', 'b=B', 'bb=BB', 'd=D', 'e=E2']);
    assert.deepEqual(keys({ reverse: true }), ['e=E2', 'd=D', 'bb=BB', 'b=B', 'a=A']);
    assert.deepEqual(keys({ gt: 'a', lte: 'd' }), ['b=B', 'bb=BB', 'd=D']);
    assert.deepEqual(keys({ gte: 'bb', limit: 2 }), ['bb=BB', 'd=D']);
    assert.deepEqual(keys({ reverse: true, lt: 'e', limit: 2 }), ['d=D', 'bb=BB']);
    await store.close();
  });

  test('a second opener gets LOCKED, then succeeds after the first closes', async (t) => {
    const home = tempDir(t, 'silt-versioned-');
    const store = await openStore(home);
    await rejectsCode(() => openStore(home), 'LOCKED');
    await store.close();
    const again = await openStore(home);
    await again.close();
  });

  test('works the same on the fault-injecting in-memory file system', async () => {
    const vfs = new FaultVfs();
    const model = new Model();
    const store = await openStore('/store', { vfs });
    await model.run(store, 5);
    model.check(store, 5);
    await store.close();
    const reopened = await openStore('/store', { vfs });
    model.check(reopened, 5);
    await reopened.close();
    assert.equal(vfs.openFiles, 0);
  });
});
