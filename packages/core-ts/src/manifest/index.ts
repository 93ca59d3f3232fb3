/**
 * The manifest: version edits and their codec, immutable reference-counted versions, the version
 * set that tracks which table files are still referenced, and the durable store (`CURRENT` plus a
 * manifest log) that makes edits atomic steps (docs/ENGINE.md, docs/FORMAT.md §7).
 */
export { NUM_LEVELS, type TableMeta } from './table-meta.js';
export { type AddedTable, type CheckedEdit, type RemovedTable, type VersionEdit } from './version-edit.js';
export { decodeEdit, encodeEdit, EDIT_FORMAT_VERSION } from './edit-codec.js';
export { Version } from './version.js';
export { INITIAL_COUNTERS, VersionSet, type ManifestCounters, type PreparedEdit, type VersionSetOptions } from './version-set.js';
export { decodeCurrentFile, encodeCurrentFile } from './current-file.js';
export { CURRENT_FILE, CURRENT_TEMP_FILE, manifestDirName, parseManifestDirName } from './file-names.js';
export { DEFAULT_REWRITE_BYTES, DEFAULT_REWRITE_EDITS, type ManifestOptions } from './options.js';
export { ManifestStore } from './manifest-store.js';
export { manifestMetaOf } from './built-table.js';
export { applyLedgerChanges, EMPTY_LEDGER, ledgerSnapshot, type Ledger, type LedgerChange, type LedgerEntry } from './ledger.js';
export type { ManifestSize } from './manifest-log.js';
