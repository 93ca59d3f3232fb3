/** Open-time housekeeping: WAL replay into memtables, and removal of table files no version lists. */
import { ErrorCodes, siltError } from '../errors.js';
import { Kind } from '../keys/internal-key.js';
import { isNotFound } from '../vfs/io-error.js';
import type { Vfs } from '../vfs/types.js';
import { WriteAheadLog, type ReplayResult } from '../wal/index.js';
import { parseTableFileName, tablePath } from './files.js';

/**
 * Replay the WAL from `fromIndex`, handing each op with its seq to `apply` and each batch end to
 * `batchDone`. A batch with a value-log pointer that does not resolve (`pointerResolves`) is where
 * the durable history ends — its values never reached the disk (a `relaxed` WAL synced ahead of
 * the value log, or a power cut between the two): replay stops before it and the WAL drops it and
 * what follows, so the state is a prefix with no holes.
 */
export function replayWal(
  wal: WriteAheadLog,
  fromIndex: number,
  apply: (seq: number, kind: number, key: Uint8Array, value: Uint8Array) => void,
  batchDone: (index: number) => void,
  pointerResolves: (pointer: Uint8Array, key: Uint8Array) => boolean = () => false,
): Promise<ReplayResult> {
  return wal.replay(fromIndex, (batch, index) => {
    for (const op of batch.ops) if (op.kind === Kind.Pointer && !pointerResolves(op.value, op.key)) return false;
    for (let i = 0; i < batch.ops.length; i++) {
      const op = batch.ops[i]!;
      apply(batch.firstSeq + i, op.kind, op.key, op.value);
    }
    batchDone(index);
    return true;
  });
}

/** Unlink every `<n>.sst` in `dir` that `live` does not hold (unfinished flushes, obsolete tables). */
export async function removeStrayTables(vfs: Vfs, dir: string, live: ReadonlySet<number>): Promise<number> {
  let removed = 0;
  for (const name of await vfs.readdir(dir)) {
    const number = parseTableFileName(name);
    if (number === null || live.has(number)) continue;
    try {
      await vfs.unlink(tablePath(dir, number));
      removed++;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return removed;
}

export function closedError(dir: string) {
  return siltError(ErrorCodes.CLOSED, `the database in ${dir} is closed`);
}

export function readOnlyError(dir: string) {
  return siltError(ErrorCodes.READ_ONLY, `the database in ${dir} was opened readOnly`);
}
