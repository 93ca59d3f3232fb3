import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel } from '../src/index.js';
import { crcPattern, enc, randomBytes, referenceCrc32c, throwsCode } from './helpers.js';

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
});
