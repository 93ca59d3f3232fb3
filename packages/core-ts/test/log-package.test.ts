/**
 * The built `siltdb/log` entry: it loads from CommonJS and from ESM, and a log written through one
 * reads back through the other (the dual build ships one implementation, not two diverging ones).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/log-fixtures.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function node(args: string[]): string {
  const run = spawnSync(process.execPath, args, { cwd: packageDir, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

test('siltdb/log loads from CommonJS and ESM, and each reads what the other wrote', (t) => {
  const dir = join(tempDir(t), 'log');
  const fromCjs = node([
    '-e',
    `const { IndexedLog, utf8Codec, ErrorCodes } = require('siltdb/log');
     (async () => {
       const log = await IndexedLog.open(${JSON.stringify(dir)}, utf8Codec);
       await log.appendMany(['from', 'cjs']);
       await log.close();
       process.stdout.write(ErrorCodes.LOCKED);
     })();`,
  ]);
  assert.equal(fromCjs, 'LOCKED');
  const fromEsm = node([
    '--input-type=module',
    '-e',
    `import { IndexedLog, utf8Codec } from 'siltdb/log';
     const log = await IndexedLog.open(${JSON.stringify(dir)}, utf8Codec);
     await log.append('esm');
     process.stdout.write(JSON.stringify(await log.readAll()));
     await log.close();`,
  ]);
  assert.deepEqual(JSON.parse(fromEsm), ['from', 'cjs', 'esm']);
});
