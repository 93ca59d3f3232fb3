/**
 * An explicit snapshot (`db.snapshot()`): an engine snapshot taken synchronously when it is
 * created, as abstract-level requires, released when abstract-level closes it (by the user, or
 * when the database closes).
 */
import { AbstractSnapshot } from 'abstract-level';
import type { Snapshot } from '../db/index.js';

// abstract-level's typings omit the constructor argument its implementation requires.
const SnapshotBase = AbstractSnapshot as unknown as new (options: { owner: unknown }) => AbstractSnapshot;

export class SiltSnapshot extends SnapshotBase {
  /** @internal */
  readonly engineSnapshot: Snapshot;

  /** @internal Made by `SiltLevel#_snapshot`. */
  constructor(options: { owner: unknown }, engineSnapshot: Snapshot) {
    super(options);
    this.engineSnapshot = engineSnapshot;
  }

  async _close(): Promise<void> {
    this.engineSnapshot.release();
  }
}
