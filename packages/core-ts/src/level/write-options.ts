/**
 * abstract-level passes each write the caller's options mixed with its own (encodings, the op's
 * fields); the engine takes only `sync`, and only as a boolean.
 */
import type { WriteOptions } from '../db/index.js';

const NO_OPTIONS: WriteOptions = {};
const SYNC: WriteOptions = { sync: true };

/** `{ sync: true }` when the caller asked for it (classic-level's option: wait for the fsync). */
export function engineWriteOptions(options: { readonly sync?: unknown } | null | undefined): WriteOptions {
  return options?.sync === true ? SYNC : NO_OPTIONS;
}
