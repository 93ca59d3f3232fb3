/**
 * The writer of the SIGKILL tests (db-crash.test.ts), run as
 * `node --import tsx crash-child.ts <dir> <oracle> <durability> <seed>`:
 * opens the database, prints `ready`, then writes batches n, n + 1, … from the one after the
 * database's `last` (the content of batch `i` is
 * a pure function of `i`, see `crashBatch`) with a few in flight at a time, until it is killed.
 * After a batch's promise resolves it appends `<i>\n` to the oracle file and fsyncs it; in
 * `relaxed` mode, after an awaited `db.sync()` it appends `S<i>\n`, meaning every batch up to `i`
 * was acknowledged before that sync began.
 */
import { appendFileSync, closeSync, fsyncSync, openSync } from 'node:fs';
import { open, type Durability } from '../../src/index.js';
import { crashBatch, CRASH_OPTIONS } from './crash-batches.js';

const [dir, oraclePath, durabilityArg, seedArg] = process.argv.slice(2);
if (dir === undefined || oraclePath === undefined || durabilityArg === undefined || seedArg === undefined) {
  throw new Error('usage: crash-child.ts <dir> <oracle> <durability> <seed>');
}
const durability = durabilityArg as Durability;
const seed = Number(seedArg);

const oracleFd = openSync(oraclePath, 'a');
function record(line: string): void {
  appendFileSync(oracleFd, `${line}\n`);
  fsyncSync(oracleFd);
}

const db = await open(dir, { ...CRASH_OPTIONS, durability });
process.stdout.write('ready\n');

const IN_FLIGHT = 1 + (seed % 4);
// Resume after the last batch a previous (killed) child or the test wrote.
const last = db.getSync('last');
let next = last === undefined ? 0 : Number(new TextDecoder().decode(last)) + 1;
let acknowledged = next - 1; // every batch ≤ this one has resolved
const done = new Set<number>();

async function writer(): Promise<void> {
  for (;;) {
    const id = next++;
    await db.batch(crashBatch(id));
    record(String(id));
    done.add(id);
    while (done.has(acknowledged + 1)) done.delete(++acknowledged);
    if (durability === 'relaxed' && id % 25 === 24) {
      const upTo = acknowledged;
      await db.sync();
      record(`S${upTo}`);
    }
  }
}

await Promise.all(Array.from({ length: IN_FLIGHT }, () => writer())).finally(() => closeSync(oracleFd));
