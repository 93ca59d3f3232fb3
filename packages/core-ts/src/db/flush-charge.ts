/**
 * What a pointer in the mutable memtable counts toward `memtableBytes` (docs/ENGINE.md, "Value
 * separation"): the memtable itself holds ~50 bytes per pointer, but the value-log bytes behind its
 * pointers decide how long overwritten values stay invisible to the ledger (stale bytes reach it
 * through flushes and L0 compaction) and how many value-log reads a WAL replay does at open.
 *
 * Each pointer is charged `VALUE_LOG_FLUSH_WEIGHT` × its record's bytes, so a memtable of small
 * separated values (1 KiB: the churn workload) flushes after a quarter of `memtableBytes` of value
 * data — but at most `MAX_POINTER_FLUSH_CHARGE`. Past a frame's worth of value (4 KiB) the charge
 * stays flat, so a memtable of large values flushes after at most `memtableBytes / 16 KiB` pointers
 * and at most `memtableBytes` of value data (as much as a memtable of inline values holds), rather
 * than after a few hundred values: a flush has fixed costs (a value-log and a WAL sync, a manifest
 * edit, an L0 table, compaction and maintenance triggers) that a few hundred 16 KiB values would
 * pay every few MiB.
 */

/** How much a byte of separated value weighs against `memtableBytes`, up to the cap below. */
export const VALUE_LOG_FLUSH_WEIGHT = 4;

/** The most one pointer counts: the weighted charge of a 4 KiB record. */
export const MAX_POINTER_FLUSH_CHARGE = VALUE_LOG_FLUSH_WEIGHT * 4096;

/** The charge of a pointer whose record takes `recordBytes` bytes in the value log. */
export function pointerFlushCharge(recordBytes: number): number {
  return Math.min(VALUE_LOG_FLUSH_WEIGHT * recordBytes, MAX_POINTER_FLUSH_CHARGE);
}
