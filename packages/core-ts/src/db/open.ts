/**
 * Opening a database (docs/ENGINE.md): take the lock (a second writer gets `LOCKED`), open the
 * manifest, open the live tables, remove table files no version lists, and replay the WAL from
 * the manifest's `walFlushedIndex` into memtables. With `durability: 'none'` a WAL left by an
 * earlier session is replayed, flushed and emptied, and no WAL is kept from then on.
 *
 * `readOnly` opens take no lock and write nothing: they read the manifest without its log's lock
 * (read-only-manifest.ts) and open the tables it lists. They see what was flushed when they
 * opened, not the writer's WAL or memtable.
 */
import { join } from 'node:path';
import { ErrorCodes, siltError } from '../errors.js';
import { CURRENT_FILE, ManifestStore } from '../manifest/index.js';
import { WriteAheadLog } from '../wal/index.js';
import { Db } from './db.js';
import { LOCK_FILE, WAL_DIR } from './files.js';
import { resolveOptions, type OpenOptions } from './options.js';
import { readManifestReadOnly } from './read-only-manifest.js';
import { removeStrayTables, replayWal } from './recovery.js';
import { TableSet } from './table-set.js';
import type { Ledger } from '../manifest/index.js';
import { segmentPath, ValueLog, type RecordedSegment } from '../vlog/index.js';

/**
 * The database WAL's segment size. The WAL is truncated only once a segment's worth of bytes was
 * appended since the last truncation (`WriteAheadLog.release`), so it holds up to about two
 * segments: with 64 MiB segments (the log's default) that was 0.07× the live data on average and
 * 0.11× at the end of the 1M-key value-log churn (pointer batches, not values) — disk no
 * maintenance could reclaim. 16 MiB bounds it to ~32 MiB for one truncation (a few fsyncs) per
 * 16 MiB appended.
 */
export const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;

/**
 * What the ledger says the value log may trust (FORMAT §8.2). A retired segment's file may be gone
 * (no read at our seqs reaches it): a read-only open, which requires every recorded segment, leaves
 * out those that are missing.
 */
async function recordedSegments(path: string, o: ReturnType<typeof resolveOptions>, ledger: Ledger): Promise<Map<number, RecordedSegment>> {
  const recorded = new Map<number, RecordedSegment>();
  for (const entry of ledger.values()) {
    if (o.readOnly && entry.retiredAt > 0 && !(await o.vfs.exists(segmentPath(path, entry.lane, entry.segment)))) continue;
    recorded.set(entry.segment, { length: entry.length, sealed: entry.sealed });
  }
  return recorded;
}

async function openValueLog(path: string, o: ReturnType<typeof resolveOptions>, ledger: Ledger): Promise<ValueLog> {
  return ValueLog.open(path, {
    vfs: o.vfs,
    accelerator: o.accelerator,
    segmentBytes: o.valueLogSegmentBytes,
    foregroundLanes: o.valueLogLanes,
    recorded: await recordedSegments(path, o, ledger),
    readOnly: o.readOnly,
  });
}

export async function open(path: string, options?: OpenOptions): Promise<Db> {
  if (typeof path !== 'string' || path.length === 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the database path must be a non-empty string');
  const o = resolveOptions(options);
  const { vfs } = o;
  const exists = await vfs.exists(join(path, CURRENT_FILE));
  if (exists && o.errorIfExists) throw siltError(ErrorCodes.INVALID_ARGUMENT, `a database already exists in ${path} (errorIfExists)`);
  if (!exists && (o.readOnly || !o.createIfMissing)) {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, `no database in ${path}${o.readOnly ? ' (readOnly opens never create one)' : ' and createIfMissing is false'}`);
  }
  if (o.readOnly) return openReadOnly(path, o);

  await vfs.mkdir(path, { recursive: true, durable: true });
  const lock = await vfs.lock(join(path, LOCK_FILE));
  let manifest: ManifestStore | null = null;
  let tables: TableSet | null = null;
  let wal: WriteAheadLog | null = null;
  let valueLog: ValueLog | null = null;
  try {
    const holder: { db: Db | null; early: number[] } = { db: null, early: [] };
    manifest = await ManifestStore.open(path, {
      vfs,
      onObsoleteFiles: (files) => (holder.db === null ? holder.early.push(...files) : holder.db.obsoleted(files)),
    });
    tables = new TableSet(path, vfs, o.accelerator, o.blockCacheBytes);
    await tables.openAll(manifest.current.allTables());
    await removeStrayTables(vfs, path, manifest.versions.liveFileNumbers());
    valueLog = await openValueLog(path, o, manifest.versions.ledger);
    const db = new Db(path, o, lock, manifest, manifest.versions, tables, null);
    db.valueLog = valueLog;
    holder.db = db;
    if (holder.early.length > 0) db.obsoleted(holder.early.splice(0));
    const counters = manifest.counters;
    db.startAt(counters.lastSeq);
    const walDir = join(path, WAL_DIR);
    if (o.durability !== 'none' || (await vfs.exists(walDir))) {
      wal = await WriteAheadLog.open(walDir, {
        vfs,
        durability: o.durability === 'sync' ? 'sync' : 'relaxed',
        relaxedSyncMs: o.relaxedSyncMs,
        segmentBytes: WAL_SEGMENT_BYTES,
      });
      const replayed = await replayWal(
        wal,
        counters.walFlushedIndex,
        (seq, kind, key, value) => db.replayOp(seq, kind, key, value),
        (index) => db.replayBatchDone(index),
        (pointer, key) => valueLog!.resolves(pointer, key),
      );
      db.startAt(replayed.lastSeq);
      db.wal = wal;
      if (o.durability === 'none') {
        // No WAL from now on: what it held goes to tables first.
        await wal.sync();
        await db.flush();
        await wal.close();
        db.wal = null;
      }
    }
    db.startBackgroundWork();
    return db;
  } catch (error) {
    await wal?.close().catch(() => {});
    await valueLog?.close().catch(() => {});
    await manifest?.close().catch(() => {});
    tables?.closeAll();
    await lock.release().catch(() => {});
    throw error;
  }
}

const READ_ONLY_ATTEMPTS = 5;

async function openReadOnly(path: string, o: ReturnType<typeof resolveOptions>): Promise<Db> {
  let lastError: unknown = null;
  // The writer may replace tables between our manifest read and opening them: read again.
  for (let attempt = 0; attempt < READ_ONLY_ATTEMPTS; attempt++) {
    const versions = await readManifestReadOnly(o.vfs, path);
    const tables = new TableSet(path, o.vfs, o.accelerator, o.blockCacheBytes);
    try {
      await tables.openAll(versions.current.allTables());
    } catch (error) {
      tables.closeAll();
      lastError = error;
      continue;
    }
    let valueLog: ValueLog;
    try {
      valueLog = await openValueLog(path, o, versions.ledger);
    } catch (error) {
      tables.closeAll();
      lastError = error;
      continue;
    }
    const db = new Db(path, o, null, null, versions, tables, null);
    db.valueLog = valueLog;
    db.startAt(versions.counters.lastSeq);
    return db;
  }
  throw lastError;
}
