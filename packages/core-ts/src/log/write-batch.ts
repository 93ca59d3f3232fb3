/**
 * A write batch: consecutive records bound for one segment, framed into one buffer so that they
 * reach the file in one write call, and acknowledged together by one promise. Buffers come from a
 * small pool, so a busy log recycles the same few buffers instead of allocating per batch.
 *
 * Payloads are copied into the buffer as they are appended, behind 12 bytes left for their headers;
 * the writer records where each record starts (the segment's offset list, which the log keeps
 * anyway), and `checksum()` writes the headers (length, inverted length, checksum) of the records
 * framed since its last call in one accelerator call from those starts, when the batch is sealed.
 * Many bytes of small records at once are checksummed off the main thread (`sealLogBatch`, on the
 * libuv threadpool with the native accelerator; large records are checksummed in place, see
 * `IN_PLACE_CHECKSUM_RECORD_BYTES`): the pump awaits `sealing` before it writes the batch, and the
 * buffer goes back to the pool only once that job has settled. No byte of a batch reaches a file
 * unsealed.
 */
import { accel } from '@siltdb/bindings';
import { RECORD_HEADER_BYTES } from './record-layout.js';
import type { Segment } from './segment.js';

/**
 * Unchecksummed records of at least this many bytes are checksummed off the main thread; fewer are
 * checksummed in place (the hand-over costs a few microseconds, more than a small batch's CRC).
 */
export const BACKGROUND_CHECKSUM_BYTES = 64 * 1024;

/**
 * A long call framed into one batch has its records checksummed in the background in runs of
 * about this many bytes as it goes (`checksumAhead`), so that when the call ends only a short tail
 * is left, checksummed in place. Checksumming a whole 1 MiB call once it was framed left its write
 * waiting for the job (~75 us of CRC for 100-byte records, ~150-200 us with the hand-over on a busy
 * machine) while nothing else could run; each run costs the main thread ~3-10 us of job set-up.
 */
export const CHECKSUM_AHEAD_BYTES = 256 * 1024;

/**
 * Records averaging at least this many bytes are checksummed in place on the main thread, however
 * many bytes they add up to. For them the CRC is a small part of framing (about 15 us per 256 KiB
 * of 4 KiB records, on bytes the copy just brought into the cache), the writes are what limit an
 * append burst, and a background job costs about as much main-thread time to set up as it saves,
 * while its thread competes with the write syscall's for the CPUs (measured with appendMany in
 * 1 MiB calls of 4 KiB records: total CPU per 128 MiB 104 -> 80 ms, main thread unchanged). Small
 * records keep the background jobs: there framing is what limits, and the CRC's per-record cost
 * is worth moving off the main thread.
 */
export const IN_PLACE_CHECKSUM_RECORD_BYTES = 1024;

/** Scratch payload spans for checksumming a few records in place (grown on demand). */
let scratchSpans = new Uint32Array(256);

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
  /**
   * The background checksum jobs of the batch's records (see `checksum`, `checksumAhead`): settles
   * once all of them have, rejecting if any failed. Null if none was started.
   */
  sealing: Promise<void> | null = null;
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
    if (this.sealing !== null) throw new Error('a batch with checksum jobs in flight cannot grow');
    // Doubling, but not past what the pool keeps, unless one record needs more.
    const grown = this.pool.take(Math.max(needed, Math.min(this.buffer.length * 2, this.pool.largestKept)));
    this.buffer.copy(grown, 0, 0, this.length);
    this.pool.give(this.buffer);
    this.buffer = grown;
  }

  /**
   * Write the headers of the records framed since the last call, in one accelerator call, from
   * their starts in the segment's offset list. Many bytes go to a background job (`sealing`), after
   * which the batch must take no more records (the caller seals it); a few are done in place.
   */
  checksum(): void {
    // (The offsets of these records stay as they are while a job runs: a list that grows moves
    // to a new array, and the job keeps the old one; a cut or a rollback waits for the writes.)
    const starts = this.uncheckedStarts();
    if (starts === null) return;
    // (After runs checksummed ahead, the tail is short: in place, without another hand-over.)
    const bytes = this.length - (starts[0]! - this.position);
    if (this.sealing === null && bytes >= BACKGROUND_CHECKSUM_BYTES && bytes < starts.length * IN_PLACE_CHECKSUM_RECORD_BYTES) {
      this.addJob(accel.sealLogBatch(this.buffer, starts, this.position, this.length));
    } else {
      accel.sealLogRecords(this.buffer, payloadSpans(starts, this.position, this.length));
    }
    this.checksummed = this.count;
  }

  /**
   * Checksum the records framed since the last call in the background while more records are
   * framed into the buffer behind them: the job gets a view of exactly their bytes and of their
   * starts in the segment's offset list, so framing the next records never touches what it reads
   * or writes; a rollback of the call seals the batch and moves the offset list to a new array
   * (see `LogWriter.undoCall`), so the job's starts stay as they were. (A copy of the starts per
   * job cost ~13 us of main-thread time in the native call, a fresh array each time: more than
   * half of what checksumming 256 KiB of 100-byte records in place costs.) The buffer must not
   * move (`reserve`) while `sealing` is set.
   */
  checksumAhead(): void {
    const starts = this.uncheckedStarts();
    if (starts === null) return;
    const at = starts[0]! - this.position;
    this.addJob(accel.sealLogBatch(this.buffer.subarray(at, this.length), starts, starts[0]!, this.length - at));
    this.checksummed = this.count;
  }

  /**
   * Where the records framed since the last `checksum` or `checksumAhead` start (file offsets, a
   * view of the segment's offset list), or null when there are none.
   */
  private uncheckedStarts(): Uint32Array | null {
    const from = this.checksummed;
    const to = this.count;
    if (from === to) return null;
    const first = this.firstIndex - this.segment.start;
    return this.segment.offsets!.view(first + from, first + to);
  }

  /** Buffer offset where the records without a checksum (or a job computing it) start. */
  unsealedFrom(): number {
    const from = this.checksummed;
    if (from === this.count) return this.length;
    return this.segment.offsets!.at(this.firstIndex - this.segment.start + from) - this.position;
  }

  private addJob(job: Promise<void>): void {
    const previous = this.sealing;
    const all = previous === null ? job : bothSettled(previous, job);
    // The pump awaits the jobs and reports a failure; this keeps an abandoned batch's failure from
    // being an unhandled rejection.
    all.catch(() => {});
    this.sealing = all;
  }

  /** Bytes of records whose headers are not written yet. */
  unsealedBytes(): number {
    return this.length - this.unsealedFrom();
  }

  /** Return the buffer to the pool once the batch is written (or abandoned), and its checksum job is done. */
  recycle(): void {
    const buffer = this.buffer;
    const pool = this.pool;
    if (this.sealing === null) pool.give(buffer);
    else void this.sealing.then(() => pool.give(buffer), () => pool.give(buffer));
    this.buffer = EMPTY;
    this.length = 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** Settles once both have settled (the buffer is free of both jobs), rejecting if either failed. */
async function bothSettled(a: Promise<void>, b: Promise<void>): Promise<void> {
  const [first, second] = await Promise.allSettled([a, b]);
  if (first.status === 'rejected') throw first.reason;
  if (second.status === 'rejected') throw second.reason;
}

/**
 * The payload spans (start, end in the buffer) of records that start at `starts` (file offsets of
 * a buffer that begins at file offset `shift`), the last one ending at `end`: for checksumming a
 * few records in place. The result is a scratch array, valid until the next call.
 */
function payloadSpans(starts: Uint32Array, shift: number, end: number): Uint32Array {
  const count = starts.length;
  if (scratchSpans.length < 2 * count) scratchSpans = new Uint32Array(Math.max(2 * count, 2 * scratchSpans.length));
  const spans = scratchSpans;
  for (let k = 0; k < count; k++) {
    spans[2 * k] = starts[k]! - shift + RECORD_HEADER_BYTES;
    spans[2 * k + 1] = k + 1 < count ? starts[k + 1]! - shift : end;
  }
  return spans.subarray(0, 2 * count);
}
