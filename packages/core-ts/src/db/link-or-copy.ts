/**
 * A second name for an immutable file: a hard link where the file system allows one, otherwise
 * (another device — EXDEV —, a file system without hard links, a link limit reached) a full copy,
 * fsynced. Checkpoints and the versioned store's clones share table files this way; tables are
 * never rewritten in place, so a link is as good as a copy.
 */
import type { Vfs } from '../vfs/types.js';

const COPY_CHUNK_BYTES = 1 << 20;

/** Returns whether the file was linked (true) or copied (false). */
export async function linkOrCopy(vfs: Vfs, from: string, to: string): Promise<boolean> {
  try {
    await vfs.link(from, to);
    return true;
  } catch {
    // Any link failure falls back to copying; a copy that fails too reports its own error.
  }
  await copyFile(vfs, from, to);
  return false;
}

/** Copy `from` to the new file `to` (which must not exist) and fsync it; the entry is not synced. */
export async function copyFile(vfs: Vfs, from: string, to: string): Promise<void> {
  const source = await vfs.open(from, { mode: 'read' });
  try {
    const target = await vfs.open(to, { mode: 'exclusive' });
    try {
      const buffer = new Uint8Array(COPY_CHUNK_BYTES);
      for (let position = 0; ; ) {
        const count = await source.read(buffer, 0, buffer.length, position);
        if (count === 0) break;
        await target.write(buffer.subarray(0, count), position);
        position += count;
      }
      await target.sync();
      await target.close();
    } catch (error) {
      // Only a file this call created is removed: a partial copy must not stay behind.
      await target.close().catch(() => {});
      await vfs.unlink(to).catch(() => {});
      throw error;
    }
  } finally {
    await source.close();
  }
}

