/**
 * Maintenance telemetry as events (`db.on` / `db.off`, DESIGN §4): what `stats().maintenance`
 * sums up, one occurrence at a time, so an application can log or chart reclamation without
 * polling. Events are plain objects, delivered synchronously in the order things happen; a
 * listener that throws never disturbs maintenance (the error is counted in
 * `stats().maintenance.listenerErrors` and otherwise dropped).
 */
import { ErrorCodes, siltError } from '../errors.js';
import type { MaintenanceMode, MaintenanceReport } from './maintain.js';

/** Fields every event carries. */
interface EventBase {
  /** Wall-clock time of the event (ms since the epoch). */
  readonly at: number;
}

/** A maintenance pass began (`db.maintain`, or the background controller). */
export interface PassStartEvent extends EventBase {
  readonly type: 'pass-start';
  /** Counts passes since open; the matching `pass-end` carries the same number. */
  readonly pass: number;
  readonly mode: MaintenanceMode;
  readonly background: boolean;
  /** The rewrite queue the ledger implied when the pass began. */
  readonly queuedSegments: number;
  readonly queuedStaleBytes: number;
}

/** A maintenance pass ended (also when it failed: `error` is then its message). */
export interface PassEndEvent extends EventBase {
  readonly type: 'pass-end';
  readonly pass: number;
  readonly mode: MaintenanceMode;
  readonly background: boolean;
  readonly rewrittenSegments: number;
  readonly copiedBytes: number;
  readonly deletedSegments: number;
  /** File bytes the pass's GC deleted. */
  readonly reclaimedBytes: number;
  readonly stoppedBy: MaintenanceReport['stoppedBy'] | 'error';
  readonly elapsedMs: number;
  readonly error: string | null;
}

/** One segment's live records were copied to the cold lane and their pointers swapped. */
export interface SegmentRewrittenEvent extends EventBase {
  readonly type: 'segment-rewritten';
  readonly pass: number;
  readonly segment: number;
  readonly copiedRecords: number;
  readonly copiedBytes: number;
  /** Records whose pointer now names the copy (the rest lost to a newer write). */
  readonly swapped: number;
  readonly elapsedMs: number;
}

/**
 * A rewritten segment was retired (FORMAT §7): its swaps are in a table, every pointer into it is
 * shadowed from `seq` on, and GC deletes its file once no older reader holds it.
 */
export interface SegmentRetiredEvent extends EventBase {
  readonly type: 'segment-retired';
  readonly segment: number;
  readonly seq: number;
}

/** GC deleted a segment file (its ledger entry was dropped first, or stays retired while tables reference it). */
export interface SegmentDeletedEvent extends EventBase {
  readonly type: 'segment-deleted';
  readonly segment: number;
  readonly lane: number;
  /** The file's bytes. */
  readonly bytes: number;
}

/** The background controller waits before its next pass: it reclaimed nothing, or failed. */
export interface BackoffEvent extends EventBase {
  readonly type: 'backoff';
  readonly delayMs: number;
  readonly reason: 'nothing-reclaimed' | 'error';
  readonly error: string | null;
}

export interface MaintenanceEventMap {
  'pass-start': PassStartEvent;
  'pass-end': PassEndEvent;
  'segment-rewritten': SegmentRewrittenEvent;
  'segment-retired': SegmentRetiredEvent;
  'segment-deleted': SegmentDeletedEvent;
  backoff: BackoffEvent;
}

export type MaintenanceEventType = keyof MaintenanceEventMap;
export type MaintenanceEvent = MaintenanceEventMap[MaintenanceEventType];
export type MaintenanceListener<K extends MaintenanceEventType> = (event: MaintenanceEventMap[K]) => void;

const EVENT_TYPES: ReadonlySet<string> = new Set<MaintenanceEventType>(['pass-start', 'pass-end', 'segment-rewritten', 'segment-retired', 'segment-deleted', 'backoff']);

/** An event without the fields the emitter fills in. */
export type EventInput<K extends MaintenanceEventType> = Omit<MaintenanceEventMap[K], 'type' | 'at'>;

export class MaintenanceEvents {
  private readonly listeners = new Map<MaintenanceEventType, Set<(event: never) => void>>();
  /** Exceptions listeners threw (swallowed: telemetry never breaks maintenance). */
  listenerErrors = 0;

  on<K extends MaintenanceEventType>(type: K, listener: MaintenanceListener<K>): () => void {
    checkType(type);
    if (typeof listener !== 'function') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the listener must be a function');
    let set = this.listeners.get(type);
    if (set === undefined) this.listeners.set(type, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => void this.off(type, listener);
  }

  /** Remove a listener; returns whether it was registered. */
  off<K extends MaintenanceEventType>(type: K, listener: MaintenanceListener<K>): boolean {
    checkType(type);
    return this.listeners.get(type)?.delete(listener as (event: never) => void) ?? false;
  }

  /** Whether anyone listens (callers skip building events nobody receives). */
  has(type: MaintenanceEventType): boolean {
    return (this.listeners.get(type)?.size ?? 0) > 0;
  }

  emit<K extends MaintenanceEventType>(type: K, fields: EventInput<K>): void {
    const set = this.listeners.get(type);
    if (set === undefined || set.size === 0) return;
    const event = Object.freeze({ type, at: Date.now(), ...fields }) as unknown as MaintenanceEventMap[K];
    for (const listener of [...set]) {
      try {
        (listener as MaintenanceListener<K>)(event);
      } catch {
        this.listenerErrors++;
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}

function checkType(type: unknown): asserts type is MaintenanceEventType {
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, `unknown maintenance event ${String(type)}: expected one of ${[...EVENT_TYPES].join(', ')}`);
  }
}
