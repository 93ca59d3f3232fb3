/**
 * A real child process killed with SIGKILL mid-write (issue 4, Tests): the child
 * (helpers/crash-child.ts) writes batches and, after each acknowledgement, appends the batch's id
 * to an oracle file (fsynced). The parent kills it at a seeded random moment, reopens the database
 * and checks that the recovered state is exactly the state after some prefix of the issued
 * batches (so every batch is all-or-nothing and none follows a missing one), and — in `sync`
 * mode — that every acknowledged batch in the oracle is in that prefix. In `relaxed` mode
 * acknowledged writes may be lost, but not those a completed `db.sync()` covered.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { open, type Durability } from '../src/index.js';
import { CRASH_OPTIONS, batchKey, batchValue, crashBatch, stateAfter } from './helpers/crash-batches.js';
import { rng, strings, tempDir } from './db-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = dirname(here);
const childScript = join(here, 'helpers', 'crash-child.ts');

interface Oracle {
  readonly acknowledged: number[];
  /** The highest batch id a completed `db.sync()` covered (−1: none). */
  readonly synced: number;
}

function readOracle(path: string): Oracle {
  const acknowledged: number[] = [];
  let synced = -1;
  if (!existsSync(path)) return { acknowledged, synced };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    if (line.startsWith('S')) synced = Math.max(synced, Number(line.slice(1)));
    else acknowledged.push(Number(line));
  }
  return { acknowledged, synced };
}

/** Start the child, wait for `ready`, let it write for `delayMs`, SIGKILL it, wait for it to die. */
async function runAndKill(dir: string, oracle: string, durability: Durability, seed: number, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, dir, oracle, durability, String(seed)], {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<boolean>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('ready\n')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  if (!(await ready)) {
    const { code, signal } = await exited;
    assert.fail(`the child exited before it was ready (code ${code}, signal ${signal}): ${stderr}`);
  }
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  const aliveAtKill = child.exitCode === null && child.signalCode === null;
  child.kill('SIGKILL');
  const { signal } = await exited;
  assert.ok(aliveAtKill, `the child stopped on its own before the kill: ${stderr}`);
  assert.equal(signal, 'SIGKILL', stderr);
}

/**
 * Reopen and check the recovered state against the batches, then write batch `prefix` and reopen
 * once more; returns the prefix length (the number of batches recovered).
 */
async function checkRecovered(dir: string, durability: Durability, oracle: Oracle, label: string): Promise<number> {
  const db = await open(dir, { ...CRASH_OPTIONS, durability });
  try {
    const entries = strings(db.iterator());
    const last = entries.find(([k]) => k === 'last');
    const prefix = last === undefined ? 0 : Number(last[1]) + 1;
    assert.ok(Number.isSafeInteger(prefix) && prefix >= 0, `${label}: bad "last" ${String(last?.[1])}`);
    const expected = stateAfter(prefix);
    const cmp = (x: [string, string], y: [string, string]) => Buffer.compare(Buffer.from(x[0]), Buffer.from(y[0]));
    assert.deepEqual(entries, [...expected.entries()].sort(cmp), `${label}: the recovered state is not the state after batches [0, ${prefix})`);
    // Point reads agree with the scan, and the keys of the first missing batch are absent.
    for (const [k, v] of expected) assert.equal(new TextDecoder().decode(db.getSync(k)), v, `${label}: getSync ${k}`);
    for (const op of crashBatch(prefix)) if (op.type === 'put' && op.key !== 'last') assert.equal(db.getSync(op.key), undefined, `${label}: ${String(op.key)} of missing batch ${prefix}`);
    if (durability === 'sync') {
      const missing = oracle.acknowledged.filter((id) => id >= prefix);
      assert.deepEqual(missing, [], `${label}: acknowledged batches lost (recovered prefix ${prefix})`);
    } else {
      assert.ok(oracle.synced < prefix, `${label}: batch ${oracle.synced} was covered by a completed sync but the recovered prefix is ${prefix}`);
    }
    // The recovered database keeps working: one more batch, then a clean reopen.
    await db.batch(crashBatch(prefix));
    await db.close();
    const again = await open(dir, { ...CRASH_OPTIONS, durability });
    assert.equal(new TextDecoder().decode(again.getSync('last')), String(prefix), `${label}: write after recovery`);
    assert.equal(new TextDecoder().decode(again.getSync(batchKey(prefix, 0))), batchValue(prefix, 0), `${label}: write after recovery`);
    await again.close();
    return prefix;
  } finally {
    await db.close();
  }
}

describe('SIGKILL mid-write', { timeout: 300_000 }, () => {
  const rounds: { durability: Durability; seed: number }[] = [
    { durability: 'sync', seed: 0xc0ffee },
    { durability: 'sync', seed: 0x5eed02 },
    { durability: 'sync', seed: 0x5eed03 },
    { durability: 'relaxed', seed: 0x5eed04 },
  ];
  for (const { durability, seed } of rounds) {
    test(`${durability}: recovered state is a prefix with every acknowledged batch (seed ${seed.toString(16)})`, async (t) => {
      const dir = join(tempDir(t, 'silt-crash-'), 'db');
      const oraclePath = join(dirname(dir), 'oracle');
      const random = rng(seed);
      let previous = 0;
      // Two kills on the same database: the second child recovers what the first left (plus the
      // batch the check wrote) and writes on from there.
      for (let kill = 0; kill < 2; kill++) {
        const delayMs = 150 + Math.floor(random() * 450);
        await runAndKill(dir, oraclePath, durability, seed + kill, delayMs);
        const oracle = readOracle(oraclePath);
        const label = `${durability} seed ${seed.toString(16)} kill ${kill} after ${delayMs} ms`;
        if (durability === 'sync') assert.ok(oracle.acknowledged.length > 0, `${label}: the child acknowledged nothing`);
        const prefix = await checkRecovered(dir, durability, oracle, label);
        assert.ok(prefix >= previous, `${label}: prefix went back from ${previous} to ${prefix}`);
        previous = prefix + 1; // the check wrote batch `prefix` durably
      }
    });
  }
});
