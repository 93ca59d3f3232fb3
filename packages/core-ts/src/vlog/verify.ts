/**
 * `db.verifyLedger()`: recount what the ledger claims from a full scan. For every table of the
 * current version, the pointer entries are read and charged to their segments; each table's
 * manifest entry must match its own count, and each segment's `total − stale` must equal the sum
 * over the tables. Optionally every pointer is also resolved (frames read and checked).
 *
 * A retired segment (FORMAT §7) may have lost its file: every pointer into it that the tables
 * still hold must be shadowed — some newer entry of its key is in the tables — or a read would
 * reach a deleted segment. That check is what catches a rewrite or retirement that lost data.
 */
import { Kind, readTrailer } from '../keys/internal-key.js';
import type { Ledger, Version } from '../manifest/index.js';
import type { TableReader } from '../table/index.js';
import { decodePointer } from './pointer.js';
import type { ValueLog } from './value-log.js';

export interface LedgerSegmentCheck {
  readonly segment: number;
  readonly total: number;
  readonly stale: number;
  /** `total − stale` as the ledger says. */
  readonly live: number;
  /** Live bytes recounted from the tables. */
  readonly counted: number;
  /** The segment's file length (0 when missing). */
  readonly fileBytes: number;
}

export interface LedgerReport {
  readonly ok: boolean;
  readonly segments: readonly LedgerSegmentCheck[];
  /** Every disagreement found, in words. */
  readonly problems: readonly string[];
  readonly pointers: number;
  /** Pointers into retired segments (each checked to be shadowed). */
  readonly retiredPointers: number;
  readonly tables: number;
}

export interface VerifyLedgerOptions {
  /** Also read every pointed-to record and check it. Default false. */
  readonly readValues?: boolean;
}

export function verifyLedger(
  version: Version,
  ledger: Ledger,
  readerOf: (fileNumber: number) => TableReader,
  log: ValueLog | null,
  options: VerifyLedgerOptions = {},
): LedgerReport {
  const problems: string[] = [];
  const counted = new Map<number, number>();
  let pointers = 0;
  let tables = 0;
  // Each record is referenced by one entry at most: a rewrite's copy is a new record.
  const seen = new Set<string>();
  /** Per user key (hex), the newest seq of a pointer into a retired segment, and where it is. */
  const retired = new Map<string, { seq: number; segment: number; table: number }>();
  let retiredPointers = 0;
  for (const { table } of version.allTables()) {
    tables++;
    const entries = readerOf(table.fileNumber).readAllEntries();
    const own = new Map<number, number>();
    const { tags, values, keys } = entries;
    for (let i = 0; i < tags.length; i++) {
      if (tags[i] !== Kind.Pointer) continue;
      pointers++;
      const value = values.data.subarray(values.offsets[i]!, values.offsets[i + 1]!);
      const pointer = decodePointer(value);
      const id = `${pointer.segment}:${pointer.frameOffset}:${pointer.subIndex}`;
      if (seen.has(id)) problems.push(`table ${table.fileNumber}: record ${id} is referenced twice`);
      seen.add(id);
      own.set(pointer.segment, (own.get(pointer.segment) ?? 0) + pointer.recordBytes);
      const retiredAt = ledger.get(pointer.segment)?.retiredAt ?? 0;
      if (retiredAt > 0) {
        retiredPointers++;
        const end = keys.offsets[i + 1]!;
        const keyHex = Buffer.from(keys.data.buffer, keys.data.byteOffset + keys.offsets[i]!, end - 8 - keys.offsets[i]!).toString('hex');
        const seq = readTrailer(keys.data, end - 8);
        const known = retired.get(keyHex);
        if (known === undefined || known.seq < seq) retired.set(keyHex, { seq, segment: pointer.segment, table: table.fileNumber });
      }
      // A retired segment's file may be gone: its pointers are checked for being shadowed instead.
      if (options.readValues === true && !(retiredAt > 0 && log?.info(pointer.segment) === undefined)) {
        if (log === null) problems.push(`table ${table.fileNumber} holds pointers but there is no value log`);
        else {
          const key = keys.data.subarray(keys.offsets[i]!, keys.offsets[i + 1]! - 8);
          try {
            log.read(value, key);
          } catch (error) {
            problems.push(`table ${table.fileNumber}: pointer to segment ${pointer.segment} @${pointer.frameOffset}#${pointer.subIndex}: ${(error as Error).message}`);
          }
        }
      }
    }
    const recorded = new Map([...table.valueLogBytes].map(([id, bytes]) => [Number(id), bytes] as const));
    for (const segment of new Set([...own.keys(), ...recorded.keys()])) {
      if ((own.get(segment) ?? 0) !== (recorded.get(segment) ?? 0)) {
        problems.push(`table ${table.fileNumber} references ${own.get(segment) ?? 0} bytes of segment ${segment}; its manifest entry says ${recorded.get(segment) ?? 0}`);
      }
    }
    for (const [segment, bytes] of own) counted.set(segment, (counted.get(segment) ?? 0) + bytes);
  }
  if (retired.size > 0) checkShadowed(version, readerOf, retired, problems);
  const segments: LedgerSegmentCheck[] = [];
  for (const segment of [...new Set([...ledger.keys(), ...counted.keys()])].sort((a, b) => a - b)) {
    const entry = ledger.get(segment);
    const live = entry === undefined ? 0 : entry.total - entry.stale;
    const count = counted.get(segment) ?? 0;
    if (entry === undefined) problems.push(`tables reference ${count} bytes of segment ${segment}, which the ledger does not list`);
    else if (live !== count) problems.push(`segment ${segment}: the ledger says ${live} live bytes, the tables reference ${count}`);
    const fileBytes = log?.info(segment)?.length ?? 0;
    if (entry !== undefined && entry.retiredAt === 0 && log !== null && log.info(segment) === undefined && live > 0) problems.push(`segment ${segment} has live bytes but no file`);
    segments.push({ segment, total: entry?.total ?? 0, stale: entry?.stale ?? 0, live, counted: count, fileBytes });
  }
  return { ok: problems.length === 0, segments, problems, pointers, retiredPointers, tables };
}

/**
 * Every key holding a pointer into a retired segment must have a newer entry in the tables (a
 * second pass, only over those keys). The tables alone, not the memtables: what shadows a retired
 * pointer must survive a crash.
 */
function checkShadowed(
  version: Version,
  readerOf: (fileNumber: number) => TableReader,
  retired: ReadonlyMap<string, { seq: number; segment: number; table: number }>,
  problems: string[],
): void {
  const newest = new Map<string, number>();
  for (const { table } of version.allTables()) {
    const { keys } = readerOf(table.fileNumber).readAllEntries();
    for (let i = 0; i + 1 < keys.offsets.length; i++) {
      const end = keys.offsets[i + 1]!;
      const keyHex = Buffer.from(keys.data.buffer, keys.data.byteOffset + keys.offsets[i]!, end - 8 - keys.offsets[i]!).toString('hex');
      if (!retired.has(keyHex)) continue;
      const seq = readTrailer(keys.data, end - 8);
      if (seq > (newest.get(keyHex) ?? -1)) newest.set(keyHex, seq);
    }
  }
  for (const [keyHex, { seq, segment, table }] of retired) {
    if ((newest.get(keyHex) ?? -1) <= seq) {
      problems.push(`table ${table}: the newest entry of key ${keyHex} (seq ${seq}) points into retired segment ${segment}`);
    }
  }
}
