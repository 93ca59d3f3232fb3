/**
 * The public iterator: a merging iterator over the memtables and the tables of a pinned version,
 * at a snapshot seq, within bounds, forward or reverse, with a limit and `seek`. Both a sync and an
 * async iterable. It pins its `Version` until it is closed or exhausted; keys and values it yields
 * are copies.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { Kind, toUserKey } from '../keys/internal-key.js';
import type { Version } from '../manifest/index.js';
import { MergingIterator, type MergeSource } from './merging-iterator.js';

export type Entry = [key: Uint8Array, value: Uint8Array];

export interface IteratorOptions<S = unknown> {
  readonly gt?: Uint8Array | string;
  readonly gte?: Uint8Array | string;
  readonly lt?: Uint8Array | string;
  readonly lte?: Uint8Array | string;
  readonly reverse?: boolean;
  /** At most this many entries (−1 or Infinity: no limit). */
  readonly limit?: number;
  readonly snapshot?: S;
}

/** Bounds as bytes, checked. */
export interface ResolvedBounds {
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  readonly reverse: boolean;
  readonly limit: number;
}

const KNOWN = new Set(['gt', 'gte', 'lt', 'lte', 'reverse', 'limit', 'snapshot']);

export function resolveIteratorOptions(options: unknown): ResolvedBounds {
  if (options === undefined) return { reverse: false, limit: Infinity };
  if (options === null || typeof options !== 'object') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'iterator options must be an object');
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key) && o[key] !== undefined) throw siltError(ErrorCodes.INVALID_ARGUMENT, `unknown iterator option ${JSON.stringify(key)}`);
  }
  const bound = (name: string): Uint8Array | undefined => (o[name] === undefined ? undefined : toUserKey(o[name], name));
  const gt = bound('gt');
  const gte = bound('gte');
  const lt = bound('lt');
  const lte = bound('lte');
  if (gt !== undefined && gte !== undefined) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'give gt or gte, not both');
  if (lt !== undefined && lte !== undefined) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'give lt or lte, not both');
  if (o.reverse !== undefined && typeof o.reverse !== 'boolean') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'reverse must be a boolean');
  let limit = Infinity;
  if (o.limit !== undefined && o.limit !== -1 && o.limit !== Infinity) {
    if (typeof o.limit !== 'number' || !Number.isSafeInteger(o.limit) || o.limit < 0) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, `limit must be a non-negative integer, -1 or Infinity, got ${String(o.limit)}`);
    }
    limit = o.limit;
  }
  return {
    ...(gt === undefined ? {} : { gt }),
    ...(gte === undefined ? {} : { gte }),
    ...(lt === undefined ? {} : { lt }),
    ...(lte === undefined ? {} : { lte }),
    reverse: o.reverse === true,
    limit,
  };
}

export type Projection = 'entries' | 'keys' | 'values';

/** What the database hands an iterator, and gets back when it ends. */
export interface IteratorHost {
  /** Whether the database is closed (the iterator then throws `CLOSED`). */
  readonly closed: boolean;
  /** The iterator ended (closed or exhausted): forget it. */
  iteratorEnded(iterator: DbIterator<unknown>): void;
  /** A value-log pointer's value (separated values); absent when the database has no value log. */
  resolvePointer?(pointer: Uint8Array, key: Uint8Array): Uint8Array;
}

export class DbIterator<T = Entry> implements IterableIterator<T>, AsyncIterable<T> {
  private readonly merge: MergingIterator;
  private version: Version | null;
  private started = false;
  private yielded = 0;
  private readonly limit: number;
  private closedByDb = false;
  /** `seek` positioned the merge on the entry the next `next()` returns. */
  private pendingAfterSeek = false;

  /** @internal Made by `db.iterator()`, `db.keys()`, `db.values()`. */
  constructor(
    private readonly host: IteratorHost,
    sources: readonly MergeSource[],
    version: Version,
    bounds: ResolvedBounds,
    seq: number,
    private readonly projection: Projection,
  ) {
    this.merge = new MergingIterator(sources, bounds.reverse, seq);
    this.version = version.ref();
    this.limit = bounds.limit;
  }

  /** Whether the iterator still pins its version (not closed, not exhausted). */
  get closed(): boolean {
    return this.version === null;
  }

  /** The next entry (or key, or value), or `{ done: true }` at the end. */
  next(): IteratorResult<T, undefined> {
    this.checkUsable();
    if (this.version === null || this.yielded >= this.limit) return this.finish();
    let ok: boolean;
    if (this.pendingAfterSeek) {
      this.pendingAfterSeek = false;
      ok = this.merge.valid;
    } else {
      ok = this.started ? this.merge.next() : this.merge.seekToFirst();
    }
    this.started = true;
    if (!ok) return this.finish();
    this.yielded++;
    return { done: false, value: this.project() };
  }

  /**
   * Move so the next entry is the first key ≥ `key` (reverse: the last key ≤ `key`), within the
   * bounds. The limit keeps counting. `CLOSED` once the iterator is closed or exhausted.
   */
  seek(key: Uint8Array | string): void {
    const userKey = toUserKey(key, 'seek key');
    this.checkUsable();
    if (this.version === null) throw siltError(ErrorCodes.CLOSED, 'the iterator is closed or exhausted');
    this.merge.seek(userKey);
    this.started = true;
    this.pendingAfterSeek = true;
  }

  /** Unpin the version. Idempotent. */
  close(): void {
    const version = this.version;
    if (version === null) return;
    this.version = null;
    version.unref();
    this.host.iteratorEnded(this as DbIterator<unknown>);
  }

  /** @internal The database is closing. */
  closeForDb(): void {
    this.closedByDb = true;
    this.close();
  }

  [Symbol.iterator](): this {
    return this;
  }

  /** Async iteration over the same cursor (reads are synchronous; each step is one microtask). */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    const next = async (): Promise<IteratorResult<T, undefined>> => this.next();
    const stop = async (): Promise<IteratorResult<T, undefined>> => this.return();
    const wrapper: AsyncIterableIterator<T> = {
      next,
      return: stop,
      [Symbol.asyncIterator]: () => wrapper,
    };
    return wrapper;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Returning early from a `for … of` closes the iterator. */
  return(): IteratorResult<T, undefined> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Every remaining entry, in order. */
  all(): T[] {
    const out: T[] = [];
    for (let r = this.next(); r.done !== true; r = this.next()) out.push(r.value);
    return out;
  }

  private project(): T {
    const key = this.merge.key;
    if (this.projection === 'keys') return key as T;
    let value = this.merge.value;
    // Keys-only iteration never touches the value log; values are read frame by frame as yielded.
    if (this.merge.kind === Kind.Pointer) {
      if (this.host.resolvePointer === undefined) throw siltError(ErrorCodes.CORRUPTION, 'a value-log pointer was found but the database has no value log');
      value = this.host.resolvePointer(value, key);
    }
    if (this.projection === 'values') return value as T;
    return [key, value] as T;
  }

  private finish(): IteratorResult<T, undefined> {
    this.close();
    return { done: true, value: undefined };
  }

  private checkUsable(): void {
    if (this.closedByDb || this.host.closed) throw siltError(ErrorCodes.CLOSED, 'the database is closed');
  }
}
