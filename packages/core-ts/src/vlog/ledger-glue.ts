/**
 * How flushes, compactions and checkpoints change the value-log ledger (manifest/ledger.ts). The
 * charge of a pointer is its record bytes (FORMAT §8.3); a table's properties and its manifest
 * entry say how many bytes it references per segment, so:
 *
 * - a flush adds its table's charges to each segment's `total` (and records lengths and seals the
 *   value log has made durable);
 * - a compaction moves `Σ inputs − Σ outputs` per segment from live to stale: exactly the charges
 *   of the pointer entries it dropped, computed from the same numbers the edit installs, so the
 *   ledger stays equal to the tables whatever the executor kept.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { Kind } from '../keys/internal-key.js';
import type { Ledger, LedgerChange, TableMeta } from '../manifest/index.js';
import { decodePointer, isPointerAt, pointerRecordBytesAt, pointerSegmentAt } from './pointer.js';
import type { ValueLog } from './value-log.js';

/** Adds the charge of one entry to `charges` when it is a pointer. */
export function chargePointer(charges: Map<number, number>, kind: number, value: Uint8Array): void {
  if (kind === Kind.Pointer) chargePointerAt(charges, value, 0, value.length);
}

/**
 * `chargePointer` for the pointer at `data[from, to)`, read in place: a compaction charges every
 * pointer it keeps, and an object per pointer (plus the view to decode it from) was a tenth of its
 * time. A malformed pointer is `CORRUPTION`, with `decodePointer`'s reason.
 */
export function chargePointerAt(charges: Map<number, number>, data: Uint8Array, from: number, to: number): void {
  if (!isPointerAt(data, from, to - from)) decodePointer(data.subarray(from, to));
  const segment = pointerSegmentAt(data, from);
  charges.set(segment, (charges.get(segment) ?? 0) + pointerRecordBytesAt(data, from));
}

/** Ledger changes for a flush whose table references `charges`; the value log must be synced first. */
export function flushLedgerChanges(ledger: Ledger, charges: ReadonlyMap<number, number>, log: ValueLog, now: number): LedgerChange[] {
  const changes = new Map<number, LedgerChange>();
  for (const [segment, bytes] of charges) {
    const info = log.info(segment);
    if (info === undefined) throw siltError(ErrorCodes.CORRUPTION, `a flushed pointer names value-log segment ${segment}, which does not exist`);
    const entry = ledger.get(segment);
    changes.set(segment, {
      segment,
      ...(entry === undefined ? { lane: info.lane, created: now } : {}),
      addTotal: bytes,
      ...(info.synced > (entry?.length ?? 0) ? { length: info.synced } : {}),
      ...(info.sealed && info.synced === info.length && entry?.sealed !== true ? { sealed: true } : {}),
    });
  }
  // Segments sealed since the ledger last heard of them: record their final length once.
  for (const entry of ledger.values()) {
    if (entry.sealed || changes.has(entry.segment)) continue;
    const info = log.info(entry.segment);
    if (info !== undefined && info.sealed && info.synced === info.length && info.length >= entry.length) {
      changes.set(entry.segment, { segment: entry.segment, length: info.length, sealed: true });
    }
  }
  return [...changes.values()].sort((a, b) => a.segment - b.segment);
}

/** Per-segment charges of a set of tables (from their manifest entries). */
export function chargesOf(tables: Iterable<TableMeta>): Map<number, number> {
  const charges = new Map<number, number>();
  for (const table of tables) {
    for (const [id, bytes] of table.valueLogBytes) charges.set(Number(id), (charges.get(Number(id)) ?? 0) + bytes);
  }
  return charges;
}

/** Ledger changes for a compaction from `inputs` to `outputs`: what the inputs referenced and the outputs no longer do. */
export function compactionLedgerChanges(inputs: Iterable<TableMeta>, outputs: Iterable<TableMeta>): LedgerChange[] {
  const before = chargesOf(inputs);
  const after = chargesOf(outputs);
  const changes: LedgerChange[] = [];
  for (const [segment, bytes] of before) {
    const kept = after.get(segment) ?? 0;
    if (kept > bytes) throw siltError(ErrorCodes.CORRUPTION, `compaction output references ${kept} bytes of segment ${segment}, its inputs only ${bytes}`);
    if (kept < bytes) changes.push({ segment, addStale: bytes - kept });
  }
  for (const segment of after.keys()) {
    if (!before.has(segment)) throw siltError(ErrorCodes.CORRUPTION, `compaction output references segment ${segment}, which no input did`);
  }
  return changes.sort((a, b) => a.segment - b.segment);
}
