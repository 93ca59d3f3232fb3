import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, tsAccelerator, type Accelerator, type BlockEntries, type PackedBytes } from '../src/index.js';
import { blockFromPayload, enc, pack, randomBytes, rng, throwsCode, unpack } from './helpers.js';

const both: readonly (readonly [string, Accelerator])[] = [
  [accel.kind, accel],
  ['ts', tsAccelerator],
];

/** An internal key: the user key, then 8 trailer bytes holding 2^53 − 1 − seq (newer sorts first). */
function internalKey(user: string, seq: number): Uint8Array {
  const out = new Uint8Array(user.length + 8);
  out.set(enc.encode(user));
  const inverted = 2 ** 53 - 1 - seq;
  const view = new DataView(out.buffer);
  view.setUint32(user.length, Math.floor(inverted / 2 ** 32));
  view.setUint32(user.length + 4, inverted >>> 0);
  return out;
}

interface Table {
  run: Uint8Array;
  spans: Uint32Array;
  /** Every block's index key (its last key), in order. */
  indexKeys: Uint8Array[];
  entries: BlockEntries;
}

/** Consecutive blocks of a table: sorted internal keys, pointer-like and inline values, tombstones. */
function table(seed: number, blocks: number, restartInterval: number, compress: boolean): Table {
  const next = rng(seed);
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  const tags: number[] = [];
  let user = 0;
  const total = blocks * (1 + (next() % 40));
  for (let i = 0; i < total; i++) {
    // Some user keys get two versions (newer seq first).
    const versions = next() % 4 === 0 ? 2 : 1;
    const name = `user/${seed}/${String(user++ * 3).padStart(8, '0')}`;
    for (let v = 0; v < versions; v++) {
      const tag = next() % 3;
      keys.push(internalKey(name, 1000 - v));
      tags.push(tag);
      values.push(tag === 0 ? new Uint8Array(0) : randomBytes(tag === 2 ? 23 : next() % 120, i));
    }
  }
  const per = Math.ceil(keys.length / blocks);
  const stored: Uint8Array[] = [];
  const indexKeys: Uint8Array[] = [];
  for (let from = 0; from < keys.length; from += per) {
    const to = Math.min(keys.length, from + per);
    const block = { keys: pack(keys.slice(from, to)), values: pack(values.slice(from, to)), tags: Uint8Array.from(tags.slice(from, to)) };
    stored.push(accel.encodeBlock(block, { restartInterval, compress }));
    indexKeys.push(keys[to - 1]!);
  }
  const run = new Uint8Array(stored.reduce((n, b) => n + b.length, 0));
  const spans = new Uint32Array(2 * stored.length);
  let at = 0;
  stored.forEach((b, i) => {
    run.set(b, at);
    spans[2 * i] = at;
    spans[2 * i + 1] = b.length;
    at += b.length;
  });
  return { run, spans, indexKeys, entries: { keys: pack(keys), values: pack(values), tags: Uint8Array.from(tags) } };
}

function indexWith(previous: Uint8Array | null, keys: readonly Uint8Array[]): PackedBytes {
  return pack([previous ?? new Uint8Array(0), ...keys]);
}

function assertSame(actual: BlockEntries, expected: BlockEntries, context: string): void {
  assert.deepEqual(unpack(actual.keys), unpack(expected.keys), context);
  assert.deepEqual(unpack(actual.values), unpack(expected.values), context);
  assert.deepEqual(Array.from(actual.tags), Array.from(expected.tags), context);
}

describe('decodeDataBlocks: a run of table data blocks checked and decoded in one call', () => {
  it(`${accel.kind} and the TypeScript twin return every entry of the run, identically`, () => {
    for (let seed = 1; seed <= 12; seed++) {
      for (const compress of [false, true]) {
        const restartInterval = [1, 4, 16][seed % 3]!;
        const t = table(seed, 1 + (seed % 5), restartInterval, compress);
        for (const [name, a] of both) {
          assertSame(a.decodeDataBlocks(t.run, t.spans, indexWith(null, t.indexKeys), false), t.entries, `${name} seed ${seed}`);
        }
        // A run that starts mid-table: the previous block's index key bounds its first key.
        if (t.indexKeys.length > 1) {
          const rest = t.spans.subarray(2);
          const expected = both.map(([, a]) => a.decodeDataBlocks(t.run, rest, indexWith(t.indexKeys[0]!, t.indexKeys.slice(1)), true));
          assertSame(expected[0]!, expected[1]!, `seed ${seed} from block 1`);
        }
      }
    }
  });

  it('reports any flipped bit of the run as CORRUPTION', () => {
    const t = table(7, 3, 4, false);
    const index = indexWith(null, t.indexKeys);
    for (let at = 0; at < t.run.length; at += 3) {
      const bad = t.run.slice();
      bad[at] = bad[at]! ^ (1 << (at % 8));
      for (const [name, a] of both) throwsCode(() => a.decodeDataBlocks(bad, t.spans, index, false), 'CORRUPTION', `${name} byte ${at}`);
    }
  });

  it('holds blocks to their index keys: the previous one below the first key, its own equal to the last', () => {
    const t = table(3, 3, 16, false);
    assert.equal(t.indexKeys.length, 3);
    const [first, second, third] = t.indexKeys as [Uint8Array, Uint8Array, Uint8Array];
    for (const [name, a] of both) {
      // The run's first key is not after the previous block's index key.
      throwsCode(() => a.decodeDataBlocks(t.run, t.spans.subarray(2), indexWith(third, [second, third]), true), 'CORRUPTION', `${name} previous`);
      // A block whose last key is not its index key.
      throwsCode(() => a.decodeDataBlocks(t.run, t.spans, indexWith(null, [second, second, third]), false), 'CORRUPTION', `${name} index key`);
      // Blocks read in the wrong order.
      const swapped = Uint32Array.from([t.spans[2]!, t.spans[3]!, t.spans[0]!, t.spans[1]!]);
      throwsCode(() => a.decodeDataBlocks(t.run, swapped, indexWith(null, [second, first]), false), 'CORRUPTION', `${name} order`);
      // With the true neighbours it decodes.
      assert.equal(a.decodeDataBlocks(t.run, t.spans.subarray(2), indexWith(first, [second, third]), true).tags.length > 0, true);
    }
  });

  it('rejects engine-level damage behind a valid checksum', () => {
    const k = (user: string, seq: number): number[] => [...internalKey(user, seq)];
    // shared, unshared, value length, tag, key suffix, value
    const entry = (key: number[], tag: number, value: number[] = [], shared = 0): number[] => [shared, key.length - shared, value.length, tag, ...key.slice(shared), ...value];
    const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
    const payload = (bytes: number[], restarts: number[] = [0]): Uint8Array => Uint8Array.from([...bytes, ...restarts.flatMap(u32), ...u32(restarts.length)]);
    const cases: [string, Uint8Array, Uint8Array][] = [
      ['unknown kind', payload(entry(k('a', 1), 3, [1])), internalKey('a', 1)],
      ['tombstone with a value', payload(entry(k('a', 1), 0, [1])), internalKey('a', 1)],
      ['keys out of order', payload([...entry(k('b', 1), 1, [1]), ...entry(k('a', 1), 1, [2])]), internalKey('a', 1)],
      ['same key twice', payload([...entry(k('a', 1), 1, [1]), ...entry(k('a', 1), 1, [2])]), internalKey('a', 1)],
      ['key shorter than a trailer', payload(entry([1, 2, 3], 1, [1])), Uint8Array.from([1, 2, 3])],
      ['varint over 32 bits', payload([0xff, 0xff, 0xff, 0xff, 0x1f, 9, 0, 1, ...k('a', 1)]), internalKey('a', 1)],
      ['restart inside an entry', payload([...entry(k('a', 2), 1, [1]), ...entry(k('a', 1), 1, [2], 1)], [0, 3]), internalKey('a', 1)],
      ['restart with a shared prefix', payload([...entry(k('a', 2), 1, [1]), ...entry(k('a', 1), 1, [2], 1)], [0, 14]), internalKey('a', 1)],
      ['no restart', payload(entry(k('a', 1), 1, [1]), []), internalKey('a', 1)],
    ];
    for (const [what, body, indexKey] of cases) {
      const block = blockFromPayload(body);
      for (const [name, a] of both) {
        throwsCode(() => a.decodeDataBlocks(block, Uint32Array.from([0, block.length]), indexWith(null, [indexKey]), false), 'CORRUPTION', `${name}: ${what}`);
      }
    }
    // The well-formed two-entry block the damaged ones are made from decodes.
    const good = blockFromPayload(payload([...entry(k('a', 2), 1, [1]), ...entry(k('a', 1), 2, [2], 1)], [0]));
    for (const [, a] of both) assert.equal(a.decodeDataBlocks(good, Uint32Array.from([0, good.length]), indexWith(null, [internalKey('a', 1)]), false).tags.length, 2);
  });

  it('rejects malformed arguments as INVALID_ARGUMENT', () => {
    const t = table(5, 2, 16, false);
    const index = indexWith(null, t.indexKeys);
    for (const [name, a] of both) {
      throwsCode(() => a.decodeDataBlocks(t.run, t.spans.subarray(1), index, false), 'INVALID_ARGUMENT', `${name} odd spans`);
      throwsCode(() => a.decodeDataBlocks(t.run, Uint32Array.from([0, t.run.length + 1, 0, 1]), index, false), 'INVALID_ARGUMENT', `${name} past the run`);
      throwsCode(() => a.decodeDataBlocks(t.run, t.spans.subarray(0, 2), index, false), 'INVALID_ARGUMENT', `${name} index key count`);
      throwsCode(() => a.decodeDataBlocks(t.run, [0, 1] as unknown as Uint32Array, index, false), 'INVALID_ARGUMENT', `${name} spans type`);
    }
  });
});

describe('checkDataBlocks: the checks of decodeDataBlocks without its output', () => {
  /** Each block's entry count, by decoding the blocks one at a time. */
  function countsByDecoding(t: Table): number[] {
    return t.indexKeys.map((key, b) => accel.decodeDataBlocks(t.run, t.spans.subarray(2 * b, 2 * b + 2), indexWith(b === 0 ? null : t.indexKeys[b - 1]!, [key]), b > 0).tags.length);
  }

  it(`${accel.kind} and the TypeScript twin count every block's entries`, () => {
    for (let seed = 1; seed <= 12; seed++) {
      for (const compress of [false, true]) {
        const t = table(seed, 1 + (seed % 5), [1, 4, 16][seed % 3]!, compress);
        const expected = countsByDecoding(t);
        for (const [name, a] of both) {
          const counts = new Uint32Array(expected.length + 1).fill(7);
          a.checkDataBlocks(t.run, t.spans, indexWith(null, t.indexKeys), false, counts);
          assert.deepEqual(Array.from(counts), [...expected, 7], `${name} seed ${seed}`);
          if (expected.length > 1) {
            const rest = new Uint32Array(expected.length - 1);
            a.checkDataBlocks(t.run, t.spans.subarray(2), indexWith(t.indexKeys[0]!, t.indexKeys.slice(1)), true, rest);
            assert.deepEqual(Array.from(rest), expected.slice(1), `${name} seed ${seed} from block 1`);
          }
        }
      }
    }
  });

  it('refuses what decodeDataBlocks refuses, with the same error', () => {
    for (const compress of [false, true]) {
      const t = table(7, 3, 4, compress);
      const index = indexWith(null, t.indexKeys);
      for (let at = 0; at < t.run.length; at += 2) {
        const bad = t.run.slice();
        bad[at] = bad[at]! ^ (1 << (at % 8));
        for (const [name, a] of both) {
          const decoded = (() => {
            try {
              a.decodeDataBlocks(bad, t.spans, index, false);
              return null;
            } catch (error) {
              return error as Error & { code?: string };
            }
          })();
          assert.ok(decoded !== null, `${name} byte ${at}: decoding accepted a flipped bit`);
          assert.throws(() => a.checkDataBlocks(bad, t.spans, index, false, new Uint32Array(3)), (error: Error & { code?: string }) => error.code === decoded.code && error.message === decoded.message, `${name} byte ${at}`);
        }
      }
    }
    const t = table(3, 3, 16, false);
    const [first, second, third] = t.indexKeys as [Uint8Array, Uint8Array, Uint8Array];
    for (const [name, a] of both) {
      throwsCode(() => a.checkDataBlocks(t.run, t.spans.subarray(2), indexWith(third, [second, third]), true, new Uint32Array(2)), 'CORRUPTION', `${name} previous`);
      throwsCode(() => a.checkDataBlocks(t.run, t.spans, indexWith(null, [second, second, third]), false, new Uint32Array(3)), 'CORRUPTION', `${name} index key`);
      a.checkDataBlocks(t.run, t.spans.subarray(2), indexWith(first, [second, third]), true, new Uint32Array(2));
    }
  });

  it('needs a Uint32Array with room for every block', () => {
    const t = table(5, 3, 4, false);
    const index = indexWith(null, t.indexKeys);
    for (const [name, a] of both) {
      throwsCode(() => a.checkDataBlocks(t.run, t.spans, index, false, new Uint32Array(2)), 'INVALID_ARGUMENT', `${name} short counts`);
      throwsCode(() => a.checkDataBlocks(t.run, t.spans, index, false, new Uint8Array(12) as unknown as Uint32Array), 'INVALID_ARGUMENT', `${name} not a Uint32Array`);
      throwsCode(() => a.checkDataBlocks(t.run, t.spans.subarray(1), index, false, new Uint32Array(3)), 'INVALID_ARGUMENT', `${name} odd spans`);
    }
  });
});
