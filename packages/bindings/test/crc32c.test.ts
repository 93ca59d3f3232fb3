import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, tsAccelerator } from '../src/index.js';
import { crcPattern, enc, pack, randomBytes, referenceCrc32c, rng, throwsCode } from './helpers.js';

describe(`crc32c (${accel.kind})`, () => {
  it('matches the known answers', () => {
    assert.equal(accel.crc32c(enc.encode('123456789')), 0xe3069283);
    assert.equal(accel.crc32c(new Uint8Array(0)), 0);
    // RFC 3720 (iSCSI) appendix B.4 vectors.
    assert.equal(accel.crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(accel.crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(accel.crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(accel.crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  });

  it('matches the agreed value for 1 MiB of (i * 31 + 7) & 0xff', () => {
    const data = crcPattern(1 << 20);
    assert.equal(accel.crc32c(data), 0xff5be3fc);
    assert.equal(referenceCrc32c(data), 0xff5be3fc);
  });

  it('agrees with a bitwise reference at every length and alignment up to 80', () => {
    const source = randomBytes(200, 7);
    for (let start = 0; start < 8; start++) {
      for (let length = 0; length <= 80; length++) {
        const slice = source.subarray(start, start + length);
        assert.equal(accel.crc32c(slice), referenceCrc32c(slice), `start ${start} length ${length}`);
      }
    }
  });

  it('extends a previous CRC passed as the seed', () => {
    const data = randomBytes(5000, 11);
    const whole = accel.crc32c(data);
    for (const cut of [0, 1, 3, 8, 15, 16, 17, 1000, 4999, 5000]) {
      const first = accel.crc32c(data.subarray(0, cut));
      assert.equal(accel.crc32c(data.subarray(cut), first), whole, `cut at ${cut}`);
    }
    const seeded = accel.crc32c(enc.encode('56789'), accel.crc32c(enc.encode('1234')));
    assert.equal(seeded, 0xe3069283);
    assert.equal(accel.crc32c(new Uint8Array(0), 0xdeadbeef), 0xdeadbeef);
    assert.equal(accel.crc32c(data, 0), whole);
  });

  it('returns an unsigned 32-bit number', () => {
    const value = accel.crc32c(enc.encode('123456789'));
    assert.ok(value > 0x7fffffff && Number.isInteger(value));
    assert.equal(accel.crc32c(Buffer.from('123456789')), value);
  });

  it('rejects bad arguments with INVALID_ARGUMENT', () => {
    const call = accel.crc32c as (...args: unknown[]) => number;
    throwsCode(() => call('123456789'), 'INVALID_ARGUMENT', 'string');
    throwsCode(() => call([1, 2, 3]), 'INVALID_ARGUMENT', 'array');
    throwsCode(() => call(new Uint16Array(4)), 'INVALID_ARGUMENT', 'Uint16Array');
    throwsCode(() => call(undefined), 'INVALID_ARGUMENT', 'undefined');
    for (const seed of [-1, 2 ** 32, 1.5, Number.NaN, '1']) {
      throwsCode(() => call(new Uint8Array(1), seed), 'INVALID_ARGUMENT', `seed ${String(seed)}`);
    }
  });

  describe('crc32cMany', () => {
    it('matches the known answers, item by item', () => {
      const crcs = accel.crc32cMany(
        pack(['123456789', new Uint8Array(32), new Uint8Array(32).fill(0xff), Uint8Array.from({ length: 32 }, (_, i) => i)]),
      );
      assert.ok(crcs instanceof Uint32Array);
      assert.deepEqual([...crcs], [0xe3069283, 0x8a9136aa, 0x62a8ab43, 0x46dd794e]);
      assert.equal(accel.crc32cMany(pack([crcPattern(1 << 20)]))[0], 0xff5be3fc);
    });

    it('gives 0 for empty items and an empty result for an empty batch', () => {
      assert.deepEqual([...accel.crc32cMany(pack(['', '123456789', '', '']))], [0, 0xe3069283, 0, 0]);
      assert.equal(accel.crc32cMany({ data: new Uint8Array(0), offsets: Uint32Array.of(0) }).length, 0);
      // One offset anywhere in the data is a batch of no items.
      assert.equal(accel.crc32cMany({ data: new Uint8Array(10), offsets: Uint32Array.of(7) }).length, 0);
    });

    it('checksums ranges in place: offsets need not start at 0 nor end at the end of the data', () => {
      const data = enc.encode('xx123456789abcyy');
      const crcs = accel.crc32cMany({ data, offsets: Uint32Array.of(2, 11, 11, 14) });
      assert.deepEqual([...crcs], [0xe3069283, 0, referenceCrc32c(enc.encode('abc'))]);
    });

    it('equals crc32c of each item, and the TypeScript and selected implementations agree', () => {
      for (let seed = 1; seed <= 30; seed++) {
        const next = rng(seed);
        const count = next() % 300;
        const items = Array.from({ length: count }, (_, i) => randomBytes([0, 1, 7, 15, 16, 17, 100, 4096][(next() + i) % 8]!, seed * 1000 + i));
        const packed = pack(items);
        const expected = items.map((item) => referenceCrc32c(item));
        assert.deepEqual([...accel.crc32cMany(packed)], expected, `${accel.kind} seed ${seed}`);
        assert.deepEqual([...tsAccelerator.crc32cMany(packed)], expected, `ts seed ${seed}`);
        assert.deepEqual(
          [...accel.crc32cMany(packed)],
          items.map((item) => accel.crc32c(item)),
          `crc32c per item, seed ${seed}`,
        );
      }
    });

    it('accepts a Buffer as the data, including a view into a larger ArrayBuffer', () => {
      const backing = Buffer.from('--123456789--');
      const view = backing.subarray(2, 11);
      assert.deepEqual([...accel.crc32cMany({ data: view, offsets: Uint32Array.of(0, 9) })], [0xe3069283]);
    });

    it('rejects malformed batches with INVALID_ARGUMENT', () => {
      for (const impl of [accel, tsAccelerator]) {
        const many = impl.crc32cMany as (...args: unknown[]) => Uint32Array;
        const where = (what: string): string => `${impl.kind}: ${what}`;
        throwsCode(() => many(undefined), 'INVALID_ARGUMENT', where('undefined'));
        throwsCode(() => many(null), 'INVALID_ARGUMENT', where('null'));
        throwsCode(() => many(enc.encode('123')), 'INVALID_ARGUMENT', where('bare bytes'));
        throwsCode(() => many({ data: 'ab', offsets: Uint32Array.of(0, 1) }), 'INVALID_ARGUMENT', where('string data'));
        throwsCode(() => many({ data: new Uint8Array(2), offsets: [0, 1] }), 'INVALID_ARGUMENT', where('array offsets'));
        throwsCode(() => many({ data: new Uint8Array(2), offsets: Int32Array.of(0, 1) }), 'INVALID_ARGUMENT', where('Int32Array offsets'));
        throwsCode(() => many({ data: new Uint8Array(2) }), 'INVALID_ARGUMENT', where('missing offsets'));
        throwsCode(() => many({ data: new Uint8Array(2), offsets: new Uint32Array(0) }), 'INVALID_ARGUMENT', where('no offsets'));
        throwsCode(() => many({ data: new Uint8Array(2), offsets: Uint32Array.of(0, 3) }), 'INVALID_ARGUMENT', where('past end'));
        throwsCode(() => many({ data: new Uint8Array(4), offsets: Uint32Array.of(0, 3, 2) }), 'INVALID_ARGUMENT', where('decreasing'));
      }
    });
  });
});
