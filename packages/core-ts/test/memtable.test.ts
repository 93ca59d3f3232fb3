/**
 * The memtable against a plain reference model: random histories of puts and deletes with many
 * versions per key, point reads at random snapshots, and iterators (forward, reverse, bounds, seek,
 * every version or only the newest) interleaved with writes, so the incremental sorted view (view +
 * sorted tail, rebuilt past a fraction) is exercised in all its states. Keys are random bytes with
 * shared prefixes, so byte order, prefix order and JS string order disagree often.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { accel, tsAccelerator, type Accelerator } from '@siltdb/bindings';
import { SeededRandom } from '../src/vfs/index.js';
import { compareUserKeys, encodeInternalKey, Kind, MAX_KEY_BYTES, toUserKey } from '../src/keys/internal-key.js';
import { ENTRY_OVERHEAD_BYTES, Memtable, type MemtableIteratorOptions } from '../src/memtable/index.js';

interface RefEntry {
  readonly key: Uint8Array;
  readonly seq: number;
  readonly kind: Kind;
  readonly value: Uint8Array;
}

/** A random integer in [0, n). */
function below(random: SeededRandom, n: number): number {
  return random.int(0, n - 1);
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Internal-key order: user key ascending, then seq descending. */
function internalOrder(a: RefEntry, b: RefEntry): number {
  return compareUserKeys(a.key, b.key) || b.seq - a.seq;
}

class Reference {
  readonly entries: RefEntry[] = [];

  add(entry: RefEntry): void {
    this.entries.push(entry);
  }

  get(key: Uint8Array, snapshot: number): RefEntry | undefined {
    let best: RefEntry | undefined;
    for (const e of this.entries) if (e.seq <= snapshot && compareUserKeys(e.key, key) === 0 && (best === undefined || e.seq > best.seq)) best = e;
    return best;
  }

  /** What an iterator with `options`, created when the reference held `count` entries, yields. */
  scan(count: number, options: MemtableIteratorOptions, seekTo?: Uint8Array): RefEntry[] {
    const snapshot = options.snapshotSeq ?? Number.MAX_SAFE_INTEGER;
    let list = this.entries.slice(0, count).filter((e) => e.seq <= snapshot && inBounds(e.key, options));
    list.sort(internalOrder);
    if (options.newestOnly) list = list.filter((e, i) => i === 0 || compareUserKeys(list[i - 1]!.key, e.key) !== 0);
    if (options.reverse) list.reverse();
    if (seekTo !== undefined) {
      const at = list.findIndex((e) => (options.reverse ? compareUserKeys(e.key, seekTo) <= 0 : compareUserKeys(e.key, seekTo) >= 0));
      list = at < 0 ? [] : list.slice(at);
    }
    return list;
  }
}

function inBounds(key: Uint8Array, o: MemtableIteratorOptions): boolean {
  if (o.gt !== undefined && compareUserKeys(key, o.gt) <= 0) return false;
  if (o.gte !== undefined && compareUserKeys(key, o.gte) < 0) return false;
  if (o.lt !== undefined && compareUserKeys(key, o.lt) >= 0) return false;
  if (o.lte !== undefined && compareUserKeys(key, o.lte) > 0) return false;
  return true;
}

function describeEntry(e: { key?: Uint8Array; userKey?: Uint8Array; seq: number; kind: Kind; value: Uint8Array }): string {
  return `${hex(e.userKey ?? e.key!)}@${e.seq}:${e.kind}:${hex(e.value)}`;
}

/** A pool of keys sharing prefixes (and including the empty key), so prefix order matters. */
function keyPool(random: SeededRandom, size: number): Uint8Array[] {
  const pool: Uint8Array[] = [new Uint8Array(0)];
  while (pool.length < size) {
    const base = below(random, 3) === 0 && pool.length > 1 ? pool[below(random, pool.length)]! : new Uint8Array(0);
    const extra = new Uint8Array(1 + below(random, 4));
    for (let i = 0; i < extra.length; i++) extra[i] = below(random, 4) === 0 ? 0xff : below(random, 256);
    const key = new Uint8Array(base.length + extra.length);
    key.set(base);
    key.set(extra, base.length);
    if (!pool.some((k) => compareUserKeys(k, key) === 0)) pool.push(key);
  }
  return pool;
}

function randomBytes(random: SeededRandom, max: number): Uint8Array {
  const out = new Uint8Array(below(random, max + 1));
  for (let i = 0; i < out.length; i++) out[i] = below(random, 256);
  return out;
}

function randomOptions(random: SeededRandom, pool: Uint8Array[], maxSeq: number): MemtableIteratorOptions {
  const pick = () => pool[below(random, pool.length)]!;
  const options: { -readonly [K in keyof MemtableIteratorOptions]: MemtableIteratorOptions[K] } = {};
  if (below(random, 2) === 0) options.snapshotSeq = below(random, maxSeq + 2);
  const lower = below(random, 3);
  if (lower === 1) options.gt = pick();
  if (lower === 2) options.gte = pick();
  const upper = below(random, 3);
  if (upper === 1) options.lt = pick();
  if (upper === 2) options.lte = pick();
  options.reverse = below(random, 2) === 0;
  options.newestOnly = below(random, 2) === 0;
  return options;
}

function collect(memtable: Memtable, options: MemtableIteratorOptions, seekTo?: Uint8Array): string[] {
  const it = memtable.iterator(options);
  const out: string[] = [];
  for (let ok = seekTo === undefined ? it.seekToFirst() : it.seek(seekTo); ok; ok = it.next()) {
    assert.deepEqual(it.key, encodeInternalKey(it.userKey, it.seq));
    out.push(describeEntry({ userKey: it.userKey, seq: it.seq, kind: it.kind, value: it.value }));
  }
  return out;
}

const ACCELERATORS: readonly [string, Accelerator][] = [
  [`accel (${accel.kind})`, accel],
  ['ts', tsAccelerator],
];

describe('memtable model', () => {
  for (const [name, accelerator] of ACCELERATORS) {
    for (const seed of [1, 2, 3, 4]) {
      test(`${name}, seed ${seed}: gets and iterators at snapshots match the reference as writes interleave`, () => {
        const random = new SeededRandom(seed);
        const pool = keyPool(random, 12 + seed * 10);
        const memtable = new Memtable({ accelerator });
        const reference = new Reference();
        let seq = 0;
        /** Iterators created earlier, checked later: they must not see later writes. */
        const pending: { options: MemtableIteratorOptions; count: number; it: ReturnType<Memtable['iterator']> }[] = [];
        for (let step = 0; step < 1500; step++) {
          const action = below(random, 20);
          if (action < 13) {
            seq += 1 + (below(random, 4) === 0 ? below(random, 5) : 0);
            const key = pool[below(random, pool.length)]!;
            const kind = below(random, 4) === 0 ? Kind.Delete : below(random, 10) === 0 ? Kind.Pointer : Kind.Put;
            const value = kind === Kind.Delete ? new Uint8Array(0) : randomBytes(random, 40);
            memtable.add(seq, kind, key, value);
            reference.add({ key: key.slice(), seq, kind, value: value.slice() });
          } else if (action < 16) {
            const key = below(random, 10) === 0 ? randomBytes(random, 3) : pool[below(random, pool.length)]!;
            const snapshot = below(random, 3) === 0 ? Number.MAX_SAFE_INTEGER : below(random, seq + 2);
            const got = memtable.get(key, snapshot);
            const want = reference.get(key, snapshot);
            assert.equal(got && describeEntry({ key, ...got }), want && describeEntry(want), `get ${hex(key)} at ${snapshot}`);
          } else if (action < 19) {
            const options = randomOptions(random, pool, seq);
            const seekTo = below(random, 3) === 0 ? pool[below(random, pool.length)]! : undefined;
            const want = reference.scan(reference.entries.length, options, seekTo).map(describeEntry);
            assert.deepEqual(collect(memtable, options, seekTo), want, `iterator ${JSON.stringify(options)} seek ${seekTo && hex(seekTo)}`);
            if (below(random, 4) === 0) pending.push({ options, count: reference.entries.length, it: memtable.iterator(options) });
          } else {
            for (const { options, count, it } of pending.splice(0)) {
              const got = [...it].map((e) => describeEntry(e));
              assert.deepEqual(got, reference.scan(count, options).map(describeEntry), 'an iterator sees the memtable as it was when created');
            }
          }
        }
        const stats = memtable.viewStats;
        assert.ok(stats.rebuilds > 0 && stats.tailSorts > 0, `both view paths ran: ${JSON.stringify(stats)}`);
        assert.equal(memtable.entryCount, reference.entries.length);
        assert.equal(memtable.keyCount, new Set(reference.entries.map((e) => hex(e.key))).size);
        assert.equal(memtable.minSeq, reference.entries[0]!.seq);
        assert.equal(memtable.maxSeq, seq);
      });
    }
  }

  test('a large memtable: view rebuilds and tail merges stay in internal-key order', () => {
    const random = new SeededRandom(99);
    const memtable = new Memtable();
    const reference = new Reference();
    const keys = keyPool(random, 3000);
    let seq = 0;
    for (let round = 0; round < 6; round++) {
      const adds = round === 0 ? 5000 : 200 + below(random, 1500);
      for (let i = 0; i < adds; i++) {
        const key = keys[below(random, keys.length)]!;
        const value = randomBytes(random, 8);
        memtable.add(++seq, Kind.Put, key, value);
        reference.add({ key, seq, kind: Kind.Put, value });
      }
      for (const reverse of [false, true]) {
        const options = { reverse };
        assert.deepEqual(collect(memtable, options), reference.scan(reference.entries.length, options).map(describeEntry));
      }
    }
    assert.ok(memtable.viewStats.rebuilds >= 2, JSON.stringify(memtable.viewStats));
    assert.ok(memtable.viewStats.tailSorts >= 1, JSON.stringify(memtable.viewStats));
  });
});

describe('memtable basics', () => {
  test('byte order, not JS string order: U+1F600 sorts after U+FF61 in UTF-8', () => {
    const memtable = new Memtable();
    const words = ['\u{1F600}', '\uFF61', 'a', 'ab', '', 'b', '\u00e9', '\u0080'];
    words.forEach((word, i) => memtable.add(i + 1, Kind.Put, toUserKey(word), toUserKey(`v${i}`)));
    // JS compares UTF-16 code units: '\u{1F600}' (D83D DE00) < '\uFF61'; UTF-8 bytes say F0 > EF.
    assert.ok('\u{1F600}' < '\uFF61');
    const order = [...memtable.iterator()].map((e) => Buffer.from(e.userKey).toString('utf8'));
    assert.deepEqual(order, ['', 'a', 'ab', 'b', '\u0080', '\u00e9', '\uFF61', '\u{1F600}']);
    const reverse = [...memtable.iterator({ reverse: true })].map((e) => Buffer.from(e.userKey).toString('utf8'));
    assert.deepEqual(reverse, [...order].reverse());
    const it = memtable.iterator({ gt: toUserKey('\uFF61') });
    assert.equal(it.seekToFirst(), true);
    assert.equal(Buffer.from(it.userKey).toString('utf8'), '\u{1F600}');
    assert.equal(it.next(), false);
  });

  test('versions: get walks back to the newest version at or below the snapshot', () => {
    const memtable = new Memtable();
    const key = toUserKey('k');
    memtable.add(3, Kind.Put, key, toUserKey('v3'));
    memtable.add(5, Kind.Delete, key, new Uint8Array(0));
    memtable.add(9, Kind.Put, key, toUserKey('v9'));
    assert.equal(memtable.get(key, 2), undefined);
    assert.deepEqual(memtable.get(key, 4), { seq: 3, kind: Kind.Put, value: toUserKey('v3') });
    assert.deepEqual(memtable.get(key, 8), { seq: 5, kind: Kind.Delete, value: new Uint8Array(0) });
    assert.deepEqual(memtable.get(key), { seq: 9, kind: Kind.Put, value: toUserKey('v9') });
    assert.equal(memtable.get(toUserKey('other')), undefined);
    assert.deepEqual(
      [...memtable.iterator()].map((e) => e.seq),
      [9, 5, 3],
    );
    assert.deepEqual(
      [...memtable.iterator({ reverse: true })].map((e) => e.seq),
      [3, 5, 9],
    );
    assert.deepEqual(
      [...memtable.iterator({ newestOnly: true, snapshotSeq: 6 })].map((e) => [e.seq, e.kind]),
      [[5, Kind.Delete]],
    );
  });

  test('add rejects bad input with INVALID_ARGUMENT and changes nothing', () => {
    const memtable = new Memtable();
    memtable.add(10, Kind.Put, toUserKey('a'), toUserKey('1'));
    const bad: [string, () => void][] = [
      ['seq not increasing', () => memtable.add(10, Kind.Put, toUserKey('b'), new Uint8Array(0))],
      ['seq not an integer', () => memtable.add(10.5, Kind.Put, toUserKey('b'), new Uint8Array(0))],
      ['seq past 2^53 - 1', () => memtable.add(2 ** 53, Kind.Put, toUserKey('b'), new Uint8Array(0))],
      ['unknown kind', () => memtable.add(11, 7 as Kind, toUserKey('b'), new Uint8Array(0))],
      ['string key', () => memtable.add(11, Kind.Put, 'b' as unknown as Uint8Array, new Uint8Array(0))],
      ['null value', () => memtable.add(11, Kind.Put, toUserKey('b'), null as unknown as Uint8Array)],
      ['delete with a value', () => memtable.add(11, Kind.Delete, toUserKey('b'), new Uint8Array(1))],
      ['oversized key', () => memtable.add(11, Kind.Put, new Uint8Array(MAX_KEY_BYTES + 1), new Uint8Array(0))],
    ];
    for (const [what, call] of bad) assert.throws(call, { code: 'INVALID_ARGUMENT' }, what);
    assert.equal(memtable.entryCount, 1);
    assert.equal(memtable.maxSeq, 10);
    assert.throws(() => memtable.iterator({ gt: toUserKey('a'), gte: toUserKey('a') }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => memtable.iterator({ snapshotSeq: -1 }), { code: 'INVALID_ARGUMENT' });
    const it = memtable.iterator();
    assert.throws(() => it.userKey, { code: 'INVALID_ARGUMENT' }, 'reading an unpositioned iterator');
  });

  test('freeze: writes fail with CLOSED, reads and iterators keep working', () => {
    const memtable = new Memtable();
    memtable.add(1, Kind.Put, toUserKey('a'), toUserKey('x'));
    memtable.freeze();
    assert.equal(memtable.frozen, true);
    assert.throws(() => memtable.add(2, Kind.Put, toUserKey('b'), toUserKey('y')), { code: 'CLOSED' });
    assert.deepEqual(memtable.get(toUserKey('a'))?.value, toUserKey('x'));
    assert.equal([...memtable.iterator()].length, 1);
  });

  test('approximateBytes counts what the arrays really hold once they have grown', () => {
    const memtable = new Memtable();
    const value = new Uint8Array(100);
    const key = new Uint8Array(16);
    const view = new DataView(key.buffer);
    let perEntryEstimate = 0;
    for (let i = 0; i < 100_000; i++) {
      view.setUint32(12, i * 2654435761);
      memtable.add(i + 1, Kind.Put, key, value);
      perEntryEstimate += key.length + value.length + ENTRY_OVERHEAD_BYTES;
    }
    // 100k keys: fields grown to ≥ 100k entries of 37 bytes, key table ≥ 2 slots of 8 bytes a key.
    const held = 100_000 * 116 + 37 * 100_000 + 16 * 100_000;
    assert.ok(memtable.approximateBytes >= held, `${memtable.approximateBytes} < ${held}`);
    assert.ok(memtable.approximateBytes > perEntryEstimate);
    // …and not much more: at most the growth slack (fields 1.5×, key table 2×).
    assert.ok(memtable.approximateBytes <= 100_000 * 116 + 1.5 * 37 * 100_001 + 32 * 100_000, String(memtable.approximateBytes));
  });

  test('sizes and counters; large keys and values; views stay valid as the arena grows', () => {
    const memtable = new Memtable();
    assert.equal(memtable.minSeq, 0);
    assert.equal(memtable.maxSeq, 0);
    assert.equal([...memtable.iterator()].length, 0);
    const bigKey = new Uint8Array(MAX_KEY_BYTES).fill(7);
    const bigValue = new Uint8Array(3 << 20).map((_, i) => i & 0xff);
    memtable.add(1, Kind.Put, bigKey, bigValue);
    const firstValue = memtable.get(bigKey)!.value;
    let expectedBytes = bigKey.length + bigValue.length + ENTRY_OVERHEAD_BYTES;
    for (let i = 0; i < 20000; i++) {
      const key = toUserKey(`key-${i % 5000}`);
      const value = toUserKey(`value-${i}`);
      memtable.add(i + 2, Kind.Put, key, value);
      expectedBytes += key.length + value.length + ENTRY_OVERHEAD_BYTES;
    }
    // Never less than the per-entry estimate; more once the field arrays and key table have grown.
    assert.ok(memtable.approximateBytes >= expectedBytes, `${memtable.approximateBytes} < ${expectedBytes}`);
    assert.equal(memtable.entryCount, 20001);
    assert.equal(memtable.keyCount, 5001);
    assert.equal(memtable.minSeq, 1);
    assert.equal(memtable.maxSeq, 20001);
    assert.deepEqual(firstValue, bigValue);
    assert.deepEqual(memtable.get(bigKey)!.value, bigValue);
    assert.deepEqual(memtable.get(toUserKey('key-17'))!.value, toUserKey('value-15017'));
    // key-17 was written at seqs 19, 5019, 10019 and 15019.
    assert.deepEqual(memtable.get(toUserKey('key-17'), 5018)!.value, toUserKey('value-17'));
    assert.equal(memtable.get(toUserKey('key-17'), 18), undefined);
    const it = memtable.iterator({ lte: bigKey, newestOnly: true }); // 'key-…' sorts after 0x07…
    assert.equal(it.seekToFirst(), true);
    assert.deepEqual(it.userKey, bigKey);
    assert.equal(it.next(), false);
  });

  test('the same history sorts identically with the native and the TypeScript accelerator', () => {
    const build = (accelerator: Accelerator): string[] => {
      const random = new SeededRandom(7);
      const memtable = new Memtable({ accelerator });
      for (let seq = 1; seq <= 3000; seq++) memtable.add(seq, Kind.Put, randomBytes(random, 6), randomBytes(random, 4));
      return [...memtable.iterator()].map((e) => describeEntry(e));
    };
    assert.deepEqual(build(accel), build(tsAccelerator));
  });
});
