import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import lz4 from 'lz4-napi';
import { accel } from '../src/index.js';
import { enc, jsonLike, randomBytes, referenceCompressBlock, throwsCode, withSizePrefix } from './helpers.js';

function repeatedWithNoise(length: number): Uint8Array {
  const out = new Uint8Array(length);
  const noise = randomBytes(length, 99);
  for (let i = 0; i < length; i++) out[i] = i % 97 === 0 ? noise[i]! : (i % 7) + 65;
  return out;
}

/** A block separated from its copy by exactly `distance` bytes of noise, to probe the 65535 limit. */
function repeatAtDistance(distance: number): Uint8Array {
  const head = enc.encode('a pattern that repeats exactly once, far away ');
  const out = new Uint8Array(distance + head.length + 20);
  out.set(head, 0);
  out.set(randomBytes(distance - head.length, distance), head.length);
  out.set(head, distance);
  return out;
}

const samples: Array<[string, Uint8Array]> = [
  ['empty', new Uint8Array(0)],
  ['1 byte', Uint8Array.of(0x42)],
  ['12 bytes', enc.encode('aaaaaaaaaaaa')],
  ['13 bytes', enc.encode('aaaaaaaaaaaaa')],
  ['14 bytes', enc.encode('aaaaaaaaaaaaaa')],
  ['17 repeated bytes', new Uint8Array(17).fill(9)],
  ['14 literals then a match', enc.encode('abcdefghijklmnabcdefghijklmn------')],
  ['incompressible', randomBytes(100_000, 1)],
  ['zeros', new Uint8Array(1 << 20)],
  ['json-like', jsonLike(64 * 1024, 2)],
  ['periodic with noise', repeatedWithNoise(50_000)],
  ['long literal run then match', new Uint8Array([...randomBytes(300, 3), ...randomBytes(300, 3)])],
  ['match at distance 65535', repeatAtDistance(65535)],
  ['match at distance 65536', repeatAtDistance(65536)],
  ['text', enc.encode('The quick brown fox jumps over the lazy dog. '.repeat(40))],
];

describe(`lz4 (${accel.kind})`, () => {
  it('emits exactly the bytes of the FORMAT.md §1 compressor', () => {
    for (const [name, input] of samples) {
      const expected = withSizePrefix(input.length, referenceCompressBlock(input));
      assert.deepEqual(accel.lz4Compress(input), expected, name);
    }
  });

  it('encodes empty input as 00 00 00 00 00 and decodes a bare size of 0', () => {
    assert.deepEqual(accel.lz4Compress(new Uint8Array(0)), Buffer.from([0, 0, 0, 0, 0]));
    assert.equal(accel.lz4Decompress(Buffer.from([0, 0, 0, 0, 0])).length, 0);
    assert.equal(accel.lz4Decompress(Buffer.from([0, 0, 0, 0])).length, 0);
  });

  it('round-trips every sample and 4 MiB of JSON-like text', () => {
    for (const [name, input] of [...samples, ['4 MiB json-like', jsonLike(4 << 20, 5)] as [string, Uint8Array]]) {
      const packed = accel.lz4Compress(input);
      assert.ok(Buffer.isBuffer(packed), name);
      assert.deepEqual(accel.lz4Decompress(packed), Buffer.from(input), name);
    }
  });

  it('compresses redundant data and bounds the growth of random data', () => {
    assert.ok(accel.lz4Compress(new Uint8Array(1 << 20)).length < 5000);
    const random = randomBytes(100_000, 1);
    assert.ok(accel.lz4Compress(random).length <= 4 + random.length + Math.floor(random.length / 255) + 16);
  });

  it('compresses a subarray view as its own bytes', () => {
    const backing = jsonLike(10_000, 8);
    const view = backing.subarray(1234, 7777);
    assert.deepEqual(accel.lz4Compress(view), accel.lz4Compress(Uint8Array.from(view)));
    const packed = accel.lz4Compress(view);
    const shifted = new Uint8Array(packed.length + 3);
    shifted.set(packed, 3);
    assert.deepEqual(accel.lz4Decompress(shifted.subarray(3)), Buffer.from(view));
  });

  it('interoperates with lz4-napi in both directions', () => {
    for (const [name, input] of [...samples, ['4 MiB json-like', jsonLike(4 << 20, 6)] as [string, Uint8Array]]) {
      const ours = accel.lz4Compress(input);
      assert.deepEqual(lz4.uncompressSync(ours), Buffer.from(input), `lz4-napi decodes ours: ${name}`);
      const theirs = lz4.compressSync(Buffer.from(input));
      assert.deepEqual(accel.lz4Decompress(theirs), Buffer.from(input), `we decode lz4-napi: ${name}`);
    }
  });

  it('decodes overlapping matches and extended lengths', () => {
    // "ab", then a match at offset 2 of length 4 + 15 + 255 + 10 (an overlapping copy), then an
    // empty last sequence.
    const block = Uint8Array.of(0x2f, 0x61, 0x62, 0x02, 0x00, 0xff, 0x0a, 0x00);
    const out = accel.lz4Decompress(withSizePrefix(286, block));
    assert.equal(out.toString(), 'ab'.repeat(143));
    // 15 + 255 + 0 literals: a length extension that ends in a zero byte.
    const literals = randomBytes(270, 4);
    const literalBlock = Uint8Array.of(0xf0, 0xff, 0x00, ...literals);
    assert.deepEqual(accel.lz4Decompress(withSizePrefix(270, literalBlock)), Buffer.from(literals));
    // Offset 1 run-length encoding.
    const rle = Uint8Array.of(0x1f, 0x7a, 0x01, 0x00, 0xff, 0xff, 0x03, 0x50, 0x31, 0x32, 0x33, 0x34, 0x35);
    const decoded = accel.lz4Decompress(withSizePrefix(1 + 4 + 15 + 255 + 255 + 3 + 5, rle));
    assert.equal(decoded.toString(), 'z'.repeat(1 + 4 + 15 + 255 + 255 + 3) + '12345');
  });

  describe('malformed input is CORRUPTION', () => {
    // 'a', then a match of 4 at offset 1, then 5 literals: decodes to "aaaaabcdef".
    const valid = Uint8Array.of(0x10, 0x61, 0x01, 0x00, 0x50, 0x62, 0x63, 0x64, 0x65, 0x66);

    it('accepts the valid baseline', () => {
      assert.equal(accel.lz4Decompress(withSizePrefix(10, valid)).toString(), 'aaaaabcdef');
    });

    it('rejects every truncation', () => {
      const packed = accel.lz4Compress(jsonLike(600, 3));
      for (let length = 0; length < packed.length; length++) {
        throwsCode(() => accel.lz4Decompress(packed.subarray(0, length)), 'CORRUPTION', `length ${length}`);
      }
      const small = withSizePrefix(10, valid);
      for (let length = 0; length < small.length; length++) {
        throwsCode(() => accel.lz4Decompress(small.subarray(0, length)), 'CORRUPTION', `length ${length}`);
      }
    });

    it('rejects a match offset of 0 or one reaching before the output', () => {
      const zero = Uint8Array.from(valid);
      zero[2] = 0;
      throwsCode(() => accel.lz4Decompress(withSizePrefix(10, zero)), 'CORRUPTION', 'offset 0');
      const far = Uint8Array.from(valid);
      far[2] = 2;
      throwsCode(() => accel.lz4Decompress(withSizePrefix(10, far)), 'CORRUPTION', 'offset 2 after 1 byte');
      const farHigh = Uint8Array.from(valid);
      farHigh[3] = 1;
      throwsCode(() => accel.lz4Decompress(withSizePrefix(10, farHigh)), 'CORRUPTION', 'offset 257');
    });

    it('rejects a declared size that differs from the decoded size', () => {
      throwsCode(() => accel.lz4Decompress(withSizePrefix(9, valid)), 'CORRUPTION', 'declared 9');
      throwsCode(() => accel.lz4Decompress(withSizePrefix(11, valid)), 'CORRUPTION', 'declared 11');
      throwsCode(() => accel.lz4Decompress(withSizePrefix(0, valid)), 'CORRUPTION', 'declared 0');
      throwsCode(() => accel.lz4Decompress(Buffer.from([5, 0, 0, 0])), 'CORRUPTION', 'no block for 5 bytes');
      const packed = accel.lz4Compress(jsonLike(5000, 4));
      packed.writeUInt32LE(4999, 0);
      throwsCode(() => accel.lz4Decompress(packed), 'CORRUPTION', 'one byte short');
      packed.writeUInt32LE(5001, 0);
      throwsCode(() => accel.lz4Decompress(packed), 'CORRUPTION', 'one byte long');
    });

    it('rejects trailing bytes', () => {
      const packed = accel.lz4Compress(enc.encode('hello'));
      for (const extra of [[0x00], [0x01, 0x00], [0x00, 0x00, 0x00], [0x50, 0x61, 0x61, 0x61, 0x61, 0x61]]) {
        const longer = Buffer.concat([packed, Buffer.from(extra)]);
        throwsCode(() => accel.lz4Decompress(longer), 'CORRUPTION', `trailing ${extra.join(',')}`);
      }
      throwsCode(() => accel.lz4Decompress(Buffer.from([0, 0, 0, 0, 0, 0])), 'CORRUPTION', 'empty then a byte');
    });

    it('rejects a block that ends after a match or inside a length extension', () => {
      throwsCode(() => accel.lz4Decompress(withSizePrefix(5, valid.subarray(0, 4))), 'CORRUPTION', 'ends after match');
      throwsCode(() => accel.lz4Decompress(withSizePrefix(20, Uint8Array.of(0xf0))), 'CORRUPTION', 'literal ext');
      throwsCode(() => accel.lz4Decompress(withSizePrefix(300, Uint8Array.of(0xf0, 0xff))), 'CORRUPTION', 'ext 255');
      const matchExt = Uint8Array.of(0x1f, 0x61, 0x01, 0x00, 0xff);
      throwsCode(() => accel.lz4Decompress(withSizePrefix(400, matchExt)), 'CORRUPTION', 'match ext');
      const literalsPast = Uint8Array.of(0x50, 0x61, 0x62);
      throwsCode(() => accel.lz4Decompress(withSizePrefix(5, literalsPast)), 'CORRUPTION', 'literals past input');
      const literalsPastSize = Uint8Array.of(0x50, 0x61, 0x62, 0x63, 0x64, 0x65);
      throwsCode(() => accel.lz4Decompress(withSizePrefix(4, literalsPastSize)), 'CORRUPTION', 'literals past size');
      const matchPastSize = Uint8Array.of(0x1f, 0x61, 0x01, 0x00, 0x10, 0x50, 0x62, 0x63, 0x64, 0x65, 0x66);
      throwsCode(() => accel.lz4Decompress(withSizePrefix(20, matchPastSize)), 'CORRUPTION', 'match past size');
    });

    it('rejects an impossible declared size before allocating', () => {
      throwsCode(() => accel.lz4Decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00])), 'CORRUPTION', '4 GiB');
      const input = Buffer.alloc(100);
      input.writeUInt32LE(255 * 100 + 65, 0);
      throwsCode(() => accel.lz4Decompress(input), 'CORRUPTION', 'just above the bound');
      throwsCode(() => accel.lz4Decompress(Buffer.from([1, 2, 3])), 'CORRUPTION', 'no size prefix');
      throwsCode(() => accel.lz4Decompress(new Uint8Array(0)), 'CORRUPTION', 'empty input');
    });

    it('never throws anything but CORRUPTION on random garbage', () => {
      for (let seed = 1; seed <= 300; seed++) {
        const garbage = randomBytes(4 + (seed % 60), seed);
        garbage[0] = seed % 200;
        garbage[1] = 0;
        garbage[2] = 0;
        garbage[3] = 0;
        try {
          accel.lz4Decompress(garbage);
        } catch (error) {
          assert.equal((error as { code?: unknown }).code, 'CORRUPTION', `seed ${seed}: ${String(error)}`);
        }
      }
    });
  });

  it('rejects arguments that are not byte arrays with INVALID_ARGUMENT', () => {
    const compress = accel.lz4Compress as (data: unknown) => Buffer;
    const decompress = accel.lz4Decompress as (data: unknown) => Buffer;
    for (const bad of ['text', [1, 2], new Uint16Array(2), null, undefined, new ArrayBuffer(4)]) {
      throwsCode(() => compress(bad), 'INVALID_ARGUMENT', `compress ${String(bad)}`);
      throwsCode(() => decompress(bad), 'INVALID_ARGUMENT', `decompress ${String(bad)}`);
    }
  });
});
