import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, type BlockEntries } from '../src/index.js';
import {
  blockFromPayload,
  enc,
  jsonLike,
  pack,
  randomBytes,
  referenceCompressBlock,
  referenceCrc32c,
  rng,
  throwsCode,
  unpack,
  withSizePrefix,
} from './helpers.js';

function entries(keys: readonly (string | Uint8Array)[], values: readonly (string | Uint8Array)[], tags?: number[]) {
  return {
    keys: pack(keys),
    values: pack(values),
    tags: Uint8Array.from(tags ?? keys.map((_, i) => i % 3)),
  } satisfies BlockEntries;
}

function assertSameEntries(actual: BlockEntries, expected: BlockEntries): void {
  assert.deepEqual(unpack(actual.keys), unpack(expected.keys));
  assert.deepEqual(unpack(actual.values), unpack(expected.values));
  assert.deepEqual(Array.from(actual.tags), Array.from(expected.tags));
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

/** A hand-made entry: varints shared, unshared, value length; tag; key suffix; value. */
function entry(shared: number, suffix: string, value: string, tag = 0): number[] {
  const s = [...enc.encode(suffix)];
  const v = [...enc.encode(value)];
  return [...varint(shared), ...varint(s.length), ...varint(v.length), tag, ...s, ...v];
}

function payload(entryBytes: number[], restarts: number[]): Uint8Array {
  return Uint8Array.from([...entryBytes, ...restarts.flatMap(u32), ...u32(restarts.length)]);
}

/** Sorted keys with long shared prefixes, so prefix compression has work to do. */
function sortedKeys(count: number, seed: number): Uint8Array[] {
  const next = rng(seed);
  const keys = new Set<string>();
  while (keys.size < count) keys.add(`user/${next() % 50}/item/${next() % 100000}`);
  return [...keys].map((k) => enc.encode(k)).sort(Buffer.compare);
}

describe(`table blocks (${accel.kind})`, () => {
  it('encodes the FORMAT.md §3 layout byte for byte', () => {
    const input = entries(['apple', 'applesauce', 'apply', 'banana'], ['1', '22', '', '4444'], [0, 1, 2, 0]);
    const block = accel.encodeBlock(input, { restartInterval: 2 });
    const first = entry(0, 'apple', '1', 0);
    const second = entry(5, 'sauce', '22', 1);
    const third = entry(0, 'apply', '', 2);
    const fourth = entry(0, 'banana', '4444', 0);
    const expectedPayload = payload([...first, ...second, ...third, ...fourth], [0, first.length + second.length]);
    assert.deepEqual(block, blockFromPayload(expectedPayload));
    assertSameEntries(accel.decodeBlock(block), input);

    // Default interval 16: every entry after the first shares what it can.
    const shared = accel.encodeBlock(input);
    const sharedPayload = payload(
      [...first, ...second, ...entry(4, 'y', '', 2), ...entry(0, 'banana', '4444', 0)],
      [0],
    );
    assert.deepEqual(shared, blockFromPayload(sharedPayload));
  });

  it('encodes an empty block as a zero restart count', () => {
    const block = accel.encodeBlock(entries([], []));
    assert.deepEqual(block, blockFromPayload(Uint8Array.of(0, 0, 0, 0)));
    assert.equal(block.length, 9);
    const decoded = accel.decodeBlock(block);
    assert.equal(decoded.tags.length, 0);
    assert.deepEqual(Array.from(decoded.keys.offsets), [0]);
    assert.deepEqual(Array.from(decoded.values.offsets), [0]);
    assert.equal(accel.encodeBlock(entries([], []), { compress: true })[4], 0);
  });

  it('round-trips with restart intervals 1, 2, 16 and 65535', () => {
    const keys = sortedKeys(700, 3);
    const next = rng(4);
    const values = keys.map((_, i) => (i % 5 === 0 ? new Uint8Array(0) : randomBytes(next() % 40, i)));
    const tags = keys.map(() => next() & 0xff);
    const input = entries(keys, values, tags);
    let previousLength = Infinity;
    for (const restartInterval of [1, 2, 16, 65535]) {
      const block = accel.encodeBlock(input, { restartInterval });
      assertSameEntries(accel.decodeBlock(block), input);
      // Longer restart groups share more, so blocks shrink as the interval grows.
      assert.ok(block.length < previousLength, `interval ${restartInterval}`);
      previousLength = block.length;
      const restarts = block.readUInt32LE(block.length - 9);
      assert.equal(restarts, Math.ceil(keys.length / restartInterval), `interval ${restartInterval}`);
    }
  });

  it('round-trips empty keys, empty values, long keys and every tag value', () => {
    const keys = ['', 'a', 'a'.repeat(200), 'a'.repeat(200) + 'b', 'b', 'b\u0000'];
    const input = entries(keys, ['', 'x', '', jsonLike(300, 1).toString(), 'y', ''], [255, 0, 1, 128, 7, 254]);
    for (const restartInterval of [1, 3, 16]) {
      assertSameEntries(accel.decodeBlock(accel.encodeBlock(input, { restartInterval })), input);
    }
    const all = Array.from({ length: 256 }, (_, i) => i);
    const tagged = entries(
      all.map((i) => `k${String(i).padStart(3, '0')}`),
      all.map(() => ''),
      all,
    );
    assert.deepEqual(Array.from(accel.decodeBlock(accel.encodeBlock(tagged)).tags), all);
  });

  it('does not enforce key order', () => {
    const input = entries(['b', 'a', 'a', 'ab'], ['1', '2', '3', '4']);
    assertSameEntries(accel.decodeBlock(accel.encodeBlock(input, { restartInterval: 3 })), input);
  });

  it('compresses exactly when asked, P >= 64 and 8·C <= 7·P (C = stored size-prefixed payload)', () => {
    const keys = sortedKeys(200, 8);
    const values = keys.map((_, i) => jsonLike(60, i));
    const input = entries(keys, values);
    const plain = accel.encodeBlock(input);
    assert.equal(plain[plain.length - 5], 0);
    const plainPayload = plain.subarray(0, plain.length - 5);
    const packed = withSizePrefix(plainPayload.length, referenceCompressBlock(plainPayload));
    assert.ok(8 * packed.length <= 7 * plainPayload.length);
    const block = accel.encodeBlock(input, { compress: true });
    assert.deepEqual(block.subarray(0, block.length - 5), packed);
    assert.equal(block[block.length - 5], 1);
    assert.equal(block.readUInt32LE(block.length - 4), referenceCrc32c(block.subarray(0, block.length - 4)));
    assertSameEntries(accel.decodeBlock(block), input);

    // Sweep compressibility across the threshold and check the rule each time.
    const noise = randomBytes(3000, 12);
    let chosen = 0;
    let declined = 0;
    for (let i = 0; i < 40; i++) {
      const length = i < 10 ? 40 + i * 4 : 200 + i * 50;
      const repeated = Math.floor((length * (i % 10)) / 9);
      const value = new Uint8Array(length);
      value.set(noise.subarray(0, length - repeated));
      value.fill(0x62, length - repeated);
      const one = entries(['key'], [value]);
      const raw = accel.encodeBlock(one, { compress: false });
      const p = raw.length - 5;
      const c = 4 + referenceCompressBlock(raw.subarray(0, p)).length;
      const expectCompressed = p >= 64 && 8 * c <= 7 * p;
      const got = accel.encodeBlock(one, { compress: true });
      assert.equal(got[got.length - 5], expectCompressed ? 1 : 0, `case ${i}: P=${p} C=${c}`);
      if (expectCompressed) chosen++;
      else declined++;
      assertSameEntries(accel.decodeBlock(got), one);
    }
    assert.ok(chosen > 5 && declined > 5, `chosen ${chosen}, declined ${declined}`);
  });

  it('stores incompressible payloads raw even when compression is asked for', () => {
    const input = entries(['k1', 'k2'], [randomBytes(500, 1), randomBytes(500, 2)]);
    const block = accel.encodeBlock(input, { compress: true });
    assert.deepEqual(block, accel.encodeBlock(input));
  });

  describe('corruption', () => {
    const small = entries(['apple', 'applesauce', 'apply', 'banana'], ['1', '22', '', '4444'], [0, 1, 2, 0]);
    const plain = accel.encodeBlock(small, { restartInterval: 2 });
    const compressible = entries(
      sortedKeys(6, 2),
      Array.from({ length: 6 }, () => 'abcabcabcabc'),
    );
    const compressed = accel.encodeBlock(compressible, { compress: true });
    assert.equal(compressed[compressed.length - 5], 1);

    it('rejects a flipped bit at every byte position', () => {
      for (const block of [plain, compressed]) {
        for (let at = 0; at < block.length; at++) {
          for (let bit = 0; bit < 8; bit++) {
            const bad = Buffer.from(block);
            bad[at]! ^= 1 << bit;
            throwsCode(() => accel.decodeBlock(bad), 'CORRUPTION', `byte ${at} bit ${bit}`);
          }
        }
      }
    });

    it('rejects every truncation', () => {
      for (const block of [plain, compressed]) {
        for (let length = 0; length < block.length; length++) {
          throwsCode(() => accel.decodeBlock(block.subarray(0, length)), 'CORRUPTION', `length ${length}`);
        }
      }
    });

    it('rejects structural errors even under a valid CRC', () => {
      const a = entry(0, 'apple', '1');
      const b = entry(5, 'sauce', '22');
      const cases: Array<[string, Uint8Array]> = [
        ['payload shorter than 4 bytes', Uint8Array.of(0, 0, 0)],
        ['restart count overruns the payload', payload(a, [0, 0, 0]).subarray(a.length + 8)],
        ['restart count larger than the payload', Uint8Array.from([...a, ...u32(0), ...u32(1000)])],
        ['shared > previous key length', payload([...a, ...entry(6, 'x', '')], [0])],
        ['shared on the first entry', payload(entry(1, 'x', ''), [0])],
        ['shared at a restart point', payload([...a, ...b], [0, a.length])],
        ['restart offset past the entries', payload([...a, ...b], [0, a.length + b.length])],
        ['restart offset far out of range', payload([...a, ...b], [0, 0xfffffff0])],
        ['restart offset inside an entry', payload([...a, ...entry(0, 'b', '')], [0, 3])],
        ['first restart offset not 0', payload([...a, ...entry(0, 'b', '')], [a.length])],
        [
          'restart offsets not increasing',
          payload([...a, ...entry(0, 'b', ''), ...entry(0, 'c', '')], [0, a.length, a.length]),
        ],
        ['entries without restarts', payload(a, [])],
        ['restarts without entries', payload([], [0])],
        ['entry runs into the restart array', payload(entry(0, 'apple', '1').slice(0, -1), [0])],
        ['value length past the entries', payload([0, 1, 50, 0, 0x61], [0])],
        ['varint runs into the restart array', payload([0x80, 0x80], [0])],
        ['varint with a 5th byte above 0x0f', payload([0, 0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0], [0])],
        ['varint with a 6th byte', payload([0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 0], [0])],
      ];
      for (const [name, bytes] of cases) {
        throwsCode(() => accel.decodeBlock(blockFromPayload(bytes)), 'CORRUPTION', name);
      }
    });

    it('rejects unknown compression and bad LZ4 payloads under a valid CRC', () => {
      const body = plain.subarray(0, plain.length - 5);
      throwsCode(() => accel.decodeBlock(blockFromPayload(body, 2)), 'CORRUPTION', 'compression 2');
      throwsCode(() => accel.decodeBlock(blockFromPayload(body, 0xff)), 'CORRUPTION', 'compression 255');
      throwsCode(() => accel.decodeBlock(blockFromPayload(body, 1)), 'CORRUPTION', 'raw payload marked LZ4');
      const lz = compressed.subarray(0, compressed.length - 5);
      const wrongSize = Buffer.from(lz);
      wrongSize.writeUInt32LE(wrongSize.readUInt32LE(0) + 1, 0);
      throwsCode(() => accel.decodeBlock(blockFromPayload(wrongSize, 1)), 'CORRUPTION', 'LZ4 size mismatch');
      throwsCode(() => accel.decodeBlock(blockFromPayload(Uint8Array.of(0, 0, 0, 0), 1)), 'CORRUPTION', 'empty LZ4');
      const tiny = withSizePrefix(3, referenceCompressBlock(Uint8Array.of(0, 0, 0)));
      throwsCode(() => accel.decodeBlock(blockFromPayload(tiny, 1)), 'CORRUPTION', 'decompressed payload < 4 bytes');
      // A valid LZ4 payload whose decoded structure is broken must still be caught.
      const badPayload = payload(entry(3, 'x', ''), [0]);
      const wrapped = withSizePrefix(badPayload.length, referenceCompressBlock(badPayload));
      throwsCode(() => accel.decodeBlock(blockFromPayload(wrapped, 1)), 'CORRUPTION', 'bad entries inside LZ4');
    });

    it('accepts a hand-made payload that follows the rules', () => {
      const bytes = payload([...entry(0, 'ab', 'v', 9), ...entry(1, 'c', '', 8), ...entry(0, 'b', 'w', 7)], [0, 12]);
      const decoded = accel.decodeBlock(blockFromPayload(bytes));
      assert.deepEqual(unpack(decoded.keys).map(String), ['ab', 'ac', 'b']);
      assert.deepEqual(unpack(decoded.values).map(String), ['v', '', 'w']);
      assert.deepEqual(Array.from(decoded.tags), [9, 8, 7]);
    });
  });

  it('rejects invalid arguments with INVALID_ARGUMENT', () => {
    const encode = accel.encodeBlock as (...args: unknown[]) => Buffer;
    const decode = accel.decodeBlock as (data: unknown) => BlockEntries;
    const ok = entries(['a', 'b'], ['1', '2']);
    throwsCode(() => encode(null), 'INVALID_ARGUMENT', 'null entries');
    throwsCode(() => encode({ ...ok, tags: Uint8Array.of(0) }), 'INVALID_ARGUMENT', 'too few tags');
    throwsCode(() => encode({ ...ok, tags: [0, 0] }), 'INVALID_ARGUMENT', 'tags array');
    throwsCode(() => encode({ ...ok, values: pack(['1']) }), 'INVALID_ARGUMENT', 'too few values');
    const pastData = { data: new Uint8Array(1), offsets: Uint32Array.of(0, 1, 2) };
    throwsCode(() => encode({ ...ok, keys: pastData }), 'INVALID_ARGUMENT', 'offsets past data');
    for (const restartInterval of [0, -1, 65536, 1.5, '16', Number.NaN]) {
      const context = `restartInterval ${String(restartInterval)}`;
      throwsCode(() => encode(ok, { restartInterval }), 'INVALID_ARGUMENT', context);
    }
    throwsCode(() => encode(ok, { compress: 'yes' }), 'INVALID_ARGUMENT', 'compress string');
    throwsCode(() => decode('block'), 'INVALID_ARGUMENT', 'string');
    throwsCode(() => decode(undefined), 'INVALID_ARGUMENT', 'undefined');
  });
});
