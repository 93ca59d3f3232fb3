/**
 * `ValueLog.scanFrames` (what a rewrite reads a segment with) and `frameDirectory` (what the
 * staleness sampler picks frames from): every record of a segment, in a few calls, the same as
 * frame-by-frame decoding; segments written by one accelerator scanned by the other; a damaged
 * byte is CORRUPTION, never data.
 */
import assert from 'node:assert/strict';
import { openSync, readSync, writeSync, closeSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { accel, loadNativeAccelerator, tsAccelerator, type Accelerator } from '@siltdb/bindings';
import { decodePointer, encodePointer, recordBytesOf, SEGMENT_HEADER_BYTES, ValueLog, VLOG_DIR } from '../src/vlog/index.js';
import { tempDir } from './helpers/log-fixtures.js';

const utf8 = new TextEncoder();

/** Records with values of 1 byte to 40 KiB (longer than a small scan chunk), half compressible. */
function records(count: number, seed: number): { keys: Uint8Array[]; values: Uint8Array[] } {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    keys.push(utf8.encode(`key-${String(i).padStart(5, '0')}`));
    const size = i % 37 === 0 ? 40_000 : 1 + (next() % 1500);
    const value = new Uint8Array(size);
    if (i % 2 === 0) for (let j = 0; j < size; j++) value[j] = next() & 0xff;
    else value.fill(i & 0xff);
    values.push(value);
  }
  return { keys, values };
}

interface Seen {
  pointer: Uint8Array;
  key: Buffer;
  value: Buffer;
}

/** Every record of a segment through `scanFrames` in chunks of `chunk` bytes. */
function scanAll(log: ValueLog, segment: number, chunk: number): { seen: Seen[]; calls: number } {
  const seen: Seen[] = [];
  let at = SEGMENT_HEADER_BYTES;
  let calls = 0;
  for (;;) {
    const scan = log.scanFrames(segment, at, chunk);
    calls++;
    if (scan.end === at) break;
    at = scan.end;
    for (let r = 0; r < scan.records.length; r += 5) {
      const [frame, subIndex, keyStart, valueStart, valueEnd] = Array.from(scan.records.subarray(r, r + 5));
      const pointer = encodePointer({
        segment,
        frameOffset: scan.frames[2 * frame!]!,
        frameLength: scan.frames[2 * frame! + 1]!,
        subIndex: subIndex!,
        recordBytes: recordBytesOf(valueStart! - keyStart!, valueEnd! - valueStart!),
      });
      seen.push({ pointer, key: Buffer.from(scan.data.subarray(keyStart!, valueStart!)), value: Buffer.from(scan.data.subarray(valueStart!, valueEnd!)) });
    }
  }
  return { seen, calls };
}

function accelerators(): [string, Accelerator, string, Accelerator][] {
  let native: Accelerator;
  try {
    native = loadNativeAccelerator().accelerator;
  } catch {
    return [['ts', tsAccelerator, 'ts', tsAccelerator]];
  }
  return [
    ['native', native, 'ts', tsAccelerator],
    ['ts', tsAccelerator, 'native', native],
  ];
}

describe('ValueLog.scanFrames', () => {
  test(`lists every appended record with the pointer append returned (${accel.kind})`, async (t) => {
    const dir = tempDir(t, 'silt-vscan-');
    const log = await ValueLog.open(dir, { accelerator: accel, segmentBytes: 256 * 1024 });
    const { keys, values } = records(600, 3);
    const pointers: Uint8Array[] = [];
    for (let i = 0; i < keys.length; i += 25) pointers.push(...log.append(0, keys.slice(i, i + 25), values.slice(i, i + 25)));
    await log.sync();
    const bySegment = new Map<number, number[]>();
    pointers.forEach((p, i) => {
      const segment = decodePointer(p).segment;
      bySegment.set(segment, [...(bySegment.get(segment) ?? []), i]);
    });
    assert.ok(bySegment.size >= 3, 'several segments');
    const directories = new Map<number, Uint32Array>();
    for (const [segment, indexes] of bySegment) {
      // A chunk smaller than some frames: those are read whole.
      for (const chunk of [4096, 1 << 20]) {
        const { seen, calls } = scanAll(log, segment, chunk);
        assert.equal(seen.length, indexes.length, `segment ${segment} chunk ${chunk}`);
        seen.forEach((record, j) => {
          const i = indexes[j]!;
          assert.deepEqual(record.pointer, pointers[i], `segment ${segment} record ${j}`);
          assert.deepEqual(record.key, Buffer.from(keys[i]!));
          assert.deepEqual(record.value, Buffer.from(values[i]!));
        });
        if (chunk === 1 << 20) assert.ok(calls <= 2, `one call per MiB, not per frame (${calls})`);
      }
      const directory = log.frameDirectory(segment);
      const frameOffsets = new Set(indexes.map((i) => decodePointer(pointers[i]!).frameOffset));
      assert.deepEqual(
        Array.from({ length: directory.length / 2 }, (_, f) => directory[2 * f]),
        [...frameOffsets],
      );
      // A sealed segment answers first from the directory recorded as its frames were placed, then
      // from its frame headers: the two agree, lengths included.
      assert.deepEqual(log.frameDirectory(segment), directory);
      directories.set(segment, directory);
    }
    await log.close();
    const reopened = await ValueLog.open(dir, { accelerator: accel });
    for (const [segment, directory] of directories) assert.deepEqual(reopened.frameDirectory(segment), directory, `segment ${segment} read back`);
    await reopened.close();
  });

  for (const [writerName, writer, readerName, reader] of accelerators()) {
    test(`segments written by ${writerName} scan the same with ${readerName}; a damaged byte is CORRUPTION`, async (t) => {
      const dir = tempDir(t, 'silt-vscan-');
      const { keys, values } = records(300, 8);
      let log = await ValueLog.open(dir, { accelerator: writer, segmentBytes: 128 * 1024 });
      for (let i = 0; i < keys.length; i += 20) log.append(0, keys.slice(i, i + 20), values.slice(i, i + 20));
      await log.close();
      const expected = new Map<number, Seen[]>();
      log = await ValueLog.open(dir, { accelerator: writer });
      for (const info of log.segmentInfos()) expected.set(info.segment, scanAll(log, info.segment, 64 * 1024).seen);
      await log.close();
      log = await ValueLog.open(dir, { accelerator: reader });
      for (const info of log.segmentInfos()) assert.deepEqual(scanAll(log, info.segment, 64 * 1024).seen, expected.get(info.segment));
      const segment = log.segmentInfos()[0]!;
      // Recorded sealed lengths, as the manifest holds them: open trusts them instead of
      // truncating a damaged segment to its last good frame.
      const recorded = new Map(log.segmentInfos().map((info) => [info.segment, { length: info.length, sealed: true }]));
      await log.close();

      // Flip one byte in the body of a frame in the middle of the first segment.
      const name = readdirSync(join(dir, VLOG_DIR)).sort()[0]!;
      const fd = openSync(join(dir, VLOG_DIR, name), 'r+');
      const at = Math.floor(segment.length / 2);
      const byte = Buffer.alloc(1);
      readSync(fd, byte, 0, 1, at);
      byte[0] = byte[0]! ^ 0x20;
      writeSync(fd, byte, 0, 1, at);
      closeSync(fd);
      log = await ValueLog.open(dir, { accelerator: reader, recorded });
      assert.throws(() => scanAll(log, segment.segment, 64 * 1024), (error: { code?: string }) => error.code === 'CORRUPTION');
      await log.close();
    });
  }
});
