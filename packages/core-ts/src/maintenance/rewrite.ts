/**
 * Online rewrite of one value-log segment (DESIGN §4): its records that are still the newest
 * version of their key are copied into the cold lane, and each key's entry is swapped to the copy
 * only if it still points at the old record (compare-and-set) — a write that landed meanwhile
 * always wins, and each record is copied once, so no pointer is ever duplicated. The old segment's
 * entries are then shadowed; once compaction drops them the ledger shows it all-stale and GC
 * deletes it. No file is written in place.
 *
 * Steps, and what a crash after each leaves (nothing is lost at any of them):
 * 1. **copy**: live records appended to the cold lane. A crash leaves unreferenced bytes in a cold
 *    segment; the old segment is intact and still referenced.
 * 2. **swap**: the new pointers enter the memtable (new seqs, no WAL entry of their own). A crash
 *    loses them — the old pointers, still in tables, stay valid.
 * 3. **flush + compact** the rewritten key range: the new pointers reach tables (the ledger charges
 *    the cold segment), the old entries are dropped (the ledger marks the old bytes stale) — each
 *    in the atomic edit of its flush or compaction.
 * 4. **GC**: the ledger drops the all-stale segment, then its file is unlinked (an orphan after a
 *    crash in between, which the next pass removes).
 */
import { setImmediate as yieldTurn } from 'node:timers/promises';
import type { PackedBytes } from '@siltdb/bindings';
import { Kind } from '../keys/internal-key.js';
import { COLD_LANE, recordBytesOf, SEGMENT_HEADER_BYTES, type ValueLog } from '../vlog/index.js';
import { POINTER_BYTES, POINTER_VERSION, pointerRecordBytes } from '../vlog/pointer.js';
import type { LedgerChange, LedgerEntry } from '../manifest/index.js';

/**
 * Segment bytes per scan call (one read, one accelerator call), and between two turns given to the
 * event loop.
 */
const SCAN_CHUNK_BYTES = 1 << 20;

/**
 * Keys per batch of newest-entry lookups (one synchronous ordered pass; the event loop turns
 * between batches). Each batch sweeps every table its keys fall in, so a table block holding keys
 * of several batches is found once per batch — and when the deepest level outgrows the block
 * cache, fetched and checked again. A batch covers a whole 16 MiB segment of 1 KiB records
 * (200k keys, an 8 MiB block cache: 14% fewer block fetches per segment than batches of 4096); the
 * longest synchronous stretch of a rewrite is then one segment's lookups.
 */
const LOOKUP_BATCH_KEYS = 16384;

export type RewriteStep = 'copy' | 'swap' | 'compact' | 'gc';

export interface RewriteRecord {
  readonly key: Uint8Array;
  readonly oldPointer: Uint8Array;
  readonly newPointer: Uint8Array;
}

export interface RewriteHost {
  readonly valueLog: ValueLog;
  /** The raw pointer of `key`'s newest entry when that entry is a pointer, else null. */
  newestPointer(key: Uint8Array): Uint8Array | null;
  /** A stable permutation putting the packed keys in ascending order (the accelerator's sort). */
  sortKeys(keys: PackedBytes): Uint32Array;
  /**
   * Visit the newest entry of each of `keys` (ascending), as `newestPointer` would find it, in one
   * ordered pass (db/newest-entries.ts); keys with no entry are not visited. `data[from, to)` is the
   * entry's value (a pointer's raw bytes), valid during the call only.
   */
  visitNewestEntries(keys: readonly Uint8Array[], visit: (index: number, kind: Kind, data: Uint8Array, from: number, to: number) => void): void;
  /** What the database looks like now, for `swapPointers` to tell whether lookups since are still current. */
  lookupMark(): LookupMark;
  /**
   * Swap each key whose newest entry is still `oldPointer` to `newPointer`, atomically with respect
   * to writes (none in flight while it checks); returns how many were swapped. `since`: a mark taken
   * before the lookups that found the records newest — keys nothing wrote since need no new lookup.
   * Records in ascending key order are checked in one ordered pass.
   */
  swapPointers(records: readonly RewriteRecord[], since?: LookupMark): Promise<number>;
  /** The segment's ledger entry now (undefined once GC dropped it). */
  ledgerEntry(segment: number): LedgerEntry | undefined;
  /** Log ledger changes (attempts, cooldown) in their own edit. */
  logLedger(changes: readonly LedgerChange[]): Promise<void>;
  /** Test hook: called after each step; may throw to simulate a crash there. */
  afterStep?(step: RewriteStep): void | Promise<void>;
}

/** Opaque: the database state a batch of lookups saw (see `RewriteHost.lookupMark`). */
export interface LookupMark {
  readonly lookupMark: true;
}

export interface RewriteResult {
  readonly segment: number;
  /** Records still newest for their key, copied to the cold lane. */
  readonly copiedRecords: number;
  readonly copiedBytes: number;
  /** Records whose entry still pointed at the old copy and now points at the new one. */
  readonly swapped: number;
}

function u32At(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

/**
 * Whether `data[from, to)` is the encoded pointer (FORMAT §8.3) of this record: the same bytes
 * `encodePointer` would write, compared field by field without building them.
 */
function pointsAt(
  data: Uint8Array, from: number, to: number,
  segment: number, frameOffset: number, frameLength: number, subIndex: number, recordBytes: number,
): boolean {
  return (
    to - from === POINTER_BYTES &&
    data[from] === POINTER_VERSION &&
    u32At(data, from + 1) === segment >>> 0 &&
    u32At(data, from + 5) === Math.floor(segment / 2 ** 32) &&
    u32At(data, from + 9) === frameOffset &&
    u32At(data, from + 13) === frameLength &&
    (data[from + 17]! | (data[from + 18]! << 8)) === subIndex &&
    u32At(data, from + 19) === recordBytes
  );
}

/** Append-only columns of numbers, grown by doubling. */
class Column {
  values: Uint32Array;
  length = 0;
  constructor(capacity: number) {
    this.values = new Uint32Array(capacity);
  }
  push(value: number): void {
    if (this.length === this.values.length) this.reserve(1);
    this.values[this.length++] = value;
  }
  /** Room for `more` values past `length`. */
  reserve(more: number): void {
    if (this.length + more <= this.values.length) return;
    const grown = new Uint32Array(Math.max(2 * this.values.length, this.length + more));
    grown.set(this.values.subarray(0, this.length));
    this.values = grown;
  }
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The rewrite of one segment: steps 1 and 2. Step 3 (compaction) is the caller's, once per pass. */
export interface SwapResult extends RewriteResult {
  /** The user-key range of the copied records (null when none was copied). */
  readonly range: readonly [Uint8Array, Uint8Array] | null;
}

/**
 * Copy the segment's newest-version records to the cold lane and swap their pointers (steps 1–2).
 *
 * The scan packs every record's key into one buffer (in scan order) and keeps the rest of the
 * record as numbers; the keys are then sorted once and checked against their newest entries in
 * ordered batches (one pass through each table per batch instead of a point lookup per key). A
 * record is copied when its key's newest entry is exactly its pointer — the check compares the
 * pointer's fields, nothing is allocated for the records that are stale.
 */
export async function copyAndSwap(host: RewriteHost, segment: number, cooldownMs: number, now: number): Promise<SwapResult> {
  const log = host.valueLog;
  const before = host.ledgerEntry(segment);
  if (before !== undefined) await host.logLedger([{ segment, attempts: before.attempts + 1 }]);
  const chunks: Uint8Array[] = [];
  let keyData = new Uint8Array(1 << 16);
  const keyOffsets = new Column(1024);
  keyOffsets.push(0);
  // Per record: its scan chunk, value range in that chunk, frame offset and length, sub-index.
  const chunkOf = new Column(1024);
  const valueStarts = new Column(1024);
  const valueEnds = new Column(1024);
  const frameOffsets = new Column(1024);
  const frameLengths = new Column(1024);
  const subIndexes = new Column(1024);
  try {
    let at: number = SEGMENT_HEADER_BYTES;
    for (;;) {
      // A few MiB per read and per accelerator call; foreground work gets the event loop between
      // chunks (the swap compares again, so writes landing meanwhile are safe).
      const scan = log.scanFrames(segment, at, SCAN_CHUNK_BYTES);
      if (scan.end === at) break;
      at = scan.end;
      const { data, records, frames } = scan;
      const chunk = chunks.length;
      chunks.push(data);
      const n = records.length / 5;
      for (const column of [keyOffsets, chunkOf, valueStarts, valueEnds, frameOffsets, frameLengths, subIndexes]) column.reserve(n);
      for (let r = 0; r < records.length; r += 5) {
        const frame = records[r]!;
        const keyStart = records[r + 2]!;
        const valueStart = records[r + 3]!;
        // Keys are copied out, back to back: the lookups then touch a few hundred KiB, not the
        // scanned MiBs, and the cold-lane append and the memtable take views of the copy.
        let keyEnd = keyOffsets.values[keyOffsets.length - 1]!;
        const keyLength = valueStart - keyStart;
        if (keyEnd + keyLength > keyData.length) {
          const grown = new Uint8Array(Math.max(2 * keyData.length, keyEnd + keyLength));
          grown.set(keyData.subarray(0, keyEnd));
          keyData = grown;
        }
        for (let i = 0; i < keyLength; i++) keyData[keyEnd + i] = data[keyStart + i]!;
        keyEnd += keyLength;
        keyOffsets.push(keyEnd);
        chunkOf.push(chunk);
        valueStarts.push(valueStart);
        valueEnds.push(records[r + 4]!);
        frameOffsets.push(frames[2 * frame]!);
        frameLengths.push(frames[2 * frame + 1]!);
        subIndexes.push(records[r + 1]!);
      }
      await yieldTurn();
    }
  } catch (error) {
    // GC may delete the segment while the scan yields: all of it went stale, nothing to copy.
    if (log.info(segment) !== undefined) throw error;
    return { segment, copiedRecords: 0, copiedBytes: 0, swapped: 0, range: null };
  }
  const count = chunkOf.length;
  const packed: PackedBytes = { data: keyData.subarray(0, keyOffsets.values[count]!), offsets: keyOffsets.values.subarray(0, count + 1) };
  const keyAt = (record: number): Uint8Array => packed.data.subarray(packed.offsets[record]!, packed.offsets[record + 1]!);
  // Only records still newest for their key are copied (a first compare: a stale record never is).
  const order = count > 0 ? host.sortKeys(packed) : new Uint32Array(0);
  // Both by position in key order (the order the lookups answer and the copy reads): written and
  // read front to back, not scattered by scan position.
  const live = new Uint8Array(count);
  // A live record's pointer: the bytes its key's newest entry holds, copied when they match.
  let oldPointerBytes = new Uint8Array(0);
  const mark = host.lookupMark();
  for (let from = 0; from < count; from += LOOKUP_BATCH_KEYS) {
    const to = Math.min(count, from + LOOKUP_BATCH_KEYS);
    const keys: Uint8Array[] = [];
    for (let i = from; i < to; i++) keys.push(keyAt(order[i]!));
    host.visitNewestEntries(keys, (index, kind, data, start, end) => {
      if (kind !== Kind.Pointer) return;
      const record = order[from + index]!;
      const valueLength = valueEnds.values[record]! - valueStarts.values[record]!;
      const recordBytes = recordBytesOf(packed.offsets[record + 1]! - packed.offsets[record]!, valueLength);
      if (!pointsAt(data, start, end, segment, frameOffsets.values[record]!, frameLengths.values[record]!, subIndexes.values[record]!, recordBytes)) return;
      const at = from + index;
      live[at] = 1;
      if (oldPointerBytes.length === 0) oldPointerBytes = new Uint8Array(count * POINTER_BYTES);
      for (let j = 0; j < POINTER_BYTES; j++) oldPointerBytes[at * POINTER_BYTES + j] = data[start + j]!;
    });
    // Writes landing between batches are safe: the swap compares again.
    if (to < count) await yieldTurn();
  }
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  const oldPointers: Uint8Array[] = [];
  // In key order: the swap then checks the keys again in one ordered pass when it must, and a
  // cold segment's records lie in the order a range scan reads them.
  for (let i = 0; i < count; i++) {
    const record = order[i]!;
    if (live[i] === 0) continue;
    const key = keyAt(record);
    const valueStart = valueStarts.values[record]!;
    const valueEnd = valueEnds.values[record]!;
    keys.push(key);
    // The scanned chunks are this rewrite's own reads (or views of an in-memory segment's sealed,
    // unchanging bytes): the append copies the value into its frame.
    values.push(chunks[chunkOf.values[record]!]!.subarray(valueStart, valueEnd));
    oldPointers.push(oldPointerBytes.subarray(i * POINTER_BYTES, (i + 1) * POINTER_BYTES));
  }
  let swapped = 0;
  let copiedBytes = 0;
  let range: [Uint8Array, Uint8Array] | null = null;
  if (keys.length > 0) {
    const newPointers = log.append(COLD_LANE, keys, values);
    try {
      await log.sync();
      for (const p of newPointers) copiedBytes += pointerRecordBytes(p);
      await host.afterStep?.('copy');
      swapped = await host.swapPointers(
        keys.map((key, i) => ({ key, oldPointer: oldPointers[i]!, newPointer: newPointers[i]! })),
        mark,
      );
    } finally {
      // The swapped pointers are in the memtable now: GC sees them there.
      log.settle(newPointers);
    }
    await host.afterStep?.('swap');
    // The smallest and largest copied keys (copies: a `defer` pass keeps the range, the packed keys need not stay).
    range = [keys[0]!.slice(), keys[keys.length - 1]!.slice()];
  }
  // An attempt that moved nothing (readers still pin the old versions) waits out a cooldown.
  if (swapped === 0 && host.ledgerEntry(segment) !== undefined) await host.logLedger([{ segment, cooldownUntil: now + cooldownMs }]);
  return { segment, copiedRecords: keys.length, copiedBytes, swapped, range };
}

export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  return compare(a, b);
}
