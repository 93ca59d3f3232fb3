/**
 * Table files (FORMAT.md §5): the builder that writes them, the reader and iterator that read them,
 * and the block cache readers share.
 */
export { BlockCache, type BlockCacheStats } from './block-cache.js';
export { BloomFilter, BloomFilterBuilder, BLOOM_SEED, DEFAULT_BITS_PER_KEY, murmur3, probesFor } from './bloom.js';
export type { StoredBlock } from './stored-block.js';
export { FOOTER_BYTES, MAX_TABLE_BYTES, TABLE_FORMAT_VERSION, TABLE_MAGIC, type BlockHandle } from './format.js';
export type { TableProperties } from './properties.js';
export {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_RESTART_INTERVAL,
  DEFAULT_WRITE_BUFFER_BYTES,
  TableBuilder,
  type TableBuilderOptions,
  type TableMeta,
} from './table-builder.js';
export { TableIterator, type TableEntry, type TableIteratorOptions } from './table-iterator.js';
export { TableReader, type TableGetResult, type TableReaderOptions } from './table-reader.js';
