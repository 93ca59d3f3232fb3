/**
 * `siltdb/level`: SiltDB as an abstract-level 3 database. A project on classic-level switches by
 * changing its import:
 *
 *   import { SiltLevel } from 'siltdb/level';
 *   const db = new SiltLevel('./db', { valueEncoding: 'json' });
 */
export { SiltLevel, type SiltLevelOptions } from './level/silt-level.js';
export { SiltIterator, SiltKeyIterator, SiltValueIterator } from './level/iterator.js';
export { SiltChainedBatch } from './level/chained-batch.js';
export { SiltSnapshot } from './level/snapshot.js';
export { DEFAULT_DURABILITY, type SiltLevelOpenOptions } from './level/options.js';
export { LevelCodes, levelCodeOf, type LevelCode } from './level/errors.js';
