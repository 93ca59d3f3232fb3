/**
 * Table files: builder → reader round trips checked against a sorted in-memory reference (point
 * lookups at many snapshots, iterators in both directions with seeks and bounds, compaction reads),
 * the bloom filter's hash and false-positive rate, the block cache, input validation, and a table
 * written by one accelerator read by the other.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { accel, loadNativeAccelerator, tsAccelerator, type Accelerator } from '@siltdb/bindings';
import { compareInternalKeys, compareUserKeys, encodeInternalKey, Kind, MAX_SEQ, writeTrailer } from '../src/keys/internal-key.js';
import {
  BlockCache,
  BloomFilter,
  BloomFilterBuilder,
  murmur3,
  probesFor,
  TableBuilder,
  TableReader,
  type StoredBlock,
  type TableBuilderOptions,
  type TableIteratorOptions,
  type TableMeta,
} from '../src/table/index.js';
import { NodeVfs } from '../src/vfs/index.js';
import { rejectsWithCode, tempDir } from './helpers/log-fixtures.js';
import { rng } from './db-helpers.js';

const vfs = new NodeVfs();
const utf8 = new TextEncoder();
const bytes = (s: string): Uint8Array => utf8.encode(s);

interface RefEntry {
  readonly userKey: Uint8Array;
  readonly seq: number;
  readonly kind: Kind;
  readonly value: Uint8Array;
  readonly key: Uint8Array;
}

/**
 * `count` entries over about count/2 user keys (1–3 versions each, distinct seqs, ~15 % tombstones,
 * a few POINTER entries), in internal-key order. Keys vary in length and share prefixes, so prefix
 * compression and the "shorter prefix first" rule are both exercised.
 */
function makeEntries(count: number, seed: number): RefEntry[] {
  const random = rng(seed);
  const users = new Map<string, Uint8Array>();
  while (users.size < Math.ceil(count / 2)) {
    const n = Math.floor(random() * count * 4);
    const text = `k${n.toString(36)}${random() < 0.2 ? '' : '/' + 'x'.repeat(Math.floor(random() * 6))}`;
    users.set(text, bytes(text));
  }
  const userKeys = [...users.values()];
  const entries: RefEntry[] = [];
  let seq = 1;
  // Shuffle seqs across keys: versions of one key get increasing but scattered seqs.
  const order: number[] = [];
  for (let i = 0; entries.length + order.length < count; i = (i + 1) % userKeys.length) {
    order.push(i);
    if (order.length + entries.length >= count) break;
  }
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const u of order) {
    const userKey = userKeys[u]!;
    const s = seq++;
    const roll = random();
    const kind = roll < 0.15 ? Kind.Delete : roll < 0.18 ? Kind.Pointer : Kind.Put;
    const value = kind === Kind.Delete ? new Uint8Array(0) : bytes(`v${s}:${'#'.repeat(Math.floor(random() * 40))}`);
    entries.push({ userKey, seq: s, kind, value, key: encodeInternalKey(userKey, s) });
  }
  entries.sort((a, b) => compareInternalKeys(a.key, b.key));
  return entries;
}

async function buildTable(
  path: string,
  entries: readonly RefEntry[],
  options: Partial<TableBuilderOptions> = {},
): Promise<TableMeta> {
  const builder = await TableBuilder.create({ vfs, path, fileNumber: 7, ...options });
  for (const e of entries) {
    const wait = builder.add(e.key, e.kind, e.value);
    if (wait !== undefined) await wait;
  }
  return builder.finish();
}

/** The reference answer to get(userKey, S): the newest version with seq ≤ S. */
function refGet(entries: readonly RefEntry[], userKey: Uint8Array, snapshot: number): RefEntry | undefined {
  let low = 0;
  let high = entries.length;
  const target = encodeInternalKey(userKey, snapshot);
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareInternalKeys(entries[mid]!.key, target) < 0) low = mid + 1;
    else high = mid;
  }
  const found = entries[low];
  return found !== undefined && compareUserKeys(found.userKey, userKey) === 0 ? found : undefined;
}

function checkGets(reader: TableReader, entries: readonly RefEntry[], random: () => number, probes: number): void {
  const maxSeq = entries.reduce((m, e) => Math.max(m, e.seq), 0);
  for (let p = 0; p < probes; p++) {
    const e = entries[Math.floor(random() * entries.length)]!;
    const snapshots = [MAX_SEQ, e.seq, e.seq - 1, Math.floor(random() * (maxSeq + 2)), 0];
    for (const snapshot of snapshots) {
      if (snapshot < 0) continue;
      const expected = refGet(entries, e.userKey, snapshot);
      const got = reader.get(e.userKey, snapshot);
      if (expected === undefined) {
        assert.equal(got, undefined, `get(${String(e.userKey)}, ${snapshot})`);
      } else {
        assert.ok(got !== undefined, `get(${Buffer.from(e.userKey).toString()}, ${snapshot}) found nothing`);
        assert.equal(got.seq, expected.seq);
        assert.equal(got.kind, expected.kind);
        assert.deepEqual(Buffer.from(got.value), Buffer.from(expected.value));
      }
    }
  }
}

function collect(reader: TableReader, options: TableIteratorOptions, seek?: (it: ReturnType<TableReader['iterator']>) => void): string[] {
  const it = reader.iterator(options);
  if (seek) seek(it);
  else it.seekToFirst();
  const out: string[] = [];
  for (; it.valid; it.next()) out.push(`${Buffer.from(it.userKey).toString()}@${it.seq}:${it.kind}:${Buffer.from(it.value).toString()}`);
  return out;
}

const show = (e: RefEntry): string => `${Buffer.from(e.userKey).toString()}@${e.seq}:${e.kind}:${Buffer.from(e.value).toString()}`;

function inBounds(e: RefEntry, o: TableIteratorOptions): boolean {
  if (o.gt && compareUserKeys(e.userKey, o.gt) <= 0) return false;
  if (o.gte && compareUserKeys(e.userKey, o.gte) < 0) return false;
  if (o.lt && compareUserKeys(e.userKey, o.lt) >= 0) return false;
  if (o.lte && compareUserKeys(e.userKey, o.lte) > 0) return false;
  return true;
}

function checkIterators(reader: TableReader, entries: readonly RefEntry[], random: () => number, rounds: number): void {
  assert.deepEqual(collect(reader, {}), entries.map(show));
  assert.deepEqual(collect(reader, { reverse: true }), entries.map(show).reverse());
  const pick = (): Uint8Array => {
    const roll = random();
    if (roll < 0.7) return entries[Math.floor(random() * entries.length)]!.userKey;
    // Keys between and around the stored ones.
    return bytes(`k${Math.floor(random() * entries.length * 8).toString(36)}${roll < 0.85 ? '' : '/x'}`);
  };
  for (let r = 0; r < rounds; r++) {
    const options: { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array; reverse?: boolean } = {};
    const lowRoll = random();
    if (lowRoll < 0.3) options.gt = pick();
    else if (lowRoll < 0.6) options.gte = pick();
    const highRoll = random();
    if (highRoll < 0.3) options.lt = pick();
    else if (highRoll < 0.6) options.lte = pick();
    options.reverse = random() < 0.5;
    const filtered = entries.filter((e) => inBounds(e, options));
    const expected = options.reverse ? [...filtered].reverse() : filtered;
    assert.deepEqual(collect(reader, options), expected.map(show), `bounds ${JSON.stringify(Object.keys(options))}`);

    // seek(userKey): forward → first entry with user key ≥ k; reverse → last with user key ≤ k.
    const k = pick();
    const fromSeek = expected.filter((e) =>
      options.reverse ? compareUserKeys(e.userKey, k) <= 0 : compareUserKeys(e.userKey, k) >= 0,
    );
    assert.deepEqual(collect(reader, options, (it) => it.seek(k)), fromSeek.map(show), 'seek');

    // seekInternal: forward → first ≥ ikey; reverse → last ≤ ikey.
    const target = entries[Math.floor(random() * entries.length)]!;
    const ikey = encodeInternalKey(target.userKey, Math.max(1, target.seq + Math.floor(random() * 3) - 1));
    const fromInternal = expected.filter((e) =>
      options.reverse ? compareInternalKeys(e.key, ikey) <= 0 : compareInternalKeys(e.key, ikey) >= 0,
    );
    assert.deepEqual(collect(reader, options, (it) => it.seekInternal(ikey)), fromInternal.map(show), 'seekInternal');
  }
}

function checkReadAll(reader: TableReader, entries: readonly RefEntry[]): void {
  const all = reader.readAllEntries();
  assert.equal(all.tags.length, entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    assert.deepEqual(Buffer.from(all.keys.data.subarray(all.keys.offsets[i]!, all.keys.offsets[i + 1]!)), Buffer.from(e.key));
    assert.deepEqual(Buffer.from(all.values.data.subarray(all.values.offsets[i]!, all.values.offsets[i + 1]!)), Buffer.from(e.value));
    assert.equal(all.tags[i], e.kind);
  }
}

function checkMeta(meta: TableMeta, entries: readonly RefEntry[], path: string): void {
  assert.equal(meta.path, path);
  assert.equal(meta.fileNumber, 7);
  assert.equal(meta.entryCount, entries.length);
  assert.deepEqual(Buffer.from(meta.smallestKey), Buffer.from(entries[0]!.key));
  assert.deepEqual(Buffer.from(meta.largestKey), Buffer.from(entries.at(-1)!.key));
  assert.equal(meta.minSeq, Math.min(...entries.map((e) => e.seq)));
  assert.equal(meta.maxSeq, Math.max(...entries.map((e) => e.seq)));
  assert.equal(meta.properties.tombstoneCount, entries.filter((e) => e.kind === Kind.Delete).length);
  assert.equal(meta.properties.rawKeyBytes, entries.reduce((s, e) => s + e.key.length, 0));
  assert.equal(meta.properties.rawValueBytes, entries.reduce((s, e) => s + e.value.length, 0));
  assert.equal(meta.properties.valueLogBytes.size, 0);
  assert.equal(readFileSync(path).length, meta.fileSize);
}

describe('table round trips', () => {
  const cases: { name: string; count: number; options: Partial<TableBuilderOptions> }[] = [
    { name: 'one entry', count: 1, options: {} },
    { name: 'small, default blocks', count: 300, options: {} },
    { name: 'small, tiny blocks, restart interval 1', count: 300, options: { blockSize: 1, restartInterval: 1 } },
    { name: 'small, 200-byte blocks, LZ4', count: 500, options: { blockSize: 200, compress: true, bitsPerKey: 4 } },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      const entries = makeEntries(c.count, c.count * 31 + 1);
      const path = join(tempDir(t, 'silt-table-'), '000007.sst');
      const meta = await buildTable(path, entries, c.options);
      checkMeta(meta, entries, path);
      const cache = new BlockCache(1 << 20);
      const reader = TableReader.open(path, { fileNumber: 7, cache, expectedLength: meta.fileSize });
      t.after(() => reader.close());
      assert.deepEqual(reader.properties, meta.properties);
      const random = rng(c.count);
      checkGets(reader, entries, random, Math.min(400, c.count * 2));
      // A key that was never written, below, between and above the stored ones.
      for (const absent of ['', 'a', 'k', 'k\u0000', 'zzz']) assert.equal(reader.get(bytes(absent)), undefined);
      checkIterators(reader, entries, random, 60);
      checkReadAll(reader, entries);
    });
  }

  test('100k entries: gets at snapshots, iterators, readAllEntries, with LZ4', async (t) => {
    const entries = makeEntries(100_000, 99);
    const path = join(tempDir(t, 'silt-table-'), '000007.sst');
    const meta = await buildTable(path, entries, { compress: true, writeBufferBytes: 64 << 10 });
    checkMeta(meta, entries, path);
    assert.ok(meta.properties.dataBlockCount > 100);
    const reader = TableReader.open(path, { fileNumber: 7, cache: new BlockCache(64 << 20) });
    t.after(() => reader.close());
    const random = rng(5);
    checkGets(reader, entries, random, 5000);
    // Every stored user key at the newest snapshot.
    for (const e of entries) {
      const got = reader.get(e.userKey);
      assert.ok(got !== undefined && got.seq >= e.seq);
    }
    checkIterators(reader, entries, random, 4);
    checkReadAll(reader, entries);
  });

  test('point reads find keys that share a long prefix, prefixes of each other and keys with zero bytes', async (t) => {
    // The index is searched by the four bytes after the keys' common prefix first: keys that end
    // inside those bytes, or continue with zero bytes, must still land in the right block.
    const suffixes = ['', '\0', '\0\0', '\0\0\0\0\0', 'a', 'a\0', 'a\0a', 'ab', 'abc', 'abcd', 'abcd\0', 'abcde', 'abce', 'b', '\xff', '\xff\xff\xff\xff\xff'];
    const users = [...new Set(suffixes.flatMap((s) => [s, `${s}z`, `${s}\x01`]))].map((s) => Buffer.from(`a-long-shared-prefix/${s}`, 'latin1'));
    users.sort(Buffer.compare);
    const entries: RefEntry[] = [];
    let seq = 1;
    for (const userKey of users) {
      const value = bytes(`v${seq}`);
      entries.push({ userKey, seq, kind: Kind.Put, value, key: encodeInternalKey(userKey, seq) });
      seq++;
    }
    const path = join(tempDir(t, 'silt-table-'), 'prefix.sst');
    await buildTable(path, entries, { blockSize: 64 });
    const reader = TableReader.open(path, { fileNumber: 9 });
    t.after(() => reader.close());
    assert.ok(reader.blockCount > 10, `${reader.blockCount} blocks`);
    for (const e of entries) {
      const got = reader.get(e.userKey);
      assert.ok(got !== undefined && Buffer.from(got.value).equals(Buffer.from(e.value)), `get(${JSON.stringify(e.userKey.toString())})`);
    }
    // Absent keys in between, before, after, and outside the shared prefix.
    const absent = ['a-long-shared-prefix/\0\0\0', 'a-long-shared-prefix/abcd\0\0', 'a-long-shared-prefix/aa', 'a-long-shared-prefix', 'a-long-shared-prefi', 'b', '', 'a-long-shared-prefix/\xff\xff'];
    for (const text of absent) {
      const key = Buffer.from(text, 'latin1');
      assert.equal(reader.get(key), undefined, `get(${JSON.stringify(text)})`);
    }
  });

  test('blocks are cut at the target payload size', async (t) => {
    const entries = makeEntries(4000, 3);
    const dir = tempDir(t, 'silt-table-');
    const small = await buildTable(join(dir, 'small.sst'), entries, { blockSize: 1024 });
    const large = await buildTable(join(dir, 'large.sst'), entries, { blockSize: 16384 });
    const reader = TableReader.open(join(dir, 'small.sst'), { fileNumber: 1 });
    t.after(() => reader.close());
    for (let b = 0; b < reader.blockCount - 1; b++) {
      const block: StoredBlock = reader.block(b);
      // Cut once the payload (entries, restart array, restart count) reaches 1 KiB.
      assert.ok(block.data.length >= 1024, `block ${b} was cut early`);
    }
    const ratio = small.properties.dataBlockCount / large.properties.dataBlockCount;
    assert.ok(ratio > 12 && ratio < 20, `1 KiB vs 16 KiB blocks: ${ratio}`);
  });
});

describe('table builder input', () => {
  test('an entry not strictly after the previous one is INVALID_ARGUMENT and changes nothing', async (t) => {
    const path = join(tempDir(t, 'silt-table-'), '1.sst');
    const builder = await TableBuilder.create({ vfs, path, fileNumber: 1, blockSize: 64 });
    builder.add(encodeInternalKey(bytes('b'), 5), Kind.Put, bytes('1'));
    for (let i = 0; i < 20; i++) builder.add(encodeInternalKey(bytes(`c${i.toString().padStart(3, '0')}`), 5), Kind.Put, bytes('x'));
    const last = encodeInternalKey(bytes('c019'), 5);
    await rejectsWithCode(() => builder.add(last, Kind.Put, bytes('dup')), 'INVALID_ARGUMENT');
    await rejectsWithCode(() => builder.add(encodeInternalKey(bytes('c019'), 6), Kind.Put, bytes('newer')), 'INVALID_ARGUMENT');
    await rejectsWithCode(() => builder.add(encodeInternalKey(bytes('a'), 9), Kind.Put, bytes('before')), 'INVALID_ARGUMENT');
    // "c0" is a prefix of "c019": it sorts first even though "c0" ‖ trailer > "c019" ‖ trailer as bytes.
    await rejectsWithCode(() => builder.add(encodeInternalKey(bytes('c0'), 9), Kind.Put, bytes('prefix')), 'INVALID_ARGUMENT');
    builder.add(encodeInternalKey(bytes('c019'), 4), Kind.Delete, new Uint8Array(0));
    builder.add(encodeInternalKey(bytes('c0190'), 9), Kind.Put, bytes('after'));
    const meta = await builder.finish();
    assert.equal(meta.entryCount, 23);
    const reader = TableReader.open(path, { fileNumber: 1 });
    t.after(() => reader.close());
    assert.equal(reader.get(bytes('c019'))?.seq, 5);
    assert.equal(reader.get(bytes('c019'), 4)?.kind, Kind.Delete);
    assert.equal(reader.get(bytes('c0')), undefined);
  });

  test('malformed entries and options are INVALID_ARGUMENT', async (t) => {
    const dir = tempDir(t, 'silt-table-');
    const builder = await TableBuilder.create({ vfs, path: join(dir, '1.sst'), fileNumber: 1 });
    const bad: (() => unknown)[] = [
      () => builder.add(new Uint8Array(7), Kind.Put, bytes('short key')),
      () => builder.add(encodeInternalKey(bytes('k'), 0), Kind.Put, bytes('seq 0')),
      () => builder.add(encodeInternalKey(bytes('k'), 1), 3 as Kind, bytes('kind')),
      () => builder.add(encodeInternalKey(bytes('k'), 1), Kind.Delete, bytes('tombstone with value')),
      () => builder.add('k' as unknown as Uint8Array, Kind.Put, bytes('v')),
      () => builder.add(encodeInternalKey(bytes('k'), 1), Kind.Put, 'v' as unknown as Uint8Array),
      () => builder.add(encodeInternalKey(new Uint8Array(65537), 1), Kind.Put, bytes('v')),
      () => {
        const key = encodeInternalKey(bytes('k'), 1);
        key[1] = 0xff; // a trailer above 2^53: no sequence number encodes to it
        return builder.add(key, Kind.Put, bytes('v'));
      },
    ];
    for (const action of bad) await rejectsWithCode(action, 'INVALID_ARGUMENT');
    await rejectsWithCode(builder.finish(), 'INVALID_ARGUMENT'); // nothing was added
    assert.equal(await vfs.exists(join(dir, '1.sst')), false, 'a failed finish removes the file');
    await rejectsWithCode(() => builder.add(encodeInternalKey(bytes('k'), 1), Kind.Put, bytes('v')), 'CLOSED');

    for (const options of [{ blockSize: 0 }, { restartInterval: 0 }, { bitsPerKey: 0 }, { bitsPerKey: 2.5 }, { fileNumber: -1 }, { compress: 1 }]) {
      await rejectsWithCode(
        TableBuilder.create({ vfs, path: join(dir, '2.sst'), fileNumber: 2, ...(options as object) }),
        'INVALID_ARGUMENT',
      );
    }
    assert.equal(await vfs.exists(join(dir, '2.sst')), false);
    // The file must not exist yet: table numbers are never reused.
    const done = await buildTable(join(dir, '3.sst'), makeEntries(3, 1));
    await rejectsWithCode(TableBuilder.create({ vfs, path: done.path, fileNumber: 3 }), 'IO_ERROR');
  });

  test('abandon removes the file; the caller may reuse its buffers after add', async (t) => {
    const dir = tempDir(t, 'silt-table-');
    const b1 = await TableBuilder.create({ vfs, path: join(dir, 'a.sst'), fileNumber: 1 });
    b1.add(encodeInternalKey(bytes('k'), 1), Kind.Put, bytes('v'));
    await b1.abandon();
    await b1.abandon();
    assert.equal(await vfs.exists(join(dir, 'a.sst')), false);

    const b2 = await TableBuilder.create({ vfs, path: join(dir, 'b.sst'), fileNumber: 2, blockSize: 32 });
    const key = new Uint8Array(12);
    const value = new Uint8Array(4);
    for (let i = 0; i < 100; i++) {
      key.set(bytes(`k${i.toString().padStart(3, '0')}`));
      writeTrailer(key, 4, 1000 - i);
      value.fill(i);
      b2.add(key, Kind.Put, value);
    }
    key.fill(0xee);
    const meta = await b2.finish();
    assert.deepEqual(Buffer.from(meta.smallestKey), Buffer.from(encodeInternalKey(bytes('k000'), 1000)));
    const reader = TableReader.open(meta.path, { fileNumber: 2 });
    t.after(() => reader.close());
    for (let i = 0; i < 100; i++) {
      const got = reader.get(bytes(`k${i.toString().padStart(3, '0')}`));
      assert.deepEqual(got?.value, new Uint8Array(4).fill(i));
    }
  });
  test('addRange writes the same file as add, from ranges of shared buffers; a range outside its buffer is INVALID_ARGUMENT and changes nothing', async (t) => {
    const dir = tempDir(t, 'silt-table-');
    // Long values too (past the byte-loop copy), and deletes with empty values.
    const entries = makeEntries(3000, 23).map((e, i) => (i % 97 === 5 && e.kind !== Kind.Delete ? { ...e, value: new Uint8Array(300).fill(i & 0xff) } : e));
    const viaAdd = await buildTable(join(dir, 'add.sst'), entries, { blockSize: 512 });
    // Every key and value packed back to back behind a few junk bytes, as a compaction's runs hold them.
    const pack = (parts: readonly Uint8Array[]): { data: Uint8Array; offsets: number[] } => {
      const offsets = [3];
      for (const part of parts) offsets.push(offsets[offsets.length - 1]! + part.length);
      const data = new Uint8Array(offsets[offsets.length - 1]! + 5).fill(0xa5);
      parts.forEach((part, i) => data.set(part, offsets[i]!));
      return { data, offsets };
    };
    const keys = pack(entries.map((e) => e.key));
    const values = pack(entries.map((e) => e.value));
    const builder = await TableBuilder.create({ vfs, path: join(dir, 'range.sst'), fileNumber: 7, blockSize: 512 });
    for (let i = 0; i < entries.length; i++) {
      if (i === 1000) {
        // Bad ranges: rejected before anything changes, and the next good entry goes on as if they never came.
        const k = keys.offsets[i]!;
        const v = values.offsets[i]!;
        for (const bad of [
          () => builder.addRange(keys.data, k, keys.data.length + 1, entries[i]!.kind, values.data, v, values.offsets[i + 1]!),
          () => builder.addRange(keys.data, -1, keys.offsets[i + 1]!, entries[i]!.kind, values.data, v, values.offsets[i + 1]!),
          () => builder.addRange(keys.data, k + 2, k, entries[i]!.kind, values.data, v, values.offsets[i + 1]!),
          () => builder.addRange(keys.data, k, keys.offsets[i + 1]!, entries[i]!.kind, values.data, v, values.data.length + 1),
          // Out of order: the previous entry's key again.
          () => builder.addRange(keys.data, keys.offsets[i - 1]!, keys.offsets[i]!, entries[i - 1]!.kind, values.data, values.offsets[i - 1]!, values.offsets[i]!),
        ]) {
          await rejectsWithCode(bad, 'INVALID_ARGUMENT');
        }
      }
      const wait = builder.addRange(keys.data, keys.offsets[i]!, keys.offsets[i + 1]!, entries[i]!.kind, values.data, values.offsets[i]!, values.offsets[i + 1]!);
      if (wait !== undefined) await wait;
    }
    const viaRange = await builder.finish();
    assert.equal(viaRange.entryCount, entries.length);
    assert.deepEqual(readFileSync(viaRange.path), readFileSync(viaAdd.path));
  });
});

describe('bloom filter', () => {
  test('murmur3 x86_32 matches the reference vectors', () => {
    assert.equal(murmur3(new Uint8Array(0), 0, 0, 0), 0);
    assert.equal(murmur3(new Uint8Array(0), 0, 0, 1), 0x514e28b7);
    assert.equal(murmur3(bytes('hello'), 0, 5, 0), 0x248bfa47);
    assert.equal(murmur3(bytes('Hello, world!'), 0, 13, 1234), 0xfaf6cdb3);
    const fox = bytes('The quick brown fox jumps over the lazy dog');
    assert.equal(murmur3(fox, 0, fox.length, 0), 0x2e4ff723);
    // A sub-range hashes like the same bytes on their own.
    const padded = bytes('xxhelloyy');
    assert.equal(murmur3(padded, 2, 7, 0), 0x248bfa47);
  });

  test('probe positions are (h + i·delta) mod 2^32 mod m for hashes of every size, as FORMAT §5.4 says', () => {
    // Keys chosen so that some hashes are at or above 2^31 (the range where the bit arithmetic
    // must stay unsigned); the reference is computed with BigInt.
    for (const bitsPerKey of [7, 10]) {
      const keys = Array.from({ length: 500 }, (_, i) => bytes(`probe-${i}`));
      const hashes = keys.map((k) => murmur3(k, 0, k.length, 0xbc9f1d34));
      assert.ok(hashes.some((h) => h >= 2 ** 31) && hashes.some((h) => h < 2 ** 31));
      const builder = new BloomFilterBuilder(bitsPerKey);
      for (const k of keys) builder.addKey(k, 0, k.length);
      const payload = builder.finish();
      const m = BigInt((payload.length - 1) * 8);
      const expected = new Uint8Array(payload.length);
      const k = probesFor(bitsPerKey);
      expected[payload.length - 1] = k;
      for (const hash of hashes) {
        let h = BigInt(hash);
        const delta = ((h >> 17n) | (h << 15n)) & 0xffffffffn;
        for (let j = 0; j < k; j++) {
          const bit = Number(h % m);
          expected[bit >>> 3]! |= 1 << (bit & 7);
          h = (h + delta) & 0xffffffffn;
        }
      }
      assert.deepEqual(payload, expected);
      const filter = new BloomFilter(payload);
      for (const key of keys) assert.ok(filter.mayContain(key));
      // A hash the filter never saw is refused exactly when one of its reference probes hits a clear bit.
      for (let i = 0; i < 2000; i++) {
        const probe = bytes(`absent-${i}`);
        let h = BigInt(murmur3(probe, 0, probe.length, 0xbc9f1d34));
        const delta = ((h >> 17n) | (h << 15n)) & 0xffffffffn;
        let all = true;
        for (let j = 0; j < k; j++) {
          const bit = Number(h % m);
          if ((expected[bit >>> 3]! & (1 << (bit & 7))) === 0) all = false;
          h = (h + delta) & 0xffffffffn;
        }
        assert.equal(filter.mayContain(probe), all, `absent-${i}`);
      }
    }
  });

  test('no false negatives, and a false-positive rate near theory', () => {
    for (const bitsPerKey of [6, 10, 16]) {
      const n = 20_000;
      const builder = new BloomFilterBuilder(bitsPerKey);
      const keyOf = (i: number): Uint8Array => bytes(`user-key-${i}`);
      for (let i = 0; i < n; i++) {
        const k = keyOf(i);
        builder.addKey(k, 0, k.length);
      }
      const filter = new BloomFilter(builder.finish());
      for (let i = 0; i < n; i++) assert.ok(filter.mayContain(keyOf(i)), `false negative for key ${i}`);
      let falsePositives = 0;
      const trials = 100_000;
      for (let i = 0; i < trials; i++) if (filter.mayContain(keyOf(n + 1 + i))) falsePositives++;
      const k = probesFor(bitsPerKey);
      const theory = (1 - Math.exp((-k * n) / (n * bitsPerKey))) ** k;
      const rate = falsePositives / trials;
      assert.ok(rate < theory * 1.5 + 0.001 && rate > theory * 0.5, `bits/key ${bitsPerKey}: rate ${rate}, theory ${theory}`);
    }
  });

  test('a table answers mayContain for its user keys and rejects most others', async (t) => {
    const entries = makeEntries(2000, 17);
    const path = join(tempDir(t, 'silt-table-'), 't.sst');
    await buildTable(path, entries);
    const reader = TableReader.open(path, { fileNumber: 7 });
    t.after(() => reader.close());
    for (const e of entries) assert.ok(reader.mayContain(e.userKey));
    let positives = 0;
    for (let i = 0; i < 10_000; i++) if (reader.mayContain(bytes(`absent-${i}`))) positives++;
    assert.ok(positives < 300, `${positives} false positives in 10000`);
  });
});

describe('block cache', () => {
  const fakeBlock = (charge: number): StoredBlock => ({
    data: new Uint8Array(0),
    entriesEnd: 0,
    restartCount: 0,
    count: 0,
    charge,
  });

  test('CLOCK eviction within the byte budget (a hit block is spared once), stats', () => {
    const cache = new BlockCache(10_000);
    for (let i = 0; i < 5; i++) cache.insert(1, i * 100, fakeBlock(1904)); // 2000 bytes each with overhead
    assert.equal(cache.stats().bytes, 10_000);
    assert.ok(cache.get(1, 0) !== undefined); // (1, 0) is marked referenced
    cache.insert(2, 0, fakeBlock(1904)); // the hand spares (1, 0) and evicts the next one: (1, 100)
    assert.equal(cache.get(1, 100), undefined);
    assert.ok(cache.get(1, 0) !== undefined);
    assert.ok(cache.get(2, 0) !== undefined);
    let stats = cache.stats();
    assert.deepEqual(
      { bytes: stats.bytes, blocks: stats.blocks, hits: stats.hits, misses: stats.misses, evictions: stats.evictions },
      { bytes: 10_000, blocks: 5, hits: 3, misses: 1, evictions: 1 },
    );
    cache.insert(3, 0, fakeBlock(20_000)); // larger than the budget: not cached, evicts nothing
    assert.equal(cache.get(3, 0), undefined);
    cache.insert(1, 0, fakeBlock(904)); // replacing a block re-charges it
    assert.equal(cache.stats().bytes, 9_000);
    cache.evictFile(1);
    stats = cache.stats();
    assert.equal(stats.blocks, 1);
    assert.equal(stats.bytes, 2000);
    assert.ok(cache.get(2, 0) !== undefined);
    cache.clear();
    assert.equal(cache.stats().bytes, 0);
    assert.throws(() => new BlockCache(-1), { code: 'INVALID_ARGUMENT' });
  });

  test('fixed-length keys sharing long prefixes: gets at every snapshot, present and absent keys', async (t) => {
    // Keys of one length sharing 12–15 bytes (the peer benchmark's shape): the cursor's restart
    // search and walk meet long shared prefixes, versions of one key differ only in their
    // trailers, and absent keys fall between stored ones.
    const dir = tempDir(t, 'silt-table-');
    const random = rng(11);
    const entries: RefEntry[] = [];
    let seq = 1;
    const userKeyOf = (n: number): Uint8Array => bytes(String(n).padStart(16, '0'));
    for (let n = 0; n < 3000; n += 2) {
      const versions = 1 + Math.floor(random() * 3);
      for (let v = 0; v < versions; v++) {
        const s = seq++;
        const kind = random() < 0.1 ? Kind.Delete : Kind.Put;
        const userKey = userKeyOf(n);
        entries.push({ userKey, seq: s, kind, value: kind === Kind.Delete ? new Uint8Array(0) : bytes(`v${s}`), key: encodeInternalKey(userKey, s) });
      }
    }
    entries.sort((a, b) => compareInternalKeys(a.key, b.key));
    await buildTable(join(dir, 'fixed.sst'), entries, { blockSize: 1024 });
    const reader = TableReader.open(join(dir, 'fixed.sst'), { fileNumber: 7, cache: new BlockCache(1 << 20) });
    t.after(() => reader.close());
    for (let n = 0; n < 3001; n++) {
      const userKey = userKeyOf(n);
      for (const snapshot of [MAX_SEQ, Math.floor(random() * seq), 0]) {
        const expected = refGet(entries, userKey, snapshot);
        const got = reader.get(userKey, snapshot);
        assert.equal(got?.seq, expected?.seq, `get(${n}, ${snapshot})`);
        if (expected !== undefined) {
          assert.equal(got!.kind, expected.kind);
          assert.deepEqual(got!.value, expected.value);
        }
      }
    }
  });

  test('readers share the cache; the budget holds while reading many blocks', async (t) => {
    const dir = tempDir(t, 'silt-table-');
    const entries = makeEntries(5000, 8);
    await buildTable(join(dir, 'a.sst'), entries, { blockSize: 512 });
    await buildTable(join(dir, 'b.sst'), entries, { blockSize: 512 });
    const cache = new BlockCache(32 << 10);
    const a = TableReader.open(join(dir, 'a.sst'), { fileNumber: 1, cache });
    const b = TableReader.open(join(dir, 'b.sst'), { fileNumber: 2, cache });
    t.after(() => {
      a.close();
      b.close();
    });
    const random = rng(2);
    checkGets(a, entries, random, 300);
    checkGets(b, entries, random, 300);
    const stats = cache.stats();
    assert.ok(stats.bytes <= 32 << 10);
    assert.ok(stats.evictions > 0 && stats.hits > 0 && stats.misses > 0);
    // A repeated lookup of the same key hits.
    const hitsBefore = cache.stats().hits;
    a.get(entries[0]!.userKey);
    a.get(entries[0]!.userKey);
    assert.ok(cache.stats().hits > hitsBefore);
  });
});

describe('table reader lifecycle', () => {
  test('use after close is CLOSED; bad arguments are INVALID_ARGUMENT', async (t) => {
    const path = join(tempDir(t, 'silt-table-'), 't.sst');
    const entries = makeEntries(50, 4);
    await buildTable(path, entries);
    const reader = TableReader.open(path, { fileNumber: 7 });
    const it = reader.iterator();
    assert.throws(() => reader.get('k' as unknown as Uint8Array), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => reader.get(bytes('k'), -1), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => reader.iterator({ gt: bytes('a'), gte: bytes('b') }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => it.seekInternal(new Uint8Array(3)), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => TableReader.open(path, { fileNumber: -1 }), { code: 'INVALID_ARGUMENT' });
    reader.close();
    reader.close();
    assert.throws(() => reader.get(entries[0]!.userKey), { code: 'CLOSED' });
    assert.throws(() => reader.readAllEntries(), { code: 'CLOSED' });
    assert.throws(() => it.seekToFirst(), { code: 'CLOSED' });
    assert.throws(() => TableReader.open(join(path, '..', 'missing.sst'), { fileNumber: 1 }), { code: 'IO_ERROR' });
  });

  test('the iterator protocol yields copies from the current position', async (t) => {
    const path = join(tempDir(t, 'silt-table-'), 't.sst');
    const entries = makeEntries(200, 12);
    await buildTable(path, entries, { blockSize: 100 });
    const reader = TableReader.open(path, { fileNumber: 7 });
    t.after(() => reader.close());
    const all = [...reader.iterator()];
    assert.deepEqual(all.map((e) => `${Buffer.from(e.userKey).toString()}@${e.seq}:${e.kind}:${Buffer.from(e.value).toString()}`), entries.map(show));
    const it = reader.iterator({ reverse: true });
    it.seek(entries[100]!.userKey);
    const rest = [...it];
    assert.equal(rest.length, entries.filter((e) => compareUserKeys(e.userKey, entries[100]!.userKey) <= 0).length);
    rest[0]!.value.fill(0); // copies: the cached block is untouched
    assert.deepEqual([...reader.iterator({ reverse: true })].length, entries.length);
    checkIterators(reader, entries, rng(1), 5);
  });
});

describe('accelerator cross-check', () => {
  let native: Accelerator;
  try {
    native = loadNativeAccelerator().accelerator;
  } catch (error) {
    // The native module is part of this repository's build; its absence is a failure here.
    test('the native accelerator loads', () => {
      throw error;
    });
    return;
  }

  const writers: [string, Accelerator][] = [
    ['native', native],
    ['ts', tsAccelerator],
  ];
  for (const [writerName, writer] of writers) {
    for (const compress of [false, true]) {
      test(`a table written by ${writerName}${compress ? ' with LZ4' : ''} reads identically with both`, async (t: TestContext) => {
        const dir = tempDir(t, 'silt-table-');
        const entries = makeEntries(3000, 21);
        const path = join(dir, 't.sst');
        await buildTable(path, entries, { accelerator: writer, compress, blockSize: 1024 });
        // The other accelerator writes the very same bytes.
        const otherPath = join(dir, 'u.sst');
        await buildTable(otherPath, entries, { accelerator: writer === native ? tsAccelerator : native, compress, blockSize: 1024 });
        assert.deepEqual(readFileSync(path), readFileSync(otherPath));
        for (const [, reading] of writers) {
          const reader = TableReader.open(path, { fileNumber: 7, accelerator: reading, cache: new BlockCache(1 << 20) });
          try {
            checkGets(reader, entries, rng(3), 300);
            checkIterators(reader, entries, rng(4), 10);
            checkReadAll(reader, entries);
          } finally {
            reader.close();
          }
        }
      });
    }
  }

  test('the default accelerator follows SILTDB_NATIVE', () => {
    const mode = process.env.SILTDB_NATIVE;
    if (mode === 'require') assert.equal(accel.kind, 'native');
    if (mode === 'off') assert.equal(accel.kind, 'ts');
  });
});
