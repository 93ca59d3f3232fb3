/**
 * Steps of the open sequence shared by `openCommitStore`, rollback and `loadVersion`: resolving
 * which snapshot `current` names (adopting an orphan or creating `snapshot-0` when needed),
 * bringing `working/` in line with it, and replaying the changelog onto an engine database.
 */
import { join } from 'node:path';
import type { Accelerator } from '@siltdb/bindings';
import type { Db } from '../db/db.js';
import { open as openDb } from '../db/open.js';
import type { OpenOptions as EngineOpenOptions } from '../db/options.js';
import { ErrorCodes, siltError } from '../errors.js';
import type { Vfs } from '../vfs/types.js';
import type { Changelog } from './changelog.js';
import { cloneTree, type CloneCounts } from './clone.js';
import {
  listSnapshots,
  parseSnapshotName,
  pointCurrent,
  readCurrent,
  readFileIfExists,
  removeTree,
  SNAPSHOT_BASE_FILE,
  snapshotName,
  TMP_SUFFIX,
  WORKING_DIR,
  writeFileAtomically,
} from './layout.js';
import { emptyLanes } from './lthash.js';
import { encodeMeta, META_KEY } from './meta.js';
import { WorkingState } from './working-state.js';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * The snapshot `current` names. Without a usable `current`: the newest snapshot directory (an
 * orphan left by a crash before the link swap), else a new empty `snapshot-0`. Returns its version.
 */
export async function resolveCurrent(vfs: Vfs, home: string, engine: EngineOpenOptions): Promise<number> {
  const linked = await readCurrent(vfs, home);
  const linkedVersion = linked === null ? null : parseSnapshotName(linked);
  if (linkedVersion !== null && (await vfs.exists(join(home, linked!)))) return linkedVersion;
  const snapshots = await listSnapshots(vfs, home);
  const newest = snapshots.at(-1);
  if (newest !== undefined) {
    await pointCurrent(vfs, home, snapshotName(newest));
    return newest;
  }
  await createEmptySnapshot(vfs, home, engine);
  await pointCurrent(vfs, home, snapshotName(0));
  return 0;
}

/** `snapshot-0`: an engine database holding only the metadata record of version 0 (the empty hash). */
async function createEmptySnapshot(vfs: Vfs, home: string, engine: EngineOpenOptions): Promise<void> {
  const name = snapshotName(0);
  const tmp = join(home, name + TMP_SUFFIX);
  await removeTree(vfs, tmp);
  const db = await openDb(tmp, { ...engine, errorIfExists: true });
  try {
    await db.put(META_KEY, encodeMeta(0, emptyLanes()));
  } finally {
    await db.close();
  }
  await vfs.rename(tmp, join(home, name), { durable: true });
}

/**
 * Make `working/` a clone of snapshot `base` unless `SNAPSHOT_BASE` already names it. The marker is
 * written last, so a clone interrupted by a crash is redone.
 */
export async function prepareWorking(vfs: Vfs, home: string, base: number): Promise<CloneCounts | null> {
  const working = join(home, WORKING_DIR);
  const marker = await readFileIfExists(vfs, join(working, SNAPSHOT_BASE_FILE));
  if (marker !== null && utf8Decoder.decode(marker).trim() === snapshotName(base)) return null;
  await removeTree(vfs, working);
  const counts = await cloneTree(vfs, join(home, snapshotName(base)), working);
  await vfs.syncDir(home);
  await writeSnapshotBase(vfs, home, base);
  return counts;
}

export function writeSnapshotBase(vfs: Vfs, home: string, base: number): Promise<void> {
  return writeFileAtomically(vfs, join(home, WORKING_DIR, SNAPSHOT_BASE_FILE), utf8.encode(`${snapshotName(base)}\n`));
}

/** Open an engine database holding a store (working/ or a view) and read its metadata. */
export async function openState(dir: string, engine: EngineOpenOptions, accelerator: Accelerator): Promise<WorkingState> {
  const db: Db = await openDb(dir, { ...engine, createIfMissing: false });
  try {
    return new WorkingState(db, accelerator);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

/** Progress of a long operation: versions replayed so far out of the total to replay. */
export interface ReplayProgress {
  readonly phase: 'replay';
  readonly done: number;
  readonly total: number;
}

export interface LongOperationOptions {
  /** Checked before the work starts and between replayed versions. */
  readonly signal?: AbortSignal;
  onProgress?(progress: ReplayProgress): void;
}

/** Versions between two progress reports. */
const PROGRESS_EVERY = 64;

/** An `AbortError` (as Node's own APIs throw) whose `cause` is the signal's reason. */
export function abortError(signal: AbortSignal): DOMException {
  const error = new DOMException('The operation was aborted', 'AbortError');
  Object.defineProperty(error, 'cause', { value: signal.reason, configurable: true, writable: true });
  return error;
}

export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Replay changelog versions (state.version, target] onto `state`, one engine batch per version. */
export async function replay(state: WorkingState, changelog: Changelog, target: number, options: LongOperationOptions = {}): Promise<number> {
  const from = state.version + 1;
  if (target < from) {
    // Nothing to replay, but the version must still be the one asked for: data ahead of the target
    // (a working/ that was not re-cloned) must not pass for it.
    if (state.version !== target) throw siltError(ErrorCodes.CORRUPTION, `replay to version ${target}: the data is already at version ${state.version}`);
    return 0;
  }
  const total = target - from + 1;
  let replayed = 0;
  for await (const record of changelog.records(from, target)) {
    checkAbort(options.signal);
    state.apply(record.changeSets());
    const { changes, lanes } = state.beginVersion();
    await state.writeVersion(record.version, changes, lanes);
    replayed++;
    if (replayed % PROGRESS_EVERY === 0 || replayed === total) options.onProgress?.({ phase: 'replay', done: replayed, total });
  }
  if (state.version !== target) {
    throw siltError(ErrorCodes.CORRUPTION, `replay reached version ${state.version}, not ${target}`);
  }
  return replayed;
}
