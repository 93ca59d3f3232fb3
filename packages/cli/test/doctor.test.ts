import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/index.js';
import { capture } from './capture-io.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.env.SILTDB_NATIVE;

test('doctor --json reports platform, node, accelerator and passing self-tests', async () => {
  const io = capture();
  const code = await main(['doctor', '--json'], io, process.env);
  assert.equal(code, 0, io.stderr);
  const report = JSON.parse(io.stdout);
  assert.equal(report.platform, process.platform);
  assert.equal(report.arch, process.arch);
  assert.equal(report.node, process.version);
  assert.equal(report.ok, true);
  assert.equal(report.selfTests.ts.passed, true);
  assert.ok(report.selfTests.ts.checks.length >= 6);
  for (const check of report.selfTests.ts.checks) assert.equal(typeof check.micros, 'number');
  if (mode === 'off') {
    assert.equal(report.kind, 'ts');
    assert.equal(report.mode, 'off');
    assert.equal(report.selfTests.native, undefined);
  }
  if (mode === 'require') {
    assert.equal(report.kind, 'native');
    assert.equal(report.nativeError, null);
    assert.equal(report.selfTests.native.passed, true);
  }
});

test('doctor explains a native module that cannot load, and require mode fails', () => {
  // A library path that does not exist makes the napi-rs loader fail the way a missing binary
  // does. The loader reads it from the process environment, hence a child process.
  const broken = { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: join(packageDir, 'no-such-binary.node') };
  const silt = (args: string[], mode: string) =>
    spawnSync(process.execPath, ['dist/silt.js', ...args], { cwd: packageDir, env: { ...broken, SILTDB_NATIVE: mode }, encoding: 'utf8' });

  const auto = silt(['doctor', '--json'], '');
  assert.equal(auto.status, 0, auto.stderr);
  const report = JSON.parse(auto.stdout);
  assert.equal(report.mode, 'auto');
  assert.equal(report.kind, 'ts');
  assert.equal(report.nativeError.code, 'NATIVE_UNAVAILABLE');
  assert.match(report.nativeError.message, /could not be loaded/);
  assert.equal(report.selfTests.native, undefined);

  const required = silt(['doctor'], 'require');
  assert.equal(required.status, 1);
  assert.match(required.stdout, /accelerator\s+none/);
  assert.match(required.stdout, /native error\s+\[NATIVE_UNAVAILABLE\]/);
});

test('the silt binary prints the doctor report and rejects unknown input', () => {
  const run = (args: string[]) => spawnSync(process.execPath, ['dist/silt.js', ...args], { cwd: packageDir, encoding: 'utf8' });
  const ok = run(['doctor']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^SiltDB doctor/);
  assert.match(ok.stdout, /accelerator\s+(native|ts)/);
  assert.match(ok.stdout, /crc32c/);
  assert.equal(run(['doctor', '--bogus']).status, 2);
  const unknown = run(['frobnicate']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command/);
  assert.equal(run(['help']).status, 0);
});

test('an invalid SILTDB_NATIVE value is an INVALID_ARGUMENT error', async () => {
  await assert.rejects(main(['doctor'], capture(), { ...process.env, SILTDB_NATIVE: 'sometimes' }), { code: 'INVALID_ARGUMENT' });
});
