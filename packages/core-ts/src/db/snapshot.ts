/**
 * A snapshot: a sequence number and a pinned `Version`. Reads through it see, for each key, the
 * newest version with seq ≤ `seq`. The pinned version keeps the files of that moment on disk; a
 * compaction must keep, for every live snapshot seq, the newest version at or below it (the
 * database reports them through `snapshotSeqs()`).
 */
import { ErrorCodes, siltError } from '../errors.js';
import type { Version } from '../manifest/index.js';

export class Snapshot {
  #version: Version | null;
  readonly #onRelease: (snapshot: Snapshot) => void;

  /** @internal Made by `db.snapshot()`. */
  constructor(
    readonly seq: number,
    version: Version,
    onRelease: (snapshot: Snapshot) => void,
  ) {
    this.#version = version.ref();
    this.#onRelease = onRelease;
  }

  get released(): boolean {
    return this.#version === null;
  }

  /** Unpin the sequence number and the version. Idempotent. */
  release(): void {
    const version = this.#version;
    if (version === null) return;
    this.#version = null;
    version.unref();
    this.#onRelease(this);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  /** @internal The seq, checking the snapshot is still live. */
  checkedSeq(): number {
    if (this.#version === null) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the snapshot was released');
    return this.seq;
  }
}
