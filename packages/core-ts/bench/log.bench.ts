/**
 * IndexedLog throughput (`pnpm --filter siltdb bench`): appends per second and MB/s for 100-byte
 * and 4 KiB entries, with fsync off, with group commit (many concurrent appenders) and with an
 * fsync per append, beside the raw speed of writing the same payload bytes to a plain file in the
 * same run. Prints a table with ratios and writes bench/log.json at the repository root.
 *
 * Baselines (same bytes, same node:fs write path, no framing, no checksums):
 * - raw, 1 MiB writes: the payloads copied into 1 MiB buffers, one write call per buffer — what
 *   the page cache and the write path can take; the log with fsync off is measured against it.
 * - raw, write per entry: one awaited write call per payload — appending without a log.
 * - raw, write+fdatasync per entry: the floor under any durable per-append scheme.
 *
 * Ratios are of entries/s, that is of payload bytes per second: the log's 12-byte record headers
 * (and 20-byte segment stamp) are its own overhead and are not credited to it. The fsync-off log
 * rows and the raw 1 MiB row are measured in interleaved rounds (raw, log ×1, log appendMany, raw,
 * …) after one warm-up of each, so that drift in the machine (page cache, other load) hits them
 * alike; the median round of each is reported. The log with fsync off runs with its defaults: no
 * periodic background fdatasync (`bytesPerSync` 0), and segments sealed lazily at rotation (the
 * sealed segment's fdatasync runs in the background, not in the append path); the raw writer
 * never syncs.
 *
 * Targets (issue 3): fsync off ≥ 0.8× raw; group commit ≥ 20× fsync-per-append in entries/s.
 * The fsync-off target is judged on `appendMany`, the batched API, in calls whose records fill what
 * the raw writer writes at once (1 MiB, record headers included: one write per call), against the
 * raw 1 MiB writes of the same payload bytes: the same write granularity on both sides. The clock
 * of an fsync-off run starts once its file or log is open (see `timed`) and stops at its last acknowledgment (a log's close waits for the background
 * fsync of the segment it sealed last); then, untimed, every fsync-off round syncs and deletes what it
 * wrote, so that each starts with no dirty page cache left by the round before. Both pipeline one unit ahead (the raw writer
 * fills one buffer while the other is written; the bench frames one call while the previous one
 * is written). Reported beside it, not judged: appendMany in calls of 1024 entries (for 100-byte
 * entries, 115 KB writes, so the per-write cost counts ~9× more often than in the baseline),
 * single `append` calls (one promise per entry), also against raw per-entry writes, and the judged
 * shape again with 1 GiB segments: a round then never rotates, so it runs without the background
 * fdatasync of a sealed segment (a round of 64–128 MiB seals one or two 64 MiB segments with the
 * defaults) — what that sync, which the raw writer never does, costs in the judged row. For 100-byte
 * entries single appends cannot plausibly reach 0.8× of a baseline that copies bytes into 1 MiB
 * buffers, and the output says whether they do.
 *
 * Environment: SILTDB_BENCH_DIR (scratch directory; default under the OS temp dir),
 * SILTDB_BENCH_SECONDS (time box of each fsync scenario, default 2), SILTDB_BENCH_ROUNDS (rounds of
 * each fsync-off scenario, median taken; default 9), SILTDB_BENCH_SIZES (entry sizes, default
 * "100,4096"), SILT_BENCH_OUT (directory for log.json instead of bench/).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acceleratorSelection } from '@siltdb/bindings';
import { bytesCodec, IndexedLog, NodeVfs, type Durability } from '../src/log.js';

const MiB = 1024 * 1024;
const SIZES = (process.env.SILTDB_BENCH_SIZES ?? '100,4096').split(',').map(Number);
const SECONDS = Number(process.env.SILTDB_BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.SILTDB_BENCH_ROUNDS ?? 9);
/** Bytes written per fsync-off round, per entry size. */
const VOLUME: Record<number, number> = { 100: 64 * MiB, 4096: 128 * MiB };
/** Bytes of appends a single appender issues per window (fsync off, one call per entry). */
const PIPELINE_BYTES = 256 * 1024;
/** Entries per appendMany call (fsync off, batched calls). */
const BATCH = 1024;
/**
 * Segment size of the reported (not judged) row that never rotates within a round: the same
 * appends without the background fdatasync of a sealed segment, to show what that sync costs.
 */
const ONE_SEGMENT_BYTES = 1024 * MiB;
/** Concurrent appenders for group commit. */
const APPENDERS = 1024;

const vfs = new NodeVfs();
const scratchRoot = process.env.SILTDB_BENCH_DIR ?? os.tmpdir();
mkdirSync(scratchRoot, { recursive: true });
const scratch = mkdtempSync(join(scratchRoot, 'silt-log-bench-'));
let runCounter = 0;
const freshDir = (): string => join(scratch, `run-${runCounter++}`);

/** Distinct deterministic payloads, cycled through by every scenario. */
function makePayloads(size: number): Uint8Array[] {
  const count = 1024;
  const out: Uint8Array[] = [];
  let x = 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    const payload = new Uint8Array(size);
    for (let j = 0; j < size; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      payload[j] = x & 0xff;
    }
    out.push(payload);
  }
  return out;
}

interface Measurement {
  readonly entries: number;
  readonly seconds: number;
}

/**
 * Time `run`, which returns the entries it wrote: from its call, or from when it calls `begin`,
 * until it returns, or until it calls `stop`. The fsync-off scenarios start the clock once their
 * file or log is open (opening a log makes its directory durable, takes its lock and recovers it —
 * about a millisecond, ten on a busy disk — which is not appending, as the raw writer's open is
 * not writing) and stop it once their last write is acknowledged, before closing (a log's close
 * waits for the background fsync of the segment it sealed last, which is not part of appending,
 * and the raw writer's close syncs nothing).
 */
type Clock = { readonly begin: () => void; readonly stop: () => void };
async function timed(run: (clock: Clock) => Promise<number>): Promise<Measurement> {
  let start = performance.now();
  let end: number | null = null;
  const entries = await run({
    begin: () => {
      start = performance.now();
    },
    stop: () => {
      end ??= performance.now();
    },
  });
  return { entries, seconds: ((end ?? performance.now()) - start) / 1000 };
}

const untimed: Clock = { begin: () => {}, stop: () => {} };

function median(values: Measurement[]): Measurement {
  const sorted = [...values].sort((a, b) => a.entries / a.seconds - b.entries / b.seconds);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * The end of an fsync-off round, after its clock stopped: sync what it wrote, close, and delete it,
 * so that every round starts with no dirty page cache left by the one before. (Without this, a
 * round's write speed depended on which scenario ran before it: a log round leaves only its last
 * segment unsynced — its close waits for the background syncs of the segments it sealed — while a
 * raw round, or a log round that never rotates, leaves all it wrote to the kernel's writeback,
 * which then throttles the next round's writes.)
 */
async function settle(dir: string, sync: () => Promise<void>, close: () => Promise<void>): Promise<void> {
  await sync();
  await close();
  rmSync(dir, { recursive: true, force: true });
}

// ---- raw baselines ------------------------------------------------------------------------------

/*
 * The copy both sides use: `Uint8Array.prototype.set.call(buffer, payload, at)`, spelled out at the
 * use as the log's writer does (node 20 does not inline the lookup of `buffer.set` in optimized code
 * and pays a generic property load per call — about a third of a 100-byte copy — and through a
 * module-level constant each call goes through the generic call builtins): the raw writer copies
 * with the same primitive, so the comparison is of framing and checksums, not of a call idiom.
 */

async function rawBulk(payloads: Uint8Array[], count: number, clock: Clock = untimed): Promise<number> {
  const dir = freshDir();
  mkdirSync(dir);
  const file = await vfs.open(join(dir, 'raw'), { mode: 'exclusive' });
  clock.begin();
  // Double-buffered: one buffer fills while the other is being written, as the log's batches do.
  const buffers = [Buffer.allocUnsafeSlow(MiB), Buffer.allocUnsafeSlow(MiB)];
  let current = 0;
  let filled = 0;
  let position = 0;
  let writing: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    await writing;
    writing = file.write(buffers[current]!.subarray(0, filled), position);
    position += filled;
    filled = 0;
    current ^= 1;
  };
  for (let i = 0; i < count; i++) {
    const payload = payloads[i % payloads.length]!;
    if (filled + payload.length > MiB) await flush();
    Uint8Array.prototype.set.call(buffers[current]!, payload, filled);
    filled += payload.length;
  }
  await flush();
  await writing;
  clock.stop();
  await settle(dir, () => file.datasync(), () => file.close());
  return count;
}

async function rawPerEntry(payloads: Uint8Array[], count: number): Promise<number> {
  const dir = freshDir();
  mkdirSync(dir);
  const file = await vfs.open(join(dir, 'raw'), { mode: 'exclusive' });
  let position = 0;
  for (let i = 0; i < count; i++) {
    const payload = payloads[i % payloads.length]!;
    await file.write(payload, position);
    position += payload.length;
  }
  await file.close();
  return count;
}

async function rawSyncPerEntry(payloads: Uint8Array[], seconds: number): Promise<number> {
  const dir = freshDir();
  mkdirSync(dir);
  const file = await vfs.open(join(dir, 'raw'), { mode: 'exclusive' });
  const deadline = performance.now() + seconds * 1000;
  let position = 0;
  let count = 0;
  while (performance.now() < deadline) {
    const payload = payloads[count % payloads.length]!;
    await file.write(payload, position);
    await file.datasync();
    position += payload.length;
    count++;
  }
  await file.close();
  return count;
}

// ---- the log ------------------------------------------------------------------------------------

async function openLog(durability: Durability, segmentBytes?: number): Promise<IndexedLog<Uint8Array>> {
  return IndexedLog.open(freshDir(), bytesCodec, { vfs, durability, ...(segmentBytes === undefined ? {} : { segmentBytes }) });
}

/**
 * fsync off, one append call per entry. The appender issues windows of PIPELINE_BYTES and waits
 * for the window before the last one, so one window is written while the next is framed.
 */
async function logAppends(payloads: Uint8Array[], count: number, clock: Clock = untimed): Promise<number> {
  const log = await openLog('none');
  clock.begin();
  const window = Math.max(64, Math.floor(PIPELINE_BYTES / payloads[0]!.length));
  let last: Promise<number> = Promise.resolve(0);
  let previousWindow: Promise<number> = Promise.resolve(0);
  for (let i = 0; i < count; i++) {
    last = log.append(payloads[i % payloads.length]!);
    if (i % window === window - 1) {
      await previousWindow;
      previousWindow = last;
    }
  }
  await last;
  clock.stop();
  await settle(log.dir, () => log.sync(), () => log.close());
  return count;
}

/**
 * fsync off, appendMany calls of `batch` entries, one call in flight while the next is built. The
 * array is reused from call to call (appendMany frames, that is copies, the entries before it
 * returns): overwritten in place, never emptied, since `length = 0` drops an array's storage and
 * the next call's entries would regrow it step by step (the caller's cost, not the log's).
 */
async function logAppendMany(
  payloads: Uint8Array[],
  count: number,
  entriesPerCall: number,
  clock: Clock = untimed,
  segmentBytes?: number,
): Promise<number> {
  const log = await openLog('none', segmentBytes);
  clock.begin();
  const batch: Uint8Array[] = [];
  let filled = 0;
  let previous: Promise<number[]> = Promise.resolve([]);
  for (let i = 0; i < count; i++) {
    batch[filled++] = payloads[i % payloads.length]!;
    if (filled === entriesPerCall || i === count - 1) {
      // (Only a shorter last call shrinks the array.)
      if (batch.length !== filled) batch.length = filled;
      const call = log.appendMany(batch);
      filled = 0;
      await previous;
      previous = call;
    }
  }
  await previous;
  clock.stop();
  await settle(log.dir, () => log.sync(), () => log.close());
  return count;
}

/** fsync per append: one appender awaiting each append. */
async function logSync(payloads: Uint8Array[], seconds: number): Promise<number> {
  const log = await openLog('sync');
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  while (performance.now() < deadline) {
    await log.append(payloads[count % payloads.length]!);
    count++;
  }
  await log.close();
  return count;
}

/** Group commit: APPENDERS concurrent appenders, each awaiting its own appends. */
async function logGroup(payloads: Uint8Array[], seconds: number): Promise<number> {
  const log = await openLog('group');
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  const appender = async (id: number): Promise<void> => {
    for (let k = id; performance.now() < deadline; k += APPENDERS) {
      await log.append(payloads[k % payloads.length]!);
      count++;
    }
  };
  await Promise.all(Array.from({ length: APPENDERS }, (_, id) => appender(id)));
  await log.close();
  return count;
}

// ---- run ----------------------------------------------------------------------------------------

interface Row {
  readonly entryBytes: number;
  readonly scenario: string;
  readonly durability: Durability | 'raw';
  readonly entries: number;
  readonly seconds: number;
  readonly entriesPerSecond: number;
  readonly megabytesPerSecond: number;
  /** The row this one is compared with, and the ratio of entries/s. */
  readonly baseline?: string;
  readonly ratio?: number;
}

function row(entryBytes: number, scenario: string, durability: Row['durability'], m: Measurement, baseline?: Row): Row {
  const entriesPerSecond = m.entries / m.seconds;
  const result: Row = {
    entryBytes,
    scenario,
    durability,
    entries: m.entries,
    seconds: m.seconds,
    entriesPerSecond,
    megabytesPerSecond: (entriesPerSecond * entryBytes) / 1e6,
  };
  return baseline === undefined ? result : { ...result, baseline: baseline.scenario, ratio: entriesPerSecond / baseline.entriesPerSecond };
}

async function rounds(run: () => Promise<number>): Promise<Measurement> {
  const results: Measurement[] = [];
  for (let r = 0; r < ROUNDS; r++) results.push(await timed(run));
  return median(results);
}

/** ROUNDS rounds of each scenario, interleaved (a, b, c, a, b, c, …); the median of each. */
async function interleavedRounds(runs: readonly ((clock: Clock) => Promise<number>)[]): Promise<Measurement[]> {
  const results: Measurement[][] = runs.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < runs.length; i++) results[i]!.push(await timed(runs[i]!));
  }
  return results.map(median);
}

const rows: Row[] = [];
const selection = acceleratorSelection();
// Other work on the machine shows in every number: recorded, so a reader can judge the noise.
const loadAtStart = os.loadavg()[0]!;
console.log(`IndexedLog benchmark — accelerator ${selection.kind}, node ${process.version}, ${os.cpus().length} CPUs, 1-minute load ${loadAtStart.toFixed(1)}, scratch ${scratch}`);

try {
  for (const size of SIZES) {
    const payloads = makePayloads(size);
    const count = Math.floor((VOLUME[size] ?? 128 * MiB) / size);
    // Warm-up: JIT, file system, accelerator.
    const warmCount = Math.min(count, 20_000);
    await rawBulk(payloads, warmCount);
    await logAppends(payloads, warmCount);
    // Calls whose records fill what the raw writer writes at once (1 MiB, the log's largest write,
    // its 12-byte record headers included): one write per call, the same write granularity.
    const perMiB = Math.max(1, Math.floor(MiB / (size + 12)));
    await logAppendMany(payloads, warmCount, BATCH);
    await logAppendMany(payloads, warmCount, perMiB);

    const [bulkM, appendsM, manyM, manyMiBM, oneSegmentM] = await interleavedRounds([
      (clock) => rawBulk(payloads, count, clock),
      (clock) => logAppends(payloads, count, clock),
      (clock) => logAppendMany(payloads, count, BATCH, clock),
      (clock) => logAppendMany(payloads, count, perMiB, clock),
      (clock) => logAppendMany(payloads, count, perMiB, clock, ONE_SEGMENT_BYTES),
    ]);
    const bulk = row(size, 'raw, 1 MiB writes', 'raw', bulkM!);
    const perEntryCount = Math.min(count, size === 100 ? 100_000 : 20_000);
    const perEntry = row(size, 'raw, write per entry', 'raw', await rounds(() => rawPerEntry(payloads, perEntryCount)));
    const appends = row(size, 'log none, append ×1 (256 KiB windows)', 'none', appendsM!, bulk);
    const many = row(size, `log none, appendMany ×${BATCH}`, 'none', manyM!, bulk);
    const manyMiB = row(size, `log none, appendMany 1 MiB calls (×${perMiB})`, 'none', manyMiBM!, bulk);
    const oneSegment = row(size, `log none, appendMany 1 MiB calls, 1 GiB segments (no seal fsync)`, 'none', oneSegmentM!, bulk);
    const rawSync = row(size, 'raw, write+fdatasync per entry', 'raw', await timed(() => rawSyncPerEntry(payloads, SECONDS)));
    const sync = row(size, 'log sync, 1 appender', 'sync', await timed(() => logSync(payloads, SECONDS)), rawSync);
    const group = row(size, `log group, ${APPENDERS} appenders`, 'group', await timed(() => logGroup(payloads, SECONDS)), sync);
    rows.push(bulk, perEntry, appends, row(size, appends.scenario + ' vs per-entry writes', 'none', appends, perEntry), many, manyMiB, oneSegment, rawSync, sync, group);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const table = rows.map((r) => ({
  entry: r.entryBytes === 100 ? '100 B' : '4 KiB',
  scenario: r.scenario,
  'entries/s': Math.round(r.entriesPerSecond).toLocaleString('en-US'),
  'MB/s': r.megabytesPerSecond.toFixed(1),
  ratio: r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}× ${r.baseline}`,
}));
console.table(table);

const find = (size: number, prefix: string): Row => rows.find((r) => r.entryBytes === size && r.scenario.startsWith(prefix))!;
const targets = SIZES.map((size) => {
  const offAppend = find(size, 'log none, append ×1');
  const offMany = find(size, `log none, appendMany ×`);
  const offManyMiB = find(size, 'log none, appendMany 1 MiB calls');
  const group = find(size, 'log group');
  const oneSegment = find(size, 'log none, appendMany 1 MiB calls, 1 GiB segments');
  return {
    entryBytes: size,
    fsyncOffVsRaw: {
      // Judged on the batched API in calls of the raw writer's write size (1 MiB): the same
      // granularity on both sides. The other shapes are reported, not judged.
      judgedOn: offManyMiB.scenario,
      ratio: offManyMiB.ratio,
      target: 0.8,
      met: offManyMiB.ratio! >= 0.8,
      appendMany1024: offMany.ratio,
      withoutSealFsync: oneSegment.ratio,
      singleAppends: offAppend.ratio,
    },
    groupVsSync: { ratio: group.ratio, target: 20, met: group.ratio! >= 20 },
  };
});
for (const t of targets) {
  const off = t.fsyncOffVsRaw;
  console.log(
    `${t.entryBytes} B: fsync off = ${off.ratio!.toFixed(2)}× raw with appendMany in 1 MiB calls (target ≥ 0.8×: ${off.met ? 'met' : 'NOT met'}); ` +
      `not judged: ${off.withoutSealFsync!.toFixed(2)}× with 1 GiB segments (no seal fsync in the round), ${off.appendMany1024!.toFixed(2)}× with appendMany ×${BATCH}, ${off.singleAppends!.toFixed(2)}× with single appends; ` +
      `group = ${t.groupVsSync.ratio!.toFixed(1)}× fsync-per-append (target ≥ 20×: ${t.groupVsSync.met ? 'met' : 'NOT met'})`,
  );
}

// SILT_BENCH_OUT: another directory for log.json (default: bench/ at the repository root).
const output = join(process.env.SILT_BENCH_OUT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench'), 'log.json');
mkdirSync(dirname(output), { recursive: true });
writeFileSync(
  output,
  `${JSON.stringify(
    {
      benchmark: 'IndexedLog',
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: os.cpus().length,
      accelerator: selection.kind,
      loadAverage: { start: loadAtStart, end: os.loadavg()[0]! },
      settings: { seconds: SECONDS, rounds: ROUNDS, pipelineBytes: PIPELINE_BYTES, batch: BATCH, appenders: APPENDERS },
      rows,
      targets,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${output}`);
