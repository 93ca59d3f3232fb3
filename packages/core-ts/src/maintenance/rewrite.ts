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
import { COLD_LANE, decodePointer, encodePointer, recordBytesOf, SEGMENT_HEADER_BYTES, type ValueLog } from '../vlog/index.js';
import type { LedgerChange, LedgerEntry } from '../manifest/index.js';

/**
 * Segment bytes per scan call (one read, one accelerator call), and between two turns given to the
 * event loop: a chunk's newest-pointer checks take some milliseconds.
 */
const SCAN_CHUNK_BYTES = 1 << 20;

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
  /**
   * Swap each key whose newest entry is still `oldPointer` to `newPointer`, atomically with respect
   * to writes (none in flight while it checks); returns how many were swapped.
   */
  swapPointers(records: readonly RewriteRecord[]): Promise<number>;
  /** The segment's ledger entry now (undefined once GC dropped it). */
  ledgerEntry(segment: number): LedgerEntry | undefined;
  /** Log ledger changes (attempts, cooldown) in their own edit. */
  logLedger(changes: readonly LedgerChange[]): Promise<void>;
  /** Test hook: called after each step; may throw to simulate a crash there. */
  afterStep?(step: RewriteStep): void | Promise<void>;
}

export interface RewriteResult {
  readonly segment: number;
  /** Records still newest for their key, copied to the cold lane. */
  readonly copiedRecords: number;
  readonly copiedBytes: number;
  /** Records whose entry still pointed at the old copy and now points at the new one. */
  readonly swapped: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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

/** Copy the segment's newest-version records to the cold lane and swap their pointers (steps 1–2). */
export async function copyAndSwap(host: RewriteHost, segment: number, cooldownMs: number, now: number): Promise<SwapResult> {
  const log = host.valueLog;
  const before = host.ledgerEntry(segment);
  if (before !== undefined) await host.logLedger([{ segment, attempts: before.attempts + 1 }]);
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  const oldPointers: Uint8Array[] = [];
  // Only records still newest for their key are copied (a first compare: a stale record never is).
  try {
    let at: number = SEGMENT_HEADER_BYTES;
    for (;;) {
      // A few MiB per read and per accelerator call; foreground work gets the event loop between
      // chunks (the swap compares again, so writes landing meanwhile are safe).
      const scan = log.scanFrames(segment, at, SCAN_CHUNK_BYTES);
      if (scan.end === at) break;
      at = scan.end;
      const { data, records, frames } = scan;
      for (let r = 0; r < records.length; r += 5) {
        const frame = records[r]!;
        const keyStart = records[r + 2]!;
        const valueStart = records[r + 3]!;
        const valueEnd = records[r + 4]!;
        const key = data.subarray(keyStart, valueStart);
        const pointer = encodePointer({
          segment,
          frameOffset: frames[2 * frame]!,
          frameLength: frames[2 * frame + 1]!,
          subIndex: records[r + 1]!,
          recordBytes: recordBytesOf(valueStart - keyStart, valueEnd - valueStart),
        });
        const newest = host.newestPointer(key);
        if (newest === null || !sameBytes(newest, pointer)) continue;
        // A copy (a Buffer's `slice` would share the chunk): the key lives on in the memtable.
        keys.push(new Uint8Array(key));
        // The scan's buffer is this rewrite's own: the append copies the value into its frame.
        values.push(data.subarray(valueStart, valueEnd));
        oldPointers.push(pointer);
      }
      await yieldTurn();
    }
  } catch (error) {
    // GC may delete the segment while the scan yields: all of it went stale, nothing to copy.
    if (log.info(segment) !== undefined) throw error;
    return { segment, copiedRecords: 0, copiedBytes: 0, swapped: 0, range: null };
  }
  let swapped = 0;
  let copiedBytes = 0;
  let range: [Uint8Array, Uint8Array] | null = null;
  if (keys.length > 0) {
    const newPointers = log.append(COLD_LANE, keys, values);
    try {
      await log.sync();
      for (const p of newPointers) copiedBytes += decodePointer(p).recordBytes;
      await host.afterStep?.('copy');
      swapped = await host.swapPointers(keys.map((key, i) => ({ key, oldPointer: oldPointers[i]!, newPointer: newPointers[i]! })));
    } finally {
      // The swapped pointers are in the memtable now: GC sees them there.
      log.settle(newPointers);
    }
    await host.afterStep?.('swap');
    let low = keys[0]!;
    let high = keys[0]!;
    for (const key of keys) {
      if (compare(key, low) < 0) low = key;
      if (compare(key, high) > 0) high = key;
    }
    range = [low, high];
  }
  // An attempt that moved nothing (readers still pin the old versions) waits out a cooldown.
  if (swapped === 0 && host.ledgerEntry(segment) !== undefined) await host.logLedger([{ segment, cooldownUntil: now + cooldownMs }]);
  return { segment, copiedRecords: keys.length, copiedBytes, swapped, range };
}

export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  return compare(a, b);
}
