/**
 * `IndexedLog<T>`: a durable, append-only sequence of entries numbered by consecutive indexes,
 * stored in segment files with a length and a CRC32C per record (docs/FORMAT.md §4). The engine's
 * WAL, its manifest and the versioned store's changelog are all built on it.
 *
 * The entries present are [firstIndex, nextIndex); `firstIndex ≤ nextIndex` always holds and an
 * empty log has `firstIndex === nextIndex`. Indexes are never reused: `truncateAll()` empties the
 * log but keeps `nextIndex`, across reopening too.
 *
 * Concurrency: calls take effect in the order they are made. Appends are assigned their index when
 * called (no await in between) and are written by one pump (log-writer.ts). Truncations, `sync` and
 * `close` are exclusive: each waits until every earlier append is written and every earlier read
 * has finished, and calls made while one is queued or running wait in a queue behind it. When an
 * exclusive call resolves, the calls queued behind it have started, so `nextIndex` counts them.
 *
 * Errors: every failure is a `SiltError` with a stable code. A bad argument (`INVALID_ARGUMENT`,
 * `OUT_OF_RANGE`), a codec that throws, a use after close (`CLOSED`) or a rejected verification
 * (`VERIFY_REJECTED`) leaves the log unchanged. A failed write or fsync (`IO_ERROR`) poisons the
 * log: later writes fail with `POISONED` until it is reopened; reads keep working.
 */
import { join } from 'node:path';
import { ErrorCodes, siltError, type SiltError } from '../errors.js';
import type { VfsLock } from '../vfs/types.js';
import { describe, invalidArgument, outOfRange, requireIndex } from './arguments.js';
import { bytesCodec, type Codec } from './codec.js';
import { LOCK_FILE } from './file-names.js';
import { writeFirstIndexFile } from './first-index-file.js';
import { decodeIndexStamp, INDEX_STAMP_BYTES, SEGMENT_MAGIC } from './index-stamp.js';
import type { LogState } from './log-state.js';
import { LogWriter, type Durability } from './log-writer.js';
import { OffsetList } from './offset-list.js';
import { resolveLogOptions, type IndexedLogOptions, type ResolvedLogOptions } from './options.js';
import { RECORD_HEADER_BYTES, scanRecords } from './record.js';
import { recoverLog } from './recovery.js';
import type { Segment } from './segment.js';
import type { WriteBatch } from './write-batch.js';
import { decodeEntry, defectError, loadSealedSegment, readSegmentEntries, readWholeFile } from './segment-reader.js';

/**
 * Called by `truncateBefore(i, verify)` with entry `i` before anything is cut. Returning `false`
 * rejects the truncation (`VERIFY_REJECTED`); throwing rejects it with the thrown error.
 */
export type VerifyEntry<T> = (entry: T, index: number) => boolean | void | Promise<boolean | void>;

/** Entries read per step of an iteration. */
const ITERATION_CHUNK = 1024;

/**
 * A call waiting behind an exclusive operation: `start` runs synchronously when its turn comes (it
 * frames an append or registers a read); `run` is an exclusive operation, and returns the function
 * that settles its caller's promise.
 */
type QueuedCall = { readonly exclusive: false; readonly start: () => void } | { readonly exclusive: true; readonly run: () => Promise<() => void> };

export class IndexedLog<T> implements AsyncIterable<T> {
  private readonly writer: LogWriter;
  /** Calls waiting behind an exclusive operation, in call order. */
  private readonly queue: QueuedCall[] = [];
  /** An exclusive operation is running, or calls queued behind one are being started. */
  private processing = false;
  private activeReads = 0;
  private readsFinished: Promise<void> = Promise.resolve();
  private finishReads: () => void = () => {};
  /** `close()` was called: new calls fail with `CLOSED`. */
  private closing: Promise<void> | null = null;
  /** `close()` ran: calls queued before it also fail with `CLOSED`. */
  private isClosed = false;

  private constructor(
    private readonly state: LogState,
    private readonly codec: Codec<T>,
    private readonly options: ResolvedLogOptions,
    private readonly lock: VfsLock,
  ) {
    this.writer = new LogWriter(state, options);
  }

  /**
   * Open the log in `dir` (created if missing), taking its lock: a second open of the same
   * directory, from this process or another, fails with `LOCKED` until this one is closed.
   */
  static async open<T>(dir: string, codec: Codec<T>, options?: IndexedLogOptions): Promise<IndexedLog<T>> {
    if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument(`dir must be a non-empty string, got ${describe(dir)}`);
    if (codec === null || typeof codec !== 'object' || typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
      throw invalidArgument('codec must have encode and decode functions');
    }
    const resolved = resolveLogOptions(options);
    const vfs = resolved.vfs;
    await vfs.mkdir(dir, { recursive: true, durable: true });
    const lock = await vfs.lock(join(dir, LOCK_FILE));
    try {
      return new IndexedLog(await recoverLog(vfs, dir), codec, resolved, lock);
    } catch (error) {
      await lock.release().catch(() => {});
      throw error;
    }
  }

  get dir(): string {
    return this.state.dir;
  }

  get durability(): Durability {
    return this.options.durability;
  }

  /** The index of the oldest entry (equal to `nextIndex` when the log is empty). */
  get firstIndex(): number {
    return this.state.firstIndex;
  }

  /** The index the next append gets. Appends not yet acknowledged are counted. */
  get nextIndex(): number {
    return this.state.nextIndex;
  }

  get count(): number {
    return this.state.nextIndex - this.state.firstIndex;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** Whether an earlier write failure makes the log refuse writes until reopened. */
  get poisoned(): boolean {
    return this.state.poisonedBy !== null;
  }

  /** Append one entry; resolves with its index once it is as durable as the log's mode promises. */
  append(value: T): Promise<number> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    if (!this.processing) return this.appendNow(value);
    return new Promise((resolve, reject) => this.queue.push({ exclusive: false, start: () => this.appendNow(value).then(resolve, reject) }));
  }

  /**
   * Append several entries as one call (in `sync` mode, one fsync for all of them). Either all are
   * accepted or, when one cannot be encoded, none is. Resolves with their indexes. The array is
   * read before the call returns, so the caller may refill it for the next call right away.
   */
  appendMany(values: readonly T[]): Promise<number[]> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    if (!Array.isArray(values)) return Promise.reject(invalidArgument(`appendMany takes an array, got ${describe(values)}`));
    if (!this.processing) return this.appendManyNow(values);
    // Queued behind an exclusive operation: keep the entries as they are now.
    const entries = values.slice();
    return new Promise((resolve, reject) => this.queue.push({ exclusive: false, start: () => this.appendManyNow(entries).then(resolve, reject) }));
  }

  /** Entries [from, to). */
  async read(from: number, to: number): Promise<T[]> {
    this.throwIfClosed();
    requireIndex(from, 'from');
    requireIndex(to, 'to');
    await this.enterRead();
    try {
      this.throwIfClosed();
      const { firstIndex, nextIndex } = this.state;
      if (from > to || from < firstIndex || to > nextIndex) {
        throw outOfRange(`cannot read [${from}, ${to}): the log holds [${firstIndex}, ${nextIndex})`);
      }
      return await this.readRange(from, to);
    } finally {
      this.leaveRead();
    }
  }

  /** The entry at `index`. */
  async get(index: number): Promise<T> {
    requireIndex(index, 'index');
    const [entry] = await this.read(index, index + 1);
    return entry!;
  }

  /**
   * Every entry, read by walking the segment files themselves (not the in-memory index), and
   * checked against `count`: fewer entries on disk than the log believes it holds is `CORRUPTION`
   * (silent data loss), never a short result.
   */
  async readAll(): Promise<T[]> {
    this.throwIfClosed();
    await this.enterRead();
    try {
      this.throwIfClosed();
      await this.writer.written(this.state.nextIndex);
      // Read after the wait: a failed write rolls the bounds back.
      const { firstIndex, nextIndex } = this.state;
      const entries: T[] = [];
      // A snapshot: appends made meanwhile may add segments, which hold nothing below nextIndex.
      for (const segment of [...this.state.segments]) {
        if (segment.endIndex <= firstIndex) continue;
        await this.readWholeSegment(segment, firstIndex, nextIndex, entries);
      }
      const expected = nextIndex - firstIndex;
      if (entries.length !== expected) {
        throw siltError(
          ErrorCodes.CORRUPTION,
          `readAll found ${entries.length} entries in ${this.dir} but the log holds ${expected} ([${firstIndex}, ${nextIndex})): entries were lost`,
        );
      }
      return entries;
    } finally {
      this.leaveRead();
    }
  }

  /** `[index, entry]` pairs of [from, to) (default: the whole log as it is now), read in chunks. */
  async *entries(from?: number, to?: number): AsyncGenerator<[number, T]> {
    let index = from ?? this.state.firstIndex;
    const end = to ?? this.state.nextIndex;
    while (index < end) {
      const stop = Math.min(end, index + ITERATION_CHUNK);
      for (const entry of await this.read(index, stop)) yield [index++, entry];
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const [, entry] of this.entries()) yield entry;
  }

  /**
   * Remove the entries before `index`, which must lie in [firstIndex, nextIndex]; the first index
   * becomes `index`. With `verify`, entry `index` is read and passed to it first (so `index` must
   * be an entry), and the log is left unchanged unless it accepts.
   */
  truncateBefore(index: number, verify?: VerifyEntry<T>): Promise<void> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    try {
      requireIndex(index, 'index');
      if (verify !== undefined && typeof verify !== 'function') throw invalidArgument(`verify must be a function, got ${describe(verify)}`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.exclusive(async () => {
      this.throwIfUnwritable();
      const { firstIndex, nextIndex } = this.state;
      if (index < firstIndex || index > nextIndex) {
        throw outOfRange(`truncateBefore(${index}): the index must lie in [${firstIndex}, ${nextIndex}]`);
      }
      if (verify !== undefined) {
        if (index === nextIndex) throw outOfRange(`truncateBefore(${index}, verify): there is no entry ${index} to verify`);
        const [entry] = await this.readRange(index, index + 1);
        if ((await verify(entry!, index)) === false) {
          throw siltError(ErrorCodes.VERIFY_REJECTED, `truncateBefore(${index}): the verify callback rejected entry ${index}`);
        }
      }
      if (index === firstIndex) return;
      await this.moveFirstIndex(index);
    });
  }

  /**
   * Remove the entries after `index`, which must lie in [firstIndex − 1, nextIndex − 1]; the next
   * index becomes `index + 1` (`firstIndex − 1` empties the log at its first index).
   */
  truncateAfter(index: number): Promise<void> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    try {
      requireIndex(index, 'index', -1);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.exclusive(async () => {
      this.throwIfUnwritable();
      const { firstIndex, nextIndex } = this.state;
      if (index < firstIndex - 1 || index > nextIndex - 1) {
        throw outOfRange(`truncateAfter(${index}): the index must lie in [${firstIndex - 1}, ${nextIndex - 1}]`);
      }
      if (index + 1 < nextIndex) await this.cutTail(index + 1);
    });
  }

  /** Remove every entry; `nextIndex` is kept (and survives reopening), `firstIndex` becomes it. */
  truncateAll(): Promise<void> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    return this.exclusive(async () => {
      this.throwIfUnwritable();
      const { firstIndex, nextIndex } = this.state;
      if (firstIndex === nextIndex && this.state.segments.length === 0) return;
      await this.moveFirstIndex(nextIndex);
    });
  }

  /**
   * Make every entry appended so far durable, whatever the durability mode. After a failed sync the
   * log is poisoned: a retry fails with `POISONED` rather than reporting a success it cannot know.
   */
  sync(): Promise<void> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    return this.exclusive(async () => {
      this.throwIfUnwritable();
      await this.writer.syncAll();
    });
  }

  /**
   * Wait for the appends made so far, then close the files and release the lock. In `none` mode
   * nothing is synced: call `sync()` first for that. Closing twice is harmless.
   */
  close(): Promise<void> {
    this.closing ??= this.exclusive(async () => {
      this.isClosed = true;
      const failures: unknown[] = [];
      for (const segment of this.state.segments) await segment.closeFile().catch((error) => failures.push(error));
      await this.lock.release().catch((error) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    });
    return this.closing;
  }

  private appendNow(value: T): Promise<number> {
    try {
      this.throwIfUnwritable();
      const payload = this.encode(value);
      const index = this.state.nextIndex;
      const batch = this.writer.add(payload);
      this.writer.endCall();
      return batch.done.then(() => index);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private appendManyNow(values: readonly T[]): Promise<number[]> {
    let payloads: readonly Uint8Array[];
    try {
      this.throwIfUnwritable();
      // Encode everything before framing anything, so a codec failure leaves the log unchanged.
      payloads = this.encodeAll(values);
    } catch (error) {
      return Promise.reject(error);
    }
    const count = payloads.length;
    if (count === 0) return Promise.resolve([]);
    const first = this.state.nextIndex;
    // The batches that carry the entries: usually one. The entries are checked as they are framed
    // (a bad one rejects the call, which then changes nothing).
    let batches: WriteBatch[];
    // The indexes, stored as the entries are framed while they fit in 30 bits: as int32s, which
    // keeps the array's elements small integers (adding to `first`, a field that may hold a
    // double, made it an array of doubles at twice the cost per entry).
    const framedIndexes = first + count <= 0x3fffffff ? new Array<number>(count) : null;
    try {
      batches = this.writer.addMany(payloads, this.options.maxEntryBytes, (entry) => this.rejectEntry(entry), framedIndexes);
    } catch (error) {
      return Promise.reject(error);
    }
    this.writer.endCall();
    const indexes = (): number[] => {
      if (framedIndexes !== null) return framedIndexes;
      const out = new Array<number>(count);
      for (let i = 0; i < count; i++) out[i] = first + i;
      return out;
    };
    if (batches.length === 1) return batches[0]!.done.then(indexes);
    return Promise.all(batches.map((b) => b.done)).then(indexes);
  }

  /**
   * `encode` of every value, in order; throws on the first that fails. Entries that are already
   * bytes are passed on as they are (each is copied once, into its batch), unchecked: the writer
   * checks every entry as it frames it.
   */
  private encodeAll(values: readonly T[]): readonly Uint8Array[] {
    const count = values.length;
    if (this.codec === (bytesCodec as unknown as Codec<T>)) return values as unknown as readonly Uint8Array[];
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < count; i++) payloads.push(this.encode(values[i]!));
    return payloads;
  }

  private encode(value: T): Uint8Array {
    let payload: unknown;
    try {
      payload = this.codec.encode(value);
    } catch (error) {
      throw invalidArgument(`the codec could not encode the entry: ${(error as Error)?.message ?? String(error)}`, error);
    }
    this.checkPayload(payload);
    return payload;
  }

  /** The error for an entry the writer found bad (not a Uint8Array, or too large). */
  private rejectEntry(entry: unknown): never {
    this.checkPayload(entry);
    throw invalidArgument(`an entry of ${describe(entry)} cannot be appended`);
  }

  private checkPayload(payload: unknown): asserts payload is Uint8Array {
    if (!(payload instanceof Uint8Array)) throw invalidArgument(`the codec's encode returned ${describe(payload)}, not a Uint8Array`);
    if (payload.length > this.options.maxEntryBytes) {
      throw invalidArgument(`an encoded entry of ${payload.length} bytes exceeds maxEntryBytes (${this.options.maxEntryBytes})`);
    }
  }

  private async readRange(from: number, to: number): Promise<T[]> {
    await this.writer.written(to);
    // A failed write rolls the log back; its entries were never there.
    if (to > this.state.nextIndex) throw this.state.poisonedError();
    const entries: T[] = [];
    for (let index = from; index < to; ) {
      const segment = this.state.segmentFor(index);
      const stop = Math.min(to, segment.endIndex);
      await readSegmentEntries(this.state.vfs, segment, index, stop, this.codec, entries);
      index = stop;
    }
    return entries;
  }

  /** Decode a segment's entries in [firstIndex, nextIndex) from its whole file, for `readAll`. */
  private async readWholeSegment(segment: Segment, firstIndex: number, nextIndex: number, out: T[]): Promise<void> {
    const bytes = await segment.withFile(this.state.vfs, (file) => readWholeFile(file));
    if (decodeIndexStamp(bytes, SEGMENT_MAGIC) !== segment.start) {
      throw siltError(ErrorCodes.CORRUPTION, `${segment.path} is corrupt: its header is not a valid segment header`);
    }
    const scan = scanRecords(bytes, INDEX_STAMP_BYTES, bytes.length, segment.count);
    // A record cut short by the end of the file is missing data, which the count check reports.
    if (scan.defect !== null && scan.defect !== 'short-header' && scan.defect !== 'short-payload') {
      throw defectError(segment, segment.start + scan.offsets.length, scan.end, scan.defect);
    }
    for (let k = 0; k < scan.offsets.length; k++) {
      const index = segment.start + k;
      if (index < firstIndex) continue;
      if (index >= nextIndex) break;
      const start = scan.offsets[k]! + RECORD_HEADER_BYTES;
      const end = k + 1 < scan.offsets.length ? scan.offsets[k + 1]! : scan.end;
      out.push(decodeEntry(this.codec, bytes.subarray(start, end), segment, index));
    }
    // A sealed segment read whole and sound need not be read again to learn its offsets.
    if (segment.offsets === null && scan.offsets.length === segment.count && scan.end === bytes.length) {
      segment.offsets = new OffsetList(scan.offsets);
      segment.end = scan.end;
    }
  }

  /** Make `index` the first index (durably), then unlink the segments wholly before it. */
  private async moveFirstIndex(index: number): Promise<void> {
    await writeFirstIndexFile(this.state.vfs, this.dir, index);
    this.state.firstIndex = index;
    const segments = this.state.segments;
    const doomed: Segment[] = [];
    while (segments.length > 0 && segments[0]!.endIndex <= index) doomed.push(segments.shift()!);
    if (doomed.length === 0) return;
    // Once the first-index file is durable these files are dead: a crash before they are gone only
    // makes the next open unlink them.
    for (const segment of doomed) {
      this.writer.forget(segment);
      await segment.closeFile().catch(() => {});
      await this.state.vfs.unlink(segment.path);
    }
    await this.state.vfs.syncDir(this.dir);
  }

  /** Remove the entries from `newNext` on (newNext < nextIndex). */
  private async cutTail(newNext: number): Promise<void> {
    const segments = this.state.segments;
    const target = this.state.segmentFor(newNext);
    try {
      // Later segments go first, newest first, each durably: whatever subset a crash leaves is
      // still a contiguous log whose last segment can be truncated.
      while (segments[segments.length - 1] !== target) {
        const segment = segments[segments.length - 1]!;
        this.writer.forget(segment);
        await segment.closeFile().catch(() => {});
        await this.state.vfs.unlink(segment.path, { durable: true });
        segments.pop();
      }
      if (target.offsets === null) await loadSealedSegment(this.state.vfs, target);
      const cut = target.recordStart(newNext);
      const file = target.fileWritable ? target.file! : await target.reopenForWriting(this.state.vfs);
      await file.truncate(cut);
      target.unsynced = false;
      await file.datasync();
    } catch (error) {
      // The files are in an unknown state between the old tail and the new one.
      this.state.poisonedBy ??= error;
      throw error;
    } finally {
      target.dropFrom(newNext);
      this.state.nextIndex = newNext;
    }
  }

  private exclusive<R>(operation: () => Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const run = async (): Promise<() => void> => {
        try {
          await this.writer.drain();
          while (this.activeReads > 0) await this.readsFinished;
          const value = await operation();
          return () => resolve(value);
        } catch (error) {
          return () => reject(error);
        }
      };
      this.queue.push({ exclusive: true, run });
      if (!this.processing) void this.processQueue();
    });
  }

  /**
   * Run the queue: exclusive operations one at a time, and the calls queued between them as soon
   * as the operation before them is done. An operation's caller is answered only once the calls
   * queued behind it have started (or the next operation began), so when `await log.truncateAll()`
   * returns, an append made next goes straight through and `nextIndex` is already up to date.
   */
  private async processQueue(): Promise<void> {
    this.processing = true;
    let answerPrevious: (() => void) | null = null;
    while (this.queue.length > 0) {
      const call = this.queue.shift()!;
      if (!call.exclusive) {
        call.start();
        continue;
      }
      answerPrevious?.();
      answerPrevious = await call.run();
    }
    this.processing = false;
    answerPrevious?.();
  }

  /** Count a read in, after the exclusive operations called before it. */
  private enterRead(): Promise<void> | undefined {
    const begin = (): void => {
      if (this.activeReads++ === 0) this.readsFinished = new Promise((resolve) => (this.finishReads = resolve));
    };
    if (!this.processing) {
      begin();
      return undefined;
    }
    return new Promise((resolve) =>
      this.queue.push({
        exclusive: false,
        start: () => {
          begin();
          resolve();
        },
      }),
    );
  }

  private leaveRead(): void {
    if (--this.activeReads === 0) this.finishReads();
  }

  private throwIfClosed(): void {
    if (this.closing !== null || this.isClosed) throw this.closedError();
  }

  private throwIfUnwritable(): void {
    if (this.isClosed) throw this.closedError();
    this.state.throwIfPoisoned();
  }

  private closedError(): SiltError {
    return siltError(ErrorCodes.CLOSED, `the log in ${this.dir} is closed`);
  }
}
