/**
 * What SiltLevel's three iterator classes share: an engine iterator over a fixed snapshot,
 * read in batches straight from the engine's synchronous iterator (no async hop per entry).
 *
 * abstract-level lets `seek()` resume an iterator that reached its end, at the iterator's
 * snapshot. An engine iterator unpins its version when exhausted, so the cursor reads through an
 * engine snapshot — its own, taken synchronously when the iterator is created (the implicit
 * snapshot), or the caller's explicit one — and opens a fresh engine iterator on it when a seek
 * follows the end. The limit is counted by abstract-level, across seeks; the engine gets none.
 */
import { Buffer } from 'node:buffer';
import type { Db, DbIterator, Snapshot } from '../db/index.js';
import type { Entry } from '../db/index.js';
import { LevelCodes, abortError, levelError, toLevelError, translated } from './errors.js';
import type { SiltSnapshot } from './snapshot.js';

export type CursorProjection = 'entries' | 'keys' | 'values';

type Bound = string | Uint8Array;

/** The options abstract-level hands `_iterator`, `_keys`, `_values` (and `_clear`): keys already encoded. */
export interface PrivateRangeOptions {
  readonly gt?: Bound;
  readonly gte?: Bound;
  readonly lt?: Bound;
  readonly lte?: Bound;
  readonly reverse?: boolean;
  readonly limit?: number;
  readonly keys?: boolean;
  readonly values?: boolean;
  readonly keyEncoding?: string;
  readonly valueEncoding?: string;
  readonly signal?: AbortSignal | null;
  readonly snapshot?: SiltSnapshot | null;
}

interface EngineRange {
  gt?: Bound;
  gte?: Bound;
  lt?: Bound;
  lte?: Bound;
  reverse: boolean;
}

/**
 * The engine's bounds from abstract-level's: `gte` wins over `gt` and `lte` over `lt`
 * (abstract-level's rule; the engine takes one of each).
 */
export function engineRange(options: PrivateRangeOptions): EngineRange {
  const range: EngineRange = { reverse: options.reverse === true };
  if (options.gte !== undefined) range.gte = options.gte;
  else if (options.gt !== undefined) range.gt = options.gt;
  if (options.lte !== undefined) range.lte = options.lte;
  else if (options.lt !== undefined) range.lt = options.lt;
  return range;
}

type Item = Entry | Uint8Array;

const asBytes = (key: Bound): Uint8Array => (typeof key === 'string' ? Buffer.from(key, 'utf8') : key);

/** Whether `target` lies within `range` (byte order, as the engine orders keys). */
function inRange(range: EngineRange, target: Bound): boolean {
  const key = asBytes(target);
  if (range.gte !== undefined && Buffer.compare(key, asBytes(range.gte)) < 0) return false;
  if (range.gt !== undefined && Buffer.compare(key, asBytes(range.gt)) <= 0) return false;
  if (range.lte !== undefined && Buffer.compare(key, asBytes(range.lte)) > 0) return false;
  if (range.lt !== undefined && Buffer.compare(key, asBytes(range.lt)) >= 0) return false;
  return true;
}

export class Cursor {
  readonly #engine: Db;
  readonly #range: EngineRange;
  readonly #projection: CursorProjection;
  readonly #signal: AbortSignal | null;
  /** The snapshot reads go through; null when the caller's explicit snapshot was already closed. */
  readonly #snapshot: Snapshot | null;
  readonly #ownsSnapshot: boolean;
  #iterator: DbIterator<Item> | null = null;

  constructor(engine: Db, options: PrivateRangeOptions, projection: CursorProjection) {
    this.#engine = engine;
    this.#projection = projection;
    this.#signal = options.signal ?? null;
    this.#range = translated('iterator', () => engineRange(options));
    const explicit = options.snapshot?.engineSnapshot;
    if (explicit !== undefined) {
      // A closed snapshot fails the first read (abstract-level checks it there); nothing to open.
      this.#snapshot = explicit.released ? null : explicit;
      this.#ownsSnapshot = false;
    } else {
      this.#snapshot = translated('database', () => engine.snapshot());
      this.#ownsSnapshot = true;
    }
    if (this.#snapshot !== null) {
      try {
        this.#iterator = this.#open(this.#snapshot);
      } catch (error) {
        this.close();
        throw error;
      }
    }
  }

  /** Up to `max` items (entries, keys or values as the projection says), fewer at the end. */
  async read(max: number): Promise<Item[]> {
    if (this.#signal !== null) await this.#checkSignal(this.#signal);
    return this.readNow(max);
  }

  /** The next item, or undefined at the end: `read(1)` without the array, for `next()`. */
  async readOne(): Promise<Item | undefined> {
    if (this.#signal !== null) await this.#checkSignal(this.#signal);
    const iterator = this.#iterator;
    if (iterator === null) {
      if (this.#snapshot === null) throw levelError(LevelCodes.SNAPSHOT_NOT_OPEN, 'the snapshot of this iterator is closed');
      return undefined;
    }
    let result: IteratorResult<Item, undefined>;
    try {
      result = iterator.next();
    } catch (error) {
      throw toLevelError(error, 'iterator');
    }
    if (result.done !== true) return result.value;
    this.#iterator = null;
    return undefined;
  }

  /** `read` without the signal check. */
  readNow(max: number): Item[] {
    const out: Item[] = [];
    const iterator = this.#iterator;
    if (iterator === null) {
      if (this.#snapshot === null) throw levelError(LevelCodes.SNAPSHOT_NOT_OPEN, 'the snapshot of this iterator is closed');
      return out;
    }
    translated('iterator', () => {
      while (out.length < max) {
        const result = iterator.next();
        if (result.done === true) {
          // The engine iterator closed itself; a later seek opens a new one.
          this.#iterator = null;
          break;
        }
        out.push(result.value);
      }
    });
    return out;
  }

  seek(target: Bound): void {
    const snapshot = this.#snapshot;
    if (snapshot === null || snapshot.released) throw levelError(LevelCodes.SNAPSHOT_NOT_OPEN, 'the snapshot of this iterator is closed');
    // abstract-level: a target outside the range ends the iterator (the engine's seek would clamp
    // it into the range instead); a later seek may resume it.
    if (!inRange(this.#range, target)) {
      this.#iterator?.close();
      this.#iterator = null;
      return;
    }
    translated('iterator', () => {
      this.#iterator ??= this.#open(snapshot);
      this.#iterator.seek(target);
    });
  }

  close(): void {
    this.#iterator?.close();
    this.#iterator = null;
    if (this.#ownsSnapshot) this.#snapshot?.release();
  }

  /** One microtask after the read was asked for, so an `abort()` right after the call is seen. */
  async #checkSignal(signal: AbortSignal): Promise<void> {
    await undefined;
    if (signal.aborted) throw abortError();
  }

  #open(snapshot: Snapshot): DbIterator<Item> {
    const options = { ...this.#range, snapshot };
    return translated('iterator', () => {
      if (this.#projection === 'keys') return this.#engine.keys(options);
      if (this.#projection === 'values') return this.#engine.values(options);
      return this.#engine.iterator(options);
    });
  }
}
