/**
 * The compaction planner on synthetic versions: the L0 trigger, level scores and the round-robin
 * pick, overlapping inputs in the next level, expansion so no user key is split, manual range jobs,
 * write stall states, the bottommost check, and option validation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bottommostChecker,
  CompactionPlanner,
  resolveCompactionOptions,
  writeStall,
  type CompactionJob,
} from '../src/compaction/index.js';
import { encodeInternalKey } from '../src/keys/internal-key.js';
import { Version, type TableMeta } from '../src/manifest/index.js';

const utf8 = new TextEncoder();
const bytes = (s: string): Uint8Array => utf8.encode(s);

interface Spec {
  readonly level: number;
  readonly n: number;
  readonly from: string;
  readonly to: string;
  readonly size?: number;
  /** maxSeq (minSeq is one less); L0 is ordered by it, newest first. */
  readonly seq?: number;
}

function meta(spec: Spec): TableMeta {
  const seq = spec.seq ?? spec.n + 1;
  return {
    fileNumber: spec.n,
    size: spec.size ?? 100,
    smallest: encodeInternalKey(bytes(spec.from), seq),
    largest: encodeInternalKey(bytes(spec.to), seq - 1),
    minSeq: seq - 1,
    maxSeq: seq,
    entries: 2,
    valueLogBytes: new Map(),
  };
}

function version(specs: readonly Spec[]): Version {
  return Version.empty().apply({ added: specs.map((s) => ({ level: s.level, table: meta(s) })) });
}

const numbers = (tables: readonly TableMeta[]): number[] => tables.map((t) => t.fileNumber);
const text = (key: Uint8Array): string => new TextDecoder().decode(key);

describe('compaction planner', () => {
  test('nothing to do on an empty or small tree', () => {
    const planner = new CompactionPlanner();
    assert.equal(planner.pick(Version.empty()), null);
    assert.equal(planner.pick(version([{ level: 0, n: 1, from: 'a', to: 'z' }, { level: 1, n: 2, from: 'a', to: 'm' }])), null);
  });

  test('L0 reaching its trigger compacts every L0 table with the overlapping L1 tables', () => {
    const planner = new CompactionPlanner();
    const l1 = [
      { level: 1, n: 10, from: 'a', to: 'b' },
      { level: 1, n: 11, from: 'c', to: 'e' },
      { level: 1, n: 12, from: 'f', to: 'h' },
      { level: 1, n: 13, from: 'x', to: 'z' },
    ];
    const three = [
      { level: 0, n: 1, from: 'd', to: 'f', seq: 100 },
      { level: 0, n: 2, from: 'c', to: 'd', seq: 200 },
      { level: 0, n: 3, from: 'e', to: 'g', seq: 300 },
    ];
    assert.equal(planner.pick(version([...three, ...l1])), null, 'three L0 tables are below the trigger');
    const job = planner.pick(version([...three, { level: 0, n: 4, from: 'd', to: 'e', seq: 400 }, ...l1]))!;
    assert.equal(job.reason, 'l0');
    assert.equal(job.level, 0);
    assert.equal(job.outputLevel, 1);
    assert.deepEqual(numbers(job.inputs), [4, 3, 2, 1], 'all L0 tables, newest first');
    assert.deepEqual(numbers(job.nextInputs), [11, 12], 'only the L1 tables meeting c..g');
    assert.equal(text(job.smallestUserKey), 'c');
    assert.equal(text(job.largestUserKey), 'h');
    assert.equal(job.trivialMove, false);
    assert.equal(job.score, 1);
  });

  test('the L0 trigger wins over an oversized level', () => {
    const planner = new CompactionPlanner({ l0CompactionTrigger: 2, baseLevelBytes: 100 });
    const v = version([
      { level: 0, n: 1, from: 'a', to: 'b', seq: 10 },
      { level: 0, n: 2, from: 'a', to: 'b', seq: 20 },
      { level: 1, n: 3, from: 'c', to: 'd', size: 10_000 },
    ]);
    assert.equal(planner.pick(v)!.level, 0);
  });

  test('the level with the highest score ≥ 1 is picked, with the overlapping tables below it', () => {
    const planner = new CompactionPlanner({ baseLevelBytes: 1000, levelMultiplier: 10 });
    // L1: 1500 / 1000 = 1.5; L2: 25000 / 10000 = 2.5; L3: 50000 / 100000 = 0.5.
    const v = version([
      { level: 1, n: 1, from: 'a', to: 'c', size: 1500 },
      { level: 2, n: 2, from: 'a', to: 'f', size: 12_500 },
      { level: 2, n: 3, from: 'g', to: 'p', size: 12_500 },
      { level: 3, n: 4, from: 'a', to: 'e', size: 20_000 },
      { level: 3, n: 5, from: 'f', to: 'h', size: 20_000 },
      { level: 3, n: 6, from: 'q', to: 'z', size: 10_000 },
    ]);
    const scores = planner.scores(v);
    assert.deepEqual(scores.map((s) => s.level), [0, 1, 2, 3, 4, 5]);
    assert.equal(scores[1]!.score, 1.5);
    assert.equal(scores[2]!.score, 2.5);
    assert.equal(scores[3]!.score, 0.5);
    const job = planner.pick(v)!;
    assert.equal(job.reason, 'size');
    assert.equal(job.level, 2);
    assert.equal(job.outputLevel, 3);
    assert.deepEqual(numbers(job.inputs), [2]);
    assert.deepEqual(numbers(job.nextInputs), [4, 5]);
    assert.equal(job.score, 2.5);
    assert.equal(planner.maxBytesForLevel(1), 1000);
    assert.equal(planner.maxBytesForLevel(3), 100_000);
  });

  test('a level below its target is left alone; the last level is never scored', () => {
    const planner = new CompactionPlanner({ baseLevelBytes: 1000, maxLevels: 3 });
    const v = version([
      { level: 1, n: 1, from: 'a', to: 'c', size: 999 },
      { level: 2, n: 2, from: 'a', to: 'c', size: 10 ** 9 },
    ]);
    assert.equal(planner.pick(v), null);
    assert.deepEqual(planner.scores(v).map((s) => s.level), [0, 1]);
  });

  test('files of a level are picked round-robin after the compact pointer, wrapping at the end', () => {
    const planner = new CompactionPlanner({ baseLevelBytes: 100 });
    const v = version([
      { level: 1, n: 1, from: 'a', to: 'b', size: 100 },
      { level: 1, n: 2, from: 'c', to: 'd', size: 100 },
      { level: 1, n: 3, from: 'e', to: 'f', size: 100 },
    ]);
    const picks = Array.from({ length: 5 }, () => planner.pick(v)!.inputs[0]!.fileNumber);
    assert.deepEqual(picks, [1, 2, 3, 1, 2]);
    // The pointer survives a restart through `compactPointers`.
    const restored = new CompactionPlanner({ baseLevelBytes: 100 }, planner.compactPointers);
    assert.deepEqual(restored.compactPointer(1), planner.compactPointer(1));
    assert.equal(restored.pick(v)!.inputs[0]!.fileNumber, 3);
    assert.throws(() => new CompactionPlanner({}, new Map([[0, new Uint8Array(8)]])), { code: 'INVALID_ARGUMENT' });
  });

  test('one table with nothing below it is a trivial move; manual jobs never are', () => {
    const planner = new CompactionPlanner({ baseLevelBytes: 100 });
    const v = version([
      { level: 1, n: 1, from: 'a', to: 'b', size: 300 },
      { level: 2, n: 2, from: 'x', to: 'z', size: 10 },
    ]);
    const job = planner.pick(v)!;
    assert.equal(job.trivialMove, true);
    assert.deepEqual(numbers(job.nextInputs), []);
    const manual = planner.compactRange(v, bytes('a'), bytes('z'))!;
    assert.deepEqual([manual.level, numbers(manual.inputs), numbers(manual.nextInputs), manual.trivialMove], [1, [1], [], false]);
  });

  test('inputs expand so that no user key is split between compacted and left-behind L0 tables', () => {
    const planner = new CompactionPlanner();
    // Chained overlaps: 1 meets 2 only at user key "m" (versions of "m" in both), 2 meets 3 at "p".
    const v = version([
      { level: 0, n: 1, from: 'a', to: 'm', seq: 10 },
      { level: 0, n: 2, from: 'm', to: 'p', seq: 20 },
      { level: 0, n: 3, from: 'p', to: 's', seq: 30 },
      { level: 0, n: 4, from: 'x', to: 'z', seq: 40 },
      { level: 1, n: 5, from: 'q', to: 'r' },
      { level: 1, n: 6, from: 'y', to: 'y' },
    ]);
    const job = planner.compactRange(v, bytes('b'), bytes('c'))!;
    assert.equal(job.reason, 'manual');
    assert.deepEqual(numbers(job.inputs), [3, 2, 1], 'table 1 drags in 2 (shared "m"), which drags in 3 (shared "p")');
    assert.deepEqual(numbers(job.nextInputs), [5], 'L1 overlap is taken over the expanded range a..s');
    assert.equal(text(job.smallestUserKey), 'a');
    assert.equal(text(job.largestUserKey), 's');
  });

  test('L1+ levels never share a user key between tables, so one picked table is whole', () => {
    assert.throws(
      () => version([{ level: 1, n: 1, from: 'a', to: 'm' }, { level: 1, n: 2, from: 'm', to: 'z' }]),
      { code: 'CORRUPTION' },
    );
    const planner = new CompactionPlanner({ baseLevelBytes: 100 });
    const v = version([
      { level: 1, n: 1, from: 'a', to: 'l', size: 100 },
      { level: 1, n: 2, from: 'm', to: 'z', size: 100 },
      { level: 2, n: 3, from: 'k', to: 'm' },
    ]);
    const job = planner.pick(v)!;
    assert.deepEqual(numbers(job.inputs), [1]);
    assert.deepEqual(numbers(job.nextInputs), [3], 'the L2 table meets a..l at "k" and "l"');
    assert.equal(text(job.largestUserKey), 'm');
  });

  test('compactRange pushes the range down level by level to the deepest level holding it', () => {
    const planner = new CompactionPlanner();
    let v = version([
      { level: 0, n: 1, from: 'c', to: 'e', seq: 50 },
      { level: 1, n: 2, from: 'a', to: 'b' },
      { level: 1, n: 3, from: 'd', to: 'f' },
      { level: 3, n: 4, from: 'e', to: 'g', seq: 5 },
      { level: 3, n: 5, from: 'w', to: 'z', seq: 6 },
    ]);
    const jobs: CompactionJob[] = [];
    let next = 100;
    for (let job = planner.compactRange(v, bytes('c'), bytes('e')); job; job = planner.compactRange(v, bytes('c'), bytes('e'), job.level + 1)) {
      jobs.push(job);
      // Simulate the executor: replace the inputs by one table over their range.
      const removed = [...job.inputs.map((t) => ({ level: job.level, fileNumber: t.fileNumber })), ...job.nextInputs.map((t) => ({ level: job.outputLevel, fileNumber: t.fileNumber }))];
      const table = meta({ level: job.outputLevel, n: next++, from: text(job.smallestUserKey), to: text(job.largestUserKey), seq: 60 });
      v = v.apply({ removed, added: [{ level: job.outputLevel, table }] });
    }
    assert.deepEqual(jobs.map((j) => [j.level, j.outputLevel]), [[0, 1], [1, 2], [2, 3]]);
    assert.deepEqual(numbers(jobs[0]!.inputs), [1]);
    assert.deepEqual(numbers(jobs[0]!.nextInputs), [3], 'L1 table a..b does not meet c..e');
    assert.deepEqual(numbers(jobs[2]!.nextInputs), [4]);
    assert.equal(v.tableCountAt(0) + v.tableCountAt(1) + v.tableCountAt(2), 1, 'only a..b stays above L3');
    // The whole key space when only L0 holds data: one job into L1.
    const onlyL0 = version([{ level: 0, n: 1, from: 'a', to: 'b' }]);
    const job = planner.compactRange(onlyL0)!;
    assert.deepEqual([job.level, job.outputLevel], [0, 1]);
    assert.equal(planner.compactRange(onlyL0, undefined, undefined, 1), null);
    assert.equal(planner.compactRange(onlyL0, bytes('x'), bytes('y')), null, 'nothing meets the range');
    assert.equal(planner.compactRange(onlyL0, bytes('b'), bytes('a')), null, 'an empty range');
    assert.equal(planner.compactRange(version([{ level: 6, n: 1, from: 'a', to: 'b' }])), null, 'data already at the bottom');
  });

  test('write stall states follow the L0 table count', () => {
    const l0 = (count: number): Version =>
      version(Array.from({ length: count }, (_, i) => ({ level: 0, n: i + 1, from: 'a', to: 'z', seq: i + 2 })));
    assert.equal(writeStall(Version.empty()), 'none');
    assert.equal(writeStall(l0(19)), 'none');
    assert.equal(writeStall(l0(20)), 'slowdown');
    assert.equal(writeStall(l0(35)), 'slowdown');
    assert.equal(writeStall(l0(36)), 'stop');
    const planner = new CompactionPlanner({ l0CompactionTrigger: 2, l0SlowdownTrigger: 3, l0StopTrigger: 5 });
    assert.deepEqual([2, 3, 4, 5, 6].map((n) => planner.writeStall(l0(n))), ['none', 'slowdown', 'slowdown', 'stop', 'stop']);
  });

  test('the bottommost check looks only below the output level', () => {
    const v = version([
      { level: 1, n: 1, from: 'a', to: 'z' },
      { level: 2, n: 2, from: 'c', to: 'e' },
      { level: 4, n: 3, from: 'k', to: 'm' },
      { level: 4, n: 4, from: 'p', to: 'p' },
    ]);
    const below1 = bottommostChecker(v, 1);
    assert.deepEqual(['a', 'c', 'd', 'e', 'f', 'k', 'l', 'n', 'p', 'q'].map((k) => below1(bytes(k))), [true, false, false, false, true, false, false, true, false, true]);
    // Out-of-order calls still answer correctly.
    assert.equal(below1(bytes('d')), false);
    assert.equal(below1(bytes('b')), true);
    const below2 = bottommostChecker(v, 2);
    assert.equal(below2(bytes('d')), true);
    assert.equal(below2(bytes('l')), false);
    assert.equal(bottommostChecker(v, 4)(bytes('l')), true);
  });

  test('options are validated', () => {
    assert.equal(resolveCompactionOptions().l0CompactionTrigger, 4);
    assert.equal(resolveCompactionOptions().targetFileBytes, 64 * 1024 * 1024);
    assert.throws(() => resolveCompactionOptions({ l0CompactionTrigger: 0 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => resolveCompactionOptions({ l0SlowdownTrigger: 40 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => resolveCompactionOptions({ maxLevels: 8 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => resolveCompactionOptions({ baseLevelBytes: 1.5 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => new CompactionPlanner().compactRange(Version.empty(), 'a' as unknown as Uint8Array), { code: 'INVALID_ARGUMENT' });
  });
});
