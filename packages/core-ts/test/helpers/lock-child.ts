/**
 * A second process for the lock tests, run as `node --import tsx lock-child.ts <action> <path>`:
 * - `try-lock <file>`: take a NodeVfs lock; print `ok` or the error code; exit.
 * - `try-open <dir>`: open an IndexedLog there; print `ok` or the error code; exit.
 * - `hold-open <dir>`: open an IndexedLog there, print `held`, and keep it until killed.
 */
import { IndexedLog, NodeVfs, utf8Codec } from '../../src/log.js';

const [action, path] = process.argv.slice(2);

function codeOf(error: unknown): string {
  return String((error as { code?: unknown }).code ?? (error as Error).message);
}

async function main(): Promise<void> {
  if (path === undefined) throw new Error('usage: lock-child.ts <action> <path>');
  const vfs = new NodeVfs();
  if (action === 'try-lock') {
    try {
      const lock = await vfs.lock(path);
      await lock.release();
      process.stdout.write('ok\n');
    } catch (error) {
      process.stdout.write(`${codeOf(error)}\n`);
    }
  } else if (action === 'try-open') {
    try {
      const log = await IndexedLog.open(path, utf8Codec, { vfs });
      await log.close();
      process.stdout.write('ok\n');
    } catch (error) {
      process.stdout.write(`${codeOf(error)}\n`);
    }
  } else if (action === 'hold-open') {
    await IndexedLog.open(path, utf8Codec, { vfs });
    process.stdout.write('held\n');
    setInterval(() => {}, 1 << 30);
  } else {
    throw new Error(`unknown action ${action}`);
  }
}

await main();
