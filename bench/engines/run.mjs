#!/usr/bin/env node
/**
 * SiltDB against its peers — issue 4, "Benchmark".
 *
 *   pnpm bench:engines          (installs this directory's own deps, then runs this file)
 *   node bench/engines/run.mjs  (installs nothing; needs `pnpm build:ts` and `pnpm --dir bench/engines install`)
 *
 * Every engine runs in its own child process (so peak RSS — process.resourceUsage().maxRSS, read by
 * the child itself at the end — belongs to that engine alone). Each child runs, in order:
 *
 *   fillseq     N puts in key order into a fresh db, batches of 10k, each batch awaited
 *   fillrandom  the same N keys in a random order into another fresh db
 *   readrandom  200k point reads of random existing keys (on the fillrandom db, same handle)
 *   scan        a forward iteration over all N entries
 *   disk        bytes of the fillrandom db directory after close (allocated blocks, like du)
 *
 * Keys are 16 bytes ("%016d" of the index, as leveldb's db_bench), values 100 bytes cut from a
 * 1 MiB+ pool of crypto-random bytes (incompressible). Durability is "relaxed" everywhere: no
 * fsync per commit. Environment:
 *
 *   SILT_BENCH_KEYS   number of keys (default 1000000)
 *   SILT_BENCH_READS  number of reads (default 200000, capped at keys)
 *   SILT_BENCH_ONLY   comma-separated engine names to run (default: all)
 *   SILT_BENCH_DIR    where the databases go (default: os.tmpdir())
 *   SILT_BENCH_OUT    directory for engines.json / RESULTS.md / engines.svg (default: bench/)
 *   SILT_BENCH_TRACE  1: each child prints its RSS (anonymous and file-backed) and peak after each phase
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rng, shuffledOrder } from './workload.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const SILT_DIST = join(ROOT, 'packages', 'core-ts', 'dist', 'index.js');
const require = createRequire(join(HERE, 'package.json'));

const KEYS = intEnv('SILT_BENCH_KEYS', 1_000_000);
const READS = Math.min(intEnv('SILT_BENCH_READS', 200_000), KEYS);
const BATCH = 10_000;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const POOL_BYTES = (1 << 20) + 4096;

const ENGINES = ['siltdb', 'classic-level', '@nxtedition/rocksdb', 'lmdb', 'better-sqlite3'];
const PHASES = ['fillseq', 'fillrandom', 'readrandom', 'scan'];

function pkgVersion(name) {
  return JSON.parse(readFileSync(join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;
}

function intEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

// ------------------------------------------------------------------------------------ workload


function makeWorkload() {
  // All keys in one buffer: key i = "%016d" of i, so byte order = numeric order.
  const keys = Buffer.allocUnsafe(KEYS * KEY_BYTES);
  for (let i = 0; i < KEYS; i++) keys.write(String(i).padStart(KEY_BYTES, '0'), i * KEY_BYTES, 'latin1');
  const pool = randomBytes(POOL_BYTES);
  const random = rng(0x5117db);
  const order = shuffledOrder(KEYS, random);
  const reads = new Uint32Array(READS);
  for (let i = 0; i < READS; i++) reads[i] = Math.floor(random() * KEYS);
  const key = (i) => keys.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES);
  const valueOffset = (i) => (Math.imul(i, 2654435761) >>> 0) % (POOL_BYTES - VALUE_BYTES);
  const value = (i) => pool.subarray(valueOffset(i), valueOffset(i) + VALUE_BYTES);
  return { key, value, order, reads };
}

// ------------------------------------------------------------------------------------ engines
//
// Each adapter: open(dir) → handle with
//   writeBatch(indices[]) : Promise  (one atomic batch of puts, relaxed durability)
//   get(key)              : value | undefined   (the engine's fastest single-key read)
//   scan()                : Promise<[count, bytes]>  (all entries, forward)
//   close()               : Promise

const adapters = {
  async siltdb(w) {
    if (!existsSync(SILT_DIST)) throw new Error(`${SILT_DIST} is missing: run \`pnpm build:ts\` first`);
    const silt = await import(pathToFileURL(SILT_DIST).href);
    const version = silt.VERSION;
    // SILT_BENCH_SILT_OPTIONS (JSON) overrides options, for tuning runs; published runs use the defaults.
    const options = { durability: 'relaxed', ...JSON.parse(process.env.SILT_BENCH_SILT_OPTIONS || '{}') };
    return {
      version,
      config: { ...options, accelerator: silt.accel.kind, note: 'defaults otherwise (memtable 64 MiB, block cache 64 MiB); reads: db.getSync; scan: sync for…of db.iterator()' },
      async open(dir) {
        const db = await silt.open(dir, options);
        return {
          writeBatch: (idx) => db.batch(idx.map((i) => ({ type: 'put', key: w.key(i), value: w.value(i) }))),
          get: (k) => db.getSync(k),
          async scan() {
            let n = 0;
            let bytes = 0;
            for (const [k, v] of db.iterator()) {
              n++;
              bytes += k.length + v.length;
            }
            return [n, bytes];
          },
          close: () => db.close(),
        };
      },
    };
  },

  async 'classic-level'(w) {
    const { ClassicLevel } = await import('classic-level');
    const version = pkgVersion('classic-level');
    return {
      version,
      config: { write: 'db.batch(ops, { sync: false })', read: 'db.getSync (abstract-level 3)', scan: 'iterator().nextv(1000)', note: 'defaults otherwise (4 MiB write buffer, 8 MiB block cache, snappy)' },
      async open(dir) {
        const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
        await db.open();
        return {
          writeBatch: (idx) => db.batch(idx.map((i) => ({ type: 'put', key: w.key(i), value: w.value(i) })), { sync: false }),
          get: (k) => db.getSync(k),
          async scan() {
            const it = db.iterator();
            let n = 0;
            let bytes = 0;
            for (;;) {
              const entries = await it.nextv(1000);
              if (entries.length === 0) break;
              for (const [k, v] of entries) {
                n++;
                bytes += k.length + v.length;
              }
            }
            await it.close();
            return [n, bytes];
          },
          close: () => db.close(),
        };
      },
    };
  },

  async '@nxtedition/rocksdb'(w) {
    const { RocksLevel } = require('@nxtedition/rocksdb');
    const version = pkgVersion('@nxtedition/rocksdb');
    return {
      version,
      config: {
        write: 'db.batch(ops, { sync: false })',
        read: 'db._getManySync([key]) — the binding\'s synchronous multi-get, one key per call (its public get() is async only)',
        scan: 'iterator()._nextvSync(1000) — the binding\'s synchronous nextv',
        note: 'defaults otherwise',
      },
      async open(dir) {
        const db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
        await db.open({ infoLogLevel: 'error' });
        return {
          writeBatch: (idx) => db.batch(idx.map((i) => ({ type: 'put', key: w.key(i), value: w.value(i) })), { sync: false }),
          get: (k) => db._getManySync([k], { valueEncoding: 'buffer' })[0] ?? undefined,
          async scan() {
            const it = db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
            let n = 0;
            let bytes = 0;
            for (;;) {
              const { rows, finished } = it._nextvSync(1000, {});
              for (let r = 0; r < rows.length; r += 2) {
                n++;
                bytes += rows[r].length + rows[r + 1].length;
              }
              if (finished) break;
            }
            await it.close();
            return [n, bytes];
          },
          close: () => db.close(),
        };
      },
    };
  },

  async lmdb(w) {
    const { open } = await import('lmdb');
    const version = pkgVersion('lmdb');
    const options = { keyEncoding: 'binary', encoding: 'binary', compression: false, noSync: true };
    return {
      version,
      config: {
        ...options,
        write: 'db.batch(() => { db.put(k, v) × 10k }) — lmdb-js async (background-thread) commits; noSync: true skips the fsync of each commit, the equivalent of relaxed',
        read: 'db.get (sync)',
        scan: 'for…of db.getRange()',
      },
      async open(dir) {
        mkdirSync(dir, { recursive: true });
        const db = open({ path: join(dir, 'data.mdb'), ...options });
        return {
          writeBatch: (idx) =>
            db.batch(() => {
              for (const i of idx) db.put(w.key(i), w.value(i));
            }),
          get: (k) => db.get(k),
          async scan() {
            let n = 0;
            let bytes = 0;
            for (const { key, value } of db.getRange()) {
              n++;
              bytes += key.length + value.length;
            }
            return [n, bytes];
          },
          close: () => db.close(),
        };
      },
    };
  },

  async 'better-sqlite3'(w) {
    const Database = require('better-sqlite3');
    const version = pkgVersion('better-sqlite3');
    const sqliteVersion = new Database(':memory:').prepare('select sqlite_version()').pluck().get();
    return {
      version: `${version} (SQLite ${sqliteVersion})`,
      config: {
        table: 'CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID',
        pragmas: 'journal_mode=WAL, synchronous=NORMAL',
        write: 'one transaction of 10k prepared INSERTs per batch',
        read: 'prepared SELECT v FROM kv WHERE k = ? (.pluck().get)',
        scan: 'prepared SELECT k, v FROM kv ORDER BY k (.raw().iterate())',
      },
      async open(dir) {
        mkdirSync(dir, { recursive: true });
        const db = new Database(join(dir, 'kv.sqlite'));
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.exec('CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
        const insert = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
        const select = db.prepare('SELECT v FROM kv WHERE k = ?').pluck();
        const all = db.prepare('SELECT k, v FROM kv ORDER BY k').raw();
        const write = db.transaction((idx) => {
          for (const i of idx) insert.run(w.key(i), w.value(i));
        });
        return {
          writeBatch: async (idx) => write(idx),
          get: (k) => select.get(k),
          async scan() {
            let n = 0;
            let bytes = 0;
            for (const [k, v] of all.iterate()) {
              n++;
              bytes += k.length + v.length;
            }
            return [n, bytes];
          },
          close: async () => db.close(),
        };
      },
    };
  },
};

// ------------------------------------------------------------------------------------ child

function diskBytes(dir) {
  let allocated = 0;
  let apparent = 0;
  let files = 0;
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        allocated += st.blocks * 512;
        apparent += st.size;
        files++;
      }
    }
  };
  walk(dir);
  return { allocated, apparent, files };
}

async function fill(handle, order) {
  const t0 = performance.now();
  const idx = new Array(BATCH);
  for (let start = 0; start < KEYS; start += BATCH) {
    const end = Math.min(KEYS, start + BATCH);
    idx.length = end - start;
    for (let i = start; i < end; i++) idx[i - start] = order === null ? i : order[i];
    await handle.writeBatch(idx);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { ops: KEYS, seconds, opsPerSec: KEYS / seconds };
}

/** With SILT_BENCH_TRACE=1, each child prints its memory after each phase (stderr). */
function trace(tag) {
  if (!process.env.SILT_BENCH_TRACE) return;
  const st = readFileSync('/proc/self/status', 'utf8');
  const g = (k) => (Number(st.match(new RegExp(k + ':\\s+(\\d+)'))[1]) / 1024).toFixed(0);
  console.error(tag, 'rss', g('VmRSS'), 'anon', g('RssAnon'), 'file', g('RssFile'), 'hwm', g('VmHWM'), 'heapTotal', (process.memoryUsage().heapTotal / 2 ** 20).toFixed(0));
  if (typeof globalThis.gc === 'function' && process.env.SILT_BENCH_TRACE === 'gc') {
    globalThis.gc();
    const after = readFileSync('/proc/self/status', 'utf8');
    console.error('  after gc: anon', (Number(after.match(/RssAnon:\s+(\d+)/)[1]) / 1024).toFixed(0), 'external', (process.memoryUsage().external / 2 ** 20).toFixed(0), 'arrayBuffers', (process.memoryUsage().arrayBuffers / 2 ** 20).toFixed(0));
  }
}

async function child(name) {
  const base = mkdtempSync(join(process.env.SILT_BENCH_DIR || tmpdir(), `silt-bench-${name.replace(/\W/g, '_')}-`));
  try {
    const w = makeWorkload();
    const engine = await adapters[name](w);
    const phases = {};

    // fillseq (its own fresh db, closed and removed before the next phase)
    const seqDir = join(base, 'fillseq');
    let h = await engine.open(seqDir);
    phases.fillseq = await fill(h, null);
    trace('fillseq');
    let t0 = performance.now();
    await h.close();
    phases.fillseq.closeSeconds = (performance.now() - t0) / 1000;
    const fillseqDisk = diskBytes(seqDir);
    rmSync(seqDir, { recursive: true, force: true });

    // fillrandom (fresh db)
    const dir = join(base, 'fillrandom');
    h = await engine.open(dir);
    trace('fillrandom opened');
    phases.fillrandom = await fill(h, w.order);
    trace('fillrandom');

    // readrandom: every key exists; values are checked by length (and fully on a sample after)
    t0 = performance.now();
    let found = 0;
    const reads = w.reads;
    for (let r = 0; r < reads.length; r++) {
      const v = h.get(w.key(reads[r]));
      if (v !== undefined && v.length === VALUE_BYTES) found++;
    }
    let seconds = (performance.now() - t0) / 1000;
    trace('readrandom');
    phases.readrandom = { ops: reads.length, seconds, opsPerSec: reads.length / seconds, found };
    if (found !== reads.length) throw new Error(`readrandom: found ${found} of ${reads.length}`);
    for (let r = 0; r < Math.min(1000, reads.length); r++) {
      const v = h.get(w.key(reads[r]));
      if (!Buffer.from(v).equals(w.value(reads[r]))) throw new Error(`readrandom: wrong value for key ${reads[r]}`);
    }

    // scan
    t0 = performance.now();
    const [count, bytes] = await h.scan();
    seconds = (performance.now() - t0) / 1000;
    trace('scan');
    phases.scan = { ops: count, seconds, opsPerSec: count / seconds, bytes };
    if (count !== KEYS) throw new Error(`scan: saw ${count} entries, expected ${KEYS}`);

    t0 = performance.now();
    await h.close();
    phases.fillrandom.closeSeconds = (performance.now() - t0) / 1000;
    const disk = diskBytes(dir);
    const usage = process.resourceUsage();
    return {
      ok: true,
      version: engine.version,
      config: engine.config,
      phases,
      peakRssBytes: usage.maxRSS * 1024,
      diskBytes: disk.allocated,
      diskApparentBytes: disk.apparent,
      diskFiles: disk.files,
      fillseqDiskBytes: fillseqDisk.allocated,
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------ parent

function runChild(name) {
  return new Promise((resolvePromise) => {
    const started = performance.now();
    const proc = fork(fileURLToPath(import.meta.url), ['--child', name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result = null;
    proc.on('message', (m) => (result = m));
    proc.on('exit', (code, signal) => {
      const wall = (performance.now() - started) / 1000;
      if (result === null) result = { ok: false, error: `child exited with ${signal ?? `code ${code}`} before reporting` };
      resolvePromise({ ...result, wallSeconds: wall });
    });
  });
}

const fmtOps = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));
const fmtMiB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a');

function targets(results) {
  const s = results.siltdb;
  const ph = (engine, phase) => results[engine]?.ok ? results[engine].phases[phase].opsPerSec : NaN;
  const rss = (engine) => (results[engine]?.ok ? results[engine].peakRssBytes : NaN);
  const list = [
    { id: 'fillrandom', text: 'fillrandom ≥ 2× classic-level', kind: 'min', required: 2, actual: ph('siltdb', 'fillrandom') / ph('classic-level', 'fillrandom') },
    { id: 'readrandom', text: 'readrandom ≥ 0.7× lmdb-js', kind: 'min', required: 0.7, actual: ph('siltdb', 'readrandom') / ph('lmdb', 'readrandom') },
    { id: 'scan', text: 'scan ≥ 0.7× lmdb-js', kind: 'min', required: 0.7, actual: ph('siltdb', 'scan') / ph('lmdb', 'scan') },
    { id: 'peakRss', text: 'peak RSS ≤ 1.2× classic-level', kind: 'max', required: 1.2, actual: rss('siltdb') / rss('classic-level') },
  ];
  for (const t of list) t.met = !s?.ok || !Number.isFinite(t.actual) ? null : t.kind === 'min' ? t.actual >= t.required : t.actual <= t.required;
  return list;
}

function markdown(report) {
  const { meta, results } = report;
  const names = ENGINES.filter((n) => results[n]);
  const lines = [];
  lines.push('# SiltDB against its peers', '');
  lines.push(
    `Generated by \`pnpm bench:engines\` (\`bench/engines/run.mjs\`) on ${meta.date}: ${meta.keys.toLocaleString('en-US')} keys ` +
      `(${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte incompressible values), batches of ${BATCH.toLocaleString('en-US')}, ` +
      `${meta.reads.toLocaleString('en-US')} random reads, relaxed durability (no fsync per commit). ` +
      `Node ${meta.node}, ${meta.cpus}× ${meta.cpuModel}, ${fmtMiB(meta.totalMemBytes)} RAM, ${meta.platform}. ` +
      `Each engine ran in its own child process; raw numbers in \`bench/engines.json\`, chart in \`bench/engines.svg\`.`,
    '',
  );
  lines.push('## Targets (issue 4)', '', '| target | required | SiltDB | met |', '|---|---:|---:|:---:|');
  for (const t of report.targets) {
    lines.push(`| ${t.text} | ${t.kind === 'min' ? '≥' : '≤'} ${t.required}× | ${fmtRatio(t.actual)} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
  }
  lines.push('');
  const phaseNotes = {
    fillseq: 'puts in key order into a fresh database, batches of 10k, each batch awaited',
    fillrandom: 'the same keys in a random order into a fresh database',
    readrandom: `${meta.reads.toLocaleString('en-US')} single-key reads of random existing keys, one at a time`,
    scan: 'forward iteration over every entry',
  };
  for (const phase of PHASES) {
    lines.push(`## ${phase}`, '', `${phaseNotes[phase]}.`, '', '| engine | ops/s | seconds | SiltDB ÷ engine |', '|---|---:|---:|---:|');
    const silt = results.siltdb?.ok ? results.siltdb.phases[phase].opsPerSec : NaN;
    for (const n of names) {
      const r = results[n];
      if (!r.ok) lines.push(`| ${n} | n/a | n/a | n/a |`);
      else {
        const p = r.phases[phase];
        lines.push(`| ${n} | ${Math.round(p.opsPerSec).toLocaleString('en-US')} | ${p.seconds.toFixed(2)} | ${n === 'siltdb' ? '1.00×' : fmtRatio(silt / p.opsPerSec)} |`);
      }
    }
    lines.push('');
  }
  lines.push('## Peak RSS and disk', '', 'Peak RSS is the child process\'s `process.resourceUsage().maxRSS` (it includes the ~18 MiB of keys, value pool and key orders every child holds, and the pages of memory-mapped files the process touched: lmdb\'s data file; SiltDB reads its tables with positional reads, which map nothing). Disk is the allocated size of the fillrandom database directory after close.', '');
  lines.push('| engine | peak RSS | RSS ÷ classic-level | disk | disk (apparent) | files |', '|---|---:|---:|---:|---:|---:|');
  const cl = results['classic-level']?.ok ? results['classic-level'].peakRssBytes : NaN;
  for (const n of names) {
    const r = results[n];
    if (!r.ok) lines.push(`| ${n} | n/a | n/a | n/a | n/a | n/a |`);
    else lines.push(`| ${n} | ${fmtMiB(r.peakRssBytes)} | ${fmtRatio(r.peakRssBytes / cl)} | ${fmtMiB(r.diskBytes)} | ${fmtMiB(r.diskApparentBytes)} | ${r.diskFiles} |`);
  }
  lines.push('', '## Engines and settings', '', '| engine | version | settings |', '|---|---|---|');
  for (const n of names) {
    const r = results[n];
    if (!r.ok) lines.push(`| ${n} | — | **not run**: ${String(r.error).replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
    else {
      const cfg = Object.entries(r.config).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ');
      lines.push(`| ${n} | ${r.version} | ${cfg.replace(/\|/g, '\\|')} |`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------ SVG chart

const COLORS = { siltdb: '#d9480f', 'classic-level': '#1c7ed6', '@nxtedition/rocksdb': '#5f3dc4', lmdb: '#2b8a3e', 'better-sqlite3': '#868e96' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function svg(report) {
  const { results, meta } = report;
  const names = ENGINES.filter((n) => results[n]?.ok);
  const W = 1000;
  const out = [];
  const font = 'font-family="Helvetica, Arial, sans-serif"';
  let y = 0;
  out.push(`<text x="${W / 2}" y="30" text-anchor="middle" font-size="20" font-weight="bold" ${font}>SiltDB vs peers — ${meta.keys.toLocaleString('en-US')} keys, 16 B keys / 100 B values, relaxed durability</text>`);
  out.push(`<text x="${W / 2}" y="52" text-anchor="middle" font-size="13" fill="#444" ${font}>Node ${esc(meta.node)}, ${meta.cpus} cores, ${esc(meta.date.slice(0, 10))} · each engine in its own process · higher bars are faster in the top panel</text>`);
  // legend
  let lx = 60;
  for (const n of names) {
    out.push(`<rect x="${lx}" y="68" width="14" height="14" fill="${COLORS[n]}"/>`);
    out.push(`<text x="${lx + 20}" y="80" font-size="14" ${font}>${esc(n)}</text>`);
    lx += 40 + n.length * 8;
  }
  y = 100;

  // Panel 1: ops/s, log scale
  const p1 = { x: 90, y: y + 70, w: W - 120, h: 330 }; // 40 px above the top gridline for the bar labels
  out.push(`<text x="${p1.x}" y="${y + 18}" font-size="15" font-weight="bold" ${font}>Throughput, operations per second (log₁₀ scale)</text>`);
  const all = names.flatMap((n) => PHASES.map((p) => results[n].phases[p].opsPerSec));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...all))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all))));
  const ly = (v) => p1.y + p1.h - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * p1.h;
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    out.push(`<line x1="${p1.x}" x2="${p1.x + p1.w}" y1="${ly(d)}" y2="${ly(d)}" stroke="#ccc"/>`);
    out.push(`<text x="${p1.x - 8}" y="${ly(d) + 4}" text-anchor="end" font-size="12" ${font}>${fmtOps(d)}</text>`);
    for (const m of [2, 5]) if (d * m < hi) out.push(`<line x1="${p1.x}" x2="${p1.x + p1.w}" y1="${ly(d * m)}" y2="${ly(d * m)}" stroke="#eee"/>`);
  }
  const gw = p1.w / PHASES.length;
  const bw = Math.min(34, (gw - 30) / names.length);
  PHASES.forEach((phase, gi) => {
    const gx = p1.x + gi * gw + (gw - bw * names.length) / 2;
    names.forEach((n, bi) => {
      const v = results[n].phases[phase].opsPerSec;
      const top = ly(v);
      const x = gx + bi * bw;
      out.push(`<rect x="${x + 2}" y="${top}" width="${bw - 4}" height="${p1.y + p1.h - top}" fill="${COLORS[n]}"><title>${esc(n)} ${phase}: ${Math.round(v)} ops/s</title></rect>`);
      out.push(`<text transform="translate(${x + bw / 2 + 4},${top - 5}) rotate(-90)" font-size="11" ${font}>${fmtOps(v)}</text>`);
    });
    out.push(`<text x="${p1.x + gi * gw + gw / 2}" y="${p1.y + p1.h + 22}" text-anchor="middle" font-size="15" font-weight="bold" ${font}>${phase}</text>`);
  });
  out.push(`<line x1="${p1.x}" x2="${p1.x + p1.w}" y1="${p1.y + p1.h}" y2="${p1.y + p1.h}" stroke="#333"/>`);
  y = p1.y + p1.h + 50;

  // Panel 2: peak RSS and disk, MiB, linear
  const p2 = { x: 90, y: y + 45, w: W - 120, h: 220 };
  out.push(`<text x="${p2.x}" y="${y + 18}" font-size="15" font-weight="bold" ${font}>Peak RSS and disk size, MiB (linear scale; lower is better)</text>`);
  const groups = [
    ['peak RSS', (r) => r.peakRssBytes / 2 ** 20],
    ['disk after fillrandom', (r) => r.diskBytes / 2 ** 20],
  ];
  const max2 = Math.max(...names.flatMap((n) => groups.map(([, f]) => f(results[n]))));
  const step = [10, 20, 25, 50, 100, 200, 250, 500, 1000].find((s) => max2 / s <= 6) ?? 2000;
  const top2 = Math.ceil(max2 / step) * step;
  const sy = (v) => p2.y + p2.h - (v / top2) * p2.h;
  for (let v = 0; v <= top2; v += step) {
    out.push(`<line x1="${p2.x}" x2="${p2.x + p2.w}" y1="${sy(v)}" y2="${sy(v)}" stroke="#ccc"/>`);
    out.push(`<text x="${p2.x - 8}" y="${sy(v) + 4}" text-anchor="end" font-size="12" ${font}>${v}</text>`);
  }
  const gw2 = p2.w / groups.length;
  const bw2 = Math.min(50, (gw2 - 40) / names.length);
  groups.forEach(([label, f], gi) => {
    const gx = p2.x + gi * gw2 + (gw2 - bw2 * names.length) / 2;
    names.forEach((n, bi) => {
      const v = f(results[n]);
      const x = gx + bi * bw2;
      out.push(`<rect x="${x + 3}" y="${sy(v)}" width="${bw2 - 6}" height="${p2.y + p2.h - sy(v)}" fill="${COLORS[n]}"><title>${esc(n)} ${label}: ${v.toFixed(1)} MiB</title></rect>`);
      out.push(`<text x="${x + bw2 / 2}" y="${sy(v) - 5}" text-anchor="middle" font-size="11" ${font}>${v.toFixed(0)}</text>`);
    });
    out.push(`<text x="${p2.x + gi * gw2 + gw2 / 2}" y="${p2.y + p2.h + 22}" text-anchor="middle" font-size="15" font-weight="bold" ${font}>${label}</text>`);
  });
  out.push(`<line x1="${p2.x}" x2="${p2.x + p2.w}" y1="${p2.y + p2.h}" y2="${p2.y + p2.h}" stroke="#333"/>`);
  y = p2.y + p2.h + 45;

  // Targets line
  const tt = report.targets.map((t) => `${t.text}: ${fmtRatio(t.actual)} ${t.met === null ? '(n/a)' : t.met ? '✓' : '✗'}`).join('   ·   ');
  out.push(`<text x="${W / 2}" y="${y}" text-anchor="middle" font-size="12.5" ${font}>${esc(tt)}</text>`);
  const missing = ENGINES.filter((n) => results[n] && !results[n].ok);
  if (missing.length) {
    y += 18;
    out.push(`<text x="${W / 2}" y="${y}" text-anchor="middle" font-size="12" fill="#a00" ${font}>not run: ${esc(missing.join(', '))} (see RESULTS.md)</text>`);
  }
  const H = y + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">\n<rect width="100%" height="100%" fill="#fff"/>\n${out.join('\n')}\n</svg>\n`;
}

// ------------------------------------------------------------------------------------ main

async function main() {
  const only = process.env.SILT_BENCH_ONLY ? process.env.SILT_BENCH_ONLY.split(',').map((s) => s.trim()) : ENGINES;
  const meta = {
    date: new Date().toISOString(),
    keys: KEYS,
    reads: READS,
    batch: BATCH,
    keyBytes: KEY_BYTES,
    valueBytes: VALUE_BYTES,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
    totalMemBytes: totalmem(),
    dbDir: process.env.SILT_BENCH_DIR || tmpdir(),
  };
  console.log(`engine bench: ${KEYS} keys, ${READS} reads, batches of ${BATCH}`);
  const results = {};
  for (const name of ENGINES.filter((n) => only.includes(n))) {
    process.stdout.write(`- ${name} … `);
    const r = await runChild(name);
    results[name] = r;
    if (r.ok) {
      console.log(PHASES.map((p) => `${p} ${fmtOps(r.phases[p].opsPerSec)}/s`).join(', ') + `, peak RSS ${fmtMiB(r.peakRssBytes)}, disk ${fmtMiB(r.diskBytes)} (${r.wallSeconds.toFixed(1)} s)`);
    } else {
      console.log(`NOT RUN: ${r.error}`);
    }
  }
  const report = { meta, results, targets: targets(results) };
  const outDir = process.env.SILT_BENCH_OUT ? resolve(process.env.SILT_BENCH_OUT) : join(ROOT, 'bench');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'engines.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(outDir, 'RESULTS.md'), withFragments(markdown(report), outDir));
  if (Object.values(results).some((r) => r.ok)) writeFileSync(join(outDir, 'engines.svg'), svg(report));
  console.log('\ntargets:');
  for (const t of report.targets) console.log(`  ${t.text}: ${fmtRatio(t.actual)} ${t.met === null ? '(n/a)' : t.met ? 'met' : 'NOT met'}`);
  console.log(`wrote ${join(outDir, 'engines.json')}, RESULTS.md, engines.svg`);
}

/**
 * RESULTS.md is one page for every benchmark, but each benchmark runs on its own: the other
 * benchmarks (value log churn, versioned store, …) write their markdown section to
 * `bench/results/<name>.md`, and this page appends those sections, sorted by file name, after the
 * peer comparison. `--render` rebuilds the page from the stored JSON and sections alone.
 */
function withFragments(page, outDir) {
  const dir = join(outDir, 'results');
  if (!existsSync(dir)) return page;
  const sections = readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => readFileSync(join(dir, name), 'utf8').trim());
  return sections.length === 0 ? page : `${page.trimEnd()}\n\n${sections.join('\n\n')}\n`;
}

/** `--render`: rewrite RESULTS.md and engines.svg from an existing engines.json (no benchmark). */
function render() {
  const outDir = process.env.SILT_BENCH_OUT ? resolve(process.env.SILT_BENCH_OUT) : join(ROOT, 'bench');
  const report = JSON.parse(readFileSync(join(outDir, 'engines.json'), 'utf8'));
  writeFileSync(join(outDir, 'RESULTS.md'), withFragments(markdown(report), outDir));
  writeFileSync(join(outDir, 'engines.svg'), svg(report));
  console.log(`rendered ${join(outDir, 'RESULTS.md')} and engines.svg from engines.json`);
}

if (process.argv[2] === '--render') {
  render();
} else if (process.argv[2] === '--child') {
  const name = process.argv[3];
  child(name).then(
    (r) => process.send(r, () => process.exit(0)),
    (error) => process.send({ ok: false, error: String(error?.stack ?? error) }, () => process.exit(0)),
  );
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
