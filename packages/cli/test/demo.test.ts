import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, parseDemoArgs, type DemoReport } from '../src/index.js';
import { capture } from './capture-io.js';

const mode = process.env.SILTDB_NATIVE;

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'silt-demo-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('demo --keys 5000 --json reports consistent numbers and removes its temporary directory', async () => {
  const io = capture();
  const code = await main(['demo', '--keys', '5000', '--seconds', '0.5', '--json'], io, process.env);
  assert.equal(code, 0, io.stderr);
  assert.equal(io.stderr, '');
  const report = JSON.parse(io.stdout) as DemoReport;
  assert.equal(report.keys, 5000);
  assert.equal(report.loaded, 5000);
  assert.equal(report.keyBytes, 16);
  assert.equal(report.valueBytes, 100);
  assert.equal(report.kept, false);
  assert.equal(existsSync(report.dir), false, 'the temporary directory is removed');
  if (mode === 'off') assert.equal(report.accelerator, 'ts');
  if (mode === 'require') assert.equal(report.accelerator, 'native');

  const names = report.phases.map((p) => p.name);
  assert.deepEqual(names.slice(0, 6), ['load', 'overwrite', 'delete', 'read', 'scan', 'flush']);
  assert.ok(names.includes('compact'));
  const byName = new Map(report.phases.map((p) => [p.name, p]));
  assert.equal(byName.get('load')!.ops, 5000);
  assert.equal(byName.get('overwrite')!.ops, report.overwrites);
  assert.equal(byName.get('delete')!.ops, report.deletes);
  assert.equal(byName.get('read')!.ops, report.reads.ops);
  assert.equal(byName.get('scan')!.ops, report.scan.entries);
  for (const p of report.phases) {
    assert.equal(typeof p.seconds, 'number');
    assert.ok(p.seconds >= 0);
    if (p.ops === null) assert.equal(p.opsPerSec, null);
    else if (p.seconds > 0) assert.ok(Math.abs(p.opsPerSec! - p.ops / p.seconds) <= 1e-6 * p.opsPerSec!);
  }
  assert.equal(byName.get('flush')!.ops, null);

  // Reads and the scan found exactly what the model says.
  assert.ok(report.reads.ops > 0 && report.overwrites > 0 && report.deletes > 0);
  assert.equal(report.reads.found, report.reads.expectedFound);
  assert.equal(report.reads.found + report.reads.missing, report.reads.ops);
  assert.ok(report.reads.missing > 0, 'some reads miss (deleted or never-written keys)');
  assert.deepEqual([report.scan.from, report.scan.to], [0, 5000], 'with 5000 keys the scan covers all of them');
  assert.equal(report.scan.entries, report.scan.expected);
  assert.equal(report.scan.entries, report.liveKeys);
  assert.ok(report.liveKeys > 0 && report.liveKeys <= 5000);

  // Files and bytes.
  assert.ok(report.tableFiles > 0);
  assert.ok(report.tableBytes > 0);
  assert.ok(report.diskBytes >= report.tableBytes);
  assert.equal(report.levels.reduce((sum, l) => sum + l.files, 0), report.tableFiles);
  assert.equal(report.levels.reduce((sum, l) => sum + l.bytes, 0), report.tableBytes);
});

test('demo prints a table of phases, levels, disk bytes and the accelerator', async () => {
  const io = capture();
  const code = await main(['demo', '--keys=2000', '--seconds=0.2'], io, process.env);
  assert.equal(code, 0, io.stderr);
  assert.match(io.stdout, /^SiltDB demo: 2,000 keys/);
  for (const name of ['load', 'overwrite', 'delete', 'read', 'scan', 'flush', 'compact']) assert.match(io.stdout, new RegExp(`^  ${name}\\s`, 'm'));
  assert.match(io.stdout, /^ {2}phase\s+ops\s+seconds\s+ops\/s$/m);
  assert.match(io.stdout, /^ {2}load\s+2,000\s+\d+\.\d{3}\s+[\d,]+$/m);
  assert.match(io.stdout, /^ {2}L\d\s+\d+\s/m);
  assert.match(io.stdout, /disk bytes\s+[\d,]+ /);
  assert.match(io.stdout, /accelerator\s+(native|ts)/);
});

test('demo --dir keeps the database in a missing or empty directory and refuses a non-empty one', async (t) => {
  const base = scratch(t);
  const fresh = join(base, 'fresh');
  let io = capture();
  assert.equal(await main(['demo', '--keys', '1000', '--seconds', '0.1', '--dir', fresh, '--json'], io, process.env), 0, io.stderr);
  const report = JSON.parse(io.stdout) as DemoReport;
  assert.equal(report.kept, true);
  assert.equal(report.dir, fresh);
  assert.ok(readdirSync(fresh).length > 0, 'the database stays');

  // Now it is not empty: refused, and nothing in it changes.
  const before = readdirSync(fresh).sort();
  io = capture();
  assert.equal(await main(['demo', '--keys', '1000', '--dir', fresh], io, process.env), 1);
  assert.match(io.stderr, /^silt demo: \[DIR_NOT_EMPTY\] refusing to use .*not empty/);
  assert.equal(io.stdout, '');
  assert.deepEqual(readdirSync(fresh).sort(), before);

  const other = join(base, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'notes.txt'), 'mine');
  io = capture();
  assert.equal(await main(['demo', '--dir', other], io, process.env), 1);
  assert.match(io.stderr, /\[DIR_NOT_EMPTY\]/);
  assert.deepEqual(readdirSync(other), ['notes.txt']);

  const empty = join(base, 'empty');
  mkdirSync(empty);
  io = capture();
  assert.equal(await main(['demo', '--keys', '500', '--seconds', '0.1', '--dir', empty, '--json'], io, process.env), 0, io.stderr);
  assert.equal((JSON.parse(io.stdout) as DemoReport).loaded, 500);
});

test('demo with a file as --dir fails with a code', async (t) => {
  const file = join(scratch(t), 'a-file');
  writeFileSync(file, 'x');
  const io = capture();
  assert.equal(await main(['demo', '--dir', file], io, process.env), 1);
  assert.match(io.stderr, /^silt demo: \[E[A-Z]+\] /);
});

test('demo rejects bad arguments with exit 2 and a message', async () => {
  const cases: [string[], RegExp][] = [
    [['--keys'], /--keys needs a value/],
    [['--keys', 'abc'], /--keys must be a whole number/],
    [['--keys', '0'], /--keys must be between 1 and/],
    [['--keys', '-5'], /--keys must be a whole number/],
    [['--keys', '1.5'], /--keys must be a whole number/],
    [['--seconds', '0'], /--seconds must be above 0/],
    [['--seconds', 'soon'], /--seconds must be a number/],
    [['--dir'], /--dir needs a value/],
    [['--dir='], /--dir needs a non-empty path/],
    [['--json=yes'], /unknown option --json=yes/],
    [['--bogus'], /unknown option --bogus/],
    [['extra'], /unknown option extra/],
  ];
  for (const [args, message] of cases) {
    const io = capture();
    assert.equal(await main(['demo', ...args], io, process.env), 2, args.join(' '));
    assert.match(io.stderr, /^silt demo: /);
    assert.match(io.stderr, message);
    assert.match(io.stderr, /Usage: silt/);
    assert.equal(io.stdout, '');
  }
  assert.deepEqual(parseDemoArgs([]), { keys: 200_000, seconds: 4, dir: null, json: false });
  assert.deepEqual(parseDemoArgs(['--keys=7', '--seconds', '1.5', '--dir', 'x', '--json']), { keys: 7, seconds: 1.5, dir: 'x', json: true });
});
