/**
 * Iteration over committed data with uncommitted changes laid over it: the engine iterator (which
 * never sees the metadata record under the empty key) merged with the pending changes in range,
 * sorted once when the iterator is made. A pending delete hides the committed entry.
 */
import type { Db } from '../db/db.js';
import { ErrorCodes, siltError } from '../errors.js';
import type { Change } from './change-set.js';
import { toStoreKey } from './change-set.js';

export type StoreEntry = [key: Uint8Array, value: Uint8Array];

export interface StoreIteratorOptions {
  readonly gt?: Uint8Array | string;
  readonly gte?: Uint8Array | string;
  readonly lt?: Uint8Array | string;
  readonly lte?: Uint8Array | string;
  readonly reverse?: boolean;
  /** At most this many entries. Default: no limit. */
  readonly limit?: number;
}

interface Bounds {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse: boolean;
  limit: number;
}

function resolveBounds(options: StoreIteratorOptions | undefined): Bounds {
  if (options === undefined) return { gt: new Uint8Array(0), reverse: false, limit: Infinity };
  if (options === null || typeof options !== 'object') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'iterator options must be an object');
  const bounds: Bounds = { reverse: options.reverse === true, limit: Infinity };
  if (options.gt !== undefined) bounds.gt = toStoreKey(options.gt, 'options.gt').slice();
  if (options.gte !== undefined) bounds.gte = toStoreKey(options.gte, 'options.gte').slice();
  if (options.lt !== undefined) bounds.lt = toStoreKey(options.lt, 'options.lt').slice();
  if (options.lte !== undefined) bounds.lte = toStoreKey(options.lte, 'options.lte').slice();
  // No lower bound: start after the empty key, which holds the store's metadata.
  if (bounds.gt === undefined && bounds.gte === undefined) bounds.gt = new Uint8Array(0);
  if (options.limit !== undefined) {
    if (typeof options.limit !== 'number' || !(options.limit >= 0)) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'options.limit must be a number ≥ 0');
    bounds.limit = options.limit;
  }
  return bounds;
}

function inBounds(key: Uint8Array, b: Bounds): boolean {
  if (b.gt !== undefined && Buffer.compare(key, b.gt) <= 0) return false;
  if (b.gte !== undefined && Buffer.compare(key, b.gte) < 0) return false;
  if (b.lt !== undefined && Buffer.compare(key, b.lt) >= 0) return false;
  if (b.lte !== undefined && Buffer.compare(key, b.lte) > 0) return false;
  return true;
}

/**
 * Entries of `db` in range with `overlays` applied (later maps win). The overlay is captured now;
 * the engine iterator reads the data as of this call.
 */
export function* overlayIterator(db: Db, overlays: readonly (ReadonlyMap<string, Change> | null)[], options?: StoreIteratorOptions): Generator<StoreEntry> {
  const bounds = resolveBounds(options);
  const merged = new Map<string, Change>();
  for (const overlay of overlays) if (overlay !== null) for (const [id, change] of overlay) merged.set(id, change);
  const changes = [...merged.values()].filter((change) => inBounds(change.key, bounds));
  const direction = bounds.reverse ? -1 : 1;
  changes.sort((a, b) => direction * Buffer.compare(a.key, b.key));
  const { limit, ...engineBounds } = bounds;
  const committed = db.iterator(engineBounds);
  let emitted = 0;
  let next = 0;
  try {
    const emit = function* (key: Uint8Array, value: Uint8Array): Generator<StoreEntry> {
      emitted++;
      yield [key.slice(), value.slice()];
    };
    for (const [key, value] of committed) {
      // Overlay entries that sort before this committed key come first.
      while (next < changes.length && direction * Buffer.compare(changes[next]!.key, key) < 0) {
        const change = changes[next++]!;
        if (change.value !== null) {
          if (emitted >= limit) return;
          yield* emit(change.key, change.value);
        }
      }
      if (emitted >= limit) return;
      if (next < changes.length && Buffer.compare(changes[next]!.key, key) === 0) {
        const change = changes[next++]!;
        if (change.value !== null) yield* emit(change.key, change.value);
        continue;
      }
      yield* emit(key, value);
    }
    for (; next < changes.length; next++) {
      const change = changes[next]!;
      if (change.value === null) continue;
      if (emitted >= limit) return;
      yield* emit(change.key, change.value);
    }
  } finally {
    committed.close();
  }
}
