/**
 * The compaction executor (docs/ENGINE.md, "Compaction"): runs one `CompactionJob` and returns the
 * version edit that swaps its inputs for its outputs. The caller installs the edit with
 * `ManifestStore.logAndApply`; until then the outputs are unreferenced files.
 *
 * 1. Split the job's key space into partitions of about `partitionBytes` input bytes
 *    (`partitionBoundaries`: user keys from the inputs' index blocks, so a user key's versions are
 *    never split). Steps 2–4 run once per partition, in key order, so the executor's memory follows
 *    the partition size, not the job's input size.
 * 2. Read each input's entries in the partition (`TableReader.readEntriesBetween`: only the blocks
 *    overlapping it) into runs: each L0 input is a run (newest first); the tables of a level ≥ 1
 *    are disjoint and sorted, so they are concatenated into one run per level. One accelerator
 *    `mergeRuns(runs, { trailerBytes: 8 })` call orders the partition by internal key.
 * 3. Walk the merged order one user key at a time, versions newest first. The read points are the
 *    live snapshots plus "now"; a version is kept when it is the newest version some read point
 *    sees (the newest in its snapshot stripe), every other version is dropped. Then, when the output
 *    level is the bottommost for the key (`isBottommost`: nothing older below), tombstones at the
 *    old end of the kept versions are dropped too — every read point that saw one sees nothing
 *    either way. A tombstone with a kept older version behind it stays.
 * 4. Kept entries go to output tables, cut at `job.targetFileBytes` but only between user keys, so
 *    a user key never spans two tables; an output table continues across partitions. The event
 *    loop gets a turn between output tables and between partitions.
 *
 * Cancellation: `signal` is checked between phases, every few thousand entries and between output
 * tables. An abort (or any failure) removes every output written so far and rejects — for an abort
 * with a `DOMException` named `AbortError` (as Node's own APIs do) whose `cause` is `signal.reason`.
 * Test for it with `error.name === 'AbortError'`.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { accel, type Accelerator, type BlockEntries, type PackedBytes } from '@siltdb/bindings';
import { ErrorCodes, siltError } from '../errors.js';
import { compareBytes, Kind, readTrailer, TRAILER_BYTES } from '../keys/internal-key.js';
import { manifestMetaOf } from '../manifest/built-table.js';
import type { TableMeta } from '../manifest/table-meta.js';
import type { AddedTable, RemovedTable, VersionEdit } from '../manifest/version-edit.js';
import type { TableBuilder, TableMeta as BuiltTable } from '../table/table-builder.js';
import type { TableReader } from '../table/table-reader.js';
import type { Vfs } from '../vfs/types.js';
import { chargePointerAt, compactionLedgerChanges } from '../vlog/ledger-glue.js';
import { DEFAULT_PARTITION_BYTES, partitionBoundaries } from './partitions.js';
import type { CompactionJob } from './planner.js';

export interface CompactionProgress {
  readonly phase: 'read' | 'merge' | 'write' | 'done';
  readonly inputTables: number;
  readonly inputEntries: number;
  readonly inputBytes: number;
  /** Entries walked in the merged order so far. */
  readonly entriesProcessed: number;
  readonly outputTables: number;
  readonly outputEntries: number;
  readonly outputBytes: number;
}

export interface CompactionEnv {
  /** A reader for an input table. Closed by the executor unless `releaseReader` is given. */
  openReader(meta: TableMeta): TableReader | Promise<TableReader>;
  /** Called instead of `reader.close()` when the readers are shared (a table cache). */
  releaseReader?(reader: TableReader, meta: TableMeta): void;
  /** A builder for a new output table, with a freshly allocated file number. */
  newTableBuilder(): Promise<TableBuilder>;
  /** The file system the builders write to: finished outputs are unlinked from it on failure or abort. */
  readonly vfs: Vfs;
  /** Sequence numbers of the live snapshots, in any order. Default none. */
  readonly snapshots?: readonly number[];
  /**
   * Whether no level below the output level can hold `userKey` (see `bottommostChecker`). Called
   * in ascending key order, only for keys whose oldest kept version is a tombstone. Default: never
   * bottommost, so tombstones are kept.
   */
  isBottommost?(userKey: Uint8Array): boolean;
  /** The accelerator for `mergeRuns`. Default: the process-wide `accel`. */
  readonly accelerator?: Accelerator;
  readonly signal?: AbortSignal;
  /**
   * Input bytes merged at a time (`DEFAULT_PARTITION_BYTES`); `Infinity` merges the whole job at
   * once. The output does not depend on it.
   */
  readonly partitionBytes?: number;
  onProgress?(progress: CompactionProgress): void;
}

export interface CompactionStats {
  readonly inputTables: number;
  readonly inputEntries: number;
  readonly inputBytes: number;
  readonly outputTables: number;
  readonly outputEntries: number;
  readonly outputBytes: number;
  /** Versions no read point can see. */
  readonly droppedShadowed: number;
  /** Tombstones dropped at the bottommost level. */
  readonly droppedTombstones: number;
  readonly elapsedMs: number;
}

export interface CompactionResult {
  /** The outputs, each at `job.outputLevel` (for a trivial move: the moved table). */
  readonly added: readonly AddedTable[];
  readonly removed: readonly RemovedTable[];
  /** `{ added, removed }`, ready for `ManifestStore.logAndApply`. */
  readonly edit: VersionEdit;
  /** The finished output files (path and properties), in key order. Empty for a trivial move. */
  readonly outputs: readonly BuiltTable[];
  readonly stats: CompactionStats;
  /** Value-log bytes of the pointer entries the job dropped, per segment (the ledger's stale delta). */
  readonly droppedValueLogBytes: ReadonlyMap<number, number>;
}

/** How many merged entries are walked between abort checks. */
const ABORT_CHECK_INTERVAL = 4096;

function abortError(signal: AbortSignal): DOMException {
  const error = new DOMException('compaction aborted', 'AbortError');
  Object.defineProperty(error, 'cause', { value: signal.reason, configurable: true, writable: true });
  return error;
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Several packed batches, in order, as one (one copy of the bytes). */
export function concatEntries(parts: readonly BlockEntries[]): BlockEntries {
  if (parts.length === 1) return parts[0]!;
  let count = 0;
  let keyBytes = 0;
  let valueBytes = 0;
  for (const part of parts) {
    const n = part.tags.length;
    count += n;
    keyBytes += part.keys.offsets[n]! - part.keys.offsets[0]!;
    valueBytes += part.values.offsets[n]! - part.values.offsets[0]!;
  }
  if (keyBytes > 0xffffffff || valueBytes > 0xffffffff) {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, 'a compaction level holds over 4 GiB of keys or values: too large for one merge job');
  }
  const keys = concatPacked(parts.map((p) => p.keys), parts.map((p) => p.tags.length), count, keyBytes);
  const values = concatPacked(parts.map((p) => p.values), parts.map((p) => p.tags.length), count, valueBytes);
  const tags = new Uint8Array(count);
  let at = 0;
  for (const part of parts) {
    tags.set(part.tags, at);
    at += part.tags.length;
  }
  return { keys, values, tags };
}

function concatPacked(parts: readonly PackedBytes[], counts: readonly number[], count: number, bytes: number): PackedBytes {
  const data = new Uint8Array(bytes);
  const offsets = new Uint32Array(count + 1);
  let item = 0;
  let position = 0;
  parts.forEach((part, p) => {
    const n = counts[p]!;
    const from = part.offsets[0]!;
    const to = part.offsets[n]!;
    data.set(part.data.subarray(from, to), position);
    const shift = position - from;
    for (let i = 1; i <= n; i++) offsets[item + i] = part.offsets[i]! + shift;
    item += n;
    position += to - from;
  });
  return { data, offsets };
}

/** Index of the first snapshot ≥ seq (`snapshots` ascending), or `snapshots.length`: the stripe of seq. */
function stripeOf(snapshots: readonly number[], seq: number): number {
  let low = 0;
  let high = snapshots.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (snapshots[middle]! < seq) low = middle + 1;
    else high = middle;
  }
  return low;
}

function checkEnv(job: CompactionJob, env: CompactionEnv): readonly number[] {
  if (job === null || typeof job !== 'object' || !Array.isArray(job.inputs) || !Array.isArray(job.nextInputs)) {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, 'job must be a CompactionJob from the planner');
  }
  if (env === null || typeof env !== 'object' || typeof env.openReader !== 'function' || typeof env.newTableBuilder !== 'function' || env.vfs === undefined) {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, 'env needs openReader, newTableBuilder and vfs');
  }
  const snapshots = [...(env.snapshots ?? [])];
  for (const seq of snapshots) {
    if (!Number.isSafeInteger(seq) || seq < 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, `snapshot sequence numbers must be non-negative integers, got ${String(seq)}`);
  }
  snapshots.sort((a, b) => a - b);
  return snapshots.filter((seq, i) => i === 0 || seq !== snapshots[i - 1]);
}

/** Run `job`; see the module comment. Rejects with `AbortError` on abort, leaving no output behind. */
export async function runCompaction(job: CompactionJob, env: CompactionEnv): Promise<CompactionResult> {
  const started = performance.now();
  const snapshots = checkEnv(job, env);
  const signal = env.signal;
  checkAbort(signal);
  const removed: RemovedTable[] = [
    ...job.inputs.map((t) => ({ level: job.level, fileNumber: t.fileNumber })),
    ...job.nextInputs.map((t) => ({ level: job.outputLevel, fileNumber: t.fileNumber })),
  ];

  if (job.trivialMove && job.inputs.length === 1 && job.nextInputs.length === 0) {
    const added: AddedTable[] = [{ level: job.outputLevel, table: job.inputs[0]! }];
    const entries = job.inputs[0]!.entries;
    const bytes = job.inputs[0]!.size;
    const stats: CompactionStats = {
      inputTables: 1, inputEntries: entries, inputBytes: bytes, outputTables: 1, outputEntries: entries,
      outputBytes: bytes, droppedShadowed: 0, droppedTombstones: 0, elapsedMs: performance.now() - started,
    };
    env.onProgress?.({ phase: 'done', inputTables: 1, inputEntries: entries, inputBytes: bytes, entriesProcessed: entries, outputTables: 1, outputEntries: entries, outputBytes: bytes });
    return { added, removed, edit: { added, removed }, outputs: [], stats, droppedValueLogBytes: new Map() };
  }

  const progress = {
    phase: 'read' as CompactionProgress['phase'],
    inputTables: job.inputs.length + job.nextInputs.length,
    inputEntries: 0,
    inputBytes: 0,
    entriesProcessed: 0,
    outputTables: 0,
    outputEntries: 0,
    outputBytes: 0,
  };
  const report = (): void => env.onProgress?.({ ...progress });

  // Readers stay open for the whole job: each partition reads a few blocks of each. Groups are
  // the runs' sources: each L0 input alone; the tables of a level ≥ 1 together (disjoint, sorted).
  const opened: { reader: TableReader; meta: TableMeta }[] = [];
  const groups: TableReader[][] = [];
  const openGroup = async (metas: readonly TableMeta[]): Promise<TableReader[]> => {
    const group: TableReader[] = [];
    for (const meta of metas) {
      checkAbort(signal);
      const reader = await env.openReader(meta);
      opened.push({ reader, meta });
      progress.inputBytes += meta.size;
      group.push(reader);
    }
    return group;
  };
  const releaseReaders = (): void => {
    for (const { reader, meta } of opened) {
      if (env.releaseReader !== undefined) env.releaseReader(reader, meta);
      else reader.close();
    }
    opened.length = 0;
  };
  const partitionBytes = env.partitionBytes ?? DEFAULT_PARTITION_BYTES;
  if (!(partitionBytes > 0)) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'env.partitionBytes must be > 0');

  // The current partition: its runs and their merged order.
  let runs: BlockEntries[] = [];
  let runOf: Uint32Array | number[] = [];
  let indexOf: Uint32Array | number[] = [];
  let keyData: Uint8Array[] = [];
  let keyOffsets: Uint32Array[] = [];
  /** Read and merge the entries with user keys in `(after, upTo]`; false when there are none. */
  const loadPartition = (after: Uint8Array | null, upTo: Uint8Array | null): boolean => {
    progress.phase = 'read';
    runs = [];
    for (const group of groups) {
      const parts = group.map((reader) => reader.readEntriesBetween(after, upTo)).filter((part) => part.tags.length > 0);
      if (parts.length === 0) continue;
      const run = concatEntries(parts);
      progress.inputEntries += run.tags.length;
      runs.push(run);
    }
    report();
    checkAbort(signal);
    if (runs.length === 0) return false;
    progress.phase = 'merge';
    const merged = (env.accelerator ?? accel).mergeRuns(
      runs.map((r) => r.keys),
      { trailerBytes: TRAILER_BYTES },
    );
    runOf = merged.run;
    indexOf = merged.index;
    keyData = runs.map((r) => r.keys.data);
    keyOffsets = runs.map((r) => r.keys.offsets);
    report();
    checkAbort(signal);
    progress.phase = 'write';
    return true;
  };

  // 3–4. Walk and write.
  const outputs: BuiltTable[] = [];
  let builder: TableBuilder | null = null;
  let droppedShadowed = 0;
  let droppedTombstones = 0;
  const isBottommost = env.isBottommost;
  const target = job.targetFileBytes;
  // The kept versions of the current user key: positions in the merged order, `kept[0, keptCount)`
  // (a count, not `length = 0`: truncating an array is a runtime call, once per user key).
  const kept: number[] = [];
  let keptCount = 0;

  // Value-log bytes the open output table's pointers reference, per segment.
  let charges = new Map<number, number>();

  const finishTable = async (): Promise<void> => {
    const b = builder!;
    builder = null;
    const tableCharges = charges;
    charges = new Map();
    const built = await b.finish(tableCharges);
    outputs.push(built);
    progress.outputTables++;
    progress.outputBytes += built.fileSize;
    report();
    await turn();
    checkAbort(signal);
  };

  /** Write kept versions `start…count − 1`; a promise only when the builder makes us wait. */
  const writeKept = (start: number, count: number): Promise<void> | undefined => {
    for (let k = start; k < count; k++) {
      const current = builder as TableBuilder | null;
      if (current === null) {
        return env.newTableBuilder().then((created) => {
          builder = created;
          return writeKept(k, count);
        });
      }
      const j = kept[k]!;
      const run = runs[runOf[j]!]!;
      const i = indexOf[j]!;
      const values = run.values;
      const valueFrom = values.offsets[i]!;
      const valueTo = values.offsets[i + 1]!;
      const kind = run.tags[i]! as Kind;
      if (kind === Kind.Pointer) chargePointerAt(charges, values.data, valueFrom, valueTo);
      const pending = current.addRange(run.keys.data, run.keys.offsets[i]!, run.keys.offsets[i + 1]!, kind, values.data, valueFrom, valueTo);
      progress.outputEntries++;
      if (pending !== undefined) return pending.then(() => writeKept(k + 1, count));
    }
    const current = builder as TableBuilder | null;
    if (current !== null && current.estimatedFileSize >= target) return finishTable();
    return undefined;
  };

  /** Write the kept versions of one user key (between user keys is the only place a table is cut). */
  const emitKey = (): Promise<void> | undefined => {
    let count = keptCount;
    if (isBottommost !== undefined) {
      const oldest = kept[count - 1]!;
      if (runs[runOf[oldest]!]!.tags[indexOf[oldest]!] === Kind.Delete) {
        const r = runOf[oldest]!;
        const i = indexOf[oldest]!;
        const userKey = keyData[r]!.subarray(keyOffsets[r]![i]!, keyOffsets[r]![i + 1]! - TRAILER_BYTES);
        if (isBottommost(userKey)) {
          while (count > 0) {
            const j = kept[count - 1]!;
            if (runs[runOf[j]!]!.tags[indexOf[j]!] !== Kind.Delete) break;
            count--;
            droppedTombstones++;
          }
        }
      }
    }
    return writeKept(0, count);
  };

  /** Walk the loaded partition; every user key's versions are in it, so it ends with a whole key. */
  const walkPartition = async (): Promise<void> => {
    const total = runOf.length;
    let prevRun = -1;
    let prevFrom = 0;
    let prevUserEnd = 0;
    let lastStripe = -1;
    for (let j = 0; j < total; j++) {
      const r = runOf[j]!;
      const i = indexOf[j]!;
      const data = keyData[r]!;
      const from = keyOffsets[r]![i]!;
      const userEnd = keyOffsets[r]![i + 1]! - TRAILER_BYTES;
      const sameKey = prevRun >= 0 && compareBytes(keyData[prevRun]!, prevFrom, prevUserEnd, data, from, userEnd) === 0;
      if (!sameKey) {
        if (keptCount > 0) {
          const wait = emitKey();
          if (wait !== undefined) await wait;
          keptCount = 0;
        }
        lastStripe = -1;
        prevRun = r;
        prevFrom = from;
        prevUserEnd = userEnd;
      }
      const stripe = snapshots.length === 0 ? 0 : stripeOf(snapshots, readTrailer(data, userEnd));
      if (stripe !== lastStripe) {
        kept[keptCount++] = j;
        lastStripe = stripe;
      } else {
        droppedShadowed++;
      }
      if ((j & (ABORT_CHECK_INTERVAL - 1)) === ABORT_CHECK_INTERVAL - 1) {
        progress.entriesProcessed = processedBefore + j + 1;
        checkAbort(signal);
      }
    }
    if (keptCount > 0) {
      const wait = emitKey();
      if (wait !== undefined) await wait;
      keptCount = 0;
    }
    processedBefore += total;
    progress.entriesProcessed = processedBefore;
  };
  let processedBefore = 0;

  try {
    if (job.level === 0) for (const meta of job.inputs) groups.push(await openGroup([meta]));
    else if (job.inputs.length > 0) groups.push(await openGroup(job.inputs));
    if (job.nextInputs.length > 0) groups.push(await openGroup(job.nextInputs));
    report();
    checkAbort(signal);
    // 1. Partitions, then 2–4 for each.
    const boundaries = partitionBoundaries(groups.flat(), partitionBytes);
    for (let p = 0; p <= boundaries.length; p++) {
      const after = p === 0 ? null : boundaries[p - 1]!;
      const upTo = p === boundaries.length ? null : boundaries[p]!;
      if (loadPartition(after, upTo)) await walkPartition();
      runs = [];
      runOf = indexOf = [];
      keyData = [];
      keyOffsets = [];
      if (p < boundaries.length) {
        await turn();
        checkAbort(signal);
      }
    }
    if (builder !== null) await finishTable();
  } catch (error) {
    const open = builder as TableBuilder | null;
    if (open !== null) await open.abandon().catch(() => {});
    for (const built of outputs) await env.vfs.unlink(built.path).catch(() => {});
    throw error;
  } finally {
    releaseReaders();
  }

  progress.phase = 'done';
  report();
  const added: AddedTable[] = outputs.map((built) => ({ level: job.outputLevel, table: manifestMetaOf(built) }));
  // Exact by construction: what the inputs referenced minus what the outputs reference.
  const valueLog = compactionLedgerChanges([...job.inputs, ...job.nextInputs], added.map((a) => a.table));
  const droppedValueLogBytes = new Map(valueLog.map((c) => [c.segment, c.addStale!]));
  const stats: CompactionStats = {
    inputTables: progress.inputTables,
    inputEntries: progress.inputEntries,
    inputBytes: progress.inputBytes,
    outputTables: outputs.length,
    outputEntries: progress.outputEntries,
    outputBytes: progress.outputBytes,
    droppedShadowed,
    droppedTombstones,
    elapsedMs: performance.now() - started,
  };
  return { added, removed, edit: { added, removed, ...(valueLog.length > 0 ? { valueLog } : {}) }, outputs, stats, droppedValueLogBytes };
}
