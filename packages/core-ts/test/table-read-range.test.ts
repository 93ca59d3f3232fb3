/**
 * `readEntriesBetween`, the read compaction loads partitions with: every entry of the range comes
 * back exactly (short values take a byte-by-byte copy, long ones a bulk copy), and a damaged block
 * anywhere in a multi-block read — in the middle, not only the first or last — is CORRUPTION,
 * never data.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BlockEntries } from '@siltdb/bindings';
import { encodeInternalKey, Kind } from '../src/keys/internal-key.js';
import { TableBuilder, TableReader, type TableMeta } from '../src/table/index.js';
import { NodeVfs } from '../src/vfs/index.js';
import { tempDir } from './helpers/log-fixtures.js';

const vfs = new NodeVfs();
const utf8 = new TextEncoder();

interface Entry {
  readonly key: Uint8Array;
  readonly kind: Kind;
  readonly value: Uint8Array;
}

/** Value lengths on both sides of the short-value copy threshold, and empty tombstones. */
const VALUE_LENGTHS = [0, 1, 19, 20, 63, 64, 65, 100, 700];

function tableEntries(count: number): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const userKey = utf8.encode(`user-${i.toString().padStart(6, '0')}`);
    const kind = i % 11 === 5 ? Kind.Delete : i % 3 === 0 ? Kind.Pointer : Kind.Put;
    const length = kind === Kind.Delete ? 0 : VALUE_LENGTHS[i % VALUE_LENGTHS.length]!;
    const value = new Uint8Array(length);
    for (let j = 0; j < length; j++) value[j] = (i * 31 + j * 7) & 0xff;
    entries.push({ key: encodeInternalKey(userKey, i + 1), kind, value });
  }
  return entries;
}

async function build(path: string, entries: readonly Entry[], compress: boolean): Promise<TableMeta> {
  const builder = await TableBuilder.create({ vfs, path, fileNumber: 1, blockSize: 512, restartInterval: 4, compress });
  for (const e of entries) {
    const wait = builder.add(e.key, e.kind, e.value);
    if (wait !== undefined) await wait;
  }
  return builder.finish();
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

function assertEntries(got: BlockEntries, want: readonly Entry[]): void {
  assert.equal(got.tags.length, want.length, 'entry count');
  for (let i = 0; i < want.length; i++) {
    const e = want[i]!;
    assert.ok(same(got.keys.data.subarray(got.keys.offsets[i]!, got.keys.offsets[i + 1]!), e.key), `key ${i}`);
    assert.ok(same(got.values.data.subarray(got.values.offsets[i]!, got.values.offsets[i + 1]!), e.value), `value ${i}`);
    assert.equal(got.tags[i], e.kind, `kind ${i}`);
  }
}

const userKeyOf = (i: number): Uint8Array => utf8.encode(`user-${i.toString().padStart(6, '0')}`);

for (const compress of [false, true]) {
  test(`readEntriesBetween returns every entry of the range exactly (compress: ${compress})`, async (t) => {
    const dir = tempDir(t, 'silt-read-range-');
    const entries = tableEntries(3000);
    const path = join(dir, 't.sst');
    const meta = await build(path, entries, compress);
    assert.ok(meta.properties.dataBlockCount >= 20, 'many data blocks');
    const reader = TableReader.open(path, { fileNumber: 1 });
    try {
      assertEntries(reader.readEntriesBetween(null, null), entries);
      // (after, upTo]: user keys strictly after `after` and up to `upTo` inclusive.
      for (const [after, upTo] of [[-1, 0], [0, 1], [99, 1700], [1234, 1235], [2000, 2999], [500, 499]] as const) {
        const got = reader.readEntriesBetween(after < 0 ? null : userKeyOf(after), userKeyOf(upTo));
        assertEntries(got, entries.slice(after + 1, Math.max(after + 1, upTo + 1)));
      }
    } finally {
      reader.close();
    }
  });
}

test('a range denser than the table average grows its arrays and keeps every key and value', async (t) => {
  const dir = tempDir(t, 'silt-read-range-');
  // Short entries first, long ones after: a range over the short ones holds far more entries and
  // key bytes than its share of the file suggests.
  const entries = tableEntries(3000).map((e, i) => (i < 2400 || e.kind === Kind.Delete ? { ...e, value: e.value.subarray(0, i % 3) } : { ...e, value: new Uint8Array(900).fill(i & 0xff) }));
  const path = join(dir, 'dense.sst');
  await build(path, entries, false);
  const reader = TableReader.open(path, { fileNumber: 1 });
  try {
    assertEntries(reader.readEntriesBetween(null, userKeyOf(2399)), entries.slice(0, 2400));
    assertEntries(reader.readEntriesBetween(userKeyOf(100), userKeyOf(2500)), entries.slice(101, 2501));
  } finally {
    reader.close();
  }
});

test('a byte flipped in a block in the middle of a multi-block read is CORRUPTION', async (t) => {
  const dir = tempDir(t, 'silt-read-range-');
  const entries = tableEntries(600);
  const path = join(dir, 'good.sst');
  const meta = await build(path, entries, false);
  const good = readFileSync(path);
  const intact = TableReader.open(path, { fileNumber: 1 });
  assertEntries(intact.readEntriesBetween(null, null), entries);
  intact.close();
  assert.ok(meta.properties.dataBlockCount >= 5, 'several data blocks');
  // Data blocks come first and fill nearly all of the file (index, filter and properties are a few
  // KiB after them): 1.5 KiB from 45 % in is three or four whole 512-byte blocks in the middle.
  const from = Math.floor(good.length * 0.45);
  const to = from + 1536;
  assert.ok(to < good.length * 0.9, 'the window lies in the data blocks');
  const damagedPath = join(dir, 'damaged.sst');
  for (let position = from; position < to; position++) {
    const damaged = Buffer.from(good);
    damaged[position]! ^= 1 << position % 8;
    writeFileSync(damagedPath, damaged);
    const reader = TableReader.open(damagedPath, { fileNumber: 1 });
    try {
      assert.throws(() => reader.readEntriesBetween(null, null), { code: 'CORRUPTION' }, `flip at byte ${position}`);
      // A range from before the damage to after it crosses the damaged block too.
      assert.throws(() => reader.readEntriesBetween(userKeyOf(10), userKeyOf(590)), { code: 'CORRUPTION' }, `flip at byte ${position}`);
      // Blocks away from the damage still read back exactly.
      assertEntries(reader.readEntriesBetween(null, userKeyOf(5)), entries.slice(0, 6));
    } finally {
      reader.close();
    }
  }
});
