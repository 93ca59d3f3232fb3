/**
 * BLAKE3 (plain hash mode, extendable output), written from the BLAKE3 specification for the
 * TypeScript accelerator's LtHash. Input is split into 1024-byte chunks of sixteen 64-byte blocks;
 * each chunk is compressed into a chaining value, chaining values are merged pairwise into a binary
 * tree by parent nodes, and the root node's compression, run again with an incrementing output
 * counter, yields as many output bytes as asked for.
 *
 * The hasher keeps the stack of pending subtree chaining values: after the n-th chunk completes,
 * it merges as many subtrees as n has trailing zero bits, which builds the left-complete tree the
 * specification defines without knowing the input length in advance. A chunk is only finished
 * once more input arrives, because the last chunk (or the root parent) gets the ROOT flag.
 */

const IV = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);

const CHUNK_START = 1;
const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;

const BLOCK_BYTES = 64;
const CHUNK_BYTES = 1024;
const ROUNDS = 7;

/** The message word order of each round: the spec's permutation applied round times. */
const SCHEDULE: Uint8Array = (() => {
  const permutation = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
  const table = new Uint8Array(ROUNDS * 16);
  let order = Array.from({ length: 16 }, (_, i) => i);
  for (let round = 0; round < ROUNDS; round++) {
    table.set(order, round * 16);
    order = permutation.map((p) => order[p]!);
  }
  return table;
})();

const state = new Uint32Array(16);

function g(m: Uint32Array, a: number, b: number, c: number, d: number, x: number, y: number): void {
  const v = state;
  v[a] = (v[a]! + v[b]! + m[x]!) | 0;
  let t = v[d]! ^ v[a]!;
  v[d] = (t >>> 16) | (t << 16);
  v[c] = (v[c]! + v[d]!) | 0;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 12) | (t << 20);
  v[a] = (v[a]! + v[b]! + m[y]!) | 0;
  t = v[d]! ^ v[a]!;
  v[d] = (t >>> 8) | (t << 24);
  v[c] = (v[c]! + v[d]!) | 0;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 7) | (t << 25);
}

const scheduled = new Uint32Array(16);

/**
 * The compression function: leaves its 16-word output in the module's `state` (the first eight
 * words are the new chaining value; all sixteen are extendable output).
 */
function compress(cv: Uint32Array, block: Uint32Array, counter: number, blockLen: number, flags: number): Uint32Array {
  const v = state;
  v.set(cv, 0);
  v[8] = IV[0]!;
  v[9] = IV[1]!;
  v[10] = IV[2]!;
  v[11] = IV[3]!;
  // The counter is a u64: low and high words (the output counter or chunk index, < 2^53 here).
  v[12] = counter >>> 0;
  v[13] = Math.floor(counter / 0x100000000) >>> 0;
  v[14] = blockLen;
  v[15] = flags;
  const m = scheduled;
  for (let round = 0; round < ROUNDS; round++) {
    const base = round * 16;
    for (let i = 0; i < 16; i++) m[i] = block[SCHEDULE[base + i]!]!;
    g(m, 0, 4, 8, 12, 0, 1);
    g(m, 1, 5, 9, 13, 2, 3);
    g(m, 2, 6, 10, 14, 4, 5);
    g(m, 3, 7, 11, 15, 6, 7);
    g(m, 0, 5, 10, 15, 8, 9);
    g(m, 1, 6, 11, 12, 10, 11);
    g(m, 2, 7, 8, 13, 12, 13);
    g(m, 3, 4, 9, 14, 14, 15);
  }
  for (let i = 0; i < 8; i++) {
    v[i] = v[i]! ^ v[i + 8]!;
    v[i + 8] = v[i + 8]! ^ cv[i]!;
  }
  return v;
}

function wordsOf(bytes: Uint8Array, words: Uint32Array): void {
  for (let i = 0; i < 16; i++) {
    const j = i * 4;
    words[i] = (bytes[j]! | (bytes[j + 1]! << 8) | (bytes[j + 2]! << 16) | (bytes[j + 3]! << 24)) >>> 0;
  }
}

/** What is needed to produce a node's output: its input chaining value, block and parameters. */
interface NodeOutput {
  readonly cv: Uint32Array;
  readonly block: Uint32Array;
  readonly counter: number;
  readonly blockLen: number;
  readonly flags: number;
}

function chainingValueOf(node: NodeOutput): Uint32Array {
  return compress(node.cv, node.block, node.counter, node.blockLen, node.flags).slice(0, 8);
}

function parentNode(left: Uint32Array, right: Uint32Array): NodeOutput {
  const block = new Uint32Array(16);
  block.set(left, 0);
  block.set(right, 8);
  return { cv: IV, block, counter: 0, blockLen: BLOCK_BYTES, flags: PARENT };
}

export class Blake3 {
  private chunkCv = IV.slice();
  private readonly blockBytes = new Uint8Array(BLOCK_BYTES);
  private readonly blockWords = new Uint32Array(16);
  private blockLen = 0;
  private blocksCompressed = 0;
  private chunkCounter = 0;
  private readonly cvStack: Uint32Array[] = [];

  update(input: Uint8Array): this {
    let at = 0;
    while (at < input.length) {
      if (this.chunkLength() === CHUNK_BYTES) this.finishChunk();
      if (this.blockLen === BLOCK_BYTES) {
        // A full block is compressed only once more input follows: the last block is special.
        wordsOf(this.blockBytes, this.blockWords);
        const flags = this.blocksCompressed === 0 ? CHUNK_START : 0;
        this.chunkCv = compress(this.chunkCv, this.blockWords, this.chunkCounter, BLOCK_BYTES, flags).slice(0, 8);
        this.blocksCompressed++;
        this.blockBytes.fill(0);
        this.blockLen = 0;
      }
      const take = Math.min(BLOCK_BYTES - this.blockLen, input.length - at);
      this.blockBytes.set(input.subarray(at, at + take), this.blockLen);
      this.blockLen += take;
      at += take;
    }
    return this;
  }

  /** Fill `out` with the extendable output (32 bytes is the plain hash). The hasher is unchanged. */
  finalizeInto(out: Uint8Array): Uint8Array {
    let node = this.chunkOutput();
    for (let i = this.cvStack.length - 1; i >= 0; i--) node = parentNode(this.cvStack[i]!, chainingValueOf(node));
    let written = 0;
    for (let counter = 0; written < out.length; counter++) {
      const words = compress(node.cv, node.block, counter, node.blockLen, node.flags | ROOT);
      for (let i = 0; i < 16 && written < out.length; i++) {
        const word = words[i]!;
        for (let shift = 0; shift < 32 && written < out.length; shift += 8) out[written++] = (word >>> shift) & 0xff;
      }
    }
    return out;
  }

  digest(length = 32): Uint8Array {
    return this.finalizeInto(new Uint8Array(length));
  }

  private chunkLength(): number {
    return this.blocksCompressed * BLOCK_BYTES + this.blockLen;
  }

  private chunkOutput(): NodeOutput {
    const block = new Uint32Array(16);
    wordsOf(this.blockBytes, block);
    const flags = (this.blocksCompressed === 0 ? CHUNK_START : 0) | CHUNK_END;
    return { cv: this.chunkCv, block, counter: this.chunkCounter, blockLen: this.blockLen, flags };
  }

  private finishChunk(): void {
    let cv = chainingValueOf(this.chunkOutput());
    let total = this.chunkCounter + 1;
    while ((total & 1) === 0) {
      cv = chainingValueOf(parentNode(this.cvStack.pop()!, cv));
      total /= 2;
    }
    this.cvStack.push(cv);
    this.chunkCounter++;
    this.chunkCv = IV.slice();
    this.blockBytes.fill(0);
    this.blockLen = 0;
    this.blocksCompressed = 0;
  }
}

/** BLAKE3 of `data` with `outLength` bytes of output (default 32). */
export function blake3(data: Uint8Array, outLength = 32): Uint8Array {
  return new Blake3().update(data).digest(outLength);
}
