/**
 * The manifest's record of a table the table builder just finished. Table properties number
 * value-log segments; the manifest names them by string id.
 */
import type { TableMeta as BuiltTableMeta } from '../table/index.js';
import type { TableMeta } from './table-meta.js';

export function manifestMetaOf(built: BuiltTableMeta): TableMeta {
  const valueLogBytes = new Map<string, number>();
  for (const [segment, bytes] of built.properties.valueLogBytes) valueLogBytes.set(String(segment), bytes);
  return {
    fileNumber: built.fileNumber,
    size: built.fileSize,
    smallest: built.smallestKey,
    largest: built.largestKey,
    minSeq: built.minSeq,
    maxSeq: built.maxSeq,
    entries: built.entryCount,
    valueLogBytes,
  };
}
