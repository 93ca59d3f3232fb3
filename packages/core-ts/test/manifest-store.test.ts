/**
 * The manifest store: creating, replaying, logging edits, rewriting, and what it does with damaged
 * or missing files and failing I/O.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManifestStore, VersionSet, encodeCurrentFile, manifestDirName, type ManifestOptions, type VersionEdit } from '../src/manifest/index.js';
import { FaultVfs, NodeVfs, SeededRandom, type Vfs } from '../src/log.js';
import { rejectsWithCode, tempDir } from './helpers/log-fixtures.js';
import { describeState, randomEdit, table } from './manifest-fixtures.js';

const DIR = '/db';

function open(vfs: Vfs, options: ManifestOptions = {}, dir = DIR): Promise<ManifestStore> {
  return ManifestStore.open(dir, { vfs, ...options });
}

/** Apply `count` random edits to the store and to a model; returns the model. */
async function churn(store: ManifestStore, count: number, seed = 1, model = modelOf(store)): Promise<VersionSet> {
  const random = new SeededRandom(seed);
  for (let i = 0; i < count; i++) {
    const edit = randomEdit(random, model);
    model.apply(edit);
    await store.logAndApply(edit);
  }
  return model;
}

function modelOf(store: ManifestStore): VersionSet {
  const model = new VersionSet();
  model.apply(store.versions.snapshotEdit());
  return model;
}

/** The manifest directories present: dead ones are emptied and removed. */
async function manifestDirsWithFiles(vfs: Vfs, dir = DIR): Promise<string[]> {
  return (await vfs.readdir(dir)).filter((name) => name.startsWith('MANIFEST-'));
}

describe('manifest store: open, log, replay', () => {
  test('a fresh directory gets CURRENT and an empty manifest; reopening finds it', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    assert.equal(store.created, true);
    assert.equal(store.manifestNumber, 1);
    assert.deepEqual(store.counters, { nextFileNumber: 1, lastSeq: 0, walFlushedIndex: 0 });
    assert.equal(store.current.tableCount, 0);
    assert.deepEqual(vfs.contentOf('/db/CURRENT'), encodeCurrentFile(1));
    await store.close();
    await store.close();
    const again = await open(vfs);
    assert.equal(again.created, false);
    assert.equal(again.manifestNumber, 1);
    await again.close();
  });

  test('reopening replays every edit to the same state', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    const model = await churn(store, 60);
    assert.deepEqual(describeState(store), describeState(model));
    await store.close();
    const reopened = await open(vfs);
    assert.deepEqual(describeState(reopened), describeState(model));
    assert.equal(reopened.manifestSize.edits, 61);
    // And it goes on from there.
    await churn(reopened, 20, 2, model);
    await reopened.close();
    const third = await open(vfs);
    assert.deepEqual(describeState(third), describeState(model));
    await third.close();
  });

  test('concurrent logAndApply calls run one at a time, in call order', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    // Each edit raises lastSeq past the previous one: out of order, one would lower it (CORRUPTION).
    const versions = await Promise.all(Array.from({ length: 30 }, (_, i) => store.logAndApply({ lastSeq: i + 1 })));
    assert.equal(store.counters.lastSeq, 30);
    assert.equal(versions[29], store.current);
    await store.close();
    const reopened = await open(vfs);
    assert.equal(reopened.counters.lastSeq, 30);
    await reopened.close();
  });

  test('a bad edit is rejected, changes nothing, and the store goes on', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    await store.logAndApply({ added: [{ level: 1, table: table(1, 0, 10) }], nextFileNumber: 2 });
    const before = describeState(store);
    await rejectsWithCode(store.logAndApply({ added: [{ level: 1, table: table(1, 20, 30) }] }), 'CORRUPTION');
    await rejectsWithCode(store.logAndApply({ added: [{ level: 1, table: table(5, 5, 30) }], nextFileNumber: 6 }), 'CORRUPTION');
    await rejectsWithCode(store.logAndApply({ removed: [{ level: 0, fileNumber: 1 }] }), 'CORRUPTION');
    await rejectsWithCode(store.logAndApply({ lastSeq: -1 }), 'INVALID_ARGUMENT');
    await rejectsWithCode(store.logAndApply({ snapshot: true }), 'CORRUPTION');
    assert.deepEqual(describeState(store), before);
    assert.equal(store.manifestSize.edits, 2);
    await store.logAndApply({ lastSeq: 4 });
    await store.close();
    await rejectsWithCode(store.logAndApply({ lastSeq: 5 }), 'CLOSED');
    const reopened = await open(vfs);
    assert.deepEqual(describeState(reopened), { ...before, counters: { ...before.counters, lastSeq: 4 } });
    await reopened.close();
  });

  test('file numbers handed out are recorded by the next edit', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    const a = store.newFileNumber();
    const b = store.newFileNumber();
    await store.logAndApply({ added: [{ level: 0, table: table(a, 0, 1) }] });
    assert.equal(store.counters.nextFileNumber, b + 1);
    await store.close();
    const reopened = await open(vfs);
    assert.equal(reopened.newFileNumber(), b + 1);
    await reopened.close();
  });

  test('obsolete files are reported after the edit that drops them, not for replayed edits', async () => {
    const vfs = new FaultVfs();
    const reported: number[] = [];
    const store = await open(vfs, { onObsoleteFiles: (files) => reported.push(...files) });
    await store.logAndApply({ added: [{ level: 0, table: table(1, 0, 9) }, { level: 0, table: table(2, 0, 9, 2, 2) }], nextFileNumber: 3 });
    const pinned = store.current.ref();
    await store.logAndApply({ removed: [{ level: 0, fileNumber: 1 }] });
    assert.deepEqual(reported, []);
    pinned.unref();
    assert.deepEqual(reported, [1]);
    await store.close();
    const reopened = await open(vfs);
    assert.deepEqual(reopened.takeObsoleteFiles(), []);
    await reopened.logAndApply({ removed: [{ level: 0, fileNumber: 2 }] });
    assert.deepEqual(reopened.takeObsoleteFiles(), [2]);
    assert.deepEqual([...reopened.versions.liveFileNumbers()], []);
    await reopened.close();
  });
});

describe('manifest store: rewriting', () => {
  test('rewrite() keeps the state, switches CURRENT, deletes the old manifest, and survives reopening', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    const model = await churn(store, 40);
    await store.rewrite();
    assert.equal(store.manifestNumber, 2);
    assert.equal(store.manifestSize.edits, 1);
    assert.deepEqual(describeState(store), describeState(model));
    assert.deepEqual(vfs.contentOf('/db/CURRENT'), encodeCurrentFile(2));
    assert.deepEqual(await manifestDirsWithFiles(vfs), [manifestDirName(2)]);
    await churn(store, 10, 5, model);
    await store.close();
    const reopened = await open(vfs);
    assert.equal(reopened.manifestNumber, 2);
    assert.deepEqual(describeState(reopened), describeState(model));
    await reopened.close();
  });

  test('the manifest is rewritten on its own past rewriteEdits, and past rewriteBytes', async () => {
    for (const options of [{ rewriteEdits: 10 }, { rewriteBytes: 3000 }]) {
      const vfs = new FaultVfs();
      const store = await open(vfs, options);
      const model = await churn(store, 50);
      await store.close();
      assert.ok(store.manifestNumber > 2, `${JSON.stringify(options)}: manifest ${store.manifestNumber}`);
      const size = store.manifestSize;
      assert.ok(size.edits <= 11 && size.bytes <= Math.max(3000, 2 * size.snapshotBytes) + 600, JSON.stringify(size));
      assert.deepEqual(await manifestDirsWithFiles(vfs), [manifestDirName(store.manifestNumber)]);
      const reopened = await open(vfs, options);
      assert.deepEqual(describeState(reopened), describeState(model));
      await reopened.close();
    }
  });

  test('a state larger than rewriteBytes is not rewritten after every edit', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs, { rewriteBytes: 500 });
    // 40 disjoint L1 tables: a snapshot far above 500 bytes.
    await store.logAndApply({ added: Array.from({ length: 40 }, (_, i) => ({ level: 1, table: table(i + 1, i * 10, i * 10 + 5) })), nextFileNumber: 41 });
    for (let i = 1; i <= 30; i++) await store.logAndApply({ lastSeq: i });
    await store.close();
    // With the limit alone, each of the 30 edits would have triggered a rewrite.
    assert.ok(store.manifestNumber <= 3, `manifest ${store.manifestNumber}`);
  });

  test('a manifest over the limit at open is rewritten', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    const model = await churn(store, 30);
    await store.close();
    const reopened = await open(vfs, { rewriteEdits: 5 });
    await reopened.close();
    assert.equal(reopened.manifestNumber, 2);
    const third = await open(vfs);
    assert.deepEqual(describeState(third), describeState(model));
    await third.close();
  });

  test('on node:fs too', async (t) => {
    const dir = join(tempDir(t, 'silt-manifest-'), 'db');
    const vfs = new NodeVfs();
    const store = await open(vfs, { rewriteEdits: 7 }, dir);
    const model = await churn(store, 25);
    await store.rewrite();
    await store.close();
    const reopened = await open(vfs, {}, dir);
    assert.deepEqual(describeState(reopened), describeState(model));
    assert.deepEqual(await manifestDirsWithFiles(vfs, dir), [manifestDirName(reopened.manifestNumber)]);
    await reopened.close();
  });
});

describe('manifest store: failures', () => {
  test('a failed append poisons the store; reopening recovers a consistent state', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    const model = await churn(store, 5);
    const before = describeState(store);
    vfs.inject({ kind: 'sync', path: /MANIFEST/ });
    const edit: VersionEdit = { lastSeq: model.counters.lastSeq + 10 };
    await rejectsWithCode(store.logAndApply(edit), 'IO_ERROR');
    assert.equal(store.poisoned, true);
    assert.deepEqual(describeState(store), before);
    const poisoned = await rejectsWithCode(store.logAndApply({ lastSeq: model.counters.lastSeq + 20 }), 'POISONED');
    assert.match(poisoned.message, /reopen/);
    await rejectsWithCode(store.rewrite(), 'POISONED');
    await store.close();
    // The edit may or may not have reached the disk; either way the state is one of the two.
    const reopened = await open(vfs);
    const after = describeState(reopened);
    model.apply(edit);
    assert.ok(JSON.stringify(after) === JSON.stringify(before) || JSON.stringify(after) === JSON.stringify(describeState(model)));
    await reopened.close();
  });

  test('a rewrite that fails before the rename keeps the old manifest live', async () => {
    for (const rule of [{ kind: 'sync', path: 'CURRENT.tmp' }, { kind: 'write', path: /MANIFEST-000002/ }, { kind: 'mkdir' }] as const) {
      const vfs = new FaultVfs();
      const store = await open(vfs);
      const model = await churn(store, 10);
      vfs.inject(rule);
      await rejectsWithCode(store.rewrite(), 'IO_ERROR');
      assert.equal(store.poisoned, false, rule.kind);
      assert.equal(store.manifestNumber, 1);
      assert.deepEqual(vfs.contentOf('/db/CURRENT'), encodeCurrentFile(1));
      await churn(store, 5, 9, model);
      await store.close();
      const reopened = await open(vfs);
      assert.deepEqual(describeState(reopened), describeState(model));
      assert.deepEqual(await manifestDirsWithFiles(vfs), [manifestDirName(1)]);
      await reopened.close();
    }
  });

  test('a failed rename of CURRENT poisons the store; reopening finds the same state', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    const model = await churn(store, 10);
    vfs.inject({ kind: 'rename', path: 'CURRENT' });
    await rejectsWithCode(store.rewrite(), 'IO_ERROR');
    await rejectsWithCode(store.logAndApply({ lastSeq: 1e6 }), 'POISONED');
    await store.close();
    const reopened = await open(vfs);
    assert.deepEqual(describeState(reopened), describeState(model));
    await reopened.close();
  });

  test('a failed automatic rewrite leaves the acknowledged edit and the store usable', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs, { rewriteEdits: 3 });
    const model = await churn(store, 2);
    // Two failures: the rewrite queued by the next edit, and the one queued by the edit after it.
    vfs.inject({ kind: 'sync', path: 'CURRENT.tmp', times: 2 });
    await churn(store, 1, 3, model); // crosses the limit: the queued rewrite fails
    await store.logAndApply({}); // runs after that rewrite
    assert.equal((store.rewriteError as { code?: string } | null)?.code, 'IO_ERROR');
    assert.equal(store.manifestNumber, 1);
    await churn(store, 4, 4, model); // and is retried
    assert.equal(store.rewriteError, null);
    await store.close();
    assert.ok(store.manifestNumber >= 2);
    const reopened = await open(vfs);
    assert.deepEqual(describeState(reopened), describeState(model));
    await reopened.close();
  });

  test('the manifest directory is locked while open', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    await rejectsWithCode(open(vfs), 'LOCKED');
    await store.close();
  });
});

describe('manifest store: damaged or missing files', () => {
  test('a CURRENT naming a missing manifest is CORRUPTION', async () => {
    const vfs = new FaultVfs();
    await (await open(vfs)).close();
    const file = await vfs.open('/db/CURRENT', { mode: 'replace' });
    await file.write(encodeCurrentFile(99), 0);
    await file.close();
    const error = await rejectsWithCode(open(vfs), 'CORRUPTION');
    assert.match(error.message, /MANIFEST-000099/);
  });

  test('a CURRENT naming an empty manifest is CORRUPTION', async () => {
    const vfs = new FaultVfs();
    await (await open(vfs)).close();
    for (const name of await vfs.readdir('/db/MANIFEST-000001')) await vfs.unlink(join('/db/MANIFEST-000001', name));
    await rejectsWithCode(open(vfs), 'CORRUPTION');
  });

  test('a flipped byte anywhere in CURRENT is CORRUPTION', async () => {
    const vfs = new FaultVfs();
    await (await open(vfs)).close();
    const length = vfs.contentOf('/db/CURRENT').length;
    for (let at = 0; at < length; at++) {
      vfs.corrupt('/db/CURRENT', at);
      await rejectsWithCode(open(vfs), 'CORRUPTION');
      vfs.corrupt('/db/CURRENT', at);
    }
    await (await open(vfs)).close();
  });

  test('a flipped byte in a manifest segment is CORRUPTION', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    await churn(store, 12);
    await store.close();
    const segment = '/db/MANIFEST-000001/00000000000000000000.seg';
    const bytes = vfs.contentOf(segment);
    // The last record is excluded: damage there cannot be told from a torn final append, which
    // the log cuts off (docs/FORMAT.md §4) — see the next test for the one case that matters.
    const lastRecord = lastRecordStart(bytes);
    for (let at = 0; at < lastRecord; at += 3) {
      vfs.corrupt(segment, at, 0x10);
      await rejectsWithCode(open(vfs), 'CORRUPTION');
      vfs.corrupt(segment, at, 0x10);
    }
    await (await open(vfs)).close();
  });

  test('a flipped byte in a rewritten manifest\'s only record is CORRUPTION, not an empty database', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    await churn(store, 12);
    await store.rewrite();
    await store.close();
    const segment = '/db/MANIFEST-000002/00000000000000000000.seg';
    vfs.corrupt(segment, vfs.contentOf(segment).length - 5);
    await rejectsWithCode(open(vfs), 'CORRUPTION');
  });

  test('a missing CURRENT beside a manifest holding state is CORRUPTION', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    await churn(store, 3);
    await store.close();
    await vfs.unlink('/db/CURRENT');
    const error = await rejectsWithCode(open(vfs), 'CORRUPTION');
    assert.match(error.message, /CURRENT is missing/);
    // Nothing was deleted.
    assert.deepEqual(await manifestDirsWithFiles(vfs), [manifestDirName(1)]);
  });

  test('a creation interrupted before CURRENT is cleared and done again', async () => {
    const vfs = new FaultVfs();
    await (await open(vfs)).close();
    await vfs.unlink('/db/CURRENT');
    const store = await open(vfs);
    assert.equal(store.created, true);
    assert.equal(store.manifestNumber, 2);
    await store.close();
    assert.deepEqual(await manifestDirsWithFiles(vfs), [manifestDirName(2)]);
  });

  test('stray manifest directories and CURRENT.tmp are removed at open', async () => {
    const vfs = new FaultVfs();
    const store = await open(vfs);
    const model = await churn(store, 4);
    await store.close();
    for (const path of ['/db/MANIFEST-000005/00000000000000000000.seg', '/db/CURRENT.tmp']) {
      await vfs.mkdir('/db/MANIFEST-000005', { recursive: true });
      const file = await vfs.open(path, { mode: 'create' });
      await file.write(new Uint8Array([1, 2, 3]), 0);
      await file.close();
    }
    const reopened = await open(vfs);
    assert.deepEqual(describeState(reopened), describeState(model));
    assert.deepEqual(await manifestDirsWithFiles(vfs), [manifestDirName(1)]);
    assert.equal(await vfs.exists('/db/CURRENT.tmp'), false);
    await reopened.close();
  });
});

/** Where the last record of a segment starts (records: u32 length, u32 ~length, u32 crc, payload). */
function lastRecordStart(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 20;
  let last = at;
  while (at < bytes.length) {
    last = at;
    at += 12 + view.getUint32(at, true);
  }
  return last;
}
