/**
 * Bad input to IndexedLog: every malformed argument, out-of-range index, failing codec or use after
 * close gives an error with a stable code, and leaves the log exactly as it was.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import { bytesCodec, FaultVfs, IndexedLog, SiltError, utf8Codec, type Codec } from '../src/log.js';
import { writeFirstIndexFile } from '../src/log/first-index-file.js';
import { entries, openLog, rejectsWithCode } from './helpers/log-fixtures.js';

async function logWithTen(): Promise<{ vfs: FaultVfs; log: IndexedLog<string> }> {
  const vfs = new FaultVfs();
  const log = await openLog(vfs, '/db', { segmentBytes: 128 });
  await log.appendMany(entries(0, 10));
  await log.truncateBefore(2);
  return { vfs, log };
}

async function assertUnchanged(log: IndexedLog<string>): Promise<void> {
  assert.equal(log.firstIndex, 2);
  assert.equal(log.nextIndex, 10);
  assert.deepEqual(await log.readAll(), entries(2, 10));
}

/**
 * `log` (at `/db` on `vfs`) holds exactly `expected`: read now, then closed and read again after a
 * reopen, which checks every record's checksum against the bytes on disk.
 */
async function assertHoldsAcrossReopen(log: IndexedLog<Uint8Array>, vfs: FaultVfs, expected: readonly Uint8Array[]): Promise<void> {
  const same = (read: Uint8Array[]): void => {
    assert.equal(read.length, expected.length);
    for (let i = 0; i < read.length; i++) assert.deepEqual(read[i], expected[i], `entry ${i}`);
  };
  same(await log.readAll());
  await log.close();
  const reopened = await IndexedLog.open('/db', bytesCodec, { vfs });
  same(await reopened.readAll());
  await reopened.close();
}

describe('IndexedLog bad input', () => {
  test('malformed indexes are INVALID_ARGUMENT', async () => {
    const { log } = await logWithTen();
    const malformed: unknown[] = [1.5, -1, Number.NaN, Infinity, '3', null, undefined, 2 ** 53, {}];
    for (const bad of malformed) {
      await rejectsWithCode(log.read(bad as number, 5), 'INVALID_ARGUMENT');
      await rejectsWithCode(log.read(3, bad as number), 'INVALID_ARGUMENT');
      await rejectsWithCode(log.get(bad as number), 'INVALID_ARGUMENT');
      await rejectsWithCode(log.truncateBefore(bad as number), 'INVALID_ARGUMENT');
      if (bad !== -1) await rejectsWithCode(log.truncateAfter(bad as number), 'INVALID_ARGUMENT');
    }
    await rejectsWithCode(log.truncateAfter(-2), 'INVALID_ARGUMENT');
    await rejectsWithCode(log.truncateBefore(5, 'yes' as never), 'INVALID_ARGUMENT');
    await assertUnchanged(log);
    await log.close();
  });

  test('indexes outside the log are OUT_OF_RANGE', async () => {
    const { log } = await logWithTen();
    await rejectsWithCode(log.read(1, 3), 'OUT_OF_RANGE');
    await rejectsWithCode(log.read(5, 11), 'OUT_OF_RANGE');
    await rejectsWithCode(log.get(10), 'OUT_OF_RANGE');
    await rejectsWithCode(log.get(0), 'OUT_OF_RANGE');
    await rejectsWithCode(log.truncateBefore(1), 'OUT_OF_RANGE');
    await rejectsWithCode(log.truncateBefore(11), 'OUT_OF_RANGE');
    await rejectsWithCode(log.truncateAfter(0), 'OUT_OF_RANGE');
    await rejectsWithCode(log.truncateAfter(10), 'OUT_OF_RANGE');
    await rejectsWithCode(log.truncateBefore(10, () => true), 'OUT_OF_RANGE');
    await assertUnchanged(log);
    await log.close();
  });

  test('a codec that throws, or returns something other than bytes, is INVALID_ARGUMENT and appends nothing', async () => {
    const picky: Codec<string> = {
      encode: (value) => {
        if (value === 'bad') throw new Error('cannot encode "bad"');
        if (value === 'not-bytes') return 'text' as unknown as Uint8Array;
        return utf8Codec.encode(value);
      },
      decode: utf8Codec.decode,
    };
    const vfs = new FaultVfs();
    const log = await IndexedLog.open('/db', picky, { vfs });
    await log.appendMany(['a', 'b']);
    const error = await rejectsWithCode(log.append('bad'), 'INVALID_ARGUMENT');
    assert.ok(error instanceof SiltError);
    assert.match(String((error as { cause?: Error }).cause?.message), /cannot encode/);
    await rejectsWithCode(log.append('not-bytes'), 'INVALID_ARGUMENT');
    // One bad entry rejects the whole appendMany before anything is framed.
    await rejectsWithCode(log.appendMany(['c', 'bad', 'd']), 'INVALID_ARGUMENT');
    await rejectsWithCode(log.appendMany('abc' as never), 'INVALID_ARGUMENT');
    assert.equal(log.nextIndex, 2);
    assert.deepEqual(await log.readAll(), ['a', 'b']);
    assert.equal(await log.append('c'), 2);
    await log.close();
  });

  test('a codec whose decode throws on stored bytes gives CORRUPTION', async () => {
    const vfs = new FaultVfs();
    const writer = await openLog(vfs, '/db');
    await writer.appendMany(['ok', 'boom']);
    await writer.close();
    const failing: Codec<string> = {
      encode: utf8Codec.encode,
      decode: (bytes) => {
        const text = utf8Codec.decode(bytes);
        if (text === 'boom') throw new Error('no');
        return text;
      },
    };
    const reader = await IndexedLog.open('/db', failing, { vfs });
    assert.deepEqual(await reader.read(0, 1), ['ok']);
    await rejectsWithCode(reader.read(0, 2), 'CORRUPTION');
    await rejectsWithCode(reader.readAll(), 'CORRUPTION');
    await reader.close();
  });

  test('an entry over maxEntryBytes is INVALID_ARGUMENT', async () => {
    const log = await openLog(new FaultVfs(), '/db', { maxEntryBytes: 8 });
    await rejectsWithCode(log.append('123456789'), 'INVALID_ARGUMENT');
    assert.equal(await log.append('12345678'), 0);
    await log.close();
  });

  test('bytesCodec appendMany (framed without an intermediate copy) checks every entry first', async () => {
    const vfs = new FaultVfs();
    const log = await IndexedLog.open('/db', bytesCodec, { vfs, maxEntryBytes: 8, maxBatchBytes: 64, segmentBytes: 256 });
    const bytes = (i: number, length: number): Uint8Array => new Uint8Array(length).fill(i);
    assert.deepEqual(await log.appendMany([bytes(1, 3), bytes(2, 0)]), [0, 1]);
    // A non-Uint8Array or oversized entry anywhere rejects the whole call before anything is framed.
    await rejectsWithCode(log.appendMany([bytes(3, 1), 'text' as never]), 'INVALID_ARGUMENT');
    await rejectsWithCode(log.appendMany([bytes(3, 1), bytes(4, 9)]), 'INVALID_ARGUMENT');
    await rejectsWithCode(log.appendMany([bytes(3, 1), null as never]), 'INVALID_ARGUMENT');
    assert.equal(log.nextIndex, 2);
    // Many entries spanning several batches and segments: indexes, bytes and checksums survive reopening.
    const values = Array.from({ length: 100 }, (_, i) => bytes(i, i % 9));
    const indexes = await log.appendMany(values);
    assert.deepEqual(indexes, Array.from({ length: 100 }, (_, i) => i + 2));
    assert.equal(await log.append(bytes(7, 8)), 102);
    await log.close();
    const reopened = await IndexedLog.open('/db', bytesCodec, { vfs });
    const all = await reopened.readAll();
    assert.equal(all.length, 103);
    assert.deepEqual([...all[0]!], [1, 1, 1]);
    for (let i = 0; i < 100; i++) assert.deepEqual([...all[i + 2]!], [...values[i]!]);
    assert.deepEqual([...all[102]!], [7, 7, 7, 7, 7, 7, 7, 7]);
    await reopened.close();
  });

  test('bytesCodec appendMany checks entries as it frames them: a bad one anywhere rolls the whole call back', async () => {
    const vfs = new FaultVfs();
    // Batches of at most 64 bytes (4 records of 4 bytes), segments of at most 200 bytes.
    const log = await IndexedLog.open('/db', bytesCodec, { vfs, durability: 'none', maxEntryBytes: 8, maxBatchBytes: 64, segmentBytes: 200 });
    const bytes = (i: number, length = 4): Uint8Array => new Uint8Array(length).fill(i);
    const expected: Uint8Array[] = [];
    const good = (from: number, count: number): Uint8Array[] => Array.from({ length: count }, (_, k) => bytes(from + k));
    const segmentFiles = async (): Promise<number> => (await vfs.readdir('/db')).filter((name) => name.endsWith('.seg')).length;
    // A fresh log: the call's first record opens the first segment.
    await rejectsWithCode(log.appendMany([bytes(1), 'x' as never]), 'INVALID_ARGUMENT');
    assert.equal(log.nextIndex, 0);
    const first = good(10, 2);
    // Same tick: the bad call goes into the batch the first call opened, after its two records.
    const appended = log.appendMany(first);
    await rejectsWithCode(log.appendMany([bytes(20), bytes(21, 9)]), 'INVALID_ARGUMENT');
    // A bad entry past the batch (the call would move on to another one): checked ahead.
    await rejectsWithCode(log.appendMany([...good(30, 6), null as never]), 'INVALID_ARGUMENT');
    assert.deepEqual(await appended, [0, 1]);
    expected.push(...first);
    assert.equal(log.nextIndex, 2);
    // A call that opens a fresh batch (the last one was written) and fails in it.
    await rejectsWithCode(log.appendMany([bytes(40), bytes(41), 7 as never]), 'INVALID_ARGUMENT');
    assert.equal(log.nextIndex, 2);
    // Fill the segment, then a call whose first record opens the next segment fails further on.
    const filler = good(50, 8);
    assert.deepEqual(await log.appendMany(filler), [2, 3, 4, 5, 6, 7, 8, 9]);
    expected.push(...filler);
    const segments = await segmentFiles();
    await rejectsWithCode(log.appendMany([...good(60, 3), bytes(63, 9)]), 'INVALID_ARGUMENT');
    assert.equal(log.nextIndex, 10);
    const tail = good(70, 5);
    assert.deepEqual(await log.appendMany(tail), [10, 11, 12, 13, 14]);
    expected.push(...tail);
    assert.ok((await segmentFiles()) > segments, 'the log moved on to a new segment');
    await log.close();
    const reopened = await IndexedLog.open('/db', bytesCodec, { vfs });
    assert.deepEqual((await reopened.readAll()).map((entry) => [...entry]), expected.map((entry) => [...entry]));
    await reopened.close();
  });

  test('long appendMany calls (checksummed ahead in the background as they are framed) read back exactly; a bad entry late in one rolls it back', async () => {
    const vfs = new FaultVfs();
    const log = await IndexedLog.open('/db', bytesCodec, { vfs, durability: 'none' });
    let next = 0;
    // Distinct 100-byte entries (and a few of other sizes, so records are not all alike).
    const good = (count: number): Uint8Array[] =>
      Array.from({ length: count }, () => {
        const i = next++;
        return new Uint8Array(i % 97 === 0 ? 1 + (i % 300) : 100).map((_, k) => (i * 31 + k * 7) & 0xff);
      });
    const expected: Uint8Array[] = [];
    // ~1 MiB calls, one batch each: several runs go to background checksums per call.
    for (let call = 0; call < 3; call++) {
      const values = good(9000);
      const first = expected.length;
      assert.deepEqual(await log.appendMany(values), Array.from({ length: values.length }, (_, k) => first + k));
      expected.push(...values);
    }
    // A bad entry after several runs went to the background: the call is rolled back.
    const bad = [...good(8000), 'x' as never, ...good(10)];
    await rejectsWithCode(log.appendMany(bad), 'INVALID_ARGUMENT');
    assert.equal(log.nextIndex, expected.length);
    // The same in the batch an earlier call of the same tick opened: the earlier call's records
    // were handed to the background with the bad call's; the earlier call stands.
    // And a call of the same tick after it, which must not frame where the job may still write.
    const small = good(5);
    const smallCall = log.appendMany(small);
    const rejected = log.appendMany([...good(7000), new Uint8Array(65 * 1024 * 1024)]);
    const after = good(3000);
    const afterCall = log.appendMany(after);
    await rejectsWithCode(rejected, 'INVALID_ARGUMENT');
    assert.deepEqual(await smallCall, [0, 1, 2, 3, 4].map((k) => expected.length + k));
    expected.push(...small);
    assert.deepEqual((await afterCall)[0], expected.length);
    expected.push(...after);
    const last = good(9000);
    assert.deepEqual((await log.appendMany(last))[0], expected.length);
    expected.push(...last);
    assert.equal(log.nextIndex, expected.length);
    await assertHoldsAcrossReopen(log, vfs, expected);
  });

  test('a rolled-back long call: its background checksum jobs, run late, read its records as framed, not the later records framed over them', async () => {
    const vfs = new FaultVfs();
    const log = await IndexedLog.open('/db', bytesCodec, { vfs, durability: 'none' });
    // A long call first: the batch the next call opens is sized like its one (~1 MiB), so that
    // the rolled-back call below is framed into the batch a small call of the same tick opened.
    const first = Array.from({ length: 9000 }, (_, i) => new Uint8Array(100).fill((i * 3) & 0xff));
    await log.appendMany(first);
    // Every libuv threadpool thread busy for a while: the checksum jobs of the call below (with
    // the native accelerator) run only after the later calls were framed.
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const busy = Array.from({ length: threads }, () => new Promise((resolve, reject) => pbkdf2('p', 's', 300_000, 64, 'sha512', (error) => (error ? reject(error) : resolve(null)))));
    const small = [new Uint8Array(10).fill(1)];
    const smallCall = log.appendMany(small);
    // 100-byte records, several 256 KiB runs handed to the background, then a bad entry.
    const rolledBack = Array.from({ length: 7000 }, (_, i) => new Uint8Array(100).fill(i & 0xff));
    const rejected = log.appendMany([...rolledBack, 'x' as never]);
    // Framed where the rolled-back records were, with other record starts: a job that read these
    // starts would find them past its bytes and fail the batch of the call that stands.
    const after = Array.from({ length: 3000 }, (_, i) => new Uint8Array(1000).fill((i * 7) & 0xff));
    const afterCall = log.appendMany(after);
    await rejectsWithCode(rejected, 'INVALID_ARGUMENT');
    assert.deepEqual(await smallCall, [first.length]);
    assert.deepEqual(await afterCall, Array.from({ length: after.length }, (_, k) => first.length + 1 + k));
    await Promise.all(busy);
    await assertHoldsAcrossReopen(log, vfs, [...first, ...small, ...after]);
  });

  test('appendMany indexes past 2^30 (no longer small integers) are returned exactly', async () => {
    const vfs = new FaultVfs();
    await vfs.mkdir('/db', { recursive: true, durable: true });
    // An emptied log whose next index is far out: its first-index file says so.
    const start = 2 ** 31 + 5;
    await writeFirstIndexFile(vfs, '/db', start);
    const log = await IndexedLog.open('/db', bytesCodec, { vfs, maxBatchBytes: 64 });
    assert.equal(log.nextIndex, start);
    const values = Array.from({ length: 20 }, (_, i) => new Uint8Array(3).fill(i));
    assert.deepEqual(await log.appendMany(values), Array.from({ length: 20 }, (_, i) => start + i));
    assert.deepEqual((await log.read(start + 18, start + 20)).map((entry) => [...entry]), [[18, 18, 18], [19, 19, 19]]);
    await log.close();
  });

  test('bad open arguments and options are INVALID_ARGUMENT', async () => {
    const vfs = new FaultVfs();
    await rejectsWithCode(IndexedLog.open('', utf8Codec, { vfs }), 'INVALID_ARGUMENT');
    await rejectsWithCode(IndexedLog.open(42 as never, utf8Codec, { vfs }), 'INVALID_ARGUMENT');
    await rejectsWithCode(IndexedLog.open('/db', {} as never, { vfs }), 'INVALID_ARGUMENT');
    await rejectsWithCode(IndexedLog.open('/db', utf8Codec, { vfs, durability: 'always' as never }), 'INVALID_ARGUMENT');
    await rejectsWithCode(IndexedLog.open('/db', utf8Codec, { vfs, segmentBytes: 10 }), 'INVALID_ARGUMENT');
    await rejectsWithCode(IndexedLog.open('/db', utf8Codec, { vfs, groupWindowMs: -1 }), 'INVALID_ARGUMENT');
    await rejectsWithCode(IndexedLog.open('/db', utf8Codec, { vfs, maxBatchBytes: 1.5 }), 'INVALID_ARGUMENT');
    await rejectsWithCode(IndexedLog.open('/db', utf8Codec, { vfs: {} as never }), 'INVALID_ARGUMENT');
    assert.deepEqual(await vfs.readdir('/'), []);
  });

  test('every call after close is CLOSED and the files are as they were', async () => {
    const { vfs, log } = await logWithTen();
    await log.close();
    await rejectsWithCode(log.append('x'), 'CLOSED');
    await rejectsWithCode(log.appendMany(['x']), 'CLOSED');
    await rejectsWithCode(log.read(2, 3), 'CLOSED');
    await rejectsWithCode(log.get(2), 'CLOSED');
    await rejectsWithCode(log.readAll(), 'CLOSED');
    await rejectsWithCode(log.truncateBefore(3), 'CLOSED');
    await rejectsWithCode(log.truncateAfter(3), 'CLOSED');
    await rejectsWithCode(log.truncateAll(), 'CLOSED');
    await rejectsWithCode(log.sync(), 'CLOSED');
    await rejectsWithCode(async () => {
      for await (const value of log) void value;
    }, 'CLOSED');
    const reopened = await openLog(vfs, '/db', { segmentBytes: 128 });
    await assertUnchanged(reopened);
    await reopened.close();
  });
});
