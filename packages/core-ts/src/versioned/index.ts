/** The versioned commit store (DESIGN §5, docs/VERSIONED.md). */
export { openCommitStore, CommitStore, type CommitResult, type CommitStoreInfo } from './commit-store.js';
export { VersionView } from './version-view.js';
export type { CommitStoreOptions } from './options.js';
export type { ChangeInput, ChangeSetInput } from './change-set.js';
export { StoreIterator, type StoreEntry, type StoreIteratorOptions } from './overlay-iterator.js';
export type { LongOperationOptions, ReplayProgress } from './base-snapshot.js';
