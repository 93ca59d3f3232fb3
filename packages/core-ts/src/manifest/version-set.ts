/**
 * The `VersionSet`: the current version, every version still pinned, the counters the manifest
 * carries, and the account of which table files some live version still lists.
 *
 * A table file becomes obsolete — safe to unlink — when the last live version listing it is
 * released: the current version moved on and no snapshot or iterator pins an older one. Obsolete
 * file numbers are handed to `onObsoleteFiles` when given (synchronously, from the `unref` or the
 * install that released the last version listing them), and otherwise queued for
 * `takeObsoleteFiles()`. Each file number is reported once.
 *
 * Only the manifest store should install edits (it logs them first); the set itself never does
 * I/O, so it can also be driven directly, as the tests and the manifest replay do.
 */
import { siltError, ErrorCodes } from '../errors.js';
import { applyLedgerChanges, EMPTY_LEDGER, ledgerSnapshot, type Ledger } from './ledger.js';
import { corruptInput, invalidInput } from './table-meta.js';
import { Version } from './version.js';
import { checkEdit, withNextFileNumber, type CheckedEdit, type VersionEdit } from './version-edit.js';

export interface ManifestCounters {
  readonly nextFileNumber: number;
  readonly lastSeq: number;
  readonly walFlushedIndex: number;
}

export const INITIAL_COUNTERS: ManifestCounters = Object.freeze({ nextFileNumber: 1, lastSeq: 0, walFlushedIndex: 0 });

export interface VersionSetOptions {
  /** Receives the file numbers no live version lists any more. Must not throw. */
  readonly onObsoleteFiles?: (fileNumbers: readonly number[]) => void;
}

/** An edit checked against the current version, ready to log and install. */
export interface PreparedEdit {
  /** The edit as it must be logged (its `nextFileNumber` covers the numbers handed out). */
  readonly edit: CheckedEdit;
  readonly base: Version;
  readonly version: Version;
  readonly counters: ManifestCounters;
  readonly ledger: Ledger;
}

export class VersionSet {
  private currentVersion: Version;
  private currentCounters: ManifestCounters = INITIAL_COUNTERS;
  private currentLedger: Ledger = EMPTY_LEDGER;
  /** The next file number `newFileNumber` hands out; ≥ the logged `nextFileNumber`. */
  private nextUnallocated = INITIAL_COUNTERS.nextFileNumber;
  private readonly liveVersions = new Set<Version>();
  /** For each table file, how many live versions list it. */
  private readonly fileRefs = new Map<number, number>();
  private obsolete: number[] = [];
  private readonly onObsoleteFiles: ((fileNumbers: readonly number[]) => void) | undefined;
  private readonly release = (version: Version): void => this.released(version);

  constructor(options: VersionSetOptions = {}) {
    this.onObsoleteFiles = options.onObsoleteFiles;
    this.currentVersion = Version.empty();
    this.adopt(this.currentVersion);
  }

  /** The current version. Call `ref()` on it to pin it beyond the current turn. */
  get current(): Version {
    return this.currentVersion;
  }

  /** The counters as of the last installed edit. */
  get counters(): ManifestCounters {
    return this.currentCounters;
  }

  /** The value-log ledger as of the last installed edit. */
  get ledger(): Ledger {
    return this.currentLedger;
  }

  /** Versions not yet released (the current one included). */
  get liveVersionCount(): number {
    return this.liveVersions.size;
  }

  /**
   * A fresh file number. It is recorded durably by the next logged edit (the store raises that
   * edit's `nextFileNumber` past it), so a file made with it must be listed by an edit — or be
   * treated as garbage after a crash.
   */
  newFileNumber(): number {
    if (this.nextUnallocated >= Number.MAX_SAFE_INTEGER) throw siltError(ErrorCodes.OUT_OF_RANGE, 'file numbers are exhausted');
    return this.nextUnallocated++;
  }

  /**
   * Check `edit` against the current state without changing anything: `INVALID_ARGUMENT` for a
   * malformed edit, `CORRUPTION` for one that does not fit (see `Version.apply`), lowers a
   * counter, or adds a table numbered at or above the resulting `nextFileNumber`.
   */
  prepare(edit: VersionEdit | CheckedEdit): PreparedEdit {
    let checked = checkEdit(edit, invalidInput);
    const before = this.currentCounters;
    for (const name of ['nextFileNumber', 'lastSeq', 'walFlushedIndex'] as const) {
      const value = checked[name];
      if (value !== undefined && value < before[name]) throw corruptInput(`an edit lowers ${name} from ${before[name]} to ${value}`);
    }
    const nextFileNumber = Math.max(checked.nextFileNumber ?? before.nextFileNumber, this.nextUnallocated);
    if (nextFileNumber !== (checked.nextFileNumber ?? before.nextFileNumber)) checked = withNextFileNumber(checked, nextFileNumber);
    for (const { table } of checked.added) {
      if (table.fileNumber >= nextFileNumber) {
        throw corruptInput(`an edit adds table ${table.fileNumber}, but file numbers from ${nextFileNumber} on were never handed out`);
      }
    }
    const version = this.currentVersion.apply(checked);
    const ledger = applyLedgerChanges(checked.snapshot ? EMPTY_LEDGER : this.currentLedger, checked.valueLog, corruptInput);
    const counters: ManifestCounters = Object.freeze({
      nextFileNumber,
      lastSeq: checked.lastSeq ?? before.lastSeq,
      walFlushedIndex: checked.walFlushedIndex ?? before.walFlushedIndex,
    });
    return { edit: checked, base: this.currentVersion, version, counters, ledger };
  }

  /** Make a prepared edit's version current; the previous current version loses the set's reference. */
  install(prepared: PreparedEdit): Version {
    if (prepared.base !== this.currentVersion) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the edit was prepared against a version that is no longer current');
    }
    const previous = this.currentVersion;
    this.adopt(prepared.version);
    this.currentVersion = prepared.version;
    this.currentCounters = prepared.counters;
    this.currentLedger = prepared.ledger;
    this.nextUnallocated = Math.max(this.nextUnallocated, prepared.counters.nextFileNumber);
    previous.unref();
    return prepared.version;
  }

  /** `install(prepare(edit))`. */
  apply(edit: VersionEdit | CheckedEdit): Version {
    return this.install(this.prepare(edit));
  }

  /** The whole state as one snapshot edit: what a rewritten manifest starts with. */
  snapshotEdit(): CheckedEdit {
    return checkEdit(
      {
        snapshot: true,
        added: [...this.currentVersion.allTables()],
        nextFileNumber: this.nextUnallocated,
        lastSeq: this.currentCounters.lastSeq,
        walFlushedIndex: this.currentCounters.walFlushedIndex,
        valueLog: ledgerSnapshot(this.currentLedger),
      },
      invalidInput,
    );
  }

  /**
   * Value-log segments some live version's tables reference (a snapshot or iterator pinning an
   * old version keeps its segments as surely as the current version does).
   */
  referencedSegments(): Set<number> {
    const segments = new Set<number>();
    for (const version of this.liveVersions) {
      for (const { table } of version.allTables()) {
        for (const [id, bytes] of table.valueLogBytes) if (bytes > 0) segments.add(Number(id));
      }
    }
    return segments;
  }

  /** Whether some live version lists table `fileNumber`. */
  isLive(fileNumber: number): boolean {
    return this.fileRefs.has(fileNumber);
  }

  /** Every table file some live version lists: the ones that must not be unlinked. */
  liveFileNumbers(): Set<number> {
    return new Set(this.fileRefs.keys());
  }

  /** The obsolete file numbers queued so far (when there is no `onObsoleteFiles`); empties the queue. */
  takeObsoleteFiles(): number[] {
    const files = this.obsolete;
    this.obsolete = [];
    return files;
  }

  private adopt(version: Version): void {
    version.attach(this.release);
    version.ref();
    this.liveVersions.add(version);
    for (const fileNumber of version.fileNumbers()) this.fileRefs.set(fileNumber, (this.fileRefs.get(fileNumber) ?? 0) + 1);
  }

  private released(version: Version): void {
    this.liveVersions.delete(version);
    const freed: number[] = [];
    for (const fileNumber of version.fileNumbers()) {
      const refs = this.fileRefs.get(fileNumber)! - 1;
      if (refs > 0) {
        this.fileRefs.set(fileNumber, refs);
      } else {
        this.fileRefs.delete(fileNumber);
        freed.push(fileNumber);
      }
    }
    if (freed.length === 0) return;
    freed.sort((a, b) => a - b);
    if (this.onObsoleteFiles !== undefined) this.onObsoleteFiles(freed);
    else this.obsolete.push(...freed);
  }
}
