/**
 * Damaged table files: a byte flipped at every position, every truncation, and trailing bytes must
 * each fail with CORRUPTION (or SHORT_FILE against a recorded length) on open or on the read that
 * touches the damage — and every entry returned before that must be the right one.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareInternalKeys, encodeInternalKey, Kind } from '../src/keys/internal-key.js';
import { BlockCache, TableBuilder, TableReader, type TableMeta } from '../src/table/index.js';
import { NodeVfs } from '../src/vfs/index.js';
import { tempDir } from './helpers/log-fixtures.js';

const vfs = new NodeVfs();
const utf8 = new TextEncoder();

interface Entry {
  readonly key: Uint8Array;
  readonly userKey: Uint8Array;
  readonly seq: number;
  readonly kind: Kind;
  readonly value: Uint8Array;
}

/** About 40 entries over several blocks, some compressible (LZ4) and some not, with tombstones. */
function smallTableEntries(): Entry[] {
  const entries: Entry[] = [];
  let seq = 1;
  for (let i = 0; i < 20; i++) {
    const userKey = utf8.encode(`key-${i.toString().padStart(2, '0')}`);
    for (let v = 0; v < 2; v++) {
      const s = seq++;
      const kind = (i + v) % 7 === 0 ? Kind.Delete : Kind.Put;
      const value = kind === Kind.Delete ? new Uint8Array(0) : utf8.encode(i % 2 === 0 ? 'a'.repeat(40) : `value-${s}-${i * 7919}`);
      entries.push({ key: encodeInternalKey(userKey, s), userKey, seq: s, kind, value });
    }
  }
  return entries.sort((a, b) => compareInternalKeys(a.key, b.key));
}

async function build(path: string, entries: readonly Entry[]): Promise<TableMeta> {
  const builder = await TableBuilder.create({ vfs, path, fileNumber: 1, blockSize: 160, restartInterval: 4, compress: true });
  for (const e of entries) builder.add(e.key, e.kind, e.value);
  return builder.finish();
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** Read everything the reader can serve, asserting every answer is the true one. */
function readEverything(reader: TableReader, entries: readonly Entry[]): void {
  const it = reader.iterator();
  let i = 0;
  for (it.seekToFirst(); it.valid; it.next(), i++) {
    const e = entries[i]!;
    assert.ok(same(it.key, e.key) && it.kind === e.kind && same(it.value, e.value), `entry ${i} differs`);
  }
  assert.equal(i, entries.length, 'the iterator ended early');
  const reverse = reader.iterator({ reverse: true });
  i = entries.length - 1;
  for (reverse.seekToFirst(); reverse.valid; reverse.next(), i--) assert.ok(same(reverse.key, entries[i]!.key));
  assert.equal(i, -1);
  for (const e of entries) {
    const got = reader.get(e.userKey, e.seq);
    assert.ok(got !== undefined && got.seq === e.seq && got.kind === e.kind && same(got.value, e.value), 'get differs');
  }
  const all = reader.readAllEntries();
  assert.equal(all.tags.length, entries.length);
  for (let j = 0; j < entries.length; j++) {
    assert.ok(same(all.keys.data.subarray(all.keys.offsets[j]!, all.keys.offsets[j + 1]!), entries[j]!.key));
    assert.ok(same(all.values.data.subarray(all.values.offsets[j]!, all.values.offsets[j + 1]!), entries[j]!.value));
  }
}

/** The code of the error `action` throws, or 'none'. Assertion failures (wrong data) propagate. */
function codeOf(action: () => void): string {
  try {
    action();
    return 'none';
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return String((error as { code?: unknown }).code);
  }
}

test('a byte flipped at any position is CORRUPTION on open or read, never wrong data', async (t) => {
  const dir = tempDir(t, 'silt-table-corrupt-');
  const entries = smallTableEntries();
  const path = join(dir, 'good.sst');
  const meta = await build(path, entries);
  const good = readFileSync(path);
  assert.ok(meta.properties.dataBlockCount >= 6, 'several data blocks');
  // The intact file reads back whole: the check below is only meaningful if this passes.
  const intact = TableReader.open(path, { fileNumber: 1 });
  readEverything(intact, entries);
  intact.close();

  const damagedPath = join(dir, 'damaged.sst');
  for (let position = 0; position < good.length; position++) {
    const damaged = Buffer.from(good);
    damaged[position]! ^= 1 << position % 8;
    writeFileSync(damagedPath, damaged);
    // A fresh cache per file: a block cached from another file must not mask the damage.
    const code = codeOf(() => {
      const reader = TableReader.open(damagedPath, { fileNumber: 1, cache: new BlockCache(1 << 20) });
      try {
        readEverything(reader, entries);
      } finally {
        reader.close();
      }
    });
    assert.equal(code, 'CORRUPTION', `flip at byte ${position} of ${good.length}`);
  }
});

test('a truncated or extended file is CORRUPTION, or SHORT_FILE against the recorded length', async (t) => {
  const dir = tempDir(t, 'silt-table-corrupt-');
  const entries = smallTableEntries();
  const path = join(dir, 'good.sst');
  const meta = await build(path, entries);
  const good = readFileSync(path);
  const cutPath = join(dir, 'cut.sst');
  for (let length = 0; length < good.length; length++) {
    writeFileSync(cutPath, good.subarray(0, length));
    const code = codeOf(() => TableReader.open(cutPath, { fileNumber: 1 }).close());
    assert.equal(code, 'CORRUPTION', `truncated to ${length} bytes`);
    assert.throws(() => TableReader.open(cutPath, { fileNumber: 1, expectedLength: meta.fileSize }), { code: 'SHORT_FILE' });
  }
  for (const extra of [Buffer.from([0]), Buffer.alloc(68), good.subarray(good.length - 68)]) {
    writeFileSync(cutPath, Buffer.concat([good, extra]));
    assert.throws(() => TableReader.open(cutPath, { fileNumber: 1 }), { code: 'CORRUPTION' }, `${extra.length} extra bytes`);
  }
  // A byte inserted at the front shifts every block: each is still checksummed, but no handle
  // points at a block any more, which the tiling checks catch at open.
  writeFileSync(cutPath, Buffer.concat([Buffer.from('x'), good]));
  assert.throws(() => TableReader.open(cutPath, { fileNumber: 1 }), { code: 'CORRUPTION' });
});
