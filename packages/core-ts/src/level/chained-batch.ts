/**
 * `db.batch()` without arguments: operations collect (already encoded by abstract-level) in engine
 * form and `write()` applies them as one atomic engine batch.
 */
import { AbstractChainedBatch } from 'abstract-level';
import type { BatchOp, Db } from '../db/index.js';
import { translatedAsync } from './errors.js';
import { engineWriteOptions } from './write-options.js';

interface PrivateOperation {
  readonly type: 'put' | 'del';
  readonly key: string | Uint8Array;
  readonly value?: string | Uint8Array;
}

// abstract-level's typings omit the options argument that selects `_add` mode.
const BatchBase = AbstractChainedBatch as unknown as new (db: unknown, options: { add: boolean }) => AbstractChainedBatch<unknown, unknown, unknown>;

export class SiltChainedBatch extends BatchBase {
  readonly #engine: Db;
  #operations: BatchOp[] = [];

  /** @internal Made by `SiltLevel#_chainedBatch`. */
  constructor(db: unknown, engine: Db) {
    super(db, { add: true });
    this.#engine = engine;
  }

  _add(op: PrivateOperation): void {
    this.#operations.push(op.type === 'put' ? { type: 'put', key: op.key, value: op.value! } : { type: 'del', key: op.key });
  }

  _clear(): void {
    this.#operations = [];
  }

  async _write(options: Readonly<Record<string, unknown>>): Promise<void> {
    const operations = this.#operations;
    await translatedAsync('keys', () => this.#engine.batch(operations, engineWriteOptions(options)));
  }

  async _close(): Promise<void> {
    this.#operations = [];
  }
}
