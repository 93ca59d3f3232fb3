/** Shared pieces of the database tests. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Db } from '../src/index.js';

export function tempDir(t: TestContext, prefix = 'silt-db-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

export const b = (s: string): Uint8Array => utf8.encode(s);
export const s = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : text.decode(bytes));

export function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.equal((error as { code?: string }).code, code, String(error));
    return true;
  });
}

export async function rejectsCode(fn: () => Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.equal((error as { code?: string }).code, code, String(error));
    return true;
  });
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The model's view of a range, as [key, value] strings. */
export function modelRange(
  model: Map<string, string>,
  o: { gt?: string; gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number },
): [string, string][] {
  const cmp = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));
  let entries = [...model.entries()].sort((x, y) => cmp(x[0], y[0]));
  entries = entries.filter(
    ([k]) =>
      (o.gt === undefined || cmp(k, o.gt) > 0) &&
      (o.gte === undefined || cmp(k, o.gte) >= 0) &&
      (o.lt === undefined || cmp(k, o.lt) < 0) &&
      (o.lte === undefined || cmp(k, o.lte) <= 0),
  );
  if (o.reverse === true) entries.reverse();
  if (o.limit !== undefined && o.limit >= 0) entries = entries.slice(0, o.limit);
  return entries;
}

export function strings(entries: Iterable<[Uint8Array, Uint8Array]>): [string, string][] {
  return [...entries].map(([k, v]) => [s(k)!, s(v)!]);
}

/** `words` 32-bit xorshift steps from `seed` as hex: cheap incompressible-looking test values. */
export function noiseHex(seed: number, words: number): string {
  let x = seed;
  let out = '';
  for (let j = 0; j < words; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += (x >>> 0).toString(16).padStart(8, '0');
  }
  return out;
}

/** The database holds exactly `model` (a full iteration) and its ledger agrees with a recount. */
export function checkModelAndLedger(db: Db, model: Map<string, string>): void {
  assert.deepEqual(new Map(strings(db.iterator())), model);
  const report = db.verifyLedger({ readValues: true });
  assert.ok(report.ok, report.problems.join('; '));
}
