/**
 * A quick check of an accelerator on known vectors, run before the loader trusts the native module
 * (a binary built for the wrong CPU or from a stale source must not write files). The reference
 * outputs come from the TypeScript implementation, so a pass also proves the two agree byte for byte.
 */
import type { Accelerator } from './accelerator.js';
import { packBytes } from './packed.js';
import { tsAccelerator } from './ts/index.js';

export interface SelfTestCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly micros: number;
  readonly detail?: string;
}

export interface SelfTestReport {
  readonly passed: boolean;
  readonly checks: readonly SelfTestCheck[];
  readonly failures: readonly string[];
  readonly totalMicros: number;
}

const enc = new TextEncoder();

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function sampleText(): Uint8Array {
  let s = '';
  for (let i = 0; i < 200; i++) s += `{"id":${i},"name":"silt-${i % 7}","tags":["a","b"]}`;
  return enc.encode(s);
}

export function runSelfTest(candidate: Accelerator): SelfTestReport {
  const checks: SelfTestCheck[] = [];
  const check = (name: string, body: () => boolean | string): void => {
    const start = process.hrtime.bigint();
    let passed = false;
    let detail: string | undefined;
    try {
      const outcome = body();
      passed = outcome === true;
      if (typeof outcome === 'string') detail = outcome;
    } catch (error) {
      detail = (error as Error).message;
    }
    const micros = Number(process.hrtime.bigint() - start) / 1000;
    checks.push(detail === undefined ? { name, passed, micros } : { name, passed, micros, detail });
  };

  check('crc32c', () => {
    const got = candidate.crc32c(enc.encode('123456789'));
    return got === 0xe3069283 || `crc32c("123456789") = ${got.toString(16)}`;
  });
  const text = sampleText();
  check('lz4', () => {
    const packed = candidate.lz4Compress(text);
    if (!equalBytes(packed, tsAccelerator.lz4Compress(text))) return 'compressed bytes differ';
    return equalBytes(candidate.lz4Decompress(packed), text) || 'round trip differs';
  });
  const keys = packBytes([enc.encode('b'), enc.encode(''), enc.encode('\u{1F600}'), enc.encode('\uFF61'), enc.encode('b')]);
  check('frame', () => {
    const values = packBytes([text.subarray(0, 300), text.subarray(300, 900), new Uint8Array(0), text.subarray(5, 6), text]);
    const frame = candidate.encodeFrame(keys, values);
    if (!equalBytes(frame, tsAccelerator.encodeFrame(keys, values))) return 'frame bytes differ';
    const decoded = candidate.decodeFrame(frame);
    return equalBytes(Buffer.from(decoded.values.data), Buffer.from(values.data)) || 'decoded values differ';
  });
  check('sort', () => {
    const order = Array.from(candidate.sortKeys(keys)).join(',');
    return order === '1,0,4,3,2' || `permutation ${order}`;
  });
  check('sort-trailer', () => {
    // Internal keys (user part ‖ 8-byte trailer): "a" must sort before "a\0" whatever the trailers
    // hold, which plain byte order gets wrong. A binary that ignores `trailerBytes` fails here.
    const trailer = (fill: number) => new Uint8Array(8).fill(fill);
    const internal = packBytes([
      Uint8Array.of(0x61, 0x00, ...trailer(0x00)),
      Uint8Array.of(0x61, ...trailer(0xff)),
      Uint8Array.of(0x61, ...trailer(0x01)),
    ]);
    const order = Array.from(candidate.sortKeys(internal, { trailerBytes: 8 })).join(',');
    return order === '2,1,0' || `permutation ${order}`;
  });
  check('merge', () => {
    const newer = packBytes([enc.encode('a'), enc.encode('c')]);
    const older = packBytes([enc.encode('a'), enc.encode('b'), enc.encode('c'), enc.encode('d')]);
    const merged = candidate.mergeRuns([newer, older]);
    const got = Array.from(merged.run, (r, j) => `${r}:${merged.index[j]}`).join(',');
    return got === '0:0,1:1,0:1,1:3' || `merge ${got}`;
  });
  check('block', () => {
    const sorted = packBytes(['apple', 'applesauce', 'apply', 'banana'].map((k) => enc.encode(k)));
    const values = packBytes(['1', '22', '', '4444'].map((v) => enc.encode(v)));
    const entries = { keys: sorted, values, tags: Uint8Array.of(0, 1, 2, 0) };
    const block = candidate.encodeBlock(entries, { restartInterval: 2 });
    if (!equalBytes(block, tsAccelerator.encodeBlock(entries, { restartInterval: 2 }))) return 'block bytes differ';
    const back = candidate.decodeBlock(block);
    return (equalBytes(back.keys.data, sorted.data) && equalBytes(back.tags, entries.tags)) || 'decoded block differs';
  });
  check('lthash', () => {
    // Reference vector (shared/reference/seidb.md §4): the root hash of the set {key=value}.
    const lanes = candidate.ltHashMix(new Uint8Array(2048), packBytes([enc.encode('key')]), packBytes([enc.encode('value')]));
    const root = Buffer.from(candidate.blake3(lanes)).toString('hex');
    return root === 'b3437b8894c2310230f8da14288ce6d64339735ceb01c2cf98130670288f9ae6' || `lthash root ${root}`;
  });

  const failures = checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail ?? 'failed'}`);
  return {
    passed: failures.length === 0,
    checks,
    failures,
    totalMicros: checks.reduce((sum, c) => sum + c.micros, 0),
  };
}
