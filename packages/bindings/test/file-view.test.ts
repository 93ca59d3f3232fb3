import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accel, type FileView } from '../src/index.js';
import { randomBytes, throwsCode } from './helpers.js';

describe(`file views (${accel.kind})`, () => {
  let dir = '';
  const content = randomBytes(10_000, 21);
  const file = (name: string, bytes: Uint8Array = content): string => {
    const target = path.join(dir, name);
    fs.writeFileSync(target, bytes);
    return target;
  };
  const open: FileView[] = [];
  const track = (view: FileView): FileView => {
    open.push(view);
    return view;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siltdb-file-view-'));
  });
  after(() => {
    for (const view of open) view.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads copies of any range within the file', () => {
    const view = track(accel.openFileView(file('read.bin')));
    assert.equal(view.length, content.length);
    assert.equal(view.closed, false);
    assert.deepEqual(view.read(0, content.length), Buffer.from(content));
    assert.deepEqual(view.read(1234, 100), Buffer.from(content.subarray(1234, 1334)));
    assert.deepEqual(view.read(content.length - 1, 1), Buffer.from(content.subarray(-1)));
    assert.equal(view.read(content.length, 0).length, 0);
    const first = view.read(0, 16);
    assert.ok(Buffer.isBuffer(first));
    first.fill(0);
    assert.deepEqual(view.read(0, 16), Buffer.from(content.subarray(0, 16)));
  });

  it('readInto copies a range into caller memory at an offset, plain arrays and Buffers alike', () => {
    const view = track(accel.openFileView(file('read-into.bin')));
    const plain = new Uint8Array(120).fill(7);
    view.readInto(1234, 100, plain, 10);
    assert.deepEqual(plain.subarray(10, 110), content.subarray(1234, 1334));
    assert.ok(plain.subarray(0, 10).every((b) => b === 7) && plain.subarray(110).every((b) => b === 7), 'bytes outside the range untouched');
    const buffer = Buffer.alloc(content.length);
    view.readInto(0, content.length, buffer);
    assert.deepEqual(buffer, Buffer.from(content));
    // A view into a larger buffer: writes land at its own offset.
    const backing = new Uint8Array(64);
    view.readInto(9000, 16, backing.subarray(32, 48));
    assert.deepEqual(backing.subarray(32, 48), content.subarray(9000, 9016));
    assert.ok(backing.subarray(0, 32).every((b) => b === 0));
    view.readInto(content.length, 0, new Uint8Array(0));
  });

  it('readInto rejects targets that do not fit with INVALID_ARGUMENT and ranges past the view with OUT_OF_RANGE', () => {
    const view = track(accel.openFileView(file('read-into-bad.bin')));
    const target = new Uint8Array(16).fill(1);
    throwsCode(() => view.readInto(0, 17, target), 'INVALID_ARGUMENT', 'longer than the target');
    throwsCode(() => view.readInto(0, 8, target, 9), 'INVALID_ARGUMENT', 'past the end of the target');
    throwsCode(() => view.readInto(0, 8, target, -1), 'INVALID_ARGUMENT', 'negative target offset');
    throwsCode(() => view.readInto(0, 8, target, 1.5), 'INVALID_ARGUMENT', 'fractional target offset');
    throwsCode(() => view.readInto(0, 8, [1, 2, 3] as unknown as Uint8Array), 'INVALID_ARGUMENT', 'not a Uint8Array');
    throwsCode(() => view.readInto(content.length - 4, 8, target), 'OUT_OF_RANGE', 'straddling the end');
    throwsCode(() => view.readInto(-1, 8, target), 'INVALID_ARGUMENT', 'negative offset');
    assert.ok(target.every((b) => b === 1), 'nothing written on error');
    view.close();
    throwsCode(() => view.readInto(0, 8, target), 'CLOSED');
  });

  it('exposes exactly expectedLength bytes when the file is at least that long', () => {
    const target = file('expected.bin');
    const view = track(accel.openFileView(target, { expectedLength: 4000 }));
    assert.equal(view.length, 4000);
    assert.deepEqual(view.read(3990, 10), Buffer.from(content.subarray(3990, 4000)));
    throwsCode(() => view.read(3990, 11), 'OUT_OF_RANGE', 'past the expected length');
    const exact = track(accel.openFileView(target, { expectedLength: content.length }));
    assert.equal(exact.length, content.length);
    const none = track(accel.openFileView(target, { expectedLength: 0 }));
    assert.equal(none.length, 0);
  });

  it('fails with SHORT_FILE when the file is shorter than expectedLength', () => {
    throwsCode(() => accel.openFileView(file('short.bin'), { expectedLength: content.length + 1 }), 'SHORT_FILE');
    const empty = file('empty-short.bin', new Uint8Array(0));
    throwsCode(() => accel.openFileView(empty, { expectedLength: 1 }), 'SHORT_FILE');
  });

  it('throws OUT_OF_RANGE for reads past the view', () => {
    const view = track(accel.openFileView(file('range.bin')));
    throwsCode(() => view.read(content.length - 1, 2), 'OUT_OF_RANGE', 'straddling the end');
    throwsCode(() => view.read(content.length + 1, 0), 'OUT_OF_RANGE', 'empty read past the end');
    throwsCode(() => view.read(0, content.length + 1), 'OUT_OF_RANGE', 'longer than the view');
    throwsCode(() => view.read(2 ** 40, 1), 'OUT_OF_RANGE', 'far past the end');
  });

  it('keeps the length fixed at open when the file grows', () => {
    const target = file('grow.bin');
    const view = track(accel.openFileView(target));
    fs.appendFileSync(target, randomBytes(100, 3));
    assert.equal(view.length, content.length);
    throwsCode(() => view.read(content.length, 1), 'OUT_OF_RANGE');
  });

  it('throws SHORT_FILE for reads of bytes truncated away under the view', () => {
    const target = file('truncate.bin');
    const view = track(accel.openFileView(target));
    fs.truncateSync(target, 5000);
    assert.deepEqual(view.read(0, 5000), Buffer.from(content.subarray(0, 5000)));
    throwsCode(() => view.read(4990, 20), 'SHORT_FILE', 'straddling the new end');
    throwsCode(() => view.read(8000, 10), 'SHORT_FILE', 'entirely past the new end');
    assert.equal(view.length, content.length);
  });

  it('throws CLOSED after close, and close is idempotent', () => {
    const view = accel.openFileView(file('close.bin'));
    view.close();
    assert.equal(view.closed, true);
    throwsCode(() => view.read(0, 1), 'CLOSED');
    throwsCode(() => view.read(0, 0), 'CLOSED');
    view.close();
    assert.equal(view.closed, true);
  });

  it('opens an empty file as an empty view', () => {
    const view = track(accel.openFileView(file('empty.bin', new Uint8Array(0))));
    assert.equal(view.length, 0);
    assert.equal(view.read(0, 0).length, 0);
    throwsCode(() => view.read(0, 1), 'OUT_OF_RANGE');
  });

  it('reports a missing file or a directory as IO_ERROR with the cause', () => {
    let error: unknown;
    try {
      accel.openFileView(path.join(dir, 'missing.bin'));
    } catch (caught) {
      error = caught;
    }
    assert.equal((error as { code?: unknown }).code, 'IO_ERROR');
    assert.ok((error as Error).cause instanceof Error, 'the system error is kept as the cause');
    throwsCode(() => accel.openFileView(dir), 'IO_ERROR', 'directory');
  });

  it('rejects invalid arguments with INVALID_ARGUMENT', () => {
    const openView = accel.openFileView as (...args: unknown[]) => FileView;
    throwsCode(() => openView(42), 'INVALID_ARGUMENT', 'numeric path');
    throwsCode(() => openView(undefined), 'INVALID_ARGUMENT', 'no path');
    const target = file('args.bin');
    for (const expectedLength of [-1, 1.5, '10', Number.NaN]) {
      const context = `expectedLength ${String(expectedLength)}`;
      throwsCode(() => openView(target, { expectedLength }), 'INVALID_ARGUMENT', context);
    }
    const view = track(accel.openFileView(target));
    const read = view.read.bind(view) as (...args: unknown[]) => Buffer;
    for (const [offset, length] of [[-1, 1], [0, -1], [0.5, 1], [0, 1.5], ['0', 1], [0, undefined]]) {
      throwsCode(() => read(offset, length), 'INVALID_ARGUMENT', `read(${String(offset)}, ${String(length)})`);
    }
  });
});
