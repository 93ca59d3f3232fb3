/**
 * The options of a manifest store, their defaults and their validation (`INVALID_ARGUMENT` before
 * any file is touched).
 */
import { nodeVfs } from '../vfs/node-vfs.js';
import type { Vfs } from '../vfs/types.js';
import { checkCount, invalidInput } from './table-meta.js';

export interface ManifestOptions {
  /** The file system; default: the real one. Tests pass a `FaultVfs`. */
  readonly vfs?: Vfs;
  /**
   * Rewrite the manifest (one snapshot edit in a new directory) once it holds more than this many
   * bytes — and more than twice its last snapshot, so that a state larger than the limit is not
   * rewritten after every edit. Default 4 MiB.
   */
  readonly rewriteBytes?: number;
  /** Rewrite the manifest once it holds more than this many edits (replay cost is per edit). Default 100,000. */
  readonly rewriteEdits?: number;
  /**
   * Receives the table file numbers that no live version lists any more, synchronously, from the
   * edit or the `unref` that released them; they can be unlinked. Must not throw. Without it they
   * queue up for `versions.takeObsoleteFiles()`. Tables removed by edits replayed at open are not
   * reported: a database lists its directory on open and removes the tables no live version lists.
   */
  readonly onObsoleteFiles?: (fileNumbers: readonly number[]) => void;
}

export interface ResolvedManifestOptions {
  readonly vfs: Vfs;
  readonly rewriteBytes: number;
  readonly rewriteEdits: number;
  readonly onObsoleteFiles: ((fileNumbers: readonly number[]) => void) | undefined;
}

export const DEFAULT_REWRITE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_REWRITE_EDITS = 100_000;

export function resolveManifestOptions(options: ManifestOptions | undefined): ResolvedManifestOptions {
  options ??= {};
  if (options === null || typeof options !== 'object') throw invalidInput('manifest options must be an object');
  const vfs = options.vfs ?? nodeVfs;
  if (typeof vfs !== 'object' || vfs === null || typeof vfs.open !== 'function') throw invalidInput('options.vfs is not a Vfs');
  const onObsoleteFiles = options.onObsoleteFiles;
  if (onObsoleteFiles !== undefined && typeof onObsoleteFiles !== 'function') throw invalidInput('options.onObsoleteFiles must be a function');
  return {
    vfs,
    rewriteBytes: options.rewriteBytes === undefined ? DEFAULT_REWRITE_BYTES : checkCount(options.rewriteBytes, 'options.rewriteBytes', invalidInput, 1),
    rewriteEdits: options.rewriteEdits === undefined ? DEFAULT_REWRITE_EDITS : checkCount(options.rewriteEdits, 'options.rewriteEdits', invalidInput, 1),
    onObsoleteFiles,
  };
}
