import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, type MergeResult } from '../src/index.js';
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
});
