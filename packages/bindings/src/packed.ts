/** Packing many byte strings into one buffer plus offsets, the shape every batch call takes. */
import type { PackedBytes } from './accelerator.js';

export function packBytes(items: readonly Uint8Array[]): PackedBytes {
  let total = 0;
  for (const item of items) total += item.length;
  const data = new Uint8Array(total);
  const offsets = new Uint32Array(items.length + 1);
  let at = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    data.set(item, at);
    at += item.length;
    offsets[i + 1] = at;
  }
  return { data, offsets };
}

/** Views (not copies) of each item of a packed batch. */
export function unpackBytes(packed: PackedBytes): Uint8Array[] {
  const out: Uint8Array[] = [];
  const { data, offsets } = packed;
  for (let i = 0; i + 1 < offsets.length; i++) out.push(data.subarray(offsets[i]!, offsets[i + 1]!));
  return out;
}

export function packedCount(packed: PackedBytes): number {
  return Math.max(0, packed.offsets.length - 1);
}
