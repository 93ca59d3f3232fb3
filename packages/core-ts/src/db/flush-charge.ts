/**
 * What a pointer in the mutable memtable counts toward `memtableBytes` (docs/ENGINE.md, "Value
 * separation"): the memtable itself holds ~50 bytes per pointer, but the value-log bytes behind its
 * pointers decide how long overwritten values stay invisible to the ledger (stale bytes reach it
 * through flushes and L0 compaction) and how many value-log reads a WAL replay does at open.
 *
 * Each pointer is charged `VALUE_LOG_FLUSH_WEIGHT` × its record's bytes, so a memtable of small
 * separated values flushes after a quarter of `memtableBytes` of value data — but at most
 * `MAX_POINTER_FLUSH_CHARGE`, the charge of a 1 KiB value (the churn workload's). From 1 KiB on the
 * charge is flat: a memtable holds at least `memtableBytes / 4 KiB` pointers (16,384 at the
 * default), however large their values. A flush has fixed costs — a value-log and a WAL sync, a
 * manifest edit, an L0 table, the compaction and maintenance work it triggers, and the first time
 * the table builder's code runs — that large values otherwise pay every few thousand writes: with a
 * 16 KiB cap, 10k × 16 KiB values (bench/engines/vlog.mjs `large`) flushed twice, and the flushes
 * and the staleness sampling they kick off were a third of the main thread's time. The price: the
 * overwrites of large values reach the ledger later (up to 16,384 values behind, 256 MiB of 16 KiB
 * values), which the staleness sampler's estimates cover for GC planning, and a WAL replay after a
 * crash checks up to that many pointers.
 */

/** How much a byte of separated value weighs against `memtableBytes`, up to the cap below. */
export const VALUE_LOG_FLUSH_WEIGHT = 4;

/** The most one pointer counts: the weighted charge of a 1 KiB record. */
export const MAX_POINTER_FLUSH_CHARGE = VALUE_LOG_FLUSH_WEIGHT * 1024;

/** The charge of a pointer whose record takes `recordBytes` bytes in the value log. */
export function pointerFlushCharge(recordBytes: number): number {
  return Math.min(VALUE_LOG_FLUSH_WEIGHT * recordBytes, MAX_POINTER_FLUSH_CHARGE);
}
