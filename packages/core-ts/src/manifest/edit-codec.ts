/**
 * Version edits as bytes: UTF-8 JSON, one edit per manifest log entry (docs/FORMAT.md §7). JSON
 * keeps the manifest readable with standard tools and lets fields be added compatibly; the log
 * record around it carries the length and the CRC32C.
 *
 * Compatibility rules, fixed now so that later issues (the value log) can extend the edit:
 * - `v` is the format version of the edit; this reader understands 1 and refuses anything else.
 * - A field this reader does not know is refused (`CORRUPTION`) unless its name starts with `_`:
 *   a writer marks a field it is safe to ignore that way. Ignoring a field that carries state (a
 *   value-log segment added, say) would silently lose it at the next manifest rewrite.
 * - Fields are omitted when they carry nothing (no removals, an empty value-log map, an unchanged
 *   counter), so old edits stay valid when new optional fields appear.
 */
import type { LedgerChange } from './ledger.js';
import { describeValue, corruptInput, invalidInput, type TableMeta } from './table-meta.js';
import { checkEdit, type CheckedEdit, type VersionEdit } from './version-edit.js';

export const EDIT_FORMAT_VERSION = 1;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

interface WireTable {
  level: number;
  file: number;
  size: number;
  smallest: string;
  largest: string;
  minSeq: number;
  maxSeq: number;
  entries: number;
  vlog?: Record<string, number>;
}

/** Field order is the order `JSON.stringify` writes them in: removals first, as they apply. */
interface WireEdit {
  v: number;
  snapshot?: true;
  remove?: { level: number; file: number }[];
  add?: WireTable[];
  nextFile?: number;
  lastSeq?: number;
  walFlushed?: number;
  vlog?: WireLedgerChange[];
}

/** A ledger change on the wire (FORMAT §7): short names, absent fields omitted. */
interface WireLedgerChange {
  seg: number;
  lane?: number;
  created?: number;
  total?: number;
  stale?: number;
  len?: number;
  sealed?: true;
  attempts?: number;
  cooldown?: number;
  retired?: number;
  drop?: true;
}

/** Encode an edit (validated first: `INVALID_ARGUMENT` for a malformed one, nothing encoded). */
export function encodeEdit(edit: VersionEdit | CheckedEdit): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(toWire(checkEdit(edit, invalidInput))));
}

/** Decode an edit; anything malformed is `CORRUPTION`. */
export function decodeEdit(bytes: Uint8Array): CheckedEdit {
  let wire: unknown;
  try {
    wire = JSON.parse(utf8Decoder.decode(bytes));
  } catch (error) {
    throw corruptInput(`a manifest edit is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  return checkEdit(fromWire(wire), corruptInput);
}

function toWire(edit: CheckedEdit): WireEdit {
  const wire: WireEdit = { v: EDIT_FORMAT_VERSION };
  if (edit.snapshot) wire.snapshot = true;
  if (edit.removed.length > 0) wire.remove = edit.removed.map(({ level, fileNumber }) => ({ level, file: fileNumber }));
  if (edit.added.length > 0) wire.add = edit.added.map(({ level, table }) => tableToWire(level, table));
  if (edit.nextFileNumber !== undefined) wire.nextFile = edit.nextFileNumber;
  if (edit.lastSeq !== undefined) wire.lastSeq = edit.lastSeq;
  if (edit.walFlushedIndex !== undefined) wire.walFlushed = edit.walFlushedIndex;
  if (edit.valueLog.length > 0) wire.vlog = edit.valueLog.map(ledgerChangeToWire);
  return wire;
}

function ledgerChangeToWire(c: LedgerChange): WireLedgerChange {
  const wire: WireLedgerChange = { seg: c.segment };
  if (c.lane !== undefined) wire.lane = c.lane;
  if (c.created !== undefined) wire.created = c.created;
  if (c.addTotal !== undefined) wire.total = c.addTotal;
  if (c.addStale !== undefined) wire.stale = c.addStale;
  if (c.length !== undefined) wire.len = c.length;
  if (c.sealed === true) wire.sealed = true;
  if (c.attempts !== undefined) wire.attempts = c.attempts;
  if (c.cooldownUntil !== undefined) wire.cooldown = c.cooldownUntil;
  if (c.retiredAt !== undefined) wire.retired = c.retiredAt;
  if (c.drop === true) wire.drop = true;
  return wire;
}

function tableToWire(level: number, table: TableMeta): WireTable {
  const wire: WireTable = {
    level,
    file: table.fileNumber,
    size: table.size,
    smallest: toHex(table.smallest),
    largest: toHex(table.largest),
    minSeq: table.minSeq,
    maxSeq: table.maxSeq,
    entries: table.entries,
  };
  if (table.valueLogBytes.size > 0) wire.vlog = Object.fromEntries(table.valueLogBytes);
  return wire;
}

const TOP_FIELDS = ['v', 'snapshot', 'add', 'remove', 'nextFile', 'lastSeq', 'walFlushed', 'vlog'];
const LEDGER_FIELDS = ['seg', 'lane', 'created', 'total', 'stale', 'len', 'sealed', 'attempts', 'cooldown', 'retired', 'drop'];
const TABLE_FIELDS = ['level', 'file', 'size', 'smallest', 'largest', 'minSeq', 'maxSeq', 'entries', 'vlog'];
const REMOVE_FIELDS = ['level', 'file'];

/** The wire object as a `VersionEdit`-shaped value; `checkEdit` validates the values themselves. */
function fromWire(value: unknown): unknown {
  const wire = wireObject(value, 'the edit', TOP_FIELDS);
  if (wire.v !== EDIT_FORMAT_VERSION) throw corruptInput(`a manifest edit has format version ${describeValue(wire.v)}; this reader knows ${EDIT_FORMAT_VERSION}`);
  if (wire.snapshot !== undefined && wire.snapshot !== true) throw corruptInput(`"snapshot" must be true when present, got ${describeValue(wire.snapshot)}`);
  return {
    snapshot: wire.snapshot,
    added: wireList(wire.add, 'add')?.map((item, i) => {
      const table = wireObject(item, `add[${i}]`, TABLE_FIELDS);
      return {
        level: table.level,
        table: {
          fileNumber: table.file,
          size: table.size,
          smallest: fromHex(table.smallest, `add[${i}].smallest`),
          largest: fromHex(table.largest, `add[${i}].largest`),
          minSeq: table.minSeq,
          maxSeq: table.maxSeq,
          entries: table.entries,
          valueLogBytes: new Map(Object.entries(table.vlog === undefined ? {} : wireObject(table.vlog, `add[${i}].vlog`, null))),
        },
      };
    }),
    removed: wireList(wire.remove, 'remove')?.map((item, i) => {
      const removal = wireObject(item, `remove[${i}]`, REMOVE_FIELDS);
      return { level: removal.level, fileNumber: removal.file };
    }),
    nextFileNumber: wire.nextFile,
    lastSeq: wire.lastSeq,
    walFlushedIndex: wire.walFlushed,
    valueLog: wireList(wire.vlog, 'vlog')?.map((item, i) => {
      const c = wireObject(item, `vlog[${i}]`, LEDGER_FIELDS);
      return {
        segment: c.seg,
        lane: c.lane,
        created: c.created,
        addTotal: c.total,
        addStale: c.stale,
        length: c.len,
        sealed: c.sealed,
        attempts: c.attempts,
        cooldownUntil: c.cooldown,
        retiredAt: c.retired,
        drop: c.drop,
      };
    }),
  };
}

/** A plain JSON object whose fields are all `known` (or start with `_`); `known` null allows any. */
function wireObject(value: unknown, what: string, known: readonly string[] | null): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw corruptInput(`${what} in a manifest edit must be an object, got ${describeValue(value)}`);
  const object = value as Record<string, unknown>;
  if (known !== null) {
    for (const key of Object.keys(object)) {
      if (!key.startsWith('_') && !known.includes(key)) throw corruptInput(`${what} in a manifest edit has a field this reader does not know: ${JSON.stringify(key)}`);
    }
  }
  return object;
}

function wireList(value: unknown, what: string): unknown[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw corruptInput(`"${what}" in a manifest edit must be an array, got ${describeValue(value)}`);
  return value;
}

const HEX = /^(?:[0-9a-f]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

function fromHex(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || !HEX.test(value)) throw corruptInput(`${what} in a manifest edit must be lowercase hex, got ${describeValue(value)}`);
  const buffer = Buffer.from(value, 'hex');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}
