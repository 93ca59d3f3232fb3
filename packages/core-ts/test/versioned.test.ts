import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { accel, type Accelerator } from '@siltdb/bindings';
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
    assert.deepEqual((await store.info()).changelog, { first: 1, last: 2 }, 'the empty version has its changelog record');
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

  test('changes applied while a commit is under way are refused, never slipped into that version', async (t) => {
    const store = await openStore(tempDir(t, 'silt-versioned-'));
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'a', value: '1' }] }]);
    const first = store.commit();
    throwsCode(() => store.applyChangeSets([{ name: 'a', changes: [{ key: 'b', value: '2' }] }]), 'INVALID_ARGUMENT');
    const second = store.commit();
    assert.equal((await first).version, 1);
    assert.equal((await second).version, 2, 'commits called back to back each make a version');
    assert.equal(store.has('b'), false);
    const rolling = store.rollback(1);
    throwsCode(() => store.applyChangeSets([{ name: 'a', changes: [{ key: 'c', value: '3' }] }]), 'INVALID_ARGUMENT');
    await rolling;
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'b', value: '2' }] }]);
    assert.equal((await store.commit()).version, 2);
    assert.deepEqual(contents(store), { a: '1', b: '2' });
    await store.close();
  });

  test('a change set that fails while being mixed in changes nothing (pending data and hash stay in step)', async (t) => {
    // The accelerator, with a switch that makes its next LtHash call fail (as a native error would).
    let failNext = false;
    const accelerator: Accelerator = Object.create(accel, {
      ltHashMix: {
        value: (...args: Parameters<Accelerator['ltHashMix']>) => {
          if (failNext) {
            failNext = false;
            throw new Error('injected LtHash failure');
          }
          return accel.ltHashMix(...args);
        },
      },
    });
    const store = await openStore(tempDir(t, 'silt-versioned-'), { accelerator });
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'k', value: 'v' }, { key: 'p', value: '1' }] }]);
    await store.commit();
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'p', value: '2' }] }]);
    const before = hex(store.rootHash());
    failNext = true;
    assert.throws(() => store.applyChangeSets([{ name: 'a', changes: [{ key: 'p', value: '3' }, { key: 'k', delete: true }, { key: 'n', value: 'new' }] }]), /injected/);
    assert.equal(str(store.get('p')), '2');
    assert.equal(str(store.get('k')), 'v');
    assert.equal(store.has('n'), false);
    assert.equal(hex(store.rootHash()), before);
    assert.equal(scannedRoot(store), before);
    const { rootHash } = await store.commit();
    assert.equal(hex(rootHash), before);
    assert.equal(hex(rootHash), scannedRoot(store));
    await store.close();
  });

  test('change set names label sets, they are not namespaces: one key space, one hash', async (t) => {
    const home = tempDir(t, 'silt-versioned-');
    let store = await openStore(home);
    store.applyChangeSets([
      { name: 'bank', changes: [{ key: 'a', value: '1' }] },
      { name: 'evm', changes: [{ key: 'a', value: '2' }] },
    ]);
    const { rootHash } = await store.commit();
    assert.deepEqual(contents(store), { a: '2' });
    assert.equal(hex(rootHash), scannedRoot(store));
    await store.close();
    // The replay from the changelog (working/ re-cloned) applies the sets in the same order.
    const { NodeVfs } = await import('../src/vfs/index.js');
    await new NodeVfs().unlink(join(home, 'working', 'SNAPSHOT_BASE'));
    store = await openStore(home);
    assert.equal((await store.info()).replayed, 1);
    assert.deepEqual(contents(store), { a: '2' });
    assert.equal(hex(store.rootHash()), hex(rootHash));
    await store.close();
  });

  test("the store keeps its own copies of the caller's bytes", async (t) => {
    const store = await openStore(tempDir(t, 'silt-versioned-'));
    const key = b('key');
    const value = b('value');
    store.applyChangeSets([{ name: 'x', changes: [{ key, value }, { key: b('other'), value }] }]);
    const root = hex(store.rootHash());
    key[0] = 0x7a;
    value.fill(0x21);
    assert.equal(str(store.get('key')), 'value');
    // Values handed out are copies too, pending or committed: changing them changes nothing.
    store.get('key')!.fill(0x21);
    for (const [, v] of store.iterator()) v.fill(0x21);
    assert.equal(str(store.get('key')), 'value');
    await store.commit();
    assert.equal(str(store.get('other')), 'value');
    store.get('other')!.fill(0x21);
    assert.equal(str(store.get('other')), 'value');
    assert.equal(hex(store.rootHash()), root);
    assert.equal(scannedRoot(store), root);
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

  test('iterator: usable like the engine iterator (checked at the call, async, limit, early exit, a fixed view)', async (t) => {
    const store = await openStore(tempDir(t, 'silt-versioned-'));
    store.applyChangeSets([{ name: 'a', changes: ['a', 'b', 'c', 'd'].map((k) => ({ key: k, value: k.toUpperCase() })) }]);
    await store.commit();
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'b', delete: true }, { key: 'bb', value: 'BB' }] }]);
    const show = (entries: Iterable<[Uint8Array, Uint8Array]>) => [...entries].map(([k, v]) => `${str(k)}=${str(v)}`);
    // Bad options throw at the call, with the engine's rules.
    for (const bad of [{ gt: 'a', gte: 'a' }, { lt: 'a', lte: 'a' }, { limit: 1.5 }, { limit: -2 }, { reverse: 'yes' }, { snapshot: 1 }, { gte: '' }, 7]) {
      throwsCode(() => store.iterator(bad as never), 'INVALID_ARGUMENT');
    }
    assert.deepEqual(show(store.iterator({ limit: -1 })), ['a=A', 'bb=BB', 'c=C', 'd=D']);
    assert.deepEqual(show(store.iterator({ limit: Infinity, reverse: true })), ['d=D', 'c=C', 'bb=BB', 'a=A']);
    assert.deepEqual(show(store.iterator({ limit: 0 })), []);
    // Async iteration over the same cursor.
    const seen: string[] = [];
    for await (const [k, v] of store.iterator({ gte: 'b', reverse: true })) seen.push(`${str(k)}=${str(v)}`);
    assert.deepEqual(seen, ['d=D', 'c=C', 'bb=BB']);
    // The iterator reads the state of the moment it was made: later changes and commits do not show.
    const it = store.iterator();
    const bound = Buffer.from('c');
    const ranged = store.iterator({ lt: bound });
    bound[0] = 0x7a;
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'a', delete: true }, { key: 'e', value: 'E' }] }]);
    await store.commit();
    assert.deepEqual(show(it), ['a=A', 'bb=BB', 'c=C', 'd=D']);
    assert.equal(it.closed, true, 'exhausted iterators close themselves');
    assert.deepEqual(show(ranged), ['a=A', 'bb=BB'], 'the bounds were copied');
    // Leaving a for…of early closes it; all() collects the rest.
    const early = store.iterator();
    for (const _ of early) break;
    assert.equal(early.closed, true);
    const rest = store.iterator();
    rest.next();
    assert.deepEqual(show(rest.all()), ['c=C', 'd=D', 'e=E']);
    // A live iterator of a closed store throws CLOSED, also in its pending part.
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'zz', value: 'Z' }] }]);
    const open = store.iterator({ gte: 'e' });
    assert.deepEqual(show([open.next().value!]), ['e=E']);
    await store.close();
    throwsCode(() => open.next(), 'CLOSED');
  });

  test('an iterator made before a rollback throws CLOSED after it', async (t) => {
    const store = await openStore(tempDir(t, 'silt-versioned-'));
    store.applyChangeSets([{ name: 'a', changes: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] }]);
    await store.commit();
    await store.commit();
    const it = store.iterator();
    it.next();
    await store.rollback(1);
    throwsCode(() => it.next(), 'CLOSED');
    assert.deepEqual([...store.iterator()].map(([k]) => str(k)), ['a', 'b']);
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

  test('another process opening the store gets LOCKED, and opens it once the first closes', async (t) => {
    const home = tempDir(t, 'silt-versioned-');
    const tryOpen = (): string => {
      const source = new URL('../src/versioned.ts', import.meta.url).href;
      const script = `const { openCommitStore } = await import(${JSON.stringify(source)});
        try { const s = await openCommitStore(process.argv[1], { snapshotInterval: 0 }); await s.close(); console.log('ok'); }
        catch (e) { console.log(e.code ?? e.message); }`;
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, home], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 0, run.stderr);
      return run.stdout.trim();
    };
    const store = await openStore(home);
    assert.equal(tryOpen(), 'LOCKED');
    await store.close();
    assert.equal(tryOpen(), 'ok');
  });

  test('a store written with one accelerator opens with the other, with the same root hash', async (t) => {
    const { accel, tsAccelerator } = await import('@siltdb/bindings');
    const home = tempDir(t, 'silt-versioned-');
    const model = new Model();
    const written = await openStore(home, { accelerator: tsAccelerator });
    await model.run(written, 6);
    const root = hex(written.rootHash());
    await written.close();
    const other = await openStore(home, { accelerator: accel });
    assert.equal(hex(other.rootHash()), root);
    model.check(other, 6);
    await model.run(other, 2);
    const rootAfter = hex(other.rootHash());
    await other.close();
    const back = await openStore(home, { accelerator: tsAccelerator });
    assert.equal(hex(back.rootHash()), rootAfter);
    await back.close();
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

describe('versioned store: migration of a plain engine directory', () => {
  test('the database becomes snapshot 0 with the hash of its content; the engine files leave home', async (t) => {
    const { open } = await import('../src/index.js');
    const home = tempDir(t, 'silt-versioned-');
    const db = await open(home);
    await db.batch(Array.from({ length: 50 }, (_, i) => ({ type: 'put' as const, key: `key-${i}`, value: `value-${i}` })));
    await db.close();
    const store = await openStore(home);
    assert.equal(store.version, 0);
    assert.equal(Object.keys(contents(store)).length, 50);
    assert.equal(str(store.get('key-7')), 'value-7');
    assert.equal(hex(store.rootHash()), scannedRoot(store));
    const vfs = new (await import('../src/vfs/index.js')).NodeVfs();
    assert.deepEqual(await vfs.readdir(home), ['LOCK', 'changelog', 'current', 'snapshot-00000000000000000000', 'working']);
    store.applyChangeSets([{ name: 'x', changes: [{ key: 'key-7', delete: true }] }]);
    await store.commit();
    await store.close();
    const reopened = await openStore(home);
    assert.equal(reopened.version, 1);
    assert.equal(reopened.has('key-7'), false);
    await reopened.close();
  });

  test('an interrupted migration resumes on the next open', async () => {
    const { open } = await import('../src/index.js');
    const vfs = new FaultVfs();
    const db = await open('/plain', { vfs });
    await db.batch([{ type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'b', value: '2' }]);
    await db.close();
    vfs.inject({ kind: 'symlink', times: Infinity });
    await rejectsCode(() => openStore('/plain', { vfs }), 'IO_ERROR');
    const rebooted = vfs.crash();
    const store = await openStore('/plain', { vfs: rebooted });
    assert.deepEqual(contents(store), { a: '1', b: '2' });
    assert.equal(hex(store.rootHash()), scannedRoot(store));
    assert.ok(!(await rebooted.readdir('/plain')).includes('migrating'));
    await store.close();
  });

  test('a fault then a power cut at every step of a migration: the next open finishes it', async () => {
    const { open } = await import('../src/index.js');
    const kinds = ['rename', 'mkdir', 'syncDir', 'symlink', 'sync', 'open', 'write', 'unlink', 'rmdir', 'link', 'readdir'] as const;
    const plain = async (): Promise<FaultVfs> => {
      const vfs = new FaultVfs();
      const db = await open('/plain', { vfs });
      await db.batch(Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: `v${i}` })));
      await db.close();
      return vfs;
    };
    const expected = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`]));
    const probe = await plain();
    const before = new Map(kinds.map((kind) => [kind, probe.calls(kind)]));
    await (await openStore('/plain', { vfs: probe })).close();
    let cases = 0;
    for (const kind of kinds) {
      const calls = probe.calls(kind) - before.get(kind)!;
      const stride = Math.max(1, Math.ceil(calls / 12));
      for (let nth = 1; nth <= calls; nth += stride) {
        const vfs = await plain();
        vfs.inject({ kind, nth, times: Infinity });
        await openStore('/plain', { vfs }).then((store) => store.close()).catch(() => {});
        const rebooted = vfs.crash();
        const store = await openStore('/plain', { vfs: rebooted });
        assert.deepEqual(contents(store), expected, `${kind} #${nth}`);
        assert.equal(store.version, 0);
        assert.equal(hex(store.rootHash()), scannedRoot(store), `${kind} #${nth}`);
        assert.ok(!(await rebooted.readdir('/plain')).includes('migrating'), `${kind} #${nth}`);
        await store.close();
        cases++;
      }
    }
    assert.ok(cases > 30, `only ${cases} fault points`);
  });

  test('a database holding an empty value is refused and left as it was', async () => {
    const { open } = await import('../src/index.js');
    const vfs = new FaultVfs();
    const db = await open('/plain', { vfs });
    await db.batch([{ type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'empty', value: '' }]);
    await db.close();
    await rejectsCode(() => openStore('/plain', { vfs }), 'INVALID_ARGUMENT');
    const names = await vfs.readdir('/plain');
    assert.ok(names.includes('CURRENT'));
    assert.ok(names.every((name) => !/^(migrating|current|working|changelog|snapshot-)/.test(name)), names.join());
    const again = await open('/plain', { vfs });
    assert.equal(str(again.getSync('a')), '1');
    await again.close();
  });
});

describe('VFS symbolic links', () => {
  test('NodeVfs and FaultVfs create, read, follow and rename links; FaultVfs drops an unsynced one on a crash', async (t) => {
    const { NodeVfs } = await import('../src/vfs/index.js');
    const dir = tempDir(t, 'silt-vfs-');
    for (const [vfs, root] of [[new NodeVfs(), dir], [new FaultVfs(), '/root']] as const) {
      await vfs.mkdir(join(root, 'target'), { recursive: true });
      const file = await vfs.open(join(root, 'target', 'f'), { mode: 'create' });
      await file.write(b('hello'), 0);
      await file.close();
      await vfs.symlink('target', join(root, 'link'));
      assert.equal(await vfs.readlink(join(root, 'link')), 'target');
      assert.equal(str(await vfs.readFile(join(root, 'link', 'f'))), 'hello');
      assert.equal(await vfs.exists(join(root, 'link', 'f')), true);
      await vfs.symlink('elsewhere', join(root, 'link2'));
      await vfs.rename(join(root, 'link2'), join(root, 'link'));
      assert.equal(await vfs.readlink(join(root, 'link')), 'elsewhere');
      await rejectsCode(() => vfs.readlink(join(root, 'target')), 'IO_ERROR');
      await rejectsCode(() => vfs.symlink('x', join(root, 'link')), 'IO_ERROR');
      await vfs.unlink(join(root, 'link'));
      assert.equal(await vfs.exists(join(root, 'link')), false);
    }
    const fault = new FaultVfs();
    await fault.mkdir('/d', { recursive: true, durable: true });
    await fault.symlink('a', '/d/durable', { durable: true });
    await fault.symlink('b', '/d/volatile');
    const after = fault.crash();
    assert.equal(await after.readlink('/d/durable'), 'a');
    assert.equal(await after.exists('/d/volatile'), false);
  });
});

describe('versioned store: byte formats (docs/FORMAT.md §9)', () => {
  test('changelog record and metadata record bytes', async () => {
    const { ChangelogRecord, changelogCodec } = await import('../src/versioned/changelog-codec.js');
    const { encodeMeta, decodeMeta } = await import('../src/versioned/meta.js');
    const record = ChangelogRecord.of(1, [{ name: 's', changes: [{ key: b('k'), value: b('v') }] }]);
    const bytes = changelogCodec.encode(record);
    assert.equal(hex(bytes), '01' + '0100000000000000' + '01000000' + '01000000' + '73' + '01000000' + '01' + '01000000' + '6b' + '01000000' + '76');
    const back = changelogCodec.decode(bytes);
    assert.equal(back.version, 1);
    assert.deepEqual(back.changeSets().map((set) => [set.name, set.changes.map((c) => [str(c.key), str(c.value ?? undefined)])]), [['s', [['k', 'v']]]]);
    const withDelete = changelogCodec.encode(ChangelogRecord.of(2, [{ name: '', changes: [{ key: b('k'), value: null }] }]));
    assert.equal(hex(withDelete), '01' + '0200000000000000' + '01000000' + '00000000' + '01000000' + '00' + '01000000' + '6b');
    for (const bad of [bytes.subarray(0, bytes.length - 1), Uint8Array.of(...bytes, 0), Uint8Array.of(2, ...bytes.subarray(1))]) {
      throwsCode(() => changelogCodec.decode(bad).changeSets(), 'CORRUPTION');
    }
    const lanes = new Uint8Array(2048).fill(3);
    const meta = encodeMeta(258, lanes);
    assert.equal(meta.length, 2057);
    assert.equal(hex(meta.subarray(0, 9)), '01' + '0201000000000000');
    assert.deepEqual(decodeMeta(meta, 'x'), { version: 258, lanes });
    throwsCode(() => decodeMeta(meta.subarray(1), 'x'), 'CORRUPTION');
  });
});
