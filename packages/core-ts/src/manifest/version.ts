/**
 * A `Version`: the immutable set of live tables per level at one point of the manifest, with a
 * reference count. The current version, every snapshot and every open iterator hold a reference;
 * a table file may be unlinked only once no live version lists it (the `VersionSet` keeps that
 * account and reports the files that became unreferenced).
 *
 * Life cycle: `apply` makes a detached version (reference counting only, no account). A
 * `VersionSet` installs it, which makes it live; when a live version's count returns to zero it
 * is released for good — its files are un-counted, perhaps reported obsolete and unlinked — so a
 * released version can never be pinned again.
 */
import { siltError, ErrorCodes } from '../errors.js';
import { compareUserKeys } from '../keys/internal-key.js';
import { applyToLevels, type Levels } from './apply-edit.js';
import { checkLevel, compareUserPartToKey, invalidInput, NUM_LEVELS, type TableMeta } from './table-meta.js';
import { checkEdit, type CheckedEdit, type VersionEdit } from './version-edit.js';

const EMPTY_LEVEL: readonly TableMeta[] = Object.freeze([]);

export class Version {
  private refs = 0;
  private state: 'detached' | 'live' | 'released' = 'detached';
  private onRelease: ((version: Version) => void) | null = null;
  /** The level of each table, by file number. */
  private readonly levelOf: ReadonlyMap<number, number>;
  private readonly bytes: readonly number[];

  private constructor(private readonly levels: Levels) {
    const levelOf = new Map<number, number>();
    const bytes: number[] = [];
    for (let level = 0; level < NUM_LEVELS; level++) {
      let sum = 0;
      for (const table of levels[level]!) {
        levelOf.set(table.fileNumber, level);
        sum += table.size;
      }
      bytes.push(sum);
    }
    this.levelOf = levelOf;
    this.bytes = bytes;
  }

  static empty(): Version {
    return new Version(Array.from({ length: NUM_LEVELS }, () => EMPTY_LEVEL));
  }

  /**
   * The version after `edit`, leaving this one unchanged. A malformed edit is `INVALID_ARGUMENT`;
   * one that does not fit this version (a missing table, a duplicate, overlapping L1+ tables) is
   * `CORRUPTION`.
   */
  apply(edit: VersionEdit | CheckedEdit): Version {
    return new Version(applyToLevels(this.levels, this.levelOf, checkEdit(edit, invalidInput)));
  }

  /** The tables of `level`, in the level's order (L0 newest first, L1+ by smallest key). */
  tables(level: number): readonly TableMeta[] {
    return this.levels[checkLevel(level, 'level', invalidInput)]!;
  }

  /** Every table, level by level. */
  *allTables(): IterableIterator<{ level: number; table: TableMeta }> {
    for (let level = 0; level < NUM_LEVELS; level++) for (const table of this.levels[level]!) yield { level, table };
  }

  get tableCount(): number {
    return this.levelOf.size;
  }

  tableCountAt(level: number): number {
    return this.tables(level).length;
  }

  /** The level holding table `fileNumber`, or undefined. */
  levelOfTable(fileNumber: number): number | undefined {
    return this.levelOf.get(fileNumber);
  }

  fileNumbers(): IterableIterator<number> {
    return this.levelOf.keys();
  }

  /** Total bytes of the tables in `level`. */
  levelBytes(level: number): number {
    return this.bytes[checkLevel(level, 'level', invalidInput)]!;
  }

  get totalBytes(): number {
    return this.bytes.reduce((sum, bytes) => sum + bytes, 0);
  }

  /**
   * The tables of `level` whose user-key range meets [start, end] (both inclusive; an omitted
   * bound is open), in the level's order. L1+ levels are disjoint, so a binary search finds the
   * first candidate.
   */
  overlapping(level: number, start?: Uint8Array, end?: Uint8Array): TableMeta[] {
    const tables = this.tables(level);
    if (start !== undefined && end !== undefined && compareUserKeys(start, end) > 0) return [];
    const meets = (table: TableMeta): boolean =>
      (start === undefined || compareUserPartToKey(table.largest, start) >= 0) && (end === undefined || compareUserPartToKey(table.smallest, end) <= 0);
    if (level === 0) return tables.filter(meets);
    let low = 0;
    let high = tables.length;
    if (start !== undefined) {
      // The first table whose largest user key is ≥ start.
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (compareUserPartToKey(tables[middle]!.largest, start) < 0) low = middle + 1;
        else high = middle;
      }
    }
    const out: TableMeta[] = [];
    for (let i = low; i < tables.length && meets(tables[i]!); i++) out.push(tables[i]!);
    return out;
  }

  get refCount(): number {
    return this.refs;
  }

  /** Whether the version was released (its count fell to zero while live): it cannot be pinned. */
  get released(): boolean {
    return this.state === 'released';
  }

  /** Pin the version: its tables stay on disk until the matching `unref`. */
  ref(): this {
    if (this.state === 'released') {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, 'this version was released: its files may be gone, so it cannot be pinned again');
    }
    this.refs++;
    return this;
  }

  /** Unpin; the last `unref` of a live version releases it. */
  unref(): void {
    if (this.refs === 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'unref of a version that is not referenced');
    this.refs--;
    if (this.refs === 0 && this.state === 'live') {
      this.state = 'released';
      const onRelease = this.onRelease!;
      this.onRelease = null;
      onRelease(this);
    }
  }

  /** @internal Called by `VersionSet` when it installs the version (holding a reference). */
  attach(onRelease: (version: Version) => void): void {
    if (this.state !== 'detached') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'a version can be installed only once');
    this.state = 'live';
    this.onRelease = onRelease;
  }
}

