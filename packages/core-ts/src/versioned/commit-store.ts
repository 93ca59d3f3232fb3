/**
 * The versioned commit store (DESIGN §5, docs/VERSIONED.md): versions built from change sets on the
 * engine, a changelog to replay them, snapshots to restart from and roll back to, and an LtHash
 * root hash of the whole state.
 *
 * A commit appends the version's change sets to the changelog (the commit point), then writes its
 * data together with the metadata record (version + LtHash) as one engine batch. The engine runs
 * without its own WAL: whatever it had not flushed when the process died is replayed from the
 * changelog on the next open. Calls that change the store run one at a time, in call order.
 */
import { join } from 'node:path';
import { ErrorCodes, siltError } from '../errors.js';
import type { VfsLock } from '../vfs/types.js';
import {
  checkAbort,
  openState,
  prepareWorking,
  replay,
  resolveCurrent,
  writeSnapshotBase,
  type LongOperationOptions,
} from './base-snapshot.js';
import { toChangeSets, toStoreKey, type ChangeSetInput } from './change-set.js';
import { Changelog } from './changelog.js';
import { cloneTree } from './clone.js';
import {
  CHANGELOG_DIR,
  isLeftover,
  listSnapshots,
  LOCK_FILE,
  pointCurrent,
  removeDirAtomically,
  removeTree,
  SNAPSHOT_BASE_FILE,
  snapshotName,
  TMP_SUFFIX,
  WORKING_DIR,
} from './layout.js';
import { migrateIfNeeded } from './migrate.js';
import { longOperationOptions, resolveStoreOptions, type CommitStoreOptions, type ResolvedStoreOptions } from './options.js';
import { StoreIterator, type StoreIteratorOptions } from './overlay-iterator.js';
import { VersionView } from './version-view.js';
import type { WorkingState } from './working-state.js';

export interface CommitResult {
  readonly version: number;
  readonly rootHash: Uint8Array;
  /** Set when this version was due for a snapshot and taking it failed (the commit itself stands). */
  readonly snapshotError?: unknown;
}

export interface CommitStoreInfo {
  readonly version: number;
  /** The snapshot `current` points at (and `working/` was cloned from). */
  readonly baseSnapshot: number;
  readonly snapshots: readonly number[];
  /** Versions the changelog holds, or null when it is empty. */
  readonly changelog: { readonly first: number; readonly last: number } | null;
  /** Versions replayed from the changelog by the last open (or rollback). */
  readonly replayed: number;
  /** Table files linked and copied when `working/` was last cloned (null: it was reused). */
  readonly lastClone: { readonly linked: number; readonly copied: number } | null;
}

/** Open (creating, migrating or repairing as needed) the store in `home`. A second opener gets `LOCKED`. */
export async function openCommitStore(home: string, options?: CommitStoreOptions): Promise<CommitStore> {
  if (typeof home !== 'string' || home.length === 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the store directory must be a non-empty string');
  const o = resolveStoreOptions(options);
  await o.vfs.mkdir(home, { recursive: true, durable: true });
  const lock = await o.vfs.lock(join(home, LOCK_FILE));
  const store = new CommitStore(home, o, lock);
  try {
    await store.start();
  } catch (error) {
    await store.abandon();
    throw error;
  }
  return store;
}

export class CommitStore {
  private state: WorkingState | null = null;
  private changelog: Changelog | null = null;
  private base = 0;
  private replayed = 0;
  private lastClone: { linked: number; copied: number } | null = null;
  /** Set when a failure left the in-memory state unknown: every call but close fails until reopened. */
  private failure: unknown = null;
  private closing: Promise<void> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly views = new Set<VersionView>();
  private viewCounter = 0;
  /** Commits and rollbacks called and not yet settled: each decides what the pending changes become. */
  private versionOps = 0;

  /** @internal Made by `openCommitStore`. */
  constructor(
    readonly home: string,
    private readonly options: ResolvedStoreOptions,
    private readonly lock: VfsLock,
  ) {}

  // ------------------------------------------------------------------ open sequence

  /** @internal Remove leftovers, migrate, resolve `current`, prepare `working/`, catch up. */
  async start(): Promise<void> {
    const { vfs } = this.options;
    checkAbort(this.options.open.signal);
    for (const name of await vfs.readdir(this.home)) if (isLeftover(name)) await removeTree(vfs, join(this.home, name));
    await migrateIfNeeded(vfs, this.home, this.options.engine, this.options.accelerator);
    this.changelog = await Changelog.open(join(this.home, CHANGELOG_DIR), vfs, this.options.fsync);
    await this.restart(this.options.open);
  }

  /** From `current` to a caught-up working state (open, and repair after a failed rollback). */
  private async restart(progress: LongOperationOptions = {}): Promise<void> {
    const { vfs, engine, accelerator } = this.options;
    this.base = await resolveCurrent(vfs, this.home, engine);
    this.lastClone = await prepareWorking(vfs, this.home, this.base);
    this.state = await openState(join(this.home, WORKING_DIR), engine, accelerator);
    this.replayed = await this.catchUp(this.state, progress);
  }

  /** Replay the changelog past the committed version; a gap before its first record is an error. */
  private async catchUp(state: WorkingState, progress: LongOperationOptions): Promise<number> {
    const changelog = this.changelog!;
    const first = await changelog.firstVersion();
    const last = await changelog.lastVersion();
    if (first === null || last === null) return 0;
    if (last < state.version) {
      // The data is ahead of the changelog. With fsync off, a power loss can take the log's tail
      // but not the engine's flushed tables: those versions can be neither replayed nor rolled
      // through, and the log restarts at the next commit. With fsync on, records are durable
      // before their data is written, so this is damage, not a crash.
      if (this.options.fsync) {
        throw siltError(
          ErrorCodes.CORRUPTION,
          `the changelog ends at version ${last} but the data is at version ${state.version} (open with fsync: false to accept the loss of that history)`,
        );
      }
      await changelog.truncateAll();
      return 0;
    }
    if (first > state.version + 1) {
      throw siltError(
        ErrorCodes.CORRUPTION,
        `the changelog starts at version ${first} but the data is at version ${state.version}: versions ${state.version + 1}..${first - 1} are missing`,
      );
    }
    return replay(state, changelog, last, progress);
  }

  /** @internal Release everything after a failed open. */
  async abandon(): Promise<void> {
    await this.state?.db.close().catch(() => {});
    await this.changelog?.close().catch(() => {});
    await this.lock.release().catch(() => {});
  }

  // ------------------------------------------------------------------ reads and pending changes

  /** The last committed version. */
  get version(): number {
    return this.usable().version;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** The root hash of the working state: the committed state with the pending changes applied. */
  rootHash(): Uint8Array {
    return this.usable().rootHash();
  }

  /** The value of `key` (a copy), pending changes included. */
  get(key: Uint8Array | string): Uint8Array | undefined {
    const state = this.usable();
    // A pending value is the store's own array, which its commit will write: never hand it out.
    return state.lookup(toStoreKey(key))?.slice();
  }

  has(key: Uint8Array | string): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Entries in key order (or reverse), committed data with pending changes over it, as of this
   * call: bounds, `reverse`, `limit` as the engine's iterator; sync and async iterable.
   */
  iterator(options?: StoreIteratorOptions): StoreIterator {
    const state = this.usable();
    return new StoreIterator(state.db, [state.writingChanges, state.pendingChanges], options);
  }

  /**
   * Buffer changes for the next version and mix them into the working hash. May be called many
   * times per version; bad input throws `INVALID_ARGUMENT` and changes nothing.
   */
  applyChangeSets(changeSets: readonly ChangeSetInput[]): void {
    const state = this.usable();
    if (this.versionOps > 0) {
      // A commit takes the changes pending when it runs, not when it was called: changes applied in
      // between would land in a version chosen by timing. Await the commit (or rollback) first.
      throw siltError(ErrorCodes.INVALID_ARGUMENT, 'applyChangeSets during a commit or rollback: await it before applying the next changes');
    }
    state.apply(toChangeSets(changeSets));
  }

  // ------------------------------------------------------------------ commit and snapshots

  /** Commit the pending changes as version `version + 1` (an empty version commits too). */
  commit(): Promise<CommitResult> {
    return this.versionOp(async () => {
      const state = this.usable();
      const version = state.version + 1;
      const { sets, changes, lanes } = state.beginVersion();
      try {
        await this.changelog!.append(version, sets);
        await state.writeVersion(version, changes, lanes);
      } catch (error) {
        // The changelog may hold the version: the next open replays it if so.
        this.failure = error;
        throw error;
      }
      const rootHash = state.committedRootHash();
      const interval = this.options.snapshotInterval;
      if (interval > 0 && version % interval === 0) {
        try {
          await this.takeSnapshot();
        } catch (snapshotError) {
          return { version, rootHash, snapshotError };
        }
      }
      return { version, rootHash };
    });
  }

  /** Snapshot the committed state now (pending changes are not part of it). */
  writeSnapshot(): Promise<number> {
    return this.exclusive(async () => {
      await this.takeSnapshot();
      return this.base;
    });
  }

  /**
   * Checkpoint into `snapshot-<v>-tmp`, rename to `snapshot-<v>`, point `current` at it, record it
   * as `working/`'s base, prune old snapshots and the changelog below the oldest kept one.
   */
  private async takeSnapshot(): Promise<void> {
    const state = this.usable();
    const { vfs } = this.options;
    const version = state.version;
    const name = snapshotName(version);
    // A snapshot of this version may exist already (taken before a rollback to it, or just now):
    // versions are immutable, so it holds this very state and is kept as it is.
    if (!(await vfs.exists(join(this.home, name)))) {
      const tmp = join(this.home, name + TMP_SUFFIX);
      await removeTree(vfs, tmp);
      // Without fsync the changelog may trail the data a snapshot makes durable: sync it first, so
      // a power loss cannot leave a snapshot newer than the history leading to it.
      if (!this.options.fsync) await this.changelog!.sync();
      try {
        await state.db.checkpoint(tmp);
        await vfs.rename(tmp, join(this.home, name), { durable: true });
      } catch (error) {
        await removeTree(vfs, tmp).catch(() => {});
        throw error;
      }
    }
    await pointCurrent(vfs, this.home, name);
    this.base = version;
    await writeSnapshotBase(vfs, this.home, version);
    await this.prune();
  }

  /** Keep `current` and `snapshotKeepRecent` older snapshots; cut the changelog below the oldest kept. */
  private async prune(): Promise<void> {
    const { vfs, snapshotKeepRecent } = this.options;
    const older = (await listSnapshots(vfs, this.home)).filter((v) => v < this.base);
    const kept = snapshotKeepRecent === 0 ? [] : older.slice(-snapshotKeepRecent);
    let failure: unknown = null;
    for (const version of older) {
      if (kept.includes(version)) continue;
      try {
        await removeDirAtomically(vfs, this.home, snapshotName(version));
      } catch (error) {
        failure ??= error;
      }
    }
    await this.changelog!.truncateBeforeVersion((kept[0] ?? this.base) + 1);
    if (failure !== null) throw failure;
  }

  // ------------------------------------------------------------------ rollback and old versions

  /**
   * The snapshot to rebuild `target` from: the newest one at or below it, with the changelog
   * holding every version after it up to `target`. `OUT_OF_RANGE` when there is none.
   */
  private async reachableBase(target: number): Promise<number> {
    const snapshots = await listSnapshots(this.options.vfs, this.home);
    const base = snapshots.filter((v) => v <= target).at(-1);
    if (base === undefined) throw siltError(ErrorCodes.OUT_OF_RANGE, `version ${target} is unreachable: no snapshot at or below it`);
    if (!(await this.changelog!.covers(base + 1, target))) {
      throw siltError(
        ErrorCodes.OUT_OF_RANGE,
        `version ${target} is unreachable: the nearest snapshot is ${base} and the changelog does not hold versions ${base + 1}..${target}`,
      );
    }
    return base;
  }

  private checkTarget(target: unknown, what: string): number {
    const state = this.usable();
    if (typeof target !== 'number' || !Number.isSafeInteger(target) || target < 0) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, `${what} takes a version ≥ 0, got ${String(target)}`);
    }
    if (target > state.version) throw siltError(ErrorCodes.OUT_OF_RANGE, `${what}(${target}): the store is at version ${state.version}`);
    return target;
  }

  /**
   * Return the store to version `target`, dropping later versions and pending changes. Reachability
   * is checked before anything changes. Then: `current` → the base snapshot, `working/` marked for
   * a re-clone, newer snapshots removed — a failure up to here restores the old version — then the
   * changelog is cut after `target` (from here on, the next open finishes the rollback), `working/`
   * re-cloned and the changelog replayed up to `target`, which must be reached exactly.
   */
  rollback(target: number, options?: LongOperationOptions): Promise<void> {
    return this.versionOp(async () => {
      const wanted = this.checkTarget(target, 'rollback');
      const progress = longOperationOptions(options, 'options');
      checkAbort(progress.signal);
      if (wanted === this.state!.version) {
        // Nothing committed to undo: only the pending changes go.
        this.state!.discardPending();
        return;
      }
      const base = await this.reachableBase(target);
      const { vfs } = this.options;
      const state = this.state!;
      try {
        await state.db.close();
        this.state = null;
        await pointCurrent(vfs, this.home, snapshotName(base));
        this.base = base;
        // working/ may hold versions past the target even when it shares the base: re-clone it.
        await removeTree(vfs, join(this.home, WORKING_DIR, SNAPSHOT_BASE_FILE));
        await vfs.syncDir(join(this.home, WORKING_DIR));
        for (const version of await listSnapshots(vfs, this.home)) {
          if (version > target) await removeDirAtomically(vfs, this.home, snapshotName(version));
        }
      } catch (error) {
        return this.recover(error);
      }
      try {
        await this.changelog!.truncateAfterVersion(target);
        this.lastClone = await prepareWorking(vfs, this.home, base);
        this.state = await openState(join(this.home, WORKING_DIR), this.options.engine, this.options.accelerator);
        this.replayed = await replay(this.state, this.changelog!, target, progress);
      } catch (error) {
        if (progress.signal?.aborted) {
          // Aborted after the changelog was cut: the rollback is decided and the next open finishes it.
          this.failure = error;
          throw error;
        }
        return this.recover(error);
      }
    });
  }

  /** After a failed rollback step: rebuild the working state from disk, then report the failure. */
  private async recover(error: unknown): Promise<never> {
    try {
      await this.state?.db.close().catch(() => {});
      this.state = null;
      await this.restart();
    } catch {
      this.failure = error;
    }
    throw error;
  }

  /** A read-only view at version `version` (≤ the committed one); `current` stays as it is. */
  loadVersion(version: number, options?: LongOperationOptions): Promise<VersionView> {
    return this.exclusive(async () => {
      this.checkTarget(version, 'loadVersion');
      const progress = longOperationOptions(options, 'options');
      checkAbort(progress.signal);
      const base = await this.reachableBase(version);
      const { vfs, engine, accelerator } = this.options;
      const dir = join(this.home, `view-${version}-${++this.viewCounter}${TMP_SUFFIX}`);
      await removeTree(vfs, dir);
      let state: WorkingState | null = null;
      try {
        await cloneTree(vfs, join(this.home, snapshotName(base)), dir);
        state = await openState(dir, { ...engine, disableAutoCompaction: true }, accelerator);
        await replay(state, this.changelog!, version, progress);
      } catch (error) {
        await state?.db.close().catch(() => {});
        await removeTree(vfs, dir).catch(() => {});
        throw error;
      }
      const view: VersionView = new VersionView(state, async () => {
        this.views.delete(view);
        await removeTree(vfs, dir);
      });
      this.views.add(view);
      return view;
    });
  }

  // ------------------------------------------------------------------ info and close

  async info(): Promise<CommitStoreInfo> {
    const state = this.usable();
    const first = await this.changelog!.firstVersion();
    const last = await this.changelog!.lastVersion();
    return {
      version: state.version,
      baseSnapshot: this.base,
      snapshots: await listSnapshots(this.options.vfs, this.home),
      changelog: first === null || last === null ? null : { first, last },
      replayed: this.replayed,
      lastClone: this.lastClone,
    };
  }

  /** Close views, the engine (flushing it) and the changelog, then release the lock. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queue.catch(() => {});
      let failure: unknown = null;
      for (const view of [...this.views]) await view.close().catch((error: unknown) => (failure ??= error));
      if (this.failure === null) await this.changelog?.sync().catch((error: unknown) => (failure ??= error));
      await this.state?.db.close().catch((error: unknown) => (failure ??= error));
      await this.changelog?.close().catch((error: unknown) => (failure ??= error));
      await this.lock.release().catch((error: unknown) => (failure ??= error));
      if (failure !== null) throw failure;
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private usable(): WorkingState {
    if (this.closing !== null) throw siltError(ErrorCodes.CLOSED, `the store in ${this.home} is closed`);
    if (this.failure === null && this.state === null) {
      throw siltError(ErrorCodes.CLOSED, `the store in ${this.home} is rolling back: wait for rollback() to settle`);
    }
    if (this.failure !== null || this.state === null) {
      throw siltError(ErrorCodes.POISONED, `the store in ${this.home} failed and must be reopened`, this.failure ?? undefined);
    }
    return this.state;
  }

  /** `exclusive`, counted in `versionOps` until it settles (commit, rollback). */
  private versionOp<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.exclusive(operation);
    if (this.closing !== null) return run;
    this.versionOps++;
    const settle = (): void => {
      this.versionOps--;
    };
    run.then(settle, settle);
    return run;
  }

  /** Run `operation` after every earlier one (commits, snapshots, rollbacks, views). */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closing !== null) return Promise.reject(siltError(ErrorCodes.CLOSED, `the store in ${this.home} is closed`));
    const run = this.queue.then(operation, operation);
    this.queue = run.catch(() => {});
    return run;
  }
}
