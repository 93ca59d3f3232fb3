/**
 * The file-system layer: the `Vfs` interface, the real node:fs implementation and the
 * fault-injecting in-memory twin used by tests.
 */
export type { DurableOption, OpenOptions, Vfs, VfsFile, VfsLock } from './types.js';
export { NodeVfs, nodeVfs } from './node-vfs.js';
export { FaultVfs, type CrashOptions } from './fault-vfs.js';
export { FAULT_KINDS, type FaultKind, type FaultRule, type InjectedErrorCode } from './fault-rules.js';
export { SeededRandom } from './seeded-random.js';
export { ioError, isNotFound, systemErrorCode } from './io-error.js';
