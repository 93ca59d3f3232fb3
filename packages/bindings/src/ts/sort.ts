/**
 * Stable key sort by unsigned bytes. Radix passes read each key byte about once instead of the
 * ~log2(n) full comparisons of a comparison sort, and counting-sort scatters are stable, so equal
 * keys keep their input order.
 *
 * Work is a stack of tasks "order perm[lo, hi), whose keys agree on their first `depth` bytes",
 * each handled by the cheapest method for its size:
 * - large groups: an LSD radix sort on a 3-byte chunk plus a length class (`chunkSort`), which
 *   settles most keys in two sequential passes whatever their byte distribution;
 * - medium groups: an MSD counting sort on one byte (`byteSort`), 257 buckets;
 * - small groups: insertion sort.
 *
 * Keys are read as `data[starts[i], ends[i])`. For a plain sort these are the batch's offsets (`ends`
 * is `offsets` one item on); with a trailer of `t` bytes, `ends` stops `t` bytes early, so the sort
 * orders the user parts, and each run of equal user parts (still in input order) is then sorted
 * stably on its trailers.
 */
import type { PackedBytes } from '../accelerator.js';
import { compareRanges } from './bytes.js';

const INSERTION_LIMIT = 24;
/** Below this size the two 8K-entry histograms of a chunk pass cost more than they save. */
const CHUNK_MIN = 4096;
const CHUNK_BYTES = 3;
const HALF_BITS = 13;
const HALF_SIZE = 1 << HALF_BITS;
const HALF_MASK = HALF_SIZE - 1;
const BYTE_BUCKETS = 257;

/** Compare keys `a` and `b` knowing their first `depth` bytes are equal. */
function compareFrom(
  data: Uint8Array,
  starts: Uint32Array,
  ends: Uint32Array,
  a: number,
  b: number,
  depth: number,
): number {
  const aStart = starts[a]!;
  const aLength = ends[a]! - aStart;
  const bStart = starts[b]!;
  const bLength = ends[b]! - bStart;
  const common = aLength < bLength ? aLength : bLength;
  for (let i = depth; i < common; i++) {
    const x = data[aStart + i]!;
    const y = data[bStart + i]!;
    if (x !== y) return x - y;
  }
  return aLength - bLength;
}

class KeySorter {
  readonly perm: Uint32Array;
  readonly #data: Uint8Array;
  readonly #starts: Uint32Array;
  readonly #ends: Uint32Array;
  readonly #permScratch: Uint32Array;
  /** Per-position radix digits (byte sort) or chunk values (chunk sort) of the current task. */
  readonly #values: Uint32Array;
  readonly #valueScratch: Uint32Array;
  readonly #byteCounts = new Int32Array(BYTE_BUCKETS);
  readonly #lowCounts = new Int32Array(HALF_SIZE);
  readonly #highCounts = new Int32Array(HALF_SIZE);
  /** Pending tasks as (lo, hi, depth) triples. A stack, not recursion: keys sharing a long prefix
   * would otherwise nest once per shared byte and could exhaust the JS stack. */
  readonly #tasks: number[] = [];

  constructor(data: Uint8Array, starts: Uint32Array, ends: Uint32Array, n: number) {
    this.#data = data;
    this.#starts = starts;
    this.#ends = ends;
    this.perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.perm[i] = i;
    this.#permScratch = new Uint32Array(n);
    this.#values = new Uint32Array(n);
    this.#valueScratch = n >= CHUNK_MIN ? new Uint32Array(n) : this.#values;
  }

  run(): Uint32Array {
    const tasks = this.#tasks;
    tasks.push(0, this.perm.length, 0);
    while (tasks.length > 0) {
      const depth = tasks.pop()!;
      const hi = tasks.pop()!;
      const lo = tasks.pop()!;
      const size = hi - lo;
      if (size <= INSERTION_LIMIT) this.#insertionSort(lo, hi, depth);
      else if (size < CHUNK_MIN) this.#byteSort(lo, hi, depth);
      else this.#chunkSort(lo, hi, depth);
    }
    return this.perm;
  }

  #insertionSort(lo: number, hi: number, depth: number): void {
    const perm = this.perm;
    const data = this.#data;
    const starts = this.#starts;
    const ends = this.#ends;
    for (let j = lo + 1; j < hi; j++) {
      const item = perm[j]!;
      let i = j - 1;
      // Strictly greater only: an equal key never moves past an earlier one.
      while (i >= lo && compareFrom(data, starts, ends, perm[i]!, item, depth) > 0) {
        perm[i + 1] = perm[i]!;
        i--;
      }
      perm[i + 1] = item;
    }
  }

  /** Counting sort on byte `depth` (0 = key ended there), queuing each bucket one byte deeper. */
  #byteSort(lo: number, hi: number, depth: number): void {
    const perm = this.perm;
    const data = this.#data;
    const starts = this.#starts;
    const ends = this.#ends;
    const digits = this.#values;
    const counts = this.#byteCounts;
    counts.fill(0);
    for (let j = lo; j < hi; j++) {
      const key = perm[j]!;
      const start = starts[key]!;
      const digit = depth < ends[key]! - start ? data[start + depth]! + 1 : 0;
      digits[j] = digit;
      counts[digit]!++;
    }
    const first = digits[lo]!;
    if (counts[first] === hi - lo) {
      // One bucket: no reordering; keys that all ended are equal and already in input order.
      if (first !== 0) this.#tasks.push(lo, hi, depth + 1);
      return;
    }
    let sum = 0;
    for (let d = 0; d < BYTE_BUCKETS; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    const scratch = this.#permScratch;
    for (let j = lo; j < hi; j++) scratch[lo + counts[digits[j]!]!++] = perm[j]!;
    perm.set(scratch.subarray(lo, hi), lo);
    // counts[d] is now the end of bucket d.
    let bucketStart = counts[0]!;
    for (let d = 1; d < BYTE_BUCKETS; d++) {
      const bucketEnd = counts[d]!;
      if (bucketEnd - bucketStart > 1) this.#tasks.push(lo + bucketStart, lo + bucketEnd, depth + 1);
      bucketStart = bucketEnd;
    }
  }

  /**
   * Stable LSD radix sort on value = (bytes [depth, depth + 3), zero-padded) × 4 + min(bytes left, 3),
   * 13 bits per pass. Equal padded bytes with fewer real ones means a proper prefix, hence smaller,
   * which is what the length class encodes; keys tied with class 3 continue 3 bytes deeper, and keys
   * tied with a smaller class are identical.
   */
  #chunkSort(lo: number, hi: number, depth: number): void {
    const perm = this.perm;
    const data = this.#data;
    const starts = this.#starts;
    const ends = this.#ends;
    const low = this.#lowCounts;
    const high = this.#highCounts;
    low.fill(0);
    high.fill(0);
    let values = this.#values;
    for (let j = lo; j < hi; j++) {
      const key = perm[j]!;
      const start = starts[key]! + depth;
      const left = ends[key]! - start;
      let v: number;
      if (left >= CHUNK_BYTES) {
        v = (((data[start]! << 16) | (data[start + 1]! << 8) | data[start + 2]!) << 2) | 3;
      } else {
        v = 0;
        for (let b = 0; b < CHUNK_BYTES; b++) v = (v << 8) | (b < left ? data[start + b]! : 0);
        v = (v << 2) | (left > 0 ? left : 0);
      }
      values[j] = v;
      low[v & HALF_MASK]!++;
      high[v >>> HALF_BITS]!++;
    }

    let source = perm;
    let target = this.#permScratch;
    let valueTarget = this.#valueScratch;
    for (let pass = 0; pass < 2; pass++) {
      const counts = pass === 0 ? low : high;
      const shift = pass === 0 ? 0 : HALF_BITS;
      // Skip a pass whose digit is the same for every key: it would only copy.
      if (counts[(values[lo]! >>> shift) & HALF_MASK] === hi - lo) continue;
      let sum = lo;
      for (let d = 0; d < HALF_SIZE; d++) {
        const c = counts[d]!;
        counts[d] = sum;
        sum += c;
      }
      for (let j = lo; j < hi; j++) {
        const v = values[j]!;
        const at = counts[(v >>> shift) & HALF_MASK]!++;
        target[at] = source[j]!;
        valueTarget[at] = v;
      }
      const swapPerm = source;
      source = target;
      target = swapPerm;
      const swapValues = values;
      values = valueTarget;
      valueTarget = swapValues;
    }
    if (source !== perm) perm.set(source.subarray(lo, hi), lo);

    let runStart = lo;
    for (let j = lo + 1; j <= hi; j++) {
      if (j < hi && values[j] === values[runStart]) continue;
      if (j - runStart > 1 && (values[runStart]! & 3) === 3) this.#tasks.push(runStart, j, depth + CHUNK_BYTES);
      runStart = j;
    }
  }
}

/** Permutation `p` such that keys `p[0], p[1], …` are in ascending byte order, ties in input order. */
export function sortKeys(keys: PackedBytes): Uint32Array {
  const { data, offsets } = keys;
  const n = offsets.length - 1;
  return new KeySorter(data, offsets, offsets.subarray(1), n).run();
}

/**
 * Permutation ordering keys by their first `length − trailerBytes` bytes (shorter prefix first),
 * then by their last `trailerBytes` bytes, ties in input order. Every key must hold the trailer
 * (checked by the caller). `trailerBytes = 0` is `sortKeys`.
 */
export function sortKeysWithTrailer(keys: PackedBytes, trailerBytes: number): Uint32Array {
  if (trailerBytes === 0) return sortKeys(keys);
  const { data, offsets } = keys;
  const n = offsets.length - 1;
  const userEnds = new Uint32Array(n);
  for (let i = 0; i < n; i++) userEnds[i] = offsets[i + 1]! - trailerBytes;
  const perm = new KeySorter(data, offsets, userEnds, n).run();
  // Runs of equal user parts are in input order: sort each on its trailers, stably.
  const byTrailer = (a: number, b: number): number =>
    compareRanges(data, userEnds[a]!, userEnds[a]! + trailerBytes, data, userEnds[b]!, userEnds[b]! + trailerBytes) ||
    a - b;
  let i = 0;
  while (i < n) {
    const first = perm[i]!;
    const start = offsets[first]!;
    const end = userEnds[first]!;
    let j = i + 1;
    while (j < n) {
      const other = perm[j]!;
      if (compareRanges(data, start, end, data, offsets[other]!, userEnds[other]!) !== 0) break;
      j++;
    }
    if (j - i > 1) perm.subarray(i, j).sort(byTrailer);
    i = j;
  }
  return perm;
}
