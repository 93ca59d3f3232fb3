/**
 * The database (docs/ENGINE.md): the write path (validate → seqs → WAL → memtable), point reads,
 * iterators, snapshots, background flushes of immutable memtables to L0 tables, checkpoints,
 * stats and close. Open and recovery live in `open.ts`.
 *
 * Writes are applied to the memtable in seq order once their WAL append is acknowledged (`sync`:
 * fsynced by a group commit; `relaxed`: written), so a read never sees a write its caller could
 * still lose, and a crash leaves a prefix of the acknowledged writes.
 *
 * Compaction (compaction-scheduler.ts) plugs in through `addFlushListener` (called after every
 * flush), `installEdit` (log and install a version edit, opening the tables it adds) and
 * `snapshotSeqs` (the seqs a compaction must keep a version for). Writes wait in arrival order
 * behind a write stall (L0 backed up), so a stalled write never lets a later one overtake it.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { compareBytes, Kind, MAX_KEY_BYTES, MAX_SEQ, toUserKey } from '../keys/internal-key.js';
import type { ManifestStore, TableMeta, Version, VersionEdit, VersionSet } from '../manifest/index.js';
import { ManifestStore as ManifestStoreClass, NUM_LEVELS } from '../manifest/index.js';
import { Memtable } from '../memtable/index.js';
import type { VfsLock } from '../vfs/types.js';
import { delOp, lastSeqOf, putOp, toWriteOps, type WriteAheadLog, type WriteBatch, type WriteOp } from '../wal/index.js';
import { tablePath } from './files.js';
import { linkOrCopy } from './link-or-copy.js';
import { CompactionScheduler } from './compaction-scheduler.js';
import { buildTableFromMemtable } from './flush.js';
import { DbIterator, resolveIteratorOptions, type Entry, type IteratorHost, type IteratorOptions, type Projection } from './iterator.js';
import { MemSlot } from './mem-slot.js';
import type { MergeSource } from './merging-iterator.js';
import type { ResolvedOptions } from './options.js';
import { compareUserPart, NO_SEPARATED_VALUES, readValue, type PointerResolver } from './read-path.js';
import { closedError, readOnlyError } from './recovery.js';
import { Snapshot } from './snapshot.js';
import { valueLogStats, type DbStats, type LevelStats } from './stats.js';
import { manifestMetaOf } from '../manifest/index.js';
import type { TableSet } from './table-set.js';
import { collectGarbage, type GcResult } from '../maintenance/gc.js';
import { checkMaintainOptions, maintain, pruneRetiring, type MaintainOptions, type MaintenanceHost, type MaintenanceReport, type MaintenanceStep } from '../maintenance/maintain.js';
import type { LookupMark, RewriteRecord } from '../maintenance/rewrite.js';
import { visitNewestEntries } from './newest-entries.js';
import { BACKGROUND_MIN_STALE_RATIO, MaintenanceController } from '../maintenance/controller.js';
import { MaintenanceEvents, type MaintenanceEventType, type MaintenanceListener } from '../maintenance/events.js';
import { planRewrites } from '../maintenance/planner.js';
import { StalenessSampler } from '../maintenance/sampler.js';
import { weighDebt } from '../maintenance/debt.js';
import { PACING_FLOOR_SEGMENTS, pressureFor, WritePacer, writeBytes } from '../maintenance/pacer.js';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { MaintenanceStats } from './stats.js';
import { pointerRecordBytes } from '../vlog/pointer.js';
import { pointerFlushCharge } from './flush-charge.js';
import { flushLedgerChanges, linkValueLogSegments, separateValues, verifyLedger, type LedgerReport, type ValueLog, type VerifyLedgerOptions } from '../vlog/index.js';

export interface WriteOptions {
  /** `relaxed` durability: resolve only once the write is fsynced. */
  readonly sync?: boolean;
}

export interface ReadOptions {
  /** Read as of this snapshot. */
  readonly snapshot?: Snapshot;
}

export type BatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array | string; readonly value: Uint8Array | string }
  | { readonly type: 'del'; readonly key: Uint8Array | string };

export type DbIteratorOptions = IteratorOptions<Snapshot>;

/** The user-key range of `db.compact`; either bound may be omitted (both inclusive). */
export interface CompactOptions {
  readonly start?: Uint8Array | string;
  readonly end?: Uint8Array | string;
}

/** What a flush listener hears: the L0 table the flush added. */
export interface FlushInfo {
  readonly fileNumber: number;
  readonly bytes: number;
  readonly entries: number;
}

interface PendingWrite {
  readonly batch: WriteBatch;
  index: number;
  /** 0 waiting for the WAL, 1 appended, 2 failed. */
  state: 0 | 1 | 2;
  resolve: () => void;
  /** Applied instead of the batch: a rewrite's compare-and-set, which has no WAL entry. */
  apply?: () => void;
}

const RESOLVED = Promise.resolve();

/**
 * Immutable memtables waiting for their flush at which writes wait for a flush, so memory stays
 * bounded when writes outrun the disk — without a WAL, awaited writes resolve in microtasks and
 * would otherwise never let a flush's I/O run.
 */
export const MAX_IMMUTABLE_MEMTABLES = 4;

/** The background maintenance's rewrite copy rate (its token bucket). */
const BACKGROUND_MAINTENANCE_BYTES_PER_SECOND = 64 * 1024 * 1024;

function copyOps(ops: readonly WriteOp[]): WriteOp[] {
  return ops.map((op) => ({ kind: op.kind, key: op.key.slice(), value: op.value.slice() }));
}

function syncOption(options: unknown): boolean {
  if (options === undefined) return false;
  if (options === null || typeof options !== 'object') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'write options must be an object');
  const sync = (options as { sync?: unknown }).sync;
  if (sync !== undefined && typeof sync !== 'boolean') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'options.sync must be a boolean');
  return sync === true;
}

export class Db implements IteratorHost {
  /** [mutable memtable, immutable memtables newest first…]. */
  private slots: MemSlot[];
  /** The last seq handed out, and the last one applied to the memtable (visible). */
  private lastSeq = 0;
  private appliedSeq = 0;
  private pending: PendingWrite[] = [];
  private pendingHead = 0;
  private lastWrite: Promise<unknown> = RESOLVED;
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;
  private isClosed = false;
  private closing: Promise<void> | null = null;
  private readonly snapshots = new Set<Snapshot>();
  private readonly iterators = new Set<DbIterator<unknown>>();
  private readonly unlinks = new Set<Promise<void>>();
  private readonly flushListeners = new Set<(info: FlushInfo) => void>();
  private readonly counts = { puts: 0, dels: 0, batches: 0, gets: 0, iterators: 0, flushes: 0, memtableStalls: 0 };
  /** Null for read-only databases. */
  private readonly compaction: CompactionScheduler | null;
  /** @internal The value log (separated values), set by `open`; null for none. */
  valueLog: ValueLog | null = null;
  /**
   * What the mutable memtable's pointers charge toward `memtableBytes` for the value-log bytes they
   * reference (flush-charge.ts), so a memtable of pointers is flushed after written data as one of
   * values is, and the stale bytes of overwritten values reach the ledger at a bounded pace.
   */
  private mutableValueLogCharge = 0;
  private readonly iteratorMemtables = new Map<DbIterator<unknown>, Memtable[]>();
  /** Value-log GC passes run one at a time; a pass requested meanwhile runs after it. */
  private gcRunning: Promise<GcResult> | null = null;
  private gcAgain = false;
  /** The last pass found segments only a reader still reaches: try again when one goes away. */
  private gcBlocked = false;
  private readonly gcTotals = { passes: 0, deletedSegments: 0, reclaimedBytes: 0 };
  /** Background maintenance (null without a value log, read-only, or with auto compaction off). */
  private maintenanceController: MaintenanceController | null = null;
  /** Write pacing on value-log debt (maintenance/pacer.ts; with the controller only). */
  private pacer: WritePacer | null = null;
  /** Maintenance passes run one at a time. */
  private maintaining: Promise<unknown> = RESOLVED;
  private readonly maintenanceTotals = { runs: 0, rewrittenSegments: 0, swappedRecords: 0, copiedBytes: 0, lastRunMs: 0, totalRunMs: 0 };
  private readonly events = new MaintenanceEvents();
  /** Segments rewritten under load whose old pointers wait for a compaction (maintain.ts). */
  private readonly retiring = new Map<number, readonly [Uint8Array, Uint8Array]>();
  /** Sampled stale shares of sealed segments: what the ledger cannot see yet (planner input only). */
  private readonly staleness = new StalenessSampler();
  /** Set while the write pacer weighs the debt inside a write call: sampling waits for the next turn. */
  private deferSampling = false;
  /** Rewritten segments waiting for their retire edit: segment → seq (maintain.ts, "Early retirement"). */
  private readonly pendingRetire = new Map<number, number>();
  /** Every entry with a seq up to this is in tables (advanced by flushes). */
  private tablesThrough = 0;
  /** The applied seq when each memtable was frozen: everything up to it is in that memtable or older ones. */
  private readonly frozenAt = new WeakMap<Memtable, number>();
  /** The seq each open iterator reads at (the applied seq when it was made, or its snapshot's). */
  private readonly iteratorSeqs = new Map<DbIterator<unknown>, number>();
  /** Operations (checkpoints) during which GC deletes no retired segment. */
  private gcHolds = 0;
  /** A maintenance pass flushes and runs its own GC next: flushes meanwhile leave retirements to it. */
  private passFlushes = 0;
  private maintenancePasses = 0;
  /** @internal Test hook: called after each maintenance step (may throw to simulate a crash there). */
  maintenanceStepHook: ((step: MaintenanceStep) => void | Promise<void>) | null = null;
  /** Writes waiting behind a write stall, and the tail of their queue. */
  private stalledWrites = 0;
  private stallTail: Promise<void> = RESOLVED;

  /** @internal Made by `open`. */
  constructor(
    readonly location: string,
    private readonly options: ResolvedOptions,
    private readonly lock: VfsLock | null,
    private readonly manifest: ManifestStore | null,
    private readonly versions: VersionSet,
    private readonly tables: TableSet,
    /** @internal */
    public wal: WriteAheadLog | null,
  ) {
    this.slots = [new MemSlot(this.newMemtable())];
    if (manifest === null) {
      this.compaction = null;
    } else {
      this.compaction = new CompactionScheduler(
        {
          location,
          vfs: options.vfs,
          accelerator: options.accelerator,
          blockSize: options.blockSize,
          tables,
          currentVersion: () => this.versions.current,
          newFileNumber: () => manifest.newFileNumber(),
          snapshotSeqs: () => this.snapshotSeqs(),
          installEdit: (edit) => this.installEdit(edit),
          manifestPoisoned: () => manifest.poisoned,
        },
        { compaction: options.compaction, disableAutoCompaction: options.disableAutoCompaction },
      );
      const scheduler = this.compaction;
      this.addFlushListener(() => scheduler.maybeSchedule());
    }
  }

  /** @internal Called by `open` once the database is ready: background compaction may start. */
  startBackgroundWork(): void {
    this.compaction?.start();
    if (this.valueLog !== null && this.manifest !== null && !this.options.disableAutoCompaction) {
      const controller = new MaintenanceController(
        {
          writeCount: () => this.counts.puts + this.counts.dels + this.counts.batches,
          debt: () => {
            pruneRetiring({ retiring: this.retiring, ledger: () => this.versions.ledger });
            const sampled = this.sampleStaleness();
            const queue = planRewrites(this.versions.ledger, this.valueLog!.segmentInfos(), Date.now(), { minStaleRatio: BACKGROUND_MIN_STALE_RATIO, sampledStaleRatio: sampled }).filter(
              (candidate) => !this.retiring.has(candidate.segment) && !this.pendingRetire.has(candidate.segment),
            );
            const { stale, total } = weighDebt({
              entries: this.versions.ledger.values(),
              present: (segment) => this.valueLog!.info(segment) !== undefined,
              sampled,
              awaitingRetire: (segment) => this.pendingRetire.has(segment),
            });
            // Segments waiting for a compaction or for their retire edit: a quiet pass flushes for both.
            const waiting = new Set([...this.retiring.keys(), ...this.pendingRetire.keys()]).size;
            return { queuedSegments: queue.length, retiringSegments: waiting, stale, total };
          },
          maintain: (options) => this.runMaintenance(options, true),
          retire: async () => {
            await this.flushNow();
            return (await this.collectGarbage()).deletedSegments.length;
          },
          backoff: (delayMs, reason, error) => this.events.emit('backoff', { delayMs, reason, error }),
        },
        { bytesPerSecond: BACKGROUND_MAINTENANCE_BYTES_PER_SECOND, ...pressureFor(this.options.valueLogPacing) },
      );
      this.maintenanceController = controller;
      const pacing = this.options.valueLogPacing;
      if (pacing.softRatio !== Infinity) {
        this.pacer = new WritePacer(
          {
            now: () => performance.now(),
            // An aborted sleep (the pass came first) just ends.
            sleep: (ms, signal) => sleepFor(ms, undefined, signal === undefined ? {} : { signal }).catch(() => {}),
            debt: () => {
              this.deferSampling = true;
              try {
                return controller.pacingDebt();
              } finally {
                this.deferSampling = false;
              }
            },
            relieve: () => controller.relieve(),
            kick: () => controller.kick(),
          },
          // Less than two segments of debt is never paced: a rewrite frees a segment at a time.
          { ...pacing, minDebtBytes: PACING_FLOOR_SEGMENTS * this.options.valueLogSegmentBytes },
        );
      }
      this.addFlushListener(() => controller.kick());
      controller.start();
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get readOnly(): boolean {
    return this.options.readOnly;
  }

  get durability(): ResolvedOptions['durability'] {
    return this.options.durability;
  }

  // ---------------------------------------------------------------- writes

  put(key: Uint8Array | string, value: Uint8Array | string, options?: WriteOptions): Promise<void> {
    this.checkWritable();
    const op = putOp(key, value);
    const sync = syncOption(options);
    this.counts.puts++;
    return this.write([op], sync);
  }

  del(key: Uint8Array | string, options?: WriteOptions): Promise<void> {
    this.checkWritable();
    const op = delOp(key);
    const sync = syncOption(options);
    this.counts.dels++;
    return this.write([op], sync);
  }

  /** Apply every operation atomically (consecutive seqs, one WAL entry). Bad input throws and applies nothing. */
  batch(operations: readonly BatchOp[], options?: WriteOptions): Promise<void> {
    this.checkWritable();
    const ops = toWriteOps(operations);
    const sync = syncOption(options);
    this.counts.batches++;
    return this.write(ops, sync);
  }

  private write(ops: WriteOp[], sync: boolean): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (ops.length === 0) return RESOLVED;
    const compaction = this.compaction;
    if (
      this.stalledWrites > 0 ||
      this.slots.length - 1 >= MAX_IMMUTABLE_MEMTABLES ||
      (compaction !== null && compaction.writeStall() !== 'none') ||
      (this.pacer !== null && this.pacer.paces(writeBytes(ops)))
    ) {
      return this.stalledWrite(compaction, copyOps(ops), sync);
    }
    return this.writeNow(ops, sync);
  }

  /**
   * A write that arrived during a stall (or behind writes that did): it waits its turn in a FIFO,
   * then for the memtables to be flushed below the limit and for L0 to ease, then takes the
   * normal path.
   */
  private stalledWrite(compaction: CompactionScheduler | null, ops: WriteOp[], sync: boolean): Promise<void> {
    this.stalledWrites++;
    const turn = this.stallTail
      .then(() => this.awaitMemtableRoom())
      .then(() => compaction?.awaitStall())
      .then(() => this.pacer?.admit(writeBytes(ops)));
    // Registered before the tail below: this write takes its seqs before the next one waits.
    const done = turn.then(
      () => {
        this.stalledWrites--;
        if (this.failure !== null) throw this.failure;
        return this.writeNow(ops, sync);
      },
      (error: unknown) => {
        this.stalledWrites--;
        throw error;
      },
    );
    this.stallTail = turn.catch(() => {});
    return done;
  }

  /** Wait while `MAX_IMMUTABLE_MEMTABLES` memtables wait for their flush. */
  private async awaitMemtableRoom(): Promise<void> {
    while (this.slots.length - 1 >= MAX_IMMUTABLE_MEMTABLES) {
      if (this.failure !== null) throw this.failure;
      this.counts.memtableStalls++;
      await this.runFlushes();
    }
  }

  private writeNow(ops: WriteOp[], sync: boolean): Promise<void> {
    if (ops.length - 1 > MAX_SEQ - (this.lastSeq + 1)) throw siltError(ErrorCodes.OUT_OF_RANGE, 'sequence numbers are exhausted');
    const firstSeq = this.lastSeq + 1;
    const wal = this.wal;
    const valueLog = this.valueLog;
    let separated = false;
    let pointers: readonly Uint8Array[] | null = null;
    if (valueLog !== null) {
      try {
        const replaced = separateValues(valueLog, ops, this.options.valueThreshold);
        if (replaced !== null) {
          ops = replaced.ops;
          pointers = replaced.pointers;
          separated = true;
        }
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (wal === null) {
      this.lastSeq += ops.length;
      this.applyBatch({ firstSeq, ops }, -1);
      if (pointers !== null) valueLog!.settle(pointers);
      // Backpressure: the caller waits until the value log has written what it queued.
      return separated ? valueLog!.written('foreground') : RESOLVED;
    }
    // The memtable gets the batch only after the WAL acknowledges it: keep our own copy meanwhile.
    const batch: WriteBatch = { firstSeq, ops: copyOps(ops) };
    // `sync`: the write is acknowledged (and applied) only once its separated values are durable too.
    // `relaxed`: written to the OS, the value log's frames included (which also bounds the frames
    // queued in memory when writes outrun the disk).
    const appended = separated
      ? Promise.all([wal.append(batch), wal.durability === 'sync' ? valueLog!.sync('foreground') : valueLog!.written('foreground')]).then(([index]) => index)
      : wal.append(batch);
    this.lastSeq += ops.length;
    const pending: PendingWrite = { batch, index: -1, state: 0, resolve: () => {} };
    const applied = new Promise<void>((resolve) => (pending.resolve = resolve));
    this.pending.push(pending);
    const result = appended.then(
      (index) => {
        pending.index = index;
        pending.state = 1;
        this.drain();
        return applied;
      },
      (error: unknown) => {
        pending.state = 2;
        this.failure ??= error;
        this.drain();
        throw error;
      },
    );
    // Until the batch is in the memtable (or failed), GC must not take the segments it points into.
    if (pointers !== null) {
      const settle = (): void => valueLog!.settle(pointers);
      void result.then(settle, settle);
    }
    const done = sync && wal.durability === 'relaxed' ? result.then(() => Promise.all([valueLog?.sync('foreground'), wal.sync()])).then(() => {}) : result;
    this.lastWrite = done.catch(() => {});
    return done;
  }

  /** Apply acknowledged batches to the memtable, in seq order. */
  private drain(): void {
    const pending = this.pending;
    while (this.pendingHead < pending.length) {
      const write = pending[this.pendingHead]!;
      if (write.state === 0) break;
      this.pendingHead++;
      if (write.state === 1) {
        try {
          if (write.apply !== undefined) write.apply();
          else this.applyBatch(write.batch, write.index);
        } catch (error) {
          this.failure ??= error;
        }
        write.resolve();
      }
    }
    if (this.pendingHead === pending.length) {
      this.pending = [];
      this.pendingHead = 0;
    }
  }

  private applyBatch(batch: WriteBatch, index: number): void {
    const slot = this.slots[0]!;
    const mem = slot.mem;
    const { firstSeq, ops } = batch;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      mem.add(firstSeq + i, op.kind, op.key, op.value);
      if (op.kind === Kind.Pointer) this.mutableValueLogCharge += pointerFlushCharge(pointerRecordBytes(op.value));
    }
    if (index >= 0) slot.walEnd = index + 1;
    this.appliedSeq = lastSeqOf(batch);
    if (this.memtableFull(mem)) this.rotate();
  }

  /** @internal WAL replay at open: one op. */
  replayOp(seq: number, kind: Kind, key: Uint8Array, value: Uint8Array): void {
    this.slots[0]!.mem.add(seq, kind, key, value);
    if (kind === Kind.Pointer) this.mutableValueLogCharge += pointerFlushCharge(pointerRecordBytes(value));
    this.lastSeq = this.appliedSeq = seq;
  }

  /** @internal WAL replay at open: the batch at `index` is in the memtable. */
  replayBatchDone(index: number): void {
    const slot = this.slots[0]!;
    slot.walEnd = index + 1;
    if (this.memtableFull(slot.mem)) this.rotate();
  }

  /** @internal Set the seq counters at open. */
  startAt(seq: number): void {
    if (seq > this.lastSeq) this.lastSeq = this.appliedSeq = seq;
  }

  // ---------------------------------------------------------------- reads

  /** The value of `key` (a copy), or undefined. */
  getSync(key: Uint8Array | string, options?: ReadOptions): Uint8Array | undefined {
    if (this.isClosed) throw closedError(this.location);
    // A byte key within the limit is taken as it is; `toUserKey` encodes strings and rejects the rest.
    const userKey = key instanceof Uint8Array && key.length <= MAX_KEY_BYTES ? key : toUserKey(key);
    const seq = options === undefined ? MAX_SEQ : this.readSeq(options);
    this.counts.gets++;
    return readValue(this.slots, this.versions.current, this.tables, userKey, seq, this.valueLog ?? NO_SEPARATED_VALUES);
  }

  get(key: Uint8Array | string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.getSync(key, options));
  }

  /** The values of `keys`, in order (undefined where absent). All keys are checked first. */
  getMany(keys: readonly (Uint8Array | string)[], options?: ReadOptions): (Uint8Array | undefined)[] {
    this.checkOpen();
    if (!Array.isArray(keys)) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'keys must be an array');
    const userKeys = keys.map((key, i) => toUserKey(key, `keys[${i}]`));
    const seq = this.readSeq(options);
    const version = this.versions.current;
    this.counts.gets += userKeys.length;
    return userKeys.map((userKey) => readValue(this.slots, version, this.tables, userKey, seq, this.pointerResolver()));
  }

  has(key: Uint8Array | string, options?: ReadOptions): boolean {
    return this.getSync(key, options) !== undefined;
  }

  /** An iterator of `[key, value]` (copies), sync and async. */
  iterator(options?: DbIteratorOptions): DbIterator<Entry> {
    return this.makeIterator<Entry>(options, 'entries');
  }

  keys(options?: DbIteratorOptions): DbIterator<Uint8Array> {
    return this.makeIterator<Uint8Array>(options, 'keys');
  }

  values(options?: DbIteratorOptions): DbIterator<Uint8Array> {
    return this.makeIterator<Uint8Array>(options, 'values');
  }

  private makeIterator<T>(options: DbIteratorOptions | undefined, projection: Projection): DbIterator<T> {
    this.checkOpen();
    const bounds = resolveIteratorOptions(options);
    const seq = this.readSeq(options);
    const version = this.versions.current;
    const sourceOptions = {
      ...(bounds.gt === undefined ? {} : { gt: bounds.gt }),
      ...(bounds.gte === undefined ? {} : { gte: bounds.gte }),
      ...(bounds.lt === undefined ? {} : { lt: bounds.lt }),
      ...(bounds.lte === undefined ? {} : { lte: bounds.lte }),
      reverse: bounds.reverse,
    };
    const sources: MergeSource[] = [];
    for (const slot of this.slots) {
      if (slot.mem.entryCount > 0) sources.push(slot.mem.iterator({ ...sourceOptions, snapshotSeq: seq, newestOnly: true }));
    }
    const lower = bounds.gt ?? bounds.gte;
    const upper = bounds.lt ?? bounds.lte;
    for (const { table } of version.allTables()) {
      if (table.minSeq > seq) continue;
      if (lower !== undefined && compareUserPart(table.largest, lower) < 0) continue;
      if (upper !== undefined && compareUserPart(table.smallest, upper) > 0) continue;
      sources.push(this.tables.get(table.fileNumber).iterator(sourceOptions));
    }
    const iterator = new DbIterator<T>(this, sources, version, bounds, seq, projection);
    this.iterators.add(iterator as DbIterator<unknown>);
    // The iterator reads these memtables until it ends, even after they are flushed: GC must see them.
    if (this.valueLog !== null) {
      this.iteratorMemtables.set(iterator as DbIterator<unknown>, this.slots.map((slot) => slot.mem));
      this.iteratorSeqs.set(iterator as DbIterator<unknown>, Math.min(seq, this.appliedSeq));
    }
    this.counts.iterators++;
    return iterator;
  }

  /** @internal A separated value: the value-log record a pointer names (a copy). */
  readonly resolvePointer = (pointer: Uint8Array, key: Uint8Array): Uint8Array => this.pointerResolver().readAt(pointer, 0, pointer.length, key);

  /** What point reads resolve pointers with: the value log itself (no layer between), when there is one. */
  private pointerResolver(): PointerResolver {
    return this.valueLog ?? NO_SEPARATED_VALUES;
  }

  /** @internal */
  iteratorEnded(iterator: DbIterator<unknown>): void {
    this.iterators.delete(iterator);
    this.iteratorSeqs.delete(iterator);
    if (this.iteratorMemtables.delete(iterator)) this.releasedReader();
  }

  private readSeq(options: ReadOptions | undefined): number {
    if (options === undefined) return MAX_SEQ;
    if (options === null || typeof options !== 'object') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'read options must be an object');
    const snapshot = options.snapshot;
    if (snapshot === undefined) return MAX_SEQ;
    if (!(snapshot instanceof Snapshot) || !this.snapshots.has(snapshot)) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, 'options.snapshot must be a live snapshot of this database');
    }
    return snapshot.checkedSeq();
  }

  // ---------------------------------------------------------------- snapshots

  /** Pin the current seq and version; release with `release()` or `using`. */
  snapshot(): Snapshot {
    this.checkOpen();
    const snapshot = new Snapshot(this.appliedSeq, this.versions.current, (s) => {
      this.snapshots.delete(s);
      this.releasedReader();
    });
    this.snapshots.add(snapshot);
    return snapshot;
  }

  /** The seqs of the live snapshots, ascending: a compaction keeps the newest version at or below each. */
  snapshotSeqs(): number[] {
    return [...this.snapshots].map((s) => s.seq).sort((a, b) => a - b);
  }

  // ---------------------------------------------------------------- flush

  /** Write every memtable to L0 tables; resolves once they are in the manifest. */
  flush(): Promise<void> {
    this.checkWritable();
    return this.flushNow();
  }

  private async flushNow(): Promise<void> {
    await this.lastWrite;
    if (this.failure !== null) throw this.failure;
    // Everything applied so far is in the memtables frozen now, which flushAll writes to tables.
    const through = this.appliedSeq;
    this.rotate();
    await this.flushAll();
    this.tablesFlushedThrough(through);
  }

  /**
   * Flush, then compact the user-key range [start, end] (default: everything) level by level down
   * to the deepest level holding data in it: shadowed versions no snapshot needs go, and so do
   * tombstones with nothing below them. Waits for (and holds off) background compaction.
   */
  compact(options?: CompactOptions): Promise<void> {
    this.checkWritable();
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, 'compact options must be an object');
    }
    const start = options?.start === undefined ? undefined : toUserKey(options.start, 'options.start');
    const end = options?.end === undefined ? undefined : toUserKey(options.end, 'options.end');
    return this.compactNow(start?.slice(), end?.slice());
  }

  private async compactNow(start: Uint8Array | undefined, end: Uint8Array | undefined): Promise<void> {
    await this.flushNow();
    await this.compaction!.compactRange(start, end);
  }

  /** Make every acknowledged write durable: a WAL sync, or a flush without a WAL. */
  sync(): Promise<void> {
    this.checkWritable();
    const wal = this.wal;
    if (wal === null) return this.flushNow();
    return Promise.all([this.valueLog?.sync(), wal.sync()]).then(() => {});
  }

  /** Make the mutable memtable immutable (when it holds anything) and schedule its flush. */
  /**
   * Whether the mutable memtable is full: its own bytes plus what its pointers charge
   * (flush-charge.ts). The charge makes memtables of small separated values flush after a quarter
   * of `memtableBytes` of separated data, so the overwritten values they shadow reach the ledger
   * (through L0 compaction) before they pile up on disk: the stale bytes not yet visible stay about
   * `memtableBytes` (the L0 trigger's worth of flushes), not four times that. Large values are
   * charged a flat amount each: at most `memtableBytes` of them wait for a flush.
   */
  private memtableFull(mem: Memtable): boolean {
    return mem.approximateBytes + this.mutableValueLogCharge >= this.options.memtableBytes;
  }

  private rotate(): void {
    const slot = this.slots[0]!;
    if (slot.mem.entryCount === 0) return;
    this.mutableValueLogCharge = 0;
    this.frozenAt.set(slot.mem, this.appliedSeq);
    slot.mem.freeze();
    this.slots.unshift(new MemSlot(this.newMemtable()));
    void this.runFlushes().catch(() => {});
  }

  /**
   * @internal Start (or join) the background flush of the immutable memtables, oldest first. The
   * promise is stored before anything can settle it (`.finally` runs in a later microtask), so a
   * loop that finds nothing to do cannot leave a stale promise behind; and a memtable frozen while
   * a finishing loop was winding down starts the next loop.
   */
  runFlushes(): Promise<void> {
    this.flushing ??= this.flushLoop().finally(() => {
      this.flushing = null;
      if (this.slots.length > 1 && this.failure === null) void this.runFlushes().catch(() => {});
    });
    return this.flushing;
  }

  /** Wait until every immutable memtable is flushed (or a flush fails). */
  private async flushAll(): Promise<void> {
    while (this.slots.length > 1) {
      if (this.failure !== null) throw this.failure;
      await this.runFlushes();
    }
  }

  private async flushLoop(): Promise<void> {
    while (this.slots.length > 1) {
      if (this.failure !== null) throw this.failure;
      await this.flushOldest();
    }
  }

  private async flushOldest(): Promise<void> {
    const manifest = this.manifest!;
    const slot = this.slots[this.slots.length - 1]!;
    const mem = slot.mem;
    try {
      const fileNumber = manifest.newFileNumber();
      const meta = await buildTableFromMemtable(mem, {
        vfs: this.options.vfs,
        path: tablePath(this.location, fileNumber),
        fileNumber,
        blockSize: this.options.blockSize,
        accelerator: this.options.accelerator,
      });
      const wal = this.wal;
      // The edit raises walFlushedIndex: the WAL must hold everything below it durably first.
      if (wal !== null && wal.durability === 'relaxed') await wal.sync();
      // The table's pointers must outlive the WAL entries the edit retires; the ledger charges them.
      const valueLog = this.valueLog;
      if (valueLog !== null) await valueLog.sync();
      const ledgerChanges = valueLog === null ? [] : flushLedgerChanges(this.versions.ledger, meta.properties.valueLogBytes, valueLog, Date.now());
      const counters = manifest.counters;
      await this.installEdit({
        ...(ledgerChanges.length > 0 ? { valueLog: ledgerChanges } : {}),
        added: [{ level: 0, table: manifestMetaOf(meta) }],
        lastSeq: Math.max(counters.lastSeq, mem.maxSeq),
        ...(slot.walEnd > counters.walFlushedIndex ? { walFlushedIndex: slot.walEnd } : {}),
      });
      this.slots.pop();
      this.counts.flushes++;
      this.tablesFlushedThrough(this.frozenAt.get(mem) ?? 0);
      if (wal !== null) await wal.release(slot.walEnd);
      const info: FlushInfo = { fileNumber, bytes: meta.fileSize, entries: meta.entryCount };
      for (const listener of this.flushListeners) listener(info);
    } catch (error) {
      this.failure ??= error;
      throw error;
    }
  }

  /**
   * @internal For compaction: open the tables `edit` adds, log the edit and install its version.
   * Tables it removes are unlinked once no snapshot or iterator pins a version listing them.
   */
  async installEdit(edit: VersionEdit): Promise<Version> {
    if (this.manifest === null) throw readOnlyError(this.location);
    const added = edit.added ?? [];
    try {
      for (const { table } of added) await this.tables.open(table.fileNumber, table.size);
      const version = await this.manifest.logAndApply(edit);
      // A compaction that made value-log bytes stale may have emptied a segment.
      if (edit.valueLog?.some((change) => (change.addStale ?? 0) > 0)) {
        this.scheduleGc();
        this.maintenanceController?.kick();
      }
      return version;
    } catch (error) {
      for (const { table } of added) if (!this.versions.isLive(table.fileNumber)) this.tables.drop(table.fileNumber);
      throw error;
    }
  }

  /** Every entry up to `seq` is in tables now: retirements waiting for that are due (GC logs them). */
  private tablesFlushedThrough(seq: number): void {
    if (seq <= this.tablesThrough) return;
    this.tablesThrough = seq;
    if (this.passFlushes > 0) return;
    for (const due of this.pendingRetire.values()) {
      if (due <= seq) {
        this.scheduleGc();
        return;
      }
    }
  }

  /**
   * Log the retire edit of every rewritten segment whose shadowing entries are all in tables (run
   * by GC, before it collects). The seq recorded is clamped to the manifest's `lastSeq`: every
   * shadowing entry is in a table, so its seq is at most that, and readers after a reopen (whose
   * seqs start there) are not held off by seqs no entry has.
   */
  private async retireReady(): Promise<number> {
    if (this.pendingRetire.size === 0 || this.manifest === null) return 0;
    const ledger = this.versions.ledger;
    const lastSeq = this.manifest.counters.lastSeq;
    const changes: { segment: number; retiredAt: number }[] = [];
    for (const [segment, seq] of this.pendingRetire) {
      if (seq > this.tablesThrough) continue;
      this.pendingRetire.delete(segment);
      const entry = ledger.get(segment);
      if (entry === undefined || entry.retiredAt > 0 || !entry.sealed) continue;
      changes.push({ segment, retiredAt: Math.max(1, Math.min(seq, lastSeq)) });
    }
    if (changes.length === 0) return 0;
    await this.installEdit({ valueLog: changes.sort((a, b) => a.segment - b.segment) });
    for (const { segment, retiredAt } of changes) this.events.emit('segment-retired', { segment, seq: retiredAt });
    return changes.length;
  }

  /** The lowest seq an open snapshot or iterator reads at; Infinity when none (or 0 while GC is held). */
  private oldestReaderSeq(): number {
    if (this.gcHolds > 0) return 0;
    let oldest = Infinity;
    for (const snapshot of this.snapshots) oldest = Math.min(oldest, snapshot.seq);
    for (const seq of this.iteratorSeqs.values()) oldest = Math.min(oldest, seq);
    return oldest;
  }

  /** @internal For compaction: hear about every flush. Returns the unsubscribe function. */
  addFlushListener(listener: (info: FlushInfo) => void): () => void {
    this.flushListeners.add(listener);
    return () => this.flushListeners.delete(listener);
  }

  /** @internal The current version (not pinned). */
  get currentVersion(): Version {
    return this.versions.current;
  }

  /** @internal The open table readers. */
  get tableSet(): TableSet {
    return this.tables;
  }

  /** @internal Table files no live version lists any more: close and unlink them. */
  obsoleted(fileNumbers: readonly number[]): void {
    for (const fileNumber of fileNumbers) {
      this.tables.drop(fileNumber);
      const unlink: Promise<void> = this.options.vfs
        .unlink(tablePath(this.location, fileNumber))
        // A failed unlink leaves garbage that the next open removes.
        .catch(() => {})
        .finally(() => this.unlinks.delete(unlink));
      this.unlinks.add(unlink);
    }
  }

  // ---------------------------------------------------------------- checkpoint, stats, close

  /**
   * Flush, then make `dir` (missing or empty) a database holding the current content: the live
   * tables hardlinked, and a fresh manifest describing them.
   */
  checkpoint(dir: string): Promise<void> {
    this.checkWritable();
    if (typeof dir !== 'string' || dir.length === 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the checkpoint directory must be a non-empty string');
    return this.checkpointNow(dir);
  }

  private async checkpointNow(dir: string): Promise<void> {
    await this.flushNow();
    const vfs = this.options.vfs;
    // The tables and the ledger of one installed state: a segment is retired in this ledger only if
    // the swaps shadowing its pointers are in these tables. GC deletes no retired segment meanwhile
    // (one retired after this point is still linked).
    const version = this.versions.current.ref();
    const ledger = this.versions.ledger;
    this.gcHolds++;
    try {
      await vfs.mkdir(dir, { recursive: true, durable: true });
      if ((await vfs.readdir(dir)).length > 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, `the checkpoint directory ${dir} is not empty`);
      const tables = [...version.allTables()];
      // Hard links where possible; a copy where the file system refuses one (EXDEV and the like).
      for (const { table } of tables) await linkOrCopy(vfs, tablePath(this.location, table.fileNumber), tablePath(dir, table.fileNumber));
      await vfs.syncDir(dir);
      const valueLog = this.valueLog === null ? [] : await linkValueLogSegments(vfs, this.valueLog, ledger, tables.map((t) => t.table), dir);
      const store = await ManifestStoreClass.open(dir, { vfs });
      try {
        const counters = this.manifest!.counters;
        await store.logAndApply({
          added: tables,
          nextFileNumber: counters.nextFileNumber,
          lastSeq: counters.lastSeq,
          ...(valueLog.length > 0 ? { valueLog } : {}),
        });
      } finally {
        await store.close();
      }
    } finally {
      version.unref();
      this.gcHolds--;
      this.releasedReader();
    }
  }

  /**
   * Delete the value-log segments nothing reaches any more: no live bytes in the ledger, and no
   * version, snapshot, iterator or memtable pointing into them (src/maintenance/gc.ts). Runs after
   * compactions by itself; this runs a pass now (after the one in progress, if any).
   */
  /**
   * One maintenance pass (src/maintenance/maintain.ts): `gc` deletes unreachable segments;
   * `rewrite` (default) also rewrites the most stale segments into the cold lane within `budget`;
   * `full` compacts everything first and rewrites every segment with stale bytes (the floor).
   */
  maintain(options?: MaintainOptions): Promise<MaintenanceReport> {
    this.checkWritable();
    return this.runMaintenance(checkMaintainOptions(options), false);
  }

  private runMaintenance(options: MaintainOptions, background: boolean): Promise<MaintenanceReport> {
    const run = this.maintaining.catch(() => {}).then(() => this.maintainNow(options, background));
    this.maintaining = run;
    return run;
  }

  /**
   * Listen to maintenance events (src/maintenance/events.ts): `pass-start`, `pass-end`,
   * `segment-rewritten`, `segment-deleted`, `backoff`. Returns the function that unsubscribes.
   */
  on<K extends MaintenanceEventType>(type: K, listener: MaintenanceListener<K>): () => void {
    return this.events.on(type, listener);
  }

  /** Stop listening; returns whether the listener was registered. */
  off<K extends MaintenanceEventType>(type: K, listener: MaintenanceListener<K>): boolean {
    return this.events.off(type, listener);
  }

  private async maintainNow(options: MaintainOptions, background: boolean): Promise<MaintenanceReport> {
    if (this.failure !== null) throw this.failure;
    const valueLog = this.valueLog;
    if (valueLog === null) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the database has no value log');
    const pass = ++this.maintenancePasses;
    const mode = options.mode ?? 'rewrite';
    if (this.events.has('pass-start')) {
      const queue = planRewrites(this.versions.ledger, valueLog.segmentInfos(), Date.now());
      this.events.emit('pass-start', {
        pass, mode, background, queuedSegments: queue.length, queuedStaleBytes: queue.reduce((sum, c) => sum + c.stale, 0),
      });
    }
    const host: MaintenanceHost = {
      valueLog,
      ledger: () => this.versions.ledger,
      retiring: this.retiring,
      pendingRetire: this.pendingRetire,
      appliedSeq: () => this.appliedSeq,
      flush: async () => {
        this.passFlushes++;
        try {
          await this.flushNow();
        } finally {
          this.passFlushes--;
        }
      },
      ledgerEntry: (segment) => this.versions.ledger.get(segment),
      logLedger: async (changes) => {
        await this.installEdit({ valueLog: changes });
      },
      newestPointer: (key) => this.newestPointer(key),
      sortKeys: (keys) => this.options.accelerator.sortKeys(keys),
      visitNewestEntries: (keys, visit) => visitNewestEntries(this.slots, this.versions.current, this.tables, keys, visit),
      lookupMark: () => this.lookupMark(),
      ...(mode === 'rewrite' ? { sampledStaleRatio: this.sampleStaleness() } : {}),
      swapPointers: (records, since) => this.swapPointers(records, since),
      compact: (start, end) => this.compactNow(start, end),
      collectGarbage: () => this.collectGarbage(),
      segmentRewritten: (result, elapsedMs) =>
        this.events.emit('segment-rewritten', {
          pass, segment: result.segment, copiedRecords: result.copiedRecords, copiedBytes: result.copiedBytes, swapped: result.swapped, elapsedMs,
        }),
      ...(this.maintenanceStepHook === null ? {} : { afterStep: this.maintenanceStepHook, afterMaintenanceStep: this.maintenanceStepHook }),
    };
    const started = performance.now();
    const gcBefore = { ...this.gcTotals };
    let report: MaintenanceReport;
    try {
      const own = await maintain(host, options);
      // Deletions the pass caused may run in a GC its flush or compaction started: count every
      // deletion made while the pass ran (as its events are).
      report = {
        ...own,
        deletedSegments: this.gcTotals.deletedSegments - gcBefore.deletedSegments,
        reclaimedBytes: this.gcTotals.reclaimedBytes - gcBefore.reclaimedBytes,
      };
    } catch (error) {
      this.events.emit('pass-end', {
        pass, mode, background, rewrittenSegments: 0, copiedBytes: 0, deletedSegments: 0, reclaimedBytes: 0, stoppedBy: 'error',
        elapsedMs: performance.now() - started, error: String((error as Error)?.message ?? error),
      });
      throw error;
    }
    this.events.emit('pass-end', {
      pass, mode, background, rewrittenSegments: report.rewrites.length, copiedBytes: report.copiedBytes, deletedSegments: report.deletedSegments,
      reclaimedBytes: report.reclaimedBytes, stoppedBy: report.stoppedBy, elapsedMs: report.elapsedMs, error: null,
    });
    const t = this.maintenanceTotals;
    t.runs++;
    t.rewrittenSegments += report.rewrites.length;
    for (const r of report.rewrites) t.swappedRecords += r.swapped;
    t.copiedBytes += report.copiedBytes;
    t.lastRunMs = report.elapsedMs;
    t.totalRunMs += report.elapsedMs;
    return report;
  }

  /**
   * Refresh the sampled stale shares of sealed segments (bounded work: see `StalenessSampler`) and
   * return the lookup the planner takes. Segments without live bytes in the ledger or already
   * rewritten are not sampled.
   */
  private sampleStaleness(): (segment: number) => number | undefined {
    const valueLog = this.valueLog;
    if (this.deferSampling) {
      // On a write's path: the current estimates now, the refresh on the next turn.
      this.staleness.refreshSoon(() => {
        if (!this.isClosed) this.sampleStaleness();
      });
    } else if (valueLog !== null && !this.options.readOnly) {
      const ledger = this.versions.ledger;
      this.staleness.refresh(
        { valueLog, newestPointer: (key) => this.newestPointer(key), writeCount: () => this.counts.puts + this.counts.dels + this.counts.batches },
        valueLog.segmentInfos(),
        Date.now(),
        (segment) => {
          const entry = ledger.get(segment);
          return entry === undefined || entry.stale >= entry.total || this.retiring.has(segment) || this.pendingRetire.has(segment);
        },
      );
    }
    return (segment) => this.staleness.staleRatio(segment);
  }

  /** The raw pointer of `key`'s newest entry, when that entry is a pointer. */
  private newestPointer(key: Uint8Array): Uint8Array | null {
    let pointer: Uint8Array | null = null;
    readValue(this.slots, this.versions.current, this.tables, key, MAX_SEQ, {
      readAt: (raw, from, to) => {
        pointer = raw.slice(from, to);
        return pointer;
      },
    });
    return pointer;
  }

  /** The tables and memtables lookups see now (`swapPointers`' `since`). */
  private lookupMark(): LookupMark {
    const version = this.versions.current;
    // A version made by an edit that adds or removes no table (a ledger edit) keeps every level's array.
    const levels = Array.from({ length: NUM_LEVELS }, (_, level) => version.tables(level));
    return { lookupMark: true, levels, mems: this.slots.map((slot) => slot.mem) } as LookupMark;
  }

  /**
   * The raw pointer of `key`'s newest entry when that entry is a pointer; null when it is not, or —
   * when `mark` is given: no table came or went since it was taken and no memtable left — `undefined`
   * when only the tables hold `key`, whose newest entry then is still what a lookup after `mark` found.
   */
  private newestPointerSince(key: Uint8Array, mark: { levels: readonly (readonly TableMeta[])[]; mems: readonly Memtable[] } | null): Uint8Array | null | undefined {
    if (mark === null) return this.newestPointer(key);
    for (const slot of this.slots) {
      const mem = slot.mem;
      if (mem.entryCount === 0) continue;
      const entry = mem.find(key);
      if (entry >= 0) return mem.kindAt(entry) === Kind.Pointer ? mem.valueAt(entry) : null;
    }
    return undefined;
  }

  /**
   * Per record, 1 when its key's newest entry is still its old pointer: by `newestPointerSince`
   * when `unchanged`, else — records in ascending key order, as a rewrite gives them — in one ordered
   * pass (`visitNewestEntries`), else by a point lookup each.
   */
  private stillPointingAtOld(records: readonly RewriteRecord[], unchanged: { levels: readonly (readonly TableMeta[])[]; mems: readonly Memtable[] } | null): Uint8Array {
    const result = new Uint8Array(records.length);
    const same = (raw: Uint8Array, from: number, to: number, old: Uint8Array): boolean => {
      if (to - from !== old.length) return false;
      for (let j = 0; j < old.length; j++) if (raw[from + j] !== old[j]) return false;
      return true;
    };
    let ascending = unchanged === null;
    for (let i = 1; ascending && i < records.length; i++) {
      const a = records[i - 1]!.key;
      const b = records[i]!.key;
      if (compareBytes(a, 0, a.length, b, 0, b.length) > 0) ascending = false;
    }
    if (ascending) {
      visitNewestEntries(this.slots, this.versions.current, this.tables, records.map((record) => record.key), (i, kind, data, from, to) => {
        if (kind === Kind.Pointer && same(data, from, to, records[i]!.oldPointer)) result[i] = 1;
      });
      return result;
    }
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const current = this.newestPointerSince(record.key, unchanged);
      if (current === null) continue;
      if (current === undefined || same(current, 0, current.length, record.oldPointer)) result[i] = 1;
    }
    return result;
  }

  /**
   * The compare-and-set of a rewrite. It takes seqs like a write and is applied in seq order with
   * the writes (behind those in flight), so when it runs every older write is in the memtable and
   * every newer one will shadow it: each key whose newest entry is then still the old pointer gets
   * the new pointer at its seq, the others are skipped (the newer write won; the seq stays unused).
   * The entries have no WAL record: lost in a crash, the old pointers they shadow are still valid.
   *
   * `since`: a mark taken before the lookups that found each record's old pointer newest. When
   * every level still has the mark's tables and every memtable of the mark is still here, nothing left the
   * memtables and the tables are the same: a key no memtable holds has the newest entry the lookup
   * found (the old pointer), and a key a memtable holds has that entry — no full lookup needed.
   */
  private swapPointers(records: readonly RewriteRecord[], since?: LookupMark): Promise<number> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.isClosed) return Promise.reject(closedError(this.location));
    if (records.length === 0) return Promise.resolve(0);
    if (records.length - 1 > MAX_SEQ - (this.lastSeq + 1)) return Promise.reject(siltError(ErrorCodes.OUT_OF_RANGE, 'sequence numbers are exhausted'));
    const firstSeq = this.lastSeq + 1;
    this.lastSeq += records.length;
    let swapped = 0;
    const apply = (): void => {
      const mem = this.slots[0]!.mem;
      const mark = since as { levels: readonly (readonly TableMeta[])[]; mems: readonly Memtable[] } | undefined;
      const version = this.versions.current;
      const unchanged =
        mark !== undefined &&
        mark.levels.every((tables, level) => version.tables(level) === tables) &&
        mark.mems.every((old) => this.slots.some((slot) => slot.mem === old))
          ? mark
          : null;
      const stillOld = this.stillPointingAtOld(records, unchanged);
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        if (stillOld[i] === 0) continue;
        mem.add(firstSeq + i, Kind.Pointer, record.key, record.newPointer);
        this.mutableValueLogCharge += pointerFlushCharge(pointerRecordBytes(record.newPointer));
        swapped++;
      }
      this.appliedSeq = firstSeq + records.length - 1;
      if (this.memtableFull(mem)) this.rotate();
    };
    if (this.pendingHead === this.pending.length) {
      apply();
      return Promise.resolve(swapped);
    }
    return new Promise<number>((resolve) => {
      this.pending.push({ batch: { firstSeq, ops: [] }, index: -1, state: 1, apply, resolve: () => resolve(swapped) });
    });
  }

  async collectGarbage(): Promise<GcResult> {
    this.checkWritable();
    if (this.gcRunning !== null) await this.gcRunning.catch(() => {});
    return this.runGc();
  }

  private scheduleGc(): void {
    if (this.valueLog === null || this.isClosed) return;
    if (this.gcRunning !== null) {
      this.gcAgain = true;
      return;
    }
    void this.runGc().catch(() => {});
  }

  private runGc(): Promise<GcResult> {
    const valueLog = this.valueLog;
    if (valueLog === null || this.manifest === null) return Promise.resolve({ deletedSegments: [], deleted: [], reclaimedBytes: 0, blockedSegments: 0 });
    const pass = collectGarbage({
      valueLog,
      ledger: () => this.versions.ledger,
      referencedByVersions: () => this.versions.referencedSegments(),
      reachableMemtables: () => [...this.slots.map((slot) => slot.mem), ...[...this.iteratorMemtables.values()].flat()],
      dropFromLedger: async (changes) => {
        await this.installEdit({ valueLog: changes });
      },
      oldestReaderSeq: () => this.oldestReaderSeq(),
      retireReady: () => this.retireReady(),
      ...(this.maintenanceStepHook === null ? {} : { afterStep: this.maintenanceStepHook }),
    }).then((result) => {
      this.gcBlocked = result.blockedSegments > 0;
      this.gcTotals.passes++;
      this.gcTotals.deletedSegments += result.deletedSegments.length;
      this.gcTotals.reclaimedBytes += result.reclaimedBytes;
      for (const { segment, lane, bytes } of result.deleted) this.events.emit('segment-deleted', { segment, lane, bytes });
      return result;
    });
    this.gcRunning = pass;
    void pass
      .catch(() => {})
      .finally(() => {
        if (this.gcRunning === pass) this.gcRunning = null;
        if (this.gcAgain) {
          this.gcAgain = false;
          this.scheduleGc();
        }
      });
    return pass;
  }

  /** Called when a snapshot or iterator goes away: what it pinned may be collectable now. */
  private releasedReader(): void {
    if (this.gcBlocked) this.scheduleGc();
  }

  private maintenanceStats(): MaintenanceStats | null {
    const valueLog = this.valueLog;
    if (valueLog === null) return null;
    const queue = planRewrites(this.versions.ledger, valueLog.segmentInfos(), Date.now());
    return {
      ...this.maintenanceTotals,
      queue: { segments: queue.length, staleBytes: queue.reduce((sum, c) => sum + c.stale, 0), liveBytes: queue.reduce((sum, c) => sum + c.live, 0) },
      gc: { ...this.gcTotals },
      background: this.maintenanceController?.stats() ?? null,
      listenerErrors: this.events.listenerErrors,
      sampler: this.staleness.stats(),
    };
  }

  /**
   * Recount the value-log ledger from a full scan of the current tables (and, with `readValues`,
   * read every pointed-to record): the report lists every disagreement; `ok` when there is none.
   */
  verifyLedger(options?: VerifyLedgerOptions): LedgerReport {
    this.checkOpen();
    const version = this.versions.current.ref();
    try {
      return verifyLedger(version, this.versions.ledger, (fileNumber) => this.tables.get(fileNumber), this.valueLog, options);
    } finally {
      version.unref();
    }
  }

  stats(): DbStats {
    this.checkOpen();
    const version = this.versions.current;
    const levels: LevelStats[] = [];
    let tableFiles = 0;
    let tableBytes = 0;
    for (let level = 0; level < NUM_LEVELS; level++) {
      const files = version.tableCountAt(level);
      const bytes = version.levelBytes(level);
      levels.push({ level, files, bytes });
      tableFiles += files;
      tableBytes += bytes;
    }
    const mutable = this.slots[0]!.mem;
    let immutableBytes = 0;
    for (let i = 1; i < this.slots.length; i++) immutableBytes += this.slots[i]!.mem.approximateBytes;
    const wal = this.wal;
    const manifest = this.manifest;
    return {
      durability: this.options.durability,
      readOnly: this.options.readOnly,
      lastSeq: this.appliedSeq,
      memtable: { bytes: mutable.approximateBytes, entries: mutable.entryCount },
      immutableMemtables: this.slots.length - 1,
      immutableBytes,
      levels,
      tableFiles,
      tableBytes,
      blockCache: this.tables.cache.stats(),
      wal: wal === null ? null : { firstIndex: wal.firstIndex, nextIndex: wal.nextIndex, durableIndex: wal.durableIndex },
      manifest:
        manifest === null ? null : { number: manifest.manifestNumber, edits: manifest.manifestSize.edits, bytes: manifest.manifestSize.bytes },
      operations: { ...this.counts },
      openSnapshots: this.snapshots.size,
      openIterators: this.iterators.size,
      backgroundError: this.failure === null ? null : String((this.failure as Error)?.message ?? this.failure),
      compaction: this.compaction?.stats() ?? {
        compactions: 0, trivialMoves: 0, manualCompactions: 0, failures: 0, bytesRead: 0, bytesWritten: 0, entriesRead: 0,
        entriesWritten: 0, droppedShadowed: 0, droppedTombstones: 0, running: false, retryPending: false, lastError: null,
      },
      stalls: { ...(this.compaction?.stallStats() ?? { slowdowns: 0, stops: 0, stallMs: 0 }), valueLog: this.pacer?.stats() ?? null },
      valueLog: valueLogStats(this.valueLog, this.versions.ledger, this.gcTotals),
      maintenance: this.maintenanceStats(),
    };
  }

  /**
   * Wait for writes in flight, end iterators and snapshots, flush (`none` durability: the memtable
   * has no WAL behind it), close the WAL and the manifest, release the lock. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.isClosed = true;
    this.staleness.cancelRefresh();
    this.closing = (async () => {
      let failure: unknown = null;
      // Stalls end at close (the scheduler stops): writes waiting behind one go through first.
      // Background maintenance stops first: its passes flush and compact.
      const maintenanceClosed = this.maintenanceController?.close();
      const compactionClosed = this.compaction?.close();
      await this.stallTail;
      await this.lastWrite;
      await compactionClosed;
      await maintenanceClosed;
      for (const iterator of [...this.iterators]) iterator.closeForDb();
      for (const snapshot of [...this.snapshots]) snapshot.release();
      try {
        if (this.manifest !== null) {
          if (this.wal === null && this.failure === null) {
            this.rotate();
            await this.flushAll();
          } else if (this.flushing !== null) {
            await this.flushing.catch(() => {});
          }
        }
      } catch (error) {
        failure = error;
      }
      try {
        await this.wal?.close();
      } catch (error) {
        failure ??= error;
      }
      await this.maintaining.catch(() => {});
      await this.gcRunning?.catch(() => {});
      await this.valueLog?.close().catch((error: unknown) => (failure ??= error));
      await this.manifest?.close().catch((error: unknown) => (failure ??= error));
      await Promise.all([...this.unlinks]);
      this.tables.closeAll();
      await this.lock?.release().catch((error: unknown) => (failure ??= error));
      if (failure !== null) throw failure;
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private newMemtable(): Memtable {
    return new Memtable({ accelerator: this.options.accelerator });
  }

  private checkOpen(): void {
    if (this.isClosed) throw closedError(this.location);
  }

  private checkWritable(): void {
    if (this.isClosed) throw closedError(this.location);
    if (this.options.readOnly) throw readOnlyError(this.location);
  }
}
