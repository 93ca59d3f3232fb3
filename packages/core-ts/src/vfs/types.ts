/**
 * The file-system layer every piece of engine I/O goes through. Two implementations exist: the real
 * one on node:fs (`NodeVfs`) and a fault-injecting in-memory twin for tests (`FaultVfs`), which also
 * models what survives a power loss. Every failure is a `SiltError` with code `IO_ERROR` whose
 * `cause` is the system error (with its `code`, e.g. `ENOENT`), or `LOCKED` from `lock`.
 *
 * Durability is explicit: data reaches the disk on `sync`/`datasync`, and a directory entry (a
 * create, rename, unlink or link) on `syncDir` of its directory — or at once when the operation is
 * given `{ durable: true }`, which syncs the affected directories before resolving.
 */

export interface DurableOption {
  /** Sync the affected directory (or directories) before resolving. */
  readonly durable?: boolean;
}

export interface OpenOptions extends DurableOption {
  /**
   * - `'read'`: read only; the file must exist.
   * - `'readwrite'`: the file must exist.
   * - `'create'`: read-write, created empty when missing.
   * - `'exclusive'`: read-write, created; fails (`EEXIST`) when it exists.
   * - `'replace'`: read-write, created or emptied.
   * `durable` applies when the call creates the file.
   */
  readonly mode: 'read' | 'readwrite' | 'create' | 'exclusive' | 'replace';
}

export interface VfsFile {
  readonly path: string;
  /** Read up to `length` bytes at `position` into `buffer[offset…]`; returns the count (0 at EOF). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Write all of `data` at `position` (short writes are retried until done or failed). */
  write(data: Uint8Array, position: number): Promise<void>;
  /**
   * Write the chunks back to back from `position`, as one system call where the platform allows
   * (`pwritev`): many batches reach the file for the price of one write.
   */
  writev(chunks: readonly Uint8Array[], position: number): Promise<void>;
  /** Write all of `data` at the current end of the file. */
  append(data: Uint8Array): Promise<void>;
  /** The current length of the file. */
  size(): Promise<number>;
  truncate(length: number): Promise<void>;
  /** fsync: data and metadata. */
  sync(): Promise<void>;
  /** fdatasync: data and the metadata needed to read it back (such as the length). */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** An exclusive lock; hold it for as long as the directory is written. */
export interface VfsLock {
  readonly path: string;
  release(): Promise<void>;
}

export interface Vfs {
  open(path: string, options: OpenOptions): Promise<VfsFile>;
  /** The whole content of a file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Whether a file or directory exists at `path`. */
  exists(path: string): Promise<boolean>;
  /** Atomically replace `to` with `from`. */
  rename(from: string, to: string, options?: DurableOption): Promise<void>;
  unlink(path: string, options?: DurableOption): Promise<void>;
  /** Remove an empty directory. */
  rmdir(dir: string, options?: DurableOption): Promise<void>;
  /** A second name (hard link) for an existing file. */
  link(existing: string, newPath: string, options?: DurableOption): Promise<void>;
  /**
   * Create a symbolic link at `path` whose content is `target` (stored as given: a relative target
   * resolves against the link's directory). Fails (`EEXIST`) when `path` exists. Optional, so
   * that file systems written before links existed still satisfy the interface; NodeVfs and
   * FaultVfs have it, and the versioned store requires it.
   */
  symlink?(target: string, path: string, options?: DurableOption): Promise<void>;
  /** The target of the symbolic link at `path` (`EINVAL` when `path` is not a link). Optional like `symlink`. */
  readlink?(path: string): Promise<string>;
  /** Names in a directory (files and directories), sorted. */
  readdir(dir: string): Promise<string[]>;
  /** Create a directory; with `recursive`, its missing parents too, and no error when it exists. */
  mkdir(dir: string, options?: DurableOption & { readonly recursive?: boolean }): Promise<void>;
  /** Make the directory's entries (creates, renames, unlinks) durable. */
  syncDir(dir: string): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  /**
   * Take the exclusive lock named by `path` (a lock file). A second holder, in this process or any
   * other, gets a `SiltError` with code `LOCKED` until the first releases it or dies.
   */
  lock(path: string): Promise<VfsLock>;
}
