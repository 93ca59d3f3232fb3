/**
 * Version edits and their JSON codec (docs/FORMAT.md §7): round trips, the compatibility rules
 * (a version field; unknown fields refused unless marked ignorable with `_`), strict decoding,
 * and the CURRENT file's line with its checksum.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCurrentFile, decodeEdit, encodeCurrentFile, encodeEdit, manifestDirName, parseManifestDirName, type VersionEdit } from '../src/manifest/index.js';
import { SeededRandom } from '../src/vfs/seeded-random.js';
import { VersionSet } from '../src/manifest/index.js';
import { rejectsWithCode } from './helpers/log-fixtures.js';
import { randomEdit, table } from './manifest-fixtures.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** A decoded edit as plain data, to compare with what was encoded. */
function plain(edit: VersionEdit) {
  return {
    snapshot: edit.snapshot ?? false,
    added: (edit.added ?? []).map(({ level, table: t }) => ({ level, ...t, smallest: [...t.smallest], largest: [...t.largest], valueLogBytes: [...t.valueLogBytes] })),
    removed: (edit.removed ?? []).map((r) => ({ ...r })),
    nextFileNumber: edit.nextFileNumber,
    lastSeq: edit.lastSeq,
    walFlushedIndex: edit.walFlushedIndex,
  };
}

describe('version edit codec', () => {
  test('an edit with every field round trips', () => {
    const edit: VersionEdit = {
      added: [
        { level: 0, table: table(12, 5, 90, 3, 40, { valueLogBytes: new Map([['1-7', 1200], ['2-1', 0]]) }) },
        { level: 3, table: table(13, 100, 100, 0, 0) },
      ],
      removed: [{ level: 1, fileNumber: 4 }],
      nextFileNumber: 14,
      lastSeq: 40,
      walFlushedIndex: 9,
    };
    const decoded = decodeEdit(encodeEdit(edit));
    assert.deepEqual(plain(decoded), plain(edit));
    assert.equal(decoded.added[0]!.table.valueLogBytes.get('1-7'), 1200);
  });

  test('random edits round trip, and encoding is deterministic', () => {
    const random = new SeededRandom(7);
    const model = new VersionSet();
    for (let i = 0; i < 200; i++) {
      const edit = randomEdit(random, model);
      const encoded = encodeEdit(edit);
      const decoded = decodeEdit(encoded);
      assert.deepEqual(plain(decoded), plain(edit));
      assert.deepEqual(encodeEdit(decoded), encoded);
      model.apply(edit);
    }
  });

  test('the wire form is compact JSON with hex keys, empty parts omitted', () => {
    const wire = JSON.parse(text(encodeEdit({ removed: [{ level: 2, fileNumber: 8 }] })));
    assert.deepEqual(wire, { v: 1, remove: [{ level: 2, file: 8 }] });
    const added = JSON.parse(text(encodeEdit({ snapshot: true, added: [{ level: 0, table: table(3, 1, 2, 5, 6) }], lastSeq: 6 })));
    assert.deepEqual(added, {
      v: 1,
      snapshot: true,
      add: [{ level: 0, file: 3, size: 1003, smallest: '30303031001ffffffffffff9', largest: '30303032001ffffffffffffa', minSeq: 5, maxSeq: 6, entries: 2 }],
      lastSeq: 6,
    });
  });

  test('the examples of docs/FORMAT.md §7 are what the encoder writes, byte for byte', () => {
    const example =
      '{"v":1,"remove":[{"level":0,"file":11}],"add":[{"level":1,"file":12,"size":4096,"smallest":"30303031001ffffffffffff9","largest":"30303932001ffffffffffffa","minSeq":5,"maxSeq":6,"entries":2}],"nextFile":13}';
    assert.equal(text(encodeEdit(decodeEdit(new TextEncoder().encode(example)))), example);
    assert.equal(text(encodeEdit(new VersionSet().snapshotEdit())), '{"v":1,"snapshot":true,"nextFile":1,"lastSeq":0,"walFlushed":0}');
  });

  test('fields whose names start with "_" are ignored; other unknown fields are refused', () => {
    const base = { v: 1, add: [{ level: 0, file: 3, size: 1, smallest: '3000000000000000000001', largest: '3000000000000000000001', minSeq: 1, maxSeq: 1, entries: 1 }] };
    const withIgnorable = { ...base, _note: 'hello', add: [{ ...base.add[0], _hint: [1, 2] }], remove: [{ level: 0, file: 1, _why: 'x' }] };
    const decoded = decodeEdit(bytesOf(withIgnorable));
    assert.equal(decoded.added.length, 1);
    assert.deepEqual(decoded.removed, [{ level: 0, fileNumber: 1 }]);
    for (const bad of [{ ...base, vlogAdd: [] }, { ...base, add: [{ ...base.add[0], level2: 1 }] }, { v: 1, remove: [{ level: 0, file: 1, gone: true }] }]) {
      assert.throws(() => decodeEdit(bytesOf(bad)), { code: 'CORRUPTION' });
    }
  });

  test('an unknown format version, bad JSON or malformed values are CORRUPTION', () => {
    const good = JSON.parse(text(encodeEdit({ added: [{ level: 0, table: table(3, 1, 2) }], lastSeq: 2 })));
    const cases: unknown[] = [
      { ...good, v: 2 },
      { ...good, v: undefined },
      { ...good, snapshot: false },
      { ...good, lastSeq: -1 },
      { ...good, lastSeq: 1.5 },
      { ...good, lastSeq: '3' },
      { ...good, add: {} },
      { ...good, add: [{ ...good.add[0], level: 7 }] },
      { ...good, add: [{ ...good.add[0], smallest: 'ABCDEF0011223344' }] },
      { ...good, add: [{ ...good.add[0], smallest: '0011' }] },
      { ...good, add: [{ ...good.add[0], smallest: '303030310' }] },
      { ...good, add: [{ ...good.add[0], entries: 0 }] },
      { ...good, add: [{ ...good.add[0], minSeq: 9, maxSeq: 8 }] },
      { ...good, add: [{ ...good.add[0], smallest: good.add[0].largest, largest: good.add[0].smallest }] },
      { ...good, add: [{ ...good.add[0], vlog: { '1-1': -5 } }] },
      { ...good, add: [{ ...good.add[0], vlog: { 'has space': 5 } }] },
      { v: 1, snapshot: true, remove: [{ level: 0, file: 1 }] },
      [],
      null,
      42,
    ];
    for (const value of cases) assert.throws(() => decodeEdit(bytesOf(value)), { code: 'CORRUPTION' }, JSON.stringify(value));
    assert.throws(() => decodeEdit(new TextEncoder().encode('{"v":1,')), { code: 'CORRUPTION' });
    assert.throws(() => decodeEdit(new Uint8Array([0x7b, 0xff, 0x7d])), { code: 'CORRUPTION' });
  });

  test('encoding a malformed edit is INVALID_ARGUMENT', async () => {
    const cases: unknown[] = [
      { added: [{ level: -1, table: table(1, 1, 1) }] },
      { added: [{ level: 0, table: { ...table(1, 1, 1), smallest: 'abc' } }] },
      { added: [{ level: 0, table: { ...table(1, 1, 1), valueLogBytes: { a: 1 } } }] },
      { removed: [{ level: 0 }] },
      { nextFileNumber: Number.MAX_SAFE_INTEGER + 2 },
      { lastSeq: NaN },
      { addded: [] },
      'edit',
    ];
    for (const edit of cases) await rejectsWithCode(() => encodeEdit(edit as VersionEdit), 'INVALID_ARGUMENT');
  });

  test('a decoded edit owns its bytes: changing the caller\'s buffers later changes nothing', () => {
    const t = table(1, 1, 2);
    const encoded = encodeEdit({ added: [{ level: 0, table: t }] });
    const before = decodeEdit(encoded).added[0]!.table.smallest.slice();
    t.smallest.fill(0);
    assert.deepEqual(decodeEdit(encoded).added[0]!.table.smallest, before);
  });
});

describe('CURRENT file', () => {
  test('round trips, and names are canonical', () => {
    assert.equal(text(encodeCurrentFile(7)).slice(0, 16), 'MANIFEST-000007 ');
    assert.match(text(encodeCurrentFile(7)), /^MANIFEST-000007 [0-9a-f]{8}\n$/);
    for (const n of [1, 7, 999_999, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      assert.equal(decodeCurrentFile(encodeCurrentFile(n), 'CURRENT'), n);
      assert.equal(parseManifestDirName(manifestDirName(n)), n);
    }
    for (const name of ['MANIFEST-7', 'MANIFEST-0000007', 'MANIFEST-000000', 'MANIFEST-00000a', 'manifest-000001', 'MANIFEST-000001.tmp']) {
      assert.equal(parseManifestDirName(name), null, name);
    }
  });

  test('every single flipped bit, a truncation or an extension is CORRUPTION', () => {
    const good = encodeCurrentFile(42);
    for (let at = 0; at < good.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = good.slice();
        bad[at]! ^= 1 << bit;
        assert.throws(() => decodeCurrentFile(bad, 'CURRENT'), { code: 'CORRUPTION' }, `byte ${at} bit ${bit}`);
      }
    }
    for (let length = 0; length < good.length; length++) assert.throws(() => decodeCurrentFile(good.subarray(0, length), 'CURRENT'), { code: 'CORRUPTION' });
    assert.throws(() => decodeCurrentFile(new Uint8Array([...good, 0x0a]), 'CURRENT'), { code: 'CORRUPTION' });
  });
});
