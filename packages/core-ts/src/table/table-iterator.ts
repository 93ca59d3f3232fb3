/**
 * A cursor over one table's entries in internal-key order — forward, or reverse — within optional
 * user-key bounds. It walks the decoded blocks (through the block cache) by position, so stepping
 * costs an index increment and a bound check; only crossing into another block touches the cache.
 *
 * The key/value accessors return views into the decoded block: valid until the cursor moves, and
 * never to be written to (they may be shared with the cache). `entry()` returns copies.
 */
import { ErrorCodes, SiltError } from '../errors.js';
import { compareInternalKeys, encodeInternalKey, Kind, MAX_SEQ, readTrailer, TRAILER_BYTES } from '../keys/internal-key.js';
import { copyBytes } from './bytes.js';
import type { DataBlock } from './data-block.js';
import { compareUserAt, lowerBound, upperBound } from './key-search.js';
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
  private block: DataBlock | null = null;
  private entryIndex = -1;
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
    return this.block !== null;
  }

  /** The internal key of the current entry (a view). */
  get key(): Uint8Array {
    const block = this.current();
    return block.keys.data.subarray(block.keys.offsets[this.entryIndex]!, block.keys.offsets[this.entryIndex + 1]!);
  }

  /** The user key of the current entry (a view). */
  get userKey(): Uint8Array {
    const block = this.current();
    return block.keys.data.subarray(block.keys.offsets[this.entryIndex]!, block.keys.offsets[this.entryIndex + 1]! - TRAILER_BYTES);
  }

  get seq(): number {
    const block = this.current();
    return readTrailer(block.keys.data, block.keys.offsets[this.entryIndex + 1]! - TRAILER_BYTES);
  }

  get kind(): Kind {
    return this.current().tags[this.entryIndex]! as Kind;
  }

  /** The value of the current entry (a view). */
  get value(): Uint8Array {
    const block = this.current();
    return block.values.data.subarray(block.values.offsets[this.entryIndex]!, block.values.offsets[this.entryIndex + 1]!);
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
      if (this.lower === undefined) this.positionAt(0, 0);
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
    const block = this.block;
    if (block === null) return false;
    if (!this.reverse) {
      if (this.entryIndex + 1 < block.count) this.entryIndex++;
      else this.positionAt(this.blockIndex + 1, 0);
      return this.checkUpper();
    }
    if (this.entryIndex > 0) this.entryIndex--;
    else this.positionAtEndOf(this.blockIndex - 1);
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

  private current(): DataBlock {
    if (this.block === null) throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'the table iterator is not on an entry');
    return this.block;
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
    const block = reader.block(b);
    // The block's last key is its index key, ≥ target, so the entry exists in this block.
    this.setPosition(b, block, lowerBound(block.keys, block.count, target));
  }

  /** At the last entry ≤ `target` (`inclusive`) or < `target`, or off the start. */
  private backwardTo(target: Uint8Array, inclusive: boolean): void {
    const reader = this.reader;
    const search = inclusive ? upperBound : lowerBound;
    // The first block holding an entry past the target; the answer is just before that entry.
    const b = search(reader.indexKeys, reader.blockCount, target);
    if (b === reader.blockCount) {
      this.positionAtLast();
      return;
    }
    const block = reader.block(b);
    const i = search(block.keys, block.count, target);
    if (i > 0) this.setPosition(b, block, i - 1);
    else this.positionAtEndOf(b - 1);
  }

  private positionAt(b: number, i: number): void {
    if (b >= this.reader.blockCount) {
      this.invalidate();
      return;
    }
    this.setPosition(b, this.reader.block(b), i);
  }

  private positionAtEndOf(b: number): void {
    if (b < 0) {
      this.invalidate();
      return;
    }
    const block = this.reader.block(b);
    this.setPosition(b, block, block.count - 1);
  }

  private positionAtLast(): void {
    this.positionAtEndOf(this.reader.blockCount - 1);
  }

  private setPosition(b: number, block: DataBlock, i: number): void {
    this.blockIndex = b;
    this.block = block;
    this.entryIndex = i;
  }

  private invalidate(): void {
    this.block = null;
    this.blockIndex = -1;
    this.entryIndex = -1;
  }

  /** Going forward, leave the range once past the upper bound. */
  private checkUpper(): boolean {
    const block = this.block;
    if (block === null) return false;
    if (this.upper !== undefined) {
      const order = compareUserAt(block.keys.data, block.keys.offsets[this.entryIndex]!, block.keys.offsets[this.entryIndex + 1]!, this.upper);
      if (order > 0 || (order === 0 && !this.upperInclusive)) {
        this.invalidate();
        return false;
      }
    }
    return true;
  }

  /** Going backward, leave the range once before the lower bound. */
  private checkLower(): boolean {
    const block = this.block;
    if (block === null) return false;
    if (this.lower !== undefined) {
      const order = compareUserAt(block.keys.data, block.keys.offsets[this.entryIndex]!, block.keys.offsets[this.entryIndex + 1]!, this.lower);
      if (order < 0 || (order === 0 && !this.lowerInclusive)) {
        this.invalidate();
        return false;
      }
    }
    return true;
  }
}
