/**
 * A write batch: consecutive records bound for one segment, framed into one buffer so that they
 * reach the file in one write call, and acknowledged together by one promise. Buffers come from a
 * small pool, so a busy log recycles the same few buffers instead of allocating per batch.
 *
 * Payloads are copied into the buffer as they are appended, behind 12 bytes left for their headers;
 * the writer records where each payload starts and ends (its "spans"), and `checksum()` writes the
 * headers (length, inverted length, checksum) of the records framed since its last call in one
 * accelerator call from those spans: once when the batch is sealed, and also at the end of an
 * append call that framed many bytes. No byte of a batch reaches a file unsealed.
 */
import { accel } from '@siltdb/bindings';
import type { Segment } from './segment.js';

/** Batches start this small, so a single fsync'd append does not pay for a large buffer. */
const MIN_BATCH_CAPACITY = 4096;

export class BufferPool {
  private readonly spare: Buffer[] = [];

  constructor(
    /** Buffers larger than this (grown for an oversized record) are not kept. */
    readonly largestKept: number,
    /** Spare buffers kept: enough for the batches of a busy pipeline, not a cache of memory. */
    private readonly maxSpare: number,
  ) {}

  take(minimum: number): Buffer {
    for (let i = this.spare.length - 1; i >= 0; i--) {
      const buffer = this.spare[i]!;
      if (buffer.length >= minimum) {
        this.spare.splice(i, 1);
        return buffer;
      }
    }
    return Buffer.allocUnsafeSlow(this.sizeFor(minimum));
  }

  /**
   * Buffers come in powers of two (or exactly `largestKept`), so that a spare fits the next request
   * of about the same size: sized exactly, a spare of 1,047,540 bytes would not serve a batch that
   * asks for 1,047,560, and a busy log would allocate (and page-fault in) a fresh buffer per batch.
   */
  private sizeFor(minimum: number): number {
    let size = MIN_BATCH_CAPACITY;
    while (size < minimum) size *= 2;
    return size <= this.largestKept ? size : Math.max(minimum, this.largestKept);
  }

  give(buffer: Buffer): void {
    if (buffer.length > this.largestKept || buffer.length === 0) return;
    if (this.spare.length < this.maxSpare) {
      this.spare.push(buffer);
      return;
    }
    // Full: keep the larger buffers. Small ones (left behind when a batch grew) are cheap to
    // allocate again; a full-size one dropped here would be allocated and faulted in again.
    let smallest = 0;
    for (let i = 1; i < this.spare.length; i++) if (this.spare[i]!.length < this.spare[smallest]!.length) smallest = i;
    if (this.spare[smallest]!.length < buffer.length) this.spare[smallest] = buffer;
  }
}

export class WriteBatch {
  /** Bytes framed so far in `buffer`. */
  length = 0;
  /** Records in the batch. */
  count = 0;
  /** Records [0, checksummed) have their headers written. */
  checksummed = 0;
  /** Where the first record starts in `buffer` (after the segment's stamp when the batch creates the file). */
  recordsFrom = 0;
  readonly createdAt = Date.now();
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor(
    readonly segment: Segment,
    /** File offset of the batch's first byte. */
    readonly position: number,
    readonly firstIndex: number,
    public buffer: Buffer,
    private readonly pool: BufferPool,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  get bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** Make room for `extra` more bytes, doubling the buffer as needed. */
  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    // Doubling, but not past what the pool keeps, unless one record needs more.
    const grown = this.pool.take(Math.max(needed, Math.min(this.buffer.length * 2, this.pool.largestKept)));
    this.buffer.copy(grown, 0, 0, this.length);
    this.pool.give(this.buffer);
    this.buffer = grown;
  }

  /**
   * Write the headers of the records framed since the last call, in one accelerator call.
   * `spans[2k]` and `spans[2k + 1]` are where the payload of record `k` starts and ends in `buffer`.
   */
  checksum(spans: Uint32Array): void {
    const from = this.checksummed;
    const to = this.count;
    if (from === to) return;
    accel.sealLogRecords(this.buffer, spans.subarray(2 * from, 2 * to));
    this.checksummed = to;
  }

  /** Bytes of records whose headers are not written yet (`spans` as for `checksum`). */
  unsealedBytes(spans: Uint32Array): number {
    const from = this.checksummed;
    if (from === this.count) return 0;
    return this.length - (from === 0 ? this.recordsFrom : spans[2 * from - 1]!);
  }

  /** Return the buffer to the pool once the batch is written (or abandoned). */
  recycle(): void {
    this.pool.give(this.buffer);
    this.buffer = EMPTY;
    this.length = 0;
  }
}

const EMPTY = Buffer.alloc(0);
