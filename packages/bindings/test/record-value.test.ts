import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accel, tsAccelerator, type FileView } from '../src/index.js';
import { enc, jsonLike, pack, randomBytes, throwsCode } from './helpers.js';

/** Frames laid end to end in one file, as in a value-log segment: where each starts and how long it is. */
interface Layout {
  readonly bytes: Uint8Array;
  readonly frames: { offset: number; length: number; keys: Uint8Array[]; values: Uint8Array[] }[];
}

function layout(frameList: { keys: Uint8Array[]; values: Uint8Array[]; compress: boolean }[]): Layout {
  const parts: Uint8Array[] = [randomBytes(37, 1)];
  let at = 37;
  const frames: Layout['frames'] = [];
  for (const { keys, values, compress } of frameList) {
    const frame = tsAccelerator.encodeFrame(pack(keys), pack(values), { compress });
    frames.push({ offset: at, length: frame.length, keys, values });
    parts.push(frame);
    at += frame.length;
  }
  return { bytes: Buffer.concat(parts), frames };
}

/** The accelerators' views, which always make record reads. */
type RecordView = FileView & Required<Pick<FileView, 'readRecordValue'>>;

function recordView(view: FileView): RecordView {
  assert.equal(typeof view.readRecordValue, 'function');
  return view as RecordView;
}

/** What a read returns, or the error code it throws. */
function outcome(view: RecordView, offset: number, length: number, index: number, key: Uint8Array, valueLength: number): string {
  const target = new Uint8Array(valueLength).fill(0xee);
  try {
    return view.readRecordValue(offset, length, index, key, target) ? `value ${Buffer.from(target).toString('hex')}` : 'compressed';
  } catch (error) {
    return `error ${(error as { code?: string }).code}`;
  }
}

describe(`value-log record reads through file views (${accel.kind} against the TypeScript twin)`, () => {
  let dir = '';
  const views: FileView[] = [];
  const openBoth = (bytes: Uint8Array, name: string): [RecordView, RecordView] => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    const pair: [RecordView, RecordView] = [recordView(accel.openFileView(file)), recordView(tsAccelerator.openFileView(file))];
    views.push(...pair);
    return pair;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siltdb-record-value-'));
  });
  after(() => {
    for (const view of views) view.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sample = layout([
    { keys: [enc.encode('large')], values: [randomBytes(16 * 1024, 2)], compress: false },
    { keys: [enc.encode('a'), enc.encode(''), enc.encode('ccc')], values: [randomBytes(10, 3), new Uint8Array(0), randomBytes(300, 4)], compress: false },
    { keys: [enc.encode('text')], values: [jsonLike(4000, 5)], compress: true },
  ]);

  it('copies every record value of uncompressed frames, the same with both accelerators', () => {
    for (const view of openBoth(sample.bytes, 'sample.vlog')) {
      for (const frame of sample.frames.slice(0, 2)) {
        frame.keys.forEach((key, i) => {
          const value = frame.values[i]!;
          // Into a plain Uint8Array and into a Buffer at an offset of a larger allocation.
          const plain = new Uint8Array(value.length);
          assert.equal(view.readRecordValue(frame.offset, frame.length, i, key, plain), true);
          assert.deepEqual(plain, value);
          const backing = Buffer.alloc(value.length + 8);
          assert.equal(view.readRecordValue(frame.offset, frame.length, i, Buffer.from(key), backing.subarray(4, 4 + value.length)), true);
          assert.deepEqual(new Uint8Array(backing.subarray(4, 4 + value.length)), value);
          assert.deepEqual([...backing.subarray(0, 4), ...backing.subarray(4 + value.length)], Array(8).fill(0));
          // Plain Uint8Array views at offsets of larger buffers, key and target (no Buffer anywhere:
          // the native adapter hands them to the module as they are).
          const keyArena = new Uint8Array(key.length + 3);
          keyArena.set(key, 3);
          const arena = new Uint8Array(value.length + 8);
          assert.equal(view.readRecordValue(frame.offset, frame.length, i, keyArena.subarray(3), arena.subarray(4, 4 + value.length)), true);
          assert.deepEqual(arena.subarray(4, 4 + value.length), value);
          assert.deepEqual([...arena.subarray(0, 4), ...arena.subarray(4 + value.length)], Array(8).fill(0));
        });
      }
    }
  });

  it('leaves a compressed frame to the caller: false, target untouched', () => {
    const frame = sample.frames[2]!;
    for (const view of openBoth(sample.bytes, 'compressed.vlog')) {
      const target = new Uint8Array(frame.values[0]!.length).fill(7);
      assert.equal(view.readRecordValue(frame.offset, frame.length, 0, frame.keys[0]!, target), false);
      assert.ok(target.every((b) => b === 7));
    }
  });

  it('reports a wrong key, index, value length or frame length as CORRUPTION, and ranges as the view does', () => {
    const frame = sample.frames[1]!;
    for (const view of openBoth(sample.bytes, 'mismatch.vlog')) {
      const read = (offset: number, length: number, index: number, key: string, valueLength: number) => () =>
        view.readRecordValue(offset, length, index, enc.encode(key), new Uint8Array(valueLength));
      throwsCode(read(frame.offset, frame.length, 0, 'b', 10), 'CORRUPTION', 'another key');
      throwsCode(read(frame.offset, frame.length, 0, 'aa', 10), 'CORRUPTION', 'a longer key');
      throwsCode(read(frame.offset, frame.length, 3, 'a', 10), 'CORRUPTION', 'an index past the records');
      throwsCode(read(frame.offset, frame.length, 0, 'a', 11), 'CORRUPTION', 'a longer value');
      throwsCode(read(frame.offset, frame.length, 0, 'a', 9), 'CORRUPTION', 'a shorter value');
      throwsCode(read(frame.offset, frame.length - 1, 0, 'a', 10), 'CORRUPTION', 'a shorter frame');
      throwsCode(read(frame.offset, frame.length + 1, 0, 'a', 10), 'CORRUPTION', 'a longer frame');
      throwsCode(read(frame.offset + 1, frame.length, 0, 'a', 10), 'CORRUPTION', 'not at a frame');
      throwsCode(read(sample.bytes.length - 10, 20, 0, 'a', 10), 'OUT_OF_RANGE', 'past the view');
      const bad = view.readRecordValue.bind(view) as (...args: unknown[]) => boolean;
      throwsCode(() => bad(frame.offset, frame.length, -1, enc.encode('a'), new Uint8Array(10)), 'INVALID_ARGUMENT', 'negative index');
      throwsCode(() => bad(frame.offset, frame.length, 0, 'a', new Uint8Array(10)), 'INVALID_ARGUMENT', 'a string key');
      throwsCode(() => bad(frame.offset, frame.length, 0, enc.encode('a'), [0]), 'INVALID_ARGUMENT', 'an array target');
    }
  });

  it('never returns data from a damaged frame: every flipped byte is CORRUPTION with both accelerators', () => {
    const keys = [enc.encode('key'), enc.encode('k2')];
    const values = [randomBytes(200, 6), randomBytes(100, 7)];
    const one = layout([{ keys, values, compress: false }]);
    const { offset, length } = one.frames[0]!;
    for (let at = offset; at < offset + length; at++) {
      for (const flip of [0x01, 0x80]) {
        const damaged = Uint8Array.from(one.bytes);
        damaged[at]! ^= flip;
        const [selected, twin] = openBoth(damaged, `flip-${at}-${flip}.vlog`);
        for (let i = 0; i < 2; i++) {
          const results = [selected, twin].map((view) => outcome(view, offset, length, i, keys[i]!, values[i]!.length));
          assert.equal(results[0], results[1], `byte ${at} ^ ${flip}, record ${i}`);
          // Setting the compression flag hands the frame to the decoder, which checks it.
          const expected = at === offset + 5 && flip === 0x01 ? 'compressed' : 'error CORRUPTION';
          assert.equal(results[0], expected, `byte ${at} ^ ${flip}, record ${i}`);
        }
        selected.close();
        twin.close();
      }
    }
  });

  it('throws CLOSED after close', () => {
    const [selected, twin] = openBoth(sample.bytes, 'closed.vlog');
    for (const view of [selected, twin]) {
      view.close();
      throwsCode(() => view.readRecordValue(sample.frames[0]!.offset, sample.frames[0]!.length, 0, enc.encode('large'), new Uint8Array(16 * 1024)), 'CLOSED');
    }
  });
});

