import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accel, ErrorCodes, VERSION } from '../src/index.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const expectedKind = process.env.SILTDB_NATIVE === 'off' ? 'ts' : process.env.SILTDB_NATIVE === 'require' ? 'native' : null;

test('the entry exposes the accelerator chosen by SILTDB_NATIVE', () => {
  if (expectedKind !== null) assert.equal(accel.kind, expectedKind);
  assert.equal(accel.crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(ErrorCodes.CORRUPTION, 'CORRUPTION');
  assert.match(VERSION, /^\d+\.\d+\.\d+/);
});

test('the built package loads from CommonJS and ESM with the same accelerator', () => {
  const probe = (accelExpr: string) => `process.stdout.write(JSON.stringify({ kind: ${accelExpr}.kind, crc: ${accelExpr}.crc32c(Buffer.from('abc')) }))`;
  const cjs = spawnSync(process.execPath, ['-e', `const s = require('siltdb'); ${probe('s.accel')}`], { cwd: packageDir, encoding: 'utf8' });
  assert.equal(cjs.status, 0, cjs.stderr);
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e', `import { accel } from 'siltdb'; ${probe('accel')}`], { cwd: packageDir, encoding: 'utf8' });
  assert.equal(esm.status, 0, esm.stderr);
  const fromCjs = JSON.parse(cjs.stdout) as { kind: string; crc: number };
  assert.deepEqual(JSON.parse(esm.stdout), fromCjs);
  assert.equal(fromCjs.crc, accel.crc32c(Buffer.from('abc')));
  if (expectedKind !== null) assert.equal(fromCjs.kind, expectedKind);
});
