/**
 * classic-level code on SiltLevel: the same seeded history of abstract-level calls — put, del,
 * array and chained batches, clear, get/getMany/getSync/has/hasMany, iterators, keys and values
 * over random ranges (reverse, limit, seek), explicit snapshots, sublevels, compactRange and
 * reopening — runs against classic-level (LevelDB, from its prebuilt binary) and SiltLevel, with
 * utf8, json, buffer and view encodings and binary keys (including the empty key and keys that
 * are prefixes of each other). Every read must return the same thing on both.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { SiltLevel } from '../../src/level.js';
import { rng, tempDir } from '../db-helpers.js';

interface LevelIterator<T> {
  next(): Promise<T | undefined>;
  nextv(size: number): Promise<T[]>;
  all(): Promise<T[]>;
  seek(target: unknown): void;
  close(): Promise<void>;
}

/**
 * The abstract-level API as the history calls it on both classes, with encodings chosen per call
 * (abstract-level's own typings tie each call to the database's default key and value types).
 */
interface AnyDb {
  open(): Promise<void>;
  close(): Promise<void>;
  put(key: unknown, value: unknown, options?: object): Promise<void>;
  del(key: unknown, options?: object): Promise<void>;
  batch(operations: readonly object[], options?: object): Promise<void>;
  batch(): { put(key: unknown, value: unknown, options?: object): unknown; write(): Promise<void> };
  get(key: unknown, options?: object): Promise<unknown>;
  getSync(key: unknown, options?: object): unknown;
  getMany(keys: readonly unknown[], options?: object): Promise<unknown[]>;
  has(key: unknown, options?: object): Promise<boolean>;
  hasMany(keys: readonly unknown[], options?: object): Promise<boolean[]>;
  clear(options?: object): Promise<void>;
  iterator(options?: object): LevelIterator<[unknown, unknown]>;
  keys(options?: object): LevelIterator<unknown>;
  values(options?: object): LevelIterator<unknown>;
  snapshot(): { close(): Promise<void> };
  sublevel(name: string, options: object): AnyDb;
  compactRange(start: unknown, end: unknown): Promise<void>;
}

/** Both databases, called the same way; `both` returns both results for comparison. */
class Pair {
  constructor(
    public classic: AnyDb,
    public silt: AnyDb,
  ) {}

  async both<T>(fn: (db: AnyDb) => Promise<T> | T): Promise<[T, T]> {
    const a = await fn(this.classic);
    const b = await fn(this.silt);
    return [a, b];
  }

  async same<T>(what: string, fn: (db: AnyDb) => Promise<T> | T): Promise<T> {
    const [a, b] = await this.both(fn);
    assert.deepEqual(normalize(b), normalize(a), what);
    return a;
  }
}

/** Buffers and Uint8Arrays compare by bytes and kind (so a view that should be a Buffer is caught). */
function normalize(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { buffer: value.toString('hex') };
  if (value instanceof Uint8Array) return { view: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(normalize);
  return value;
}

const ALPHABET = ['', 'a', 'ab', 'abc', 'b', 'ba', 'z', '\u00e9', '\u4e2d', 'a\u0000b', '\u{1f600}', '\ufeffbom'];

function makeKeys(random: () => number): { strings: string[]; bytes: Buffer[] } {
  const strings = new Set<string>(ALPHABET);
  while (strings.size < 60) {
    const length = 1 + Math.floor(random() * 6);
    let key = '';
    for (let i = 0; i < length; i++) key += String.fromCharCode(97 + Math.floor(random() * 5));
    strings.add(key);
  }
  const bytes = new Map<string, Buffer>();
  bytes.set('', Buffer.alloc(0));
  bytes.set('00', Buffer.from([0]));
  bytes.set('ff', Buffer.from([0xff]));
  bytes.set('ff00', Buffer.from([0xff, 0]));
  while (bytes.size < 40) {
    const length = 1 + Math.floor(random() * 4);
    const key = Buffer.alloc(length);
    for (let i = 0; i < length; i++) key[i] = [0, 1, 0x7f, 0x80, 0xfe, 0xff][Math.floor(random() * 6)]!;
    bytes.set(key.toString('hex'), key);
  }
  return { strings: [...strings], bytes: [...bytes.values()] };
}

test('the same history gives the same reads on classic-level and SiltLevel', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t, 'silt-level-parity-');
  const random = rng(20261121);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const { strings, bytes } = makeKeys(random);
  const open = (): Pair =>
    new Pair(
      new ClassicLevel(join(dir, 'classic')) as unknown as AnyDb,
      // Small memtables: reads span memtables and tables; values of 16 bytes and more (about half
      // of them) live in the value log.
      new SiltLevel(join(dir, 'silt'), { memtableBytes: 4096, valueThreshold: 16 }) as unknown as AnyDb,
    );
  let pair = open();
  await pair.both((db) => db.open());

  // Sublevels, as classic-level code uses them: json values, and binary keys.
  const docs = (db: AnyDb) => db.sublevel('docs', { valueEncoding: 'json' });
  const blobs = (db: AnyDb) => db.sublevel('blobs', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const snapshots: { classic: unknown; silt: unknown; at: number }[] = [];

  const randomRange = (keys: readonly (string | Buffer)[]) => {
    const range: Record<string, unknown> = {};
    const lower = random();
    if (lower < 0.3) range.gt = pick(keys);
    else if (lower < 0.6) range.gte = pick(keys);
    const upper = random();
    if (upper < 0.3) range.lt = pick(keys);
    else if (upper < 0.6) range.lte = pick(keys);
    if (random() < 0.4) range.reverse = true;
    if (random() < 0.4) range.limit = Math.floor(random() * 12);
    return range;
  };

  for (let step = 0; step < 1200; step++) {
    const roll = random();
    if (roll < 0.25) {
      const key = pick(strings);
      const value = `v${step}`;
      await pair.both((db) => db.put(key, value));
    } else if (roll < 0.32) {
      const key = pick(strings);
      await pair.both((db) => db.del(key));
    } else if (roll < 0.4) {
      const ops = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) =>
        random() < 0.75 ? { type: 'put' as const, key: pick(strings), value: `b${step}.${i}` } : { type: 'del' as const, key: pick(strings) },
      );
      await pair.both((db) => db.batch(ops));
    } else if (roll < 0.45) {
      const key = pick(bytes);
      const value = Buffer.from(`blob${step}`);
      const del = random() < 0.3;
      const other = pick(strings);
      await pair.both((db) => {
        const chained = db.batch();
        chained.put(other, `chained${step}`);
        if (del) blobs(db).del(key);
        else chained.put(key, value, { sublevel: blobs(db) });
        return chained.write();
      });
    } else if (roll < 0.5) {
      const key = pick(strings);
      const doc = { step, tags: [pick(strings)], nested: { ok: random() < 0.5 } };
      await pair.both((db) => docs(db).put(key, doc));
    } else if (roll < 0.55) {
      const range = randomRange(strings);
      await pair.both((db) => db.clear(range));
    } else if (roll < 0.62) {
      const key = pick(strings);
      await pair.same(`get ${JSON.stringify(key)}`, (db) => db.get(key));
      await pair.same(`getSync ${JSON.stringify(key)}`, (db) => db.getSync(key));
      await pair.same(`has ${JSON.stringify(key)}`, (db) => db.has(key));
      await pair.same(`get buffer ${JSON.stringify(key)}`, (db) => db.get(key, { valueEncoding: 'buffer' }));
      await pair.same(`get view ${JSON.stringify(key)}`, (db) => db.get(key, { keyEncoding: 'view', valueEncoding: 'view' }));
    } else if (roll < 0.66) {
      const keys = Array.from({ length: 6 }, () => pick(strings));
      await pair.same('getMany', (db) => db.getMany(keys));
      await pair.same('hasMany', (db) => db.hasMany(keys));
      await pair.same('docs getMany', (db) => docs(db).getMany(keys));
    } else if (roll < 0.78) {
      const range = randomRange(strings);
      const what = JSON.stringify(range);
      await pair.same(`iterator ${what}`, (db) => db.iterator(range).all());
      await pair.same(`keys buffer ${what}`, (db) => db.keys({ ...range, keyEncoding: 'buffer' }).all());
      await pair.same(`values ${what}`, (db) => db.values(range).all());
      await pair.same(`iterator nextv ${what}`, async (db) => {
        const it = db.iterator(range);
        const out = [await it.nextv(3), await it.nextv(1000), await it.next()];
        await it.close();
        return out;
      });
    } else if (roll < 0.82) {
      const range = randomRange(strings);
      const target = pick(strings);
      await pair.same(`seek ${target} in ${JSON.stringify(range)}`, async (db) => {
        const it = db.iterator(range);
        const first = await it.next();
        it.seek(target);
        const after = await it.nextv(4);
        const rest = await it.all();
        return [first, after, rest];
      });
    } else if (roll < 0.86) {
      const range = randomRange(bytes);
      await pair.same(`blobs ${JSON.stringify(range)}`, (db) => blobs(db).iterator(range).all());
      await pair.same('docs all', (db) => docs(db).iterator().all());
    } else if (roll < 0.9) {
      const [classic, silt] = await pair.both((db) => db.snapshot());
      snapshots.push({ classic, silt, at: step });
    } else if (roll < 0.94 && snapshots.length > 0) {
      const snap = pick(snapshots);
      const key = pick(strings);
      const range = randomRange(strings);
      for (const [name, fn] of [
        ['get', (db: AnyDb, snapshot: never) => db.get(key, { snapshot })],
        ['iterator', (db: AnyDb, snapshot: never) => db.iterator({ ...range, snapshot }).all()],
        ['docs', (db: AnyDb, snapshot: never) => docs(db).iterator({ snapshot }).all()],
      ] as const) {
        const a = await fn(pair.classic, snap.classic as never);
        const b = await fn(pair.silt, snap.silt as never);
        assert.deepEqual(normalize(b), normalize(a), `snapshot of step ${snap.at}: ${name}`);
      }
    } else if (roll < 0.95) {
      await pair.both((db) => db.compactRange('a', 'z'));
    } else if (roll < 0.955) {
      // Reopen: snapshots end with the database.
      snapshots.length = 0;
      await pair.both((db) => db.close());
      pair = open();
      await pair.both((db) => db.open());
    }
  }
  await pair.same('everything, as utf8', (db) => db.iterator().all());
  await pair.same('everything, as buffers', (db) => db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }).all());
  await pair.both((db) => db.close());
});
