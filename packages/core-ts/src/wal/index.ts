/** The write-ahead log: write batches as IndexedLog entries (docs/ENGINE.md, FORMAT §6). */
export {
  WriteAheadLog,
  type AppendOptions,
  type ReplayCallback,
  type ReplayResult,
  type WalDurability,
  type WriteAheadLogOptions,
} from './write-ahead-log.js';
export {
  BATCH_HEADER_BYTES,
  checkWriteBatch,
  decodeWriteBatch,
  delOp,
  encodeWriteBatch,
  lastSeqOf,
  putOp,
  toWriteOp,
  toWriteOps,
  type BatchOperation,
  type WriteBatch,
  type WriteOp,
} from './write-batch.js';
