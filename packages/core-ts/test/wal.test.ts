/**
 * The WAL: the batch codec byte for byte (FORMAT §6) and its corruption checks, input validation
 * (synchronous INVALID_ARGUMENT, nothing appended), round trips and replay after reopening on both
 * file systems, truncation, the relaxed mode's timer and explicit syncs, and closing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultVfs, NodeVfs } from '../src/vfs/index.js';
import { Kind, MAX_KEY_BYTES, MAX_SEQ, toUserKey } from '../src/keys/internal-key.js';
import {
  decodeWriteBatch,
  delOp,
  encodeWriteBatch,
  putOp,
  toWriteOps,
  WriteAheadLog,
  type WriteBatch,
} from '../src/wal/index.js';
import { rejectsWithCode, tempDir } from './helpers/log-fixtures.js';

const DIR = '/db/wal';

/** Batch `i` of a test: `1 + i % 3` ops at consecutive seqs, keys and values derived from `i`. */
function batchAt(i: number, firstSeq = 1 + i * 3): WriteBatch {
  const ops = [];
  for (let k = 0; k <= i % 3; k++) {
    ops.push(k === 1 ? delOp(`key-${i}-${k}`) : putOp(`key-${i}-${k}`, `value-${i}-${'v'.repeat(i % 17)}`));
  }
  return { firstSeq, ops };
}

async function replayAll(wal: WriteAheadLog, from = wal.firstIndex): Promise<{ index: number; batch: WriteBatch }[]> {
  const out: { index: number; batch: WriteBatch }[] = [];
  await wal.replay(from, (batch, index) => {
    out.push({ index, batch });
  });
  return out;
}

/** Batches as comparable plain data (views and copies compare equal). */
function plain(batch: WriteBatch): unknown {
  return { firstSeq: batch.firstSeq, ops: batch.ops.map((op) => ({ kind: op.kind, key: [...op.key], value: [...op.value] })) };
}

describe('WAL batch codec (FORMAT §6)', () => {
  test('the documented example, byte for byte', () => {
    const bytes = encodeWriteBatch({ firstSeq: 7, ops: [putOp('ab', 'x'), delOp('ab')] });
    assert.deepEqual(
      [...bytes],
      [0x07, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0x01, 0x02, 0x61, 0x62, 0x01, 0x78, 0x00, 0x02, 0x61, 0x62, 0x00],
    );
    assert.deepEqual(plain(decodeWriteBatch(bytes)), plain({ firstSeq: 7, ops: [putOp('ab', 'x'), delOp('ab')] }));
  });

  test('round trips: large seqs, empty keys and values, long varints, pointers, empty batches', () => {
    const batches: WriteBatch[] = [
      { firstSeq: 1, ops: [] },
      { firstSeq: MAX_SEQ, ops: [putOp(new Uint8Array(0), new Uint8Array(0))] },
      { firstSeq: 2 ** 40 + 5, ops: [putOp(new Uint8Array(MAX_KEY_BYTES).fill(1), new Uint8Array(300_000).fill(2)), delOp('')] },
      { firstSeq: 2 ** 32, ops: [{ kind: Kind.Pointer, key: toUserKey('p'), value: new Uint8Array(20).fill(9) }] },
    ];
    for (const batch of batches) assert.deepEqual(plain(decodeWriteBatch(encodeWriteBatch(batch))), plain(batch));
  });

  test('malformed payloads are CORRUPTION', () => {
    const good = encodeWriteBatch({ firstSeq: 7, ops: [putOp('ab', 'x'), delOp('ab')] });
    const variant = (edit: (b: Uint8Array) => Uint8Array): Uint8Array => edit(good.slice());
    const cases: [string, Uint8Array][] = [
      ['shorter than the header', good.subarray(0, 11)],
      ['seq 0', variant((b) => ((b[0] = 0), b))],
      ['seqHigh over 21 bits', variant((b) => ((b[6] = 0x20), b))],
      ['last seq past 2^53 - 1', variant((b) => (b.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0], 0), b))],
      ['count too large for the bytes', variant((b) => ((b[8] = 200), b))],
      ['count larger than the ops', variant((b) => ((b[8] = 3), b))],
      ['unknown kind', variant((b) => ((b[12] = 3), b))],
      ['key runs past the end', variant((b) => ((b[13] = 0x7f), b))],
      ['value length cut off', good.subarray(0, 17).slice()],
      ['delete with a value', variant((b) => ((b[22] = 1), b))],
      ['trailing bytes', new Uint8Array([...good, 0])],
      ['over-long varint', new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0])],
      ['key over 64 KiB', encodeOversizedKey()],
    ];
    for (const [what, bytes] of cases) assert.throws(() => decodeWriteBatch(bytes), { code: 'CORRUPTION' }, what);
  });

  test('caller input: strings are UTF-8; bad operations are INVALID_ARGUMENT', () => {
    const ops = toWriteOps([
      { type: 'put', key: 'é', value: 'ü' },
      { type: 'del', key: new Uint8Array([1]) },
    ]);
    assert.deepEqual(ops[0], { kind: Kind.Put, key: new Uint8Array([0xc3, 0xa9]), value: new Uint8Array([0xc3, 0xbc]) });
    assert.deepEqual(ops[1], { kind: Kind.Delete, key: new Uint8Array([1]), value: new Uint8Array(0) });
    const bad: [string, unknown][] = [
      ['not an array', { type: 'put', key: 'a', value: 'b' }],
      ['unknown type', [{ type: 'merge', key: 'a', value: 'b' }]],
      ['null operation', [null]],
      ['null key', [{ type: 'put', key: null, value: 'b' }]],
      ['number key', [{ type: 'del', key: 5 }]],
      ['non-byte value', [{ type: 'put', key: 'a', value: 12 }]],
      ['missing value', [{ type: 'put', key: 'a' }]],
      ['key over 64 KiB', [{ type: 'put', key: new Uint8Array(MAX_KEY_BYTES + 1), value: 'b' }]],
      ['a bad op after good ones', [{ type: 'put', key: 'a', value: 'b' }, { type: 'put', key: undefined, value: 'b' }]],
    ];
    for (const [what, input] of bad) assert.throws(() => toWriteOps(input), { code: 'INVALID_ARGUMENT' }, what);
  });
});

function encodeOversizedKey(): Uint8Array {
  const key = MAX_KEY_BYTES + 1; // varint 0x81 0x80 0x04
  const out = new Uint8Array(12 + 1 + 3 + key + 1);
  out.set([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x81, 0x80, 0x04]);
  return out;
}

describe('WriteAheadLog', () => {
  for (const fs of ['FaultVfs', 'node:fs'] as const) {
    for (const durability of ['sync', 'relaxed'] as const) {
      test(`${fs}, ${durability}: appends replay in order, after reopening too, from any index`, async (t) => {
        const vfs = fs === 'FaultVfs' ? new FaultVfs() : new NodeVfs();
        const dir = fs === 'FaultVfs' ? DIR : `${tempDir(t, 'silt-wal-')}/wal`;
        const wal = await WriteAheadLog.open(dir, { vfs, durability, segmentBytes: 4096 });
        const batches = Array.from({ length: 120 }, (_, i) => batchAt(i));
        const indexes = await Promise.all(batches.map((batch) => wal.append(batch)));
        assert.deepEqual(indexes, batches.map((_, i) => i));
        assert.deepEqual((await replayAll(wal)).map((r) => plain(r.batch)), batches.map(plain));
        await wal.close();
        await wal.close(); // idempotent
        const reopened = await WriteAheadLog.open(dir, { vfs, durability });
        assert.equal(reopened.nextIndex, 120);
        assert.equal(reopened.durableIndex, 120);
        const seen: number[] = [];
        const result = await reopened.replay(57, async (batch, index) => {
          // An async callback is awaited before the next batch.
          await new Promise((resolve) => setImmediate(resolve));
          assert.deepEqual(plain(batch), plain(batches[index]!));
          seen.push(index);
        });
        assert.deepEqual(seen, Array.from({ length: 63 }, (_, i) => 57 + i));
        assert.deepEqual(result, { batches: 63, lastSeq: batches[119]!.firstSeq + batches[119]!.ops.length - 1, nextIndex: 120, dropped: 0 });
        assert.deepEqual(await reopened.replay(120, () => assert.fail('nothing to replay')), { batches: 0, lastSeq: 0, nextIndex: 120, dropped: 0 });
        assert.equal(await reopened.append(batchAt(120)), 120);
        await reopened.close();
      });
    }
  }

  test('invalid batches throw INVALID_ARGUMENT synchronously and append nothing', async () => {
    const vfs = new FaultVfs();
    const wal = await WriteAheadLog.open(DIR, { vfs, durability: 'sync' });
    const bad: [string, unknown][] = [
      ['null batch', null],
      ['seq 0', { firstSeq: 0, ops: [putOp('a', 'b')] }],
      ['fractional seq', { firstSeq: 1.5, ops: [] }],
      ['seqs past 2^53 - 1', { firstSeq: MAX_SEQ, ops: [putOp('a', 'b'), putOp('c', 'd')] }],
      ['ops not an array', { firstSeq: 1, ops: 'x' }],
      ['unknown kind', { firstSeq: 1, ops: [{ kind: 9, key: toUserKey('a'), value: new Uint8Array(0) }] }],
      ['string key in engine form', { firstSeq: 1, ops: [{ kind: Kind.Put, key: 'a', value: new Uint8Array(0) }] }],
      ['null key', { firstSeq: 1, ops: [{ kind: Kind.Put, key: null, value: new Uint8Array(0) }] }],
      ['non-byte value', { firstSeq: 1, ops: [{ kind: Kind.Put, key: toUserKey('a'), value: 5 }] }],
      ['oversized key', { firstSeq: 1, ops: [{ kind: Kind.Put, key: new Uint8Array(MAX_KEY_BYTES + 1), value: new Uint8Array(0) }] }],
      ['delete with a value', { firstSeq: 1, ops: [{ kind: Kind.Delete, key: toUserKey('a'), value: new Uint8Array(1) }] }],
    ];
    for (const [what, batch] of bad) assert.throws(() => wal.append(batch as WriteBatch), { code: 'INVALID_ARGUMENT' }, what);
    assert.equal(wal.nextIndex, 0);
    assert.equal(await wal.append(batchAt(0)), 0);
    await wal.close();
    assert.deepEqual((await replayAll(await WriteAheadLog.open(DIR, { vfs, durability: 'sync' }))).length, 1);
  });

  test('options: "none" keeps no WAL, bad options are INVALID_ARGUMENT', async () => {
    const vfs = new FaultVfs();
    await rejectsWithCode(() => WriteAheadLog.open(DIR, { vfs, durability: 'none' as 'sync' }), 'INVALID_ARGUMENT');
    await rejectsWithCode(() => WriteAheadLog.open(DIR, { vfs, durability: 'fast' as 'sync' }), 'INVALID_ARGUMENT');
    await rejectsWithCode(() => WriteAheadLog.open(DIR, { vfs, durability: 'relaxed', relaxedSyncMs: 0 }), 'INVALID_ARGUMENT');
    const wal = await WriteAheadLog.open(DIR, { vfs, durability: 'sync' });
    await rejectsWithCode(() => wal.replay(-1, () => {}), 'INVALID_ARGUMENT');
    await rejectsWithCode(() => wal.replay(0, 'x' as never), 'INVALID_ARGUMENT');
    await wal.close();
    await rejectsWithCode(wal.append(batchAt(0)), 'CLOSED');
  });

  test('truncateBefore drops flushed batches durably; replay before the first index is CORRUPTION', async () => {
    const vfs = new FaultVfs();
    const wal = await WriteAheadLog.open(DIR, { vfs, durability: 'sync', segmentBytes: 512 });
    for (let i = 0; i < 40; i++) await wal.append(batchAt(i));
    await wal.truncateBefore(25);
    assert.equal(wal.firstIndex, 25);
    assert.deepEqual((await replayAll(wal)).map((r) => r.index), Array.from({ length: 15 }, (_, i) => 25 + i));
    await rejectsWithCode(() => wal.replay(10, () => {}), 'CORRUPTION');
    await rejectsWithCode(() => wal.replay(41, () => {}), 'CORRUPTION');
    // Crash right away: the truncation was durable, the batches after it too.
    const rebooted = vfs.crash();
    const reopened = await WriteAheadLog.open(DIR, { vfs: rebooted, durability: 'sync' });
    assert.equal(reopened.firstIndex, 25);
    assert.deepEqual((await replayAll(reopened)).map((r) => plain(r.batch)), Array.from({ length: 15 }, (_, i) => plain(batchAt(25 + i))));
    await reopened.close();
  });

  test('release truncates only once a segment of log was appended since the last truncation', async () => {
    const vfs = new FaultVfs();
    const wal = await WriteAheadLog.open(DIR, { vfs, durability: 'relaxed', segmentBytes: 2048 });
    for (let i = 0; i < 10; i++) await wal.append(batchAt(i));
    const ioBefore = vfs.calls('sync') + vfs.calls('write') + vfs.calls('rename') + vfs.calls('syncDir');
    // Fewer than 2048 bytes so far: nothing is cut and nothing is written or synced.
    assert.equal(await wal.release(6), false);
    assert.equal(wal.firstIndex, 0);
    assert.equal(vfs.calls('sync') + vfs.calls('write') + vfs.calls('rename') + vfs.calls('syncDir'), ioBefore);
    assert.deepEqual((await replayAll(wal, 6)).map((r) => r.index), [6, 7, 8, 9]);
    for (let i = 10; i < 80; i++) await wal.append(batchAt(i));
    assert.equal(await wal.release(70), true);
    assert.equal(wal.firstIndex, 70);
    // The count starts again: the next release right after cuts nothing.
    await wal.append(batchAt(80));
    assert.equal(await wal.release(75), false);
    assert.equal(wal.firstIndex, 70);
    await wal.sync();
    const reopened = await WriteAheadLog.open(DIR, { vfs: vfs.crash(), durability: 'relaxed' });
    assert.equal(reopened.firstIndex, 70);
    assert.deepEqual((await replayAll(reopened, 75)).map((r) => plain(r.batch)), Array.from({ length: 6 }, (_, i) => plain(batchAt(75 + i))));
    // Released up to its end, the log is emptied however little was appended since.
    assert.equal(await reopened.release(reopened.nextIndex), true);
    assert.equal(reopened.firstIndex, 81);
    assert.deepEqual(await replayAll(reopened), []);
    await reopened.close();
  });

  test('replay rejects seqs that go backwards', async () => {
    const vfs = new FaultVfs();
    const wal = await WriteAheadLog.open(DIR, { vfs, durability: 'sync' });
    await wal.append({ firstSeq: 10, ops: [putOp('a', '1'), putOp('b', '2')] });
    await wal.append({ firstSeq: 12, ops: [] });
    await wal.append({ firstSeq: 11, ops: [putOp('c', '3')] });
    await rejectsWithCode(() => wal.replay(0, () => {}), 'CORRUPTION');
    const seen: number[] = [];
    await rejectsWithCode(() => wal.replay(0, (_, index) => void seen.push(index)), 'CORRUPTION');
    assert.deepEqual(seen, [0, 1], 'the batches before the bad one were applied, the bad one was not');
    await wal.close();
  });

  test('relaxed: nothing is durable until the timer syncs; then everything appended before is', async () => {
    const vfs = new FaultVfs();
    const wal = await WriteAheadLog.open(DIR, { vfs, durability: 'relaxed', relaxedSyncMs: 100_000 });
    for (let i = 0; i < 5; i++) await wal.append(batchAt(i));
    assert.equal(wal.durableIndex, 0);
    // Power loss before any sync: the acknowledged (written, not synced) batches are gone.
    const lost = await WriteAheadLog.open(DIR, { vfs: vfs.crash(), durability: 'relaxed' });
    assert.equal((await replayAll(lost)).length, 0);
    await lost.close();

    const vfs2 = new FaultVfs();
    const timed = await WriteAheadLog.open(DIR, { vfs: vfs2, durability: 'relaxed', relaxedSyncMs: 5 });
    for (let i = 0; i < 5; i++) await timed.append(batchAt(i));
    const deadline = Date.now() + 5000;
    while (timed.durableIndex < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(timed.durableIndex, 5);
    const syncsAfterTimer = vfs2.calls('sync');
    // With nothing new appended the timer does not sync again.
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(vfs2.calls('sync'), syncsAfterTimer);
    const recovered = await WriteAheadLog.open(DIR, { vfs: vfs2.crash(), durability: 'relaxed' });
    assert.deepEqual((await replayAll(recovered)).map((r) => plain(r.batch)), Array.from({ length: 5 }, (_, i) => plain(batchAt(i))));
    await recovered.close();
  });

  test('relaxed: sync() and append({ sync: true }) make everything before them durable; close syncs', async () => {
    const vfs = new FaultVfs();
    const wal = await WriteAheadLog.open(DIR, { vfs, durability: 'relaxed', relaxedSyncMs: 100_000 });
    await wal.append(batchAt(0));
    await wal.append(batchAt(1), { sync: true });
    assert.equal(wal.durableIndex, 2);
    await wal.append(batchAt(2));
    await wal.sync();
    await wal.append(batchAt(3));
    const rebooted = vfs.crash();
    const first = await WriteAheadLog.open(DIR, { vfs: rebooted, durability: 'relaxed' });
    assert.deepEqual((await replayAll(first)).map((r) => r.index), [0, 1, 2]);
    await first.append(batchAt(3));
    await first.close();
    // close() synced batch 3: it survives a power loss right after.
    const third = await WriteAheadLog.open(DIR, { vfs: rebooted.crash(), durability: 'relaxed' });
    assert.deepEqual((await replayAll(third)).map((r) => r.index), [0, 1, 2, 3]);
    await third.close();
  });
});
