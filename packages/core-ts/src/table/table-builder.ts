/**
 * Writing a table file (FORMAT.md §5) from entries handed over in internal-key order: data blocks
 * through the accelerator's `encodeBlock`, then the index, the bloom filter, the properties and the
 * footer. Output goes through the VFS in large sequential `writev`s of whole encoded blocks; the
 * file is fsynced and closed by `finish`, and its directory entry was made durable when it was
 * created, so a finished table survives a crash before any manifest edit names it.
 */
import { accel, type Accelerator } from '@siltdb/bindings';
import { ErrorCodes, SiltError } from '../errors.js';
import { compareBytes, Kind, MAX_KEY_BYTES, MAX_SEQ, readTrailer, TRAILER_BYTES } from '../keys/internal-key.js';
import type { Vfs, VfsFile } from '../vfs/types.js';
import { BloomFilterBuilder, DEFAULT_BITS_PER_KEY, validateBitsPerKey } from './bloom.js';
import { copyBytes, GrowableBytes, GrowableU32, varintLength } from './bytes.js';
import { appendHandle, encodeFooter, MAX_TABLE_BYTES, sealBlock, type BlockHandle } from './format.js';
import { encodeProperties, type TableProperties } from './properties.js';

export const DEFAULT_BLOCK_SIZE = 4096;
export const DEFAULT_RESTART_INTERVAL = 16;
export const DEFAULT_WRITE_BUFFER_BYTES = 1 << 20;
/** The index is searched on decoded arrays, so its restart interval only trades size for nothing. */
const INDEX_RESTART_INTERVAL = 16;

export interface TableBuilderOptions {
  readonly vfs: Vfs;
  /** The file to create; it must not exist. */
  readonly path: string;
  /** The table's file number: the block cache key, and the name the manifest gives it. */
  readonly fileNumber: number;
  /** Cut a data block once its payload reaches this many bytes. Default 4096. */
  readonly blockSize?: number;
  /** Entries per restart group in data blocks. Default 16. */
  readonly restartInterval?: number;
  /** LZ4 per data block, kept only where it saves ≥ 12.5 % (FORMAT §3). Default `false`. */
  readonly compress?: boolean;
  /** Bloom filter bits per distinct user key, 1..64. Default 10 (about 1 % false positives). */
  readonly bitsPerKey?: number;
  /** Encoded blocks gathered before one `writev`. Default 1 MiB. */
  readonly writeBufferBytes?: number;
  /** The accelerator encoding blocks and checksums. Default: the process-wide `accel`. */
  readonly accelerator?: Accelerator;
}

/** What a finished table is: what the manifest records about it. */
export interface TableMeta {
  readonly fileNumber: number;
  readonly path: string;
  readonly fileSize: number;
  readonly smallestKey: Uint8Array;
  readonly largestKey: Uint8Array;
  readonly minSeq: number;
  readonly maxSeq: number;
  readonly entryCount: number;
  readonly properties: TableProperties;
}

function invalid(message: string): SiltError {
  return new SiltError(ErrorCodes.INVALID_ARGUMENT, message);
}

function integerOption(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

type State = 'open' | 'finishing' | 'finished' | 'failed' | 'abandoned';

export class TableBuilder {
  readonly path: string;
  readonly fileNumber: number;
  private readonly file: VfsFile;
  private readonly vfs: Vfs;
  private readonly accelerator: Accelerator;
  private readonly blockSize: number;
  private readonly restartInterval: number;
  private readonly compress: boolean;
  private readonly writeBufferBytes: number;
  private state: State = 'open';

  // The data block being filled, packed as `encodeBlock` takes it; reused for every block.
  private readonly blockKeys = new GrowableBytes(8192);
  private readonly blockKeyOffsets = new GrowableU32(256);
  private readonly blockValues = new GrowableBytes(8192);
  private readonly blockValueOffsets = new GrowableU32(256);
  private readonly blockTags = new GrowableBytes(256);
  /** Exact FORMAT §3 entry bytes of the block so far (without the restart array and count). */
  private blockEntryBytes = 0;

  // The index: one entry per finished data block.
  private readonly indexKeys = new GrowableBytes(4096);
  private readonly indexKeyOffsets = new GrowableU32(64);
  private readonly indexValues = new GrowableBytes(1024);
  private readonly indexValueOffsets = new GrowableU32(64);
  /** The last key of the previous data block, for the order check across a block boundary. */
  private previousBlockLastKey: Uint8Array | null = null;

  private readonly filter: BloomFilterBuilder;

  // Properties, accumulated per entry.
  private smallestKey: Uint8Array | null = null;
  private minSeq = MAX_SEQ;
  private maxSeq = 0;
  private entries = 0;
  private tombstones = 0;
  private rawKeyBytes = 0;
  private rawValueBytes = 0;
  private dataBlocks = 0;

  // Output: encoded blocks not yet handed to the file, and the write chain behind them.
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** File offset of the next block to be produced (everything before it is pending or written). */
  private fileOffset = 0;
  /** File offset where the pending chunks go. */
  private pendingOffset = 0;
  private inFlightBytes = 0;
  /** Resolves when every started write has settled; never rejects (failures land in `failure`). */
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown = undefined;

  private constructor(options: TableBuilderOptions, file: VfsFile, bitsPerKey: number) {
    this.vfs = options.vfs;
    this.path = options.path;
    this.fileNumber = options.fileNumber;
    this.file = file;
    this.accelerator = options.accelerator ?? accel;
    this.blockSize = integerOption(options.blockSize, 'blockSize', DEFAULT_BLOCK_SIZE, 1, 1 << 28);
    this.restartInterval = integerOption(options.restartInterval, 'restartInterval', DEFAULT_RESTART_INTERVAL, 1, 65535);
    this.compress = options.compress ?? false;
    this.writeBufferBytes = integerOption(options.writeBufferBytes, 'writeBufferBytes', DEFAULT_WRITE_BUFFER_BYTES, 1, 1 << 30);
    this.filter = new BloomFilterBuilder(bitsPerKey);
    this.blockKeyOffsets.push(0);
    this.blockValueOffsets.push(0);
    this.indexKeyOffsets.push(0);
    this.indexValueOffsets.push(0);
  }

  /** Create the table file (it must not exist) and a builder writing it. */
  static async create(options: TableBuilderOptions): Promise<TableBuilder> {
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    if (typeof options.path !== 'string' || options.path.length === 0) throw invalid('path must be a non-empty string');
    if (!Number.isSafeInteger(options.fileNumber) || options.fileNumber < 0) {
      throw invalid('fileNumber must be a non-negative safe integer');
    }
    if (options.compress !== undefined && typeof options.compress !== 'boolean') throw invalid('compress must be a boolean');
    const bitsPerKey = options.bitsPerKey === undefined ? DEFAULT_BITS_PER_KEY : validateBitsPerKey(options.bitsPerKey);
    // Validate the remaining options before creating the file, so bad input leaves nothing behind.
    integerOption(options.blockSize, 'blockSize', DEFAULT_BLOCK_SIZE, 1, 1 << 28);
    integerOption(options.restartInterval, 'restartInterval', DEFAULT_RESTART_INTERVAL, 1, 65535);
    integerOption(options.writeBufferBytes, 'writeBufferBytes', DEFAULT_WRITE_BUFFER_BYTES, 1, 1 << 30);
    const file = await options.vfs.open(options.path, { mode: 'exclusive', durable: true });
    return new TableBuilder(options, file, bitsPerKey);
  }

  /** Entries added so far. */
  get entryCount(): number {
    return this.entries;
  }

  /** The file size so far, counting the data block being filled: for cutting compaction output. */
  get estimatedFileSize(): number {
    return this.fileOffset + this.blockPayloadBytes();
  }

  /**
   * Add one entry. `internalKey` must sort strictly after the previous one (else
   * `INVALID_ARGUMENT`, and nothing changes); a DELETE carries an empty value. The bytes are copied,
   * so the caller may reuse its buffers.
   *
   * Returns a promise when the caller should wait before adding more — writes are falling behind
   * and encoded blocks are piling up in memory — and `undefined` otherwise. The promise never
   * rejects: a write failure is thrown by the next `add` or by `finish`.
   */
  add(internalKey: Uint8Array, kind: Kind, value: Uint8Array): Promise<void> | undefined {
    this.checkUsable();
    if (!(internalKey instanceof Uint8Array)) throw invalid('internal key must be a Uint8Array');
    if (!(value instanceof Uint8Array)) throw invalid('value must be a Uint8Array');
    return this.addRange(internalKey, 0, internalKey.length, kind, value, 0, value.length);
  }

  /**
   * `add` for an entry whose internal key is `keyData[keyFrom, keyTo)` and whose value is
   * `valueData[valueFrom, valueTo)`: a compaction writes entries straight from the runs it merged,
   * without two views per entry (allocating them was about a tenth of a churn's compaction time).
   */
  addRange(
    keyData: Uint8Array, keyFrom: number, keyTo: number,
    kind: Kind,
    valueData: Uint8Array, valueFrom: number, valueTo: number,
  ): Promise<void> | undefined {
    this.checkUsable();
    const keyLength = keyTo - keyFrom;
    const valueLength = valueTo - valueFrom;
    if (!(keyFrom >= 0 && keyLength >= 0 && keyTo <= keyData.length)) throw invalid('internal key range outside its buffer');
    if (!(valueFrom >= 0 && valueLength >= 0 && valueTo <= valueData.length)) throw invalid('value range outside its buffer');
    const userLength = keyLength - TRAILER_BYTES;
    if (userLength < 0) throw invalid(`internal key of ${keyLength} bytes is shorter than its trailer`);
    if (userLength > MAX_KEY_BYTES) throw invalid(`user key of ${userLength} bytes exceeds ${MAX_KEY_BYTES}`);
    const userEnd = keyFrom + userLength;
    // The trailer holds 2^53 − 1 − seq: its top 11 bits are zero for every valid seq.
    if (keyData[userEnd] !== 0 || (keyData[userEnd + 1]! & 0xe0) !== 0) {
      throw invalid('internal key trailer does not hold a valid sequence number');
    }
    const seq = readTrailer(keyData, userEnd);
    if (seq < 1) throw invalid('sequence number 0 is never used');
    if (kind !== Kind.Delete && kind !== Kind.Put && kind !== Kind.Pointer) throw invalid(`unknown kind ${String(kind)}`);
    if (kind === Kind.Delete && valueLength !== 0) throw invalid('a DELETE entry has an empty value');

    // Order against the previous key: in this block's buffer, or the previous block's last key.
    const count = this.blockTags.length;
    let sameUserKey = false;
    let prevData: Uint8Array | null = null;
    let prevFrom = 0;
    let prevTo = 0;
    if (count > 0) {
      prevData = this.blockKeys.bytes;
      prevFrom = this.blockKeyOffsets.values[count - 1]!;
      prevTo = this.blockKeyOffsets.values[count]!;
    } else if (this.previousBlockLastKey !== null) {
      prevData = this.previousBlockLastKey;
      prevTo = prevData.length;
    }
    if (prevData !== null) {
      const prevUserEnd = prevTo - TRAILER_BYTES;
      const byUser = compareBytes(prevData, prevFrom, prevUserEnd, keyData, keyFrom, userEnd);
      const order = byUser !== 0 ? byUser : compareBytes(prevData, prevUserEnd, prevTo, keyData, userEnd, keyTo);
      if (order >= 0) {
        throw invalid(`entry ${this.entries} is not strictly after the previous internal key (user key first, then newer seq first)`);
      }
      sameUserKey = byUser === 0;
    }

    // Exact encoded size of this entry, so blocks are cut at the configured payload size.
    let shared = 0;
    if (count % this.restartInterval !== 0) {
      const limit = Math.min(prevTo - prevFrom, keyLength);
      const prev = this.blockKeys.bytes;
      while (shared < limit && prev[prevFrom + shared] === keyData[keyFrom + shared]) shared++;
    }
    const unshared = keyLength - shared;
    this.blockEntryBytes +=
      varintLength(shared) + varintLength(unshared) + varintLength(valueLength) + 1 + unshared + valueLength;

    this.blockKeys.appendRange(keyData, keyFrom, keyTo);
    this.blockKeyOffsets.push(this.blockKeys.length);
    this.blockValues.appendRange(valueData, valueFrom, valueTo);
    this.blockValueOffsets.push(this.blockValues.length);
    this.blockTags.pushByte(kind);
    if (!sameUserKey) this.filter.addKey(keyData, keyFrom, userEnd);

    if (this.smallestKey === null) this.smallestKey = copyBytes(keyData, keyFrom, keyTo);
    if (seq < this.minSeq) this.minSeq = seq;
    if (seq > this.maxSeq) this.maxSeq = seq;
    this.entries++;
    if (kind === Kind.Delete) this.tombstones++;
    this.rawKeyBytes += keyLength;
    this.rawValueBytes += valueLength;

    if (this.blockPayloadBytes() >= this.blockSize) return this.finishDataBlock();
    return undefined;
  }

  /**
   * Write the index, filter, properties and footer, fsync and close the file. A table holds at
   * least one entry (an empty one has no key range to record): finishing an empty builder is
   * `INVALID_ARGUMENT` and removes the file. On any failure the file is closed and removed.
   */
  async finish(valueLogBytes?: ReadonlyMap<number, number>): Promise<TableMeta> {
    this.checkUsable();
    this.state = 'finishing';
    try {
      if (this.entries === 0) throw invalid('a table needs at least one entry');
      if (this.blockTags.length > 0) this.finishDataBlock();
      const accelerator = this.accelerator;

      const indexBlock = accelerator.encodeBlock(
        {
          keys: { data: this.indexKeys.view(), offsets: this.indexKeyOffsets.view() },
          values: { data: this.indexValues.view(), offsets: this.indexValueOffsets.view() },
          tags: new Uint8Array(this.dataBlocks),
        },
        { restartInterval: INDEX_RESTART_INTERVAL, compress: false },
      );
      const index = this.appendBlock(indexBlock);
      const filter = this.appendBlock(sealBlock(this.filter.finish(), accelerator));
      const properties: TableProperties = {
        smallestKey: this.smallestKey!,
        largestKey: this.previousBlockLastKey!,
        minSeq: this.minSeq,
        maxSeq: this.maxSeq,
        entryCount: this.entries,
        tombstoneCount: this.tombstones,
        rawKeyBytes: this.rawKeyBytes,
        rawValueBytes: this.rawValueBytes,
        dataBlockCount: this.dataBlocks,
        // Bytes the table's pointers reference per value-log segment (the caller counts them).
        valueLogBytes: new Map(valueLogBytes ?? []),
      };
      const propertiesHandle = this.appendBlock(sealBlock(encodeProperties(properties), accelerator));
      this.appendBlock(encodeFooter({ index, filter, properties: propertiesHandle }, accelerator));

      this.startWrite();
      await this.writing;
      if (this.failure !== undefined) throw this.failure;
      await this.file.sync();
      await this.file.close();
      this.state = 'finished';
      return {
        fileNumber: this.fileNumber,
        path: this.path,
        fileSize: this.fileOffset,
        smallestKey: properties.smallestKey,
        largestKey: properties.largestKey,
        minSeq: properties.minSeq,
        maxSeq: properties.maxSeq,
        entryCount: properties.entryCount,
        properties,
      };
    } catch (error) {
      await this.discard();
      this.state = 'failed';
      throw error;
    }
  }

  /** Stop building: close and remove the file. Idempotent; a no-op after `finish`. */
  async abandon(): Promise<void> {
    if (this.state === 'finished' || this.state === 'abandoned' || this.state === 'failed') return;
    this.state = 'abandoned';
    await this.discard();
  }

  private checkUsable(): void {
    if (this.failure !== undefined) {
      this.state = 'failed';
      throw this.failure;
    }
    if (this.state !== 'open') {
      throw new SiltError(ErrorCodes.CLOSED, `table builder for ${this.path} is ${this.state === 'finishing' ? 'finishing' : this.state}`);
    }
  }

  /** Close and unlink after waiting for in-flight writes; cleanup errors are secondary and dropped. */
  private async discard(): Promise<void> {
    await this.writing;
    await this.file.close().catch(() => {});
    await this.vfs.unlink(this.path).catch(() => {});
  }

  /** FORMAT §3 payload size of the block being filled: entries, restart array, restart count. */
  private blockPayloadBytes(): number {
    const count = this.blockTags.length;
    return this.blockEntryBytes + 4 * Math.ceil(count / this.restartInterval) + 4;
  }

  private finishDataBlock(): Promise<void> | undefined {
    const count = this.blockTags.length;
    let block: Uint8Array;
    try {
      block = this.accelerator.encodeBlock(
        {
          keys: { data: this.blockKeys.view(), offsets: this.blockKeyOffsets.view() },
          values: { data: this.blockValues.view(), offsets: this.blockValueOffsets.view() },
          tags: this.blockTags.view(),
        },
        { restartInterval: this.restartInterval, compress: this.compress },
      );
    } catch (error) {
      // The entry that overflowed the block is already in it: the builder cannot go on.
      this.failure = error;
      throw error;
    }
    const handle = this.appendBlock(block);
    const lastKey = copyBytes(this.blockKeys.bytes, this.blockKeyOffsets.values[count - 1]!, this.blockKeyOffsets.values[count]!);
    this.indexKeys.append(lastKey);
    this.indexKeyOffsets.push(this.indexKeys.length);
    appendHandle(this.indexValues, handle);
    this.indexValueOffsets.push(this.indexValues.length);
    this.previousBlockLastKey = lastKey;
    this.dataBlocks++;

    this.blockKeys.reset();
    this.blockValues.reset();
    this.blockTags.reset();
    this.blockKeyOffsets.reset();
    this.blockKeyOffsets.push(0);
    this.blockValueOffsets.reset();
    this.blockValueOffsets.push(0);
    this.blockEntryBytes = 0;

    if (this.pendingBytes < this.writeBufferBytes) return undefined;
    return this.startWrite();
  }

  /** Queue an encoded block at the end of the file; returns its handle. */
  private appendBlock(block: Uint8Array): BlockHandle {
    const offset = this.fileOffset;
    if (offset + block.length > MAX_TABLE_BYTES) {
      const error = invalid(`table ${this.path} would exceed ${MAX_TABLE_BYTES} bytes`);
      this.failure = error;
      throw error;
    }
    this.pending.push(block);
    this.pendingBytes += block.length;
    this.fileOffset += block.length;
    return { offset, length: block.length };
  }

  /**
   * Hand the pending chunks to the file as one `writev`, chained after earlier writes. Returns the
   * chain before this write when an earlier write is still in flight: waiting on it lets one write
   * overlap with encoding while bounding the blocks held in memory.
   */
  private startWrite(): Promise<void> | undefined {
    if (this.pendingBytes === 0) return undefined;
    const chunks = this.pending;
    const bytes = this.pendingBytes;
    const position = this.pendingOffset;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingOffset += bytes;
    const earlierInFlight = this.inFlightBytes > 0;
    this.inFlightBytes += bytes;
    const before = this.writing;
    this.writing = before
      .then(() => (this.failure === undefined ? this.file.writev(chunks, position) : undefined))
      .then(
        () => {
          this.inFlightBytes -= bytes;
        },
        (error: unknown) => {
          this.failure ??= error;
          this.inFlightBytes -= bytes;
        },
      );
    return earlierInFlight ? before : undefined;
  }
}
