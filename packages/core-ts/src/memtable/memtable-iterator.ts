/**
 * A cursor over a memtable in internal-key order (user key ascending, newest version first), or the
 * exact reverse, within optional user-key bounds and at a snapshot seq. It merges the two sorted
 * runs of the view (sorted-view.ts) lazily: creating an iterator costs at most a sort of the small
 * unsorted tail, and stepping costs one key comparison.
 *
 * What it sees is fixed when it is created: entries added later are in neither run, and the
 * snapshot is capped at the memtable's newest seq at that moment.
 *
 * By default every version with seq ≤ snapshot is visited (what a flush or a merging iterator over
 * tables wants); `newestOnly` visits only the newest visible version of each key, tombstones
 * included (what a reader at a snapshot wants: the tombstone must still hide older tables).
 *
 * Accessors return views into the arena, never to be written to; `entry()` returns copies.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { encodeInternalKey, Kind, MAX_SEQ } from '../keys/internal-key.js';
import type { Memtable } from './memtable.js';

export interface MemtableIteratorOptions {
  /** See entries with seq ≤ this. Default: everything present when the iterator is created. */
  readonly snapshotSeq?: number;
  /** User-key bounds; at most one of `gt`/`gte` and one of `lt`/`lte`. */
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  /** Descending internal-key order: user keys descending, and within one, oldest version first. */
  readonly reverse?: boolean;
  /** Only the newest version of each key visible at the snapshot. Default `false`. */
  readonly newestOnly?: boolean;
}

/** One entry, copied out of the arena. */
export interface MemtableIteratorEntry {
  /** The internal key (user key ‖ trailer). */
  readonly key: Uint8Array;
  readonly userKey: Uint8Array;
  readonly seq: number;
  readonly kind: Kind;
  readonly value: Uint8Array;
}

function boundOption(value: unknown, name: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) throw siltError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a Uint8Array`);
  return value;
}

export class MemtableIterator implements Iterable<MemtableIteratorEntry> {
  readonly reverse: boolean;
  readonly snapshotSeq: number;
  readonly newestOnly: boolean;
  private readonly memtable: Memtable;
  private readonly view: Uint32Array;
  private readonly tail: Uint32Array;
  // Each run's bounded range [lo, hi).
  private readonly viewLo: number;
  private readonly viewHi: number;
  private readonly tailLo: number;
  private readonly tailHi: number;
  /** Next position to take from each run (moving up, or down when reverse). */
  private viewAt = 0;
  private tailAt = 0;
  private current = -1;
  /** The key id last visited in `newestOnly` mode, whose other versions are skipped. */
  private lastKeyId = -1;
  private positioned = false;

  constructor(memtable: Memtable, options: MemtableIteratorOptions) {
    if (options === null || typeof options !== 'object') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'options must be an object');
    const gt = boundOption(options.gt, 'gt');
    const gte = boundOption(options.gte, 'gte');
    const lt = boundOption(options.lt, 'lt');
    const lte = boundOption(options.lte, 'lte');
    if (gt !== undefined && gte !== undefined) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'give gt or gte, not both');
    if (lt !== undefined && lte !== undefined) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'give lt or lte, not both');
    const snapshotSeq = options.snapshotSeq ?? MAX_SEQ;
    if (typeof snapshotSeq !== 'number' || !Number.isInteger(snapshotSeq) || snapshotSeq < 0) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, `snapshotSeq must be a non-negative integer, got ${String(snapshotSeq)}`);
    }
    this.memtable = memtable;
    this.reverse = options.reverse === true;
    this.newestOnly = options.newestOnly === true;
    // Entries added after this moment have larger seqs, so the cap hides them from chain walks too.
    this.snapshotSeq = Math.min(snapshotSeq, memtable.maxSeq);
    const { view, tail } = memtable.sortedRuns();
    this.view = view;
    this.tail = tail;
    this.viewLo = this.lowerLimit(view, gt, gte);
    this.viewHi = Math.max(this.viewLo, this.upperLimit(view, lt, lte));
    this.tailLo = this.lowerLimit(tail, gt, gte);
    this.tailHi = Math.max(this.tailLo, this.upperLimit(tail, lt, lte));
  }

  get valid(): boolean {
    return this.current >= 0;
  }

  /** The current entry's user key (a view). */
  get userKey(): Uint8Array {
    return this.memtable.userKeyAt(this.at());
  }

  /** The arena chunk holding the current user key at `[userKeyStart, userKeyEnd)` (no view built). */
  get keyBytes(): Uint8Array {
    return this.memtable.chunkAt(this.at());
  }

  get userKeyStart(): number {
    return this.memtable.keyStartAt(this.at());
  }

  get userKeyEnd(): number {
    return this.memtable.keyEndAt(this.at());
  }

  /** The arena chunk holding the current value at `[valueStart, valueEnd)`. */
  get valueBytes(): Uint8Array {
    return this.memtable.chunkAt(this.at());
  }

  get valueStart(): number {
    return this.memtable.keyEndAt(this.at());
  }

  get valueEnd(): number {
    return this.memtable.valueEndAt(this.at());
  }

  /** The current entry's internal key (a fresh array). */
  get key(): Uint8Array {
    const entry = this.at();
    return encodeInternalKey(this.memtable.userKeyAt(entry), this.memtable.seqAt(entry));
  }

  get seq(): number {
    return this.memtable.seqAt(this.at());
  }

  get kind(): Kind {
    return this.memtable.kindAt(this.at());
  }

  /** The current entry's value (a view; empty for a tombstone). */
  get value(): Uint8Array {
    return this.memtable.valueAt(this.at());
  }

  entry(): MemtableIteratorEntry {
    const entry = this.at();
    const userKey = this.memtable.userKeyAt(entry).slice();
    const seq = this.memtable.seqAt(entry);
    return { key: encodeInternalKey(userKey, seq), userKey, seq, kind: this.memtable.kindAt(entry), value: this.memtable.valueAt(entry).slice() };
  }

  /** Position on the first entry in iteration order; returns `valid`. */
  seekToFirst(): boolean {
    this.positioned = true;
    if (this.reverse) {
      this.viewAt = this.viewHi - 1;
      this.tailAt = this.tailHi - 1;
    } else {
      this.viewAt = this.viewLo;
      this.tailAt = this.tailLo;
    }
    this.lastKeyId = -1;
    return this.advance();
  }

  /**
   * Position on the first entry whose user key is ≥ `userKey` (forward), or the first, in reverse
   * order, whose user key is ≤ `userKey` (reverse) — always within the bounds. Returns `valid`.
   */
  seek(userKey: Uint8Array): boolean {
    if (!(userKey instanceof Uint8Array)) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'seek key must be a Uint8Array');
    this.positioned = true;
    if (this.reverse) {
      this.viewAt = this.search(this.view, this.viewLo, this.viewHi, userKey, true) - 1;
      this.tailAt = this.search(this.tail, this.tailLo, this.tailHi, userKey, true) - 1;
    } else {
      this.viewAt = this.search(this.view, this.viewLo, this.viewHi, userKey, false);
      this.tailAt = this.search(this.tail, this.tailLo, this.tailHi, userKey, false);
    }
    this.lastKeyId = -1;
    return this.advance();
  }

  /** Move to the next entry; returns `valid`. */
  next(): boolean {
    if (!this.positioned) return this.seekToFirst();
    if (this.current < 0) return false;
    return this.advance();
  }

  *[Symbol.iterator](): Iterator<MemtableIteratorEntry> {
    for (let ok = this.positioned ? this.valid : this.seekToFirst(); ok; ok = this.next()) yield this.entry();
  }

  private at(): number {
    if (this.current < 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the iterator is not positioned on an entry');
    return this.current;
  }

  /** Take merged entries until one is visible. */
  private advance(): boolean {
    const memtable = this.memtable;
    const snapshot = this.snapshotSeq;
    for (;;) {
      const entry = this.reverse ? this.pullBackward() : this.pullForward();
      if (entry < 0) {
        this.current = -1;
        return false;
      }
      if (this.newestOnly) {
        const keyId = memtable.keyIdAt(entry);
        if (keyId === this.lastKeyId) continue;
        this.lastKeyId = keyId;
        // The chain runs newest to oldest, so its first entry at or below the snapshot is the one.
        let visible = memtable.newestEntryOf(keyId);
        while (visible >= 0 && memtable.seqAt(visible) > snapshot) visible = memtable.previousEntry(visible);
        if (visible < 0) continue;
        this.current = visible;
        return true;
      }
      if (memtable.seqAt(entry) > snapshot) continue;
      this.current = entry;
      return true;
    }
  }

  private pullForward(): number {
    const a = this.viewAt < this.viewHi ? this.view[this.viewAt]! : -1;
    const b = this.tailAt < this.tailHi ? this.tail[this.tailAt]! : -1;
    // On equal user keys the tail goes first: its entries are all newer than the view's.
    if (b < 0 || (a >= 0 && this.memtable.compareEntries(a, b) < 0)) {
      if (a < 0) return -1;
      this.viewAt++;
      return a;
    }
    this.tailAt++;
    return b;
  }

  private pullBackward(): number {
    const a = this.viewAt >= this.viewLo ? this.view[this.viewAt]! : -1;
    const b = this.tailAt >= this.tailLo ? this.tail[this.tailAt]! : -1;
    // Reverse order puts older versions first, so on equal user keys the view goes first.
    if (b < 0 || (a >= 0 && this.memtable.compareEntries(a, b) >= 0)) {
      if (a < 0) return -1;
      this.viewAt--;
      return a;
    }
    this.tailAt--;
    return b;
  }

  /** The first position of `run[lo, hi)` whose user key is ≥ `key` (or > `key` when `after`). */
  private search(run: Uint32Array, lo: number, hi: number, key: Uint8Array, after: boolean): number {
    const memtable = this.memtable;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const order = memtable.compareEntryWith(run[mid]!, key);
      if (order < 0 || (after && order === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private lowerLimit(run: Uint32Array, gt: Uint8Array | undefined, gte: Uint8Array | undefined): number {
    if (gt !== undefined) return this.search(run, 0, run.length, gt, true);
    if (gte !== undefined) return this.search(run, 0, run.length, gte, false);
    return 0;
  }

  private upperLimit(run: Uint32Array, lt: Uint8Array | undefined, lte: Uint8Array | undefined): number {
    if (lt !== undefined) return this.search(run, 0, run.length, lt, false);
    if (lte !== undefined) return this.search(run, 0, run.length, lte, true);
    return run.length;
  }
}
