/**
 * Versioned commit store (`pnpm --filter siltdb bench`, after the log benchmark): writes
 * bench/versioned.json and the markdown section bench/results/versioned.md at the repository root
 * (bench/RESULTS.md appends it; `node bench/engines/run.mjs --render` regenerates that page).
 *
 * - Commits per second for versions of 1k and 10k changes (16-byte keys, 100-byte values), fsync on
 *   and off, with the selected accelerator and with the TypeScript one, beside the same changes
 *   written as plain engine batches (no changelog, no LtHash) in the same run: the ratio is the cost
 *   of versioning.
 * - Catch-up replay on reopen, in versions per second: `working/` is re-cloned from snapshot 0 and
 *   every version replayed from the changelog.
 * - Rollback over 1,000 versions: from 2,000 to 1,000 (a snapshot exists at the target) and to
 *   1,500 (500 versions replayed).
 * - Snapshot time against database size: a snapshot taken right after a small commit, for several
 *   database sizes; table files are hard-linked, so it should stay nearly flat.
 *
 * Environment: SILTDB_BENCH_DIR (scratch directory; default under the OS temp dir),
 * SILTDB_BENCH_QUICK=1 (smaller runs, for a smoke test).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accel, acceleratorSelection, packBytes, tsAccelerator, type Accelerator } from '@siltdb/bindings';
import { open } from '../src/index.js';
import { NodeVfs } from '../src/log.js';
import { openCommitStore, type CommitStore } from '../src/versioned.js';

const QUICK = process.env.SILTDB_BENCH_QUICK === '1';
const scratchRoot = process.env.SILTDB_BENCH_DIR ?? os.tmpdir();
mkdirSync(scratchRoot, { recursive: true });
const scratch = mkdtempSync(join(scratchRoot, 'silt-versioned-bench-'));
let runCounter = 0;
const freshDir = (): string => join(scratch, `run-${runCounter++}`);
const vfs = new NodeVfs();
const selection = acceleratorSelection();

const VALUE = new Uint8Array(100).map((_, i) => (i * 31 + 7) & 0xff);

function keyOf(i: number): Uint8Array {
  return new TextEncoder().encode(`key-${String(i).padStart(12, '0')}`);
}

/** Change set of `count` puts for version `version`, over a key space of `keySpace` keys. */
function changesFor(version: number, count: number, keySpace: number) {
  const changes = [];
  for (let i = 0; i < count; i++) {
    const value = VALUE.slice();
    value[0] = version & 0xff;
    value[1] = i & 0xff;
    changes.push({ key: keyOf((version * 7919 + i * 104729) % keySpace), value });
  }
  return [{ name: 'bench', changes }];
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

interface CommitRow {
  changesPerVersion: number;
  fsync: boolean;
  accelerator: string;
  versions: number;
  commitsPerSec: number;
  changesPerSec: number;
  engineBatchesPerSec: number;
  ratioToEngine: number;
  /** Share of the store's time spent in `applyChangeSets` (reading previous values, LtHash mixing). */
  applyShare: number;
}

async function commitRun(changesPerVersion: number, fsync: boolean, accelerator: Accelerator): Promise<CommitRow> {
  const versions = QUICK ? 3 : changesPerVersion >= 10_000 ? 12 : 60;
  const keySpace = changesPerVersion * 4;
  const sets = Array.from({ length: versions }, (_, v) => changesFor(v + 1, changesPerVersion, keySpace));

  const store = await openCommitStore(freshDir(), { fsync, accelerator, snapshotInterval: 0 });
  let start = process.hrtime.bigint();
  let applySeconds = 0;
  for (const set of sets) {
    const applyStart = process.hrtime.bigint();
    store.applyChangeSets(set);
    applySeconds += seconds(applyStart);
    await store.commit();
  }
  const storeSeconds = seconds(start);
  await store.close();

  // The peer: the same changes as engine batches, durable the same way (WAL fsync per batch or none).
  const db = await open(freshDir(), { durability: fsync ? 'sync' : 'none', accelerator });
  start = process.hrtime.bigint();
  for (const set of sets) await db.batch(set[0]!.changes.map((c) => ({ type: 'put' as const, key: c.key, value: c.value })));
  const engineSeconds = seconds(start);
  await db.close();

  const commitsPerSec = versions / storeSeconds;
  const engineBatchesPerSec = versions / engineSeconds;
  return {
    changesPerVersion,
    fsync,
    accelerator: accelerator.kind,
    versions,
    commitsPerSec,
    changesPerSec: commitsPerSec * changesPerVersion,
    engineBatchesPerSec,
    ratioToEngine: commitsPerSec / engineBatchesPerSec,
    applyShare: applySeconds / storeSeconds,
  };
}

/**
 * The LtHash alone: one `ltHashMix` call over 1,000 pairs of the commit benchmark's shape (a
 * version's mix-in; an update costs a mix-out too), wall and CPU time per pair, per accelerator.
 */
function ltHashRun(accelerator: Accelerator): { accelerator: string; pairs: number; wallMicrosPerPair: number; cpuMicrosPerPair: number } {
  const pairs = 1000;
  const changes = changesFor(1, pairs, pairs * 4)[0]!.changes;
  const keys = packBytes(changes.map((c) => c.key));
  const values = packBytes(changes.map((c) => c.value));
  let lanes: Uint8Array = new Uint8Array(2048);
  const calls = QUICK ? 3 : accelerator.kind === 'native' ? 200 : 10;
  lanes = accelerator.ltHashMix(lanes, keys, values, false);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) lanes = accelerator.ltHashMix(lanes, keys, values, false);
  const wall = seconds(start);
  const used = process.cpuUsage(cpu);
  return {
    accelerator: accelerator.kind,
    pairs,
    wallMicrosPerPair: (wall * 1e6) / (calls * pairs),
    cpuMicrosPerPair: (used.user + used.system) / (calls * pairs),
  };
}

async function buildStore(home: string, versions: number, changesPerVersion: number, snapshotInterval: number): Promise<CommitStore> {
  const store = await openCommitStore(home, { fsync: false, snapshotInterval, snapshotKeepRecent: 10 });
  for (let v = 1; v <= versions; v++) {
    store.applyChangeSets(changesFor(v, changesPerVersion, 100_000));
    await store.commit();
  }
  return store;
}

async function catchUpRun(): Promise<{ versions: number; changesPerVersion: number; seconds: number; versionsPerSec: number }> {
  const versions = QUICK ? 50 : 1000;
  const changesPerVersion = 100;
  const home = freshDir();
  const store = await buildStore(home, versions, changesPerVersion, 0);
  await store.close();
  // Force a re-clone from snapshot 0: the reopen replays every version from the changelog.
  await vfs.unlink(join(home, 'working', 'SNAPSHOT_BASE'));
  const start = process.hrtime.bigint();
  const reopened = await openCommitStore(home, { fsync: false, snapshotInterval: 0 });
  const elapsed = seconds(start);
  const { replayed } = await reopened.info();
  await reopened.close();
  if (replayed !== versions) throw new Error(`replayed ${replayed} versions, expected ${versions}`);
  return { versions, changesPerVersion, seconds: elapsed, versionsPerSec: versions / elapsed };
}

async function rollbackRun(): Promise<{ from: number; to: number; replayed: number; seconds: number }[]> {
  const span = QUICK ? 50 : 1000;
  const rows = [];
  for (const to of [span, span + span / 2]) {
    const home = freshDir();
    const store = await buildStore(home, 2 * span, 100, span);
    const start = process.hrtime.bigint();
    await store.rollback(to);
    const elapsed = seconds(start);
    const { replayed } = await store.info();
    await store.close();
    rows.push({ from: 2 * span, to, replayed, seconds: elapsed });
  }
  return rows;
}

async function snapshotRun(): Promise<{ keys: number; tableFiles: number; megabytes: number; seconds: number }[]> {
  const sizes = QUICK ? [10_000, 40_000] : [10_000, 100_000, 400_000];
  const rows = [];
  for (const keys of sizes) {
    const home = freshDir();
    const store = await openCommitStore(home, { fsync: false, snapshotInterval: 0, memtableBytes: 8 * 1024 * 1024 });
    const perVersion = 10_000;
    for (let v = 0; v < keys / perVersion; v++) {
      const changes = [];
      for (let i = 0; i < perVersion; i++) changes.push({ key: keyOf(v * perVersion + i), value: VALUE });
      store.applyChangeSets([{ name: 'load', changes }]);
      await store.commit();
    }
    await store.writeSnapshot();
    // The median of three snapshots, each right after a one-change commit.
    const times: number[] = [];
    for (let round = 0; round < 3; round++) {
      store.applyChangeSets([{ name: 'small', changes: [{ key: keyOf(round), value: VALUE.slice(1 + round) }] }]);
      await store.commit();
      const start = process.hrtime.bigint();
      await store.writeSnapshot();
      times.push(seconds(start));
    }
    const elapsed = times.sort((a, b) => a - b)[1]!;
    const snapshot = (await vfs.readdir(home)).filter((name) => name.startsWith('snapshot-')).at(-1)!;
    const files = await vfs.readdir(join(home, snapshot));
    let bytes = 0;
    for (const name of files.filter((n) => n.endsWith('.sst'))) bytes += (await vfs.readFile(join(home, snapshot, name))).length;
    await store.close();
    rows.push({ keys, tableFiles: files.filter((n) => n.endsWith('.sst')).length, megabytes: bytes / 1e6, seconds: elapsed });
  }
  return rows;
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const loadAtStart = os.loadavg()[0]!;
console.log(`versioned store benchmark (accelerator: ${selection.kind}${QUICK ? ', quick' : ''}, load average ${loadAtStart.toFixed(1)})`);
const commits: CommitRow[] = [];
const accelerators = selection.kind === 'native' ? [accel, tsAccelerator] : [tsAccelerator];
for (const changesPerVersion of [1000, 10_000]) {
  for (const fsync of [true, false]) {
    for (const accelerator of accelerators) {
      const row = await commitRun(changesPerVersion, fsync, accelerator);
      commits.push(row);
      console.log(
        `commit ${fmt(changesPerVersion)} changes, fsync ${fsync ? 'on' : 'off'}, ${row.accelerator}: ${fmt(row.commitsPerSec, 1)} commits/s ` +
          `(${fmt(row.changesPerSec)} changes/s); engine batches ${fmt(row.engineBatchesPerSec, 1)}/s; ratio ${row.ratioToEngine.toFixed(2)}×`,
      );
    }
  }
}
const ltHash = accelerators.map(ltHashRun);
for (const r of ltHash) console.log(`ltHashMix ${r.accelerator}: ${r.wallMicrosPerPair.toFixed(2)} µs/pair wall, ${r.cpuMicrosPerPair.toFixed(2)} µs/pair CPU`);
const catchUp = await catchUpRun();
console.log(`catch-up: ${catchUp.versions} versions of ${catchUp.changesPerVersion} changes in ${catchUp.seconds.toFixed(2)} s = ${fmt(catchUp.versionsPerSec)} versions/s`);
const rollbacks = await rollbackRun();
for (const r of rollbacks) console.log(`rollback ${r.from} → ${r.to} (${r.replayed} replayed): ${(r.seconds * 1000).toFixed(0)} ms`);
const snapshots = await snapshotRun();
for (const s of snapshots) console.log(`snapshot of ${fmt(s.keys)} keys (${s.tableFiles} tables, ${s.megabytes.toFixed(1)} MB): ${(s.seconds * 1000).toFixed(1)} ms`);
rmSync(scratch, { recursive: true, force: true });

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench');
const meta = {
  benchmark: 'versioned commit store',
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: os.cpus().length,
  accelerator: selection.kind,
  quick: QUICK,
  loadAverage: { start: loadAtStart, end: os.loadavg()[0]! },
};
writeFileSync(join(root, 'versioned.json'), `${JSON.stringify({ ...meta, commits, ltHash, catchUp, rollbacks, snapshots }, null, 2)}\n`);

const md: string[] = [];
md.push('## Versioned commit store', '');
md.push(
  `\`packages/core-ts/bench/versioned.bench.ts\`, ${meta.date.slice(0, 10)}, node ${meta.node}, ${meta.platform}, ${meta.cpus} CPUs` +
    `${QUICK ? ' (quick run)' : ''}, 1-minute load average ${meta.loadAverage.start.toFixed(1)} at the start and ` +
    `${meta.loadAverage.end.toFixed(1)} at the end (above the CPU count, other work shared the machine and the numbers are noisy). Keys of 16 bytes, values of 100 bytes. "Engine" is the same changes written as plain engine ` +
    'batches in the same run (WAL fsync per batch when fsync is on, no WAL when off): the ratio is what versioning costs ' +
    '(changelog record, LtHash of every change, metadata record).',
  '',
);
md.push(
  '| changes per version | fsync | LtHash | commits/s | changes/s | engine batches/s | store ÷ engine | time in applyChangeSets |',
  '|---:|---|---|---:|---:|---:|---:|---:|',
);
for (const r of commits) {
  md.push(
    `| ${fmt(r.changesPerVersion)} | ${r.fsync ? 'on' : 'off'} | ${r.accelerator} | ${fmt(r.commitsPerSec, 1)} | ${fmt(r.changesPerSec)} | ${fmt(r.engineBatchesPerSec, 1)} | ${r.ratioToEngine.toFixed(2)}× | ${(r.applyShare * 100).toFixed(0)} % |`,
  );
}
md.push('');
md.push(
  '`applyChangeSets` reads each key\'s previous value and mixes the change set into the LtHash (a mix-out call for the ' +
    'updated keys, a mix-in call for the new values); the rest of a commit is the changelog record and the engine batch. ' +
    'The LtHash alone, one `ltHashMix` call over 1,000 of these pairs:',
  '',
);
md.push('| accelerator | µs per pair (wall) | µs per pair (CPU, all threads) |', '|---|---:|---:|');
for (const r of ltHash) md.push(`| ${r.accelerator} | ${r.wallMicrosPerPair.toFixed(2)} | ${r.cpuMicrosPerPair.toFixed(2)} |`);
md.push('');
md.push(
  `Catch-up on reopen (working/ re-cloned from snapshot 0, ${catchUp.versions} versions of ${catchUp.changesPerVersion} changes replayed): ` +
    `${catchUp.seconds.toFixed(2)} s, **${fmt(catchUp.versionsPerSec)} versions/s**.`,
  '',
);
md.push('| rollback | versions replayed | time |', '|---|---:|---:|');
for (const r of rollbacks) md.push(`| ${r.from} → ${r.to} | ${r.replayed} | ${(r.seconds * 1000).toFixed(0)} ms |`);
md.push('');
md.push('| snapshot of | table files | table MB | time |', '|---:|---:|---:|---:|');
for (const s of snapshots) md.push(`| ${fmt(s.keys)} keys | ${s.tableFiles} | ${s.megabytes.toFixed(1)} | ${(s.seconds * 1000).toFixed(1)} ms |`);
md.push('', 'Each snapshot time is the median of three, each taken right after a one-change commit. Snapshots hard-link the table files, so their time follows the file count, not the bytes.', '');
mkdirSync(join(root, 'results'), { recursive: true });
writeFileSync(join(root, 'results', 'versioned.md'), md.join('\n'));
console.log(`wrote ${join(root, 'versioned.json')} and ${join(root, 'results', 'versioned.md')}`);
