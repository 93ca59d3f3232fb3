/**
 * Shared pieces of the manifest tests: table metadata over readable 4-digit user keys, a plain
 * description of a version set's state (for deep equality), and a generator of valid random edits
 * (flushes to L0, L0 → L1 compactions, L1 → L2 moves) driven by a model `VersionSet`.
 */
import { encodeInternalKey } from '../src/keys/internal-key.js';
import { toHex } from '../src/manifest/edit-codec.js';
import { NUM_LEVELS, VersionSet, type TableMeta, type VersionEdit, type Version, type ManifestCounters } from '../src/manifest/index.js';
import type { SeededRandom } from '../src/vfs/seeded-random.js';

export function userKey(n: number): Uint8Array {
  return new TextEncoder().encode(String(n).padStart(4, '0'));
}

/** A table over user keys [low, high] with sequence numbers [minSeq, maxSeq]. */
export function table(fileNumber: number, low: number, high: number, minSeq = 1, maxSeq = minSeq, extra: Partial<TableMeta> = {}): TableMeta {
  return {
    fileNumber,
    size: 1000 + fileNumber,
    // The first entry of the low key is its newest version; the last of the high key its oldest.
    smallest: encodeInternalKey(userKey(low), maxSeq),
    largest: encodeInternalKey(userKey(high), minSeq),
    minSeq,
    maxSeq,
    entries: high - low + 1,
    valueLogBytes: new Map(),
    ...extra,
  };
}

export interface DescribedState {
  levels: string[][];
  counters: ManifestCounters;
}

/** Everything a version and its counters say, as plain comparable data. */
export function describeVersion(version: Version): string[][] {
  const levels: string[][] = [];
  for (let level = 0; level < NUM_LEVELS; level++) {
    levels.push(
      version.tables(level).map((t) => {
        const vlog = [...t.valueLogBytes].map(([segment, bytes]) => `${segment}=${bytes}`).join(',');
        return `${t.fileNumber}:${t.size}:${toHex(t.smallest)}-${toHex(t.largest)}:${t.minSeq}-${t.maxSeq}:${t.entries}:${vlog}`;
      }),
    );
  }
  return levels;
}

export function describeState(set: { current: Version; counters: ManifestCounters }): DescribedState {
  return { levels: describeVersion(set.current), counters: { ...set.counters } };
}

/** The user-key range [low, high] of a test table (keys are 4-digit numbers). */
function rangeOf(t: TableMeta): [number, number] {
  const decode = (key: Uint8Array) => Number(new TextDecoder().decode(key.subarray(0, key.length - 8)));
  return [decode(t.smallest), decode(t.largest)];
}

/**
 * A valid next edit for the model's state: mostly flushes, with compactions and trivial moves
 * once there is something to compact. It does not change the model.
 */
export function randomEdit(random: SeededRandom, model: VersionSet): VersionEdit {
  const version = model.current;
  const { nextFileNumber, lastSeq, walFlushedIndex } = model.counters;
  const roll = random.next();
  const l0 = version.tables(0);
  if (l0.length > 0 && roll < 0.25) {
    // L0 → L1: every L0 table, plus every L1 table meeting their (growing) key range.
    let [low, high] = [Infinity, -Infinity];
    for (const t of l0) {
      const [a, b] = rangeOf(t);
      low = Math.min(low, a);
      high = Math.max(high, b);
    }
    let l1: TableMeta[] = [];
    for (;;) {
      l1 = version.overlapping(1, userKey(low), userKey(high));
      const grownLow = Math.min(low, ...l1.map((t) => rangeOf(t)[0]));
      const grownHigh = Math.max(high, ...l1.map((t) => rangeOf(t)[1]));
      if (grownLow === low && grownHigh === high) break;
      [low, high] = [grownLow, grownHigh];
    }
    const inputs = [...l0, ...l1];
    const minSeq = Math.min(...inputs.map((t) => t.minSeq));
    const maxSeq = Math.max(...inputs.map((t) => t.maxSeq));
    const pieces = Math.min(random.int(1, 3), high - low + 1);
    const added = [];
    let start = low;
    for (let i = 0; i < pieces; i++) {
      const end = i === pieces - 1 ? high : random.int(start, high - (pieces - 1 - i));
      added.push({ level: 1, table: table(nextFileNumber + i, start, end, minSeq, maxSeq) });
      start = end + 1;
    }
    return {
      removed: [...l0.map((t) => ({ level: 0, fileNumber: t.fileNumber })), ...l1.map((t) => ({ level: 1, fileNumber: t.fileNumber }))],
      added,
      nextFileNumber: nextFileNumber + pieces,
    };
  }
  if (roll < 0.35) {
    // A trivial move: an L1 table that meets nothing in L2 goes down as it is.
    const movable = version.tables(1).filter((t) => version.overlapping(2, userKey(rangeOf(t)[0]), userKey(rangeOf(t)[1])).length === 0);
    if (movable.length > 0) {
      const t = movable[random.int(0, movable.length - 1)]!;
      return { removed: [{ level: 1, fileNumber: t.fileNumber }], added: [{ level: 2, table: t }] };
    }
  }
  // A flush: one new L0 table with the next sequence numbers.
  const low = random.int(0, 900);
  const high = low + random.int(0, 99);
  const maxSeq = lastSeq + random.int(1, 50);
  const valueLogBytes = random.chance(0.3) ? new Map([[`1-${random.int(1, 9)}`, random.int(0, 1 << 20)]]) : new Map<string, number>();
  return {
    added: [{ level: 0, table: table(nextFileNumber, low, high, lastSeq + 1, maxSeq, { valueLogBytes }) }],
    nextFileNumber: nextFileNumber + 1,
    lastSeq: maxSeq,
    walFlushedIndex: walFlushedIndex + random.int(1, 5),
  };
}
