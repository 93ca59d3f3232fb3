/**
 * `PointerReads`: value-log point reads from the 23 pointer bytes (FORMAT §8.3) through served
 * segment views. Both accelerators serve exactly the same reads — every damaged pointer, key,
 * target or frame is refused (false), never read as another value — and refuse bad arguments.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accel, tsAccelerator, type Accelerator, type FileView, type PointerReads } from '../src/index.js';
import { enc, jsonLike, pack, randomBytes, rng, throwsCode } from './helpers.js';

const POINTER_BYTES = 23;
/** A segment's header is 20 bytes; these tests fill it with noise (no frame starts inside it). */
const HEADER_BYTES = 20;

interface Record {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** The pointer's fields. */
  readonly frameOffset: number;
  readonly frameLength: number;
  readonly index: number;
  readonly compressed: boolean;
}

/** Frames laid end to end after a 20-byte header, as in a segment, and the record of each value. */
function segment(frames: { keys: Uint8Array[]; values: Uint8Array[]; compress: boolean }[]): { bytes: Uint8Array; records: Record[] } {
  const parts: Uint8Array[] = [randomBytes(HEADER_BYTES, 1)];
  const records: Record[] = [];
  let at = HEADER_BYTES;
  for (const { keys, values, compress } of frames) {
    const frame = tsAccelerator.encodeFrame(pack(keys), pack(values), { compress });
    keys.forEach((key, index) => records.push({ key, value: values[index]!, frameOffset: at, frameLength: frame.length, index, compressed: compress }));
    parts.push(frame);
    at += frame.length;
  }
  return { bytes: Buffer.concat(parts), records };
}

function varintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** FORMAT §8.3, written out here independently of either accelerator. */
function pointer(segmentNumber: number, record: Record): Uint8Array {
  const out = Buffer.alloc(POINTER_BYTES);
  out[0] = 1;
  out.writeUInt32LE(segmentNumber % 2 ** 32, 1);
  out.writeUInt32LE(Math.floor(segmentNumber / 2 ** 32), 5);
  out.writeUInt32LE(record.frameOffset, 9);
  out.writeUInt32LE(record.frameLength, 13);
  out.writeUInt16LE(record.index, 17);
  out.writeUInt32LE(varintLength(record.key.length) + record.key.length + record.value.length, 19);
  return new Uint8Array(out);
}

/** `bytes` at offset `at` of a larger buffer whose other bytes are 0xff. */
function embedded(bytes: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(at + bytes.length + 5).fill(0xff);
  out.set(bytes, at);
  return out;
}

/** What a read gives: the target's bytes when it answered, else "refused". */
function outcome(reads: PointerReads, bytes: Uint8Array, from: number, key: Uint8Array, targetLength: number): string {
  const target = new Uint8Array(targetLength).fill(0xee);
  return reads.read(bytes, from, key, target) ? Buffer.from(target).toString('hex') : 'refused';
}

describe(`pointer reads (${accel.kind} against the TypeScript twin)`, () => {
  let dir = '';
  const views: FileView[] = [];
  const both: [string, Accelerator][] = [
    [accel.kind, accel],
    ['ts twin', tsAccelerator],
  ];
  const file = (bytes: Uint8Array, name: string): string => {
    const where = path.join(dir, name);
    fs.writeFileSync(where, bytes);
    return where;
  };
  const view = (accelerator: Accelerator, where: string, expectedLength?: number): FileView => {
    const opened = accelerator.openFileView(where, expectedLength === undefined ? undefined : { expectedLength });
    views.push(opened);
    return opened;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siltdb-pointer-reads-'));
  });
  after(() => {
    for (const opened of views) opened.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sample = segment([
    { keys: [enc.encode('large')], values: [randomBytes(16 * 1024, 2)], compress: false },
    { keys: [enc.encode('a'), enc.encode(''), enc.encode('c'.repeat(200))], values: [randomBytes(10, 3), new Uint8Array(0), randomBytes(300, 4)], compress: false },
    { keys: [enc.encode('text')], values: [jsonLike(4000, 5)], compress: true },
  ]);
  const stored = sample.records.filter((record) => !record.compressed);

  it('read every value of a served segment from the pointer where it lies, into any Uint8Array', () => {
    const where = file(sample.bytes, 'sample.vlog');
    for (const [name, accelerator] of both) {
      const reads = accelerator.openPointerReads();
      reads.serve(2 ** 40 + 3, view(accelerator, where));
      for (const record of stored) {
        const bytes = pointer(2 ** 40 + 3, record);
        for (const at of [0, 1, 6]) {
          const target = new Uint8Array(record.value.length);
          assert.equal(reads.read(embedded(bytes, at), at, record.key, target), true, `${name}, at ${at}`);
          assert.deepEqual(target, record.value);
        }
        // A Buffer target inside a larger allocation, a key inside a larger array: bytes around untouched.
        const backing = Buffer.alloc(record.value.length + 8);
        const keyArena = embedded(record.key, 3);
        assert.equal(reads.read(bytes, 0, keyArena.subarray(3, 3 + record.key.length), backing.subarray(4, 4 + record.value.length)), true);
        assert.deepEqual(new Uint8Array(backing.subarray(4, 4 + record.value.length)), record.value);
        assert.deepEqual([...backing.subarray(0, 4), ...backing.subarray(4 + record.value.length)], Array(8).fill(0));
      }
    }
  });

  it('refuse what they cannot serve: other segments, dropped or closed views, frames past the view, compressed frames', () => {
    const where = file(sample.bytes, 'refusals.vlog');
    const compressed = sample.records.find((record) => record.compressed)!;
    const last = stored[stored.length - 1]!;
    for (const [name, accelerator] of both) {
      const reads = accelerator.openPointerReads();
      const read = (segmentNumber: number, record: Record): string => outcome(reads, pointer(segmentNumber, record), 0, record.key, record.value.length);
      assert.equal(read(7, stored[0]!), 'refused', `${name}: not served`);
      // A view over the bytes up to the last stored frame's start: that frame lies past it.
      reads.serve(7, view(accelerator, where, last.frameOffset));
      assert.equal(read(7, stored[0]!), Buffer.from(stored[0]!.value).toString('hex'));
      assert.equal(read(7, last), 'refused', `${name}: past the view`);
      // Served again through a longer view: replaced.
      reads.serve(7, view(accelerator, where));
      assert.equal(read(7, last), Buffer.from(last.value).toString('hex'), `${name}: the longer view`);
      assert.equal(read(7, compressed), 'refused', `${name}: compressed`);
      assert.equal(read(8, stored[0]!), 'refused', `${name}: another segment`);
      reads.drop(7);
      reads.drop(7);
      assert.equal(read(7, stored[0]!), 'refused', `${name}: dropped`);
      const closing = view(accelerator, where);
      reads.serve(9, closing);
      closing.close();
      assert.equal(read(9, stored[0]!), 'refused', `${name}: closed view`);
    }
  });

  it('refuse every damaged pointer, key or target length the same way with both accelerators, never reading another value', () => {
    const where = file(sample.bytes, 'damage.vlog');
    const [selected, twin] = both.map(([, accelerator]) => {
      const reads = accelerator.openPointerReads();
      reads.serve(5, view(accelerator, where));
      return reads;
    }) as [PointerReads, PointerReads];
    let refused = 0;
    for (const record of stored) {
      const good = pointer(5, record);
      const answer = Buffer.from(record.value).toString('hex');
      const cases: [Uint8Array, Uint8Array, number, string][] = [];
      for (let at = 0; at < POINTER_BYTES; at++) {
        for (const flip of [0x01, 0x10, 0x80, 0xff]) {
          const damaged = good.slice();
          damaged[at]! ^= flip;
          cases.push([damaged, record.key, record.value.length, `byte ${at} ^ ${flip}`]);
        }
      }
      cases.push([good, enc.encode('zz'), record.value.length, 'another key']);
      cases.push([good, record.key, record.value.length + 1, 'a longer target']);
      if (record.value.length > 0) {
        cases.push([good, Uint8Array.of(...record.key, 0x61), record.value.length - 1, 'a longer key, the length to match']);
        cases.push([good, record.key, record.value.length - 1, 'a shorter target']);
      }
      for (const [bytes, key, targetLength, what] of cases) {
        const results = [selected, twin].map((reads) => outcome(reads, embedded(bytes, 2), 2, key, targetLength));
        assert.equal(results[0], results[1], `${what}: the accelerators differ`);
        if (results[0] === 'refused') refused++;
        else assert.equal(results[0], answer, `${what}: another value was read`);
      }
      // A pointer cut short by the end of the bytes.
      for (const reads of [selected, twin]) assert.equal(outcome(reads, good.subarray(0, POINTER_BYTES - 1), 0, record.key, record.value.length), 'refused');
    }
    assert.ok(refused >= 40 * stored.length, `only ${refused} refusals`);
  });

  it('refuse every flipped byte of a frame, the same way with both accelerators', () => {
    const keys = [enc.encode('key'), enc.encode('k2')];
    const values = [randomBytes(200, 6), randomBytes(100, 7)];
    const one = segment([{ keys, values, compress: false }]);
    const record = one.records[0]!;
    const next = rng(11);
    for (let at = record.frameOffset; at < record.frameOffset + record.frameLength; at++) {
      const damaged = Uint8Array.from(one.bytes);
      damaged[at]! ^= 1 << (next() % 8);
      const where = file(damaged, `flip-${at}.vlog`);
      for (const rec of one.records) {
        const results = both.map(([, accelerator]) => {
          const reads = accelerator.openPointerReads();
          const opened = view(accelerator, where);
          reads.serve(1, opened);
          const result = outcome(reads, pointer(1, rec), 0, rec.key, rec.value.length);
          opened.close();
          return result;
        });
        assert.deepEqual(results, ['refused', 'refused'], `byte ${at}, record ${rec.index}`);
      }
    }
  });

  it('refuse bad arguments with INVALID_ARGUMENT', () => {
    const where = file(sample.bytes, 'arguments.vlog');
    const record = stored[0]!;
    for (const [name, accelerator] of both) {
      const other = both.find(([otherName]) => otherName !== name)![1];
      const reads = accelerator.openPointerReads();
      const own = view(accelerator, where);
      const serve = reads.serve.bind(reads) as (...args: unknown[]) => void;
      const drop = reads.drop.bind(reads) as (...args: unknown[]) => void;
      const read = reads.read.bind(reads) as (...args: unknown[]) => boolean;
      throwsCode(() => serve(0, own), 'INVALID_ARGUMENT', `${name}: segment 0`);
      throwsCode(() => serve(1.5, own), 'INVALID_ARGUMENT', `${name}: a fraction`);
      throwsCode(() => serve(2 ** 53, own), 'INVALID_ARGUMENT', `${name}: 2^53`);
      throwsCode(() => serve(1, {}), 'INVALID_ARGUMENT', `${name}: not a view`);
      if (other.kind !== accelerator.kind) throwsCode(() => serve(1, view(other, where)), 'INVALID_ARGUMENT', `${name}: the other accelerator's view`);
      throwsCode(() => drop(-1), 'INVALID_ARGUMENT', `${name}: drop a negative`);
      reads.serve(1, own);
      const bytes = pointer(1, record);
      const target = new Uint8Array(record.value.length);
      throwsCode(() => read([...bytes], 0, record.key, target), 'INVALID_ARGUMENT', `${name}: an array of bytes`);
      throwsCode(() => read(bytes, -1, record.key, target), 'INVALID_ARGUMENT', `${name}: a negative offset`);
      throwsCode(() => read(bytes, 0.5, record.key, target), 'INVALID_ARGUMENT', `${name}: a fractional offset`);
      throwsCode(() => read(bytes, 0, 'large', target), 'INVALID_ARGUMENT', `${name}: a string key`);
      throwsCode(() => read(bytes, 0, record.key, [0]), 'INVALID_ARGUMENT', `${name}: an array target`);
      // Nothing above changed what is served.
      assert.equal(reads.read(bytes, 0, record.key, target), true);
      assert.deepEqual(target, record.value);
    }
  });
});
