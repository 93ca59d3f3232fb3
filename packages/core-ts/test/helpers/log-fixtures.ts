/**
 * Shared pieces of the log tests: temporary directories on the real file system, a string codec,
 * deterministic entries, and an assertion on error codes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { FaultVfs, IndexedLog, NodeVfs, utf8Codec, type IndexedLogOptions, type Vfs } from '../../src/log.js';

/** A fresh directory under the OS temp dir, removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'silt-log-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The two file systems the log runs on, for tests that must hold on both. */
export interface FileSystemUnderTest {
  readonly name: string;
  /** A file system and a log directory on it for one test. */
  make(t: TestContext): { vfs: Vfs; dir: string };
}

export const FILE_SYSTEMS: readonly FileSystemUnderTest[] = [
  { name: 'in-memory FaultVfs', make: () => ({ vfs: new FaultVfs(), dir: '/db/log' }) },
  { name: 'node:fs', make: (t) => ({ vfs: new NodeVfs(), dir: join(tempDir(t), 'log') }) },
];

export function openLog(vfs: Vfs, dir: string, options: IndexedLogOptions = {}): Promise<IndexedLog<string>> {
  return IndexedLog.open(dir, utf8Codec, { vfs, ...options });
}

/** Entry `i` of a test: distinct, and of varying length so records do not line up by accident. */
export function entry(i: number): string {
  return `entry-${i}-${'x'.repeat(i % 13)}`;
}

export function entries(from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(entry(i));
  return out;
}

/** Assert that `action` rejects (or throws) with a given `code`; returns the error. */
export async function rejectsWithCode(action: Promise<unknown> | (() => unknown), code: string): Promise<Error> {
  let caught: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof Error, `expected an error with code ${code}, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.equal((caught as { code?: unknown }).code, code, `expected code ${code}, got: ${(caught as Error).message}`);
  return caught;
}

/** Let the event loop run `turns` times (timers aside), so queued I/O callbacks progress. */
export async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}
