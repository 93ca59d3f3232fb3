/**
 * Value-log garbage collection (DESIGN §4): delete the segments nothing can reach any more.
 *
 * A segment is collected when it is sealed (no lane appends to it) and
 * - the ledger says it has no live bytes (or does not list it at all: an orphan left by a crash
 *   between a drop edit and its unlink, or values whose writes never reached a table), and
 * - no live version's tables reference it (snapshots and iterators pin old versions), and
 * - no memtable an open read can still see holds a pointer into it (the mutable and immutable
 *   memtables, and those an open iterator captured before they were flushed), and
 * - no append's pointers into it are still on their way to a memtable (a write waiting for its
 *   turn, a rewrite's copies before their swap lands: `ValueLog.settle`).
 *
 * Ledger entries are dropped by one manifest edit first, then the files are unlinked: a crash in
 * between leaves orphans, which the next pass collects. Checkpoints hold their own hard links, so
 * removing our name never touches a checkpoint's file.
 */
import { Kind } from '../keys/internal-key.js';
import type { Ledger, LedgerChange } from '../manifest/index.js';
import type { Memtable } from '../memtable/index.js';
import { decodePointer, type ValueLog } from '../vlog/index.js';

export interface GcHost {
  readonly valueLog: ValueLog;
  ledger(): Ledger;
  /** Segments the tables of some live version reference. */
  referencedByVersions(): Set<number>;
  /** Every memtable a read may still consult. */
  reachableMemtables(): Iterable<Memtable>;
  /** Log and install an edit dropping these ledger entries. */
  dropFromLedger(changes: readonly LedgerChange[]): Promise<void>;
}

export interface GcResult {
  readonly deletedSegments: readonly number[];
  /** Each deleted segment's lane and file bytes, in `deletedSegments` order. */
  readonly deleted: readonly { readonly segment: number; readonly lane: number; readonly bytes: number }[];
  /** File bytes the deleted segments held. */
  readonly reclaimedBytes: number;
  /** Segments with nothing live that an open snapshot, iterator or memtable still reaches. */
  readonly blockedSegments: number;
}

/** Frozen memtables never change: their referenced segments are computed once. */
const frozenSegments = new WeakMap<Memtable, ReadonlySet<number>>();

export function segmentsOfMemtable(mem: Memtable): ReadonlySet<number> {
  const cached = frozenSegments.get(mem);
  if (cached !== undefined) return cached;
  const segments = new Set<number>();
  const it = mem.iterator();
  for (let ok = it.seekToFirst(); ok; ok = it.next()) if (it.kind === Kind.Pointer) segments.add(decodePointer(it.value).segment);
  if (mem.frozen) frozenSegments.set(mem, segments);
  return segments;
}

/** The segments a pass may delete now (see the module comment), and how many only readers hold. */
export function collectableSegments(host: GcHost): { collectable: number[]; blocked: number } {
  const log = host.valueLog;
  const ledger = host.ledger();
  const reachable = host.referencedByVersions();
  for (const mem of host.reachableMemtables()) for (const segment of segmentsOfMemtable(mem)) reachable.add(segment);
  const collectable: number[] = [];
  let blocked = 0;
  for (const info of log.segmentInfos()) {
    if (!info.sealed) continue;
    const entry = ledger.get(info.segment);
    if (entry !== undefined && entry.total !== entry.stale) continue;
    // Pointers on their way to a memtable (a write or a rewrite's swap not applied yet).
    if (reachable.has(info.segment) || log.hasInFlight(info.segment)) blocked++;
    else collectable.push(info.segment);
  }
  return { collectable, blocked };
}

/** One GC pass: drop the collectable segments from the ledger, then unlink them. */
export async function collectGarbage(host: GcHost, limit = Number.MAX_SAFE_INTEGER): Promise<GcResult> {
  const { collectable, blocked } = collectableSegments(host);
  const segments = collectable.slice(0, limit);
  if (segments.length === 0) return { deletedSegments: [], deleted: [], reclaimedBytes: 0, blockedSegments: blocked };
  const ledger = host.ledger();
  const drops = segments.filter((segment) => ledger.has(segment)).map((segment): LedgerChange => ({ segment, drop: true }));
  if (drops.length > 0) await host.dropFromLedger(drops);
  let reclaimedBytes = 0;
  const deleted: { segment: number; lane: number; bytes: number }[] = [];
  for (const segment of segments) {
    const info = host.valueLog.info(segment);
    const bytes = info?.length ?? 0;
    reclaimedBytes += bytes;
    await host.valueLog.remove(segment);
    deleted.push({ segment, lane: info?.lane ?? 0, bytes });
  }
  return { deletedSegments: segments, deleted, reclaimedBytes, blockedSegments: blocked };
}
