/**
 * OffsetList: a segment's record offsets, given one by one or as a batch's payload spans (worked
 * out at once for a small batch, only when read for a large one). Every mix of the two, truncations included, must give the offsets the
 * records really have.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetList } from '../src/log/offset-list.js';

/** Spans of `lengths` framed one after another from `from` in a buffer: (payload start, end) pairs. */
function spansOf(lengths: readonly number[], from: number): { spans: Uint32Array; starts: number[]; end: number } {
  const spans = new Uint32Array(2 * lengths.length);
  const starts: number[] = [];
  let at = from;
  lengths.forEach((length, k) => {
    starts.push(at);
    spans[2 * k] = at + 12;
    spans[2 * k + 1] = at + 12 + length;
    at += 12 + length;
  });
  return { spans, starts, end: at };
}

describe('OffsetList', () => {
  test('batches of spans, single offsets and truncations give the true record offsets', () => {
    let seed = 99;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const list = new OffsetList([20, 45]);
    const expected = [20, 45];
    let fileEnd = 70;
    for (let step = 0; step < 300; step++) {
      const action = next(10);
      if (action < 6) {
        // A batch written at file offset `fileEnd`, its buffer holding `lead` bytes before the first record.
        const lead = next(3) === 0 ? 20 : 0;
        // Small batches are worked out at once, batches of 64 records or more only when read.
        const lengths = Array.from({ length: next(2) === 0 ? 64 + next(100) : next(64) }, () => next(300));
        const { spans, starts, end } = spansOf(lengths, lead);
        // Part of a larger spans array, as the writer's is: only [from, to) belong to the batch.
        const padded = new Uint32Array(spans.length + 6).fill(0xdead);
        padded.set(spans, 2);
        list.pushSpans(padded, 1, 1 + lengths.length, fileEnd - lead);
        padded.fill(0); // the writer reuses its array at once
        expected.push(...starts.map((s) => s - lead + fileEnd));
        fileEnd += end - lead;
      } else if (action < 8) {
        list.push(fileEnd);
        expected.push(fileEnd);
        fileEnd += 12 + next(50);
      } else if (action === 8 && expected.length > 0) {
        const keep = next(expected.length + 1);
        list.truncate(keep);
        if (keep < expected.length) fileEnd = expected[keep]!;
        expected.length = keep;
      } else if (expected.length > 0) {
        const position = next(expected.length);
        assert.equal(list.at(position), expected[position], `step ${step}, position ${position}`);
      }
      assert.equal(list.length, expected.length, `step ${step}`);
    }
    for (let i = 0; i < expected.length; i++) assert.equal(list.at(i), expected[i], `position ${i}`);
  });

  test('truncating past the end keeps everything', () => {
    const list = new OffsetList();
    list.pushSpans(Uint32Array.of(12, 20, 32, 40), 0, 2, 100);
    list.truncate(5);
    assert.equal(list.length, 2);
    assert.deepEqual([list.at(0), list.at(1)], [100, 120]);
  });
});
