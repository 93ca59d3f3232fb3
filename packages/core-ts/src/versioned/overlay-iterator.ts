/**
 * Iteration over committed data with uncommitted changes laid over it: the engine iterator (which
 * never sees the metadata record under the empty key) merged with the pending changes in range.
 * Everything is decided when the iterator is made, like the engine's: options are checked (bad ones
 * throw `INVALID_ARGUMENT` at the call, not at the first step), the pending changes are captured and
 * sorted, and the engine iterator pins the committed data as of that moment. Later commits,
 * `applyChangeSets` calls or reuse of the caller's buffers do not show through.
 *
 * Options follow the engine's iterator (`gt`/`gte`/`lt`/`lte`, `reverse`, `limit` with −1 or
 * Infinity for none); bounds are store keys (1 byte or more). The iterator is both a sync and an
 * async iterable, closes itself when exhausted or left early, and throws `CLOSED` once the store
 * (or view) it reads is closed or rolled back.
 */
import type { Db } from '../db/db.js';
import type { DbIterator, Entry } from '../db/iterator.js';
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
  /** At most this many entries (−1 or Infinity: no limit). Default: no limit. */
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

const KNOWN = new Set(['gt', 'gte', 'lt', 'lte', 'reverse', 'limit']);

function invalid(message: string): Error {
  return siltError(ErrorCodes.INVALID_ARGUMENT, message);
}

function resolveBounds(options: unknown): Bounds {
  // No lower bound: start after the empty key, which holds the store's metadata.
  if (options === undefined) return { gt: new Uint8Array(0), reverse: false, limit: Infinity };
  if (options === null || typeof options !== 'object') throw invalid('iterator options must be an object');
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KNOWN.has(key) && o[key] !== undefined) throw invalid(`unknown iterator option ${JSON.stringify(key)}`);
  if (o.gt !== undefined && o.gte !== undefined) throw invalid('give gt or gte, not both');
  if (o.lt !== undefined && o.lte !== undefined) throw invalid('give lt or lte, not both');
  if (o.reverse !== undefined && typeof o.reverse !== 'boolean') throw invalid('options.reverse must be a boolean');
  const bounds: Bounds = { reverse: o.reverse === true, limit: Infinity };
  // Copies: a caller reusing its bound buffers cannot move the range of a live iterator.
  if (o.gt !== undefined) bounds.gt = toStoreKey(o.gt, 'options.gt').slice();
  if (o.gte !== undefined) bounds.gte = toStoreKey(o.gte, 'options.gte').slice();
  if (o.lt !== undefined) bounds.lt = toStoreKey(o.lt, 'options.lt').slice();
  if (o.lte !== undefined) bounds.lte = toStoreKey(o.lte, 'options.lte').slice();
  if (bounds.gt === undefined && bounds.gte === undefined) bounds.gt = new Uint8Array(0);
  if (o.limit !== undefined && o.limit !== -1 && o.limit !== Infinity) {
    if (typeof o.limit !== 'number' || !Number.isSafeInteger(o.limit) || o.limit < 0) {
      throw invalid(`options.limit must be a non-negative integer, -1 or Infinity, got ${String(o.limit)}`);
    }
    bounds.limit = o.limit;
  }
  return bounds;
}

function inBounds(key: Uint8Array, b: Omit<Bounds, 'limit'>): boolean {
  if (b.gt !== undefined && Buffer.compare(key, b.gt) <= 0) return false;
  if (b.gte !== undefined && Buffer.compare(key, b.gte) < 0) return false;
  if (b.lt !== undefined && Buffer.compare(key, b.lt) >= 0) return false;
  if (b.lte !== undefined && Buffer.compare(key, b.lte) > 0) return false;
  return true;
}

const DONE: IteratorResult<StoreEntry, undefined> = { done: true, value: undefined };

export class StoreIterator implements IterableIterator<StoreEntry>, AsyncIterable<StoreEntry> {
  private readonly committed: DbIterator<Entry>;
  /** Pending changes in range, in iteration order (deletes included: they hide committed keys). */
  private readonly changes: Change[];
  private readonly direction: 1 | -1;
  private readonly limit: number;
  private nextChange = 0;
  /** The committed entry read ahead and not yet emitted or shadowed. */
  private held: Entry | null = null;
  private committedDone = false;
  private emitted = 0;
  private ended = false;

  /** @internal Made by `CommitStore.iterator` and `VersionView.iterator`. */
  constructor(
    private readonly db: Db,
    overlays: readonly (ReadonlyMap<string, Change> | null)[],
    options?: StoreIteratorOptions,
  ) {
    const { limit, ...engineBounds } = resolveBounds(options);
    const merged = new Map<string, Change>();
    for (const overlay of overlays) if (overlay !== null) for (const [id, change] of overlay) merged.set(id, change);
    this.direction = engineBounds.reverse ? -1 : 1;
    const direction = this.direction;
    this.changes = [...merged.values()].filter((change) => inBounds(change.key, engineBounds));
    this.changes.sort((a, b) => direction * Buffer.compare(a.key, b.key));
    this.limit = limit;
    this.committed = db.iterator(engineBounds);
  }

  /** Whether the iterator has ended (exhausted, limit reached, or closed). */
  get closed(): boolean {
    return this.ended;
  }

  next(): IteratorResult<StoreEntry, undefined> {
    if (this.ended) return DONE;
    // The pending part outlives the engine iterator's own check once that one is exhausted.
    if (this.db.closed) throw siltError(ErrorCodes.CLOSED, `${this.db.location} is closed: the iterator cannot go on`);
    if (this.emitted >= this.limit) return this.finish();
    for (;;) {
      if (this.held === null && !this.committedDone) {
        const step = this.committed.next();
        if (step.done === true) this.committedDone = true;
        else this.held = step.value;
      }
      const change = this.changes[this.nextChange];
      const held = this.held;
      if (change === undefined && held === null) return this.finish();
      // The pending change comes first when it sorts before (or on) the committed key.
      const order = change === undefined ? 1 : held === null ? -1 : this.direction * Buffer.compare(change.key, held[0]);
      if (order <= 0) {
        this.nextChange++;
        if (order === 0) this.held = null;
        if (change!.value === null) continue;
        return this.emit(change!.key.slice(), change!.value.slice());
      }
      this.held = null;
      return this.emit(held![0], held![1]);
    }
  }

  /** Every remaining entry, in order. */
  all(): StoreEntry[] {
    const out: StoreEntry[] = [];
    for (let step = this.next(); step.done !== true; step = this.next()) out.push(step.value);
    return out;
  }

  /** Release the engine iterator (and the data it pins). Idempotent. */
  close(): void {
    this.ended = true;
    this.held = null;
    this.committed.close();
  }

  /** Returning early from a `for … of` closes the iterator. */
  return(): IteratorResult<StoreEntry, undefined> {
    this.close();
    return DONE;
  }

  [Symbol.iterator](): this {
    return this;
  }

  /** Async iteration over the same cursor (reads are synchronous; each step is one microtask). */
  [Symbol.asyncIterator](): AsyncIterableIterator<StoreEntry> {
    const wrapper: AsyncIterableIterator<StoreEntry> = {
      next: async () => this.next(),
      return: async () => this.return(),
      [Symbol.asyncIterator]: () => wrapper,
    };
    return wrapper;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private emit(key: Uint8Array, value: Uint8Array): IteratorResult<StoreEntry, undefined> {
    this.emitted++;
    return { done: false, value: [key, value] };
  }

  private finish(): IteratorResult<StoreEntry, undefined> {
    this.close();
    return DONE;
  }
}
