/**
 * The append path of a log: framing records into write batches, and one "pump" that writes the
 * batches in order, syncing as the durability mode asks, then acknowledges them.
 *
 * - `sync`: every append call is its own batch: one write and one fdatasync, then it resolves.
 * - `group`: appends made while a batch is being written and synced gather in the next batch,
 *   which the pump writes and syncs as one (after `groupWindowMs` from its first append, when set).
 *   Each append resolves only after the fdatasync that covers it.
 * - `none`: like `group` without fdatasync; an append resolves once its bytes are handed to the OS
 *   (they survive a crash of the process, not of the machine). Appends made in the same tick, or
 *   while a write is in flight, share one write call.
 *
 * Sealing a segment (moving on to the next one): in `sync` and `group` mode the pump syncs it before
 * it creates the next file, so every segment but the last is whole on disk. In `none` mode the pump
 * does not wait for that sync: it queues it (an fdatasync of the sealed segment, then of the
 * directory) to run in the background, seals one after another in segment order, and goes on
 * writing the next segment, whose stamp says so (format version 3, docs/FORMAT.md §4), so that
 * recovery verifies the predecessors of such a segment and cuts the log back to a prefix if a crash
 * cost one of them a tail. When a seal finishes — and with it every earlier one — the successor's
 * stamp is rewritten as version 1, which promises that everything before it is durable: recovery
 * walks back only as far as the nearest version-1 stamp, and a log closed cleanly opens without
 * verifying anything but its last segment. At most `MAX_PENDING_SEALS` seals wait at a time, which
 * bounds what recovery may have to read.
 * With `bytesPerSync`, `none` mode also starts an fdatasync of the segment being written every so
 * many bytes, never waited for by appends.
 *
 * A failed write or fsync poisons the log. The kernel may have dropped the data it could not write
 * and will report the next fsync as a success, so nothing written after the failure can be
 * trusted: the failed batches reject with the I/O error, everything queued behind them rejects with
 * `POISONED`, and the in-memory state rolls back to before the first failed batch.
 */
import { CHAINED_SEAL_VERSION, encodeIndexStamp, INDEX_STAMP_BYTES, LOG_FORMAT_VERSION, SEGMENT_MAGIC } from './index-stamp.js';
import type { LogState } from './log-state.js';
import { RECORD_HEADER_BYTES } from './record.js';
import { Segment } from './segment.js';
import { BACKGROUND_CHECKSUM_BYTES, BufferPool, CHECKSUM_AHEAD_BYTES, IN_PLACE_CHECKSUM_RECORD_BYTES, WriteBatch } from './write-batch.js';
import type { VfsFile } from '../vfs/types.js';

export type Durability = 'sync' | 'group' | 'none';

/*
 * Payloads are copied with `Uint8Array.prototype.set.call(buffer, payload, at)`, spelled out at
 * each use: node 20's optimizing compiler does not inline the lookup of `set` on a Buffer but calls
 * the generic property-load stub for it on every call (for 100-byte payloads about a third of the
 * copy loop's time, measured with perf). Spelled out, the lookup folds to a constant and the copy
 * is a direct call of the builtin; through a module-level constant, the compiler does not know
 * the function and each copy went through the generic call builtins (~21 instructions per call,
 * callgrind).
 */

/**
 * `none` mode: background seals that may be pending at once. Creating a segment beyond that waits
 * for the oldest: it bounds the segments a crash can leave unsynced, all of which recovery reads.
 */
const MAX_PENDING_SEALS = 4;

/** Batch buffers a log keeps for reuse once written. */
const SPARE_BATCH_BUFFERS = 8;

/** What an `addMany` call found, to roll it back by (`LogWriter.undoCall`). */
class CallUndo {
  readonly openLength: number;
  readonly openCount: number;
  readonly segments: number;
  readonly segmentCount: number;
  readonly segmentEnd: number;
  readonly nextIndex: number;
  /** The entries after those framed so far were checked ahead: the call can no longer fail. */
  restChecked = false;

  constructor(
    readonly open: WriteBatch | null,
    state: LogState,
  ) {
    this.openLength = open?.length ?? 0;
    this.openCount = open?.count ?? 0;
    this.segments = state.segments.length;
    const active = state.active;
    this.segmentCount = active?.count ?? 0;
    this.segmentEnd = active?.end ?? 0;
    this.nextIndex = state.nextIndex;
  }

  /**
   * Check the entries from `from` on, before the call frames past the point where it could be
   * rolled back: the first bad one (the caller rolls back and rejects), or null.
   */
  checkRest(payloads: readonly Uint8Array[], from: number, entryLimit: number): { readonly entry: unknown } | null {
    for (let i = from; i < payloads.length; i++) {
      const payload = payloads[i];
      if (!(payload instanceof Uint8Array) || payload.length > entryLimit) return { entry: payload };
    }
    this.restChecked = true;
    return null;
  }
}

export interface WriterConfig {
  readonly durability: Durability;
  readonly segmentBytes: number;
  readonly maxBatchBytes: number;
  readonly groupWindowMs: number;
  /** `none` mode: bytes between background fdatasyncs of the segment being written (0: never). */
  readonly bytesPerSync: number;
}

export class LogWriter {
  /** The batch appends are framed into now. */
  private open: WriteBatch | null = null;
  /** Sealed batches waiting for the pump, oldest first. */
  private queued: WriteBatch[] = [];
  /** The batches the pump is writing now. */
  private inFlight: WriteBatch[] = [];
  /**
   * `none` mode: batches written, not yet acknowledged. When a write returns and more batches wait,
   * the pump issues their write first and acknowledges these right after: an acknowledgment lets
   * the caller frame its next call, a long synchronous run during which the pump could not issue
   * the write of the batches already waiting (they would go out only after that run, the caller
   * then idle for the whole write; measured with appendMany in 1 MiB calls: framing and writing
   * took turns instead of overlapping). The write of these batches has returned: only their
   * promises wait, never their bytes, and a failure of the next write does not touch them.
   */
  private unacknowledged: WriteBatch[] = [];
  private pumping = false;
  private pumpFinished: Promise<void> = Promise.resolve();
  private finishPump: () => void = () => {};
  /** Someone waits for the pending batches (a read, a drain): skip the group window. */
  private urgent = false;
  /** The segment written last: it must be synced before the pump writes to another one. */
  private lastWritten: Segment | null = null;
  /**
   * A new batch starts with room for this many bytes: the size of recent batches, as a maximum that
   * halves with every smaller batch, so that the short tail batch of a burst does not make the next
   * full one grow from small by doubling (copying itself at every step).
   */
  private batchBytesHint = 0;
  /** `none` mode: bytes written since the last background fdatasync started, and that sync. */
  private bytesSinceBackgroundSync = 0;
  private backgroundSync: Promise<void> | null = null;
  /** `none` mode: the background seal queued last, until it settles (seals run in segment order). */
  private sealing: Promise<void> | null = null;
  /** `none` mode: the background seals not settled yet, oldest first. */
  private pendingSeals: Promise<void>[] = [];
  private readonly pool: BufferPool;

  constructor(
    private readonly state: LogState,
    private readonly config: WriterConfig,
  ) {
    this.pool = new BufferPool(config.maxBatchBytes, SPARE_BATCH_BUFFERS);
  }

  get durability(): Durability {
    return this.config.durability;
  }

  /**
   * Frame one encoded entry at `state.nextIndex` and advance it. Returns the batch that carries it.
   * The caller ends each append call with `endCall()`. `callBytes`: about how many bytes the call
   * frames from this entry on, so that a batch it starts is sized for them.
   */
  add(payload: Uint8Array, callBytes = 0): WriteBatch {
    const length = payload.length;
    const recordBytes = RECORD_HEADER_BYTES + length;
    const state = this.state;
    const index = state.nextIndex;
    let segment = state.active;
    if (segment === null || (segment.count > 0 && segment.end + recordBytes > this.config.segmentBytes)) {
      segment = Segment.fresh(state.dir, index, segment?.count ?? 0);
      state.segments.push(segment);
    }
    let batch = this.open;
    if (
      batch === null ||
      batch.segment !== segment ||
      (batch.count > 0 && batch.length + recordBytes > this.config.maxBatchBytes) ||
      // (A buffer with checksum jobs running on it cannot grow: see `WriteBatch.checksumAhead`.)
      (batch.sealing !== null && batch.length + recordBytes > batch.buffer.length)
    ) {
      if (batch !== null) {
        this.seal(batch);
        // `none` mode: a full batch is written at once, so that the OS copies it while the rest of
        // a long call is framed (the other modes gather batches, or sync each call as a whole).
        if (this.config.durability === 'none') this.kick(true);
      }
      batch = this.startBatch(segment, index, recordBytes, callBytes);
    }
    const at = batch.length;
    if (at + recordBytes > batch.buffer.length) batch.reserve(recordBytes);
    // The header is left for the batch's seal (one accelerator call per batch, from the record
    // starts stored here).
    const payloadAt = at + RECORD_HEADER_BYTES;
    Uint8Array.prototype.set.call(batch.buffer, payload, payloadAt);
    segment.offsets!.push(batch.position + at);
    batch.length = payloadAt + length;
    batch.count++;
    segment.end += recordBytes;
    segment.count++;
    state.nextIndex = index + 1;
    return batch;
  }

  /**
   * Frame many encoded entries, in order, from `state.nextIndex` on: what `add` does for each, with
   * the records that fit in the open batch's buffer (and segment) framed in a tight loop that keeps
   * the batch's and segment's fields in locals and stores them once. Returns the batches that
   * carry the entries, in order, each once. The caller ends the call with `endCall()`.
   *
   * The copies stay in JavaScript (one `set` call per payload, ~20–35 ns for 100 bytes): framing
   * a run natively in one call was measured slower, since N-API reads the caller's array one
   * element at a time — `napi_get_element` ~75–95 ns, plus `napi_get_typedarray_info` ~25 ns
   * without the data pointer and ~50 ns with it — so even with the elements passed as spread
   * arguments (~3 ns each) a payload costs ~50–57 ns before its copy (node 20, same run).
   *
   * The entries are checked as they are framed — a Uint8Array of at most `entryLimit` bytes; any
   * other goes to `reject`, which throws — with one look at each entry, where a separate pass
   * before framing cost ~8 ns per 100-byte entry (it touches every entry's object once more). A
   * call that meets a bad entry is rolled back before `reject` throws, so it changes nothing. That
   * is possible because all its records are then in the one batch its first record went into:
   * before the call moves on to a further batch (which may seal and write the one before), and
   * when its first record opens a new segment, the rest of its entries are checked ahead.
   *
   * `indexes`, when given (the call's indexes fit in 30 bits), receives entry `k`'s index at `k`
   * as it is framed: storing it in the framing loop costs less than a loop of its own afterwards.
   */
  addMany(payloads: readonly Uint8Array[], entryLimit: number, reject: (entry: unknown) => never, indexes: number[] | null = null): WriteBatch[] {
    const batches: WriteBatch[] = [];
    const count = payloads.length;
    const maxBatchBytes = this.config.maxBatchBytes;
    const segmentBytes = this.config.segmentBytes;
    const state = this.state;
    const undo = new CallUndo(this.open, state);
    const indexBase = undo.nextIndex | 0;
    // The batch the call's first record went into: all the call's records are there until the
    // rest is checked ahead.
    let firstBatch: WriteBatch | null = null;
    for (let i = 0; i < count; ) {
      if (firstBatch !== null && !undo.restChecked) {
        const bad = undo.checkRest(payloads, i, entryLimit);
        if (bad !== null) {
          this.undoCall(undo, firstBatch);
          reject(bad.entry);
        }
      }
      // One record the general way (a new batch, a new segment, a grown buffer as needed)…
      // A batch it starts is sized for the rest of the call, reckoned as records of this one's
      // size: a log's first large call would otherwise grow its batch by doubling from small,
      // copying it (and faulting in a fresh buffer) at every step.
      const first = payloads[i++]!;
      // (Only the call's first entry can be unchecked here, with nothing framed yet.)
      if (!(first instanceof Uint8Array) || first.length > entryLimit) reject(first);
      const batch = this.add(first, (count - i + 1) * (RECORD_HEADER_BYTES + first.length));
      if (indexes !== null) indexes[i - 1] = indexBase + i - 1;
      if (firstBatch === null) {
        firstBatch = batch;
        if (state.segments.length !== undo.segments) {
          const bad = undo.checkRest(payloads, i, entryLimit);
          if (bad !== null) {
            this.dropOpenedSegment(undo, batch);
            reject(bad.entry);
          }
        }
      }
      if (batches[batches.length - 1] !== batch) batches.push(batch);
      // …then every following record that fits as things are.
      const segment = batch.segment;
      const buffer = batch.buffer;
      const room = Math.min(buffer.length, maxBatchBytes);
      let at = batch.length;
      let framed = batch.count;
      const before = framed;
      // Records need at least a header each: room for as many as could still fit (or as the call
      // has left), the offsets grown once — but not past the segment's expected final count (from
      // its records' average size so far). Asking for all that could fit doubled the list at the
      // end of every segment (a 64 MiB segment of 100-byte records ended with room for 1.3M
      // offsets, 2.7 MB copied, half of it never used). The run stops where the array ends
      // (`end`, in place of the call's count: no check of its own), and a record past it goes
      // the general way, growing the list only when the estimate fell short.
      const most = Math.min(count - i, Math.floor((room - at) / RECORD_HEADER_BYTES));
      const offsetList = segment.offsets!;
      const expected = segment.count + Math.ceil((segmentBytes - segment.end) / ((segment.end - INDEX_STAMP_BYTES) / segment.count));
      const offsets = offsetList.room(Math.min(most, Math.max(1, expected - offsetList.length)), expected);
      const offsetAt = offsetList.length;
      const end = Math.min(count, i + offsets.length - offsetAt);
      // The batch's buffer is the file from `position` on (its stamp included, when it creates the
      // file): file offset = buffer offset + shift.
      const shift = batch.position;
      const limit = Math.min(room, segmentBytes - shift);
      // Where the records framed so far are checksummed in the background, and framing goes on
      // (`CHECKSUM_AHEAD_BYTES`; only with the rest of the call expected to fill another run, and
      // only for small records: see `IN_PLACE_CHECKSUM_RECORD_BYTES`).
      const ahead = first.length < IN_PLACE_CHECKSUM_RECORD_BYTES && (count - i) * (RECORD_HEADER_BYTES + first.length) >= 2 * CHECKSUM_AHEAD_BYTES;
      let stop = ahead ? Math.min(limit, batch.unsealedFrom() + CHECKSUM_AHEAD_BYTES) : limit;
      // (In a local: an imported binding is loaded, and checked for initialisation, on every use.)
      const headerBytes = RECORD_HEADER_BYTES;
      // What the loop does not carry (fewer values live across the copy call): record i goes to
      // offset slot i + toSlot, and the batch's count is i + toCount.
      const toSlot = offsetAt - i;
      const toCount = framed - i;
      // A non-Uint8Array entry reads as this long: one compare rejects it and an entry too long.
      const tooLong = entryLimit + 1;
      while (i < end) {
        const payload = payloads[i]!;
        // (The length is read once, after the type check, so that it is loaded once.)
        const length = payload instanceof Uint8Array ? payload.length : tooLong;
        if (length > entryLimit) {
          this.undoCall(undo, batch);
          reject(payload);
        }
        const payloadAt = at + headerBytes;
        if (payloadAt + length > stop) {
          if (stop === limit) break;
          // A run framed: hand its records to a background checksum (the fields it reads stored
          // first), and frame on to the next stop.
          offsetList.advance(i + toCount - batch.count);
          batch.length = at;
          batch.count = i + toCount;
          batch.checksumAhead();
          stop = Math.min(limit, Math.max(at + CHECKSUM_AHEAD_BYTES, payloadAt + length));
          continue;
        }
        Uint8Array.prototype.set.call(buffer, payload, payloadAt);
        offsets[i + toSlot] = shift + at;
        if (indexes !== null) indexes[i] = indexBase + i;
        at = payloadAt + length;
        i++;
      }
      framed = i + toCount;
      const added = framed - before;
      offsetList.advance(framed - batch.count);
      batch.length = at;
      batch.count = framed;
      segment.end = shift + at;
      segment.count += added;
      this.state.nextIndex += added;
    }
    return batches;
  }

  /**
   * An `addMany` call whose first record (alone, in `batch`) opened a new segment meets a bad
   * entry: drop the record, the batch and the segment, none of which anything has seen.
   */
  dropOpenedSegment(undo: CallUndo, batch: WriteBatch): void {
    if (this.open === batch) this.open = null;
    batch.recycle();
    const segments = this.state.segments;
    if (segments[segments.length - 1] === batch.segment && segments.length > undo.segments) segments.pop();
    this.state.nextIndex = undo.nextIndex;
  }

  /**
   * Roll back an `addMany` call whose records are all in `batch` (see there): the batch and the
   * segment as they were before it, or the batch dropped if the call opened it.
   */
  private undoCall(undo: CallUndo, batch: WriteBatch): void {
    if (batch === undo.open) {
      batch.length = undo.openLength;
      batch.count = undo.openCount;
      if (batch.checksummed > batch.count) {
        // A background job checksums records of this call, behind the kept ones: it may still be
        // writing their headers, so nothing may be framed there again. The batch takes no more.
        // The job reads their starts in the offset list, which later records would overwrite
        // there: the list moves to a new array, the job keeps the old one.
        batch.segment.offsets!.detach();
        batch.checksummed = batch.count;
        this.seal(batch);
        this.kick();
      }
    } else {
      // Opened by this call in the segment it found (a new segment had the rest checked ahead):
      // it holds nothing else, and nothing has seen it.
      if (this.open === batch) this.open = null;
      batch.recycle();
    }
    const segment = batch.segment;
    segment.offsets!.truncate(undo.segmentCount);
    segment.count = undo.segmentCount;
    segment.end = undo.segmentEnd;
    this.state.nextIndex = undo.nextIndex;
  }

  /**
   * The end of one append call: in `sync` mode its batch is complete; in the others, a call that
   * framed many bytes has its batch sealed now (later calls start another); start the pump.
   */
  endCall(): void {
    const open = this.open;
    if (open !== null) {
      if (this.config.durability === 'sync') this.seal(open);
      // A large call's records are checksummed as soon as the call is framed, not when the pump
      // takes the batch: the pump takes it right after the previous write completes, so the
      // checksums would then delay the next write, while started here they overlap the write in
      // flight, and with the native accelerator they run on the threadpool while the caller
      // frames its next call (for 100-byte entries ~10–15 ns per record off the main thread).
      // Small calls leave theirs to the batch's seal, one accelerator call for many of them.
      else if (open.unsealedBytes() >= BACKGROUND_CHECKSUM_BYTES) this.seal(open);
    }
    this.kick();
  }

  /** Resolves when the entries before `index` are written (settled, possibly failed). */
  async written(index: number): Promise<void> {
    const holder = this.batchHolding(index - 1);
    if (holder === null) return;
    this.urgent = true;
    this.kick();
    await holder.done.catch(() => {});
  }

  /** Resolves when every batch framed so far is written and settled. */
  async drain(): Promise<void> {
    while (this.pumping || this.open !== null || this.queued.length > 0 || this.backgroundSync !== null || this.sealing !== null) {
      this.urgent = true;
      this.kick();
      await this.pumpFinished;
      await this.backgroundSync;
      await this.sealing;
    }
  }

  /**
   * Make everything written so far durable, whatever the mode: the active segment's data and the
   * directory entries of segments created without a directory sync. Call after `drain()`.
   */
  async syncAll(): Promise<void> {
    try {
      const active = this.state.active;
      if (active?.unsynced) await this.syncSegment(active);
      if (this.state.segments.some((segment) => segment.onDisk && !segment.entryDurable)) {
        await this.state.vfs.syncDir(this.state.dir);
        for (const segment of this.state.segments) if (segment.onDisk) segment.entryDurable = true;
      }
    } catch (error) {
      this.poison(error, []);
      throw error;
    }
  }

  /** A truncation removed this segment: never sync it again. */
  forget(segment: Segment): void {
    if (this.lastWritten === segment) this.lastWritten = null;
  }

  /** `expectedBytes`: about how many bytes of records are about to be framed into it. */
  private startBatch(segment: Segment, index: number, recordBytes: number, expectedBytes: number): WriteBatch {
    const createsFile = segment.count === 0 && !segment.onDisk;
    const position = createsFile ? 0 : segment.end;
    const header = createsFile ? INDEX_STAMP_BYTES : 0;
    // Sized from the previous batch (or the call): a busy log fills batches up to maxBatchBytes,
    // and growing a buffer by doubling from small would copy every batch several times over.
    const capacity = Math.max(header + recordBytes, Math.min(this.config.maxBatchBytes, Math.max(this.batchBytesHint, header + expectedBytes)));
    const batch = new WriteBatch(segment, position, index, this.pool.take(capacity), this.pool);
    if (createsFile) {
      // In `none` mode the predecessor (if any) is sealed without waiting for its sync: say so.
      segment.sealsPredecessorLazily = this.config.durability === 'none' && this.state.segments.length > 1;
      const version = segment.sealsPredecessorLazily ? CHAINED_SEAL_VERSION : LOG_FORMAT_VERSION;
      batch.buffer.set(encodeIndexStamp(SEGMENT_MAGIC, segment.start, version), 0);
      batch.length = INDEX_STAMP_BYTES;
      batch.recordsFrom = INDEX_STAMP_BYTES;
    }
    this.open = batch;
    return batch;
  }

  /** Close a batch to more records, checksum the rest of them, and queue it for the pump. */
  private seal(batch: WriteBatch): void {
    if (this.open === batch) this.open = null;
    batch.checksum();
    this.batchBytesHint = Math.max(batch.length, Math.floor(this.batchBytesHint / 2));
    this.queued.push(batch);
  }

  /** Start the pump if it is idle and there is work: now (its first write issued before returning), or soon. */
  private kick(now = false): void {
    if (this.pumping) return;
    if (this.open === null && this.queued.length === 0) return;
    this.pumping = true;
    this.pumpFinished = new Promise((resolve) => (this.finishPump = resolve));
    const run = (): void => void this.pump();
    if (now) return run();
    // `group` lets a whole turn of the event loop gather appends; the others start after the
    // current synchronous run of appends, so a loop of appends shares one write.
    if (this.config.durability === 'group' && !this.urgent) setImmediate(run);
    else queueMicrotask(run);
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        // (Only `group` waits here: an `await` would also delay the first write of a pump started now.)
        if (this.config.durability === 'group') await this.waitForGroupWindow();
        const batches = this.take();
        if (batches.length === 0) break;
        await this.commit(batches);
      }
    } finally {
      this.acknowledge();
      this.pumping = false;
      this.urgent = false;
      this.finishPump();
    }
  }

  private async waitForGroupWindow(): Promise<void> {
    if (this.config.durability !== 'group' || this.config.groupWindowMs <= 0) return;
    const oldest = this.queued[0] ?? this.open;
    if (oldest === undefined || oldest === null || this.urgent) return;
    const wait = oldest.createdAt + this.config.groupWindowMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** The next batches to commit: one in `sync` mode, all pending ones otherwise. */
  private take(): WriteBatch[] {
    if (this.config.durability !== 'sync' && this.open !== null) this.seal(this.open);
    if (this.config.durability === 'sync') {
      const next = this.queued.shift();
      return next === undefined ? [] : [next];
    }
    const all = this.queued;
    this.queued = [];
    return all;
  }

  private async commit(batches: WriteBatch[]): Promise<void> {
    this.inFlight = batches;
    const durable = this.config.durability !== 'none';
    try {
      // Consecutive batches of one segment are contiguous in its file: one pwritev for each run.
      for (let first = 0; first < batches.length; ) {
        const segment = batches[first]!.segment;
        let end = first + 1;
        while (end < batches.length && batches[end]!.segment === segment) end++;
        // Anything but a plain write to the file written last may wait long (a seal, a sync, an
        // open): acknowledge what was written before first.
        if (segment !== this.lastWritten || !segment.fileWritable) this.acknowledge();
        if (segment.sealsPredecessorLazily && !segment.onDisk) {
          // (The predecessor may be a segment this writer never wrote: the last one of the log as
          // it was opened, possibly left unsynced by a process that died.)
          const predecessor = this.state.segments[this.state.segments.indexOf(segment) - 1];
          if (predecessor !== undefined) await this.sealInBackground(predecessor);
        } else if (this.lastWritten !== null && this.lastWritten !== segment) {
          if (this.lastWritten.unsynced) await this.syncSegment(this.lastWritten);
          // Sealed and synced: the writer will not touch it again.
          if (this.lastWritten.start < segment.start) this.lastWritten.retire();
        }
        const file = segment.fileWritable ? segment.file! : await this.openForWriting(segment, durable);
        const run = batches.slice(first, end);
        for (const batch of run) if (batch.sealing !== null) await batch.sealing;
        const write = file.writev(
          run.map((batch) => batch.bytes),
          run[0]!.position,
        );
        this.acknowledge();
        await write;
        segment.unsynced = true;
        this.lastWritten = segment;
        if (run[0]!.position === 0) {
          segment.stampWritten = true;
          // The predecessor's seal may have finished before this first write: the stamp can say so now.
          if (segment.sealsPredecessorLazily && this.state.segments[this.state.segments.indexOf(segment) - 1]?.sealSynced === true) {
            await this.stampPredecessorsSynced(segment);
          }
        }
        first = end;
        if (!durable) this.maybeSyncInBackground(segment, run);
      }
      if (durable && this.lastWritten?.unsynced) await this.syncSegment(this.lastWritten);
      // A background sync may have failed while these batches were being written.
      this.state.throwIfPoisoned();
    } catch (error) {
      this.acknowledge();
      this.poison(error, batches);
      return;
    } finally {
      this.inFlight = [];
    }
    if (durable) {
      for (const batch of batches) {
        batch.recycle();
        batch.resolve();
      }
    } else {
      this.unacknowledged = batches;
    }
  }

  /** `none` mode: acknowledge the batches written last (see `unacknowledged`). */
  private acknowledge(): void {
    const batches = this.unacknowledged;
    if (batches.length === 0) return;
    this.unacknowledged = [];
    for (const batch of batches) {
      batch.recycle();
      batch.resolve();
    }
  }

  private async openForWriting(segment: Segment, durable: boolean): Promise<VfsFile> {
    if (segment.onDisk) return segment.reopenForWriting(this.state.vfs);
    // Exclusive: a file of that name would be a segment this log does not know about.
    const file = await this.state.vfs.open(segment.path, { mode: 'exclusive', durable });
    segment.file = file;
    segment.fileWritable = true;
    segment.onDisk = true;
    segment.entryDurable = durable;
    return file;
  }

  /**
   * `none` mode, moving on from `sealed` to a new segment: queue the sync of `sealed` (data, then
   * the directory, which covers its entry and every earlier one) after the seals queued before it,
   * without waiting for it — unless `MAX_PENDING_SEALS` are pending already, when this waits for
   * the oldest.
   */
  private async sealInBackground(sealed: Segment): Promise<void> {
    while (this.pendingSeals.length >= MAX_PENDING_SEALS) await this.pendingSeals[0];
    this.state.throwIfPoisoned();
    const entries = this.state.segments.filter((segment) => segment.onDisk && segment.start <= sealed.start);
    const previous = this.sealing;
    const job = (async () => {
      // In order: when this seal finishes, every earlier segment is durable too, which is what a
      // version-1 stamp on the successor promises. (A failed earlier seal poisoned the log.)
      if (previous !== null) await previous;
      // The bytesPerSync sync of the same file: its failure must be known before this one reports.
      if (this.backgroundSync !== null) await this.backgroundSync;
      this.state.throwIfPoisoned();
      sealed.unsynced = false;
      await sealed.withFile(this.state.vfs, (file) => file.datasync());
      await this.state.vfs.syncDir(this.state.dir);
      for (const segment of entries) segment.entryDurable = true;
      sealed.sealSynced = true;
      const at = this.state.segments.indexOf(sealed);
      const successor = at < 0 ? undefined : this.state.segments[at + 1];
      if (successor !== undefined) await this.stampPredecessorsSynced(successor);
    })().then(
      () => sealed.retire(),
      (error) => this.poison(error, []),
    );
    this.sealing = job;
    this.pendingSeals.push(job);
    void job.then(() => {
      if (this.sealing === job) this.sealing = null;
      this.pendingSeals.splice(this.pendingSeals.indexOf(job), 1);
    });
  }

  /**
   * Every segment before `segment` is durable now: rewrite its version-3 stamp as version 1, so
   * that opening the log need not verify them. Not synced, and not needed to be: a stamp that is
   * lost, or torn (recovery reads a mix of both versions' bytes as version 3), still says version
   * 3, which is always safe. Only once the file's own stamp was written, so the two writes cannot
   * race (the first write of the file does it otherwise).
   */
  private async stampPredecessorsSynced(segment: Segment): Promise<void> {
    if (!segment.sealsPredecessorLazily || !segment.stampWritten || !segment.fileWritable) return;
    segment.sealsPredecessorLazily = false;
    await segment.file!.write(encodeIndexStamp(SEGMENT_MAGIC, segment.start, LOG_FORMAT_VERSION), 0);
  }

  private maybeSyncInBackground(segment: Segment, written: readonly WriteBatch[]): void {
    if (this.config.bytesPerSync === 0) return;
    for (const batch of written) this.bytesSinceBackgroundSync += batch.length;
    if (this.bytesSinceBackgroundSync < this.config.bytesPerSync || this.backgroundSync !== null) return;
    this.bytesSinceBackgroundSync = 0;
    // `unsynced` stays set: writes made while this sync runs are not covered by it.
    const sync = segment.file!.datasync().then(
      () => {},
      (error) => this.poison(error, []),
    );
    this.backgroundSync = sync;
    void sync.then(() => {
      if (this.backgroundSync === sync) this.backgroundSync = null;
    });
  }

  private async syncSegment(segment: Segment): Promise<void> {
    // A background sync of the same file may be running; its outcome (a poisoning failure) must be
    // known before this one can report anything.
    if (this.backgroundSync !== null) await this.backgroundSync;
    this.state.throwIfPoisoned();
    // Clear the flag first: a failed sync loses the data for good, it is never "still unsynced".
    segment.unsynced = false;
    await segment.file!.datasync();
  }

  /**
   * Refuse every later write and roll the in-memory state back to before `failed[0]` (or keep it,
   * when the failure was a sync of entries already acknowledged as written, in `none` mode).
   */
  private poison(error: unknown, failed: WriteBatch[]): void {
    this.state.poisonedBy ??= error;
    const refused = this.state.poisonedError();
    const abandoned = [...this.queued, ...(this.open === null ? [] : [this.open])];
    this.queued = [];
    this.open = null;
    const firstLost = failed[0]?.firstIndex ?? abandoned[0]?.firstIndex;
    for (const batch of failed) batch.reject(error);
    for (const batch of abandoned) batch.reject(refused);
    for (const batch of [...failed, ...abandoned]) batch.recycle();
    if (firstLost !== undefined) this.rollBack(firstLost);
  }

  private rollBack(firstLost: number): void {
    const segments = this.state.segments;
    while (segments.length > 0 && segments[segments.length - 1]!.start >= firstLost) {
      const segment = segments.pop()!;
      this.forget(segment);
      // Reads of other entries may be using the handle; it closes when they are done.
      segment.retire();
    }
    this.state.active?.dropFrom(firstLost);
    this.state.nextIndex = Math.max(firstLost, this.state.firstIndex);
  }

  private batchHolding(index: number): WriteBatch | null {
    for (const group of [this.open === null ? [] : [this.open], this.queued, this.inFlight, this.unacknowledged]) {
      for (let i = group.length - 1; i >= 0; i--) {
        const batch = group[i]!;
        if (batch.firstIndex <= index && index < batch.firstIndex + batch.count) return batch;
      }
    }
    return null;
  }
}
