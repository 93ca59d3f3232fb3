/**
 * A merging iterator: several sorted sources (memtable and table cursors, all in internal-key
 * order, or all in reverse) merged with a binary heap into one stream of user keys, each shown at
 * its newest version visible at a snapshot seq, tombstones hiding the key. Sequence numbers are
 * unique across sources, so the merge order is total.
 */
import { compareUserKeys, Kind } from '../keys/internal-key.js';

/** A sorted cursor: what `MemtableIterator` and `TableIterator` both are. */
export interface MergeSource {
  readonly valid: boolean;
  readonly userKey: Uint8Array;
  readonly seq: number;
  readonly kind: Kind;
  readonly value: Uint8Array;
  seekToFirst(): boolean;
  seek(userKey: Uint8Array): boolean;
  next(): boolean;
}

export class MergingIterator {
  private heap: MergeSource[] = [];
  private currentKey: Uint8Array | null = null;
  private currentValue: Uint8Array | null = null;

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

  /** Take the next user key whose newest visible version is a value. */
  private findNext(): boolean {
    const heap = this.heap;
    const snapshot = this.snapshotSeq;
    while (heap.length > 0) {
      const key = heap[0]!.userKey.slice();
      let bestSeq = -1;
      let bestKind = Kind.Delete;
      let bestValue: Uint8Array | null = null;
      while (heap.length > 0) {
        const top = heap[0]!;
        if (compareUserKeys(top.userKey, key) !== 0) break;
        const seq = top.seq;
        if (seq <= snapshot && seq > bestSeq) {
          bestSeq = seq;
          bestKind = top.kind;
          bestValue = bestKind === Kind.Delete ? null : top.value.slice();
        }
        if (top.next()) this.siftDown(0);
        else this.popTop();
      }
      if (bestSeq >= 0 && bestKind !== Kind.Delete) {
        this.currentKey = key;
        this.currentValue = bestValue;
        return true;
      }
    }
    this.currentKey = null;
    this.currentValue = null;
    return false;
  }

  /** Whether source `a` goes before source `b`. */
  private before(a: MergeSource, b: MergeSource): boolean {
    const order = compareUserKeys(a.userKey, b.userKey);
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
