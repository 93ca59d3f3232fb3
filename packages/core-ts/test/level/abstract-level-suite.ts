/**
 * abstract-level's own compliance suite (`abstract-level/test`, driven by tape, wired as
 * classic-level wires it) against SiltLevel: every database the suite makes is a SiltLevel in a
 * fresh directory. Run once per accelerator (`SILTDB_NATIVE=require`, `=off`) by
 * scripts/test-all.mjs, which adds tape's `# pass` / `# fail` counts to the total.
 *
 *   SILTDB_NATIVE=off node --import tsx test/level/abstract-level-suite.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accel } from '@siltdb/bindings';
import suite from 'abstract-level/test';
import test from 'tape';
import { SiltLevel } from '../../src/level.js';

const root = mkdtempSync(join(tmpdir(), 'silt-level-suite-'));
let databases = 0;

test.onFinish(() => rmSync(root, { recursive: true, force: true }));
console.log(`# SiltLevel on the ${accel.kind} accelerator`);

suite({
  test,
  factory: (options) => new SiltLevel(join(root, `db-${databases++}`), options),
});
