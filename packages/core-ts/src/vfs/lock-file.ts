/**
 * An exclusive lock made of a lock file, for `NodeVfs.lock`. Node has no flock(2), so exclusion
 * comes from creating the file with O_EXCL: exactly one creator wins, in any process. The file
 * holds `pid host token started`; a later process that finds it checks whether the owner still
 * runs, so a writer that crashed (and could not remove its file) does not lock the directory
 * forever. `started` (the owner process's start time, ms since the epoch) tells our own process —
 * another `worker_threads` thread of it — from an earlier process that had the same pid.
 *
 * Inside one thread a registry of held paths answers first: a second `lock` of the same path
 * fails at once, even before the first one's file exists.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { ErrorCodes, siltError, type SiltError } from '../errors.js';
import { ioError, systemErrorCode } from './io-error.js';
import type { VfsLock } from './types.js';

const heldInThisProcess = new Set<string>();

/**
 * When this process started. `process.uptime()` is process-wide, so every thread computes the
 * same instant (to within a millisecond or two of clock reading).
 */
const processStartedMs = Math.round(Date.now() - process.uptime() * 1000);
/** Start times this close belong to one process; a pid is never reused within a second. */
const SAME_PROCESS_START_TOLERANCE_MS = 1000;

/** A lock file with no owner line this old was left by a writer that died while creating it. */
const UNWRITTEN_LOCK_FILE_GRACE_MS = 10_000;

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  /** The owner process's start time; absent in lock files of older versions. */
  readonly started?: number;
}

export async function acquireLockFile(path: string): Promise<VfsLock> {
  const key = resolve(path);
  if (heldInThisProcess.has(key)) throw lockedError(key, 'it is held by this process');
  // Reserved before the first await, so two concurrent calls in this process cannot both proceed.
  heldInThisProcess.add(key);
  try {
    const token = randomUUID();
    await createLockFile(key, { pid: process.pid, host: hostname(), token, started: processStartedMs });
    return new LockFileHandle(key, token);
  } catch (error) {
    heldInThisProcess.delete(key);
    throw error;
  }
}

class LockFileHandle implements VfsLock {
  private released = false;

  constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      // Remove the file only while it is still ours: after a stale-lock takeover it may not be.
      const owner = await readOwner(this.path);
      if (owner?.token === this.token) await fsp.unlink(this.path);
    } catch (error) {
      if (systemErrorCode(error) !== 'ENOENT') throw ioError('unlock', this.path, error);
    } finally {
      heldInThisProcess.delete(this.path);
    }
  }
}

async function createLockFile(path: string, owner: LockOwner): Promise<void> {
  // Two rounds: the second runs after a stale lock file was removed.
  for (let round = 0; round < 2; round++) {
    try {
      const handle = await fsp.open(path, 'wx');
      try {
        await handle.writeFile(`${owner.pid} ${owner.host} ${owner.token} ${owner.started ?? ''}`.trimEnd() + '\n');
      } finally {
        await handle.close();
      }
      return;
    } catch (error) {
      if (systemErrorCode(error) !== 'EEXIST') throw ioError('lock', path, error);
    }
    const stale = await staleReason(path);
    if (stale === null) {
      const existing = await readOwner(path).catch(() => null);
      const who = existing ? `process ${existing.pid} on ${existing.host}` : 'another writer';
      throw lockedError(path, `it is held by ${who}`);
    }
    try {
      await fsp.unlink(path);
    } catch (error) {
      if (systemErrorCode(error) !== 'ENOENT') throw ioError('unlink stale lock', path, error);
    }
  }
  throw lockedError(path, 'another writer took it while a stale lock file was being replaced');
}

/** Why the existing lock file can be taken over, or null when its owner may still be running. */
async function staleReason(path: string): Promise<string | null> {
  let owner: LockOwner | null;
  try {
    owner = await readOwner(path);
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return 'it disappeared';
    throw ioError('read lock', path, error);
  }
  if (owner === null) {
    // Created but not yet written: a writer is between open and write, or died right there.
    const stat = await fsp.stat(path).catch(() => null);
    if (stat === null) return 'it disappeared';
    return Date.now() - stat.mtimeMs > UNWRITTEN_LOCK_FILE_GRACE_MS ? 'it was never written' : null;
  }
  // A process on another host cannot be probed; only an operator can declare it dead.
  if (owner.host !== hostname()) return null;
  if (owner.pid === process.pid) {
    // Our pid and our start time: another thread of this process holds it.
    if (owner.started !== undefined && Math.abs(owner.started - processStartedMs) <= SAME_PROCESS_START_TOLERANCE_MS) return null;
    // Our pid, another start: a previous process that had the same pid (common in containers,
    // where the engine often runs as the same small pid after every restart).
    return 'its owner was an earlier process with this pid';
  }
  try {
    process.kill(owner.pid, 0);
    return null;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return systemErrorCode(error) === 'ESRCH' ? `process ${owner.pid} is gone` : null;
  }
}

async function readOwner(path: string): Promise<LockOwner | null> {
  const text = await fsp.readFile(path, 'utf8');
  const match = /^(\d+) (\S+) (\S+)(?: (\d+))?\n?$/.exec(text);
  if (match === null) return null;
  const owner = { pid: Number(match[1]), host: match[2]!, token: match[3]! };
  return match[4] === undefined ? owner : { ...owner, started: Number(match[4]) };
}

function lockedError(path: string, why: string): SiltError {
  return siltError(ErrorCodes.LOCKED, `cannot lock ${path}: ${why}`);
}
