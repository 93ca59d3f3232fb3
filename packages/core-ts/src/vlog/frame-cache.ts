/**
 * Decoded frames by `(segment, frame offset)`, least recently used first out, bounded by the raw
 * bytes they hold. A read of one value decodes (and checks) a whole frame; neighbours in the same
 * frame are often read next (a scan, a batch written together), so the decoded frame is kept.
 */
import type { DecodedFrame } from '@siltdb/bindings';

export class FrameCache {
  private readonly frames = new Map<string, DecodedFrame>();
  private readonly bySegment = new Map<number, Set<string>>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly capacity: number) {}

  get(segment: number, offset: number): DecodedFrame | undefined {
    const key = `${segment}:${offset}`;
    const frame = this.frames.get(key);
    if (frame === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert: Map iteration order is insertion order, so the first key is the least recent.
    this.frames.delete(key);
    this.frames.set(key, frame);
    return frame;
  }

  /** Whether the frame is cached (no hit or miss counted, no reordering). */
  has(segment: number, offset: number): boolean {
    return this.frames.has(`${segment}:${offset}`);
  }

  set(segment: number, offset: number, frame: DecodedFrame): void {
    const size = frame.keys.data.length + frame.values.data.length;
    if (size > this.capacity) return;
    const key = `${segment}:${offset}`;
    const old = this.frames.get(key);
    if (old !== undefined) this.remove(key, old);
    this.frames.set(key, frame);
    let keys = this.bySegment.get(segment);
    if (keys === undefined) this.bySegment.set(segment, (keys = new Set()));
    keys.add(key);
    this.bytes += size;
    while (this.bytes > this.capacity) {
      const [oldestKey, oldest] = this.frames.entries().next().value as [string, DecodedFrame];
      this.remove(oldestKey, oldest);
    }
  }

  evictSegment(segment: number): void {
    const keys = this.bySegment.get(segment);
    if (keys === undefined) return;
    for (const key of [...keys]) this.remove(key, this.frames.get(key)!);
  }

  get size(): number {
    return this.bytes;
  }

  private remove(key: string, frame: DecodedFrame): void {
    this.frames.delete(key);
    this.bytes -= frame.keys.data.length + frame.values.data.length;
    const segment = Number(key.slice(0, key.indexOf(':')));
    const keys = this.bySegment.get(segment);
    keys?.delete(key);
    if (keys?.size === 0) this.bySegment.delete(segment);
  }
}
