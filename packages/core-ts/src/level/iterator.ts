/**
 * SiltLevel's iterators: `iterator()`, `keys()` and `values()` on abstract-level's classes, over a
 * `Cursor`. `nextv(n)` and `all()` take their entries from the engine's synchronous iterator in one
 * go, and `next()` costs one engine step: no read-ahead cache is needed because nothing crosses a
 * thread or an addon boundary per call.
 */
import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level';
import type { Db, Entry } from '../db/index.js';
import { Cursor, type CursorProjection, type PrivateRangeOptions } from './cursor.js';
import { decoderOf, type Decoded, type Decoder } from './formats.js';

type Bound = string | Uint8Array;
type EntryOut = [Decoded | undefined, Decoded | undefined];

// abstract-level's typings describe the public constructor options, not the private ones it passes.
type Ctor<T> = new (db: unknown, options: PrivateRangeOptions) => T;
const EntryBase = AbstractIterator as unknown as Ctor<AbstractIterator<unknown, unknown, unknown>>;
const KeyBase = AbstractKeyIterator as unknown as Ctor<AbstractKeyIterator<unknown, unknown>>;
const ValueBase = AbstractValueIterator as unknown as Ctor<AbstractValueIterator<unknown, unknown, unknown>>;

/**
 * The cursor of a just-constructed iterator. abstract-level's constructor has already registered
 * the iterator with the database; if the cursor cannot open (a bound over the key limit, a closed
 * database), unregister it before the error reaches the caller.
 */
function openCursor(iterator: { readonly db: unknown }, engine: Db, options: PrivateRangeOptions, projection: CursorProjection): Cursor {
  try {
    return new Cursor(engine, options, projection);
  } catch (error) {
    (iterator.db as { detachResource(resource: unknown): void }).detachResource(iterator);
    throw error;
  }
}

/** Entries still allowed by the limit abstract-level counts. */
function remaining(iterator: { readonly limit: number; readonly count: number }): number {
  return iterator.limit - iterator.count;
}

function entryProjection(options: PrivateRangeOptions): CursorProjection {
  const keys = options.keys !== false;
  const values = options.values !== false;
  if (keys && values) return 'entries';
  return values ? 'values' : 'keys';
}

export class SiltIterator extends EntryBase {
  readonly #cursor: Cursor;
  readonly #decode: (item: Entry | Uint8Array) => EntryOut;

  /** @internal Made by `SiltLevel#_iterator`. */
  constructor(db: unknown, engine: Db, options: PrivateRangeOptions) {
    super(db, options);
    const projection = entryProjection(options);
    const key: Decoder = decoderOf(options.keyEncoding);
    const value: Decoder = decoderOf(options.valueEncoding);
    this.#cursor = openCursor(this, engine, options, projection);
    // The engine hands out a fresh [key, value] per entry: decode it in place.
    if (projection === 'entries') {
      this.#decode = (item) => {
        const entry = item as unknown as EntryOut;
        entry[0] = key((item as Entry)[0]);
        entry[1] = value((item as Entry)[1]);
        return entry;
      };
    }
    else if (projection === 'keys') this.#decode = options.keys === false ? () => [undefined, undefined] : (item) => [key(item as Uint8Array), undefined];
    else this.#decode = (item) => [undefined, value(item as Uint8Array)];
  }

  async _next(): Promise<EntryOut | undefined> {
    const item = await this.#cursor.readOne();
    return item === undefined ? undefined : this.#decode(item);
  }

  async _nextv(size: number): Promise<EntryOut[]> {
    return (await this.#cursor.read(size)).map(this.#decode);
  }

  async _all(): Promise<EntryOut[]> {
    return (await this.#cursor.read(remaining(this))).map(this.#decode);
  }

  _seek(target: Bound): void {
    this.#cursor.seek(target);
  }

  async _close(): Promise<void> {
    this.#cursor.close();
  }
}

/**
 * `keys()` and `values()` iterators differ only in their abstract-level base class and in which
 * field of the entry they read: one class body serves both.
 */
function singleFieldIterator<T extends object>(Base: Ctor<T>, field: 'keys' | 'values') {
  return class SingleFieldIterator extends (Base as Ctor<object>) {
    readonly #cursor: Cursor;
    readonly #decode: Decoder;

    constructor(db: unknown, engine: Db, options: PrivateRangeOptions) {
      super(db, options);
      this.#decode = decoderOf(field === 'keys' ? options.keyEncoding : options.valueEncoding);
      this.#cursor = openCursor(this as unknown as { readonly db: unknown }, engine, options, field);
    }

    async _next(): Promise<Decoded | undefined> {
      const item = await this.#cursor.readOne();
      return item === undefined ? undefined : this.#decode(item as Uint8Array);
    }

    async _nextv(size: number): Promise<Decoded[]> {
      return (await this.#cursor.read(size)).map((item) => this.#decode(item as Uint8Array));
    }

    async _all(): Promise<Decoded[]> {
      const self = this as unknown as { readonly limit: number; readonly count: number };
      return (await this.#cursor.read(remaining(self))).map((item) => this.#decode(item as Uint8Array));
    }

    _seek(target: Bound): void {
      this.#cursor.seek(target);
    }

    async _close(): Promise<void> {
      this.#cursor.close();
    }
  } as unknown as new (db: unknown, engine: Db, options: PrivateRangeOptions) => T;
}

/** Made by `SiltLevel#_keys`. */
export const SiltKeyIterator = singleFieldIterator(KeyBase, 'keys');
export type SiltKeyIterator = AbstractKeyIterator<unknown, unknown>;

/** Made by `SiltLevel#_values`. */
export const SiltValueIterator = singleFieldIterator(ValueBase, 'values');
export type SiltValueIterator = AbstractValueIterator<unknown, unknown, unknown>;
