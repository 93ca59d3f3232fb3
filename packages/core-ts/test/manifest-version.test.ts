/**
 * Versions and the version set: applying edits (pure), level order and L1+ disjointness, range
 * queries, byte totals, counters, reference counts, and which table files become obsolete — never
 * one a pinned version still lists.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Version, VersionSet, type VersionEdit } from '../src/manifest/index.js';
import { SeededRandom } from '../src/vfs/seeded-random.js';
import { rejectsWithCode } from './helpers/log-fixtures.js';
import { describeVersion, randomEdit, table, userKey } from './manifest-fixtures.js';

const numbers = (version: Version, level: number) => version.tables(level).map((t) => t.fileNumber);

describe('Version', () => {
  test('apply adds and removes tables and leaves the original unchanged', () => {
    const empty = Version.empty();
    const v1 = empty.apply({ added: [{ level: 0, table: table(1, 0, 9) }, { level: 1, table: table(2, 20, 29) }] });
    const v2 = v1.apply({ removed: [{ level: 0, fileNumber: 1 }], added: [{ level: 1, table: table(3, 0, 9) }] });
    assert.equal(empty.tableCount, 0);
    assert.deepEqual(numbers(v1, 0), [1]);
    assert.deepEqual(numbers(v1, 1), [2]);
    assert.deepEqual(numbers(v2, 0), []);
    assert.deepEqual(numbers(v2, 1), [3, 2]);
    assert.equal(v2.levelOfTable(3), 1);
    assert.equal(v2.levelOfTable(1), undefined);
    assert.deepEqual([...v2.fileNumbers()].sort(), [2, 3]);
    // A move: removed from L1 and added to L2 in one edit.
    const v3 = v2.apply({ removed: [{ level: 1, fileNumber: 2 }], added: [{ level: 2, table: v2.tables(1)[1]! }] });
    assert.deepEqual(numbers(v3, 1), [3]);
    assert.deepEqual(numbers(v3, 2), [2]);
    // Untouched levels are shared, not copied.
    assert.equal(v3.tables(0), v2.tables(0));
  });

  test('L0 is ordered newest first; L1+ by smallest key', () => {
    const v = Version.empty().apply({
      added: [
        { level: 0, table: table(5, 0, 50, 10, 19) },
        { level: 0, table: table(7, 10, 20, 30, 39) },
        { level: 0, table: table(6, 5, 8, 20, 29) },
        { level: 0, table: table(8, 5, 8, 20, 29) },
        { level: 2, table: table(9, 500, 600) },
        { level: 2, table: table(10, 100, 200) },
        { level: 2, table: table(11, 300, 400) },
      ],
    });
    assert.deepEqual(numbers(v, 0), [7, 8, 6, 5]);
    assert.deepEqual(numbers(v, 2), [10, 11, 9]);
  });

  test('overlapping tables in L1+ are CORRUPTION, whether added together or against existing ones', () => {
    const v = Version.empty().apply({ added: [{ level: 1, table: table(1, 10, 20) }, { level: 1, table: table(2, 30, 40) }] });
    const bad: VersionEdit[] = [
      { added: [{ level: 1, table: table(3, 15, 25) }] },
      { added: [{ level: 1, table: table(3, 20, 25) }] }, // shares user key 20 with table 1
      { added: [{ level: 1, table: table(3, 0, 10) }] },
      { added: [{ level: 1, table: table(3, 0, 100) }] },
      { added: [{ level: 1, table: table(3, 21, 29) }, { level: 1, table: table(4, 29, 29) }] },
    ];
    for (const edit of bad) assert.throws(() => v.apply(edit), { code: 'CORRUPTION' });
    // L0 may overlap, and L1 accepts neighbours that do not share a user key.
    assert.equal(v.apply({ added: [{ level: 0, table: table(3, 0, 100) }, { level: 0, table: table(4, 0, 100, 2, 2) }] }).tableCount, 4);
    assert.deepEqual(numbers(v.apply({ added: [{ level: 1, table: table(3, 21, 29) }] }), 1), [1, 3, 2]);
    // Replacing the overlapped table in the same edit is fine.
    assert.deepEqual(numbers(v.apply({ removed: [{ level: 1, fileNumber: 1 }], added: [{ level: 1, table: table(3, 15, 25) }] }), 1), [3, 2]);
  });

  test('removing a table the level does not hold, or adding one twice, is CORRUPTION', () => {
    const v = Version.empty().apply({ added: [{ level: 1, table: table(1, 10, 20) }] });
    const bad: VersionEdit[] = [
      { removed: [{ level: 0, fileNumber: 1 }] },
      { removed: [{ level: 1, fileNumber: 2 }] },
      { removed: [{ level: 1, fileNumber: 1 }, { level: 1, fileNumber: 1 }] },
      { added: [{ level: 2, table: table(1, 50, 60) }] },
      { added: [{ level: 0, table: table(2, 1, 2) }, { level: 0, table: table(2, 1, 2) }] },
      { snapshot: true, added: [{ level: 0, table: table(2, 1, 2) }] },
    ];
    for (const edit of bad) assert.throws(() => v.apply(edit), { code: 'CORRUPTION' });
    assert.throws(() => v.apply({ removed: [{ level: 9, fileNumber: 1 }] }), { code: 'INVALID_ARGUMENT' });
  });

  test('overlapping() finds the tables meeting an inclusive user-key range', () => {
    const v = Version.empty().apply({
      added: [
        { level: 0, table: table(1, 0, 50, 1, 1) },
        { level: 0, table: table(2, 60, 70, 2, 2) },
        ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => ({ level: 1, table: table(10 + i, i * 100, i * 100 + 49) })),
      ],
    });
    const ids = (level: number, low?: number, high?: number) =>
      v.overlapping(level, low === undefined ? undefined : userKey(low), high === undefined ? undefined : userKey(high)).map((t) => t.fileNumber);
    assert.deepEqual(ids(1, 149, 200), [11, 12]);
    assert.deepEqual(ids(1, 150, 199), []);
    assert.deepEqual(ids(1, 0, 0), [10]);
    assert.deepEqual(ids(1, 949, 9999), [19]);
    assert.deepEqual(ids(1, undefined, 100), [10, 11]);
    assert.deepEqual(ids(1, 849), [18, 19]);
    assert.deepEqual(ids(1, 850), [19]);
    assert.deepEqual(ids(1).length, 10);
    assert.deepEqual(ids(1, 500, 400), []);
    assert.deepEqual(ids(0, 50, 60), [2, 1]);
    assert.deepEqual(ids(0, 51, 59), []);
    assert.deepEqual(ids(3), []);
    // A user key that is a prefix of another sorts before it: "010" < "0100", so it falls between
    // table 10 (0000–0049) and table 11 (0100–0149).
    const key = (s: string) => new TextEncoder().encode(s);
    assert.deepEqual(v.overlapping(1, key('010'), key('010')), []);
    assert.deepEqual(v.overlapping(1, key('010'), key('0100')).map((t) => t.fileNumber), [11]);
    assert.deepEqual(v.overlapping(1, key('0049'), key('010')).map((t) => t.fileNumber), [10]);
  });

  test('byte totals per level and overall', () => {
    const v = Version.empty().apply({ added: [{ level: 0, table: table(1, 0, 1) }, { level: 0, table: table(2, 0, 1, 2, 2) }, { level: 3, table: table(3, 0, 1) }] });
    assert.equal(v.levelBytes(0), 1001 + 1002);
    assert.equal(v.levelBytes(3), 1003);
    assert.equal(v.levelBytes(6), 0);
    assert.equal(v.totalBytes, 3006);
    assert.equal(v.tableCountAt(0), 2);
    assert.throws(() => v.levelBytes(7), { code: 'INVALID_ARGUMENT' });
  });

  test('metadata is frozen and owned by the version', () => {
    const t = table(1, 0, 1, 1, 1, { valueLogBytes: new Map([['a-1', 5]]) });
    const v = Version.empty().apply({ added: [{ level: 0, table: t }] });
    t.smallest.fill(0xff);
    const held = v.tables(0)[0]!;
    assert.notEqual(held.smallest[0], 0xff);
    assert.ok(Object.isFrozen(held));
    assert.throws(() => (held.valueLogBytes as Map<string, number>).set('b', 1), TypeError);
    assert.throws(() => (v.tables(0) as unknown as unknown[]).push(1), TypeError);
  });

  test('reference counts: misuse is INVALID_ARGUMENT', async () => {
    const v = Version.empty();
    await rejectsWithCode(() => v.unref(), 'INVALID_ARGUMENT');
    v.ref().ref();
    assert.equal(v.refCount, 2);
    v.unref();
    v.unref();
    assert.equal(v.released, false); // a detached version is not released: nothing accounts for it
  });
});

describe('VersionSet', () => {
  test('counters rise with edits and never fall; tables must use handed-out numbers', () => {
    const set = new VersionSet();
    assert.deepEqual(set.counters, { nextFileNumber: 1, lastSeq: 0, walFlushedIndex: 0 });
    set.apply({ added: [{ level: 0, table: table(1, 0, 1, 1, 5) }], nextFileNumber: 2, lastSeq: 5, walFlushedIndex: 3 });
    assert.deepEqual(set.counters, { nextFileNumber: 2, lastSeq: 5, walFlushedIndex: 3 });
    set.apply({ lastSeq: 9 });
    assert.deepEqual(set.counters, { nextFileNumber: 2, lastSeq: 9, walFlushedIndex: 3 });
    for (const edit of [{ lastSeq: 8 }, { walFlushedIndex: 2 }, { nextFileNumber: 1 }, { added: [{ level: 0, table: table(2, 0, 1) }] }]) {
      assert.throws(() => set.apply(edit), { code: 'CORRUPTION' }, JSON.stringify(edit));
    }
    // A number handed out by newFileNumber may be used; the edit records it.
    const n = set.newFileNumber();
    assert.equal(n, 2);
    const prepared = set.prepare({ added: [{ level: 0, table: table(n, 0, 1, 10, 10) }] });
    assert.equal(prepared.edit.nextFileNumber, 3);
    set.install(prepared);
    assert.equal(set.counters.nextFileNumber, 3);
    assert.equal(set.newFileNumber(), 3);
  });

  test('a prepared edit installs only on the version it was prepared against', async () => {
    const set = new VersionSet();
    const a = set.prepare({ lastSeq: 1 });
    const b = set.prepare({ lastSeq: 2 });
    set.install(a);
    await rejectsWithCode(() => set.install(b), 'INVALID_ARGUMENT');
    assert.equal(set.counters.lastSeq, 1);
  });

  test('a failed edit changes nothing', () => {
    const set = new VersionSet();
    set.apply({ added: [{ level: 1, table: table(1, 0, 10) }], nextFileNumber: 5 });
    const before = describeVersion(set.current);
    assert.throws(() => set.apply({ added: [{ level: 1, table: table(2, 5, 6) }], lastSeq: 100 }), { code: 'CORRUPTION' });
    assert.deepEqual(describeVersion(set.current), before);
    assert.equal(set.counters.lastSeq, 0);
  });

  test('files are obsolete once no live version lists them; a pinned version holds its files', () => {
    const set = new VersionSet();
    set.apply({ added: [{ level: 0, table: table(1, 0, 9) }, { level: 0, table: table(2, 0, 9, 2, 2) }], nextFileNumber: 10 });
    const pinned = set.current.ref();
    // Compaction replaces 1 and 2 by 3; the pinned version still lists 1 and 2.
    set.apply({ removed: [{ level: 0, fileNumber: 1 }, { level: 0, fileNumber: 2 }], added: [{ level: 1, table: table(3, 0, 9, 1, 2) }] });
    assert.deepEqual(set.takeObsoleteFiles(), []);
    assert.ok(set.isLive(1) && set.isLive(2) && set.isLive(3));
    assert.equal(set.liveVersionCount, 2);
    // Another compaction: 3 → 4. Version 2 (listing 3) had no pin, so 3 is obsolete now.
    set.apply({ removed: [{ level: 1, fileNumber: 3 }], added: [{ level: 2, table: table(4, 0, 9, 1, 2) }] });
    assert.deepEqual(set.takeObsoleteFiles(), [3]);
    assert.deepEqual([...set.liveFileNumbers()].sort(), [1, 2, 4]);
    pinned.unref();
    assert.deepEqual(set.takeObsoleteFiles(), [1, 2]);
    assert.deepEqual([...set.liveFileNumbers()], [4]);
    assert.equal(set.liveVersionCount, 1);
    assert.equal(pinned.released, true);
    assert.throws(() => pinned.ref(), { code: 'INVALID_ARGUMENT' });
    // Each file is reported once.
    assert.deepEqual(set.takeObsoleteFiles(), []);
  });

  test('a moved table stays live; the listener receives obsolete files synchronously', () => {
    const reported: number[][] = [];
    const set = new VersionSet({ onObsoleteFiles: (files) => reported.push([...files]) });
    set.apply({ added: [{ level: 1, table: table(1, 0, 9) }], nextFileNumber: 2 });
    const old = set.current.ref();
    set.apply({ removed: [{ level: 1, fileNumber: 1 }], added: [{ level: 2, table: set.current.tables(1)[0]! }] });
    old.unref();
    assert.deepEqual(reported, []);
    assert.ok(set.isLive(1));
    set.apply({ removed: [{ level: 2, fileNumber: 1 }] });
    assert.deepEqual(reported, [[1]]);
    assert.deepEqual(set.takeObsoleteFiles(), []);
  });

  test('random histories with random pins: a file is reported exactly when its last listing version dies', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const random = new SeededRandom(seed);
      const set = new VersionSet();
      const pins: Version[] = [];
      const reported = new Set<number>();
      for (let step = 0; step < 150; step++) {
        set.apply(randomEdit(random, set));
        if (random.chance(0.3)) pins.push(set.current.ref());
        if (pins.length > 0 && random.chance(0.3)) pins.splice(random.int(0, pins.length - 1), 1)[0]!.unref();
        for (const file of set.takeObsoleteFiles()) {
          assert.ok(!reported.has(file), `file ${file} reported twice`);
          reported.add(file);
        }
        // The oracle: the live files are exactly those listed by the current version or a pin.
        const expected = new Set([...set.current.fileNumbers(), ...pins.flatMap((v) => [...v.fileNumbers()])]);
        assert.deepEqual([...set.liveFileNumbers()].sort((a, b) => a - b), [...expected].sort((a, b) => a - b));
        for (const file of reported) assert.ok(!expected.has(file), `file ${file} was reported while listed`);
      }
      for (const pin of pins) pin.unref();
      for (const file of set.takeObsoleteFiles()) reported.add(file);
      // Every file ever made is now either current or reported.
      for (let file = 1; file < set.counters.nextFileNumber; file++) assert.ok(reported.has(file) !== set.isLive(file), `file ${file}`);
      assert.equal(set.liveVersionCount, 1);
    }
  });

  test('the snapshot edit rebuilds the same state in a fresh set', () => {
    const random = new SeededRandom(3);
    const set = new VersionSet();
    for (let i = 0; i < 100; i++) set.apply(randomEdit(random, set));
    const copy = new VersionSet();
    copy.apply(set.snapshotEdit());
    assert.deepEqual(describeVersion(copy.current), describeVersion(set.current));
    assert.deepEqual(copy.counters, set.counters);
  });
});
