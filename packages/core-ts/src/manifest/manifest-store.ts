/**
 * The manifest store: `CURRENT`, the live manifest log, and the `VersionSet` they describe
 * (docs/ENGINE.md, "Manifest and versions"; docs/FORMAT.md §7).
 *
 * - `open` reads `CURRENT` and replays the manifest it names. A missing `CURRENT` is a fresh
 *   database: an empty manifest is created. A `CURRENT` naming a missing or empty manifest, a
 *   damaged `CURRENT`, or a manifest that does not replay cleanly is `CORRUPTION`.
 * - `logAndApply(edit)` checks the edit against the current version, appends it with an fsync of
 *   its own, and only then installs the new version. Calls run one at a time, in call order.
 * - When the manifest grows past `rewriteBytes` (or `rewriteEdits`), it is rewritten: the whole
 *   state as one snapshot edit in `MANIFEST-<n+1>/`, made durable; then `CURRENT.tmp` naming it is
 *   written and fsynced, renamed over `CURRENT`, and the directory fsynced; then the old manifest
 *   is deleted. A crash at any step leaves `CURRENT` naming a complete manifest holding the same
 *   state, and the next open deletes whichever directory `CURRENT` does not name.
 *
 * Failures: a failed append leaves it unknown whether the edit is on disk, so the store is
 * poisoned (`POISONED` from then on; reopen to learn the truth) and the in-memory version stays
 * as it was. A rewrite that fails before the rename leaves the old manifest live and intact, and
 * the store carries on with it (the rewrite is retried at the next edit); one that fails during
 * the rename poisons the store, as it is unknown which `CURRENT` the disk holds.
 */
import { join } from 'node:path';
import { ErrorCodes, siltError, type SiltError } from '../errors.js';
import { isNotFound } from '../vfs/io-error.js';
import type { Vfs } from '../vfs/types.js';
import { commitCurrentFile, readCurrentFile, stageCurrentFile } from './current-file.js';
import { encodeEdit } from './edit-codec.js';
import { CURRENT_TEMP_FILE, manifestDirName } from './file-names.js';
import { listManifestDirs, removeManifestDir } from './manifest-dirs.js';
import { createManifestLog, openManifestLog, readManifest, recordBytes, replayManifest, type ManifestLog, type ManifestSize } from './manifest-log.js';
import { resolveManifestOptions, type ManifestOptions, type ResolvedManifestOptions } from './options.js';
import type { CheckedEdit, VersionEdit } from './version-edit.js';
import { INITIAL_COUNTERS, VersionSet, type ManifestCounters } from './version-set.js';
import type { Version } from './version.js';

export class ManifestStore {
  /** Tasks (edits, rewrites, close) run one after another; this settles when the last one has. */
  private tail: Promise<unknown> = Promise.resolve();
  private poisonedBy: unknown = null;
  private closing: Promise<void> | null = null;
  private rewriteQueued = false;
  private lastRewriteError: unknown = null;
  /** Obsolete file numbers waiting for `takeObsoleteFiles` (when there is no `onObsoleteFiles`). */
  private pendingObsolete: number[] = [];

  private constructor(
    readonly dir: string,
    private readonly vfs: Vfs,
    private readonly options: ResolvedManifestOptions,
    /** The set the manifest describes. Install edits through `logAndApply`, never directly. */
    readonly versions: VersionSet,
    private log: ManifestLog,
    private number: number,
    private size: ManifestSize,
    /** Whether `open` created the database's manifest (there was no `CURRENT`). */
    readonly created: boolean,
  ) {}

  static async open(dir: string, options?: ManifestOptions): Promise<ManifestStore> {
    if (typeof dir !== 'string' || dir.length === 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the manifest directory must be a non-empty string');
    const resolved = resolveManifestOptions(options);
    const { vfs } = resolved;
    await vfs.mkdir(dir, { recursive: true, durable: true });
    // Obsolete files are reported only once the store is open: tables that replayed edits removed
    // are found by the database's directory listing instead.
    const opened: { store: ManifestStore | null } = { store: null };
    const versions = new VersionSet({ onObsoleteFiles: (files) => opened.store?.obsoleted(files) });
    const current = await readCurrentFile(vfs, dir);
    const store =
      current === null ? await ManifestStore.create(dir, resolved, versions) : await ManifestStore.replay(dir, resolved, versions, current);
    opened.store = store;
    if (store.needsRewrite()) store.scheduleRewrite();
    return store;
  }

  /** A fresh database: no `CURRENT`. Leftovers of an interrupted creation are cleared first. */
  private static async create(dir: string, options: ResolvedManifestOptions, versions: VersionSet): Promise<ManifestStore> {
    const { vfs } = options;
    const leftovers = await listManifestDirs(vfs, dir);
    for (const number of leftovers) await assertAbandonedCreation(vfs, join(dir, manifestDirName(number)));
    for (const number of leftovers) await removeManifestDir(vfs, join(dir, manifestDirName(number)));
    const number = (leftovers[leftovers.length - 1] ?? 0) + 1;
    const snapshot = encodeEdit(versions.snapshotEdit());
    const log = await createManifestLog(vfs, join(dir, manifestDirName(number)), snapshot);
    try {
      await stageCurrentFile(vfs, dir, number);
      await commitCurrentFile(vfs, dir);
    } catch (error) {
      await log.close().catch(() => {});
      throw error;
    }
    const size = { bytes: recordBytes(snapshot), edits: 1, snapshotBytes: recordBytes(snapshot) };
    return new ManifestStore(dir, vfs, options, versions, log, number, size, true);
  }

  /** An existing database: replay the manifest `CURRENT` names, then clear the other ones. */
  private static async replay(dir: string, options: ResolvedManifestOptions, versions: VersionSet, number: number): Promise<ManifestStore> {
    const { vfs } = options;
    const path = join(dir, manifestDirName(number));
    if (!(await vfs.exists(path))) {
      throw siltError(ErrorCodes.CORRUPTION, `${join(dir, 'CURRENT')} names ${manifestDirName(number)}, which does not exist`);
    }
    const log = await openManifestLog(vfs, path);
    let size: ManifestSize;
    try {
      size = await replayManifest(log, versions);
      // Whatever CURRENT does not name is dead: the old manifest of a rewrite that finished, or
      // the new one of a rewrite that never reached the rename.
      for (const other of await listManifestDirs(vfs, dir)) if (other !== number) await removeManifestDir(vfs, join(dir, manifestDirName(other)));
      await vfs.unlink(join(dir, CURRENT_TEMP_FILE)).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    } catch (error) {
      await log.close().catch(() => {});
      throw error;
    }
    return new ManifestStore(dir, vfs, options, versions, log, number, size, false);
  }

  /** The current version (see `Version.ref` to pin it). */
  get current(): Version {
    return this.versions.current;
  }

  get counters(): ManifestCounters {
    return this.versions.counters;
  }

  /** A fresh table file number (recorded by the next edit). */
  newFileNumber(): number {
    return this.versions.newFileNumber();
  }

  /** The number of the live manifest, `MANIFEST-<n>`. */
  get manifestNumber(): number {
    return this.number;
  }

  get manifestDir(): string {
    return this.log.dir;
  }

  /** Bytes and edits in the live manifest. */
  get manifestSize(): Readonly<ManifestSize> {
    return { ...this.size };
  }

  /**
   * Why the last automatic rewrite failed (its edit's caller was answered before it ran), or null
   * when the last one succeeded. For stats and logs: the store retries at the next edit.
   */
  get rewriteError(): unknown {
    return this.lastRewriteError;
  }

  get poisoned(): boolean {
    return this.poisonedBy !== null;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /**
   * Obsolete table file numbers queued since the last call (only when no `onObsoleteFiles` was
   * given); empties the queue.
   */
  takeObsoleteFiles(): number[] {
    const files = this.pendingObsolete;
    this.pendingObsolete = [];
    return files;
  }

  /**
   * Log `edit` durably, then make the version it produces current. Resolves with that version once
   * the edit is on disk; rejects, changing nothing, when the edit is malformed (`INVALID_ARGUMENT`)
   * or does not fit the current version (`CORRUPTION`).
   */
  logAndApply(edit: VersionEdit | CheckedEdit): Promise<Version> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    return this.serialize(async () => {
      this.throwIfUnusable();
      const prepared = this.versions.prepare(edit);
      const bytes = encodeEdit(prepared.edit);
      try {
        await this.log.append(bytes);
      } catch (error) {
        throw this.poison(error);
      }
      const version = this.versions.install(prepared);
      this.size.bytes += recordBytes(bytes);
      this.size.edits++;
      if (this.needsRewrite()) this.scheduleRewrite();
      return version;
    });
  }

  /** Rewrite the manifest now, whatever its size. */
  rewrite(): Promise<void> {
    if (this.closing !== null) return Promise.reject(this.closedError());
    return this.serialize(async () => {
      this.throwIfUnusable();
      await this.rewriteNow();
    });
  }

  /** Wait for the edits and rewrites called before, then close the manifest log. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.serialize(() => this.log.close());
    return this.closing;
  }

  private obsoleted(files: readonly number[]): void {
    if (this.options.onObsoleteFiles !== undefined) this.options.onObsoleteFiles(files);
    else this.pendingObsolete.push(...files);
  }

  private needsRewrite(): boolean {
    const { bytes, edits, snapshotBytes } = this.size;
    return edits > this.options.rewriteEdits || bytes > Math.max(this.options.rewriteBytes, 2 * snapshotBytes);
  }

  /**
   * Queue a rewrite behind the calls made so far. Its caller has its answer already (the edit is
   * durable), so a failure goes to `rewriteError` rather than to a caller: one before the rename
   * leaves the old manifest live and the next edit retries; one during the rename poisons the
   * store, and the next call reports it.
   */
  private scheduleRewrite(): void {
    if (this.rewriteQueued) return;
    this.rewriteQueued = true;
    void this.serialize(async () => {
      this.rewriteQueued = false;
      if (this.closing !== null || this.poisonedBy !== null || !this.needsRewrite()) return;
      try {
        await this.rewriteNow();
        this.lastRewriteError = null;
      } catch (error) {
        this.lastRewriteError = error;
      }
    });
  }

  private async rewriteNow(): Promise<void> {
    const { vfs, dir } = this;
    const number = this.number + 1;
    const path = join(dir, manifestDirName(number));
    const snapshot = encodeEdit(this.versions.snapshotEdit());
    let log: ManifestLog | null = null;
    try {
      log = await createManifestLog(vfs, path, snapshot);
      await stageCurrentFile(vfs, dir, number);
    } catch (error) {
      // CURRENT still names the old manifest, intact and open: carry on with it. The partial new
      // one is garbage; if removing it fails too, the next open removes it.
      await log?.close().catch(() => {});
      await removeManifestDir(vfs, path).catch(() => {});
      throw error;
    }
    try {
      await commitCurrentFile(vfs, dir);
    } catch (error) {
      await log.close().catch(() => {});
      throw this.poison(error);
    }
    const old = this.log;
    this.log = log;
    this.number = number;
    this.size = { bytes: recordBytes(snapshot), edits: 1, snapshotBytes: recordBytes(snapshot) };
    // The old manifest is dead from the rename on. Failing to delete it leaves only garbage, which
    // the next open deletes, so it does not fail the rewrite.
    try {
      await old.close();
      await removeManifestDir(vfs, old.dir);
    } catch {
      // Nothing to undo: see above.
    }
  }

  private serialize<R>(task: () => Promise<R>): Promise<R> {
    const run = this.tail.then(task);
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private poison(error: unknown): unknown {
    this.poisonedBy ??= error;
    return error;
  }

  private throwIfUnusable(): void {
    if (this.closing !== null) throw this.closedError();
    if (this.poisonedBy !== null) {
      throw siltError(
        ErrorCodes.POISONED,
        `the manifest in ${this.dir} failed to write (${(this.poisonedBy as Error)?.message ?? String(this.poisonedBy)}); reopen the database`,
        this.poisonedBy,
      );
    }
  }

  private closedError(): SiltError {
    return siltError(ErrorCodes.CLOSED, `the manifest in ${this.dir} is closed`);
  }
}

/**
 * With no `CURRENT`, a manifest directory can only be left by a creation that crashed before
 * writing `CURRENT`: at most the initial, empty snapshot. Anything more means `CURRENT` was lost
 * from a database that has state — `CORRUPTION`, rather than silently starting over empty.
 */
async function assertAbandonedCreation(vfs: Vfs, path: string): Promise<void> {
  const log = await openManifestLog(vfs, path);
  let edits: CheckedEdit[];
  try {
    ({ edits } = await readManifest(log));
  } finally {
    await log.close();
  }
  const initial = (edit: CheckedEdit): boolean =>
    edit.snapshot &&
    edit.added.length === 0 &&
    edit.nextFileNumber === INITIAL_COUNTERS.nextFileNumber &&
    edit.lastSeq === INITIAL_COUNTERS.lastSeq &&
    edit.walFlushedIndex === INITIAL_COUNTERS.walFlushedIndex;
  if (edits.length > 1 || (edits.length === 1 && !initial(edits[0]!))) {
    throw siltError(ErrorCodes.CORRUPTION, `CURRENT is missing but ${path} holds a database's state`);
  }
}
