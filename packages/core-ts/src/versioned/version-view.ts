/**
 * A read-only view of a store at an older version (`loadVersion`): a private clone of the nearest
 * snapshot at or below it, with the changelog replayed up to it. `current`, `working/` and the
 * store's version are untouched; the clone lives in `view-<v>-<n>-tmp/` and is deleted on close
 * (or, after a crash, by the next open, like every `*-tmp`).
 */
import { ErrorCodes, siltError } from '../errors.js';
import { toStoreKey } from './change-set.js';
import { StoreIterator, type StoreIteratorOptions } from './overlay-iterator.js';
import type { WorkingState } from './working-state.js';

export class VersionView {
  private closing: Promise<void> | null = null;

  /** @internal Made by `CommitStore.loadVersion`. */
  constructor(
    private readonly state: WorkingState,
    private readonly dispose: () => Promise<void>,
  ) {}

  get version(): number {
    return this.state.version;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  rootHash(): Uint8Array {
    this.checkOpen();
    return this.state.committedRootHash();
  }

  get(key: Uint8Array | string): Uint8Array | undefined {
    this.checkOpen();
    return this.state.db.getSync(toStoreKey(key));
  }

  has(key: Uint8Array | string): boolean {
    return this.get(key) !== undefined;
  }

  /** Entries in key order (or reverse): bounds, `reverse`, `limit`; sync and async iterable. */
  iterator(options?: StoreIteratorOptions): StoreIterator {
    this.checkOpen();
    return new StoreIterator(this.state.db, [], options);
  }

  /** Close the view and delete its clone. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.state.db.close();
      } finally {
        await this.dispose();
      }
    })();
    return this.closing;
  }

  private checkOpen(): void {
    if (this.closing !== null) throw siltError(ErrorCodes.CLOSED, `the view of version ${this.state.version} is closed`);
  }
}
