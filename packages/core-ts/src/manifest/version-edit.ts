/**
 * A version edit: one atomic step of the manifest (docs/ENGINE.md, "Manifest and versions"). It
 * removes tables, adds tables, and raises counters; replaying the edits of a manifest in order
 * rebuilds the current version. Removals apply before additions, so one edit can move a table to
 * another level (remove it from level n, add it to level n + 1) or swap compaction inputs for
 * outputs.
 *
 * A `snapshot` edit describes the whole state (every live table and every counter). Each manifest
 * starts with one, and it is applied to the empty version, so a manifest never depends on another.
 */
import { checkLedgerChanges, type LedgerChange } from './ledger.js';
import { checkCount, checkLevel, checkTableMeta, describeValue, type Failure, type TableMeta } from './table-meta.js';

export interface AddedTable {
  readonly level: number;
  readonly table: TableMeta;
}

export interface RemovedTable {
  readonly level: number;
  readonly fileNumber: number;
}

export interface VersionEdit {
  /** The edit states the whole state rather than a change (the first edit of every manifest). */
  readonly snapshot?: boolean;
  readonly added?: readonly AddedTable[];
  readonly removed?: readonly RemovedTable[];
  /** No table or manifest file number at or above this has been handed out. Never decreases. */
  readonly nextFileNumber?: number;
  /** The highest sequence number whose write is in the tables or the WAL. Never decreases. */
  readonly lastSeq?: number;
  /** WAL entries below this index are all in tables: replay starts here. Never decreases. */
  readonly walFlushedIndex?: number;
  /** Value-log ledger changes (ledger.ts), applied with the table changes they belong to. */
  readonly valueLog?: readonly LedgerChange[];
}

/** An edit with every field present, validated and frozen. */
export interface CheckedEdit {
  readonly snapshot: boolean;
  readonly added: readonly AddedTable[];
  readonly removed: readonly RemovedTable[];
  readonly nextFileNumber: number | undefined;
  readonly lastSeq: number | undefined;
  readonly walFlushedIndex: number | undefined;
  readonly valueLog: readonly LedgerChange[];
}

/** Edits made by `checkEdit`: frozen and valid, so checking them again would only copy them. */
const checkedEdits = new WeakSet<object>();

const EDIT_FIELDS = new Set(['snapshot', 'added', 'removed', 'nextFileNumber', 'lastSeq', 'walFlushedIndex', 'valueLog']);

/**
 * Validate the shape of an edit and copy it (keys included). Whether it fits the version it is
 * applied to (tables present, levels disjoint, counters rising) is checked when it is applied.
 */
export function checkEdit(value: unknown, fail: Failure): CheckedEdit {
  if (checkedEdits.has(value as object)) return value as CheckedEdit;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail(`a version edit must be an object, got ${describeValue(value)}`);
  const edit = value as Record<string, unknown>;
  for (const key of Object.keys(edit)) {
    // An unknown field is a typo or an edit from a newer engine: applying the rest would drop it.
    if (!EDIT_FIELDS.has(key) && edit[key] !== undefined) throw fail(`a version edit has no field ${JSON.stringify(key)}`);
  }
  const snapshot = edit.snapshot ?? false;
  if (typeof snapshot !== 'boolean') throw fail(`edit.snapshot must be a boolean, got ${describeValue(snapshot)}`);
  const added = checkList(edit.added, 'edit.added', fail).map((item, i): AddedTable => {
    const what = `edit.added[${i}]`;
    const entry = checkObject(item, what, fail);
    return Object.freeze({ level: checkLevel(entry.level, `${what}.level`, fail), table: checkTableMeta(entry.table, `${what}.table`, fail) });
  });
  const removed = checkList(edit.removed, 'edit.removed', fail).map((item, i): RemovedTable => {
    const what = `edit.removed[${i}]`;
    const entry = checkObject(item, what, fail);
    return Object.freeze({ level: checkLevel(entry.level, `${what}.level`, fail), fileNumber: checkCount(entry.fileNumber, `${what}.fileNumber`, fail) });
  });
  if (snapshot && removed.length > 0) throw fail('a snapshot edit cannot remove tables: it is applied to the empty version');
  const checked: CheckedEdit = Object.freeze({
    snapshot,
    added: Object.freeze(added),
    removed: Object.freeze(removed),
    nextFileNumber: optionalCount(edit.nextFileNumber, 'edit.nextFileNumber', fail),
    lastSeq: optionalCount(edit.lastSeq, 'edit.lastSeq', fail),
    walFlushedIndex: optionalCount(edit.walFlushedIndex, 'edit.walFlushedIndex', fail),
    valueLog: checkLedgerChanges(edit.valueLog, 'edit.valueLog', fail),
  });
  checkedEdits.add(checked);
  return checked;
}

function checkList(value: unknown, what: string, fail: Failure): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw fail(`${what} must be an array, got ${describeValue(value)}`);
  return value;
}

function checkObject(value: unknown, what: string, fail: Failure): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail(`${what} must be an object, got ${describeValue(value)}`);
  return value as Record<string, unknown>;
}

function optionalCount(value: unknown, what: string, fail: Failure): number | undefined {
  return value === undefined ? undefined : checkCount(value, what, fail);
}

/** `edit` with its `nextFileNumber` replaced: tables and keys are shared, not checked again. */
export function withNextFileNumber(edit: CheckedEdit, nextFileNumber: number): CheckedEdit {
  const changed: CheckedEdit = Object.freeze({ ...edit, nextFileNumber });
  checkedEdits.add(changed);
  return changed;
}
