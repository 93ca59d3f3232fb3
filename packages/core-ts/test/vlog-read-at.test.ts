/**
 * Point reads of separated values resolve the pointer where it lies (`ValueLog.readAt`, the
 * memtable's arena): the in-place checks agree with `decodePointer`, a pointer at any offset of a
 * larger buffer reads the same value as the pointer on its own, every damaged byte of a frame is
 * still CORRUPTION, and `getSync`'s fast checks keep the errors and snapshot semantics it had —
 * with each accelerator reading files the other wrote.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadNativeAccelerator, tsAccelerator, type Accelerator, type PointerReads } from '@siltdb/bindings';
import { open } from '../src/index.js';
import { decodePointer, encodePointer, isPointerAt, parseSegmentFileName, POINTER_BYTES, ValueLog, VLOG_DIR } from '../src/vlog/index.js';
import { tempDir } from './helpers/log-fixtures.js';

const utf8 = new TextEncoder();

function accelerators(): [string, Accelerator][] {
  // A native module that does not load fails the test that asks for it, never skips it.
  return [
    ['ts', tsAccelerator],
    ['native', loadNativeAccelerator().accelerator],
  ];
}

function values(count: number, size: number, seed: number): Uint8Array[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    const value = new Uint8Array(size);
    for (let j = 0; j < size; j++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      value[j] = state >>> 24;
    }
    return value;
  });
}

/** `pointer` copied into a larger buffer at `at`, the bytes around it set to 0xff. */
/** A fresh value log in `dir` with `data` appended under `keys` (uncompressed frames), closed: its pointers. */
async function appendAndClose(dir: string, accelerator: Accelerator, keys: Uint8Array[], data: Uint8Array[]): Promise<Uint8Array[]> {
  const log = await ValueLog.open(dir, { accelerator, compress: false });
  const pointers = log.append(0, keys, data);
  await log.close();
  return pointers;
}

function embedded(pointer: Uint8Array, at: number): Uint8Array {
  const bytes = new Uint8Array(at + pointer.length + 9).fill(0xff);
  bytes.set(pointer, at);
  return bytes;
}

describe('pointers read in place', () => {
  test('isPointerAt accepts exactly what decodePointer accepts, at any offset', () => {
    const good = encodePointer({ segment: 2 ** 40 + 7, frameOffset: 0xfffff000, frameLength: 4000, subIndex: 65535, recordBytes: 123456 });
    const cases: Uint8Array[] = [good, encodePointer({ segment: 1, frameOffset: 20, frameLength: 24, subIndex: 0, recordBytes: 1 })];
    for (let at = 0; at < POINTER_BYTES; at++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const bad = good.slice();
        bad[at]! ^= flip;
        cases.push(bad);
      }
    }
    const zero = (at: number, length: number): Uint8Array => {
      const bytes = good.slice();
      bytes.fill(0, at, at + length);
      return bytes;
    };
    cases.push(zero(1, 8), zero(13, 4), zero(19, 4));
    let rejected = 0;
    for (const pointer of cases) {
      let decodes = true;
      try {
        decodePointer(pointer);
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'CORRUPTION');
        decodes = false;
      }
      if (!decodes) rejected++;
      for (const at of [0, 1, 5, 40]) assert.equal(isPointerAt(embedded(pointer, at), at, POINTER_BYTES), decodes, `offset ${at}`);
    }
    assert.ok(rejected >= 8, `only ${rejected} malformed cases`);
    assert.equal(isPointerAt(embedded(good, 3), 3, POINTER_BYTES - 1), false, 'a short pointer');
    assert.equal(isPointerAt(embedded(good, 3), 3, POINTER_BYTES + 1), false, 'a long pointer');
  });

  for (const [writerName, writer] of accelerators()) {
    for (const [readerName, reader] of accelerators()) {
      test(`readAt of a pointer inside a larger buffer reads what read does (written by ${writerName}, read by ${readerName})`, async (t) => {
        const dir = tempDir(t, 'silt-vlog-');
        const keys = Array.from({ length: 40 }, (_, i) => utf8.encode(`key-${i}`));
        const data = values(40, 16 * 1024, 3).map((value, i) => (i % 5 === 4 ? value.subarray(0, 100) : value));
        let log = await ValueLog.open(dir, { accelerator: writer, compress: false, frameCacheBytes: 0 });
        const pointers = log.append(0, keys, data);
        // Before the writes land (queued frames) the same answers come from memory.
        for (let i = 0; i < keys.length; i++) assert.deepEqual(log.readAt(embedded(pointers[i]!, 11), 11, 11 + POINTER_BYTES, keys[i]), data[i]);
        await log.close();
        log = await ValueLog.open(dir, { accelerator: reader, compress: false, frameCacheBytes: 0 });
        for (let i = 0; i < keys.length; i++) {
          const at = i % 7;
          const value = log.readAt(embedded(pointers[i]!, at), at, at + POINTER_BYTES, keys[i]);
          assert.deepEqual(value, data[i]);
          assert.deepEqual(log.read(pointers[i]!, keys[i]), data[i]);
          // Memory of its own holding exactly the value.
          assert.equal(value.byteOffset, 0);
          assert.equal(value.buffer.byteLength, data[i]!.length);
        }
        // Another key's pointer, a malformed pointer: CORRUPTION, in place as on its own.
        assert.throws(() => log.readAt(embedded(pointers[0]!, 4), 4, 4 + POINTER_BYTES, keys[1]), { code: 'CORRUPTION' });
        const bad = embedded(pointers[0]!, 4);
        bad[4 + 13] = 0;
        bad[4 + 14] = 0;
        assert.throws(() => log.readAt(bad, 4, 4 + POINTER_BYTES, keys[0]), { code: 'CORRUPTION' });
        assert.throws(() => log.readAt(embedded(pointers[0]!, 4), 4, 4 + POINTER_BYTES - 1, keys[0]), { code: 'CORRUPTION' });
        await log.close();
      });
    }
  }

  for (const [name, accelerator] of accelerators()) {
    test(`readAt refuses, in place, every damaged pointer decodePointer refuses, and never reads another value (${name})`, async (t) => {
      const dir = tempDir(t, 'silt-vlog-');
      const keys = [utf8.encode('key-a'), utf8.encode('key-b'), utf8.encode('key-c')];
      const data = values(3, 2000, 13);
      const pointers = await appendAndClose(dir, accelerator, keys, data);
      const log = await ValueLog.open(dir, { accelerator, compress: false, frameCacheBytes: 0 });
      let malformed = 0;
      for (let record = 0; record < keys.length; record++) {
        assert.deepEqual(log.readAt(embedded(pointers[record]!, 5), 5, 5 + POINTER_BYTES, keys[record]), data[record]);
        for (let at = 0; at < POINTER_BYTES; at++) {
          for (const flip of [0x01, 0x02, 0x10, 0x80, 0xff]) {
            const damaged = pointers[record]!.slice();
            damaged[at]! ^= flip;
            let decodes = true;
            try {
              decodePointer(damaged);
            } catch {
              decodes = false;
              malformed++;
            }
            const where = `record ${record}, byte ${at} ^ ${flip}`;
            let value: Uint8Array | null = null;
            try {
              value = log.readAt(embedded(damaged, 5), 5, 5 + POINTER_BYTES, keys[record]);
            } catch (error) {
              assert.equal((error as { code?: unknown }).code, 'CORRUPTION', where);
            }
            if (!decodes) assert.equal(value, null, `${where}: a pointer decodePointer refuses was read`);
            if (value !== null) assert.deepEqual(value, data[record], `${where}: another value`);
          }
        }
      }
      assert.ok(malformed >= 30, `only ${malformed} malformed pointers`);
      await log.close();
    });

    test(`every flipped byte of an uncompressed frame is CORRUPTION on an in-place read (${name})`, async (t) => {
      const dir = tempDir(t, 'silt-vlog-');
      const keys = [utf8.encode('a'), utf8.encode('bb'), utf8.encode('ccc')];
      const data = values(3, 300, 9);
      const pointers = await appendAndClose(dir, accelerator, keys, data);
      const name0 = readdirSync(join(dir, VLOG_DIR))[0]!;
      const path = join(dir, VLOG_DIR, name0);
      const segment = parseSegmentFileName(name0)!.segment;
      const original = readFileSync(path);
      const frame = decodePointer(pointers[0]!);
      for (let at = frame.frameOffset; at < frame.frameOffset + frame.frameLength; at++) {
        const damaged = Buffer.from(original);
        damaged[at]! ^= 0x04;
        writeFileSync(path, damaged);
        const log = await ValueLog.open(dir, { accelerator, recorded: new Map([[segment, { length: original.length, sealed: true }]]), frameCacheBytes: 0 });
        for (let i = 0; i < keys.length; i++) {
          assert.throws(() => log.readAt(embedded(pointers[i]!, 2), 2, 2 + POINTER_BYTES, keys[i]), { code: 'CORRUPTION' }, `byte ${at}, record ${i}`);
        }
        await log.close();
      }
    });
  }
});

describe('getSync of separated values held by the memtable', () => {
  for (const [name, accelerator] of accelerators()) {
    test(`values, snapshots, string keys and errors (${name})`, async (t) => {
      const dir = tempDir(t, 'silt-db-');
      const db = await open(dir, { durability: 'relaxed', accelerator, valueThreshold: 64 });
      const first = values(20, 5000, 1);
      const second = values(20, 7000, 2);
      await db.batch(first.map((value, i) => ({ type: 'put' as const, key: `k${i}`, value })));
      const snapshot = db.snapshot();
      await db.batch(second.map((value, i) => ({ type: 'put' as const, key: utf8.encode(`k${i}`), value })));
      await db.del('k3');
      for (let i = 0; i < 20; i++) {
        assert.deepEqual(db.getSync(`k${i}`), i === 3 ? undefined : second[i], `newest k${i}`);
        assert.deepEqual(db.getSync(utf8.encode(`k${i}`), { snapshot }), first[i], `snapshot k${i}`);
      }
      assert.equal(db.getSync('absent'), undefined);
      assert.throws(() => db.getSync(new Uint8Array(65_537)), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => db.getSync(7 as unknown as string), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => db.getSync('k1', null as unknown as undefined), { code: 'INVALID_ARGUMENT' });
      snapshot.release();
      assert.throws(() => db.getSync('k1', { snapshot }), { code: 'INVALID_ARGUMENT' });
      await db.close();
      assert.throws(() => db.getSync('k1'), { code: 'CLOSED' });
    });
  }
});

/** `accelerator` with its pointer reads counted: segments served and dropped, reads it answered. */
function countingPointerReads(accelerator: Accelerator): { accelerator: Accelerator; served: number[]; dropped: number[]; answered: () => number } {
  const served: number[] = [];
  const dropped: number[] = [];
  let answered = 0;
  const counting: Accelerator = {
    ...accelerator,
    kind: accelerator.kind,
    openPointerReads(): PointerReads {
      const reads = accelerator.openPointerReads();
      return {
        serve(segment, view) {
          served.push(segment);
          reads.serve(segment, view);
        },
        drop(segment) {
          dropped.push(segment);
          reads.drop(segment);
        },
        read(bytes, from, key, target) {
          const done = reads.read(bytes, from, key, target);
          if (done) answered++;
          return done;
        },
      };
    },
  };
  return { accelerator: counting, served, dropped, answered: () => answered };
}

describe("the accelerator's pointer reads", () => {
  for (const [name, accelerator] of accelerators()) {
    test(`serve a segment after its first read, again through a longer view as it grows, and drop it with the segment (${name})`, async (t) => {
      const dir = tempDir(t, 'silt-vlog-');
      const counting = countingPointerReads(accelerator);
      const log = await ValueLog.open(dir, { accelerator: counting.accelerator, compress: false, frameCacheBytes: 0, frameRecords: 1, segmentBytes: 64 * 1024 });
      const keys = Array.from({ length: 12 }, (_, i) => utf8.encode(`key-${i}`));
      const data = values(12, 3000, 21);
      const first = log.append(0, keys.slice(0, 6), data.slice(0, 6));
      await log.written();
      const read = (pointer: Uint8Array, i: number): Uint8Array => log.readAt(embedded(pointer, 3), 3, 3 + POINTER_BYTES, keys[i]);
      for (let i = 0; i < 6; i++) assert.deepEqual(read(first[i]!, i), data[i]);
      const segment = decodePointer(first[0]!).segment;
      assert.deepEqual(counting.served, [segment], 'served once its first read checked the header');
      assert.equal(counting.answered(), 5, 'every later read is one accelerator call');
      // More frames in the same segment: past the served view, so read through the full path,
      // which opens a longer view and serves the segment through it.
      const second = log.append(0, keys.slice(6), data.slice(6));
      await log.written();
      assert.equal(decodePointer(second[0]!).segment, segment);
      for (let i = 6; i < 12; i++) assert.deepEqual(read(second[i - 6]!, i), data[i]);
      for (let i = 0; i < 6; i++) assert.deepEqual(read(first[i]!, i), data[i]);
      assert.deepEqual(counting.served, [segment, segment]);
      assert.equal(counting.answered(), 5 + 5 + 6);
      // Another key's pointer: refused by the call, CORRUPTION from the full path.
      assert.throws(() => read(first[0]!, 1), { code: 'CORRUPTION' });
      // A rotation seals the segment; GC's removal drops it, and its pointers no longer read.
      log.append(0, [utf8.encode('big')], values(1, 70 * 1024, 5));
      await log.written();
      assert.ok(log.info(segment)!.sealed);
      await log.remove(segment);
      assert.deepEqual(counting.dropped, [segment]);
      assert.throws(() => read(first[0]!, 0), { code: 'CORRUPTION' });
      await log.close();
    });

    test(`a served segment still reports every flipped byte of a frame as CORRUPTION (${name})`, async (t) => {
      const dir = tempDir(t, 'silt-vlog-');
      const keys = [utf8.encode('a'), utf8.encode('bb'), utf8.encode('ccc')];
      const data = values(3, 300, 19);
      const pointers = await appendAndClose(dir, accelerator, keys, data);
      const counting = countingPointerReads(accelerator);
      const log = await ValueLog.open(dir, { accelerator: counting.accelerator, compress: false, frameCacheBytes: 0 });
      const read = (i: number): Uint8Array => log.readAt(embedded(pointers[i]!, 2), 2, 2 + POINTER_BYTES, keys[i]);
      for (let i = 0; i < keys.length; i++) assert.deepEqual(read(i), data[i]);
      assert.equal(counting.answered(), 2);
      const path = join(dir, VLOG_DIR, readdirSync(join(dir, VLOG_DIR))[0]!);
      const original = readFileSync(path);
      const frame = decodePointer(pointers[0]!);
      // Bytes flipped in place, under the open view (a mapping natively): the served read sees them.
      const fd = openSync(path, 'r+');
      try {
        for (let at = frame.frameOffset; at < frame.frameOffset + frame.frameLength; at++) {
          writeSync(fd, Uint8Array.of(original[at]! ^ 0x04), 0, 1, at);
          for (let i = 0; i < keys.length; i++) assert.throws(() => read(i), { code: 'CORRUPTION' }, `byte ${at}, record ${i}`);
          writeSync(fd, original.subarray(at, at + 1), 0, 1, at);
        }
        for (let i = 0; i < keys.length; i++) assert.deepEqual(read(i), data[i]);
      } finally {
        closeSync(fd);
      }
      assert.equal(counting.answered(), 2 + 3, 'the segment stayed served');
      await log.close();
    });
  }
});
