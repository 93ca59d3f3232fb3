/**
 * `siltdb/log`: the durable indexed log everything durable in SiltDB sits on (DESIGN §6), lanes of
 * such logs, and the file-system layer (with its fault-injecting twin) that all engine I/O uses.
 */
export { IndexedLog, type VerifyEntry } from './log/indexed-log.js';
export { LaneLogs } from './log/lane-logs.js';
export type { IndexedLogOptions } from './log/options.js';
export type { Durability } from './log/log-writer.js';
export { bytesCodec, jsonCodec, utf8Codec, type Codec } from './log/codec.js';
export {
  FAULT_KINDS,
  FaultVfs,
  NodeVfs,
  SeededRandom,
  isNotFound,
  nodeVfs,
  systemErrorCode,
  type CrashOptions,
  type DurableOption,
  type FaultKind,
  type FaultRule,
  type InjectedErrorCode,
  type OpenOptions,
  type Vfs,
  type VfsFile,
  type VfsLock,
} from './vfs/index.js';
export { ErrorCodes, SiltError, isSiltError, type SiltErrorCode } from './errors.js';
