import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { open, type Durability } from '../src/index.js';
import { FaultVfs } from '../src/vfs/index.js';
import { b, modelRange, rejectsCode, s, strings, tempDir, throwsCode } from './db-helpers.js';

const MODES: Durability[] = ['sync', 'relaxed', 'none'];

describe('db basics', () => {
  test('put/get/del/batch with strings and bytes', async (t) => {
    const db = await open(tempDir(t));
    await db.put('a', 'apple');
    await db.put(b('b'), new Uint8Array([1, 2, 3]));
    assert.equal(s(db.getSync('a')), 'apple');
    assert.deepEqual(db.getSync('b'), new Uint8Array([1, 2, 3]));
    assert.equal(s(await db.get(b('a'))), 'apple');
    assert.equal(db.getSync('missing'), undefined);
    assert.equal(db.has('a'), true);
    await db.del('a');
    assert.equal(db.getSync('a'), undefined);
    assert.equal(db.has('a'), false);
    await db.batch([
      { type: 'put', key: 'x', value: '1' },
      { type: 'put', key: 'y', value: '2' },
      { type: 'del', key: 'b' },
    ]);
    assert.deepEqual(db.getMany(['x', 'y', 'b', 'a']).map(s), ['1', '2', undefined, undefined]);
    // Values are copies.
    const v = db.getSync('x')!;
    v[0] = 0;
    assert.equal(s(db.getSync('x')), '1');
    // The empty key and empty value are fine.
    await db.put('', '');
    assert.deepEqual(db.getSync(''), new Uint8Array(0));
    await db.close();
    await db.close();
  });

  for (const durability of MODES) {
    test(`getSync after reopen (${durability})`, async (t) => {
      const dir = tempDir(t);
      let db = await open(dir, { durability, memtableBytes: 4096 });
      for (let i = 0; i < 300; i++) await db.put(`k${i}`, `v${i}`);
      await db.del('k7');
      await db.close();
      db = await open(dir, { durability });
      for (let i = 0; i < 300; i++) assert.equal(s(db.getSync(`k${i}`)), i === 7 ? undefined : `v${i}`);
      assert.ok(db.stats().tableFiles > 0);
      await db.put('after', 'reopen');
      await db.close();
      db = await open(dir, { durability: durability === 'none' ? 'sync' : 'none' });
      assert.equal(s(db.getSync('after')), 'reopen');
      assert.equal(s(db.getSync('k299')), 'v299');
      await db.close();
    });
  }

  test('bad input throws synchronously INVALID_ARGUMENT and changes nothing', async (t) => {
    const db = await open(tempDir(t));
    await db.put('k', 'v');
    const before = db.stats().lastSeq;
    throwsCode(() => db.put(null as never, 'v'), 'INVALID_ARGUMENT');
    throwsCode(() => db.put('k', 5 as never), 'INVALID_ARGUMENT');
    throwsCode(() => db.put(new Uint8Array(65537), 'v'), 'INVALID_ARGUMENT');
    throwsCode(() => db.put('k', 'v', 'sync' as never), 'INVALID_ARGUMENT');
    throwsCode(() => db.del(undefined as never), 'INVALID_ARGUMENT');
    throwsCode(() => db.batch([{ type: 'put', key: 'z', value: 'ok' }, { type: 'nope', key: 'q' } as never]), 'INVALID_ARGUMENT');
    throwsCode(() => db.batch('x' as never), 'INVALID_ARGUMENT');
    throwsCode(() => db.getSync({} as never), 'INVALID_ARGUMENT');
    throwsCode(() => db.iterator({ gt: 'a', gte: 'b' }), 'INVALID_ARGUMENT');
    throwsCode(() => db.iterator({ limit: -5 }), 'INVALID_ARGUMENT');
    assert.equal(db.getSync('z'), undefined);
    assert.equal(s(db.getSync('k')), 'v');
    assert.equal(db.stats().lastSeq, before);
    await rejectsCode(() => open(join(tempDir(t), 'x'), { durability: 'fast' as never }), 'INVALID_ARGUMENT');
    await db.close();
  });

  test('a flush with nothing to flush does not stop later flushes (durability none)', async (t) => {
    // Regression: a flush loop that finished synchronously left a stale "flushing" promise, so
    // every later flush — including the one close() does without a WAL — silently did nothing.
    const dir = tempDir(t);
    const db = await open(dir, { durability: 'none', memtableBytes: 1 << 20 });
    await db.flush();
    await db.put('a', '1');
    await db.flush();
    assert.equal(db.stats().levels[0]!.files, 1);
    await db.put('b', '2');
    await db.close();
    const reopened = await open(dir, { durability: 'none' });
    assert.deepEqual(strings(reopened.iterator()), [['a', '1'], ['b', '2']]);
    await reopened.close();
  });

  test('use after close is CLOSED', async (t) => {
    const db = await open(tempDir(t));
    await db.put('a', '1');
    const it = db.iterator();
    await db.close();
    throwsCode(() => db.put('a', '1'), 'CLOSED');
    throwsCode(() => db.getSync('a'), 'CLOSED');
    throwsCode(() => db.get('a'), 'CLOSED');
    throwsCode(() => db.iterator(), 'CLOSED');
    throwsCode(() => db.snapshot(), 'CLOSED');
    throwsCode(() => db.flush(), 'CLOSED');
    throwsCode(() => it.next(), 'CLOSED');
  });

  test('second writer is LOCKED; readOnly opens beside a writer', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, { memtableBytes: 2048 });
    for (let i = 0; i < 100; i++) await db.put(`k${String(i).padStart(3, '0')}`, `v${i}`);
    await db.flush();
    await db.put('unflushed', 'x');
    await rejectsCode(() => open(dir), 'LOCKED');
    const ro = await open(dir, { readOnly: true });
    assert.equal(s(ro.getSync('k042')), 'v42');
    assert.equal(ro.getSync('unflushed'), undefined);
    assert.equal([...ro.keys()].length, 100);
    throwsCode(() => ro.put('a', 'b'), 'READ_ONLY');
    throwsCode(() => ro.flush(), 'READ_ONLY');
    // The writer keeps going, and flushes more, while the reader is open.
    for (let i = 100; i < 200; i++) await db.put(`k${i}`, `v${i}`);
    await db.flush();
    assert.equal(s(ro.getSync('k042')), 'v42');
    await ro.close();
    await db.close();
    await rejectsCode(() => open(join(dir, 'nothing'), { readOnly: true }), 'INVALID_ARGUMENT');
  });

  test('iterator bounds, reverse, limit, seek against a sorted model', async (t) => {
    const db = await open(tempDir(t), { memtableBytes: 1500, blockSize: 128 });
    const model = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const k = `key${String((i * 37) % 150).padStart(3, '0')}`;
      if (i % 9 === 4) {
        await db.del(k);
        model.delete(k);
      } else {
        await db.put(k, `v${i}`);
        model.set(k, `v${i}`);
      }
    }
    const cases = [
      {},
      { reverse: true },
      { gt: 'key010', lt: 'key090' },
      { gte: 'key010', lte: 'key090', reverse: true },
      { gte: 'key05', limit: 7 },
      { lt: 'key100', reverse: true, limit: 12 },
      { gt: 'zzz' },
      { gt: 'key090', lt: 'key010' },
      { limit: 0 },
    ];
    for (const o of cases) {
      assert.deepEqual(strings(db.iterator(o)), modelRange(model, o), JSON.stringify(o));
      const keys = [...db.keys(o)].map((k) => s(k));
      assert.deepEqual(keys, modelRange(model, o).map(([k]) => k));
      const values: string[] = [];
      for await (const v of db.values(o)) values.push(s(v)!);
      assert.deepEqual(values, modelRange(model, o).map(([, v]) => v));
    }
    // seek, forward and reverse
    const it = db.iterator({ gte: 'key020' });
    it.seek('key100');
    assert.deepEqual(strings(it.all()), modelRange(model, { gte: 'key100' }));
    const rit = db.iterator({ reverse: true, limit: 5 });
    rit.seek('key050');
    assert.deepEqual(strings(rit.all()), modelRange(model, { lte: 'key050', reverse: true, limit: 5 }));
    const low = db.iterator({ gte: 'key050' });
    low.seek('a');
    assert.deepEqual(strings(low.all()), modelRange(model, { gte: 'key050' }));
    assert.equal(db.stats().openIterators, 0);
    await db.close();
  });

  test('snapshots across writes and flushes', async (t) => {
    const db = await open(tempDir(t), { memtableBytes: 1024 });
    for (let i = 0; i < 50; i++) await db.put(`k${i}`, `old${i}`);
    const snap = db.snapshot();
    for (let i = 0; i < 50; i++) await db.put(`k${i}`, `new${i}`);
    await db.del('k3');
    await db.put('extra', 'e');
    await db.flush();
    assert.equal(s(db.getSync('k3', { snapshot: snap })), 'old3');
    assert.equal(db.getSync('k3'), undefined);
    assert.equal(db.getSync('extra', { snapshot: snap }), undefined);
    const seen = strings(db.iterator({ snapshot: snap }));
    assert.equal(seen.length, 50);
    assert.ok(seen.every(([k, v]) => v === `old${k.slice(1)}`));
    const itBefore = db.iterator();
    await db.put('late', 'x');
    await db.flush();
    assert.equal(
      strings(itBefore).some(([k]) => k === 'late'),
      false,
    );
    snap.release();
    snap.release();
    throwsCode(() => db.getSync('k1', { snapshot: snap }), 'INVALID_ARGUMENT');
    {
      using s2 = db.snapshot();
      assert.equal(s(db.getSync('late', { snapshot: s2 })), 'x');
    }
    assert.equal(db.stats().openSnapshots, 0);
    await db.close();
  });

  test('checkpoint opens as a database with the same content', async (t) => {
    const dir = tempDir(t);
    const db = await open(join(dir, 'main'), { memtableBytes: 2048 });
    for (let i = 0; i < 300; i++) await db.put(`k${i}`, `v${i}`);
    await db.del('k5');
    await db.checkpoint(join(dir, 'cp'));
    await db.put('k1', 'changed');
    const expected = strings(db.iterator()).map(([k, v]) => [k, k === 'k1' ? 'v1' : v]);
    const cp = await open(join(dir, 'cp'));
    assert.deepEqual(strings(cp.iterator()), expected);
    await cp.put('cpwrite', '1');
    await cp.close();
    assert.equal(db.getSync('cpwrite'), undefined);
    await rejectsCode(() => db.checkpoint(join(dir, 'cp')), 'INVALID_ARGUMENT');
    await db.close();
  });

  test('power loss: recovered state is a prefix of acknowledged writes', async () => {
    for (const durability of MODES) {
      for (let seed = 1; seed <= 4; seed++) {
        const vfs = new FaultVfs();
        const db = await open('/db', { vfs, durability, memtableBytes: 3000, relaxedSyncMs: 5 });
        const acked: number[] = [];
        let n = 0;
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 150 + seed * 20; i++) {
          const k = n++;
          writes.push(db.put(`k${k % 60}`, `${k}`).then(() => void acked.push(k)));
          if (i % 10 === 0) await Promise.all(writes.splice(0));
          if (i === 77 && durability === 'none') await db.flush();
        }
        await Promise.all(writes.splice(0));
        const lastAcked = n - 1;
        const rebooted = vfs.crash({ seed });
        const again = await open('/db', { vfs: rebooted, durability });
        // The state equals the model after some prefix p of the writes.
        const state = new Map(strings(again.iterator()));
        let matched = -2;
        for (let p = -1; p <= lastAcked; p++) {
          const model = new Map<string, string>();
          for (let k = 0; k <= p; k++) model.set(`k${k % 60}`, `${k}`);
          if (model.size === state.size && [...model].every(([k, v]) => state.get(k) === v)) matched = p;
        }
        assert.notEqual(matched, -2, `${durability} seed ${seed}: not a prefix`);
        if (durability === 'sync') assert.equal(matched, lastAcked, 'every acknowledged sync write survives');
        await again.close();
      }
    }
  });
});
