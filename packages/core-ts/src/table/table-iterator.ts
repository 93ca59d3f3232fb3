/**
 * A cursor over one table's entries in internal-key order — forward, or reverse — within optional
 * user-key bounds. It walks the stored blocks (through the block cache) with a `BlockCursor`, so a
 * forward step decodes one entry in place and checks the bound; only crossing into another block
 * touches the cache.
 *
 * The key/value accessors return views — of the cursor's key buffer and of the cached block —
 * valid until the cursor moves, and never to be written to. `entry()` returns copies. The
 * `keyBytes`/`valueBytes` accessors expose the same bytes without building a view, for the merging
 * iterator's comparisons.
 */
import { ErrorCodes, SiltError } from '../errors.js';
import { compareInternalKeys, encodeInternalKey, Kind, MAX_SEQ, readTrailer, TRAILER_BYTES } from '../keys/internal-key.js';
import { copyBytes } from './bytes.js';
import { BlockCursor } from './block-cursor.js';
import { compareInternalAt, compareUserAt, lowerBound, upperBound } from './key-search.js';
import type { TableReader } from './table-reader.js';

export interface TableIteratorOptions {
  /** User-key bounds; at most one of `gt`/`gte` and one of `lt`/`lte`. */
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  /** Descending internal-key order: user keys descending, and within one, oldest version first. */
  readonly reverse?: boolean;
}

/** One entry, copied out of the block. */
export interface TableEntry {
  /** The internal key (user key ‖ trailer). */
  readonly key: Uint8Array;
  readonly userKey: Uint8Array;
  readonly seq: number;
  readonly kind: Kind;
  readonly value: Uint8Array;
}

function boundOption(value: unknown, name: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) throw new SiltError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a Uint8Array`);
  return value;
}

export class TableIterator implements Iterable<TableEntry> {
  readonly reverse: boolean;
  private readonly reader: TableReader;
  private readonly lower: Uint8Array | undefined;
  private readonly lowerInclusive: boolean;
  private readonly upper: Uint8Array | undefined;
  private readonly upperInclusive: boolean;
  private blockIndex = -1;
  private readonly cursor = new BlockCursor();
  private positioned = false;

  constructor(reader: TableReader, options: TableIteratorOptions) {
    if (options === null || typeof options !== 'object') throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'options must be an object');
    const gt = boundOption(options.gt, 'gt');
    const gte = boundOption(options.gte, 'gte');
    const lt = boundOption(options.lt, 'lt');
    const lte = boundOption(options.lte, 'lte');
    if (gt !== undefined && gte !== undefined) throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'give gt or gte, not both');
    if (lt !== undefined && lte !== undefined) throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'give lt or lte, not both');
    this.reader = reader;
    this.reverse = options.reverse === true;
    this.lower = gt ?? gte;
    this.lowerInclusive = gte !== undefined;
    this.upper = lt ?? lte;
    this.upperInclusive = lte !== undefined;
  }

  /** Whether the cursor is on an entry. */
  get valid(): boolean {
    return this.cursor.offset >= 0;
  }

  /** The internal key of the current entry (a view). */
  get key(): Uint8Array {
    const cursor = this.current();
    return cursor.key.subarray(0, cursor.keyLength);
  }

  /** The user key of the current entry (a view). */
  get userKey(): Uint8Array {
    const cursor = this.current();
    return cursor.key.subarray(0, cursor.keyLength - TRAILER_BYTES);
  }

  get seq(): number {
    const cursor = this.current();
    return readTrailer(cursor.key, cursor.keyLength - TRAILER_BYTES);
  }

  get kind(): Kind {
    return this.current().kind as Kind;
  }

  /** The value of the current entry (a view). */
  get value(): Uint8Array {
    const cursor = this.current();
    return cursor.data.subarray(cursor.valueFrom, cursor.valueTo);
  }

  /** The buffer holding the current user key at `[0, userKeyEnd)`; overwritten when the cursor moves. */
  get keyBytes(): Uint8Array {
    return this.cursor.key;
  }

  get userKeyStart(): number {
    return 0;
  }

  get userKeyEnd(): number {
    return this.cursor.keyLength - TRAILER_BYTES;
  }

  /** The buffer holding the current value at `[valueStart, valueEnd)`. */
  get valueBytes(): Uint8Array {
    return this.cursor.data;
  }

  get valueStart(): number {
    return this.cursor.valueFrom;
  }

  get valueEnd(): number {
    return this.cursor.valueTo;
  }

  /** The current entry, copied. */
  entry(): TableEntry {
    const key = copyBytes(this.key);
    return {
      key,
      userKey: key.subarray(0, key.length - TRAILER_BYTES),
      seq: this.seq,
      kind: this.kind,
      value: copyBytes(this.value),
    };
  }

  /** Position at the first entry in iteration order (the bound where there is one). */
  seekToFirst(): boolean {
    this.positioned = true;
    if (!this.reverse) {
      if (this.lower === undefined) this.positionAtStartOf(0);
      else this.forwardTo(this.lowerTarget());
      return this.checkUpper();
    }
    if (this.upper === undefined) this.positionAtLast();
    else this.backwardTo(this.upperTarget(), this.upperInclusive);
    return this.checkLower();
  }

  /**
   * Position by user key: forward, at the first entry whose user key is ≥ `userKey` (its newest
   * version); reverse, at the last entry whose user key is ≤ `userKey` (its oldest version). The
   * bounds still apply: a target outside them lands on the bound.
   */
  seek(userKey: Uint8Array): boolean {
    if (!(userKey instanceof Uint8Array)) throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'seek key must be a Uint8Array');
    // (k, MAX_SEQ) is the first possible internal key of k, (k, 0) sorts after every real version.
    return this.seekInternal(encodeInternalKey(userKey, this.reverse ? 0 : MAX_SEQ));
  }

  /** Position by internal key: forward, at the first entry ≥ `internalKey`; reverse, at the last ≤ it. */
  seekInternal(internalKey: Uint8Array): boolean {
    if (!(internalKey instanceof Uint8Array) || internalKey.length < TRAILER_BYTES) {
      throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'seek target must be an internal key (a Uint8Array of at least 8 bytes)');
    }
    this.positioned = true;
    if (!this.reverse) {
      const lower = this.lower === undefined ? undefined : this.lowerTarget();
      this.forwardTo(lower !== undefined && compareInternalKeys(lower, internalKey) > 0 ? lower : internalKey);
      return this.checkUpper();
    }
    if (this.upper !== undefined) {
      const upper = this.upperTarget();
      const order = compareInternalKeys(internalKey, upper);
      if (order > 0 || (order === 0 && !this.upperInclusive)) {
        this.backwardTo(upper, this.upperInclusive);
        return this.checkLower();
      }
    }
    this.backwardTo(internalKey, true);
    return this.checkLower();
  }

  /** Step in iteration order; returns whether the cursor is still on an entry. */
  next(): boolean {
    if (!this.positioned) return this.seekToFirst();
    const cursor = this.cursor;
    if (cursor.offset < 0) return false;
    if (!this.reverse) {
      if (!cursor.next()) this.positionAtStartOf(this.blockIndex + 1);
      return this.checkUpper();
    }
    if (!cursor.prev()) this.positionAtEndOf(this.blockIndex - 1);
    return this.checkLower();
  }

  /** The entries from the current position on (from the first, if never positioned), copied. */
  *[Symbol.iterator](): Iterator<TableEntry> {
    if (!this.positioned) this.seekToFirst();
    while (this.valid) {
      yield this.entry();
      this.next();
    }
  }

  private current(): BlockCursor {
    if (this.cursor.offset < 0) throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'the table iterator is not on an entry');
    return this.cursor;
  }

  /** The first internal key within the lower bound: (k, MAX_SEQ) for gte, (k, 0) — after every version of k — for gt. */
  private lowerTarget(): Uint8Array {
    return encodeInternalKey(this.lower!, this.lowerInclusive ? MAX_SEQ : 0);
  }

  /** (k, 0) for lte, reached inclusively; (k, MAX_SEQ) for lt, reached exclusively. */
  private upperTarget(): Uint8Array {
    return encodeInternalKey(this.upper!, this.upperInclusive ? 0 : MAX_SEQ);
  }

  /** At the first entry ≥ `target`, or off the end. */
  private forwardTo(target: Uint8Array): void {
    const reader = this.reader;
    const b = lowerBound(reader.indexKeys, reader.blockCount, target);
    if (b === reader.blockCount) {
      this.invalidate();
      return;
    }
    this.blockIndex = b;
    this.cursor.reset(reader.block(b));
    // The block's last key is its index key, ≥ target, so the entry exists in this block.
    this.cursor.seekAtLeast(target);
  }

  /** At the last entry ≤ `target` (`inclusive`) or < `target`, or off the start. */
  private backwardTo(target: Uint8Array, inclusive: boolean): void {
    const reader = this.reader;
    // The first block holding an entry past the target; the answer is just before that entry.
    const b = (inclusive ? upperBound : lowerBound)(reader.indexKeys, reader.blockCount, target);
    if (b === reader.blockCount) {
      this.positionAtLast();
      return;
    }
    const cursor = this.cursor;
    this.blockIndex = b;
    cursor.reset(reader.block(b));
    cursor.seekAtLeast(target);
    // Now at the first entry ≥ target; inclusively the first one > target is wanted (keys are unique).
    if (inclusive && compareInternalAt(cursor.key, 0, cursor.keyLength, target) === 0) {
      // The block's last key is > target, so an entry follows.
      cursor.next();
    }
    if (!cursor.prev()) this.positionAtEndOf(b - 1);
  }

  private positionAtStartOf(b: number): void {
    if (b >= this.reader.blockCount) {
      this.invalidate();
      return;
    }
    this.blockIndex = b;
    this.cursor.reset(this.reader.block(b));
    this.cursor.seekToFirst();
  }

  private positionAtEndOf(b: number): void {
    if (b < 0) {
      this.invalidate();
      return;
    }
    this.blockIndex = b;
    this.cursor.reset(this.reader.block(b));
    this.cursor.seekToLast();
  }

  private positionAtLast(): void {
    this.positionAtEndOf(this.reader.blockCount - 1);
  }

  private invalidate(): void {
    this.cursor.reset(null);
    this.blockIndex = -1;
  }

  /** Going forward, leave the range once past the upper bound. */
  private checkUpper(): boolean {
    const cursor = this.cursor;
    if (cursor.offset < 0) return false;
    if (this.upper !== undefined) {
      const order = compareUserAt(cursor.key, 0, cursor.keyLength, this.upper);
      if (order > 0 || (order === 0 && !this.upperInclusive)) {
        this.invalidate();
        return false;
      }
    }
    return true;
  }

  /** Going backward, leave the range once before the lower bound. */
  private checkLower(): boolean {
    const cursor = this.cursor;
    if (cursor.offset < 0) return false;
    if (this.lower !== undefined) {
      const order = compareUserAt(cursor.key, 0, cursor.keyLength, this.lower);
      if (order < 0 || (order === 0 && !this.lowerInclusive)) {
        this.invalidate();
        return false;
      }
    }
    return true;
  }
}
