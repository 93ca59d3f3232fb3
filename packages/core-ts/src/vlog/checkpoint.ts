/**
 * The value-log part of a checkpoint (DESIGN §3): every segment the ledger lists is hardlinked
 * into `<dir>/vlog/`, and the checkpoint's ledger records each one **sealed at its synced length**.
 * A segment the source database still appends to shares its inode with the checkpoint's link: the
 * checkpoint trusts nothing past the recorded length and never appends to it, and the source never
 * truncates below a synced length. Sealing the source's segment instead would breed tiny files.
 *
 * A retired segment (FORMAT §7) is not linked: every pointer into it that the checkpoint's tables
 * hold is shadowed for every read the checkpoint can make (its seqs start above the retirement),
 * and its file may already be gone. The checkpoint's ledger records it retired, so opening it,
 * `verifyLedger` and its GC treat the missing file as expected.
 */
import { join } from 'node:path';
import { ErrorCodes, siltError } from '../errors.js';
import type { Ledger, LedgerChange, TableMeta } from '../manifest/index.js';
import { chargesOf } from './ledger-glue.js';
import type { Vfs } from '../vfs/types.js';
import { segmentPath, VLOG_DIR } from './segment-file.js';
import type { ValueLog } from './value-log.js';

/**
 * Link the segments `tables` reference into `dir` (the value log synced first); returns the
 * checkpoint's ledger. Its counts are consistent with those tables even when compactions moved on
 * since they were pinned: `total` is the source's, `stale` whatever of it the tables do not
 * reference.
 */
export async function linkValueLogSegments(vfs: Vfs, log: ValueLog, ledger: Ledger, tables: Iterable<TableMeta>, dir: string): Promise<LedgerChange[]> {
  await log.sync();
  const charges = chargesOf(tables);
  const changes: LedgerChange[] = [];
  if (charges.size === 0) return changes;
  await vfs.mkdir(join(dir, VLOG_DIR), { recursive: true, durable: true });
  for (const [segment, live] of [...charges].sort((a, b) => a[0] - b[0])) {
    const entry = ledger.get(segment);
    const info = log.info(segment);
    const retired = entry !== undefined && entry.retiredAt > 0 && live <= entry.total;
    if (entry === undefined || live > entry.total || (!retired && info === undefined)) {
      throw siltError(ErrorCodes.CORRUPTION, `the checkpoint's tables reference ${live} bytes of value-log segment ${segment}, which the ledger or the value log does not hold`);
    }
    const counts = { segment, lane: entry.lane, created: entry.created, addTotal: entry.total, ...(entry.total > live ? { addStale: entry.total - live } : {}), sealed: true };
    if (retired || info === undefined) {
      changes.push({ ...counts, ...(entry.length > 0 ? { length: entry.length } : {}), retiredAt: entry.retiredAt });
      continue;
    }
    await vfs.link(segmentPath(log.dir, entry.lane, segment), segmentPath(dir, entry.lane, segment));
    changes.push({
      ...counts,
      length: Math.max(info.synced, entry.length),
      ...(entry.attempts > 0 ? { attempts: entry.attempts } : {}),
      ...(entry.cooldownUntil > 0 ? { cooldownUntil: entry.cooldownUntil } : {}),
    });
  }
  await vfs.syncDir(join(dir, VLOG_DIR));
  return changes;
}
