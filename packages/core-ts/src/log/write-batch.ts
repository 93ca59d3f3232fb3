/**
 * A write batch: consecutive records bound for one segment, framed into one buffer so that they
 * reach the file in one write call, and acknowledged together by one promise. Buffers come from a
 * small pool, so a busy log recycles the same few buffers instead of allocating per batch.
 */
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
    return Buffer.allocUnsafeSlow(Math.max(minimum, MIN_BATCH_CAPACITY));
  }

  give(buffer: Buffer): void {
    if (buffer.length <= this.largestKept && this.spare.length < this.maxSpare) this.spare.push(buffer);
  }
}

export class WriteBatch {
  /** Bytes framed so far in `buffer`. */
  length = 0;
  /** Records in the batch. */
  count = 0;
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

  /** Return the buffer to the pool once the batch is written (or abandoned). */
  recycle(): void {
    this.pool.give(this.buffer);
    this.buffer = EMPTY;
    this.length = 0;
  }
}

const EMPTY = Buffer.alloc(0);
