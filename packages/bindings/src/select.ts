/**
 * Choosing the accelerator at load time. `SILTDB_NATIVE`:
 * - `off`: the TypeScript implementation, always;
 * - `require`: the native module or a `NATIVE_UNAVAILABLE` error (load failure or failed self-test);
 * - unset (or `auto`): native when it loads and passes its self-test, TypeScript otherwise.
 * The outcome, with the native load error and the self-test timings, is kept for `silt doctor`.
 */
import { createRequire } from 'node:module';
import type { Accelerator, AcceleratorKind } from './accelerator.js';
import { SiltError, ErrorCodes } from './errors.js';
import { createNativeAccelerator, type NativeBinding } from './native.js';
import { runSelfTest, type SelfTestReport } from './self-test.js';
import { tsAccelerator } from './ts/index.js';

export type NativeMode = 'off' | 'require' | 'auto';

export interface AcceleratorSelection {
  readonly accelerator: Accelerator;
  readonly kind: AcceleratorKind;
  readonly mode: NativeMode;
  /** Why native is not running, when it was wanted and is not. */
  readonly nativeError?: Error;
  /** The native self-test, when native loaded. */
  readonly selfTest?: SelfTestReport;
}

const requireFromHere = createRequire(import.meta.url);

export function nativeModeFromEnv(env: NodeJS.ProcessEnv = process.env): NativeMode {
  const raw = (env.SILTDB_NATIVE ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'auto') return 'auto';
  if (raw === 'off' || raw === 'require') return raw;
  throw new SiltError(
    ErrorCodes.INVALID_ARGUMENT,
    `SILTDB_NATIVE must be "off", "require" or unset, got ${JSON.stringify(env.SILTDB_NATIVE)}`,
  );
}

/** Load and self-test the native accelerator, without consulting the environment. */
export function loadNativeAccelerator(): { accelerator: Accelerator; selfTest: SelfTestReport } {
  let binding: NativeBinding;
  try {
    binding = requireFromHere('@siltdb/native') as NativeBinding;
  } catch (cause) {
    throw new SiltError(
      ErrorCodes.NATIVE_UNAVAILABLE,
      `the native accelerator @siltdb/native could not be loaded: ${(cause as Error).message}`,
      { cause },
    );
  }
  const accelerator = createNativeAccelerator(binding);
  const selfTest = runSelfTest(accelerator);
  if (!selfTest.passed) {
    throw new SiltError(
      ErrorCodes.NATIVE_UNAVAILABLE,
      `the native accelerator failed its self-test: ${selfTest.failures.join('; ')}`,
    );
  }
  return { accelerator, selfTest };
}

export function selectAccelerator(mode: NativeMode = nativeModeFromEnv()): AcceleratorSelection {
  if (mode === 'off') return { accelerator: tsAccelerator, kind: 'ts', mode };
  try {
    const { accelerator, selfTest } = loadNativeAccelerator();
    return { accelerator, kind: 'native', mode, selfTest };
  } catch (error) {
    if (mode === 'require') throw error;
    return { accelerator: tsAccelerator, kind: 'ts', mode, nativeError: error as Error };
  }
}

let cached: AcceleratorSelection | undefined;

/** The process-wide selection, made once on first use. */
export function acceleratorSelection(): AcceleratorSelection {
  cached ??= selectAccelerator();
  return cached;
}
