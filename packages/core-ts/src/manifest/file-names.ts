/**
 * The names the manifest uses in a database directory (docs/FORMAT.md §7): `CURRENT`, its temporary
 * twin, and the manifest log directories `MANIFEST-<number>` (at least six digits, zero-padded, so
 * that a listing sorts them by number up to a million rewrites).
 */

export const CURRENT_FILE = 'CURRENT';
export const CURRENT_TEMP_FILE = 'CURRENT.tmp';

const MANIFEST_DIR = /^MANIFEST-(\d{6,16})$/;

export function manifestDirName(number: number): string {
  return `MANIFEST-${String(number).padStart(6, '0')}`;
}

/** The number a manifest directory name stands for, or null for any other (or non-canonical) name. */
export function parseManifestDirName(name: string): number | null {
  const match = MANIFEST_DIR.exec(name);
  if (match === null) return null;
  const number = Number(match[1]);
  return Number.isSafeInteger(number) && number >= 1 && manifestDirName(number) === name ? number : null;
}
