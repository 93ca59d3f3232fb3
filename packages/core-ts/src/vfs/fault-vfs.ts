/**
 * An in-memory file system for tests that fails on purpose and simulates power loss.
 *
 * Faults: `inject({ kind, nth, error })` makes the nth call of a kind fail with EIO or ENOSPC
 * (see fault-rules.ts).
 *
 * Power loss: the "disk" tracks two states. File content is tracked per file (memory-file.ts): only
 * synced data survives. Directory entries are tracked per directory: each directory has its
 * current entries and its durable entries, and `syncDir` (or `{ durable: true }`) copies the first
 * into the second. `crash()` throws away everything not durable — file data, and creates, renames,
 * unlinks and links whose directory was not synced — and releases every lock. The process died
 * with the machine: this FaultVfs and every handle it opened fail from then on (so work still in
 * flight in the dead process cannot touch the disk), and `crash()` returns a new FaultVfs over the
 * same disk, as the rebooted machine sees it. With a seed, `crash({ seed })` also keeps a random
 * in-order prefix of each file's unsynced writes, the last one torn at a random byte, as a disk
 * that was writing back when the power went out would. With `directoryOps: 'random-prefix'` as well,
 * the unsynced directory operations are not all dropped: a random prefix of them (in the order they
 * were made, across all directories) survives, as a journaling file system that had committed part
 * of its journal would leave them. A rename is recorded as "add the new name", then "remove the old
 * one", so a cut between the two leaves the file under both names, never under neither.
 *
 * The model is strict POSIX: fsync of a file does not make its directory entry durable, and a
 * failed fsync loses the unsynced data for good (even if a later fsync succeeds).
 */
import { ErrorCodes, siltError } from '../errors.js';
import { FaultInjector, injectedError, type FaultKind, type FaultRule } from './fault-rules.js';
import { checkReadTarget, ioError } from './io-error.js';
import { MemoryFile } from './memory-file.js';
import { SeededRandom } from './seeded-random.js';
import type { DurableOption, OpenOptions, Vfs, VfsFile, VfsLock } from './types.js';

class Directory {
  entries = new Map<string, Node>();
  durableEntries = new Map<string, Node>();
}

/** A symbolic link: only its target text; lookups through it resolve that against its directory. */
class Symlink {
  constructor(readonly target: string) {}
}

type Node = Directory | MemoryFile | Symlink;

/** Links followed in one lookup before it fails with ELOOP, as Linux does. */
const MAX_SYMLINK_HOPS = 40;

/** One change to a directory not synced yet: `name` now refers to `node` (or to nothing). */
interface DirectoryOp {
  readonly directory: Directory;
  readonly name: string;
  readonly node: Node | undefined;
}

export interface CrashOptions {
  /** Seed for the torn-write simulation; without it, all unsynced data is simply dropped. */
  readonly seed?: number;
  /**
   * What happens to directory operations (creates, renames, unlinks, links) whose directory was
   * not synced: `'drop'` (default) loses them all; `'random-prefix'` keeps a random prefix of them
   * in the order they were made (needs `seed`).
   */
  readonly directoryOps?: 'drop' | 'random-prefix';
}

/** What survives a crash of the process: the files and directories, and the lock table. */
class FaultDisk {
  readonly root = new Directory();
  readonly locks = new Set<string>();

  /** Directory operations made since their directory was last synced, oldest first. */
  private pendingOps: DirectoryOp[] = [];

  setEntry(directory: Directory, name: string, node: Node | undefined): void {
    if (node === undefined) directory.entries.delete(name);
    else directory.entries.set(name, node);
    this.pendingOps.push({ directory, name, node });
  }

  syncDirectory(directory: Directory): void {
    directory.durableEntries = new Map(directory.entries);
    this.pendingOps = this.pendingOps.filter((op) => op.directory !== directory);
  }

  powerLoss(random: SeededRandom | undefined, keepOpPrefix: boolean): void {
    this.locks.clear();
    // Drawn first, so the file draws below do not depend on the number of pending operations.
    const kept = keepOpPrefix && random !== undefined ? this.pendingOps.slice(0, random.int(0, this.pendingOps.length)) : [];
    this.pendingOps = [];
    const seen = new Set<Node>();
    const restore = (directory: Directory): void => {
      const entries = new Map(directory.durableEntries);
      for (const op of kept) {
        if (op.directory !== directory) continue;
        if (op.node === undefined) entries.delete(op.name);
        else entries.set(op.name, op.node);
      }
      directory.entries = entries;
      directory.durableEntries = new Map(entries);
      // Sorted, so the random draws do not depend on the order entries were created in.
      for (const name of [...directory.entries.keys()].sort()) {
        const node = directory.entries.get(name)!;
        if (seen.has(node)) continue;
        seen.add(node);
        if (node instanceof Directory) restore(node);
        else if (node instanceof MemoryFile) node.crash(random);
      }
    };
    restore(this.root);
  }
}

export class FaultVfs implements Vfs {
  private readonly faults = new FaultInjector();
  private alive = true;
  private readonly root: Directory;
  private openHandles = 0;

  constructor(private readonly disk: FaultDisk = new FaultDisk()) {
    this.root = disk.root;
  }

  /** Make calls fail; see `FaultRule`. */
  inject(rule: FaultRule): void {
    this.faults.arm(rule);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** File handles opened through this FaultVfs and not closed yet. */
  get openFiles(): number {
    return this.openHandles;
  }

  /** How many calls of a kind were made through this FaultVfs (failed ones included). */
  calls(kind: FaultKind): number {
    return this.faults.count(kind);
  }

  /**
   * Power loss: drop what is not durable, kill this FaultVfs and its handles, and return the file
   * system of the rebooted machine.
   */
  crash(options: CrashOptions = {}): FaultVfs {
    const keepOpPrefix = options.directoryOps === 'random-prefix';
    if (keepOpPrefix && options.seed === undefined) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, "crash({ directoryOps: 'random-prefix' }) needs a seed");
    }
    this.alive = false;
    this.disk.powerLoss(options.seed === undefined ? undefined : new SeededRandom(options.seed), keepOpPrefix);
    return new FaultVfs(this.disk);
  }

  /** What reads of the file return now (not necessarily durable). */
  contentOf(path: string): Uint8Array {
    return this.fileAt(path, 'inspect').current.snapshot();
  }

  /** What the file would hold after a crash without torn writes. */
  durableContentOf(path: string): Uint8Array {
    return this.fileAt(path, 'inspect').durableContent();
  }

  /** Flip bits of one byte on the "disk" and in the cache alike (bit rot). */
  corrupt(path: string, position: number, xorMask = 0x01): void {
    this.fileAt(path, 'corrupt').corrupt(position, xorMask);
  }

  async open(path: string, options: OpenOptions): Promise<VfsFile> {
    this.check('open', path);
    const { parent, name } = this.parentOf(path, 'open');
    let node = parent.entries.get(name);
    if (node instanceof Symlink) node = this.lookup(path);
    if (node instanceof Directory) throw systemError('EISDIR', 'open', path);
    if (node instanceof Symlink) throw systemError('ENOENT', 'open', path);
    if (node === undefined) {
      if (options.mode === 'read' || options.mode === 'readwrite') throw systemError('ENOENT', 'open', path);
      node = new MemoryFile();
      this.disk.setEntry(parent, name, node);
      if (options.durable) await this.syncDir(parentPath(path));
    } else if (options.mode === 'exclusive') {
      throw systemError('EEXIST', 'open', path);
    } else if (options.mode === 'replace') {
      node.truncate(0);
    }
    this.openHandles++;
    return new FaultFile(this, normalize(path), node, options.mode === 'read', () => this.openHandles--);
  }

  async readFile(path: string): Promise<Uint8Array> {
    this.check('read', path);
    return this.fileAt(path, 'read').current.snapshot();
  }

  async exists(path: string): Promise<boolean> {
    this.check('stat', path);
    return this.lookup(path) !== undefined;
  }

  async rename(from: string, to: string, options?: DurableOption): Promise<void> {
    this.check('rename', `${from} -> ${to}`);
    const source = this.parentOf(from, 'rename');
    const node = source.parent.entries.get(source.name);
    if (node === undefined) throw systemError('ENOENT', 'rename', from);
    const target = this.parentOf(to, 'rename');
    if (target.parent.entries.get(target.name) instanceof Directory) throw systemError('EISDIR', 'rename', to);
    // The new name first: a crash that keeps only part of the rename keeps the file (see above).
    this.disk.setEntry(target.parent, target.name, node);
    this.disk.setEntry(source.parent, source.name, undefined);
    if (options?.durable) {
      await this.syncDir(parentPath(to));
      if (source.parent !== target.parent) await this.syncDir(parentPath(from));
    }
  }

  async unlink(path: string, options?: DurableOption): Promise<void> {
    this.check('unlink', path);
    const { parent, name } = this.parentOf(path, 'unlink');
    const node = parent.entries.get(name);
    if (node === undefined) throw systemError('ENOENT', 'unlink', path);
    if (node instanceof Directory) throw systemError('EISDIR', 'unlink', path);
    this.disk.setEntry(parent, name, undefined);
    if (options?.durable) await this.syncDir(parentPath(path));
  }

  async rmdir(dir: string, options?: DurableOption): Promise<void> {
    this.check('rmdir', dir);
    const { parent, name } = this.parentOf(dir, 'rmdir');
    const node = parent.entries.get(name);
    if (node === undefined) throw systemError('ENOENT', 'rmdir', dir);
    if (!(node instanceof Directory)) throw systemError('ENOTDIR', 'rmdir', dir);
    if (node.entries.size > 0) throw systemError('ENOTEMPTY', 'rmdir', dir);
    this.disk.setEntry(parent, name, undefined);
    if (options?.durable) await this.syncDir(parentPath(dir));
  }

  async link(existing: string, newPath: string, options?: DurableOption): Promise<void> {
    this.check('link', `${existing} -> ${newPath}`);
    const file = this.fileAt(existing, 'link');
    const { parent, name } = this.parentOf(newPath, 'link');
    if (parent.entries.has(name)) throw systemError('EEXIST', 'link', newPath);
    this.disk.setEntry(parent, name, file);
    if (options?.durable) await this.syncDir(parentPath(newPath));
  }

  async symlink(target: string, path: string, options?: DurableOption): Promise<void> {
    this.check('symlink', `${path} -> ${target}`);
    const { parent, name } = this.parentOf(path, 'symlink');
    if (parent.entries.has(name)) throw systemError('EEXIST', 'symlink', path);
    this.disk.setEntry(parent, name, new Symlink(target));
    if (options?.durable) await this.syncDir(parentPath(path));
  }

  async readlink(path: string): Promise<string> {
    this.check('readlink', path);
    const { parent, name } = this.parentOf(path, 'readlink');
    const node = parent.entries.get(name);
    if (node === undefined) throw systemError('ENOENT', 'readlink', path);
    if (!(node instanceof Symlink)) throw systemError('EINVAL', 'readlink', path);
    return node.target;
  }

  async readdir(dir: string): Promise<string[]> {
    this.check('readdir', dir);
    const node = this.lookup(dir);
    if (node === undefined) throw systemError('ENOENT', 'scandir', dir);
    if (!(node instanceof Directory)) throw systemError('ENOTDIR', 'scandir', dir);
    return [...node.entries.keys()].sort();
  }

  async mkdir(dir: string, options?: DurableOption & { readonly recursive?: boolean }): Promise<void> {
    this.check('mkdir', dir);
    const parts = components(dir);
    const grownDirectories: string[] = [];
    let current = this.root;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      const isTarget = i === parts.length - 1;
      const existing = current.entries.get(name);
      if (existing instanceof Directory) {
        if (isTarget && !options?.recursive) throw systemError('EEXIST', 'mkdir', dir);
        current = existing;
        continue;
      }
      if (existing !== undefined) throw systemError(isTarget ? 'EEXIST' : 'ENOTDIR', 'mkdir', dir);
      if (!isTarget && !options?.recursive) throw systemError('ENOENT', 'mkdir', dir);
      const created = new Directory();
      this.disk.setEntry(current, name, created);
      grownDirectories.push(`/${parts.slice(0, i).join('/')}`);
      current = created;
    }
    if (options?.durable) for (const path of grownDirectories) await this.syncDir(path);
  }

  async syncDir(dir: string): Promise<void> {
    this.check('syncDir', dir);
    const node = this.lookup(dir);
    if (node === undefined) throw systemError('ENOENT', 'fsync', dir);
    if (!(node instanceof Directory)) throw systemError('ENOTDIR', 'fsync', dir);
    this.disk.syncDirectory(node);
  }

  async truncate(path: string, length: number): Promise<void> {
    this.check('truncate', path);
    this.fileAt(path, 'truncate').truncate(length);
  }

  async lock(path: string): Promise<VfsLock> {
    this.check('lock', path);
    const key = normalize(path);
    const locks = this.disk.locks;
    if (locks.has(key)) throw siltError(ErrorCodes.LOCKED, `cannot lock ${key}: it is held`);
    locks.add(key);
    let released = false;
    return {
      path: key,
      release: async () => {
        if (released) return;
        released = true;
        // A lock of a crashed process died with it; a new owner may hold the path now.
        if (this.alive) locks.delete(key);
      },
    };
  }

  /** @internal Count a call and fail it when a rule says so, or when the process is dead. */
  check(kind: FaultKind, path: string): FaultRule | null {
    this.assertAlive(kind, path);
    const rule = this.faults.check(kind, path);
    if (rule !== null && !(kind === 'write' && rule.partialWrite)) {
      throw ioError(kind, path, injectedError(rule, kind, path));
    }
    return rule;
  }

  /** @internal A process that died in a crash cannot touch the disk any more. */
  assertAlive(kind: FaultKind, path: string): void {
    if (!this.alive) throw ioError(kind, path, systemErrorObject('EIO', kind, path, 'this process died in a crash'));
  }

  /** The node at `path`, following symbolic links (relative targets resolve in the link's directory). */
  private lookup(path: string, hops = 0): Node | undefined {
    let node: Node = this.root;
    const parts = components(path);
    for (let i = 0; i < parts.length; i++) {
      if (!(node instanceof Directory)) return undefined;
      let child: Node | undefined = node.entries.get(parts[i]!);
      if (child instanceof Symlink) {
        if (hops >= MAX_SYMLINK_HOPS) throw systemError('ELOOP', 'lookup', path);
        const base = child.target.startsWith('/') ? '' : `/${parts.slice(0, i).join('/')}`;
        child = this.lookup(`${base}/${child.target}`, hops + 1);
      }
      if (child === undefined) return undefined;
      node = child;
    }
    return node;
  }

  private parentOf(path: string, syscall: string): { parent: Directory; name: string } {
    const parts = components(path);
    const name = parts.pop();
    if (name === undefined) throw systemError('EISDIR', syscall, path);
    const parent = this.lookup(parts.join('/'));
    if (parent === undefined) throw systemError('ENOENT', syscall, path);
    if (!(parent instanceof Directory)) throw systemError('ENOTDIR', syscall, path);
    return { parent, name };
  }

  private fileAt(path: string, syscall: string): MemoryFile {
    const node = this.lookup(path);
    if (node === undefined || node instanceof Symlink) throw systemError('ENOENT', syscall, path);
    if (node instanceof Directory) throw systemError('EISDIR', syscall, path);
    return node;
  }
}

class FaultFile implements VfsFile {
  private closed = false;

  constructor(
    private readonly vfs: FaultVfs,
    readonly path: string,
    private readonly file: MemoryFile,
    private readonly readOnly: boolean,
    private readonly onClose: () => void,
  ) {}

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    this.usable('read');
    checkReadTarget(buffer, offset, length);
    this.vfs.check('read', this.path);
    return this.file.current.read(buffer, offset, length, position);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.writable('write');
    const rule = this.vfs.check('write', this.path);
    if (rule !== null) {
      // A short write: part of the data lands, then the call fails.
      this.file.write(position, data.subarray(0, data.length >>> 1));
      throw ioError('write', this.path, injectedError(rule, 'write', this.path));
    }
    this.file.write(position, data);
  }

  /** One call (and one fault check) for all the chunks, like pwritev. */
  async writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
    await this.write(Buffer.concat(chunks), position);
  }

  async append(data: Uint8Array): Promise<void> {
    await this.write(data, this.file.current.length);
  }

  async size(): Promise<number> {
    this.usable('stat');
    this.vfs.check('stat', this.path);
    return this.file.current.length;
  }

  async truncate(length: number): Promise<void> {
    this.writable('truncate');
    this.vfs.check('truncate', this.path);
    this.file.truncate(length);
  }

  async sync(): Promise<void> {
    this.usable('fsync');
    this.vfs.assertAlive('sync', this.path);
    try {
      this.vfs.check('sync', this.path);
    } catch (error) {
      this.file.loseUnsynced();
      throw error;
    }
    this.file.sync();
  }

  datasync(): Promise<void> {
    return this.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.vfs.check('close', this.path);
  }

  private usable(syscall: string): void {
    if (this.closed) throw ioError(syscall, this.path, systemErrorObject('EBADF', syscall, this.path));
  }

  private writable(syscall: string): void {
    this.usable(syscall);
    if (this.readOnly) throw ioError(syscall, this.path, systemErrorObject('EBADF', syscall, this.path));
  }
}

/** Path components, with `.`/`..` resolved; every path is taken from the root. */
function components(path: string): string[] {
  const parts: string[] = [];
  for (const part of path.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts;
}

function normalize(path: string): string {
  return `/${components(path).join('/')}`;
}

function parentPath(path: string): string {
  return `/${components(path).slice(0, -1).join('/')}`;
}

const ERRNO: Record<string, number> = { ENOENT: -2, EIO: -5, EBADF: -9, EEXIST: -17, ENOTDIR: -20, EISDIR: -21, EINVAL: -22, ELOOP: -40 };

function systemErrorObject(code: string, syscall: string, path: string, detail?: string): Error {
  const message = `${code}: ${detail ?? 'system error'}, ${syscall} '${path}'`;
  return Object.assign(new Error(message), { code, errno: ERRNO[code], syscall, path });
}

function systemError(code: string, syscall: string, path: string): Error {
  return ioError(syscall, path, systemErrorObject(code, syscall, path));
}
