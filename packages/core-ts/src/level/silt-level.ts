/**
 * `SiltLevel`: SiltDB behind abstract-level 3's interface, so code written for classic-level (or
 * any abstract-level database: sublevels, hooks, events, plugins) runs on SiltDB by changing the
 * import. abstract-level does the public API — deferred open, encodings, sublevels, hooks, events,
 * snapshot reference counts, iterator limits and signals; this class implements its private API
 * (`_open`, `_get`, `_iterator`, …) on the engine.
 *
 * Snapshots are taken synchronously when asked for, as the interface requires: an iterator sees
 * the data as of the `iterator()` call, a `snapshot()` as of its call. Reads are synchronous in
 * the engine, so `get`, `getMany` and `has` read as of their call too.
 */
import type { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { AbstractLevel, type AbstractDatabaseOptions } from 'abstract-level';
import { ErrorCodes, SiltError } from '../errors.js';
import { open, type BatchOp, type Db, type DbStats, type ReadOptions } from '../db/index.js';
import { CURRENT_FILE } from '../manifest/index.js';
import { nodeVfs } from '../vfs/node-vfs.js';
import type { Vfs } from '../vfs/types.js';
import { SiltChainedBatch } from './chained-batch.js';
import { engineRange, type PrivateRangeOptions } from './cursor.js';
import { LevelCodes, levelError, toLevelError, translated, translatedAsync } from './errors.js';
import { decoderOf, type Decoded } from './formats.js';
import { SiltIterator, SiltKeyIterator, SiltValueIterator } from './iterator.js';
import { engineOpenOptions, type SiltLevelOpenOptions } from './options.js';
import { SiltSnapshot } from './snapshot.js';
import { engineWriteOptions } from './write-options.js';

export interface SiltLevelOptions<K = string, V = string> extends AbstractDatabaseOptions<K, V>, Omit<SiltLevelOpenOptions, 'createIfMissing' | 'errorIfExists'> {}

/** What the private API is handed besides keys and values: encodings as formats, maybe a snapshot. */
interface PrivateOptions {
  readonly keyEncoding?: string;
  readonly valueEncoding?: string;
  readonly snapshot?: SiltSnapshot | null;
  readonly sync?: unknown;
}

type Key = string | Uint8Array;

/** Keys deleted per engine batch by `clear()`. */
const CLEAR_CHUNK = 1000;

/**
 * What SiltLevel does, declared to abstract-level (and to code that checks `db.supports`).
 * `additionalMethods`: `compactRange` as in classic-level, and the engine's own `flush`,
 * `checkpoint` and `stats`.
 */
const MANIFEST = {
  encodings: { buffer: true, view: true, utf8: true },
  implicitSnapshots: true,
  explicitSnapshots: true,
  has: true,
  getSync: true,
  seek: true,
  createIfMissing: true,
  errorIfExists: true,
  permanence: true,
  signals: { iterators: true },
  additionalMethods: { compactRange: true, flush: true, checkpoint: true, stats: true },
};

function readOptions(options: PrivateOptions | undefined): ReadOptions | undefined {
  const snapshot = options?.snapshot;
  return snapshot == null ? undefined : { snapshot: snapshot.engineSnapshot };
}

export class SiltLevel<KDefault = string, VDefault = string> extends AbstractLevel<string | Buffer | Uint8Array, KDefault, VDefault> {
  readonly #location: string;
  readonly #vfs: Vfs;
  #engine: Db | null = null;

  constructor(location: string, options?: SiltLevelOptions<KDefault, VDefault>) {
    if (typeof location !== 'string' || location === '') {
      throw new TypeError("The first argument 'location' must be a non-empty string");
    }
    super(MANIFEST, options);
    this.#location = location;
    this.#vfs = options?.vfs ?? nodeVfs;
  }

  /** The directory given to the constructor. */
  get location(): string {
    return this.#location;
  }

  /** The open engine database; abstract-level calls the private API only while open. */
  get #db(): Db {
    const engine = this.#engine;
    if (engine === null) throw levelError(LevelCodes.DATABASE_NOT_OPEN, 'Database is not open');
    return engine;
  }

  // ---------------------------------------------------------------- open, close

  async _open(options: Readonly<Record<string, unknown>>): Promise<void> {
    try {
      this.#engine = await open(this.#location, engineOpenOptions(options));
    } catch (error) {
      throw await this.#explainOpenFailure(error, options);
    }
  }

  /**
   * abstract-level reports a failed open as `LEVEL_DATABASE_NOT_OPEN` with our error as the cause:
   * a lock held elsewhere is `LEVEL_LOCKED`, damage `LEVEL_CORRUPTION`; a refusal by
   * `createIfMissing` or `errorIfExists` says that the database does not exist or already exists.
   */
  async #explainOpenFailure(error: unknown, options: Readonly<Record<string, unknown>>): Promise<unknown> {
    if ((error as { code?: unknown } | null)?.code === ErrorCodes.INVALID_ARGUMENT) {
      const exists = await this.#vfs.exists(join(this.#location, CURRENT_FILE)).catch(() => null);
      if (exists === false && options.createIfMissing === false) {
        return new SiltError(ErrorCodes.INVALID_ARGUMENT, `Database ${this.#location} does not exist (createIfMissing is false)`, { cause: error });
      }
      if (exists === true && options.errorIfExists === true) {
        return new SiltError(ErrorCodes.INVALID_ARGUMENT, `Database ${this.#location} already exists (errorIfExists is true)`, { cause: error });
      }
    }
    return toLevelError(error, 'open');
  }

  async _close(): Promise<void> {
    const engine = this.#engine;
    this.#engine = null;
    if (engine !== null) await translatedAsync('database', () => engine.close());
  }

  // ---------------------------------------------------------------- writes

  async _put(key: Key, value: Key, options: PrivateOptions): Promise<void> {
    const db = this.#db;
    await translatedAsync('keys', () => db.put(key, value, engineWriteOptions(options)));
  }

  async _del(key: Key, options: PrivateOptions): Promise<void> {
    const db = this.#db;
    await translatedAsync('keys', () => db.del(key, engineWriteOptions(options)));
  }

  /** abstract-level's operations carry `type`, `key` and `value` as the engine wants them (plus fields it ignores). */
  async _batch(operations: readonly BatchOp[], options: PrivateOptions): Promise<void> {
    const db = this.#db;
    await translatedAsync('keys', () => db.batch(operations, engineWriteOptions(options)));
  }

  _chainedBatch(): SiltChainedBatch {
    return new SiltChainedBatch(this, this.#db);
  }

  /** Delete the keys in range (as of `options.snapshot`, or now), in engine batches of `CLEAR_CHUNK`. */
  async _clear(options: PrivateRangeOptions): Promise<void> {
    const db = this.#db;
    const snapshot = options.snapshot?.engineSnapshot ?? translated('database', () => db.snapshot());
    const owned = options.snapshot?.engineSnapshot === undefined;
    try {
      const keys = translated('iterator', () => db.keys({ ...engineRange(options), snapshot }));
      let left = typeof options.limit === 'number' && options.limit >= 0 ? options.limit : Infinity;
      try {
        while (left > 0) {
          const want = Math.min(CLEAR_CHUNK, left);
          const chunk: BatchOp[] = [];
          translated('iterator', () => {
            while (chunk.length < want) {
              const next = keys.next();
              if (next.done === true) break;
              chunk.push({ type: 'del', key: next.value });
            }
          });
          if (chunk.length > 0) await translatedAsync('keys', () => db.batch(chunk));
          left -= chunk.length;
          if (chunk.length < want) break;
        }
      } finally {
        keys.close();
      }
    } finally {
      if (owned) snapshot.release();
    }
  }

  // ---------------------------------------------------------------- reads

  async _get(key: Key, options: PrivateOptions): Promise<Decoded | undefined> {
    return this._getSync(key, options);
  }

  _getSync(key: Key, options: PrivateOptions): Decoded | undefined {
    const db = this.#db;
    const value = translated('keys', () => db.getSync(key, readOptions(options)));
    return value === undefined ? undefined : decoderOf(options.valueEncoding)(value);
  }

  async _getMany(keys: readonly Key[], options: PrivateOptions): Promise<(Decoded | undefined)[]> {
    const db = this.#db;
    const decode = decoderOf(options.valueEncoding);
    const values = translated('keys', () => db.getMany(keys, readOptions(options)));
    return values.map((value) => (value === undefined ? undefined : decode(value)));
  }

  async _has(key: Key, options: PrivateOptions): Promise<boolean> {
    const db = this.#db;
    return translated('keys', () => db.has(key, readOptions(options)));
  }

  async _hasMany(keys: readonly Key[], options: PrivateOptions): Promise<boolean[]> {
    const db = this.#db;
    const read = readOptions(options);
    return translated('keys', () => keys.map((key) => db.has(key, read)));
  }

  _iterator(options: PrivateRangeOptions): SiltIterator {
    return new SiltIterator(this, this.#db, options);
  }

  _keys(options: PrivateRangeOptions): SiltKeyIterator {
    return new SiltKeyIterator(this, this.#db, options);
  }

  _values(options: PrivateRangeOptions): SiltValueIterator {
    return new SiltValueIterator(this, this.#db, options);
  }

  _snapshot(options: { owner: unknown }): SiltSnapshot {
    const db = this.#db;
    return new SiltSnapshot(options, translated('database', () => db.snapshot()));
  }

  // ---------------------------------------------------------------- additional methods

  /**
   * Compact the keys from `start` to `end` (both inclusive; classic-level's signature, whose
   * LevelDB also compacts whole files around the range): shadowed versions and tombstones go.
   */
  async compactRange(start: KDefault, end: KDefault, options?: { keyEncoding?: string }): Promise<void>;
  async compactRange<K>(start: K, end: K, options: { keyEncoding?: string }): Promise<void>;
  async compactRange(start: unknown, end: unknown, options?: { keyEncoding?: string }): Promise<void> {
    if (arguments.length < 2) throw new TypeError("The arguments 'start' and 'end' are required");
    if (this.status === 'opening') return this.deferAsync(() => this.compactRange(start, end, options as { keyEncoding?: string }));
    const db = this.#openDb('compactRange()');
    // Typed loosely: abstract-level's typings tie encode() to the database's default key type.
    const keyEncoding = (options?.keyEncoding === undefined ? this.keyEncoding() : this.keyEncoding(options.keyEncoding as 'utf8')) as unknown as {
      encode(key: unknown): Key;
    };
    const range = { start: keyEncoding.encode(start), end: keyEncoding.encode(end) };
    await translatedAsync('keys', () => db.compact(range));
  }

  /** Write every memtable to table files (the engine's `flush`). */
  async flush(): Promise<void> {
    if (this.status === 'opening') return this.deferAsync(() => this.flush());
    const db = this.#openDb('flush()');
    await translatedAsync('database', () => db.flush());
  }

  /** Make `dir` (missing or empty) a database holding the current content, hardlinking the tables. */
  async checkpoint(dir: string): Promise<void> {
    if (this.status === 'opening') return this.deferAsync(() => this.checkpoint(dir));
    const db = this.#openDb('checkpoint()');
    await translatedAsync('database', () => db.checkpoint(dir));
  }

  /** The engine's counters: levels, memtables, cache, compaction, stalls. Synchronous, so never deferred. */
  stats(): DbStats {
    const db = this.#openDb('stats()');
    return translated('database', () => db.stats());
  }

  #openDb(what: string): Db {
    if (this.status !== 'open') throw levelError(LevelCodes.DATABASE_NOT_OPEN, `Database is not open: cannot call ${what}`);
    return this.#db;
  }
}
