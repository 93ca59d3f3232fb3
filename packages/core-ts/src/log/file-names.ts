/**
 * The names of the files in a log directory. A segment is named by the index of its first record,
 * zero-padded to 20 digits (enough for any u64) so that name order is index order.
 */

export const SEGMENT_SUFFIX = '.seg';
/** Where the log's first index is kept once a truncation moved it past the first segment's start. */
export const FIRST_INDEX_FILE = 'FIRST';
/** The first-index file is replaced by writing this one and renaming it over. */
export const FIRST_INDEX_TEMP_FILE = 'FIRST.tmp';
/** The writer's lock file. */
export const LOCK_FILE = 'LOCK';

const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function segmentFileName(firstIndex: number): string {
  return `${String(firstIndex).padStart(20, '0')}${SEGMENT_SUFFIX}`;
}

/** The first index a segment file name stands for, or null for any other name. */
export function parseSegmentFileName(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return null;
  const index = Number(match[1]);
  return Number.isSafeInteger(index) ? index : null;
}
