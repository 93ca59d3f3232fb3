/**
 * Opening a log after damage: a torn tail at every byte of the last record is cut back to the
 * whole records before it; a torn segment header is rewritten; damage anywhere else is CORRUPTION
 * and is never skipped.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaultVfs, type Vfs } from '../src/log.js';
import { entries, entry, openLog, rejectsWithCode } from './helpers/log-fixtures.js';

const DIR = '/db';
const FIRST_SEGMENT = join(DIR, '00000000000000000000.seg');
const SEGMENT_HEADER_BYTES = 20;
const RECORD_HEADER_BYTES = 12;

/** Write `count` entries to a fresh log and return the file system and the first segment's bytes. */
async function writtenLog(count: number, segmentBytes?: number): Promise<{ vfs: FaultVfs; bytes: Uint8Array }> {
  const vfs = new FaultVfs();
  const log = await openLog(vfs, DIR, segmentBytes === undefined ? {} : { segmentBytes });
  await log.appendMany(entries(0, count));
  await log.close();
  return { vfs, bytes: vfs.contentOf(FIRST_SEGMENT) };
}

/** Byte offsets where each record of the first segment starts, for entries 0..count-1. */
function recordStarts(count: number): number[] {
  const starts: number[] = [];
  let at = SEGMENT_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    starts.push(at);
    at += RECORD_HEADER_BYTES + Buffer.byteLength(entry(i));
  }
  starts.push(at);
  return starts;
}

/** A file system holding only the first segment, with the given content, synced. */
async function logWithSegment(content: Uint8Array): Promise<Vfs> {
  const vfs = new FaultVfs();
  await vfs.mkdir(DIR, { recursive: true });
  const file = await vfs.open(FIRST_SEGMENT, { mode: 'exclusive', durable: true });
  await file.write(content, 0);
  await file.sync();
  await file.close();
  return vfs;
}

describe('recovery of a torn tail', () => {
  test('a tail torn at every byte offset of the last record recovers exactly the records before it', async () => {
    const count = 6;
    const { bytes } = await writtenLog(count);
    const starts = recordStarts(count);
    const lastStart = starts[count - 1]!;
    assert.equal(bytes.length, starts[count]);
    for (let cut = lastStart; cut < bytes.length; cut++) {
      const vfs = await logWithSegment(bytes.subarray(0, cut));
      const log = await openLog(vfs, DIR);
      assert.equal(log.nextIndex, count - 1, `cut at byte ${cut}`);
      assert.deepEqual(await log.readAll(), entries(0, count - 1), `cut at byte ${cut}`);
      // The file was cut back to the last whole record, so the next append lands cleanly.
      assert.equal(vfs instanceof FaultVfs && vfs.contentOf(FIRST_SEGMENT).length, lastStart);
      assert.equal(await log.append('after'), count - 1);
      await log.close();
      const reopened = await openLog(vfs, DIR);
      assert.deepEqual(await reopened.readAll(), [...entries(0, count - 1), 'after']);
      await reopened.close();
    }
  });

  test('zeros after the last record (space allocated, never written) are cut', async () => {
    const { bytes } = await writtenLog(4);
    for (const zeros of [1, 11, 12, 13, 100]) {
      const vfs = await logWithSegment(Buffer.concat([bytes, Buffer.alloc(zeros)]));
      const log = await openLog(vfs, DIR);
      assert.deepEqual(await log.readAll(), entries(0, 4), `${zeros} zero bytes`);
      await log.close();
    }
  });

  test('a segment header torn while the segment was created is rewritten', async () => {
    const { bytes } = await writtenLog(1);
    for (let cut = 0; cut < SEGMENT_HEADER_BYTES; cut++) {
      const vfs = await logWithSegment(bytes.subarray(0, cut));
      const log = await openLog(vfs, DIR);
      assert.equal(log.nextIndex, 0, `header cut at ${cut}`);
      assert.equal(await log.append('first'), 0);
      await log.close();
      const reopened = await openLog(vfs, DIR);
      assert.deepEqual(await reopened.readAll(), ['first']);
      await reopened.close();
    }
  });
});

describe('corruption is reported, never skipped', () => {
  test('a flipped bit anywhere in a record followed by others fails the open with CORRUPTION', async () => {
    const count = 5;
    const { bytes } = await writtenLog(count);
    const starts = recordStarts(count);
    // Every byte of record 2 (header and payload), each with a different bit flipped.
    for (let at = starts[2]!; at < starts[3]!; at++) {
      const damaged = Uint8Array.from(bytes);
      damaged[at] = damaged[at]! ^ (1 << (at % 8));
      const vfs = await logWithSegment(damaged);
      await rejectsWithCode(openLog(vfs, DIR), 'CORRUPTION');
    }
  });

  test('a damaged segment header is CORRUPTION', async () => {
    const { bytes } = await writtenLog(3);
    for (const at of [0, 5, 9, 17]) {
      const damaged = Uint8Array.from(bytes);
      damaged[at] = damaged[at]! ^ 0x10;
      await rejectsWithCode(openLog(await logWithSegment(damaged), DIR), 'CORRUPTION');
    }
  });

  test('a flipped bit inside a sealed segment is CORRUPTION on every read that reaches it', async () => {
    const { vfs } = await writtenLog(40, 160);
    const segments = (await vfs.readdir(DIR)).filter((name) => name.endsWith('.seg'));
    assert.ok(segments.length >= 4);
    const sealed = join(DIR, segments[1]!);
    const sealedStart = Number(segments[1]!.slice(0, 20));
    const sealedEnd = Number(segments[2]!.slice(0, 20));
    vfs.corrupt(sealed, SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 1, 0x04);
    // Opening reads only the last segment; the damage shows as soon as anything reads it.
    const log = await openLog(vfs, DIR, { segmentBytes: 160 });
    await rejectsWithCode(log.readAll(), 'CORRUPTION');
    await rejectsWithCode(log.read(sealedStart, sealedEnd), 'CORRUPTION');
    await rejectsWithCode(log.read(sealedEnd - 1, sealedEnd), 'CORRUPTION');
    await rejectsWithCode(log.read(0, sealedEnd + 1), 'CORRUPTION');
    assert.deepEqual(await log.read(0, sealedStart), entries(0, sealedStart));
    assert.deepEqual(await log.read(sealedEnd, 40), entries(sealedEnd, 40));
    await log.close();
  });

  test('a sealed segment that lost its last record is CORRUPTION, not a short read', async () => {
    const { vfs } = await writtenLog(40, 160);
    const segments = (await vfs.readdir(DIR)).filter((name) => name.endsWith('.seg'));
    const sealed = join(DIR, segments[0]!);
    const length = vfs.contentOf(sealed).length;
    await vfs.truncate(sealed, length - 3);
    const log = await openLog(vfs, DIR, { segmentBytes: 160 });
    await rejectsWithCode(log.readAll(), 'CORRUPTION');
    await rejectsWithCode(log.get(0), 'CORRUPTION');
    await log.close();
  });

  test('a missing middle segment is CORRUPTION', async () => {
    const { vfs } = await writtenLog(40, 160);
    const segments = (await vfs.readdir(DIR)).filter((name) => name.endsWith('.seg'));
    await vfs.unlink(join(DIR, segments[2]!));
    const log = await openLog(vfs, DIR, { segmentBytes: 160 });
    await rejectsWithCode(log.readAll(), 'CORRUPTION');
    await log.close();
  });

  test('a damaged first-index file, or one pointing before the first segment, is CORRUPTION', async () => {
    const { vfs } = await writtenLog(40, 160);
    const log = await openLog(vfs, DIR, { segmentBytes: 160 });
    await log.truncateBefore(20);
    await log.close();
    vfs.corrupt(join(DIR, 'FIRST'), 9);
    await rejectsWithCode(openLog(vfs, DIR), 'CORRUPTION');

    const other = await writtenLog(40, 160);
    const again = await openLog(other.vfs, DIR, { segmentBytes: 160 });
    await again.truncateBefore(20);
    await again.close();
    const first = (await other.vfs.readdir(DIR)).find((name) => name.endsWith('.seg'))!;
    await other.vfs.unlink(join(DIR, first));
    await rejectsWithCode(openLog(other.vfs, DIR), 'CORRUPTION');
  });
});

describe('recovery of interrupted truncations', () => {
  test('segments left before the first index and a leftover FIRST.tmp are removed on open', async () => {
    const { vfs } = await writtenLog(40, 160);
    const before = (await vfs.readdir(DIR)).filter((name) => name.endsWith('.seg'));
    const log = await openLog(vfs, DIR, { segmentBytes: 160 });
    // The first index moves durably, then the unlinks fail: the dead segments stay behind.
    vfs.inject({ kind: 'unlink', times: Infinity });
    await rejectsWithCode(log.truncateBefore(25), 'IO_ERROR');
    vfs.clearFaults();
    assert.equal(log.firstIndex, 25);
    await log.close();
    const tmp = await vfs.open(join(DIR, 'FIRST.tmp'), { mode: 'exclusive' });
    await tmp.write(new Uint8Array([1, 2, 3]), 0);
    await tmp.close();
    assert.deepEqual((await vfs.readdir(DIR)).filter((name) => name.endsWith('.seg')), before);

    const reopened = await openLog(vfs, DIR, { segmentBytes: 160 });
    assert.equal(reopened.firstIndex, 25);
    assert.deepEqual(await reopened.readAll(), entries(25, 40));
    const names = await vfs.readdir(DIR);
    assert.ok(!names.includes('FIRST.tmp'));
    for (const name of names.filter((n) => n.endsWith('.seg'))) {
      const start = Number(name.slice(0, 20));
      const next = names.filter((n) => n.endsWith('.seg')).map((n) => Number(n.slice(0, 20))).find((s) => s > start);
      assert.ok(next === undefined || next > 25, `segment ${name} lies wholly before the first index`);
    }
    await reopened.close();
  });
});
