/**
 * `siltdb/versioned`: the versioned commit store — versions of change sets on the engine, snapshots,
 * changelog catch-up, rollback and an LtHash root hash (DESIGN §5, docs/VERSIONED.md).
 */
export * from './versioned/index.js';
export { ErrorCodes, SiltError, isSiltError, type SiltErrorCode } from './errors.js';
