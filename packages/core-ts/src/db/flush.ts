/** Writing a frozen memtable to an L0 table (docs/ENGINE.md, "Write path and WAL"). */
import type { Accelerator } from '@siltdb/bindings';
import type { Memtable } from '../memtable/index.js';
import { TableBuilder, type TableMeta } from '../table/index.js';
import type { Vfs } from '../vfs/types.js';
import { chargePointer } from '../vlog/ledger-glue.js';

export interface BuildTableOptions {
  readonly vfs: Vfs;
  readonly path: string;
  readonly fileNumber: number;
  readonly blockSize: number;
  readonly accelerator: Accelerator;
}

/**
 * Every entry of `mem` (all versions, in internal-key order) into a new table file, whose
 * properties count the value-log bytes its pointers reference per segment.
 */
export async function buildTableFromMemtable(mem: Memtable, options: BuildTableOptions): Promise<TableMeta> {
  const builder = await TableBuilder.create(options);
  try {
    const it = mem.iterator();
    const charges = new Map<number, number>();
    for (let ok = it.seekToFirst(); ok; ok = it.next()) {
      chargePointer(charges, it.kind, it.value);
      const wait = builder.add(it.key, it.kind, it.value);
      if (wait !== undefined) await wait;
    }
    return await builder.finish(charges);
  } catch (error) {
    await builder.abandon().catch(() => {});
    throw error;
  }
}
