/**
 * K-way merge of sorted runs with a binary min-heap of run numbers. Heap order is (key, run), so of
 * several runs holding the same key the lowest-numbered (newest) one surfaces first and the others
 * are recognised as duplicates of the entry just emitted.
 *
 * With a trailer of `t` bytes, keys compare by all but their last `t` bytes (the user part), then by
 * those `t` bytes. Each head is then tracked by its user part (`headEnd` is where the user part
 * ends, the trailer follows it) and the prefix is the user part's, which orders keys the same way
 * whenever it differs; ties compare the user parts and then the trailers.
 */
import type { MergeResult, PackedBytes } from '../accelerator.js';
import { compareRanges } from './bytes.js';
import { invalidArgument } from './fail.js';

/**
 * The first 4 bytes of `data[start, end)`, zero-padded, as a big-endian number. Different prefixes
 * order keys exactly as their bytes do (a key that ends early pads with 0, which sorts no later than
 * any real byte), so most comparisons finish on one number; equal prefixes fall back to the bytes.
 */
function prefixOf(data: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length >= 4) {
    return ((data[start]! << 24) | (data[start + 1]! << 16) | (data[start + 2]! << 8) | data[start + 3]!) >>> 0;
  }
  let p = 0;
  for (let b = 0; b < 4; b++) p = p * 256 + (b < length ? data[start + b]! : 0);
  return p;
}

/**
 * Merge runs that are each strictly ascending; `trailerBytes` (every key at least that long, checked
 * by the caller) selects the user-part-then-trailer order, 0 plain byte order.
 */
export function mergeRuns(runs: readonly PackedBytes[], trailerBytes = 0): MergeResult {
  const trim = trailerBytes;
  const k = runs.length;
  const datas: Uint8Array[] = [];
  const offsetsOf: Uint32Array[] = [];
  const lengths = new Float64Array(k);
  let total = 0;
  for (let r = 0; r < k; r++) {
    const run = runs[r]!;
    datas.push(run.data);
    offsetsOf.push(run.offsets);
    lengths[r] = run.offsets.length - 1;
    total += run.offsets.length - 1;
  }
  const outRun = new Uint32Array(total);
  const outIndex = new Uint32Array(total);

  // The current (head) entry of each run: its position, byte range (less the trailer) and prefix.
  const position = new Float64Array(k);
  const headStart = new Float64Array(k);
  const headEnd = new Float64Array(k);
  const headPrefix = new Float64Array(k);
  const load = (r: number, i: number): void => {
    const offsets = offsetsOf[r]!;
    const start = offsets[i]!;
    const end = offsets[i + 1]! - trim;
    position[r] = i;
    headStart[r] = start;
    headEnd[r] = end;
    headPrefix[r] = prefixOf(datas[r]!, start, end);
  };

  /** The order of two keys given by their start and the end of their user parts. */
  const compareKeys = (a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number => {
    const c = compareRanges(a, aStart, aEnd, b, bStart, bEnd);
    if (c !== 0 || trim === 0) return c;
    return compareRanges(a, aEnd, aEnd + trim, b, bEnd, bEnd + trim);
  };

  /** Whether the head of run `a` sorts before the head of run `b` (ties: lower run first). */
  const before = (a: number, b: number): boolean => {
    const pa = headPrefix[a]!;
    const pb = headPrefix[b]!;
    if (pa !== pb) return pa < pb;
    const c = compareKeys(datas[a]!, headStart[a]!, headEnd[a]!, datas[b]!, headStart[b]!, headEnd[b]!);
    return c < 0 || (c === 0 && a < b);
  };

  const heap = new Int32Array(k);
  let heapSize = 0;
  const siftDown = (at: number): void => {
    const item = heap[at]!;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heapSize) break;
      const right = left + 1;
      const child = right < heapSize && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, item)) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = item;
  };
  for (let r = 0; r < k; r++) {
    if (lengths[r]! > 0) {
      load(r, 0);
      heap[heapSize++] = r;
    }
  }
  for (let at = (heapSize >> 1) - 1; at >= 0; at--) siftDown(at);

  let emitted = 0;
  let lastData: Uint8Array = new Uint8Array(0);
  let lastStart = 0;
  let lastEnd = 0;
  let lastPrefix = -1;
  while (heapSize > 0) {
    const r = heap[0]!;
    const i = position[r]!;
    const data = datas[r]!;
    const start = headStart[r]!;
    const end = headEnd[r]!;
    const prefix = headPrefix[r]!;
    if (prefix !== lastPrefix || compareKeys(lastData, lastStart, lastEnd, data, start, end) !== 0) {
      outRun[emitted] = r;
      outIndex[emitted] = i;
      emitted++;
      lastData = data;
      lastStart = start;
      lastEnd = end;
      lastPrefix = prefix;
    }
    const next = i + 1;
    if (next < lengths[r]!) {
      load(r, next);
      // Every adjacent pair of every run passes through here once, so this validates all input.
      const nextPrefix = headPrefix[r]!;
      if (
        nextPrefix < prefix ||
        (nextPrefix === prefix && compareKeys(data, start, end, data, headStart[r]!, headEnd[r]!) >= 0)
      ) {
        throw invalidArgument(`run ${r} is not strictly ascending at item ${next}`);
      }
    } else {
      heap[0] = heap[--heapSize]!;
    }
    if (heapSize > 0) siftDown(0);
  }
  if (emitted === total) return { run: outRun, index: outIndex };
  return { run: outRun.slice(0, emitted), index: outIndex.slice(0, emitted) };
}
