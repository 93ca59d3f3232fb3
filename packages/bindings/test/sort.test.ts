import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, tsAccelerator, type Accelerator } from '../src/index.js';
import { enc, pack, randomBytes, rng, throwsCode } from './helpers.js';

/** The expected permutation: Buffer.compare order, ties by input position. */
function expectedOrder(keys: readonly Uint8Array[]): number[] {
  return keys
    .map((_, i) => i)
    .sort((a, b) => Buffer.compare(keys[a]!, keys[b]!) || a - b);
}

/** The internal-key order: the first `length − t` bytes, then the last `t` bytes. */
function compareSplit(a: Uint8Array, b: Uint8Array, t: number): number {
  return (
    Buffer.compare(a.subarray(0, a.length - t), b.subarray(0, b.length - t)) ||
    Buffer.compare(a.subarray(a.length - t), b.subarray(b.length - t))
  );
}

/** An internal key: `user ‖ trailer` with an 8-byte big-endian trailer. */
function internal(user: string | Uint8Array, trailer: bigint): Uint8Array {
  const bytes = typeof user === 'string' ? enc.encode(user) : user;
  const out = new Uint8Array(bytes.length + 8);
  out.set(bytes);
  new DataView(out.buffer).setBigUint64(bytes.length, trailer);
  return out;
}

/** Random keys with `t`-byte trailers: short user parts over few bytes (prefixes, duplicates). */
function randomSplitKeys(next: () => number, count: number, t: number): Uint8Array[] {
  const userAlphabet = [0, 1, 0x61, 0xff];
  const trailerAlphabet = [0, 0x7f, 0x80, 0xff].slice(0, 1 + (next() % 4));
  return Array.from({ length: count }, () => {
    const user = Array.from({ length: next() % 5 }, () => userAlphabet[next() % userAlphabet.length]!);
    const trailer = Array.from({ length: t }, () => trailerAlphabet[next() % trailerAlphabet.length]!);
    return Uint8Array.from([...user, ...trailer]);
  });
}

function checkSplitSort(keys: readonly Uint8Array[], t: number, context: string): void {
  const packed = pack(keys);
  const expected = keys.map((_, i) => i).sort((a, b) => compareSplit(keys[a]!, keys[b]!, t) || a - b);
  const order = accel.sortKeys(packed, { trailerBytes: t });
  assert.ok(order instanceof Uint32Array, context);
  assert.deepEqual(Array.from(order), expected, context);
  assert.deepEqual(order, tsAccelerator.sortKeys(packed, { trailerBytes: t }), `${context}: parity`);
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

  describe('with trailerBytes', () => {
    it('orders by user part, then trailer', () => {
      // Plain byte order puts "a" ‖ ff… after "a\0" ‖ 00… and "ab" ‖ 00…; the split order first.
      const keys = [
        internal('ab', 0n),
        internal('a\0', 0n),
        internal('a', 0xffff_ffff_ffff_ffffn),
        internal('a', 5n),
        internal('', 7n),
        internal('a\0', 0n),
        internal('a', 5n),
      ];
      assert.deepEqual(Array.from(accel.sortKeys(pack(keys), { trailerBytes: 8 })), [4, 3, 6, 2, 1, 5, 0]);
      assert.deepEqual(Array.from(accel.sortKeys(pack(keys), { trailerBytes: 0 })), expectedOrder(keys));
      assert.deepEqual(Array.from(accel.sortKeys(pack(keys), {})), expectedOrder(keys));
      checkSplitSort(keys, 8, 'prefix user keys');
    });

    it('matches the split comparison and the TypeScript accelerator on random keys', () => {
      for (let seed = 1; seed <= 40; seed++) {
        const next = rng(seed);
        const t = [1, 2, 8, 9, 255][seed % 5]!;
        const count = seed % 4 === 0 ? 5000 + (next() % 5000) : next() % 300;
        checkSplitSort(randomSplitKeys(next, count, t), t, `seed ${seed} trailer ${t}`);
      }
    });

    it('matches the split comparison on 100k internal keys (16-byte user keys, many versions)', () => {
      const next = rng(91);
      const users = randomBytes(16 * 20_000, 6);
      const keys = Array.from({ length: 100_000 }, () => {
        const u = next() % 20_000;
        return internal(users.subarray(16 * u, 16 * u + 16), BigInt(next() % 4));
      });
      checkSplitSort(keys, 8, 'internal keys');
    });

    it('rejects keys shorter than the trailer with INVALID_ARGUMENT', () => {
      const keys = pack([internal('a', 1n), Uint8Array.of(1, 2, 3)]);
      for (const a of [accel, tsAccelerator]) {
        throwsCode(() => a.sortKeys(keys, { trailerBytes: 8 }), 'INVALID_ARGUMENT', `${a.kind} short key`);
        throwsCode(() => a.sortKeys(pack(['']), { trailerBytes: 1 }), 'INVALID_ARGUMENT', `${a.kind} empty key`);
        assert.deepEqual(Array.from(a.sortKeys(keys, { trailerBytes: 3 })), [1, 0], a.kind);
      }
    });

    it('rejects invalid options with INVALID_ARGUMENT in both accelerators', () => {
      checkInvalidOptions((a, options) => a.sortKeys(pack(['abcdefgh']), options as never));
    });
  });
});

/** Options that both accelerators must reject, and the ones they must accept. */
function checkInvalidOptions(call: (a: Accelerator, options: unknown) => unknown): void {
  const invalid: unknown[] = [
    null,
    5,
    'x',
    [],
    true,
    { trailerBytes: -1 },
    { trailerBytes: 256 },
    { trailerBytes: 1.5 },
    { trailerBytes: Number.NaN },
    { trailerBytes: Number.POSITIVE_INFINITY },
    { trailerBytes: '8' },
    { trailerBytes: null },
    { trailerBytes: true },
    { trailerBytes: 8n },
  ];
  for (const a of [accel, tsAccelerator]) {
    for (const options of invalid) {
      throwsCode(() => call(a, options), 'INVALID_ARGUMENT', `${a.kind} ${typeof options} ${String((options as { trailerBytes?: unknown } | null)?.trailerBytes)}`);
    }
    for (const options of [undefined, {}, { trailerBytes: undefined }, { trailerBytes: 0 }, { trailerBytes: 8 }]) {
      call(a, options);
    }
  }
}
