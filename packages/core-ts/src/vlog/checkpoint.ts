/**
 * The value-log part of a checkpoint (DESIGN §3): every segment the ledger lists is hardlinked
 * into `<dir>/vlog/`, and the checkpoint's ledger records each one **sealed at its synced length**.
 * A segment the source database still appends to shares its inode with the checkpoint's link: the
 * checkpoint trusts nothing past the recorded length and never appends to it, and the source never
 * truncates below a synced length. Sealing the source's segment instead would breed tiny files.
 */
import { join } from 'node:path';
import { ErrorCodes, siltError } from '../errors.js';
import type { Ledger, LedgerChange } from '../manifest/index.js';
import type { Vfs } from '../vfs/types.js';
import { segmentPath, VLOG_DIR } from './segment-file.js';
import type { ValueLog } from './value-log.js';

/** Link the ledger's segments into `dir` (the value log synced first); returns the checkpoint's ledger. */
export async function linkValueLogSegments(vfs: Vfs, log: ValueLog, ledger: Ledger, dir: string): Promise<LedgerChange[]> {
  await log.sync();
  const changes: LedgerChange[] = [];
  if (ledger.size === 0) return changes;
  await vfs.mkdir(join(dir, VLOG_DIR), { recursive: true, durable: true });
  for (const entry of [...ledger.values()].sort((a, b) => a.segment - b.segment)) {
    const info = log.info(entry.segment);
    if (info === undefined) throw siltError(ErrorCodes.CORRUPTION, `the ledger lists value-log segment ${entry.segment}, which does not exist`);
    const length = Math.max(info.synced, entry.length);
    await vfs.link(segmentPath(log.dir, entry.lane, entry.segment), segmentPath(dir, entry.lane, entry.segment));
    changes.push({
      segment: entry.segment,
      lane: entry.lane,
      created: entry.created,
      ...(entry.total > 0 ? { addTotal: entry.total } : {}),
      ...(entry.stale > 0 ? { addStale: entry.stale } : {}),
      length,
      sealed: true,
      ...(entry.attempts > 0 ? { attempts: entry.attempts } : {}),
      ...(entry.cooldownUntil > 0 ? { cooldownUntil: entry.cooldownUntil } : {}),
    });
  }
  await vfs.syncDir(join(dir, VLOG_DIR));
  return changes;
}
