import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, type PackedBytes } from '../src/index.js';
import {
  enc,
  jsonLike,
  pack,
  randomBytes,
  referenceCompressBlock,
  referenceCrc32c,
  refreshFrameCrc,
  throwsCode,
  unpack,
} from './helpers.js';

function assertRoundTrip(keys: PackedBytes, values: PackedBytes, frame: Buffer): void {
  const decoded = accel.decodeFrame(frame);
  assert.equal(decoded.byteLength, frame.length);
  assert.deepEqual(unpack(decoded.keys), unpack(keys));
  assert.deepEqual(unpack(decoded.values), unpack(values));
}

/** The raw body a frame must hold: varint key length ‖ key ‖ value per record. */
function rawBody(keys: PackedBytes, values: PackedBytes): Buffer {
  const parts: Buffer[] = [];
  const keyItems = unpack(keys);
  const valueItems = unpack(values);
  keyItems.forEach((key, i) => {
    const length: number[] = [];
    let n = key.length;
    while (n >= 0x80) {
      length.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    length.push(n);
    parts.push(Buffer.from(length), key, valueItems[i]!);
  });
  return Buffer.concat(parts);
}

const smallKeys = pack(['k1', 'key-two']);
const smallValues = pack(['v', 'value number two']);

describe(`value-log frames (${accel.kind})`, () => {
  it('lays out the header, offsets and raw body as FORMAT.md §2 says', () => {
    const frame = accel.encodeFrame(smallKeys, smallValues);
    const body = rawBody(smallKeys, smallValues);
    assert.equal(frame.length, 20 + 4 * 2 + body.length);
    assert.deepEqual([...frame.subarray(0, 6)], [0x53, 0x4c, 0x56, 0x46, 1, 0]);
    assert.equal(frame.readUInt16LE(6), 2);
    assert.equal(frame.readUInt32LE(8), body.length);
    assert.equal(frame.readUInt32LE(12), body.length);
    assert.equal(frame.readUInt32LE(20), 0);
    assert.equal(frame.readUInt32LE(24), 1 + 2 + 1);
    assert.deepEqual(frame.subarray(28), body);
    const crc = referenceCrc32c(frame.subarray(20), referenceCrc32c(frame.subarray(0, 16)));
    assert.equal(frame.readUInt32LE(16), crc);
    assertRoundTrip(smallKeys, smallValues, frame);
  });

  it('round-trips one record, empty keys and values, and multi-byte key lengths', () => {
    const cases: Array<[PackedBytes, PackedBytes]> = [
      [pack(['only']), pack(['one'])],
      [pack(['']), pack([''])],
      [pack(['', 'a', '']), pack(['', '', 'z'])],
      [pack([randomBytes(200, 1), randomBytes(20_000, 2)]), pack([randomBytes(3, 3), new Uint8Array(0)])],
      [pack([jsonLike(300, 4)]), pack([jsonLike(70_000, 5)])],
    ];
    for (const [keys, values] of cases) {
      assertRoundTrip(keys, values, accel.encodeFrame(keys, values));
      assertRoundTrip(keys, values, accel.encodeFrame(keys, values, { compress: false }));
    }
  });

  it('round-trips 65535 records', () => {
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    for (let i = 0; i < 65535; i++) {
      keys.push(enc.encode(`key-${i}`));
      values.push(enc.encode(i % 3 === 0 ? '' : `value-${i * 7}`));
    }
    const packedKeys = pack(keys);
    const packedValues = pack(values);
    const frame = accel.encodeFrame(packedKeys, packedValues);
    assert.equal(frame.readUInt16LE(6), 65535);
    assertRoundTrip(packedKeys, packedValues, frame);
  });

  it('compresses exactly when asked, R >= 64 and 8·C <= 7·R', () => {
    const noise = randomBytes(4000, 17);
    let chosen = 0;
    let declined = 0;
    for (let i = 0; i < 60; i++) {
      // From all noise to all repetition, with small bodies around the 64-byte threshold too.
      const length = i < 20 ? 40 + i * 2 : 100 + i * 37;
      const repeated = Math.floor((length * (i % 20)) / 19);
      const value = new Uint8Array(length);
      value.set(noise.subarray(0, length - repeated));
      value.fill(0x61, length - repeated);
      const keys = pack([`k${i}`]);
      const values = pack([value]);
      const raw = rawBody(keys, values);
      const block = referenceCompressBlock(raw);
      const expectCompressed = raw.length >= 64 && 8 * block.length <= 7 * raw.length;
      const frame = accel.encodeFrame(keys, values);
      assert.equal(frame[5], expectCompressed ? 1 : 0, `case ${i}: R=${raw.length} C=${block.length}`);
      if (expectCompressed) {
        chosen++;
        assert.equal(frame.readUInt32LE(8), raw.length);
        assert.equal(frame.readUInt32LE(12), block.length);
        assert.deepEqual(frame.subarray(24), Buffer.from(block));
      } else {
        declined++;
        assert.deepEqual(frame.subarray(24), raw);
      }
      const decoded = accel.decodeFrame(frame);
      assert.equal(decoded.compressed, expectCompressed);
      assert.deepEqual(unpack(decoded.values), [Buffer.from(value)]);
      assert.equal(accel.encodeFrame(keys, values, { compress: false })[5], 0);
      assert.deepEqual(accel.encodeFrame(keys, values, { compress: true }), frame);
    }
    assert.ok(chosen > 10 && declined > 10, `chosen ${chosen}, declined ${declined}`);
  });

  it('does not compress bodies under 64 bytes even when they would shrink', () => {
    const keys = pack(['k']);
    const values = pack(['a'.repeat(60)]);
    assert.ok(8 * referenceCompressBlock(rawBody(keys, values)).length <= 7 * 62);
    assert.equal(accel.encodeFrame(keys, values)[5], 0);
  });

  it('decodes at a non-zero offset and reports the frame length', () => {
    const first = accel.encodeFrame(pack(['a', 'b']), pack([jsonLike(500, 1), 'x']));
    const second = accel.encodeFrame(smallKeys, smallValues);
    const segment = Buffer.concat([Buffer.from('garbage!'), first, second, Buffer.from('tail')]);
    const one = accel.decodeFrame(segment, 8);
    assert.equal(one.byteLength, first.length);
    assert.equal(one.compressed, true);
    assert.deepEqual(unpack(one.keys), [Buffer.from('a'), Buffer.from('b')]);
    const two = accel.decodeFrame(segment, 8 + one.byteLength);
    assert.equal(two.byteLength, second.length);
    assert.deepEqual(unpack(two.values), unpack(smallValues));
    const view = new Uint8Array(segment.buffer, segment.byteOffset + 3, segment.length - 3);
    assert.equal(accel.decodeFrame(view, 5).byteLength, first.length);
  });

  it('returns keys and values that do not alias the input', () => {
    const frame = accel.encodeFrame(smallKeys, smallValues, { compress: false });
    const decoded = accel.decodeFrame(frame);
    frame.fill(0);
    assert.deepEqual(unpack(decoded.values), unpack(smallValues));
  });

  describe('corruption', () => {
    const raw = accel.encodeFrame(smallKeys, smallValues);
    const compressed = accel.encodeFrame(pack(['a', 'bb']), pack(['abcdef'.repeat(20), 'value']));
    assert.equal(compressed[5], 1);

    it('rejects every truncation', () => {
      for (const frame of [raw, compressed]) {
        for (let length = 0; length < frame.length; length++) {
          throwsCode(() => accel.decodeFrame(frame.subarray(0, length)), 'CORRUPTION', `length ${length}`);
        }
      }
    });

    it('rejects a flipped bit at every byte position', () => {
      for (const frame of [raw, compressed]) {
        for (let at = 0; at < frame.length; at++) {
          for (let bit = 0; bit < 8; bit++) {
            const bad = Buffer.from(frame);
            bad[at]! ^= 1 << bit;
            throwsCode(() => accel.decodeFrame(bad), 'CORRUPTION', `byte ${at} bit ${bit}`);
          }
        }
      }
    });

    /** Edit a copy of the raw frame and re-seal its CRC, so the edit itself must be detected. */
    const edited = (edit: (frame: Buffer) => void, base: Buffer = raw): Buffer => {
      const frame = Buffer.from(base);
      edit(frame);
      const count = frame.readUInt16LE(6);
      const stored = Math.min(frame.readUInt32LE(12), Math.max(0, frame.length - 20 - 4 * count));
      if (frame.length >= 20 + 4 * count) refreshFrameCrc(frame, count, stored);
      return frame;
    };

    it('rejects bad magic, version, flags and counts even with a matching CRC', () => {
      const cases: Array<[string, (f: Buffer) => void]> = [
        ['magic', (f) => (f[0] = 0x54)],
        ['magic last byte', (f) => (f[3] = 0x47)],
        ['version 0', (f) => (f[4] = 0)],
        ['version 2', (f) => (f[4] = 2)],
        ['flags 2', (f) => (f[5] = 2)],
        ['flags 0x81', (f) => (f[5] = 0x81)],
        ['count 0', (f) => f.writeUInt16LE(0, 6)],
        ['count 3', (f) => f.writeUInt16LE(3, 6)],
        ['stored != raw', (f) => f.writeUInt32LE(f.readUInt32LE(12) - 1, 12)],
        ['raw != stored', (f) => f.writeUInt32LE(f.readUInt32LE(8) + 1, 8)],
        ['compressed flag on a raw body', (f) => (f[5] = 1)],
      ];
      for (const [name, edit] of cases) throwsCode(() => accel.decodeFrame(edited(edit)), 'CORRUPTION', name);
    });

    it('rejects bad record offsets even with a matching CRC', () => {
      const cases: Array<[string, (f: Buffer) => void]> = [
        ['first offset not 0', (f) => f.writeUInt32LE(1, 20)],
        ['offset past the body', (f) => f.writeUInt32LE(f.readUInt32LE(8), 24)],
        ['offset far past the body', (f) => f.writeUInt32LE(0xffffffff, 24)],
        ['offsets not increasing', (f) => f.writeUInt32LE(0, 24)],
        ['key runs past its record', (f) => (f[28] = 10)],
        ['key length varint too long', (f) => f.fill(0xff, 28, 33)],
      ];
      for (const [name, edit] of cases) throwsCode(() => accel.decodeFrame(edited(edit)), 'CORRUPTION', name);
    });

    it('rejects a bad compressed body even with a matching CRC', () => {
      const cases: Array<[string, (f: Buffer) => void]> = [
        ['raw length too large', (f) => f.writeUInt32LE(f.readUInt32LE(8) + 1, 8)],
        ['raw length impossible', (f) => f.writeUInt32LE(0xfffffff0, 8)],
        ['garbage body', (f) => f.fill(0xee, 28)],
        ['stored length short', (f) => f.writeUInt32LE(f.readUInt32LE(12) - 1, 12)],
      ];
      for (const [name, edit] of cases) {
        throwsCode(() => accel.decodeFrame(edited(edit, compressed)), 'CORRUPTION', name);
      }
    });

    it('rejects a frame that claims more bytes than there are', () => {
      const long = edited((f) => {
        f.writeUInt32LE(f.readUInt32LE(8) + 1, 8);
        f.writeUInt32LE(f.readUInt32LE(12) + 1, 12);
      });
      throwsCode(() => accel.decodeFrame(long), 'CORRUPTION', 'one byte more than there is');
      throwsCode(() => accel.decodeFrame(raw, raw.length), 'CORRUPTION', 'offset at the end');
      throwsCode(() => accel.decodeFrame(Buffer.concat([raw, raw]), raw.length + 1), 'CORRUPTION', 'misaligned');
    });
  });

  describe('invalid arguments', () => {
    const encode = accel.encodeFrame as (...args: unknown[]) => Buffer;
    const decode = accel.decodeFrame as (...args: unknown[]) => unknown;

    it('rejects record counts outside 1..65535 and mismatched batches', () => {
      throwsCode(() => encode(pack([]), pack([])), 'INVALID_ARGUMENT', '0 records');
      const many = { data: new Uint8Array(0), offsets: new Uint32Array(65537) };
      throwsCode(() => encode(many, many), 'INVALID_ARGUMENT', '65536 records');
      throwsCode(() => encode(pack(['a', 'b']), pack(['a'])), 'INVALID_ARGUMENT', 'count mismatch');
    });

    it('rejects malformed packed batches', () => {
      const values = pack(['v']);
      const bad: unknown[] = [
        null,
        'key',
        { data: new Uint8Array(1) },
        { data: [1], offsets: Uint32Array.of(0, 1) },
        { data: new Uint8Array(1), offsets: [0, 1] },
        { data: new Uint8Array(1), offsets: Int32Array.of(0, 1) },
        { data: new Uint8Array(1), offsets: new Uint32Array(0) },
        { data: new Uint8Array(1), offsets: Uint32Array.of(0, 2) },
        { data: new Uint8Array(4), offsets: Uint32Array.of(3, 1) },
      ];
      for (const keys of bad) {
        throwsCode(() => encode(keys, values), 'INVALID_ARGUMENT', JSON.stringify(keys));
        throwsCode(() => encode(values, keys), 'INVALID_ARGUMENT', JSON.stringify(keys));
      }
    });

    it('rejects bad options and decode arguments', () => {
      throwsCode(() => encode(smallKeys, smallValues, { compress: 1 }), 'INVALID_ARGUMENT', 'compress: 1');
      throwsCode(() => encode(smallKeys, smallValues, 'fast'), 'INVALID_ARGUMENT', 'options string');
      const frame = accel.encodeFrame(smallKeys, smallValues);
      throwsCode(() => decode('frame'), 'INVALID_ARGUMENT', 'string data');
      throwsCode(() => decode(frame, -1), 'INVALID_ARGUMENT', 'negative offset');
      throwsCode(() => decode(frame, 1.5), 'INVALID_ARGUMENT', 'fractional offset');
      throwsCode(() => decode(frame, frame.length + 1), 'INVALID_ARGUMENT', 'offset past the data');
    });
  });
});
