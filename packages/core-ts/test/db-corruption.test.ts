/**
 * A byte flipped in a table or a WAL segment (issue 4, Tests): reopening and reading everything
 * (getSync of every key written, and a full iteration) either fails with `CORRUPTION` — on open,
 * on read or on close — or, only when the flip lands in the last WAL record (which recovery
 * legitimately cuts as a torn tail, docs/FORMAT.md §4), yields the state after a prefix of the
 * writes. Never a wrong value, a lost key, or a key that was never written.
 */
import assert from 'node:assert/strict';
import { accessSync, constants, cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { open, type Db } from '../src/index.js';
import { rng } from './db-helpers.js';

function removeLockFiles(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeLockFiles(join(dir, entry.name));
    else if (entry.name === 'LOCK') rmSync(join(dir, entry.name));
  }
}

const OPTIONS = { durability: 'sync', memtableBytes: 256, blockSize: 64, disableAutoCompaction: true } as const;
/** Reopening: a memtable large enough that replay flushes nothing, so a check writes little. */
const REOPEN = { ...OPTIONS, memtableBytes: 1 << 20 } as const;
const text = new TextDecoder();

/** The writes, in order: each is one batch of puts of fresh keys. Tables first, then WAL-only batches. */
const TABLE_BATCHES: [string, string][][] = [];
const WAL_BATCHES: [string, string][][] = [];
for (let t = 0; t < 3; t++) {
  const batch: [string, string][] = [];
  for (let i = 0; i < 5; i++) batch.push([`t${t}-${i}`, `value-${t}-${i}`]);
  TABLE_BATCHES.push(batch);
}
for (let w = 0; w < 4; w++) WAL_BATCHES.push([[`w${w}a`, `wal-${w}-a`], [`w${w}b`, `wal-${w}-b`]]);
const ALL = [...TABLE_BATCHES, ...WAL_BATCHES];

type Outcome = { kind: 'corruption'; where: string } | { kind: 'prefix'; batches: number };

/** Open `dir`, read every key and iterate; CORRUPTION anywhere is an outcome, any other error fails. */
async function observe(dir: string): Promise<Outcome> {
  let db: Db | null = null;
  let where = 'open';
  try {
    db = await open(dir, REOPEN);
    where = 'getSync';
    const got = new Map<string, string>();
    for (const batch of ALL) {
      for (const [k] of batch) {
        const v = db.getSync(k);
        if (v !== undefined) got.set(k, text.decode(v));
      }
    }
    where = 'iterator';
    const scanned = new Map<string, string>();
    for (const [k, v] of db.iterator()) scanned.set(text.decode(k), text.decode(v));
    where = 'close';
    await db.close();
    assert.deepEqual(scanned, got, 'the full iteration disagrees with getSync');
    // The state must be the writes of batches [0, n) for some n, each batch whole.
    let n = 0;
    while (n < ALL.length && ALL[n]!.every(([k, v]) => got.get(k) === v)) n++;
    const expected = new Map(ALL.slice(0, n).flat());
    assert.deepEqual(got, expected, `the state is not a prefix of the writes (first ${n} batches whole)`);
    return { kind: 'prefix', batches: n };
  } catch (error) {
    await db?.close().catch(() => {});
    if ((error as { code?: unknown }).code === 'CORRUPTION') return { kind: 'corruption', where };
    throw error;
  }
}

function ramDir(): string | null {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return statSync('/dev/shm').isDirectory() ? '/dev/shm' : null;
  } catch {
    return null;
  }
}

/** Every file of the database directory, relative, with its size. */
function files(dir: string, sub = ''): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  for (const name of readdirSync(join(dir, sub)).sort()) {
    const rel = sub === '' ? name : `${sub}/${name}`;
    const st = statSync(join(dir, rel));
    if (st.isDirectory()) out.push(...files(dir, rel));
    else out.push({ path: rel, size: st.size });
  }
  return out;
}

/** Offsets to flip: all of them for small files, otherwise a seeded sample of 200 (plus both ends). */
function positions(size: number, seed: number): number[] {
  if (size <= 600) return Array.from({ length: size }, (_, i) => i);
  const random = rng(seed);
  const set = new Set([0, size - 1]);
  while (set.size < 200) set.add(Math.floor(random() * size));
  return [...set].sort((x, y) => x - y);
}

/** Byte offsets of the records of a WAL segment (docs/FORMAT.md §4): [start, end) of each. */
function walRecords(bytes: Uint8Array): [number, number][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: [number, number][] = [];
  for (let at = 20; at + 12 <= bytes.length; ) {
    const n = view.getUint32(at, true);
    records.push([at, at + 12 + n]);
    at += 12 + n;
  }
  return records;
}

describe('a flipped byte is CORRUPTION, never wrong data', { timeout: 300_000 }, () => {
  let root = '';
  let pristine = '';
  after(() => rmSync(root, { recursive: true, force: true }));
  before(async () => {
    // Hundreds of open/close cycles, each fsyncing a little: on a RAM file system when there is one.
    root = mkdtempSync(join(ramDir() ?? tmpdir(), 'silt-corrupt-'));
    pristine = join(root, 'pristine');
    const db = await open(pristine, OPTIONS);
    for (const batch of TABLE_BATCHES) {
      await db.batch(batch.map(([key, value]) => ({ type: 'put' as const, key, value })));
      await db.flush();
    }
    for (const batch of WAL_BATCHES) await db.batch(batch.map(([key, value]) => ({ type: 'put' as const, key, value })));
    // Simulate a crash after the WAL writes: copy the files while the database is still open
    // (everything above is fsynced), so the last batches live only in the WAL.
    cpSync(pristine, join(root, 'crashed'), { recursive: true });
    await db.close();
    rmSync(pristine, { recursive: true, force: true });
    // The process that "crashed" is this one, so its lock files (the database's, and the logs'
    // inside it) would still count as held: a real crash leaves locks of a dead process.
    removeLockFiles(join(root, 'crashed'));
    cpSync(join(root, 'crashed'), pristine, { recursive: true });
    // The pristine copy reads back whole.
    assert.deepEqual(await observe(join(root, 'crashed')), { kind: 'prefix', batches: ALL.length });
  });

  test('the pristine database has tables and WAL-only batches', () => {
    const list = files(pristine);
    assert.ok(list.filter((f) => f.path.endsWith('.sst')).length >= 3, JSON.stringify(list));
    const segs = list.filter((f) => f.path.startsWith('wal/') && f.path.endsWith('.seg'));
    assert.ok(segs.length >= 1, JSON.stringify(list));
    const records = segs.flatMap((f) => walRecords(readFileSync(join(pristine, f.path))));
    assert.ok(records.length >= WAL_BATCHES.length, `WAL records: ${records.length}`);
  });

  for (const kind of ['table', 'wal'] as const) {
    test(`every ${kind} file, byte by byte`, async (t) => {
      const targets = files(pristine).filter((f) => (kind === 'table' ? f.path.endsWith('.sst') : f.path.startsWith('wal/') && f.path.endsWith('.seg')));
      assert.ok(targets.length > 0);
      const counts = { corruption: 0, prefix: 0 };
      for (const [fileIndex, target] of targets.entries()) {
        const original = readFileSync(join(pristine, target.path));
        // The last record of the last segment may be cut as a torn tail when damaged.
        const isLastSegment = kind === 'wal' && target === targets[targets.length - 1];
        const lastRecord = isLastSegment ? walRecords(original).at(-1) : undefined;
        for (const at of positions(target.size, 0xbad0 + fileIndex)) {
          const work = join(root, 'work');
          rmSync(work, { recursive: true, force: true });
          cpSync(pristine, work, { recursive: true });
          const damaged = Buffer.from(original);
          damaged[at] = damaged[at]! ^ (1 << (at % 8));
          writeFileSync(join(work, target.path), damaged);
          const label = `${target.path} byte ${at} (0x${original[at]!.toString(16)} → 0x${damaged[at]!.toString(16)})`;
          let outcome: Outcome;
          try {
            outcome = await observe(work);
          } catch (error) {
            assert.fail(`${label}: ${(error as Error).message}`);
          }
          counts[outcome.kind]++;
          if (outcome.kind === 'prefix') {
            const inTornTail = lastRecord !== undefined && at >= lastRecord[0] && at < lastRecord[1];
            assert.ok(inTornTail, `${label}: read back without CORRUPTION (${outcome.batches} batches)`);
            assert.equal(outcome.batches, ALL.length - 1, `${label}: a torn tail cuts exactly the last batch`);
          }
        }
      }
      t.diagnostic(`${kind}: ${JSON.stringify(counts)}`);
    });
  }
});
