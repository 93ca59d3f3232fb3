/**
 * `silt demo`: opens a database in a temporary directory (or `--dir`), loads it with N keys in
 * batches, churns it (overwrites, deletes, random `getSync` reads, a range scan) while checking
 * every read against an in-memory model, flushes and compacts it, and reports what happened: per
 * phase ops, seconds and ops/s, then files per level, disk bytes and the accelerator that ran.
 */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { nativeModeFromEnv, selectAccelerator, type NativeMode } from '@siltdb/bindings';
import { open, type BatchOp, type Db } from 'siltdb';

export const KEY_BYTES = 16;
export const VALUE_BYTES = 100;
export const DEFAULT_KEYS = 200_000;
export const DEFAULT_SECONDS = 4;
const MAX_KEYS = 10_000_000;
const MAX_SECONDS = 3600;
const LOAD_BATCH = 5_000;
const OVERWRITE_BATCH = 1_000;
const DELETE_BATCH = 250;
const READS_PER_ROUND = 2_000;
const MEMTABLE_BYTES = 4 * 1024 * 1024;
/** Reads pick indexes up to 10% past N: keys that were never written, so misses are exercised too. */
const MISS_FRACTION = 0.1;
/** The range scan covers this many consecutive key indexes (or all of them when N is smaller). */
const SCAN_SPAN = 50_000;

export interface DemoOptions {
  readonly keys: number;
  readonly seconds: number;
  readonly dir: string | null;
  readonly json: boolean;
}

export interface DemoPhase {
  readonly name: 'load' | 'overwrite' | 'delete' | 'read' | 'scan' | 'flush' | 'compact';
  /** Operations done (keys written, deleted, read or scanned); null for flush and compact. */
  readonly ops: number | null;
  readonly seconds: number;
  /** ops / seconds; null when ops is null. */
  readonly opsPerSec: number | null;
}

export interface DemoReport {
  readonly dir: string;
  readonly kept: boolean;
  readonly mode: NativeMode;
  readonly accelerator: 'native' | 'ts';
  readonly keys: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly durability: 'relaxed';
  readonly memtableBytes: number;
  readonly phases: readonly DemoPhase[];
  readonly loaded: number;
  readonly overwrites: number;
  readonly deletes: number;
  readonly reads: { readonly ops: number; readonly found: number; readonly expectedFound: number; readonly missing: number };
  readonly scan: { readonly from: number; readonly to: number; readonly entries: number; readonly expected: number };
  /** Keys the model says are live at the end. */
  readonly liveKeys: number;
  readonly levels: readonly { readonly level: number; readonly files: number; readonly bytes: number }[];
  readonly tableFiles: number;
  readonly tableBytes: number;
  readonly diskBytes: number;
  readonly totalSeconds: number;
}

/** A failure of the demo itself, printed as `silt demo: [CODE] message`. */
export class DemoError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DemoError';
  }
}

/** Parses the arguments after `demo`; returns the options or a usage error message. */
export function parseDemoArgs(args: readonly string[]): DemoOptions | string {
  let keys = DEFAULT_KEYS;
  let seconds = DEFAULT_SECONDS;
  let dir: string | null = null;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const takesValue = name === '--keys' || name === '--seconds' || name === '--dir';
    let value: string | undefined;
    if (takesValue) {
      if (eq > 0 && name !== arg) value = arg.slice(eq + 1);
      else {
        value = args[++i];
        if (value === undefined) return `${name} needs a value`;
      }
    }
    switch (name) {
      case '--json':
        if (arg !== '--json') return `unknown option ${arg}`;
        json = true;
        break;
      case '--keys': {
        if (!/^\d+$/.test(value!)) return `--keys must be a whole number, got ${JSON.stringify(value)}`;
        keys = Number(value);
        if (keys < 1 || keys > MAX_KEYS) return `--keys must be between 1 and ${MAX_KEYS}, got ${value}`;
        break;
      }
      case '--seconds': {
        if (!/^\d+(\.\d+)?$/.test(value!)) return `--seconds must be a number, got ${JSON.stringify(value)}`;
        seconds = Number(value);
        if (seconds <= 0 || seconds > MAX_SECONDS) return `--seconds must be above 0 and at most ${MAX_SECONDS}, got ${value}`;
        break;
      }
      case '--dir':
        if (value!.length === 0) return '--dir needs a non-empty path';
        dir = value!;
        break;
      default:
        return `unknown option ${arg}`;
    }
  }
  return { keys, seconds, dir, json };
}

/** The 16-byte key of index i: `key:` and 12 decimal digits. */
export function demoKey(i: number): Uint8Array {
  return Buffer.from(`key:${String(i).padStart(KEY_BYTES - 4, '0')}`, 'latin1');
}

/** The 100-byte value of key i at version v: i and v (u32 LE), then bytes of an xorshift stream seeded by both. */
export function demoValue(i: number, v: number): Uint8Array {
  const out = new Uint8Array(VALUE_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, i, true);
  view.setUint32(4, v, true);
  let x = (Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(v + 1, 0x85ebca6b)) | 1;
  for (let p = 8; p < VALUE_BYTES; p += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view.setInt32(p, x, true);
  }
  return out;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same demo. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes of the files under `dir` now. The database keeps working while this walks it: a file
 * listed and then deleted (a compaction's input, a collected segment) counts as gone. */
async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) total += await diskBytes(full);
    else if (entry.isFile()) total += await sizeIfPresent(full);
  }
  return total;
}

async function sizeIfPresent(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** Makes the database directory: a fresh temporary one, or `dir` when it is missing or empty. */
async function prepareDir(dir: string | null): Promise<{ path: string; remove: boolean }> {
  if (dir === null) return { path: await mkdtemp(join(tmpdir(), 'silt-demo-')), remove: true };
  const path = resolve(dir);
  await mkdir(path, { recursive: true });
  const entries = await readdir(path);
  if (entries.length > 0) {
    throw new DemoError('DIR_NOT_EMPTY', `refusing to use ${path}: it is not empty (${entries.length} entries); give a missing or empty directory`);
  }
  return { path, remove: false };
}

function phase(name: DemoPhase['name'], ops: number | null, seconds: number): DemoPhase {
  return { name, ops, seconds, opsPerSec: ops === null ? null : seconds > 0 ? ops / seconds : null };
}

function mismatch(message: string): DemoError {
  return new DemoError('MISMATCH', message);
}

/** Whether `got` is the value the model says key i holds (version v). */
function holds(got: Uint8Array, i: number, v: number): boolean {
  if (got.length !== VALUE_BYTES) return false;
  const view = new DataView(got.buffer, got.byteOffset, got.byteLength);
  if (view.getUint32(0, true) !== i || view.getUint32(4, true) !== v) return false;
  return Buffer.compare(got, demoValue(i, v)) === 0;
}

/** Runs the demo. Throws `DemoError` (or an engine error with a `code`) on failure. */
export async function runDemo(options: DemoOptions, env: NodeJS.ProcessEnv = process.env): Promise<DemoReport> {
  const started = performance.now();
  const mode = nativeModeFromEnv(env);
  const accelerator = selectAccelerator(mode).accelerator;
  const { path, remove } = await prepareDir(options.dir);
  let db: Db | null = null;
  try {
    db = await open(path, { durability: 'relaxed', memtableBytes: MEMTABLE_BYTES, accelerator, errorIfExists: true });
    const n = options.keys;
    const random = rng(0x5117db);
    const version = new Uint32Array(n); // 0: absent
    let live = 0;
    let nextVersion = 1;
    const phases: DemoPhase[] = [];

    // Load: every key once, in a shuffled order, in batches.
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    let t0 = performance.now();
    for (let start = 0; start < n; start += LOAD_BATCH) {
      const ops: BatchOp[] = [];
      const end = Math.min(n, start + LOAD_BATCH);
      for (let p = start; p < end; p++) {
        const i = order[p]!;
        ops.push({ type: 'put', key: demoKey(i), value: demoValue(i, nextVersion) });
        version[i] = nextVersion;
      }
      await db.batch(ops);
    }
    live = n;
    nextVersion++;
    phases.push(phase('load', n, (performance.now() - t0) / 1000));

    // Churn: rounds of overwrites, deletes and reads until the time budget is spent (one round at least).
    let overwrites = 0;
    let deletes = 0;
    let reads = 0;
    let found = 0;
    let expectedFound = 0;
    let overwriteMs = 0;
    let deleteMs = 0;
    let readMs = 0;
    const readRange = n + Math.max(1, Math.ceil(n * MISS_FRACTION));
    const deadline = performance.now() + options.seconds * 1000;
    do {
      t0 = performance.now();
      const puts: BatchOp[] = [];
      for (let k = 0; k < OVERWRITE_BATCH; k++) {
        const i = Math.floor(random() * n);
        if (version[i] === 0) live++;
        version[i] = nextVersion;
        puts.push({ type: 'put', key: demoKey(i), value: demoValue(i, nextVersion) });
      }
      await db.batch(puts);
      overwrites += puts.length;
      nextVersion++;
      let t1 = performance.now();
      overwriteMs += t1 - t0;

      const dels: BatchOp[] = [];
      for (let k = 0; k < DELETE_BATCH; k++) {
        const i = Math.floor(random() * n);
        if (version[i] !== 0) live--;
        version[i] = 0;
        dels.push({ type: 'del', key: demoKey(i) });
      }
      await db.batch(dels);
      deletes += dels.length;
      const t2 = performance.now();
      deleteMs += t2 - t1;

      for (let k = 0; k < READS_PER_ROUND; k++) {
        const i = Math.floor(random() * readRange);
        const want = i < n ? version[i]! : 0;
        const got = db.getSync(demoKey(i));
        if (want !== 0) expectedFound++;
        if (got !== undefined) found++;
        if (want === 0 ? got !== undefined : got === undefined || !holds(got, i, want)) {
          throw mismatch(`read of key ${i} returned ${got === undefined ? 'nothing' : 'a different value'}; the model says ${want === 0 ? 'absent' : `version ${want}`}`);
        }
      }
      reads += READS_PER_ROUND;
      t1 = performance.now();
      readMs += t1 - t2;
    } while (performance.now() < deadline);
    phases.push(phase('overwrite', overwrites, overwriteMs / 1000));
    phases.push(phase('delete', deletes, deleteMs / 1000));
    phases.push(phase('read', reads, readMs / 1000));

    // Range scan over up to SCAN_SPAN consecutive indexes, checked entry by entry against the model.
    const span = Math.min(n, SCAN_SPAN);
    const from = Math.floor(random() * (n - span + 1));
    const to = from + span;
    let expectedScan = 0;
    for (let i = from; i < to; i++) if (version[i] !== 0) expectedScan++;
    t0 = performance.now();
    let scanned = 0;
    let cursor = from;
    const iterator = db.iterator({ gte: demoKey(from), lt: demoKey(to) });
    try {
      for (const [key, value] of iterator) {
        const i = Number(Buffer.from(key).toString('latin1').slice(4));
        while (cursor < i) {
          if (version[cursor] !== 0) throw mismatch(`the scan skipped live key ${cursor}`);
          cursor++;
        }
        if (i !== cursor || version[i] === 0 || !holds(value, i, version[i]!)) {
          throw mismatch(`the scan returned key ${i} with ${version[i] === 0 ? 'a value the model deleted' : 'an unexpected value'}`);
        }
        cursor++;
        scanned++;
      }
    } finally {
      iterator.close();
    }
    phases.push(phase('scan', scanned, (performance.now() - t0) / 1000));
    if (scanned !== expectedScan) throw mismatch(`the scan of keys [${from}, ${to}) returned ${scanned} entries; the model has ${expectedScan}`);

    t0 = performance.now();
    await db.flush();
    phases.push(phase('flush', null, (performance.now() - t0) / 1000));

    t0 = performance.now();
    await db.compact();
    phases.push(phase('compact', null, (performance.now() - t0) / 1000));

    const stats = db.stats();
    const bytes = await diskBytes(path);
    await db.close();
    db = null;
    return {
      dir: path,
      kept: !remove,
      mode,
      accelerator: accelerator.kind,
      keys: n,
      keyBytes: KEY_BYTES,
      valueBytes: VALUE_BYTES,
      durability: 'relaxed',
      memtableBytes: MEMTABLE_BYTES,
      phases,
      loaded: n,
      overwrites,
      deletes,
      reads: { ops: reads, found, expectedFound, missing: reads - found },
      scan: { from, to, entries: scanned, expected: expectedScan },
      liveKeys: live,
      levels: stats.levels.map(({ level, files, bytes: levelBytes }) => ({ level, files, bytes: levelBytes })),
      tableFiles: stats.tableFiles,
      tableBytes: stats.tableBytes,
      diskBytes: bytes,
      totalSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    if (db !== null) await db.close().catch(() => {});
    if (remove) await rm(path, { recursive: true, force: true });
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatDemo(report: DemoReport): string {
  const lines = [
    `SiltDB demo: ${formatCount(report.keys)} keys (${report.keyBytes}-byte keys, ${report.valueBytes}-byte values), ${report.durability} durability, accelerator ${report.accelerator}`,
    '',
    `  ${'phase'.padEnd(10)}${'ops'.padStart(12)}${'seconds'.padStart(10)}${'ops/s'.padStart(14)}`,
  ];
  for (const p of report.phases) {
    const ops = p.ops === null ? '-' : formatCount(p.ops);
    const rate = p.opsPerSec === null ? '-' : formatCount(p.opsPerSec);
    lines.push(`  ${p.name.padEnd(10)}${ops.padStart(12)}${p.seconds.toFixed(3).padStart(10)}${rate.padStart(14)}`);
  }
  lines.push(
    '',
    `  reads found ${formatCount(report.reads.found)} of ${formatCount(report.reads.ops)} (the model expected ${formatCount(report.reads.expectedFound)}); scan ${formatCount(report.scan.entries)} entries in [${report.scan.from}, ${report.scan.to}); ${formatCount(report.liveKeys)} live keys`,
    '',
    `  ${'level'.padEnd(10)}${'files'.padStart(12)}${'bytes'.padStart(14)}`,
  );
  for (const level of report.levels) {
    if (level.files === 0) continue;
    lines.push(`  ${`L${level.level}`.padEnd(10)}${String(level.files).padStart(12)}${formatBytes(level.bytes).padStart(14)}`);
  }
  lines.push(
    `  ${'total'.padEnd(10)}${String(report.tableFiles).padStart(12)}${formatBytes(report.tableBytes).padStart(14)}`,
    '',
    `  disk bytes   ${formatCount(report.diskBytes)} (${formatBytes(report.diskBytes)}) in ${report.dir}${report.kept ? '' : ' (removed)'}`,
    `  accelerator  ${report.accelerator}${report.mode === 'auto' ? '' : ` (SILTDB_NATIVE=${report.mode})`}`,
    `  total        ${report.totalSeconds.toFixed(2)} s`,
  );
  return lines.join('\n');
}
