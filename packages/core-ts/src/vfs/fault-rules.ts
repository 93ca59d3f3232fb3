/**
 * Which calls of the fault-injecting file system fail. A rule picks a kind of call (and optionally
 * a path), lets `nth - 1` matching calls through, then fails the next `times` ones with a system
 * error that looks like the one node:fs would give (`code`, `errno`, `syscall`, `path`).
 */

export type FaultKind =
  | 'open'
  | 'read'
  | 'write'
  | 'sync'
  | 'truncate'
  | 'close'
  | 'stat'
  | 'rename'
  | 'unlink'
  | 'link'
  | 'readdir'
  | 'mkdir'
  | 'syncDir'
  | 'rmdir'
  | 'lock'
  | 'symlink'
  | 'readlink';

export const FAULT_KINDS: readonly FaultKind[] = [
  'open',
  'read',
  'write',
  'sync',
  'truncate',
  'close',
  'stat',
  'rename',
  'unlink',
  'link',
  'readdir',
  'mkdir',
  'syncDir',
  'rmdir',
  'lock',
  'symlink',
  'readlink',
];

export type InjectedErrorCode = 'EIO' | 'ENOSPC';

export interface FaultRule {
  /** The kind of call to fail (`sync` covers fsync and fdatasync; `write` covers append). */
  readonly kind: FaultKind;
  /** Fail the nth matching call from now on (1 = the next one). Default 1. */
  readonly nth?: number;
  /** How many consecutive matching calls fail, starting at the nth. Default 1; `Infinity` sticks. */
  readonly times?: number;
  /** Default `EIO`. */
  readonly error?: InjectedErrorCode;
  /** Only calls whose path contains this string or matches this pattern count. */
  readonly path?: string | RegExp;
  /** For writes: the first half of the data lands before the failure (a short write). */
  readonly partialWrite?: boolean;
}

const ERRNO: Record<InjectedErrorCode, number> = { EIO: -5, ENOSPC: -28 };

interface ArmedRule {
  readonly rule: FaultRule;
  /** Matching calls seen since the rule was armed. */
  seen: number;
}

export class FaultInjector {
  private rules: ArmedRule[] = [];
  private readonly counts = new Map<FaultKind, number>();

  arm(rule: FaultRule): void {
    const nth = rule.nth ?? 1;
    if (!Number.isInteger(nth) || nth < 1) throw new RangeError(`fault rule nth must be an integer ≥ 1, got ${nth}`);
    this.rules.push({ rule, seen: 0 });
  }

  clear(): void {
    this.rules = [];
  }

  /** How many calls of this kind the file system has seen. */
  count(kind: FaultKind): number {
    return this.counts.get(kind) ?? 0;
  }

  /**
   * Record one call; return the rule that makes it fail, or null. Every armed rule that matches
   * counts the call, so several rules can watch the same kind independently.
   */
  check(kind: FaultKind, path: string): FaultRule | null {
    this.counts.set(kind, this.count(kind) + 1);
    let firing: FaultRule | null = null;
    for (const armed of this.rules) {
      const { rule } = armed;
      if (rule.kind !== kind || !pathMatches(rule.path, path)) continue;
      armed.seen++;
      const first = rule.nth ?? 1;
      const last = first + (rule.times ?? 1) - 1;
      if (armed.seen >= first && armed.seen <= last) firing ??= rule;
    }
    return firing;
  }
}

export function injectedError(rule: FaultRule, syscall: string, path: string): Error {
  const code = rule.error ?? 'EIO';
  const message = code === 'EIO' ? 'i/o error' : 'no space left on device';
  return Object.assign(new Error(`${code}: ${message} (injected), ${syscall} '${path}'`), {
    code,
    errno: ERRNO[code],
    syscall,
    path,
  });
}

function pathMatches(filter: string | RegExp | undefined, path: string): boolean {
  if (filter === undefined) return true;
  return typeof filter === 'string' ? path.includes(filter) : filter.test(path);
}
