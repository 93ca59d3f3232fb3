/**
 * IndexedLog: the reference system's test list (empty start, write and read back, reopen, the
 * truncations and their edge cases, the stale-count check), rotation, truncation across segment
 * boundaries, reads and iteration, durability modes — on both file systems.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { accel, tsAccelerator } from '@siltdb/bindings';
import { FaultVfs, IndexedLog, NodeVfs, jsonCodec, utf8Codec } from '../src/log.js';
import { entries, entry, FILE_SYSTEMS, openLog, rejectsWithCode, tempDir, turns } from './helpers/log-fixtures.js';

for (const fs of FILE_SYSTEMS) {
  describe(`IndexedLog on ${fs.name}`, () => {
    test('an empty log starts at 0 with nothing in it', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      assert.equal(log.firstIndex, 0);
      assert.equal(log.nextIndex, 0);
      assert.equal(log.count, 0);
      assert.deepEqual(await log.readAll(), []);
      assert.deepEqual(await log.read(0, 0), []);
      await log.close();
    });

    test('appends get consecutive indexes and readAll returns them in order', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      for (let i = 0; i < 10; i++) assert.equal(await log.append(entry(i)), i);
      assert.deepEqual(await log.appendMany(entries(10, 15)), [10, 11, 12, 13, 14]);
      assert.equal(log.count, 15);
      assert.deepEqual(await log.readAll(), entries(0, 15));
      await log.close();
    });

    test('reopening keeps the entries and the indexes', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      await log.appendMany(entries(0, 20));
      await log.close();
      const reopened = await openLog(vfs, dir);
      assert.equal(reopened.firstIndex, 0);
      assert.equal(reopened.nextIndex, 20);
      assert.deepEqual(await reopened.readAll(), entries(0, 20));
      assert.equal(await reopened.append(entry(20)), 20);
      assert.deepEqual(await reopened.read(18, 21), entries(18, 21));
      await reopened.close();
    });

    test('reopening after truncateBefore keeps the new first index', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      await log.appendMany(entries(0, 10));
      await log.truncateBefore(4);
      assert.equal(log.firstIndex, 4);
      await log.close();
      const reopened = await openLog(vfs, dir);
      assert.equal(reopened.firstIndex, 4);
      assert.equal(reopened.nextIndex, 10);
      assert.deepEqual(await reopened.readAll(), entries(4, 10));
      await reopened.close();
    });

    test('truncateBefore(nextIndex − 1) keeps only the last entry', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      await log.appendMany(entries(0, 5));
      await log.truncateBefore(4);
      assert.deepEqual(await log.readAll(), [entry(4)]);
      assert.equal(log.count, 1);
      await log.close();
    });

    test('truncateAll empties the log and the next append continues the indexes', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      await log.appendMany(entries(0, 7));
      await log.truncateAll();
      assert.equal(log.firstIndex, 7);
      assert.equal(log.nextIndex, 7);
      assert.equal(log.count, 0);
      assert.deepEqual(await log.readAll(), []);
      assert.equal(await log.append(entry(7)), 7);
      assert.deepEqual(await log.readAll(), [entry(7)]);
      await log.close();
      const reopened = await openLog(vfs, dir);
      assert.equal(reopened.firstIndex, 7);
      assert.deepEqual(await reopened.readAll(), [entry(7)]);
      await reopened.close();
    });

    test('truncateAll on an empty log changes nothing', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      await log.truncateAll();
      assert.equal(log.firstIndex, 0);
      assert.equal(log.nextIndex, 0);
      await log.truncateAll();
      assert.equal(await log.append(entry(0)), 0);
      await log.close();
    });

    test('reopening after truncateAll with no writes keeps the next index', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      await log.appendMany(entries(0, 12));
      await log.truncateAll();
      await log.close();
      const reopened = await openLog(vfs, dir);
      assert.equal(reopened.firstIndex, 12);
      assert.equal(reopened.nextIndex, 12);
      assert.equal(reopened.count, 0);
      assert.equal(await reopened.append(entry(12)), 12);
      await reopened.close();
    });

    test('successive truncateBefore calls each move the first index', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir, { segmentBytes: 128 });
      await log.appendMany(entries(0, 30));
      for (const first of [3, 3, 9, 17, 25, 30]) {
        await log.truncateBefore(first);
        assert.equal(log.firstIndex, first);
        assert.deepEqual(await log.readAll(), entries(first, 30));
      }
      assert.equal(log.count, 0);
      await log.close();
      const reopened = await openLog(vfs, dir, { segmentBytes: 128 });
      assert.equal(reopened.firstIndex, 30);
      assert.equal(reopened.nextIndex, 30);
      await reopened.close();
    });

    test('truncateBefore verifies entry i first: acceptance cuts, rejection changes nothing', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir, { segmentBytes: 128 });
      await log.appendMany(entries(0, 20));
      const seen: Array<[string, number]> = [];
      await log.truncateBefore(5, (value, index) => {
        seen.push([value, index]);
        return value === entry(5);
      });
      assert.deepEqual(seen, [[entry(5), 5]]);
      assert.equal(log.firstIndex, 5);

      await rejectsWithCode(log.truncateBefore(12, async () => false), 'VERIFY_REJECTED');
      const thrown = new Error('not this one');
      await assert.rejects(
        log.truncateBefore(12, () => {
          throw thrown;
        }),
        (error) => error === thrown,
      );
      assert.equal(log.firstIndex, 5);
      assert.deepEqual(await log.readAll(), entries(5, 20));
      // A verify that returns nothing accepts.
      await log.truncateBefore(12, () => {});
      assert.equal(log.firstIndex, 12);
      await rejectsWithCode(log.truncateBefore(20, () => true), 'OUT_OF_RANGE');
      await log.close();
      const reopened = await openLog(vfs, dir, { segmentBytes: 128 });
      assert.equal(reopened.firstIndex, 12);
      await reopened.close();
    });

    test('truncateBefore refuses an index outside [firstIndex, nextIndex]', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      await log.appendMany(entries(0, 5));
      await log.truncateBefore(2);
      await rejectsWithCode(log.truncateBefore(1), 'OUT_OF_RANGE');
      await rejectsWithCode(log.truncateBefore(6), 'OUT_OF_RANGE');
      assert.equal(log.firstIndex, 2);
      await log.truncateBefore(5);
      assert.equal(log.count, 0);
      await log.close();
    });

    test('truncateAfter removes the tail, and appends reuse the freed indexes', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir, { segmentBytes: 160 });
      await log.appendMany(entries(0, 40));
      await log.truncateAfter(22);
      assert.equal(log.nextIndex, 23);
      assert.deepEqual(await log.readAll(), entries(0, 23));
      assert.equal(await log.append('replacement'), 23);
      await log.truncateAfter(log.nextIndex - 1);
      assert.deepEqual(await log.read(21, 24), [entry(21), entry(22), 'replacement']);
      await rejectsWithCode(log.truncateAfter(24), 'OUT_OF_RANGE');
      await log.close();
      const reopened = await openLog(vfs, dir, { segmentBytes: 160 });
      assert.equal(reopened.nextIndex, 24);
      assert.deepEqual(await reopened.read(20, 24), [entry(20), entry(21), entry(22), 'replacement']);
      await reopened.close();
    });

    test('truncateAfter(firstIndex − 1) empties the log at its first index', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir, { segmentBytes: 128 });
      await log.appendMany(entries(0, 20));
      await log.truncateBefore(6);
      await rejectsWithCode(log.truncateAfter(4), 'OUT_OF_RANGE');
      await log.truncateAfter(5);
      assert.equal(log.firstIndex, 6);
      assert.equal(log.nextIndex, 6);
      assert.equal(await log.append('again'), 6);
      await log.close();
      const reopened = await openLog(vfs, dir, { segmentBytes: 128 });
      assert.equal(reopened.firstIndex, 6);
      assert.deepEqual(await reopened.readAll(), ['again']);
      await reopened.close();
    });

    test('segments rotate at their size, and reads cross segment boundaries', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir, { segmentBytes: 200 });
      for (let i = 0; i < 60; i += 6) await log.appendMany(entries(i, i + 6));
      const segments = (await vfs.readdir(dir)).filter((name) => name.endsWith('.seg'));
      assert.ok(segments.length >= 8, `expected many segments, got ${segments.join(', ')}`);
      // Each segment is named by the index of its first record, so the names are strictly increasing.
      const starts = segments.map((name) => Number(name.slice(0, 20)));
      assert.equal(starts[0], 0);
      assert.deepEqual([...starts].sort((a, b) => a - b), starts);
      assert.deepEqual(await log.read(7, 41), entries(7, 41));
      await log.close();
      const reopened = await openLog(vfs, dir, { segmentBytes: 200 });
      assert.deepEqual(await reopened.read(0, 60), entries(0, 60));
      assert.deepEqual(await reopened.read(starts[3]! - 1, starts[3]! + 1), entries(starts[3]! - 1, starts[3]! + 1));
      assert.deepEqual(await reopened.readAll(), entries(0, 60));
      await reopened.close();
    });

    test('truncations at and across segment boundaries', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir, { segmentBytes: 200 });
      await log.appendMany(entries(0, 60));
      const starts = (await vfs.readdir(dir)).filter((n) => n.endsWith('.seg')).map((n) => Number(n.slice(0, 20)));
      const [, second, third, fourth] = starts as [number, number, number, number];
      // Exactly at a boundary: the whole first segment goes.
      await log.truncateBefore(second);
      assert.ok(!(await vfs.readdir(dir)).includes('00000000000000000000.seg'));
      // Inside a segment: the segment stays, its first records are hidden.
      await log.truncateBefore(third + 1);
      assert.deepEqual(await log.read(third + 1, third + 3), entries(third + 1, third + 3));
      // truncateAfter just before a boundary removes the following segments whole.
      const lastStart = starts[starts.length - 1]!;
      await log.truncateAfter(lastStart - 1);
      assert.equal(log.nextIndex, lastStart);
      // ... and inside a segment cuts that segment.
      await log.truncateAfter(fourth + 1);
      assert.equal(log.nextIndex, fourth + 2);
      assert.deepEqual(await log.readAll(), entries(third + 1, fourth + 2));
      await log.appendMany(['a', 'b', 'c']);
      await log.close();
      const reopened = await openLog(vfs, dir, { segmentBytes: 200 });
      assert.equal(reopened.firstIndex, third + 1);
      assert.deepEqual(await reopened.readAll(), [...entries(third + 1, fourth + 2), 'a', 'b', 'c']);
      await reopened.close();
    });

    test('readAll detects a stale next index (entries missing from the files)', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      await log.appendMany(entries(0, 6));
      // Another hand cuts the last record off the file behind the open log's back.
      const segment = join(dir, '00000000000000000000.seg');
      const bytes = await vfs.readFile(segment);
      await vfs.truncate(segment, bytes.length - 5);
      await rejectsWithCode(log.readAll(), 'CORRUPTION');
      await log.close();
    });

    test('reads, single gets and async iteration see the same entries', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir, { segmentBytes: 256 });
      await log.appendMany(entries(0, 2500));
      await log.truncateBefore(3);
      assert.equal(await log.get(1234), entry(1234));
      const iterated: string[] = [];
      for await (const value of log) iterated.push(value);
      assert.deepEqual(iterated, entries(3, 2500));
      const pairs: Array<[number, string]> = [];
      for await (const pair of log.entries(1020, 1030)) pairs.push(pair);
      assert.deepEqual(pairs, entries(1020, 1030).map((value, i) => [1020 + i, value]));
      await rejectsWithCode(log.read(2, 5), 'OUT_OF_RANGE');
      await rejectsWithCode(log.read(2499, 2501), 'OUT_OF_RANGE');
      await rejectsWithCode(log.read(9, 8), 'OUT_OF_RANGE');
      await log.close();
    });

    test('a second writer of the same directory gets LOCKED until the first closes', async (t) => {
      const { vfs, dir } = fs.make(t);
      const log = await openLog(vfs, dir);
      await rejectsWithCode(openLog(vfs, dir), 'LOCKED');
      await log.close();
      const next = await openLog(vfs, dir);
      await next.close();
    });
  });
}

describe('IndexedLog durability modes', () => {
  test('sync: one fdatasync per append call', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { durability: 'sync' });
    await log.append(entry(0));
    const before = vfs.calls('sync');
    await Promise.all(entries(1, 11).map((value) => log.append(value)));
    assert.equal(vfs.calls('sync') - before, 10);
    await log.appendMany(entries(11, 20));
    assert.equal(vfs.calls('sync') - before, 11);
    await log.close();
  });

  test('group: concurrent appends share fsyncs, and each resolves after its fsync', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { durability: 'group' });
    const before = vfs.calls('sync');
    const indexes = await Promise.all(entries(0, 200).map((value) => log.append(value)));
    assert.deepEqual(indexes, [...Array(200).keys()]);
    const syncs = vfs.calls('sync') - before;
    assert.ok(syncs >= 1 && syncs <= 3, `200 concurrent appends took ${syncs} fsyncs`);
    // Acknowledged means durable: a crash right now loses none of them.
    const rebooted = vfs.crash();
    const reopened = await openLog(rebooted, '/db');
    assert.deepEqual(await reopened.readAll(), entries(0, 200));
    await reopened.close();
  });

  test('group with a window: appends spread over the window share one fsync', async () => {
    const vfs = new FaultVfs();
    // A window far longer than the appends take even on a loaded machine; the appends are spread
    // over separate turns of the event loop, which without the window would be separate batches.
    const log = await openLog(vfs, '/db', { durability: 'group', groupWindowMs: 500 });
    const before = vfs.calls('sync');
    const pending: Promise<number>[] = [];
    for (let i = 0; i < 5; i++) {
      pending.push(log.append(entry(i)));
      await turns(2);
    }
    await Promise.all(pending);
    assert.equal(vfs.calls('sync') - before, 1);
    await log.close();
  });

  test('none: no fsync until sync(), which makes everything durable', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { durability: 'none' });
    const before = vfs.calls('sync');
    await Promise.all(entries(0, 50).map((value) => log.append(value)));
    assert.equal(vfs.calls('sync') - before, 0);
    assert.deepEqual(await log.readAll(), entries(0, 50));
    await log.sync();
    assert.ok(vfs.calls('sync') - before >= 1);
    const rebooted = vfs.crash();
    const reopened = await openLog(rebooted, '/db');
    assert.deepEqual(await reopened.readAll(), entries(0, 50));
    await reopened.close();
  });

  test('none with bytesPerSync: a long run of appends is synced in the background every few MiB', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { durability: 'none', bytesPerSync: 8 * 1024 * 1024 });
    const chunk = 'z'.repeat(256 * 1024);
    for (let i = 0; i < 80; i += 8) await Promise.all(Array.from({ length: 8 }, () => log.append(chunk)));
    // 20 MiB written: at least two background fdatasyncs, none of them awaited by an append.
    assert.ok(vfs.calls('sync') >= 2, `${vfs.calls('sync')} syncs`);
    await log.close();
  });

  test('none without bytesPerSync (the default): a long run of appends in one segment is never synced', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { durability: 'none' });
    const chunk = 'z'.repeat(256 * 1024);
    for (let i = 0; i < 80; i += 8) await Promise.all(Array.from({ length: 8 }, () => log.append(chunk)));
    assert.equal(vfs.calls('sync'), 0);
    await log.close();
  });

  test('none: appends in one tick share one write call', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { durability: 'none' });
    const before = vfs.calls('write');
    await Promise.all(entries(0, 1000).map((value) => log.append(value)));
    assert.equal(vfs.calls('write') - before, 1);
    await log.close();
  });
});

describe('IndexedLog batched framing', () => {
  for (const durability of ['sync', 'group', 'none'] as const) {
    test(`${durability}: appendMany calls of mixed sizes across batch and segment limits read back exactly`, async (t) => {
      for (const fs of FILE_SYSTEMS) {
        const { vfs, dir } = fs.make(t);
        const options = { durability, maxBatchBytes: 200, segmentBytes: 700 };
        const log = await openLog(vfs, dir, options);
        const written: string[] = [];
        const calls: Promise<unknown>[] = [];
        let seed = 7;
        for (let call = 0; call < 40; call++) {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          // Entries from empty to larger than a batch (a record that gets a batch of its own).
          const values = Array.from({ length: 1 + (seed % 9) }, (_, k) => `${call}.${k}:${'p'.repeat((seed >> (k + 3)) % 260)}`);
          const first = written.length;
          written.push(...values);
          calls.push(log.appendMany(values).then((indexes) => assert.deepEqual(indexes, values.map((_, k) => first + k))));
          if (call % 3 === 0) {
            const index = written.length;
            written.push(`single-${call}`);
            calls.push(log.append(`single-${call}`).then((got) => assert.equal(got, index)));
          }
        }
        await Promise.all(calls);
        assert.deepEqual(await log.readAll(), written, fs.name);
        assert.deepEqual(await log.read(5, 60), written.slice(5, 60), fs.name);
        await log.close();
        const reopened = await openLog(vfs, dir, options);
        assert.deepEqual(await reopened.readAll(), written, fs.name);
        await reopened.close();
      }
    });
  }
});

describe('IndexedLog record offsets of recent batches', () => {
  for (const durability of ['sync', 'group', 'none'] as const) {
    test(`${durability}: entries read, and tails cut, inside batches still being framed or written`, async (t) => {
      for (const fs of FILE_SYSTEMS) {
        const { vfs, dir } = fs.make(t);
        const options = { durability, maxBatchBytes: 300, segmentBytes: 2000 };
        const log = await openLog(vfs, dir, options);
        const written: string[] = [];
        for (let round = 0; round < 12; round++) {
          const values = Array.from({ length: 3 + (round % 5) }, (_, k) => `${round}.${k}:${'q'.repeat((round * 37 + k * 11) % 90)}`);
          written.push(...values);
          // Not awaited: the reads below find these records in the open or a queued batch.
          const appended = log.appendMany(values);
          const last = written.length - 1;
          assert.deepEqual(await log.read(last - 1, last + 1), written.slice(last - 1, last + 1), `${fs.name} round ${round}`);
          await appended;
          if (round % 4 === 3) {
            // Cut inside the batch just written, then append behind the cut.
            const keep = written.length - 2;
            await log.truncateAfter(keep - 1);
            written.length = keep;
            written.push(`after-cut-${round}`);
            assert.equal(await log.append(`after-cut-${round}`), keep);
          }
        }
        for (let i = 0; i < written.length; i += 7) assert.deepEqual(await log.get(i), written[i], `${fs.name} entry ${i}`);
        assert.deepEqual(await log.readAll(), written, fs.name);
        await log.close();
        const reopened = await openLog(vfs, dir, options);
        assert.deepEqual(await reopened.readAll(), written, fs.name);
        await reopened.close();
      }
    });
  }
});

describe('IndexedLog checksums of a batch written in parts', () => {
  for (const durability of ['group', 'none'] as const) {
    test(`${durability}: a large call's batch is sealed and checksummed in the background as the call returns; small appends are checksummed in place at their batch's seal`, async (t) => {
      const dir = join(tempDir(t), 'log');
      // Each accelerator call: in the background (sealLogBatch) or in place, and for how many records.
      const sealed: string[] = [];
      const inPlace = accel.sealLogRecords;
      const background = accel.sealLogBatch;
      t.mock.method(accel, 'sealLogRecords', (buffer: Uint8Array, spans: Uint32Array) => {
        sealed.push(`in place ${spans.length / 2}`);
        inPlace(buffer, spans);
      });
      t.mock.method(accel, 'sealLogBatch', (buffer: Uint8Array, starts: Uint32Array, shift: number, end: number) => {
        sealed.push(`background ${starts.length}`);
        return background(buffer, starts, shift, end);
      });
      const log = await IndexedLog.open(dir, utf8Codec, { vfs: new NodeVfs(), durability, segmentBytes: 300 * 1024 });
      const written: string[] = [];
      const calls: Promise<unknown>[] = [];
      const many = (count: number, bytes: number): void => {
        const values = Array.from({ length: count }, (_, k) => `${written.length + k}:${String.fromCharCode(97 + (k % 26)).repeat(bytes)}`);
        written.push(...values);
        calls.push(log.appendMany(values));
      };
      // All in one tick: 80 KB (its batch sealed and checksummed in the background when the call
      // returns), small appends that start the next batch, 90 KB added to it (sealed with the
      // singles when the call returns), a small call (a new batch, left to its seal), then calls
      // that fill it and cross into a second segment.
      many(80, 1000);
      for (let i = 0; i < 5; i++) {
        written.push(`single-${i}`);
        calls.push(log.append(`single-${i}`));
      }
      many(90, 1000);
      many(3, 10);
      many(200, 1000);
      many(100, 1500);
      await Promise.all(calls);
      // A call of a few bytes in a later tick: a batch of its own, checksummed in place.
      many(3, 10);
      await Promise.all(calls);
      assert.equal(sealed[0], 'background 80', 'the first call had its own records checksummed in the background');
      assert.equal(sealed[1], 'background 95', 'the second large call had the singles and its records checksummed');
      assert.ok(sealed.some((call) => call.startsWith('in place')), `a small batch is checksummed in place: ${sealed.join(', ')}`);
      assert.deepEqual(await log.readAll(), written);
      await log.close();
      t.mock.restoreAll();

      // Every header on disk, against the TypeScript twin's CRC32C whichever accelerator wrote it.
      let records = 0;
      for (const name of readdirSync(dir).filter((n) => n.endsWith('.seg')).sort()) {
        const bytes = readFileSync(join(dir, name));
        for (let at = 20; at < bytes.length; ) {
          const length = bytes.readUInt32LE(at);
          assert.equal(bytes.readUInt32LE(at + 4), ~length >>> 0, `${name} @${at}`);
          const payload = bytes.subarray(at + 12, at + 12 + length);
          assert.equal(bytes.readUInt32LE(at + 8), tsAccelerator.crc32c(payload), `${name} @${at}`);
          assert.equal(payload.toString(), written[records], `${name} @${at}`);
          at += 12 + length;
          records++;
        }
      }
      assert.equal(records, written.length);
      const reopened = await IndexedLog.open(dir, utf8Codec, { vfs: new NodeVfs(), durability });
      assert.deepEqual(await reopened.readAll(), written);
      await reopened.close();
    });
  }
});

describe('sealLogBatch (the background checksums of a batch)', () => {
  test('writes the same headers as the TypeScript twin and as sealLogRecords; malformed starts reject and change nothing', async () => {
    // Records of 0..300 bytes behind a 20-byte stamp, the buffer starting at file offset 4096.
    const shift = 4096;
    const lengths = Array.from({ length: 200 }, (_, k) => (k * 37) % 301);
    const size = 20 + lengths.reduce((sum, length) => sum + 12 + length, 0);
    const unsealed = new Uint8Array(size).map((_, k) => (k * 131 + 7) & 0xff);
    const starts = new Uint32Array(lengths.length);
    const spans = new Uint32Array(2 * lengths.length);
    let at = 20;
    lengths.forEach((length, k) => {
      starts[k] = shift + at;
      spans[2 * k] = at + 12;
      spans[2 * k + 1] = at + 12 + length;
      at += 12 + length;
    });
    const viaSpans = unsealed.slice();
    tsAccelerator.sealLogRecords(viaSpans, spans);
    for (const accelerator of [accel, tsAccelerator]) {
      const sealed = unsealed.slice();
      await accelerator.sealLogBatch(sealed, starts, shift, size);
      assert.deepEqual(sealed, viaSpans);
      for (const [badStarts, badShift, badEnd] of [
        [new Uint32Array([shift + 20, shift + 25]), shift, size], // a record shorter than its header
        [new Uint32Array([shift + 40, shift + 20]), shift, size], // out of order
        [new Uint32Array([shift + 20]), shift, size + 1], // past the end of the buffer
        [new Uint32Array([20]), shift, size], // before the buffer
      ] as const) {
        const untouched = unsealed.slice();
        await assert.rejects(accelerator.sealLogBatch(untouched, badStarts, badShift, badEnd), (error: unknown) => (error as { code?: string }).code === 'INVALID_ARGUMENT');
        assert.deepEqual(untouched, unsealed);
      }
    }
  });
});

describe('IndexedLog appendMany arrays', () => {
  test('the array may be refilled as soon as appendMany returns, even when the call is queued', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { durability: 'none' });
    const values = ['a', 'b'];
    const first = log.appendMany(values);
    values.length = 0;
    values.push('changed');
    // Queued behind an exclusive operation: the call must keep the entries it was given.
    const truncation = log.truncateAfter(0);
    const second = log.appendMany(values);
    values[0] = 'changed again';
    assert.deepEqual(await first, [0, 1]);
    await truncation;
    assert.deepEqual(await second, [1]);
    assert.deepEqual(await log.readAll(), ['a', 'changed']);
    await log.close();
  });
});

describe('IndexedLog behaviour', () => {
  test('the log keeps one file open however many segments it writes and reads', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { segmentBytes: 128 });
    for (let i = 0; i < 200; i += 5) await log.appendMany(entries(i, i + 5));
    assert.ok((await vfs.readdir('/db')).length > 30);
    assert.deepEqual(await log.readAll(), entries(0, 200));
    assert.deepEqual(await log.read(3, 197), entries(3, 197));
    assert.equal(vfs.openFiles, 1);
    await log.close();
    assert.equal(vfs.openFiles, 0);
    const reopened = await openLog(vfs, '/db', { segmentBytes: 128 });
    await Promise.all([reopened.readAll(), reopened.read(50, 150), reopened.get(7)]);
    assert.equal(vfs.openFiles, 1);
    await reopened.close();
    assert.equal(vfs.openFiles, 0);
  });

  test('calls take effect in call order, even when not awaited', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { segmentBytes: 128 });
    const appended = entries(0, 10).map((value) => log.append(value));
    const cut = log.truncateAfter(4);
    const afterCut = log.append('after-cut');
    const moved = log.truncateBefore(2);
    const read = log.readAll();
    assert.deepEqual(await Promise.all(appended), [...Array(10).keys()]);
    await cut;
    assert.equal(await afterCut, 5);
    await moved;
    assert.deepEqual(await read, [entry(2), entry(3), entry(4), 'after-cut']);
    await log.close();
  });

  test('a JSON codec round-trips structured entries', async (t) => {
    const dir = tempDir(t);
    const log = await IndexedLog.open<{ n: number; tags: string[] }>(dir, jsonCodec(), { vfs: new NodeVfs() });
    await log.append({ n: 1, tags: ['a'] });
    await log.append({ n: 2, tags: [] });
    assert.deepEqual(await log.readAll(), [
      { n: 1, tags: ['a'] },
      { n: 2, tags: [] },
    ]);
    await log.close();
  });

  test('close waits for pending appends and is idempotent; later calls fail with CLOSED', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, '/db', { durability: 'group' });
    const pending = entries(0, 20).map((value) => log.append(value));
    await log.close();
    assert.deepEqual(await Promise.all(pending), [...Array(20).keys()]);
    assert.equal(log.closed, true);
    await log.close();
    await rejectsWithCode(log.append('late'), 'CLOSED');
    await rejectsWithCode(log.read(0, 1), 'CLOSED');
    await rejectsWithCode(log.readAll(), 'CLOSED');
    await rejectsWithCode(log.truncateAll(), 'CLOSED');
    await rejectsWithCode(log.sync(), 'CLOSED');
    const reopened = await openLog(vfs, '/db');
    assert.equal(reopened.count, 20);
    await reopened.close();
  });
});
