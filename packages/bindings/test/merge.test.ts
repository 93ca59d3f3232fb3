import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, tsAccelerator, type Accelerator, type MergeResult } from '../src/index.js';
import { enc, pack, rng, throwsCode } from './helpers.js';

function pairs(result: MergeResult): string[] {
  assert.equal(result.run.length, result.index.length);
  return Array.from(result.run, (run, j) => `${run}:${result.index[j]!}`);
}

/** Reference merge: for each distinct key in byte order, the entry of the lowest-numbered run. */
function referenceMerge(runs: readonly Uint8Array[][]): string[] {
  const all: Array<{ key: Uint8Array; run: number; index: number }> = [];
  runs.forEach((run, r) => run.forEach((key, index) => all.push({ key, run: r, index })));
  all.sort((a, b) => Buffer.compare(a.key, b.key) || a.run - b.run);
  const out: string[] = [];
  all.forEach((entry, j) => {
    if (j > 0 && Buffer.compare(all[j - 1]!.key, entry.key) === 0) return;
    out.push(`${entry.run}:${entry.index}`);
  });
  return out;
}

/** The internal-key order: the first `length − t` bytes, then the last `t` bytes. */
function compareSplit(a: Uint8Array, b: Uint8Array, t: number): number {
  return (
    Buffer.compare(a.subarray(0, a.length - t), b.subarray(0, b.length - t)) ||
    Buffer.compare(a.subarray(a.length - t), b.subarray(b.length - t))
  );
}

/** `referenceMerge` under the split comparison (duplicates are equal bytes). */
function referenceSplitMerge(runs: readonly Uint8Array[][], t: number): string[] {
  const all: Array<{ key: Uint8Array; run: number; index: number }> = [];
  runs.forEach((run, r) => run.forEach((key, index) => all.push({ key, run: r, index })));
  all.sort((a, b) => compareSplit(a.key, b.key, t) || a.run - b.run);
  const out: string[] = [];
  all.forEach((entry, j) => {
    if (j > 0 && Buffer.compare(all[j - 1]!.key, entry.key) === 0) return;
    out.push(`${entry.run}:${entry.index}`);
  });
  return out;
}

/** An internal key: `user ‖ trailer` with an 8-byte big-endian trailer. */
function internal(user: string, trailer: bigint): Uint8Array {
  const bytes = enc.encode(user);
  const out = new Uint8Array(bytes.length + 8);
  out.set(bytes);
  new DataView(out.buffer).setBigUint64(bytes.length, trailer);
  return out;
}

function checkSplitMerge(runs: Uint8Array[][], t: number, context: string): void {
  const packed = runs.map((run) => pack(run));
  const expected = referenceSplitMerge(runs, t);
  assert.deepEqual(pairs(accel.mergeRuns(packed, { trailerBytes: t })), expected, context);
  assert.deepEqual(pairs(tsAccelerator.mergeRuns(packed, { trailerBytes: t })), expected, `${context}: ts`);
}

function sortedUnique(keys: Uint8Array[]): Uint8Array[] {
  const sorted = [...keys].sort(Buffer.compare);
  return sorted.filter((key, i) => i === 0 || Buffer.compare(sorted[i - 1]!, key) !== 0);
}

describe(`mergeRuns (${accel.kind})`, () => {
  it('lets the newest (lowest-numbered) run win ties', () => {
    const newer = pack(['a', 'c']);
    const older = pack(['a', 'b', 'c', 'd']);
    assert.deepEqual(pairs(accel.mergeRuns([newer, older])), ['0:0', '1:1', '0:1', '1:3']);
    assert.deepEqual(pairs(accel.mergeRuns([older, newer])), ['0:0', '0:1', '0:2', '0:3']);
    const three = [pack(['m']), pack(['a', 'm', 'z']), pack(['m', 'z'])];
    assert.deepEqual(pairs(accel.mergeRuns(three)), ['1:0', '0:0', '1:2']);
  });

  it('handles no runs, empty runs and a single run', () => {
    assert.deepEqual(pairs(accel.mergeRuns([])), []);
    assert.deepEqual(pairs(accel.mergeRuns([pack([]), pack([])])), []);
    assert.deepEqual(pairs(accel.mergeRuns([pack([]), pack(['a', 'b']), pack([])])), ['1:0', '1:1']);
    assert.deepEqual(pairs(accel.mergeRuns([pack(['', 'a', 'b'])])), ['0:0', '0:1', '0:2']);
  });

  it('orders by unsigned bytes, including empty keys and non-ASCII text', () => {
    const runs = [pack(['', '\uFF61', '\u{1F600}']), pack(['', 'z', '\u{1F600}'])];
    assert.deepEqual(pairs(accel.mergeRuns(runs)), ['0:0', '1:1', '0:1', '0:2']);
    const bytes = [pack([Uint8Array.of(0x7f), Uint8Array.of(0x80)]), pack([Uint8Array.of(0x00), Uint8Array.of(0xff)])];
    assert.deepEqual(pairs(accel.mergeRuns(bytes)), ['1:0', '0:0', '0:1', '1:1']);
  });

  it('matches a reference merge on random overlapping runs', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const next = rng(seed);
      const runCount = 1 + (seed % 9);
      const runs = Array.from({ length: runCount }, () => {
        const size = next() % 60;
        return sortedUnique(
          Array.from({ length: size }, () => enc.encode(`k${next() % 80}${next() % 3 === 0 ? '/x' : ''}`)),
        );
      });
      assert.deepEqual(pairs(accel.mergeRuns(runs.map((run) => pack(run)))), referenceMerge(runs), `seed ${seed}`);
    }
  });

  it('rejects a run that is not strictly ascending with INVALID_ARGUMENT', () => {
    throwsCode(() => accel.mergeRuns([pack(['b', 'a'])]), 'INVALID_ARGUMENT', 'descending');
    throwsCode(() => accel.mergeRuns([pack(['a', 'a'])]), 'INVALID_ARGUMENT', 'duplicate');
    throwsCode(() => accel.mergeRuns([pack(['a', 'b']), pack(['a', 'c', 'b'])]), 'INVALID_ARGUMENT', 'second run');
    throwsCode(() => accel.mergeRuns([pack(['\u{1F600}', '\uFF61'])]), 'INVALID_ARGUMENT', 'JS order, not byte order');
    throwsCode(() => accel.mergeRuns([pack(['a', ''])]), 'INVALID_ARGUMENT', 'empty key last');
    const late = Array.from({ length: 500 }, (_, i) => `key-${String(i).padStart(4, '0')}`);
    late.push('key-0000');
    throwsCode(() => accel.mergeRuns([pack(['a']), pack(late)]), 'INVALID_ARGUMENT', 'unsorted at the end');
  });

  it('rejects malformed arguments with INVALID_ARGUMENT', () => {
    const merge = accel.mergeRuns as (runs: unknown) => MergeResult;
    throwsCode(() => merge(undefined), 'INVALID_ARGUMENT', 'undefined');
    throwsCode(() => merge(pack(['a'])), 'INVALID_ARGUMENT', 'a single batch, not an array');
    throwsCode(() => merge([pack(['a']), null]), 'INVALID_ARGUMENT', 'null run');
    throwsCode(
      () => merge([{ data: new Uint8Array(1), offsets: Uint32Array.of(0, 2) }]),
      'INVALID_ARGUMENT',
      'offsets past the data',
    );
  });

  describe('with trailerBytes', () => {
    const max = 0xffff_ffff_ffff_ffffn;

    it('orders by user part, then trailer, newest run first', () => {
      // In plain byte order "a" ‖ ff… comes after "a\0" ‖ 00… and "ab" ‖ 00…; here it is first.
      const newer = [internal('a', max), internal('a\0', 0n), internal('ab', 3n)];
      const older = [internal('a', 1n), internal('a', max), internal('a\0', 0n), internal('ab', 0n), internal('ab', 3n)];
      const runs = [pack(newer), pack(older)];
      assert.deepEqual(pairs(accel.mergeRuns(runs, { trailerBytes: 8 })), ['1:0', '0:0', '0:1', '1:3', '0:2']);
      checkSplitMerge([newer, older], 8, 'prefix user keys');
      // The same runs are not ascending in plain byte order.
      throwsCode(() => accel.mergeRuns(runs), 'INVALID_ARGUMENT', 'plain order');
      throwsCode(() => accel.mergeRuns(runs, { trailerBytes: 0 }), 'INVALID_ARGUMENT', 'trailerBytes 0');
    });

    it('matches a reference merge and the TypeScript accelerator on random runs', () => {
      for (let seed = 1; seed <= 60; seed++) {
        const next = rng(seed);
        const t = [1, 2, 8, 9][seed % 4]!;
        const trailerAlphabet = [0, 0x80, 0xff].slice(0, 1 + (next() % 3));
        const runCount = 1 + (seed % 9);
        const runs = Array.from({ length: runCount }, () => {
          const size = next() % (seed % 5 === 0 ? 2000 : 60);
          const keys = Array.from({ length: size }, () => {
            const user = enc.encode(['', 'a', 'a\0', 'ab', `k${next() % 50}`, `k${next() % 5}\0`][next() % 6]!);
            const trailer = Array.from({ length: t }, () => trailerAlphabet[next() % trailerAlphabet.length]!);
            return Uint8Array.from([...user, ...trailer]);
          });
          keys.sort((a, b) => compareSplit(a, b, t));
          return keys.filter((key, i) => i === 0 || Buffer.compare(keys[i - 1]!, key) !== 0);
        });
        checkSplitMerge(runs, t, `seed ${seed} trailer ${t}`);
      }
    });

    it('rejects runs that are not strictly ascending, and short keys, with INVALID_ARGUMENT', () => {
      for (const a of [accel, tsAccelerator]) {
        const merge = (runs: Uint8Array[][]): MergeResult => a.mergeRuns(runs.map((run) => pack(run)), { trailerBytes: 8 });
        throwsCode(() => merge([[internal('a', 2n), internal('a', 1n)]]), 'INVALID_ARGUMENT', `${a.kind} descending`);
        throwsCode(() => merge([[internal('a', 2n), internal('a', 2n)]]), 'INVALID_ARGUMENT', `${a.kind} duplicate`);
        throwsCode(() => merge([[internal('a\0', 0n), internal('a', 1n)]]), 'INVALID_ARGUMENT', `${a.kind} byte order`);
        throwsCode(() => merge([[internal('a', 1n)], [internal('b', 1n), Uint8Array.of(1)]]), 'INVALID_ARGUMENT', `${a.kind} short`);
        assert.deepEqual(pairs(merge([[internal('a', 1n)], [internal('a', 1n)]])), ['0:0'], a.kind);
      }
    });

    it('rejects invalid options with INVALID_ARGUMENT in both accelerators', () => {
      checkInvalidOptions((a, options) => a.mergeRuns([pack(['abcdefgh'])], options as never));
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
