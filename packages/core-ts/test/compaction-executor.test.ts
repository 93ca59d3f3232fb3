/**
 * The compaction executor on real tables (TableBuilder → files in a temp dir → TableReader): the
 * output equals a reference model (the newest version per key, the versions live snapshots see,
 * tombstones dropped only where nothing lies below), every read point sees the same data before
 * and after, outputs are disjoint, ordered and never split a user key, the edit installs on the
 * version, abort and failure leave no output behind, and the native and TypeScript accelerators
 * write byte-identical outputs.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { loadNativeAccelerator, tsAccelerator, type Accelerator } from '@siltdb/bindings';
import {
  bottommostChecker,
  CompactionPlanner,
  runCompaction,
  type CompactionEnv,
  type CompactionJob,
  type CompactionProgress,
} from '../src/compaction/index.js';
import { compareInternalKeys, compareUserKeys, encodeInternalKey, Kind, MAX_SEQ, readTrailer, TRAILER_BYTES } from '../src/keys/internal-key.js';
import { partitionBoundaries } from '../src/compaction/partitions.js';
import { manifestMetaOf, Version, type TableMeta } from '../src/manifest/index.js';
import { TableBuilder, TableReader, type TableMeta as BuiltTable } from '../src/table/index.js';
import { NodeVfs } from '../src/vfs/index.js';
import { chargePointer, encodePointer } from '../src/vlog/index.js';
import { tempDir } from './helpers/log-fixtures.js';
import { rng } from './db-helpers.js';

const vfs = new NodeVfs();
const utf8 = new TextEncoder();

interface Entry {
  readonly userKey: Uint8Array;
  readonly seq: number;
  readonly kind: Kind;
  readonly value: Uint8Array;
}

const internalOf = (e: Entry): Uint8Array => encodeInternalKey(e.userKey, e.seq);
const byInternal = (a: Entry, b: Entry): number => compareUserKeys(a.userKey, b.userKey) || b.seq - a.seq;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function buildTable(dir: string, fileNumber: number, entries: readonly Entry[], accelerator: Accelerator): Promise<BuiltTable> {
  const builder = await TableBuilder.create({ vfs, path: join(dir, `${fileNumber}.sst`), fileNumber, accelerator, blockSize: 1024 });
  const charges = new Map<number, number>();
  for (const e of [...entries].sort(byInternal)) {
    chargePointer(charges, e.kind, e.value);
    const wait = builder.add(internalOf(e), e.kind, e.value);
    if (wait !== undefined) await wait;
  }
  return builder.finish(charges);
}

function readTable(path: string, fileNumber: number, accelerator: Accelerator): Entry[] {
  const reader = TableReader.open(path, { fileNumber, accelerator });
  try {
    const all = reader.readAllEntries();
    const out: Entry[] = [];
    for (let i = 0; i < all.tags.length; i++) {
      const key = all.keys.data.subarray(all.keys.offsets[i]!, all.keys.offsets[i + 1]!);
      out.push({
        userKey: key.slice(0, key.length - TRAILER_BYTES),
        seq: readTrailer(key, key.length - TRAILER_BYTES),
        kind: all.tags[i]! as Kind,
        value: all.values.data.slice(all.values.offsets[i]!, all.values.offsets[i + 1]!),
      });
    }
    return out;
  } finally {
    reader.close();
  }
}

interface Scenario {
  readonly dir: string;
  readonly version: Version;
  /** Every entry of the job's input tables. */
  readonly inputs: Entry[];
  /** Entries of the level below the output level (not compacted). */
  readonly below: Entry[];
  readonly snapshots: number[];
  readonly tablePaths: Map<number, string>;
  nextFileNumber: number;
}

/**
 * A tree with an upper level (several L0 tables, or key-partitioned L1 tables), the level under it
 * (key-partitioned), and optionally a deeper level holding some of the keys. Each key's versions
 * are split by age: oldest deepest, newest in the upper level. ~25 % of versions are tombstones,
 * and keys have up to 8 versions so they straddle output-table cuts.
 */
async function makeScenario(
  t: TestContext,
  options: { seed: number; keys: number; upperLevel: 0 | 1; upperTables: number; lowerTables: number; deepLevel?: number; snapshots: number; hotVersions?: number },
  accelerator: Accelerator = tsAccelerator,
): Promise<Scenario> {
  const dir = tempDir(t, 'silt-compaction-');
  const random = rng(options.seed);
  const userKeys = new Map<string, Uint8Array>();
  while (userKeys.size < options.keys) {
    const text = `key${Math.floor(random() * options.keys * 8).toString(36)}${random() < 0.3 ? '' : '/'.padEnd(1 + Math.floor(random() * 4), 'x')}`;
    userKeys.set(text, utf8.encode(text));
  }
  const keys = [...userKeys.values()].sort(compareUserKeys);
  // Optionally every 50th key is "hot": so many versions they span several blocks of each table.
  const versionsPer = keys.map((_, k) => (options.hotVersions !== undefined && k % 50 === 25 ? options.hotVersions : 1 + Math.floor(random() * 8)));
  const totalVersions = versionsPer.reduce((a, b) => a + b, 0);
  // Distinct seqs, shuffled across keys.
  const seqs = Array.from({ length: totalVersions }, (_, i) => i + 1);
  for (let i = seqs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [seqs[i], seqs[j]] = [seqs[j]!, seqs[i]!];
  }
  const upper: Entry[][] = Array.from({ length: options.upperTables }, () => []);
  const lower: Entry[][] = Array.from({ length: options.lowerTables }, () => []);
  const below: Entry[] = [];
  let s = 0;
  keys.forEach((userKey, k) => {
    const mine = seqs.slice(s, s + versionsPer[k]!).sort((a, b) => a - b);
    s += versionsPer[k]!;
    const entries = mine.map((seq): Entry => {
      const kind = random() < 0.25 ? Kind.Delete : random() < 0.05 ? Kind.Pointer : Kind.Put;
      const value =
        kind === Kind.Delete
          ? new Uint8Array(0)
          : kind === Kind.Pointer
            ? encodePointer({ segment: 1 + (seq % 3), frameOffset: 20 + seq, frameLength: 100, subIndex: seq % 4, recordBytes: 10 + (seq % 50) })
            : utf8.encode(`v${seq}:${'#'.repeat(Math.floor(random() * 40))}`);
      return { userKey, seq, kind, value };
    });
    // Oldest first: maybe some to the deep level (only for every third key), some to the lower
    // level, the rest to the upper level.
    let at = 0;
    if (options.deepLevel !== undefined && k % 3 === 0) {
      const n = Math.floor(random() * 2);
      for (; at < n && at < entries.length; at++) below.push(entries[at]!);
    }
    const lowerCount = options.lowerTables === 0 ? 0 : Math.floor(random() * (entries.length - at + 1));
    const partition = Math.floor((k * options.lowerTables) / keys.length);
    for (const end = at + lowerCount; at < end; at++) lower[partition]!.push(entries[at]!);
    for (; at < entries.length; at++) {
      const table = options.upperLevel === 0 ? Math.floor(random() * options.upperTables) : Math.floor((k * options.upperTables) / keys.length);
      upper[table]!.push(entries[at]!);
    }
  });

  const tablePaths = new Map<number, string>();
  const added: { level: number; table: TableMeta }[] = [];
  let fileNumber = 1;
  const add = async (level: number, entries: Entry[]): Promise<void> => {
    if (entries.length === 0) return;
    const built = await buildTable(dir, fileNumber++, entries, accelerator);
    tablePaths.set(built.fileNumber, built.path);
    added.push({ level, table: manifestMetaOf(built) });
  };
  for (const entries of upper) await add(options.upperLevel, entries);
  for (const entries of lower) await add(options.upperLevel + 1, entries);
  if (options.deepLevel !== undefined) await add(options.deepLevel, below);

  const snapshots = Array.from({ length: options.snapshots }, () => 1 + Math.floor(random() * totalVersions));
  return {
    dir,
    version: Version.empty().apply({ added }),
    inputs: [...upper.flat(), ...lower.flat()],
    below,
    snapshots,
    tablePaths,
    nextFileNumber: fileNumber,
  };
}

function envFor(scenario: Scenario, job: CompactionJob, accelerator: Accelerator, extra: Partial<CompactionEnv> = {}, outDir = scenario.dir): CompactionEnv {
  return {
    vfs,
    accelerator,
    snapshots: scenario.snapshots,
    isBottommost: bottommostChecker(scenario.version, job.outputLevel),
    openReader: (meta) => TableReader.open(scenario.tablePaths.get(meta.fileNumber)!, { fileNumber: meta.fileNumber, accelerator, expectedLength: meta.size }),
    newTableBuilder: () => {
      const fileNumber = scenario.nextFileNumber++;
      return TableBuilder.create({ vfs, path: join(outDir, `${fileNumber}.sst`), fileNumber, accelerator, blockSize: 1024 });
    },
    ...extra,
  };
}

/** The reference model: per user key, the newest version of each snapshot stripe; then tombstones at the old end dropped where nothing lies below. */
function expectedOutput(inputs: readonly Entry[], snapshots: readonly number[], isBottommost: (key: Uint8Array) => boolean): Entry[] {
  const points = [...new Set(snapshots)].sort((a, b) => a - b);
  const groups = new Map<string, Entry[]>();
  for (const e of inputs) {
    const id = hex(e.userKey);
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id)!.push(e);
  }
  const out: Entry[] = [];
  for (const versions of groups.values()) {
    versions.sort((a, b) => b.seq - a.seq);
    const kept: Entry[] = [];
    const seen = new Set<number>();
    for (const v of versions) {
      // The read point that sees v: the smallest snapshot ≥ seq, or "now".
      const stripe = points.find((p) => p >= v.seq) ?? MAX_SEQ;
      if (!seen.has(stripe)) {
        seen.add(stripe);
        kept.push(v);
      }
    }
    if (isBottommost(versions[0]!.userKey)) while (kept.length > 0 && kept[kept.length - 1]!.kind === Kind.Delete) kept.pop();
    out.push(...kept);
  }
  return out.sort(byInternal);
}

/** What a reader at `seq` sees for every key of `entries` (tombstones resolved to absence). */
function visibleAt(entries: readonly Entry[], seq: number): Map<string, string> {
  const newest = new Map<string, Entry>();
  for (const e of entries) {
    if (e.seq > seq) continue;
    const id = hex(e.userKey);
    const current = newest.get(id);
    if (current === undefined || current.seq < e.seq) newest.set(id, e);
  }
  const out = new Map<string, string>();
  for (const [id, e] of newest) if (e.kind !== Kind.Delete) out.set(id, `${e.kind}:${hex(e.value)}`);
  return out;
}

const sameEntries = (actual: readonly Entry[], expected: readonly Entry[]): void => {
  assert.equal(actual.length, expected.length, 'entry count');
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (compareUserKeys(a.userKey, e.userKey) !== 0 || a.seq !== e.seq || a.kind !== e.kind || hex(a.value) !== hex(e.value)) {
      assert.fail(`entry ${i}: got ${hex(a.userKey)}@${a.seq}/${a.kind}, want ${hex(e.userKey)}@${e.seq}/${e.kind}`);
    }
  }
};

async function checkCompaction(t: TestContext, scenario: Scenario, job: CompactionJob, accelerator: Accelerator, extra: Partial<CompactionEnv> = {}): Promise<BuiltTable[]> {
  const env = envFor(scenario, job, accelerator, extra);
  const progress: CompactionProgress[] = [];
  const result = await runCompaction(job, {
    ...env,
    onProgress: (p) => {
      progress.push(p);
      extra.onProgress?.(p);
    },
  });
  const inputNumbers = [...job.inputs, ...job.nextInputs].map((m) => m.fileNumber).sort((a, b) => a - b);
  assert.deepEqual(result.removed.map((r) => r.fileNumber).sort((a, b) => a - b), inputNumbers);
  assert.ok(result.outputs.length > 1, 'small targets cut several outputs');
  assert.ok(result.added.every((a) => a.level === job.outputLevel));

  // Outputs: ordered, disjoint in user keys, none over the target by more than one key's versions.
  const produced: Entry[] = [];
  for (let i = 0; i < result.outputs.length; i++) {
    const built = result.outputs[i]!;
    produced.push(...readTable(built.path, built.fileNumber, accelerator));
    if (i > 0) {
      const previous = result.outputs[i - 1]!;
      const prevUser = previous.largestKey.subarray(0, previous.largestKey.length - TRAILER_BYTES);
      const nextUser = built.smallestKey.subarray(0, built.smallestKey.length - TRAILER_BYTES);
      assert.ok(compareUserKeys(prevUser, nextUser) < 0, `outputs ${i - 1} and ${i} share or disorder a user key`);
    }
  }
  for (let i = 1; i < produced.length; i++) assert.ok(compareInternalKeys(internalOf(produced[i - 1]!), internalOf(produced[i]!)) < 0);

  // Exactly the reference model.
  const isBottommost = bottommostChecker(scenario.version, job.outputLevel);
  const expected = expectedOutput(scenario.inputs, scenario.snapshots, isBottommost);
  sameEntries(produced, expected);
  assert.equal(result.stats.outputEntries, expected.length);
  assert.equal(result.stats.inputEntries, scenario.inputs.length);
  assert.equal(result.stats.inputEntries - result.stats.outputEntries, result.stats.droppedShadowed + result.stats.droppedTombstones);

  // The ledger's stale delta is exactly the value-log charge of the pointer entries dropped.
  const keptCharges = new Map<number, number>();
  for (const e of expected) chargePointer(keptCharges, e.kind, e.value);
  const inputCharges = new Map<number, number>();
  for (const e of scenario.inputs) chargePointer(inputCharges, e.kind, e.value);
  const dropped = new Map<number, number>();
  for (const [segment, bytes] of inputCharges) if (bytes > (keptCharges.get(segment) ?? 0)) dropped.set(segment, bytes - (keptCharges.get(segment) ?? 0));
  assert.deepEqual(result.droppedValueLogBytes, dropped);
  assert.ok(dropped.size > 0, 'the scenario drops pointer entries');
  assert.deepEqual(
    result.edit.valueLog ?? [],
    [...dropped].sort((a, b) => a[0] - b[0]).map(([segment, addStale]) => ({ segment, addStale })),
  );
  for (const built of result.outputs) {
    const own = new Map<number, number>();
    for (const e of readTable(built.path, built.fileNumber, accelerator)) chargePointer(own, e.kind, e.value);
    assert.deepEqual(built.properties.valueLogBytes, own);
  }

  // Every read point (each snapshot and "now") sees the same data through the deeper level.
  for (const point of [...scenario.snapshots, MAX_SEQ]) {
    assert.deepEqual(visibleAt([...produced, ...scenario.below], point), visibleAt([...scenario.inputs, ...scenario.below], point), `read point ${point}`);
  }

  // The edit installs: the output level stays disjoint.
  const after = scenario.version.apply(result.edit);
  assert.equal(after.tableCountAt(job.outputLevel), scenario.version.tableCountAt(job.outputLevel) - job.nextInputs.length + result.outputs.length);
  assert.ok(progress.some((p) => p.phase === 'merge'));
  assert.equal(progress.at(-1)!.phase, 'done');
  assert.equal(progress.at(-1)!.outputTables, result.outputs.length);
  return result.outputs as BuiltTable[];
}

describe('compaction executor', () => {
  test('L0 → L1 with snapshots and a deeper level: equals the reference model', async (t) => {
    const scenario = await makeScenario(t, { seed: 1, keys: 3000, upperLevel: 0, upperTables: 4, lowerTables: 3, deepLevel: 2, snapshots: 6 });
    const job = new CompactionPlanner({ targetFileBytes: 16 * 1024 }).pick(scenario.version)!;
    assert.equal(job.level, 0);
    assert.equal(job.inputs.length, 4);
    await checkCompaction(t, scenario, job, tsAccelerator);
  });

  test('L0 → L1 at the bottom without snapshots: one version per key, no tombstones left', async (t) => {
    const scenario = await makeScenario(t, { seed: 2, keys: 2000, upperLevel: 0, upperTables: 5, lowerTables: 2, snapshots: 0 });
    const job = new CompactionPlanner({ targetFileBytes: 8 * 1024 }).pick(scenario.version)!;
    await checkCompaction(t, scenario, job, tsAccelerator);
    // Directly: nothing below, no snapshots.
    const outputs = readdirSync(scenario.dir).length;
    assert.ok(outputs > scenario.tablePaths.size);
  });

  test('L1 → L2 (one concatenated run per level) with tombstones kept above a deeper level', async (t) => {
    const scenario = await makeScenario(t, { seed: 3, keys: 2500, upperLevel: 1, upperTables: 3, lowerTables: 4, deepLevel: 3, snapshots: 3 });
    const job = new CompactionPlanner({ targetFileBytes: 12 * 1024 }).compactRange(scenario.version, undefined, undefined, 1)!;
    assert.deepEqual([job.level, job.outputLevel, job.inputs.length], [1, 2, 3]);
    await checkCompaction(t, scenario, job, tsAccelerator);
  });

  test('many snapshots: every version some snapshot sees survives', async (t) => {
    const scenario = await makeScenario(t, { seed: 4, keys: 800, upperLevel: 0, upperTables: 4, lowerTables: 1, snapshots: 200 });
    const job = new CompactionPlanner({ targetFileBytes: 4 * 1024 }).pick(scenario.version)!;
    await checkCompaction(t, scenario, job, tsAccelerator);
  });

  for (const [name, upperLevel] of [['L0 → L1', 0], ['L1 → L2', 1]] as const) {
    test(`${name} in partitions far smaller than the input: the reference model, byte-identical to one merge`, async (t) => {
      for (const accelerator of [tsAccelerator, loadNativeAccelerator().accelerator]) {
        const scenario = await makeScenario(
          t,
          { seed: 11 + upperLevel, keys: 2500, upperLevel, upperTables: 4, lowerTables: 3, deepLevel: 3, snapshots: 5, hotVersions: 120 },
          accelerator,
        );
        const planner = new CompactionPlanner({ targetFileBytes: 16 * 1024 });
        const job = upperLevel === 0 ? planner.pick(scenario.version)! : planner.compactRange(scenario.version, undefined, undefined, 1)!;
        assert.equal(job.level, upperLevel);
        const inputBytes = [...job.inputs, ...job.nextInputs].reduce((sum, m) => sum + m.size, 0);
        const partitionBytes = 4096;
        assert.ok(inputBytes > 40 * partitionBytes, `inputs of ${inputBytes} bytes`);
        const start = scenario.nextFileNumber;
        let merges = 0;
        const partitioned = await checkCompaction(t, scenario, job, accelerator, {
          partitionBytes,
          onProgress: (p) => {
            if (p.phase === 'merge') merges++;
          },
        });
        assert.ok(merges >= 20, `${merges} partitions merged`);
        // The same job merged at once writes the same files, byte for byte.
        scenario.nextFileNumber = start;
        const whole = await runCompaction(job, envFor(scenario, job, accelerator, { partitionBytes: Infinity }, tempDir(t, 'silt-compaction-whole-')));
        assert.equal(whole.outputs.length, partitioned.length);
        for (let i = 0; i < partitioned.length; i++) {
          assert.ok(readFileSync(whole.outputs[i]!.path).equals(readFileSync(partitioned[i]!.path)), `output ${i} differs`);
        }
      }
    });
  }

  test('a partition boundary never splits a user key, even one whose versions span many blocks', async (t) => {
    const scenario = await makeScenario(t, { seed: 13, keys: 600, upperLevel: 0, upperTables: 4, lowerTables: 1, snapshots: 0, hotVersions: 400 });
    const job = new CompactionPlanner({ targetFileBytes: 16 * 1024 }).pick(scenario.version)!;
    const readers = [...job.inputs, ...job.nextInputs].map((m) => TableReader.open(scenario.tablePaths.get(m.fileNumber)!, { fileNumber: m.fileNumber }));
    try {
      const boundaries = partitionBoundaries(readers, 2048);
      assert.ok(boundaries.length > 10);
      for (let i = 1; i < boundaries.length; i++) assert.ok(compareUserKeys(boundaries[i - 1]!, boundaries[i]!) < 0, 'boundaries ascend strictly');
      // Reading partition by partition yields every entry exactly once, each user key in one partition.
      for (const reader of readers) {
        const seen = new Map<string, number>();
        let count = 0;
        for (let p = 0; p <= boundaries.length; p++) {
          const part = reader.readEntriesBetween(p === 0 ? null : boundaries[p - 1]!, p === boundaries.length ? null : boundaries[p]!);
          for (let i = 0; i < part.tags.length; i++) {
            const key = part.keys.data.subarray(part.keys.offsets[i]!, part.keys.offsets[i + 1]! - TRAILER_BYTES);
            const where = seen.get(hex(key));
            assert.ok(where === undefined || where === p, 'a user key in two partitions');
            seen.set(hex(key), p);
            count++;
          }
        }
        assert.equal(count, reader.properties.entryCount);
      }
      assert.deepEqual(partitionBoundaries(readers, Infinity), []);
    } finally {
      for (const reader of readers) reader.close();
    }
  });

  test('a trivial move rewrites nothing', async (t) => {
    const scenario = await makeScenario(t, { seed: 5, keys: 100, upperLevel: 1, upperTables: 1, lowerTables: 0, snapshots: 0 });
    const planner = new CompactionPlanner({ baseLevelBytes: 1 });
    const job = planner.pick(scenario.version)!;
    assert.equal(job.trivialMove, true);
    const before = readdirSync(scenario.dir).sort();
    const result = await runCompaction(job, envFor(scenario, job, tsAccelerator));
    assert.deepEqual(readdirSync(scenario.dir).sort(), before);
    assert.deepEqual(result.added, [{ level: 2, table: job.inputs[0] }]);
    assert.deepEqual(result.removed, [{ level: 1, fileNumber: job.inputs[0]!.fileNumber }]);
    const after = scenario.version.apply(result.edit);
    assert.equal(after.levelOfTable(job.inputs[0]!.fileNumber), 2);
  });

  test('an abort mid-way removes the partial outputs and rejects with AbortError', async (t) => {
    const scenario = await makeScenario(t, { seed: 6, keys: 3000, upperLevel: 0, upperTables: 4, lowerTables: 2, snapshots: 1 });
    const job = new CompactionPlanner({ targetFileBytes: 4 * 1024 }).pick(scenario.version)!;
    const before = readdirSync(scenario.dir).sort();
    const controller = new AbortController();
    let seenOutputs = 0;
    const error = await runCompaction(
      job,
      envFor(scenario, job, tsAccelerator, {
        signal: controller.signal,
        onProgress: (p) => {
          seenOutputs = p.outputTables;
          if (p.outputTables === 3) controller.abort(new Error('shutting down'));
        },
      }),
    ).then(
      () => assert.fail('the compaction should have been aborted'),
      (e: unknown) => e as Error,
    );
    assert.equal(error.name, 'AbortError');
    assert.ok(error instanceof DOMException);
    assert.equal((error.cause as Error).message, 'shutting down');
    assert.equal(seenOutputs, 3);
    assert.deepEqual(readdirSync(scenario.dir).sort(), before, 'only the input tables remain');

    // Already aborted: nothing is read or written.
    let opened = 0;
    const aborted = AbortSignal.abort();
    await assert.rejects(
      runCompaction(job, envFor(scenario, job, tsAccelerator, { signal: aborted, openReader: () => { opened++; throw new Error('not reached'); } })),
      { name: 'AbortError' },
    );
    assert.equal(opened, 0);
  });

  test('an abort between the last output and the end still removes every output', async (t) => {
    const scenario = await makeScenario(t, { seed: 7, keys: 400, upperLevel: 0, upperTables: 4, lowerTables: 1, snapshots: 0 });
    const job = new CompactionPlanner({ targetFileBytes: 64 * 1024 * 1024 }).pick(scenario.version)!;
    const before = readdirSync(scenario.dir).sort();
    const controller = new AbortController();
    await assert.rejects(
      runCompaction(job, envFor(scenario, job, tsAccelerator, { signal: controller.signal, onProgress: (p) => { if (p.outputTables === 1) controller.abort(); } })),
      { name: 'AbortError' },
    );
    assert.deepEqual(readdirSync(scenario.dir).sort(), before);
  });

  test('a failure creating an output removes the outputs already written and propagates', async (t) => {
    const scenario = await makeScenario(t, { seed: 8, keys: 2000, upperLevel: 0, upperTables: 4, lowerTables: 2, snapshots: 0 });
    const job = new CompactionPlanner({ targetFileBytes: 4 * 1024 }).pick(scenario.version)!;
    const before = readdirSync(scenario.dir).sort();
    const env = envFor(scenario, job, tsAccelerator);
    let made = 0;
    await assert.rejects(
      runCompaction(job, {
        ...env,
        newTableBuilder: () => {
          if (++made === 4) return Promise.reject(new Error('disk full'));
          return env.newTableBuilder();
        },
      }),
      /disk full/,
    );
    assert.deepEqual(readdirSync(scenario.dir).sort(), before);
  });

  test('bad input is INVALID_ARGUMENT', async (t) => {
    const scenario = await makeScenario(t, { seed: 9, keys: 50, upperLevel: 0, upperTables: 4, lowerTables: 1, snapshots: 0 });
    const job = new CompactionPlanner().pick(scenario.version)!;
    await assert.rejects(runCompaction(job, { ...envFor(scenario, job, tsAccelerator), snapshots: [-1] }), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(runCompaction(job, {} as CompactionEnv), { code: 'INVALID_ARGUMENT' });
  });

  describe('native and TypeScript accelerators', () => {
    let native: Accelerator | undefined;
    try {
      native = loadNativeAccelerator().accelerator;
    } catch {
      native = undefined;
    }
    test('the native accelerator loads', () => {
      // The native module is part of this repository's build; its absence is a failure here.
      assert.ok(native !== undefined);
    });

    test('write byte-identical outputs for the same job', async (t) => {
      assert.ok(native !== undefined);
      const scenario = await makeScenario(t, { seed: 10, keys: 3000, upperLevel: 0, upperTables: 4, lowerTables: 3, deepLevel: 2, snapshots: 4 });
      const job = new CompactionPlanner({ targetFileBytes: 16 * 1024 }).pick(scenario.version)!;
      const start = scenario.nextFileNumber;
      const tsOutputs = await checkCompaction(t, scenario, job, tsAccelerator);
      scenario.nextFileNumber = start;
      const nativeDir = tempDir(t, 'silt-compaction-native-');
      const result = await runCompaction(job, envFor(scenario, job, native, {}, nativeDir));
      assert.equal(result.outputs.length, tsOutputs.length);
      for (let i = 0; i < tsOutputs.length; i++) {
        assert.equal(result.outputs[i]!.fileNumber, tsOutputs[i]!.fileNumber);
        assert.ok(readFileSync(result.outputs[i]!.path).equals(readFileSync(tsOutputs[i]!.path)), `output ${i} differs`);
      }
    });
  });
});
