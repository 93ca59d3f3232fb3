/** Names in a database directory (docs/FORMAT.md): tables `<number>.sst`, the WAL `wal/`, the lock `LOCK`. */
import { join } from 'node:path';

export const LOCK_FILE = 'LOCK';
export const WAL_DIR = 'wal';
const TABLE_NAME = /^(\d+)\.sst$/;

export function tableFileName(fileNumber: number): string {
  return `${fileNumber}.sst`;
}

export function tablePath(dir: string, fileNumber: number): string {
  return join(dir, tableFileName(fileNumber));
}

/** The file number a table file name stands for, or null for any other name. */
export function parseTableFileName(name: string): number | null {
  const match = TABLE_NAME.exec(name);
  if (match === null) return null;
  const number = Number(match[1]);
  return Number.isSafeInteger(number) && tableFileName(number) === name ? number : null;
}
