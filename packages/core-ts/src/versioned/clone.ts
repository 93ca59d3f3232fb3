/**
 * Cloning an engine checkpoint (a snapshot) into a new directory: table files (`*.sst`, never
 * rewritten in place) are hard-linked, with a copy when the link fails (EXDEV and the like);
 * everything else (CURRENT, the manifest log) is copied and fsynced, since the clone will change it.
 * Lock files are skipped. Each directory is fsynced after its entries.
 */
import { join } from 'node:path';
import { copyFile, linkOrCopy } from '../db/link-or-copy.js';
import type { Vfs } from '../vfs/types.js';
import { isDirectory, LOCK_FILE } from './layout.js';

export interface CloneCounts {
  linked: number;
  copied: number;
}

export async function cloneTree(vfs: Vfs, from: string, to: string, counts: CloneCounts = { linked: 0, copied: 0 }): Promise<CloneCounts> {
  await vfs.mkdir(to, { recursive: true });
  for (const name of await vfs.readdir(from)) {
    if (name === LOCK_FILE) continue;
    const source = join(from, name);
    const target = join(to, name);
    if (await isDirectory(vfs, source)) {
      await cloneTree(vfs, source, target, counts);
    } else if (name.endsWith('.sst')) {
      if (await linkOrCopy(vfs, source, target)) counts.linked++;
      else counts.copied++;
    } else {
      await copyFile(vfs, source, target);
      counts.copied++;
    }
  }
  await vfs.syncDir(to);
  return counts;
}
