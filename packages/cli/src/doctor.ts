/**
 * `silt doctor`: what this machine runs SiltDB with — platform, Node version, which accelerator
 * was chosen and why (the native load error when there is one), and self-test timings of both
 * implementations.
 */
import { familySync } from './libc.js';
import {
  ErrorCodes,
  nativeModeFromEnv,
  runSelfTest,
  selectAccelerator,
  tsAccelerator,
  type AcceleratorSelection,
  type NativeMode,
  type SelfTestReport,
} from '@siltdb/bindings';

export interface DoctorReport {
  readonly platform: string;
  readonly arch: string;
  readonly libc: string | null;
  readonly node: string;
  readonly napiVersion: string | null;
  readonly mode: NativeMode;
  readonly kind: 'native' | 'ts' | null;
  readonly nativeError: { code: string | null; message: string } | null;
  readonly selfTests: { readonly native?: SelfTestReport; readonly ts: SelfTestReport };
  readonly ok: boolean;
}

function describeError(error: unknown): { code: string | null; message: string } {
  const e = error as { code?: unknown; message?: unknown; cause?: unknown };
  let message = String(e?.message ?? error);
  const cause = e?.cause as { message?: unknown } | undefined;
  if (cause?.message !== undefined && !message.includes(String(cause.message))) message += ` (cause: ${String(cause.message)})`;
  return { code: typeof e?.code === 'string' ? e.code : null, message };
}

export function doctor(env: NodeJS.ProcessEnv = process.env): DoctorReport {
  const mode = nativeModeFromEnv(env);
  let selection: AcceleratorSelection | null = null;
  let failure: unknown = null;
  try {
    selection = selectAccelerator(mode);
  } catch (error) {
    failure = error;
  }
  const nativeError = failure ?? selection?.nativeError ?? null;
  const selfTests: DoctorReport['selfTests'] = selection?.selfTest
    ? { native: selection.selfTest, ts: runSelfTest(tsAccelerator) }
    : { ts: runSelfTest(tsAccelerator) };
  return {
    platform: process.platform,
    arch: process.arch,
    libc: familySync(),
    node: process.version,
    napiVersion: process.versions.napi ?? null,
    mode,
    kind: selection?.kind ?? null,
    nativeError: nativeError === null ? null : describeError(nativeError),
    selfTests,
    ok: selection !== null && selfTests.ts.passed,
  };
}

function formatSelfTest(name: string, report: SelfTestReport): string[] {
  const lines = [`  ${name}: ${report.passed ? 'passed' : 'FAILED'} in ${report.totalMicros.toFixed(0)} µs`];
  for (const check of report.checks) {
    const status = check.passed ? 'ok  ' : 'FAIL';
    const detail = check.detail ? `  ${check.detail}` : '';
    lines.push(`    ${status} ${check.name.padEnd(8)} ${check.micros.toFixed(1).padStart(9)} µs${detail}`);
  }
  return lines;
}

export function formatDoctor(report: DoctorReport): string {
  const lines = [
    'SiltDB doctor',
    `  platform      ${report.platform}-${report.arch}${report.libc ? ` (${report.libc})` : ''}`,
    `  node          ${report.node} (N-API ${report.napiVersion ?? 'unknown'})`,
    `  SILTDB_NATIVE ${report.mode === 'auto' ? 'unset (native when it loads and passes its self-test)' : report.mode}`,
    `  accelerator   ${report.kind ?? 'none'}`,
  ];
  if (report.nativeError) {
    const code = report.nativeError.code ? `[${report.nativeError.code}] ` : '';
    lines.push(`  native error  ${code}${report.nativeError.message}`);
  } else if (report.mode === 'off') {
    lines.push('  native error  (not loaded: SILTDB_NATIVE=off)');
  }
  lines.push('self-tests');
  if (report.selfTests.native) lines.push(...formatSelfTest('native', report.selfTests.native));
  lines.push(...formatSelfTest('ts', report.selfTests.ts));
  if (!report.ok && report.nativeError?.code === ErrorCodes.NATIVE_UNAVAILABLE) {
    lines.push('SILTDB_NATIVE=require and the native accelerator is unavailable.');
  }
  return lines.join('\n');
}
