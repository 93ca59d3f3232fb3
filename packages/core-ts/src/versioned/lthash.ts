/**
 * The LtHash state of a store (DESIGN §5): 1024 u16 lanes, mixed through the accelerator one
 * change set at a time (never one N-API call per key). The root hash is BLAKE3-256 of the lanes.
 */
import { packBytes, type Accelerator } from '@siltdb/bindings';

export const LT_HASH_BYTES = 2048;

export function emptyLanes(): Uint8Array {
  return new Uint8Array(LT_HASH_BYTES);
}

/** Pairs to mix out and in, gathered over a change set and mixed with two accelerator calls. */
export class LtHashDelta {
  readonly outKeys: Uint8Array[] = [];
  readonly outValues: Uint8Array[] = [];
  readonly inKeys: Uint8Array[] = [];
  readonly inValues: Uint8Array[] = [];

  remove(key: Uint8Array, value: Uint8Array): void {
    this.outKeys.push(key);
    this.outValues.push(value);
  }

  add(key: Uint8Array, value: Uint8Array): void {
    this.inKeys.push(key);
    this.inValues.push(value);
  }

  /** `lanes` with the delta applied (mixing commutes, so removals and additions may go in any order). */
  applyTo(accelerator: Accelerator, lanes: Uint8Array): Uint8Array {
    let out = lanes;
    if (this.outKeys.length > 0) out = accelerator.ltHashMix(out, packBytes(this.outKeys), packBytes(this.outValues), true);
    if (this.inKeys.length > 0) out = accelerator.ltHashMix(out, packBytes(this.inKeys), packBytes(this.inValues), false);
    return out === lanes ? lanes.slice() : out;
  }
}

export function rootHashOf(accelerator: Accelerator, lanes: Uint8Array): Uint8Array {
  return new Uint8Array(accelerator.blake3(lanes));
}

/** Pairs per accelerator call when hashing a whole database. */
const SCAN_BATCH = 4096;

/** The LtHash of every pair an iterator yields (a full scan: migration, and tests' recomputation). */
export function ltHashOfEntries(accelerator: Accelerator, entries: Iterable<readonly [Uint8Array, Uint8Array]>): Uint8Array {
  let lanes = emptyLanes();
  let delta = new LtHashDelta();
  for (const [key, value] of entries) {
    delta.add(key, value);
    if (delta.inKeys.length >= SCAN_BATCH) {
      lanes = delta.applyTo(accelerator, lanes);
      delta = new LtHashDelta();
    }
  }
  return delta.applyTo(accelerator, lanes);
}
