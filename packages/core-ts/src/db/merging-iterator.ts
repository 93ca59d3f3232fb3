/**
 * A merging iterator: several sorted sources (memtable and table cursors, all in internal-key
 * order, or all in reverse) merged with a binary heap into one stream of user keys, each shown at
 * its newest version visible at a snapshot seq, tombstones hiding the key. Sequence numbers are
 * unique across sources, so the merge order is total.
 */
import { compareBytes, Kind } from '../keys/internal-key.js';
import { copyBytes, copyValue } from '../table/bytes.js';

/**
 * A sorted cursor: what `MemtableIterator` and `TableIterator` both are. Besides views of the
 * current entry, a source exposes where its bytes already are (`keyBytes[userKeyStart,
 * userKeyEnd)`, `valueBytes[valueStart, valueEnd)`), so the merge compares and copies without
 * building a view per step. Those buffers are overwritten or let go of when the source moves.
 */
export interface MergeSource {
  readonly valid: boolean;
  readonly userKey: Uint8Array;
  readonly seq: number;
  readonly kind: Kind;
  readonly value: Uint8Array;
  readonly keyBytes: Uint8Array;
  readonly userKeyStart: number;
  readonly userKeyEnd: number;
  readonly valueBytes: Uint8Array;
  readonly valueStart: number;
  readonly valueEnd: number;
  seekToFirst(): boolean;
  seek(userKey: Uint8Array): boolean;
  next(): boolean;
}

export class MergingIterator {
  private heap: MergeSource[] = [];
  private currentKey: Uint8Array | null = null;
  private currentValue: Uint8Array | null = null;
  /** PUT, or POINTER when the value is a value-log pointer the caller resolves. */
  private currentKind: Kind = Kind.Put;

  constructor(
    private readonly sources: readonly MergeSource[],
    private readonly reverse: boolean,
    private readonly snapshotSeq: number,
  ) {}

  get valid(): boolean {
    return this.currentKey !== null;
  }

  /** The current user key (a copy the caller may keep). */
  get key(): Uint8Array {
    return this.currentKey!;
  }

  /** The current value (a copy the caller may keep). */
  get value(): Uint8Array {
    return this.currentValue!;
  }

  /** The current entry's kind: PUT, or POINTER (its value is a value-log pointer). */
  get kind(): Kind {
    return this.currentKind;
  }

  seekToFirst(): boolean {
    this.heap = [];
    for (const source of this.sources) if (source.seekToFirst()) this.push(source);
    return this.findNext();
  }

  /** Forward: the first key ≥ `userKey`; reverse: the last key ≤ `userKey` (within the bounds). */
  seek(userKey: Uint8Array): boolean {
    this.heap = [];
    for (const source of this.sources) if (source.seek(userKey)) this.push(source);
    return this.findNext();
  }

  next(): boolean {
    return this.findNext();
  }

  /**
   * Take the next user key whose newest visible version is a value. Forward, a key's versions come
   * newest first, so the first visible one decides and only its value is copied; in reverse they
   * come oldest first and the last visible one wins.
   */
  private findNext(): boolean {
    const heap = this.heap;
    const snapshot = this.snapshotSeq;
    while (heap.length > 0) {
      let top = heap[0]!;
      const key = copyKey(top.keyBytes, top.userKeyStart, top.userKeyEnd);
      const keyLength = key.length;
      let bestSeq = -1;
      let bestKind = Kind.Delete;
      let bestValue: Uint8Array | null = null;
      for (;;) {
        const seq = top.seq;
        if (seq <= snapshot && seq > bestSeq) {
          bestSeq = seq;
          bestKind = top.kind;
          bestValue = bestKind === Kind.Delete ? null : copyValue(top.valueBytes, top.valueStart, top.valueEnd);
        }
        if (top.next()) this.siftDown(0);
        else this.popTop();
        if (heap.length === 0) break;
        top = heap[0]!;
        if (compareBytes(top.keyBytes, top.userKeyStart, top.userKeyEnd, key, 0, keyLength) !== 0) break;
      }
      if (bestSeq >= 0 && bestKind !== Kind.Delete) {
        this.currentKey = key;
        this.currentValue = bestValue;
        this.currentKind = bestKind;
        return true;
      }
    }
    this.currentKey = null;
    this.currentValue = null;
    return false;
  }

  /** Whether source `a` goes before source `b`. */
  private before(a: MergeSource, b: MergeSource): boolean {
    const order = compareBytes(a.keyBytes, a.userKeyStart, a.userKeyEnd, b.keyBytes, b.userKeyStart, b.userKeyEnd);
    if (order !== 0) return this.reverse ? order > 0 : order < 0;
    return this.reverse ? a.seq < b.seq : a.seq > b.seq;
  }

  private push(source: MergeSource): void {
    const heap = this.heap;
    heap.push(source);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private popTop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      let child = left;
      if (right < n && this.before(heap[right]!, heap[left]!)) child = right;
      if (!this.before(heap[child]!, heap[i]!)) return;
      [heap[i], heap[child]] = [heap[child]!, heap[i]!];
      i = child;
    }
  }
}

/** A copy of a user key (short: copied byte by byte, which beats building a view to copy from). */
function copyKey(bytes: Uint8Array, from: number, to: number): Uint8Array {
  const length = to - from;
  if (length > 64) return copyBytes(bytes, from, to);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = bytes[from + i]!;
  return out;
}
