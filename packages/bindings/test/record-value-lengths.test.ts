import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accel, tsAccelerator, type FileView } from '../src/index.js';
import { enc, pack, randomBytes, rng } from './helpers.js';

/**
 * Record reads copy a value and checksum it in one pass; natively, values of 64 bytes and more
 * take a carry-less-multiplication loop over 16-byte chunks and shorter ones the `crc32` lanes.
 * Every value length around those boundaries, long random ones, at every alignment in the file
 * and in the target, must come back exactly, and a flipped bit anywhere must be CORRUPTION.
 */
describe(`record reads of values of many lengths and alignments (${accel.kind} and the TypeScript twin)`, () => {
  let dir = '';
  const views: FileView[] = [];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siltdb-record-lengths-'));
  });
  after(() => {
    for (const view of views) view.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const next = rng(11);
  const random = () => next() / 2 ** 32;
  const lengths = [...Array.from({ length: 200 }, (_, i) => i), ...Array.from({ length: 60 }, () => 200 + Math.floor(random() * 40_000)), 16 * 1024, 16 * 1024 + 15];
  const parts: Uint8Array[] = [];
  const frames: { offset: number; length: number; key: Uint8Array; value: Uint8Array }[] = [];
  let at = 0;
  lengths.forEach((valueLength, i) => {
    // A pad of 0-15 bytes before each frame: frames start at every alignment.
    const pad = randomBytes(i % 16, 1000 + i);
    parts.push(pad);
    at += pad.length;
    const key = enc.encode(`key-${i}`);
    const value = randomBytes(valueLength, 2000 + i);
    const frame = tsAccelerator.encodeFrame(pack([key]), pack([value]), { compress: false });
    parts.push(frame);
    frames.push({ offset: at, length: frame.length, key, value });
    at += frame.length;
  });
  const file = Buffer.concat(parts);

  const open = (bytes: Uint8Array, name: string): FileView[] => {
    const at = path.join(dir, name);
    fs.writeFileSync(at, bytes);
    const pair = [accel.openFileView(at), tsAccelerator.openFileView(at)];
    views.push(...pair);
    return pair;
  };

  it('copies each value exactly, into targets at every offset', () => {
    for (const view of open(file, 'lengths.vlog')) {
      frames.forEach((frame, i) => {
        const shift = i % 16;
        const backing = new Uint8Array(frame.value.length + 32).fill(0xa5);
        const target = backing.subarray(shift, shift + frame.value.length);
        assert.equal(view.readRecordValue!(frame.offset, frame.length, 0, frame.key, target), true, `value of ${frame.value.length} bytes`);
        assert.deepEqual(target, frame.value, `value of ${frame.value.length} bytes`);
        assert.ok(backing.subarray(0, shift).every((b) => b === 0xa5) && backing.subarray(shift + frame.value.length).every((b) => b === 0xa5), 'nothing written around the target');
      });
    }
  });

  it('reports a bit flipped anywhere in a value as CORRUPTION', () => {
    const damaged = Buffer.from(file);
    const hits: { frame: (typeof frames)[number]; at: number }[] = [];
    frames.forEach((frame, i) => {
      if (frame.value.length === 0) return;
      // The value ends the frame; flip one bit at a position spread over the value.
      const within = Math.floor(random() * frame.value.length);
      const at = frame.offset + frame.length - frame.value.length + within;
      damaged[at]! ^= 1 << i % 8;
      hits.push({ frame, at });
    });
    for (const view of open(damaged, 'damaged.vlog')) {
      for (const { frame, at } of hits) {
        assert.throws(
          () => view.readRecordValue!(frame.offset, frame.length, 0, frame.key, new Uint8Array(frame.value.length)),
          (error: { code?: string }) => error.code === 'CORRUPTION',
          `flip at ${at - frame.offset} of a ${frame.length}-byte frame`,
        );
      }
    }
  });
});
