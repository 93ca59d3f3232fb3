/**
 * Reading a finished table. Opening reads the footer, then the index, filter and properties in one
 * read, checks them all, and keeps them in memory; data blocks are fetched on demand through a file
 * view (`openFileView`: mmap natively, positional reads in TypeScript) and the shared block cache.
 * Everything is synchronous, so `getSync` can reach tables without a microtask.
 *
 * Any failed check is `CORRUPTION` and nothing read from the damaged part is returned.
 */
import { accel, type Accelerator, type BlockEntries, type FileView, type PackedBytes } from '@siltdb/bindings';
import { ErrorCodes, SiltError } from '../errors.js';
import { Kind, MAX_SEQ, readTrailer, TRAILER_BYTES, writeTrailer } from '../keys/internal-key.js';
import type { BlockCache } from './block-cache.js';
import { copyValue } from './bytes.js';
import { BloomFilter, bloomHash } from './bloom.js';
import { BlockCursor } from './block-cursor.js';
import { decodeDataBlock, plainBytes, type DataBlock } from './data-block.js';
import { loadStoredBlock, type StoredBlock } from './stored-block.js';
import {
  BLOCK_TRAILER_BYTES,
  corruption,
  decodeFooter,
  decodeHandle,
  FOOTER_BYTES,
  unsealBlock,
  type Footer,
} from './format.js';
import { compareUserAt, isStrictlyAscending, lowerBound } from './key-search.js';
import { decodeProperties, type TableProperties } from './properties.js';
import { TableIterator, type TableIteratorOptions } from './table-iterator.js';

export interface TableReaderOptions {
  /** The table's file number: its block cache key. */
  readonly fileNumber: number;
  /** The shared block cache. Without one, every block read decodes the block again. */
  readonly cache?: BlockCache;
  /** The file size the manifest recorded; a shorter file is `SHORT_FILE`. */
  readonly expectedLength?: number;
  /** The accelerator decoding blocks and checksums. Default: the process-wide `accel`. */
  readonly accelerator?: Accelerator;
}

/** The newest visible version of a user key. `value` is a copy the caller owns. */
export interface TableGetResult {
  readonly seq: number;
  readonly kind: Kind;
  readonly value: Uint8Array;
}

/**
 * The search target of `get`, reused across calls (and tables) while the key length stays the same:
 * `get` is synchronous and keeps no reference to it, so one buffer serves every point read.
 */
let getTarget = new Uint8Array(16 + TRAILER_BYTES);

/** The cursor of point reads, shared by every table: `get` is synchronous and finishes with it. */
const getCursor = new BlockCursor();

/** Smallest possible FORMAT §3 block: an empty payload (`00 00 00 00`) and its trailer. */
const MIN_BLOCK_BYTES = 4 + BLOCK_TRAILER_BYTES;

export class TableReader {
  readonly path: string;
  readonly fileNumber: number;
  readonly fileSize: number;
  readonly properties: TableProperties;
  /** The index: data block `b` ends with internal key `indexKeys[b]` and lives at `[blockOffsets[b], +blockLengths[b])`. */
  readonly indexKeys: PackedBytes;
  readonly blockCount: number;
  private readonly blockOffsets: Uint32Array;
  private readonly blockLengths: Uint32Array;
  private readonly dataEnd: number;
  private readonly filter: BloomFilter;
  private readonly view: FileView;
  private readonly cache: BlockCache | undefined;
  private readonly accelerator: Accelerator;
  private closedFlag = false;

  private constructor(
    path: string,
    options: TableReaderOptions,
    view: FileView,
    accelerator: Accelerator,
    footer: Footer,
    index: BlockEntries,
    filter: BloomFilter,
    properties: TableProperties,
  ) {
    this.path = path;
    this.fileNumber = options.fileNumber;
    this.cache = options.cache;
    this.view = view;
    this.accelerator = accelerator;
    this.fileSize = view.length;
    this.properties = properties;
    this.filter = filter;
    this.indexKeys = { data: plainBytes(index.keys.data), offsets: index.keys.offsets };
    this.dataEnd = footer.index.offset;
    const count = index.tags.length;
    this.blockCount = count;
    this.blockOffsets = new Uint32Array(count);
    this.blockLengths = new Uint32Array(count);
    let expectedOffset = 0;
    for (let b = 0; b < count; b++) {
      if (index.tags[b] !== 0) throw corruption(`index entry ${b} has tag ${index.tags[b]}, not 0`);
      const handle = decodeHandle(index.values.data, index.values.offsets[b]!, index.values.offsets[b + 1]!);
      // Data blocks tile [0, index offset) in index order: no gaps, overlaps or stray bytes.
      if (handle.offset !== expectedOffset || handle.length < MIN_BLOCK_BYTES) {
        throw corruption(`index entry ${b} does not point at the next data block`);
      }
      this.blockOffsets[b] = handle.offset;
      this.blockLengths[b] = handle.length;
      expectedOffset += handle.length;
    }
    if (expectedOffset !== footer.index.offset) throw corruption('data blocks do not end where the index starts');
  }

  /**
   * Open and verify a table. Fails with `CORRUPTION` when the footer, index, filter or properties
   * are damaged or inconsistent, `SHORT_FILE` when the file is shorter than `expectedLength`.
   */
  static open(path: string, options: TableReaderOptions): TableReader {
    if (options === null || typeof options !== 'object' || !Number.isSafeInteger(options.fileNumber) || options.fileNumber < 0) {
      throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'options.fileNumber must be a non-negative safe integer');
    }
    const accelerator = options.accelerator ?? accel;
    const view = accelerator.openFileView(
      path,
      options.expectedLength === undefined ? undefined : { expectedLength: options.expectedLength },
    );
    try {
      const length = view.length;
      if (length < FOOTER_BYTES) throw corruption(`table ${path} has ${length} bytes, fewer than its footer`);
      const footer = decodeFooter(view.read(length - FOOTER_BYTES, FOOTER_BYTES), length, accelerator);
      // Index, filter and properties are contiguous: one read brings all three.
      const metaStart = footer.index.offset;
      const meta = view.read(metaStart, length - FOOTER_BYTES - metaStart);
      const slice = (handle: { offset: number; length: number }): Uint8Array =>
        meta.subarray(handle.offset - metaStart, handle.offset - metaStart + handle.length);
      const index = accelerator.decodeBlock(slice(footer.index));
      const filter = new BloomFilter(unsealBlock(slice(footer.filter), 'filter', accelerator));
      const properties = decodeProperties(unsealBlock(slice(footer.properties), 'properties', accelerator));
      const count = index.tags.length;
      if (count === 0 || count !== properties.dataBlockCount) {
        throw corruption(`index has ${count} entries; properties record ${properties.dataBlockCount} data blocks`);
      }
      if (!isStrictlyAscending(index.keys, count)) throw corruption('index keys are out of order');
      const lastFrom = index.keys.offsets[count - 1]!;
      const lastTo = index.keys.offsets[count]!;
      if (!sameBytes(index.keys.data, lastFrom, lastTo, properties.largestKey)) {
        throw corruption('the last index key is not the largest key of the properties');
      }
      return new TableReader(path, options, view, accelerator, footer, index, filter, properties);
    } catch (error) {
      view.close();
      throw error;
    }
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get smallestKey(): Uint8Array {
    return this.properties.smallestKey;
  }

  get largestKey(): Uint8Array {
    return this.properties.largestKey;
  }

  /** False when the bloom filter rules the user key out; true means "maybe". */
  mayContain(userKey: Uint8Array): boolean {
    this.checkOpen();
    return this.filter.mayContain(userKey);
  }

  /**
   * The newest entry for `userKey` with seq ≤ `snapshotSeq` (default: the newest of all), or
   * `undefined`. A tombstone is returned as such (kind DELETE): it hides older tables' versions.
   * `hash`, when given, must be `bloomHash(userKey)`: a read that visits several tables hashes once.
   */
  get(userKey: Uint8Array, snapshotSeq: number = MAX_SEQ, hash?: number): TableGetResult | undefined {
    this.checkOpen();
    if (!(userKey instanceof Uint8Array)) throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'userKey must be a Uint8Array');
    if (!Number.isSafeInteger(snapshotSeq) || snapshotSeq < 0) {
      throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'snapshotSeq must be a safe integer ≥ 0');
    }
    if (!this.filter.mayContainHash(hash === undefined ? bloomHash(userKey) : hash)) return undefined;
    // (userKey, S) sorts before every older version of userKey and after every newer one, so the
    // first entry at or after it is the answer when it still has this user key.
    const targetLength = userKey.length + TRAILER_BYTES;
    if (getTarget.length !== targetLength) getTarget = new Uint8Array(targetLength);
    const target = getTarget;
    target.set(userKey, 0);
    writeTrailer(target, userKey.length, snapshotSeq);
    const b = lowerBound(this.indexKeys, this.blockCount, target);
    if (b === this.blockCount) return undefined;
    const cursor = getCursor;
    cursor.reset(this.block(b));
    // The block ends with its index key, which is ≥ target: the search lands on an entry.
    cursor.seekAtLeast(target);
    const key = cursor.key;
    const keyLength = cursor.keyLength;
    const found =
      compareUserAt(key, 0, keyLength, userKey) !== 0
        ? undefined
        : {
            seq: readTrailer(key, keyLength - TRAILER_BYTES),
            kind: cursor.kind as Kind,
            value: copyValue(cursor.data, cursor.valueFrom, cursor.valueTo),
          };
    cursor.reset(null);
    return found;
  }

  /** An iterator over the entries in internal-key order (or reverse), within user-key bounds. */
  iterator(options: TableIteratorOptions = {}): TableIterator {
    this.checkOpen();
    return new TableIterator(this, options);
  }

  /**
   * Every entry of the table, for compaction: one read of the data region, every block decoded and
   * checked, the results concatenated into one packed batch in internal-key order. Bypasses the
   * block cache, which a compaction would only flush.
   */
  readAllEntries(): BlockEntries {
    this.checkOpen();
    const region = this.view.read(0, this.dataEnd);
    const blocks: DataBlock[] = [];
    let keyBytes = 0;
    let valueBytes = 0;
    let count = 0;
    for (let b = 0; b < this.blockCount; b++) {
      const offset = this.blockOffsets[b]!;
      const block = this.decodeWhole(region.subarray(offset, offset + this.blockLengths[b]!), b);
      blocks.push(block);
      keyBytes += block.keys.offsets[block.count]! - block.keys.offsets[0]!;
      valueBytes += block.values.offsets[block.count]! - block.values.offsets[0]!;
      count += block.count;
    }
    if (count !== this.properties.entryCount) {
      throw corruption(`${this.path} holds ${count} entries; its properties record ${this.properties.entryCount}`);
    }
    if (keyBytes > 0xffffffff || valueBytes > 0xffffffff) {
      throw new SiltError(ErrorCodes.INVALID_ARGUMENT, `${this.path} is too large to read as one packed batch`);
    }
    const keyData = new Uint8Array(keyBytes);
    const keyOffsets = new Uint32Array(count + 1);
    const valueData = new Uint8Array(valueBytes);
    const valueOffsets = new Uint32Array(count + 1);
    const tags = new Uint8Array(count);
    let at = 0;
    let kp = 0;
    let vp = 0;
    for (const block of blocks) {
      kp = appendPacked(block.keys, block.count, keyData, keyOffsets, at, kp);
      vp = appendPacked(block.values, block.count, valueData, valueOffsets, at, vp);
      tags.set(block.tags, at);
      at += block.count;
    }
    return { keys: { data: keyData, offsets: keyOffsets }, values: { data: valueData, offsets: valueOffsets }, tags };
  }

  /** Release the file view. Idempotent. Cached blocks stay until `cache.evictFile(fileNumber)`. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.view.close();
  }

  /** Data block `b`, from the cache or read and checked (and then cached). */
  block(b: number): StoredBlock {
    this.checkOpen();
    const offset = this.blockOffsets[b]!;
    const cache = this.cache;
    if (cache !== undefined) {
      const hit = cache.get(this.fileNumber, offset);
      if (hit !== undefined) return hit;
    }
    const { data, offsets } = this.indexKeys;
    const indexKey = data.subarray(offsets[b]!, offsets[b + 1]!);
    const previous = b === 0 ? null : data.subarray(offsets[b - 1]!, offsets[b]!);
    const block = loadStoredBlock(this.view.read(offset, this.blockLengths[b]!), indexKey, previous, this.accelerator, `${b} of ${this.path}`);
    cache?.insert(this.fileNumber, offset, block);
    return block;
  }

  /** Block `b` decoded whole by the accelerator (compaction reads every entry anyway). */
  private decodeWhole(bytes: Uint8Array, b: number): DataBlock {
    const { data, offsets } = this.indexKeys;
    const indexKey = data.subarray(offsets[b]!, offsets[b + 1]!);
    const previous = b === 0 ? null : data.subarray(offsets[b - 1]!, offsets[b]!);
    return decodeDataBlock(bytes, indexKey, previous, this.accelerator, `${b} of ${this.path}`);
  }

  private checkOpen(): void {
    if (this.closedFlag) throw new SiltError(ErrorCodes.CLOSED, `table ${this.path} is closed`);
  }
}

function sameBytes(data: Uint8Array, from: number, to: number, other: Uint8Array): boolean {
  if (to - from !== other.length) return false;
  for (let i = 0; i < other.length; i++) if (data[from + i] !== other[i]) return false;
  return true;
}

/** Copy `count` items of `source` into `data`/`offsets` from item `at` and byte `pos`; returns the new byte end. */
function appendPacked(source: PackedBytes, count: number, data: Uint8Array, offsets: Uint32Array, at: number, pos: number): number {
  const base = source.offsets[0]!;
  const end = source.offsets[count]!;
  data.set(source.data.subarray(base, end), pos);
  for (let i = 1; i <= count; i++) offsets[at + i] = pos + source.offsets[i]! - base;
  return pos + end - base;
}
