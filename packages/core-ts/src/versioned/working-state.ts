/**
 * The state a store (or a read-only view) builds versions on: an open engine database, the
 * committed version and LtHash read from its metadata record, and the pending changes of the next
 * version with their effect on the hash already mixed in (as `applyChangeSets` promises).
 *
 * Mixing needs each key's previous value: the newest pending change, else the value of a version
 * being written, else the database. A version's data and its metadata record (version + lanes) go
 * to the engine as one batch, so they are on disk together or not at all.
 */
import type { Accelerator } from '@siltdb/bindings';
import type { BatchOp, Db } from '../db/db.js';
import { ErrorCodes, siltError } from '../errors.js';
import type { Change, ChangeSet } from './change-set.js';
import { LtHashDelta, rootHashOf } from './lthash.js';
import { decodeMeta, encodeMeta, META_KEY } from './meta.js';

/** Pending changes keyed by the key's bytes as a latin1 string (one char per byte). */
export type ChangeMap = Map<string, Change>;

export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}

export class WorkingState {
  /** The committed version and its lanes. */
  version: number;
  committedLanes: Uint8Array;
  /** Lanes with the pending changes mixed in. */
  lanes: Uint8Array;
  private pending: ChangeMap = new Map();
  private pendingSets: ChangeSet[] = [];
  /** The changes of a version being written to the engine (readable until it lands). */
  private writing: ChangeMap | null = null;

  constructor(
    readonly db: Db,
    private readonly accelerator: Accelerator,
  ) {
    const meta = db.getSync(META_KEY);
    if (meta === undefined) throw siltError(ErrorCodes.CORRUPTION, `${db.location} holds no versioned-store metadata record`);
    const { version, lanes } = decodeMeta(meta, db.location);
    this.version = version;
    this.committedLanes = lanes;
    this.lanes = lanes;
  }

  get hasPending(): boolean {
    return this.pendingSets.length > 0;
  }

  get pendingChanges(): ReadonlyMap<string, Change> {
    return this.pending;
  }

  get writingChanges(): ReadonlyMap<string, Change> | null {
    return this.writing;
  }

  /** The value of `key` with pending changes applied, or undefined. */
  lookup(key: Uint8Array, id = keyId(key)): Uint8Array | undefined {
    const change = this.pending.get(id) ?? this.writing?.get(id);
    if (change !== undefined) return change.value ?? undefined;
    return this.db.getSync(key);
  }

  /**
   * Buffer validated change sets and mix them into the pending lanes (two accelerator calls). All or
   * nothing: a read of a previous value can fail (I/O, corruption), so the changes are staged and
   * only become pending, with their lanes, once every previous value was read and mixed.
   */
  apply(sets: readonly ChangeSet[]): void {
    const delta = new LtHashDelta();
    const staged: ChangeMap = new Map();
    for (const set of sets) {
      for (const change of set.changes) {
        const id = keyId(change.key);
        const earlier = staged.get(id);
        const previous = earlier === undefined ? this.lookup(change.key, id) : (earlier.value ?? undefined);
        if (previous !== undefined) delta.remove(change.key, previous);
        if (change.value !== null) delta.add(change.key, change.value);
        staged.set(id, change);
      }
    }
    this.lanes = delta.applyTo(this.accelerator, this.lanes);
    for (const [id, change] of staged) this.pending.set(id, change);
    this.pendingSets.push(...sets);
  }

  /** Take the pending version (its change sets for the changelog); reads still see it. */
  beginVersion(): { readonly sets: readonly ChangeSet[]; readonly changes: ChangeMap; readonly lanes: Uint8Array } {
    const taken = { sets: this.pendingSets, changes: this.pending, lanes: this.lanes };
    this.writing = this.pending;
    this.pending = new Map();
    this.pendingSets = [];
    return taken;
  }

  /** Write a taken version to the engine: its data and metadata in one batch. */
  async writeVersion(version: number, changes: ChangeMap, lanes: Uint8Array): Promise<void> {
    const ops: BatchOp[] = [];
    for (const change of changes.values()) {
      ops.push(change.value === null ? { type: 'del', key: change.key } : { type: 'put', key: change.key, value: change.value });
    }
    ops.push({ type: 'put', key: META_KEY, value: encodeMeta(version, lanes) });
    await this.db.batch(ops);
    this.writing = null;
    this.version = version;
    this.committedLanes = lanes;
  }

  /** Drop pending changes (rollback). */
  discardPending(): void {
    this.pending = new Map();
    this.pendingSets = [];
    this.lanes = this.committedLanes;
  }

  rootHash(): Uint8Array {
    return rootHashOf(this.accelerator, this.lanes);
  }

  committedRootHash(): Uint8Array {
    return rootHashOf(this.accelerator, this.committedLanes);
  }
}
