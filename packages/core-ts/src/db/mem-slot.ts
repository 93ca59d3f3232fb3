/** A memtable with what the flush needs to know about it: where in the WAL its writes end. */
import type { Memtable } from '../memtable/index.js';

export class MemSlot {
  /** The WAL index after the last batch applied to the memtable (0 when it holds none). */
  walEnd = 0;
  constructor(readonly mem: Memtable) {}
}
