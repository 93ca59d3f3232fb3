import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel } from '../src/index.js';
import { enc, pack, randomBytes, rng, throwsCode } from './helpers.js';

/** The expected permutation: Buffer.compare order, ties by input position. */
function expectedOrder(keys: readonly Uint8Array[]): number[] {
  return keys
    .map((_, i) => i)
    .sort((a, b) => Buffer.compare(keys[a]!, keys[b]!) || a - b);
}

function checkSort(keys: readonly Uint8Array[], context: string): void {
  const order = accel.sortKeys(pack(keys));
  assert.ok(order instanceof Uint32Array, context);
  assert.deepEqual(Array.from(order), expectedOrder(keys), context);
}

describe(`sortKeys (${accel.kind})`, () => {
  it('keeps duplicates in input order', () => {
    assert.deepEqual(Array.from(accel.sortKeys(pack(['b', 'a', 'b', 'a', 'c']))), [1, 3, 0, 2, 4]);
    const same = Array.from({ length: 1000 }, () => 'same key');
    assert.deepEqual(Array.from(accel.sortKeys(pack(same))), same.map((_, i) => i));
  });

  it('puts empty keys and proper prefixes first', () => {
    assert.deepEqual(Array.from(accel.sortKeys(pack(['a', '', 'a\u0000', '', 'ab', '\u0000']))), [1, 3, 5, 0, 2, 4]);
  });

  it('orders by UTF-8 bytes, not by JS string comparison', () => {
    const emoji = '\u{1F600}';
    const halfwidth = '\uFF61';
    // UTF-16 puts the surrogate pair (0xD83D…) first; UTF-8 (F0 9F… vs EF BD A1) puts it last.
    assert.ok(emoji < halfwidth);
    assert.ok(Buffer.compare(enc.encode(emoji), enc.encode(halfwidth)) > 0);
    assert.deepEqual(Array.from(accel.sortKeys(pack([emoji, halfwidth]))), [1, 0]);
    assert.deepEqual(Array.from(accel.sortKeys(pack(['b', '', emoji, halfwidth, 'b']))), [1, 0, 4, 3, 2]);
  });

  it('orders bytes as unsigned', () => {
    const keys = pack([Uint8Array.of(0xff), Uint8Array.of(0x7f), Uint8Array.of(0x80)]);
    assert.deepEqual(Array.from(accel.sortKeys(keys)), [1, 2, 0]);
  });

  it('handles empty and single-item batches', () => {
    assert.deepEqual(Array.from(accel.sortKeys(pack([]))), []);
    assert.deepEqual(Array.from(accel.sortKeys(pack(['x']))), [0]);
    assert.deepEqual(Array.from(accel.sortKeys(pack(['']))), [0]);
  });

  it('matches Buffer.compare on random keys with many duplicates and shared prefixes', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const next = rng(seed);
      const count = seed * 17;
      const keys = Array.from({ length: count }, () => {
        const length = next() % 6;
        return Uint8Array.from({ length }, () => [0, 1, 0x61, 0x80, 0xff][next() % 5]!);
      });
      checkSort(keys, `seed ${seed}`);
    }
  });

  it('matches Buffer.compare on 70k keys sharing long prefixes', () => {
    const next = rng(77);
    const prefixes = [enc.encode('tenant/0001/user/'), enc.encode('tenant/0001/user/00'), enc.encode('x'.repeat(300))];
    const keys = Array.from({ length: 70_000 }, () => {
      const prefix = prefixes[next() % prefixes.length]!;
      const tail = enc.encode(String(next() % 5000));
      const key = new Uint8Array(prefix.length + tail.length);
      key.set(prefix);
      key.set(tail, prefix.length);
      return key;
    });
    checkSort(keys, 'long prefixes');
  });

  it('matches Buffer.compare on 70k short keys with many ties', () => {
    const next = rng(78);
    const keys = Array.from({ length: 70_000 }, () => {
      const length = next() % 7;
      return Uint8Array.from({ length }, () => [0, 1, 0x61, 0xff][next() % 4]!);
    });
    checkSort(keys, 'short keys');
  });

  it('matches Buffer.compare on 100k random 16-byte keys', () => {
    const data = randomBytes(16 * 100_000, 5);
    const keys = Array.from({ length: 100_000 }, (_, i) => data.subarray(16 * i, 16 * i + 16));
    checkSort(keys, '16-byte keys');
  });

  it('accepts offsets that do not start at 0 and ignores bytes outside them', () => {
    const data = enc.encode('zzcab');
    assert.deepEqual(Array.from(accel.sortKeys({ data, offsets: Uint32Array.of(2, 3, 4, 5) })), [1, 2, 0]);
  });

  it('rejects malformed batches with INVALID_ARGUMENT', () => {
    const sort = accel.sortKeys as (keys: unknown) => Uint32Array;
    throwsCode(() => sort(undefined), 'INVALID_ARGUMENT', 'undefined');
    throwsCode(() => sort({ data: new Uint8Array(2), offsets: Uint32Array.of(0, 3) }), 'INVALID_ARGUMENT', 'past end');
    const decreasing = { data: new Uint8Array(2), offsets: Uint32Array.of(2, 1) };
    throwsCode(() => sort(decreasing), 'INVALID_ARGUMENT', 'decreasing');
    throwsCode(() => sort({ data: new Uint8Array(2), offsets: new Uint32Array(0) }), 'INVALID_ARGUMENT', 'no offsets');
    throwsCode(() => sort({ data: 'ab', offsets: Uint32Array.of(0, 1) }), 'INVALID_ARGUMENT', 'string data');
  });
});
