/**
 * Value-log garbage collection: segments with no live bytes go once nothing reaches them; an open
 * snapshot or iterator keeps reading correct values and keeps the files until it is released; a
 * crash between the ledger's drop edit and the unlink leaves an orphan the next pass removes; the
 * ledger stays exact across it all, through power loss too.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { open, type Db } from '../src/index.js';
import { FaultVfs } from '../src/vfs/index.js';
import { segmentFileName, VLOG_DIR } from '../src/vlog/index.js';
import { noiseHex, s, strings, tempDir } from './db-helpers.js';

const options = { valueThreshold: 16, valueLogSegmentBytes: 4096, memtableBytes: 64 * 1024, disableAutoCompaction: true } as const;

/** An incompressible value, so segments fill at the rate values arrive. */
function valueOf(round: number, i: number): string {
  return `round ${round} of key ${i}: ${noiseHex((round * 7919 + i * 104729) >>> 0 || 1, 16)}`;
}

const KEYS = 80;

async function writeRound(db: Db, round: number, keys = KEYS): Promise<void> {
  for (let i = 0; i < keys; i++) await db.put(`key${String(i).padStart(3, '0')}`, valueOf(round, i));
}

function segmentFiles(dir: string): string[] {
  return readdirSync(join(dir, VLOG_DIR)).sort();
}

function expectRound(db: Db, round: number, options?: Parameters<Db['getSync']>[1]): void {
  for (let i = 0; i < 40; i += 7) assert.equal(s(db.getSync(`key${String(i).padStart(3, '0')}`, options)), valueOf(round, i));
}

describe('value-log GC', () => {
  test('overwritten segments are deleted after compaction; live ones stay', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    await writeRound(db, 1);
    await db.flush();
    const first = segmentFiles(dir);
    await writeRound(db, 2);
    await db.compact();
    await db.collectGarbage();
    const after = segmentFiles(dir);
    // Every segment that held only round 1 is gone (the last one also took round 2's first values).
    assert.ok(first.length > 2, `${first.length} segments`);
    for (const name of first.slice(0, -1)) assert.ok(!after.includes(name), `${name} survived`);
    const active = db.stats().valueLog!.lanes[0]!.active!;
    assert.ok(after.includes(segmentFileName(0, active)));
    expectRound(db, 2);
    const report = db.verifyLedger({ readValues: true });
    assert.ok(report.ok, report.problems.join('; '));
    assert.ok(db.stats().valueLog!.gc.deletedSegments >= first.length - 1);
    assert.ok(db.stats().valueLog!.ledger.stale < db.stats().valueLog!.ledger.total);
    await db.close();
  });

  test('a snapshot and an iterator keep reading, and keep their segments until released', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    await writeRound(db, 1);
    await db.flush();
    const snapshot = db.snapshot();
    // This iterator also holds a memtable that is flushed (and compacted away) under it.
    await db.put('memtable-only', `a value that lives in the memtable ${'m'.repeat(50)}`);
    const iterator = db.iterator();
    const firstEntry = iterator.next();
    assert.equal(firstEntry.done, false);
    const roundOne = segmentFiles(dir);
    await db.del('memtable-only');
    for (let round = 2; round <= 4; round++) {
      await writeRound(db, round);
      await db.compact();
    }
    await db.collectGarbage();
    // The snapshot's values are still readable, and so are their files.
    expectRound(db, 1, { snapshot });
    for (const name of roundOne.slice(0, -1)) assert.ok(existsSync(join(dir, VLOG_DIR, name)), `${name} went while a snapshot needed it`);
    snapshot.release();
    // Versions kept for the snapshot sit in the bottom level until new data compacts into them.
    await writeRound(db, 5);
    await db.compact();
    await db.collectGarbage();
    // The iterator still reads round 1 and the memtable it captured.
    for (const name of roundOne.slice(0, -1)) assert.ok(existsSync(join(dir, VLOG_DIR, name)), `${name} went while an iterator needed it`);
    const rest = strings(iterator);
    assert.equal(rest.length, KEYS);
    for (const [key, value] of rest) {
      if (key === 'memtable-only') assert.equal(value, `a value that lives in the memtable ${'m'.repeat(50)}`);
      else assert.equal(value, valueOf(1, Number(key.slice(3))), 'the iterator sees its own moment');
    }
    // Exhausted: the iterator released its version; the next pass removes what only it held.
    await db.collectGarbage();
    for (const name of roundOne.slice(0, -1)) {
      assert.ok(!existsSync(join(dir, VLOG_DIR, name)), `${name} survived every reader: ${JSON.stringify(db.stats().valueLog!.ledger)} ${JSON.stringify(db.verifyLedger().segments)}`);
    }
    expectRound(db, 5);
    assert.ok(db.verifyLedger({ readValues: true }).ok);
    await db.close();
  });

  test('a crash between the ledger drop and the unlink leaves an orphan the next pass removes', async () => {
    let vfs = new FaultVfs();
    const db = await open('/db', { ...options, vfs });
    await writeRound(db, 1);
    await db.flush();
    await writeRound(db, 2);
    await db.compact();
    vfs.inject({ kind: 'unlink', path: '.vlog', times: Infinity });
    await assert.rejects(db.collectGarbage(), { code: 'IO_ERROR' });
    vfs = vfs.crash();
    await db.close().catch(() => {});
    const orphaned = (await vfs.readdir('/db/vlog')).length;
    const reopened = await open('/db', { ...options, vfs });
    assert.ok(reopened.verifyLedger({ readValues: true }).ok);
    const result = await reopened.collectGarbage();
    assert.ok(result.deletedSegments.length > 0, 'the orphans went');
    assert.ok((await vfs.readdir('/db/vlog')).length < orphaned);
    expectRound(reopened, 2);
    assert.ok(reopened.verifyLedger({ readValues: true }).ok);
    await reopened.close();
  });

  test('random histories with background compaction and GC: the ledger equals a recount after every reopen and power loss', async () => {
    let vfs = new FaultVfs();
    const model = new Map<string, string>();
    let durableModel = new Map<string, string>();
    const o = { valueThreshold: 24, valueLogSegmentBytes: 4096, memtableBytes: 4096, l0CompactionTrigger: 2, targetFileBytes: 2048, baseLevelBytes: 4096, durability: 'sync' as const };
    let db = await open('/db', { ...o, vfs });
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let step = 0; step < 1500; step++) {
      const key = `k${Math.floor(random() * 60)}`;
      const r = random();
      if (r < 0.7) {
        const value = `${step}:${'z'.repeat(Math.floor(random() * 200))}`;
        await db.put(key, value);
        model.set(key, value);
      } else if (r < 0.85) {
        await db.del(key);
        model.delete(key);
      } else if (r < 0.87) {
        await db.collectGarbage();
      } else if (r < 0.875) {
        const crashed = random() < 0.5;
        if (crashed) vfs = vfs.crash({ seed: step });
        await db.close().catch(() => {});
        db = await open('/db', { ...o, vfs });
        // `sync` durability: every acknowledged write survived.
        assert.deepEqual(new Map(strings(db.iterator())), model, `step ${step}`);
        const report = db.verifyLedger({ readValues: true });
        assert.ok(report.ok, `step ${step}: ${report.problems.join('; ')}`);
      }
      durableModel = model;
    }
    await db.compact();
    await db.collectGarbage();
    assert.deepEqual(new Map(strings(db.iterator())), durableModel);
    const report = db.verifyLedger({ readValues: true });
    assert.ok(report.ok, report.problems.join('; '));
    const stats = db.stats().valueLog!;
    assert.ok(stats.gc.deletedSegments > 0 || stats.segments <= 3, JSON.stringify(stats.gc));
    await db.close();
  });
});
