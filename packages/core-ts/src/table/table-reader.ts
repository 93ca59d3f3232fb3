/**
 * Reading a finished table. Opening reads the footer, then the index, filter and properties in one
 * read, checks them all, and keeps them in memory; data blocks are fetched on demand through a file
 * view (`openFileView`: positional reads in both accelerators) and the shared block cache.
 * Everything is synchronous, so `getSync` can reach tables without a microtask.
 *
 * Any failed check is `CORRUPTION` and nothing read from the damaged part is returned.
 */
import { accel, type Accelerator, type BlockEntries, type FileView, type PackedBytes } from '@siltdb/bindings';
import { ErrorCodes, SiltError } from '../errors.js';
import { compareBytes, Kind, MAX_SEQ, readTrailer, TRAILER_BYTES, writeTrailer } from '../keys/internal-key.js';
import type { BlockCache } from './block-cache.js';
import { copyValue, plainBytes, readU32 } from './bytes.js';
import { BloomFilter, bloomHash } from './bloom.js';
import { appendDecoded, type EntrySink } from './entry-sink.js';
import { checkedStoredBlock, loadStoredBlock, type StoredBlock } from './stored-block.js';
import {
  BLOCK_TRAILER_BYTES,
  corruption,
  decodeFooter,
  decodeHandle,
  FOOTER_BYTES,
  unsealBlock,
  type Footer,
} from './format.js';
import { compareInternalAt, isStrictlyAscending, lowerBound } from './key-search.js';
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

/**
 * Where `blockPointGet` reports the entry a point read found (value range, tag, trailer), shared by
 * every table: `get` is synchronous and reads it before returning.
 */
const pointHit = new Uint8Array(20);

/** Compaction reads a table's data region in runs of consecutive blocks about this large. */
const READ_ALL_CHUNK_BYTES = 1 << 20;
/**
 * A range read of up to this many bytes of blocks is read and decoded in one piece, its result
 * used as decoded (no copy into a sink); compaction's partitions (4 MiB of input by default) fit.
 */
const RANGE_ONE_READ_BYTES = 8 << 20;

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
  /** Bytes every index key's user part shares (the first and last keys' common prefix). */
  private readonly probeFrom: number;
  /** Per index key, the 4 user-key bytes after `probeFrom` as a big-endian u32 (0-padded). */
  private readonly indexProbes: Uint32Array;
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
    // Point reads binary-search the index by integer first: most steps then touch no key bytes.
    const { data, offsets } = this.indexKeys;
    const firstEnd = offsets[1]! - TRAILER_BYTES;
    const lastFrom = offsets[count - 1]!;
    const lastEnd = offsets[count]! - TRAILER_BYTES;
    let shared = 0;
    while (shared < firstEnd && lastFrom + shared < lastEnd && data[shared] === data[lastFrom + shared]) shared++;
    this.probeFrom = shared;
    this.cache?.reserve(this.fileNumber, count);
    this.indexProbes = new Uint32Array(count);
    for (let b = 0; b < count; b++) {
      const from = offsets[b]!;
      this.indexProbes[b] = probeAt(data, from + shared, offsets[b + 1]! - TRAILER_BYTES);
    }
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

  /** `mayContain` for a key whose `bloomHash` is `hash` (a batch of lookups hashes each key once). */
  mayContainHash(hash: number): boolean {
    this.checkOpen();
    return this.filter.mayContainHash(hash);
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
    const b = this.findBlock(userKey, target);
    if (b === this.blockCount) return undefined;
    const data = this.block(b).data;
    // The search within the block is one accelerator call: in TypeScript it is a few hundred
    // bytecodes of byte loops, which dominate a read until the JIT has optimised them.
    const hit = pointHit;
    let found: boolean;
    try {
      found = this.accelerator.blockPointGet(data, target, hit);
    } catch (error) {
      if (error instanceof SiltError && error.code === ErrorCodes.CORRUPTION) throw corruption(`block ${b} of ${this.path}: ${error.message}`);
      throw error;
    }
    if (!found) return undefined;
    return { seq: readTrailer(hit, 12), kind: hit[8] as Kind, value: copyValue(data, readU32(hit, 0), readU32(hit, 4)) };
  }

  /** An iterator over the entries in internal-key order (or reverse), within user-key bounds. */
  iterator(options: TableIteratorOptions = {}): TableIterator {
    this.checkOpen();
    return new TableIterator(this, options);
  }

  /**
   * Every entry of the table, for compaction, as one packed batch in internal-key order: the data
   * region read in runs of blocks, every block checked as a cached block would be and its entries
   * written straight into output arrays sized from the properties. Bypasses the block cache, which
   * a compaction would only flush.
   */
  readAllEntries(): BlockEntries {
    this.checkOpen();
    const { entryCount, rawKeyBytes, rawValueBytes } = this.properties;
    if (rawKeyBytes > 0xffffffff || rawValueBytes > 0xffffffff) {
      throw new SiltError(ErrorCodes.INVALID_ARGUMENT, `${this.path} is too large to read as one packed batch`);
    }
    // The properties give the exact sizes: the output is allocated once and filled in place.
    const sink: EntrySink = {
      keyData: new Uint8Array(rawKeyBytes),
      keyOffsets: new Uint32Array(entryCount + 1),
      valueData: new Uint8Array(rawValueBytes),
      valueOffsets: new Uint32Array(entryCount + 1),
      tags: new Uint8Array(entryCount),
      count: 0,
    };
    this.appendBlocks(0, this.blockCount, sink);
    if (sink.count !== entryCount || sink.keyOffsets[entryCount] !== rawKeyBytes || sink.valueOffsets[entryCount] !== rawValueBytes) {
      throw corruption(`${this.path} holds ${sink.count} entries; its properties record ${entryCount} (or their sizes disagree)`);
    }
    return {
      keys: { data: sink.keyData, offsets: sink.keyOffsets },
      values: { data: sink.valueData, offsets: sink.valueOffsets },
      tags: sink.tags,
    };
  }

  /** Where data block `b` ends in the file: the data bytes of blocks `0…b`, since blocks tile the data region. */
  blockEnd(b: number): number {
    return this.blockOffsets[b]! + this.blockLengths[b]!;
  }

  /**
   * The entries whose user key is in `(after, upTo]` (`null`: unbounded), as one packed batch in
   * internal-key order — compaction's read of one key-range partition. Only the blocks that can
   * hold such keys are read (checked as `readAllEntries` checks them, bypassing the block cache);
   * entries of those blocks outside the range are left out. Up to RANGE_ONE_READ_BYTES of blocks
   * are read and decoded in one piece, and the result is a view of the decoded arrays (its offsets
   * need not start at 0).
   */
  readEntriesBetween(after: Uint8Array | null, upTo: Uint8Array | null): BlockEntries {
    this.checkOpen();
    // Index user keys never decrease. Block b holds keys in (indexKey[b − 1], indexKey[b]]: it can
    // hold a key > after only if its last key's user key is > after, and a key ≤ upTo only if the
    // previous block's last user key is ≤ upTo.
    const first = after === null ? 0 : this.firstBlockAfter(after);
    const end = upTo === null ? this.blockCount : Math.min(this.blockCount, this.firstBlockAfter(upTo) + 1);
    if (first >= end) return emptyEntries();
    if (this.blockEnd(end - 1) - this.blockOffsets[first]! <= RANGE_ONE_READ_BYTES) {
      return withinUserKeys(this.decodeRun(first, end), after, upTo);
    }
    const share = (this.blockEnd(end - 1) - this.blockOffsets[first]!) / Math.max(1, this.dataEnd);
    const { entryCount, rawKeyBytes, rawValueBytes } = this.properties;
    // Sized from the table's averages; the sink grows if the range is denser than that.
    const estimate = (total: number): number => Math.ceil(total * share * 1.125) + 64;
    const entries = Math.min(entryCount, estimate(entryCount));
    const sink: EntrySink = {
      keyData: new Uint8Array(Math.min(rawKeyBytes, estimate(rawKeyBytes))),
      keyOffsets: new Uint32Array(entries + 1),
      valueData: new Uint8Array(Math.min(rawValueBytes, estimate(rawValueBytes))),
      valueOffsets: new Uint32Array(entries + 1),
      tags: new Uint8Array(entries),
      count: 0,
      growable: true,
    };
    this.appendBlocks(first, end, sink);
    const n = sink.count;
    return withinUserKeys(
      {
        keys: { data: sink.keyData, offsets: sink.keyOffsets.subarray(0, n + 1) },
        values: { data: sink.valueData, offsets: sink.valueOffsets.subarray(0, n + 1) },
        tags: sink.tags.subarray(0, n),
      },
      after,
      upTo,
    );
  }

  /** The first block whose last user key is > `userKey`, or `blockCount`. */
  private firstBlockAfter(userKey: Uint8Array): number {
    const { data, offsets } = this.indexKeys;
    let low = 0;
    let high = this.blockCount;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareBytes(data, offsets[mid]!, offsets[mid + 1]! - TRAILER_BYTES, userKey, 0, userKey.length) <= 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * Check data blocks `first…end − 1` and append their entries to `sink`: consecutive blocks are
   * read in runs of about READ_ALL_CHUNK_BYTES (few reads, little garbage), and each run is checked
   * and decoded by one accelerator call.
   */
  private appendBlocks(first: number, end: number, sink: EntrySink): void {
    let b = first;
    while (b < end) {
      let runEnd = b;
      let runLength = 0;
      while (runEnd < end && (runEnd === b || runLength + this.blockLengths[runEnd]! <= READ_ALL_CHUNK_BYTES)) {
        runLength += this.blockLengths[runEnd]!;
        runEnd++;
      }
      appendDecoded(sink, this.decodeRun(b, runEnd), `blocks ${b}…${runEnd - 1} of ${this.path}`);
      b = runEnd;
    }
  }

  /** Read data blocks `first…end − 1` in one piece; check and decode them in one accelerator call. */
  private decodeRun(first: number, end: number): BlockEntries {
    const runStart = this.blockOffsets[first]!;
    const run = this.view.read(runStart, this.blockEnd(end - 1) - runStart);
    const spans = this.runSpans(first, end, new Uint32Array(2 * (end - first)));
    try {
      const { keys, values, tags } = this.accelerator.decodeDataBlocks(run, spans, this.runIndexKeys(first, end), first > 0);
      // Plain Uint8Arrays, not the native module's Buffers: compaction takes a view of every key
      // and value, and `Buffer#subarray` builds each one through Node's Buffer species (several
      // times the cost of a Uint8Array view).
      return {
        keys: { data: plainBytes(keys.data), offsets: keys.offsets },
        values: { data: plainBytes(values.data), offsets: values.offsets },
        tags: plainBytes(tags),
      };
    } catch (error) {
      throw this.runError(error, first, end);
    }
  }

  /** Release the file view. Idempotent. Cached blocks stay until `cache.evictFile(fileNumber)`. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.view.close();
  }

  /** The first block whose index key is ≥ `target` (the internal key of `userKey`), or `blockCount`. */
  private findBlock(userKey: Uint8Array, target: Uint8Array): number {
    const { data, offsets } = this.indexKeys;
    const shared = this.probeFrom;
    if (userKey.length < shared) return lowerBound(this.indexKeys, this.blockCount, target);
    for (let i = 0; i < shared; i++) if (userKey[i] !== data[i]) return lowerBound(this.indexKeys, this.blockCount, target);
    // Every index key and the target share the first `shared` bytes, so comparing the next four
    // as integers orders them whenever those differ; equal probes fall back to the whole key.
    const probe = probeAt(userKey, shared, userKey.length);
    const probes = this.indexProbes;
    let low = 0;
    let high = this.blockCount;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const at = probes[mid]!;
      if (at < probe || (at === probe && compareInternalAt(data, offsets[mid]!, offsets[mid + 1]!, target) < 0)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Data block `b`, from the cache or read and checked (and then cached). */
  block(b: number): StoredBlock {
    this.checkOpen();
    const cache = this.cache;
    if (cache !== undefined) {
      const hit = cache.get(this.fileNumber, b);
      if (hit !== undefined) return hit;
    }
    // Read into memory the garbage collector owns: a native Buffer per block would only be freed
    // once the event loop turns, which a loop of synchronous reads never lets happen.
    const block = this.readBlock(b, new Uint8Array(this.blockLengths[b]!));
    return cache === undefined ? block : cache.insert(this.fileNumber, b, block);
  }

  /**
   * Data block `b` for a pass that moves forward through the table and does not come back (a
   * value-log rewrite's ordered lookups): the cached block when there is one, else taken from
   * `run` — consecutive blocks read in one piece and checked in one accelerator call — without
   * entering the cache. A block from the run is valid until the run is read again, which only a
   * miss outside it does. A run serves one reader.
   *
   * Why not cache them: a rewrite's lookups sweep the whole table set once per segment, which
   * filled the block cache with blocks no point read asked for (~41 MiB of a 64 MiB cache in the
   * 1M-key churn), resident for the rest of the process. Read one at a time past the cache, each
   * block cost a system call and a walk over its entries in JavaScript (~6 µs a block more than a
   * cache hit, in a sweep of 16k keys over a 1M-entry table); in runs, the read and the checks are
   * made once for many blocks.
   */
  passingBlock(b: number, run: PassingRun): StoredBlock {
    this.checkOpen();
    const cache = this.cache;
    if (cache !== undefined) {
      const hit = cache.get(this.fileNumber, b);
      if (hit !== undefined) return hit;
    }
    if (b < run.first || b >= run.end) this.readRun(b, run);
    const at = this.blockOffsets[b]! - this.blockOffsets[run.first]!;
    return checkedStoredBlock(run.bytes.subarray(at, at + this.blockLengths[b]!), run.counts[b - run.first]!, this.accelerator);
  }

  /** Fill `run` with blocks from `b` on, read and checked. */
  private readRun(b: number, run: PassingRun): void {
    // Read ahead while the pass goes block after block; one block again after a jump.
    run.span = b === run.end ? Math.min(2 * run.span, PASSING_RUN_BLOCKS) : 1;
    run.first = run.end = 0;
    let end = b + 1;
    let bytes = this.blockLengths[b]!;
    while (end < this.blockCount && end - b < run.span && bytes + this.blockLengths[end]! <= PASSING_RUN_BYTES) bytes += this.blockLengths[end++]!;
    if (run.bytes.length < bytes) run.bytes = new Uint8Array(Math.max(bytes, PASSING_RUN_BYTES));
    this.view.readInto(this.blockOffsets[b]!, bytes, run.bytes, 0);
    try {
      this.accelerator.checkDataBlocks(run.bytes.subarray(0, bytes), this.runSpans(b, end, run.spans), this.runIndexKeys(b, end), b > 0, run.counts);
    } catch (error) {
      throw this.runError(error, b, end);
    }
    run.first = b;
    run.end = end;
  }

  /**
   * The spans `decodeDataBlocks` and `checkDataBlocks` take for blocks `first…end − 1` read in one
   * piece from the first one's offset: (offset in the piece, length) pairs, written into `into`
   * (room for them at least); returns the part of `into` they fill.
   */
  private runSpans(first: number, end: number, into: Uint32Array): Uint32Array {
    const runStart = this.blockOffsets[first]!;
    for (let b = first; b < end; b++) {
      into[2 * (b - first)] = this.blockOffsets[b]! - runStart;
      into[2 * (b - first) + 1] = this.blockLengths[b]!;
    }
    return into.length === 2 * (end - first) ? into : into.subarray(0, 2 * (end - first));
  }

  /** A failure of the accelerator over blocks `first…end − 1`: a corruption names them and the file. */
  private runError(error: unknown, first: number, end: number): unknown {
    return error instanceof SiltError && error.code === ErrorCodes.CORRUPTION ? corruption(`blocks ${first}…${end - 1} of ${this.path}: ${error.message}`) : error;
  }

  /**
   * The index keys `decodeDataBlocks` and `checkDataBlocks` take for blocks `first…end − 1`: the
   * key of the block before (an empty placeholder before block 0), then each block's. They are
   * consecutive items of the packed index.
   */
  private runIndexKeys(first: number, end: number): PackedBytes {
    const { data, offsets } = this.indexKeys;
    if (first > 0) return { data, offsets: offsets.subarray(first - 1, end + 1) };
    const withPlaceholder = new Uint32Array(end + 2);
    withPlaceholder.set(offsets.subarray(0, end + 1), 1);
    return { data, offsets: withPlaceholder };
  }

  /** Read data block `b` into `stored` (exactly its stored size) and check it. */
  private readBlock(b: number, stored: Uint8Array): StoredBlock {
    const { data, offsets } = this.indexKeys;
    const indexKey = data.subarray(offsets[b]!, offsets[b + 1]!);
    const previous = b === 0 ? null : data.subarray(offsets[b - 1]!, offsets[b]!);
    this.view.readInto(this.blockOffsets[b]!, stored.length, stored);
    return loadStoredBlock(stored, indexKey, previous, this.accelerator, `${b} of ${this.path}`);
  }

  private checkOpen(): void {
    if (this.closedFlag) throw new SiltError(ErrorCodes.CLOSED, `table ${this.path} is closed`);
  }
}

/** The most blocks, and bytes, one read of a passing run takes. */
const PASSING_RUN_BLOCKS = 32;
const PASSING_RUN_BYTES = 64 * 1024;

/**
 * Consecutive data blocks of one table that a forward pass read in one piece and had checked in
 * one accelerator call (`TableReader.passingBlock`): the pass's own memory, reused run after run.
 */
export class PassingRun {
  bytes = new Uint8Array(0);
  /** The blocks held: `first…end − 1` (none while `end` is 0). */
  first = 0;
  end = 0;
  /** How many blocks the next read may take: doubled while the pass reads block after block. */
  span = 1;
  readonly spans = new Uint32Array(2 * PASSING_RUN_BLOCKS);
  /** Entries in each block of the run. */
  readonly counts = new Uint32Array(PASSING_RUN_BLOCKS);
}

function emptyEntries(): BlockEntries {
  return { keys: { data: new Uint8Array(0), offsets: new Uint32Array(1) }, values: { data: new Uint8Array(0), offsets: new Uint32Array(1) }, tags: new Uint8Array(0) };
}

/** The first of `count` entries of `keys` whose user key is > `userKey`. */
function firstEntryAfter(keys: PackedBytes, count: number, userKey: Uint8Array): number {
  const { data, offsets } = keys;
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareBytes(data, offsets[mid]!, offsets[mid + 1]! - TRAILER_BYTES, userKey, 0, userKey.length) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The entries with user keys in `(after, upTo]`: views of `entries`, nothing copied. */
function withinUserKeys(entries: BlockEntries, after: Uint8Array | null, upTo: Uint8Array | null): BlockEntries {
  const count = entries.tags.length;
  const from = after === null ? 0 : firstEntryAfter(entries.keys, count, after);
  const to = upTo === null ? count : firstEntryAfter(entries.keys, count, upTo);
  if (from >= to) return emptyEntries();
  if (from === 0 && to === count) return entries;
  return {
    keys: { data: entries.keys.data, offsets: entries.keys.offsets.subarray(from, to + 1) },
    values: { data: entries.values.data, offsets: entries.values.offsets.subarray(from, to + 1) },
    tags: entries.tags.subarray(from, to),
  };
}

/** Bytes `[from, from + 4)` of `data`, within `end`, as a big-endian u32, 0-padded past `end`. */
function probeAt(data: Uint8Array, from: number, end: number): number {
  let probe = 0;
  for (let i = 0; i < 4; i++) probe = probe * 256 + (from + i < end ? data[from + i]! : 0);
  return probe;
}

function sameBytes(data: Uint8Array, from: number, to: number, other: Uint8Array): boolean {
  if (to - from !== other.length) return false;
  for (let i = 0; i < other.length; i++) if (data[from + i] !== other[i]) return false;
  return true;
}
