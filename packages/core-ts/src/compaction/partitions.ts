/**
 * Key-range partitions of a compaction job (docs/ENGINE.md, "Compaction"): the executor merges one
 * partition at a time, so its memory follows the partition size, not the job's input size.
 *
 * Boundaries are user keys taken from the inputs' index blocks (each index key is a data block's
 * last key), so choosing them reads no data. Partition `p` holds the user keys in
 * `(boundaries[p − 1], boundaries[p]]`; the last one is unbounded above. A boundary is a whole
 * user key, so every version of a user key falls in one partition: the snapshot and tombstone
 * rules, which look at all versions of a key together, see the same versions as in one big merge.
 */
import type { PackedBytes } from '@siltdb/bindings';
import { compareBytes, TRAILER_BYTES } from '../keys/internal-key.js';

/** What partitioning needs of an input table: its index and where each data block ends. */
export interface PartitionSource {
  readonly indexKeys: PackedBytes;
  readonly blockCount: number;
  blockEnd(b: number): number;
}

/** Input bytes a partition aims at by default: a few MiB keeps the merge's arrays small. */
export const DEFAULT_PARTITION_BYTES = 4 << 20;

/** The finest step at which a table offers candidate boundaries. */
const MAX_CANDIDATE_STEP = 1 << 20;

interface Candidate {
  /** A user key (a view of an index key). */
  readonly key: Uint8Array;
  /** Data bytes of the source between the previous candidate and this one. */
  readonly bytes: number;
}

/**
 * Ascending, distinct user keys splitting the sources into partitions of about `partitionBytes`
 * input bytes each (more when one user key's versions are larger than that). Empty for a job that
 * fits one partition.
 */
export function partitionBoundaries(sources: readonly PartitionSource[], partitionBytes: number): Uint8Array[] {
  if (!(partitionBytes > 0) || !Number.isFinite(partitionBytes)) return [];
  let total = 0;
  for (const source of sources) total += source.blockCount === 0 ? 0 : source.blockEnd(source.blockCount - 1);
  if (total <= partitionBytes) return [];
  // Each table offers a candidate every `step` bytes of its data, weighted by the bytes since its
  // previous one; sorted together, the candidates approximate the job's byte distribution by key.
  const step = Math.max(1, Math.min(MAX_CANDIDATE_STEP, Math.floor(partitionBytes / 4)));
  const candidates: Candidate[] = [];
  for (const source of sources) {
    const { data, offsets } = source.indexKeys;
    let last = 0;
    for (let b = 0; b < source.blockCount; b++) {
      const end = source.blockEnd(b);
      if (end - last < step && b !== source.blockCount - 1) continue;
      candidates.push({ key: data.subarray(offsets[b]!, offsets[b + 1]! - TRAILER_BYTES), bytes: end - last });
      last = end;
    }
  }
  candidates.sort((a, b) => compareBytes(a.key, 0, a.key.length, b.key, 0, b.key.length));
  const boundaries: Uint8Array[] = [];
  let pending = 0;
  for (let c = 0; c < candidates.length - 1; c++) {
    const candidate = candidates[c]!;
    pending += candidate.bytes;
    if (pending < partitionBytes) continue;
    const previous = boundaries.at(-1);
    if (previous !== undefined && compareBytes(previous, 0, previous.length, candidate.key, 0, candidate.key.length) === 0) continue;
    boundaries.push(candidate.key);
    pending = 0;
  }
  return boundaries;
}
