/**
 * The value-log debt ledger (DESIGN §4): per segment, the bytes tables ever referenced in it
 * (`total`), the part no table references any more (`stale`), and what maintenance needs to plan
 * (lane, age, rewrite attempts, cooldown, the trusted length). It is manifest state: every change
 * rides in the same version edit as the flush or compaction that caused it, so it is exact after
 * any crash. `live = total − stale` always equals the bytes the current version's tables reference
 * in the segment (`db.verifyLedger()` recounts it).
 *
 * A change names one segment. `addTotal` and `addStale` add to the counters (a snapshot edit
 * applies them to an empty ledger, so there they are the absolute values); the other fields set
 * their value. `drop` removes a segment whose live bytes are zero (GC deleted its file).
 *
 * `retired` marks a sealed segment whose every pointer in the tables is shadowed for reads at or
 * above a sequence number (a rewrite moved its live records and the swap reached a table): GC may
 * delete its file once no reader reads below that seq, while the entry stays — its live bytes are
 * the shadowed pointers the tables still hold, which compactions move to stale as they drop them.
 * A retired segment never gets a new pointer, so no edit may add to its `total` afterwards.
 */
import { checkCount, describeValue, freezeMap, type Failure } from './table-meta.js';

export interface LedgerEntry {
  readonly segment: number;
  readonly lane: number;
  readonly total: number;
  readonly stale: number;
  /** The segment's length known durable (a frame boundary): never truncated below. 0 = unknown. */
  readonly length: number;
  /** Complete at `length`: never appended to again. */
  readonly sealed: boolean;
  /** When the segment first appeared in the ledger (ms since the epoch). */
  readonly created: number;
  readonly attempts: number;
  /** No rewrite before this time (ms since the epoch); 0 = none. */
  readonly cooldownUntil: number;
  /**
   * 0, or the seq from which every pointer into the segment that the tables hold is shadowed:
   * reads at or above it never reach the segment, and its file may be gone.
   */
  readonly retiredAt: number;
}

export interface LedgerChange {
  readonly segment: number;
  /** Required when the segment is new to the ledger. */
  readonly lane?: number;
  readonly created?: number;
  readonly addTotal?: number;
  readonly addStale?: number;
  readonly length?: number;
  readonly sealed?: boolean;
  readonly attempts?: number;
  readonly cooldownUntil?: number;
  /** Retire the segment as of this seq (set once; the segment must be sealed). */
  readonly retiredAt?: number;
  readonly drop?: boolean;
}

export type Ledger = ReadonlyMap<number, LedgerEntry>;

export const EMPTY_LEDGER: Ledger = freezeMap(new Map());

const CHANGE_FIELDS = new Set(['segment', 'lane', 'created', 'addTotal', 'addStale', 'length', 'sealed', 'attempts', 'cooldownUntil', 'retiredAt', 'drop']);

/** Validate and freeze a list of ledger changes (each segment at most once). */
export function checkLedgerChanges(value: unknown, what: string, fail: Failure): readonly LedgerChange[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value)) throw fail(`${what} must be an array, got ${describeValue(value)}`);
  const seen = new Set<number>();
  return Object.freeze(
    value.map((item, i): LedgerChange => {
      const at = `${what}[${i}]`;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw fail(`${at} must be an object, got ${describeValue(item)}`);
      const raw = item as Record<string, unknown>;
      for (const key of Object.keys(raw)) if (!CHANGE_FIELDS.has(key) && raw[key] !== undefined) throw fail(`${at} has no field ${JSON.stringify(key)}`);
      const segment = checkCount(raw.segment, `${at}.segment`, fail, 1);
      if (seen.has(segment)) throw fail(`${what} names segment ${segment} twice`);
      seen.add(segment);
      const change: { -readonly [K in keyof LedgerChange]: LedgerChange[K] } = { segment };
      if (raw.lane !== undefined) {
        const lane = checkCount(raw.lane, `${at}.lane`, fail);
        if (lane > 255) throw fail(`${at}.lane must be at most 255, got ${lane}`);
        change.lane = lane;
      }
      for (const name of ['created', 'addTotal', 'addStale', 'length', 'attempts', 'cooldownUntil'] as const) {
        if (raw[name] !== undefined) change[name] = checkCount(raw[name], `${at}.${name}`, fail);
      }
      if (raw.retiredAt !== undefined) change.retiredAt = checkCount(raw.retiredAt, `${at}.retiredAt`, fail, 1);
      for (const name of ['sealed', 'drop'] as const) {
        if (raw[name] === undefined) continue;
        if (raw[name] !== true) throw fail(`${at}.${name} must be true when present, got ${describeValue(raw[name])}`);
        change[name] = true;
      }
      if (change.drop === true && Object.keys(change).length > 2) throw fail(`${at}: a drop changes nothing else`);
      return Object.freeze(change);
    }),
  );
}

/**
 * The ledger after `changes`; every inconsistency is a failure (`CORRUPTION` on replay): a new
 * segment without its lane, a lane that changes, stale above total, a length that shrinks, an
 * unsealed segment, or dropping a segment that still has live bytes or is unknown; retiring an
 * unsealed segment, retiring one again at another seq, or adding to a retired segment's total.
 */
export function applyLedgerChanges(ledger: Ledger, changes: readonly LedgerChange[], fail: Failure): Ledger {
  if (changes.length === 0) return ledger;
  const next = new Map(ledger);
  for (const change of changes) {
    const { segment } = change;
    const before = next.get(segment);
    if (change.drop === true) {
      if (before === undefined) throw fail(`a ledger change drops segment ${segment}, which the ledger does not hold`);
      if (before.total !== before.stale) throw fail(`a ledger change drops segment ${segment} with ${before.total - before.stale} live bytes`);
      next.delete(segment);
      continue;
    }
    if (before === undefined && (change.lane === undefined || change.created === undefined)) {
      throw fail(`a ledger change adds segment ${segment} without its lane and creation time`);
    }
    if (before !== undefined && change.lane !== undefined && change.lane !== before.lane) {
      throw fail(`a ledger change moves segment ${segment} from lane ${before.lane} to ${change.lane}`);
    }
    const total = (before?.total ?? 0) + (change.addTotal ?? 0);
    const stale = (before?.stale ?? 0) + (change.addStale ?? 0);
    if (!Number.isSafeInteger(total) || stale > total) throw fail(`segment ${segment} would have ${stale} stale of ${total} bytes`);
    const retiredBefore = before?.retiredAt ?? 0;
    if (retiredBefore > 0 && (change.addTotal ?? 0) > 0) throw fail(`a ledger change adds ${change.addTotal} bytes to segment ${segment}, which is retired`);
    if (change.retiredAt !== undefined && retiredBefore > 0 && change.retiredAt !== retiredBefore) {
      throw fail(`a ledger change retires segment ${segment} at seq ${change.retiredAt}; it is retired at ${retiredBefore}`);
    }
    const sealed = (before?.sealed ?? false) || change.sealed === true;
    if (change.retiredAt !== undefined && !sealed) throw fail(`a ledger change retires segment ${segment}, which is not sealed`);
    const length = change.length ?? before?.length ?? 0;
    if (length < (before?.length ?? 0)) throw fail(`a ledger change shrinks segment ${segment} from ${before!.length} to ${length} bytes`);
    const entry: LedgerEntry = Object.freeze({
      segment,
      lane: before?.lane ?? change.lane!,
      total,
      stale,
      length,
      sealed,
      created: before?.created ?? change.created!,
      attempts: change.attempts ?? before?.attempts ?? 0,
      cooldownUntil: change.cooldownUntil ?? before?.cooldownUntil ?? 0,
      retiredAt: change.retiredAt ?? retiredBefore,
    });
    next.set(segment, entry);
  }
  return freezeMap(next);
}

/** The whole ledger as the changes of a snapshot edit. */
export function ledgerSnapshot(ledger: Ledger): LedgerChange[] {
  return [...ledger.values()]
    .sort((a, b) => a.segment - b.segment)
    .map((e) => {
      const change: { -readonly [K in keyof LedgerChange]: LedgerChange[K] } = { segment: e.segment, lane: e.lane, created: e.created };
      if (e.total > 0) change.addTotal = e.total;
      if (e.stale > 0) change.addStale = e.stale;
      if (e.length > 0) change.length = e.length;
      if (e.sealed) change.sealed = true;
      if (e.attempts > 0) change.attempts = e.attempts;
      if (e.cooldownUntil > 0) change.cooldownUntil = e.cooldownUntil;
      if (e.retiredAt > 0) change.retiredAt = e.retiredAt;
      return change;
    });
}
