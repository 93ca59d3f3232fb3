/**
 * Argument checks shared by every entry point. The accelerator is called from plain JavaScript as
 * well as TypeScript, so shapes are checked at run time; a bad argument becomes `INVALID_ARGUMENT`
 * before any work is done instead of a TypeError, a RangeError or silently wrong bytes later.
 */
import { types } from 'node:util';
import type { PackedBytes } from '../accelerator.js';
import { invalidArgument } from './fail.js';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/** `types.isUint8Array` rather than `instanceof`, so arrays from another realm (vm, worker) pass. */
export function requireBytes(value: unknown, name: string): Uint8Array {
  if (!types.isUint8Array(value)) {
    throw invalidArgument(`${name} must be a Uint8Array or Buffer, got ${describe(value)}`);
  }
  return value;
}

/**
 * Check a packed batch: a Uint8Array of data and a Uint32Array of `count + 1` non-decreasing
 * offsets ending within the data. Returns the item count. Later code indexes `data` through these
 * offsets without further checks, which is only safe because of this pass.
 */
export function requirePacked(value: unknown, name: string): number {
  if (typeof value !== 'object' || value === null) {
    throw invalidArgument(`${name} must be { data: Uint8Array, offsets: Uint32Array }, got ${describe(value)}`);
  }
  const { data, offsets } = value as Partial<PackedBytes>;
  if (!types.isUint8Array(data)) throw invalidArgument(`${name}.data must be a Uint8Array, got ${describe(data)}`);
  if (!types.isUint32Array(offsets)) {
    throw invalidArgument(`${name}.offsets must be a Uint32Array, got ${describe(offsets)}`);
  }
  if (offsets.length === 0) throw invalidArgument(`${name}.offsets must hold item count + 1 entries, got none`);
  let previous = offsets[0]!;
  for (let i = 1; i < offsets.length; i++) {
    const current = offsets[i]!;
    if (current < previous) {
      throw invalidArgument(`${name}.offsets must be non-decreasing: offsets[${i}] = ${current} < ${previous}`);
    }
    previous = current;
  }
  if (previous > data.length) {
    throw invalidArgument(`${name}.offsets end at ${previous}, past the ${data.length} bytes of ${name}.data`);
  }
  return offsets.length - 1;
}

/** `undefined` or an options object; returns an object either way so fields can be read. */
export function optionsObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`${name} must be an object or undefined, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function optionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function optionalInteger(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  return requireInteger(value, name, min, max);
}

export function requireInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** The largest `trailerBytes` of `sortKeys` and `mergeRuns`. */
export const MAX_TRAILER_BYTES = 255;

/** `options.trailerBytes` of `sortKeys` and `mergeRuns`: an integer 0..255, default 0. */
export function trailerBytesOption(options: unknown): number {
  return optionalInteger(optionsObject(options, 'options').trailerBytes, 'options.trailerBytes', 0, MAX_TRAILER_BYTES, 0);
}

/** Every item of a (validated) packed batch holds at least `trailerBytes` bytes. */
export function requireTrailers(packed: PackedBytes, trailerBytes: number, name: string): void {
  if (trailerBytes === 0) return;
  const offsets = packed.offsets;
  for (let i = 0; i + 1 < offsets.length; i++) {
    const length = offsets[i + 1]! - offsets[i]!;
    if (length < trailerBytes) {
      throw invalidArgument(`${name}[${i}] is ${length} bytes, shorter than the ${trailerBytes}-byte trailer`);
    }
  }
}
