/** The memtable: the engine's in-memory write buffer (docs/ENGINE.md, "Memtable"). */
export { Memtable, ENTRY_OVERHEAD_BYTES, memtableKeyHash, type MemtableEntry, type SeparatedValues, type MemtableOptions } from './memtable.js';
export { MemtableIterator, type MemtableIteratorEntry, type MemtableIteratorOptions } from './memtable-iterator.js';
