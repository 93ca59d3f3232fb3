/**
 * The real file system, on node:fs. Hot file operations (read, write, datasync) use the callback
 * API on a raw descriptor: one libuv request and one promise per call, without the extra bookkeeping
 * of `FileHandle`. Directory fsync is how a create, rename or unlink becomes durable on POSIX
 * systems; Windows cannot open a directory for fsync and persists entries on its own, so there it
 * is a no-op.
 */
import * as fs from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkReadTarget, ioError, systemErrorCode } from './io-error.js';
import { acquireLockFile } from './lock-file.js';
import type { DurableOption, OpenOptions, Vfs, VfsFile, VfsLock } from './types.js';

const OPEN_FLAGS: Record<OpenOptions['mode'], number> = {
  read: fs.constants.O_RDONLY,
  readwrite: fs.constants.O_RDWR,
  create: fs.constants.O_RDWR | fs.constants.O_CREAT,
  exclusive: fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL,
  replace: fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC,
};

const DIRECTORY_FSYNC_SUPPORTED = process.platform !== 'win32';

export class NodeVfs implements Vfs {
  async open(path: string, options: OpenOptions): Promise<VfsFile> {
    const fd = await new Promise<number>((done, fail) => {
      fs.open(path, OPEN_FLAGS[options.mode], 0o644, (error, fd) => (error ? fail(ioError('open', path, error)) : done(fd)));
    });
    const creates = options.mode !== 'read' && options.mode !== 'readwrite';
    if (creates && options.durable) {
      try {
        await this.syncDir(dirname(path));
      } catch (error) {
        fs.close(fd, () => {});
        throw error;
      }
    }
    return new NodeFile(path, fd);
  }

  async readFile(path: string): Promise<Uint8Array> {
    try {
      return await fs.promises.readFile(path);
    } catch (error) {
      throw ioError('read', path, error);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fs.promises.stat(path);
      return true;
    } catch (error) {
      if (systemErrorCode(error) === 'ENOENT') return false;
      throw ioError('stat', path, error);
    }
  }

  async rename(from: string, to: string, options?: DurableOption): Promise<void> {
    try {
      await fs.promises.rename(from, to);
    } catch (error) {
      throw ioError('rename', `${from} -> ${to}`, error);
    }
    if (options?.durable) {
      await this.syncDir(dirname(to));
      if (resolve(dirname(from)) !== resolve(dirname(to))) await this.syncDir(dirname(from));
    }
  }

  async unlink(path: string, options?: DurableOption): Promise<void> {
    try {
      await fs.promises.unlink(path);
    } catch (error) {
      throw ioError('unlink', path, error);
    }
    if (options?.durable) await this.syncDir(dirname(path));
  }

  async rmdir(dir: string, options?: DurableOption): Promise<void> {
    try {
      await fs.promises.rmdir(dir);
    } catch (error) {
      throw ioError('rmdir', dir, error);
    }
    if (options?.durable) await this.syncDir(dirname(dir));
  }

  async link(existing: string, newPath: string, options?: DurableOption): Promise<void> {
    try {
      await fs.promises.link(existing, newPath);
    } catch (error) {
      throw ioError('link', `${existing} -> ${newPath}`, error);
    }
    if (options?.durable) await this.syncDir(dirname(newPath));
  }

  async symlink(target: string, path: string, options?: DurableOption): Promise<void> {
    try {
      await fs.promises.symlink(target, path);
    } catch (error) {
      throw ioError('symlink', `${path} -> ${target}`, error);
    }
    if (options?.durable) await this.syncDir(dirname(path));
  }

  async readlink(path: string): Promise<string> {
    try {
      return await fs.promises.readlink(path);
    } catch (error) {
      throw ioError('readlink', path, error);
    }
  }

  async readdir(dir: string): Promise<string[]> {
    try {
      return (await fs.promises.readdir(dir)).sort();
    } catch (error) {
      throw ioError('readdir', dir, error);
    }
  }

  async mkdir(dir: string, options?: DurableOption & { readonly recursive?: boolean }): Promise<void> {
    let firstCreated: string | undefined;
    try {
      if (options?.recursive) firstCreated = await fs.promises.mkdir(dir, { recursive: true });
      else {
        await fs.promises.mkdir(dir);
        firstCreated = dir;
      }
    } catch (error) {
      throw ioError('mkdir', dir, error);
    }
    if (options?.durable && firstCreated !== undefined) {
      // Every directory created by this call is an entry in its parent: sync each of those parents,
      // from the deepest up to the parent of the first one created.
      const stop = resolve(dirname(firstCreated));
      for (let current = resolve(dir); ; current = dirname(current)) {
        const parent = dirname(current);
        await this.syncDir(parent);
        if (parent === stop || parent === current) break;
      }
    }
  }

  async syncDir(dir: string): Promise<void> {
    if (!DIRECTORY_FSYNC_SUPPORTED) return;
    let handle: fs.promises.FileHandle | undefined;
    try {
      handle = await fs.promises.open(dir, 'r');
      await handle.sync();
    } catch (error) {
      throw ioError('fsync directory', dir, error);
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  async truncate(path: string, length: number): Promise<void> {
    try {
      await fs.promises.truncate(path, length);
    } catch (error) {
      throw ioError('truncate', path, error);
    }
  }

  lock(path: string): Promise<VfsLock> {
    return acquireLockFile(path);
  }
}

class NodeFile implements VfsFile {
  /** The file's length as far as this handle has seen it, for `append`; null until first needed. */
  private knownLength: number | null = null;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    if (this.closed) return this.closedError('read');
    try {
      checkReadTarget(buffer, offset, length);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((done, fail) => {
      fs.read(this.fd, buffer, offset, length, position, (error, bytesRead) =>
        error ? fail(ioError('read', this.path, error)) : done(bytesRead),
      );
    });
  }

  write(data: Uint8Array, position: number): Promise<void> {
    const end = position + data.length;
    if (this.knownLength !== null && end > this.knownLength) this.knownLength = end;
    if (this.closed) return this.closedError('write');
    if (data.length === 0) return Promise.resolve();
    return new Promise((done, fail) => {
      const writeFrom = (written: number): void => {
        fs.write(this.fd, data, written, data.length - written, position + written, (error, count) => {
          if (error) return fail(ioError('write', this.path, error));
          const total = written + count;
          if (total >= data.length) done();
          else if (count === 0) fail(ioError('write', this.path, new Error('the write made no progress')));
          else writeFrom(total);
        });
      };
      writeFrom(0);
    });
  }

  writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
    if (chunks.length === 1) return this.write(chunks[0]!, position);
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    if (this.knownLength !== null && position + total > this.knownLength) this.knownLength = position + total;
    if (this.closed) return this.closedError('write');
    if (total === 0) return Promise.resolve();
    return new Promise((done, fail) => {
      const writeFrom = (pending: readonly Uint8Array[], at: number): void => {
        fs.writev(this.fd, pending as Uint8Array[], at, (error, count) => {
          if (error) return fail(ioError('write', this.path, error));
          if (count === 0) return fail(ioError('write', this.path, new Error('the write made no progress')));
          const rest = skipBytes(pending, count);
          if (rest.length === 0) done();
          else writeFrom(rest, at + count);
        });
      };
      writeFrom(chunks, position);
    });
  }

  async append(data: Uint8Array): Promise<void> {
    this.knownLength ??= await this.size();
    const position = this.knownLength;
    this.knownLength += data.length;
    await this.write(data, position);
  }

  size(): Promise<number> {
    if (this.closed) return this.closedError('stat');
    return new Promise((done, fail) => {
      fs.fstat(this.fd, (error, stats) => (error ? fail(ioError('stat', this.path, error)) : done(stats.size)));
    });
  }

  truncate(length: number): Promise<void> {
    if (this.closed) return this.closedError('truncate');
    this.knownLength = length;
    return new Promise((done, fail) => {
      fs.ftruncate(this.fd, length, (error) => (error ? fail(ioError('truncate', this.path, error)) : done()));
    });
  }

  sync(): Promise<void> {
    if (this.closed) return this.closedError('fsync');
    return new Promise((done, fail) => {
      fs.fsync(this.fd, (error) => (error ? fail(ioError('fsync', this.path, error)) : done()));
    });
  }

  datasync(): Promise<void> {
    if (this.closed) return this.closedError('fdatasync');
    return new Promise((done, fail) => {
      fs.fdatasync(this.fd, (error) => (error ? fail(ioError('fdatasync', this.path, error)) : done()));
    });
  }

  /** A closed descriptor number may already belong to another file: never pass it to the OS. */
  private closedError(operation: string): Promise<never> {
    const cause = Object.assign(new Error('EBADF: the file handle is closed'), { code: 'EBADF' });
    return Promise.reject(ioError(operation, this.path, cause));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((done, fail) => {
      fs.close(this.fd, (error) => (error ? fail(ioError('close', this.path, error)) : done()));
    });
  }
}

/** The chunks left after the first `count` bytes were written (a short pwritev). */
function skipBytes(chunks: readonly Uint8Array[], count: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = count;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return rest;
}

/** The process-wide real file system. */
export const nodeVfs: Vfs = new NodeVfs();
