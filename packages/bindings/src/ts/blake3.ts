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

const IV0 = IV[0]! | 0;
const IV1 = IV[1]! | 0;
const IV2 = IV[2]! | 0;
const IV3 = IV[3]! | 0;

/** Output words of the last compression. */
const OUT = new Uint32Array(16);

/**
 * The compression function, with the state and message words in local variables (the form V8
 * optimises best): writes the 16 output words to `out` (the first eight are the new chaining value;
 * all sixteen are extendable output).
 */
function compress(cv: Uint32Array, block: Uint32Array, counter: number, blockLen: number, flags: number, out: Uint32Array): void {
  let v0 = cv[0]! | 0, v1 = cv[1]! | 0, v2 = cv[2]! | 0, v3 = cv[3]! | 0, v4 = cv[4]! | 0, v5 = cv[5]! | 0, v6 = cv[6]! | 0, v7 = cv[7]! | 0;
  let v8 = IV0, v9 = IV1, v10 = IV2, v11 = IV3;
  // The counter is a u64 in two words (a chunk index or output block number, < 2^53 here).
  let v12 = counter | 0, v13 = Math.floor(counter / 0x100000000) | 0, v14 = blockLen | 0, v15 = flags | 0;
  let m0 = block[0]! | 0, m1 = block[1]! | 0, m2 = block[2]! | 0, m3 = block[3]! | 0, m4 = block[4]! | 0, m5 = block[5]! | 0, m6 = block[6]! | 0, m7 = block[7]! | 0, m8 = block[8]! | 0, m9 = block[9]! | 0, m10 = block[10]! | 0, m11 = block[11]! | 0, m12 = block[12]! | 0, m13 = block[13]! | 0, m14 = block[14]! | 0, m15 = block[15]! | 0;
  for (let round = 0; round < ROUNDS; round++) {
    v0 = (v0 + v4 + m0) | 0;
    v12 ^= v0;
    v12 = (v12 >>> 16) | (v12 << 16);
    v8 = (v8 + v12) | 0;
    v4 ^= v8;
    v4 = (v4 >>> 12) | (v4 << 20);
    v0 = (v0 + v4 + m1) | 0;
    v12 ^= v0;
    v12 = (v12 >>> 8) | (v12 << 24);
    v8 = (v8 + v12) | 0;
    v4 ^= v8;
    v4 = (v4 >>> 7) | (v4 << 25);
    v1 = (v1 + v5 + m2) | 0;
    v13 ^= v1;
    v13 = (v13 >>> 16) | (v13 << 16);
    v9 = (v9 + v13) | 0;
    v5 ^= v9;
    v5 = (v5 >>> 12) | (v5 << 20);
    v1 = (v1 + v5 + m3) | 0;
    v13 ^= v1;
    v13 = (v13 >>> 8) | (v13 << 24);
    v9 = (v9 + v13) | 0;
    v5 ^= v9;
    v5 = (v5 >>> 7) | (v5 << 25);
    v2 = (v2 + v6 + m4) | 0;
    v14 ^= v2;
    v14 = (v14 >>> 16) | (v14 << 16);
    v10 = (v10 + v14) | 0;
    v6 ^= v10;
    v6 = (v6 >>> 12) | (v6 << 20);
    v2 = (v2 + v6 + m5) | 0;
    v14 ^= v2;
    v14 = (v14 >>> 8) | (v14 << 24);
    v10 = (v10 + v14) | 0;
    v6 ^= v10;
    v6 = (v6 >>> 7) | (v6 << 25);
    v3 = (v3 + v7 + m6) | 0;
    v15 ^= v3;
    v15 = (v15 >>> 16) | (v15 << 16);
    v11 = (v11 + v15) | 0;
    v7 ^= v11;
    v7 = (v7 >>> 12) | (v7 << 20);
    v3 = (v3 + v7 + m7) | 0;
    v15 ^= v3;
    v15 = (v15 >>> 8) | (v15 << 24);
    v11 = (v11 + v15) | 0;
    v7 ^= v11;
    v7 = (v7 >>> 7) | (v7 << 25);
    v0 = (v0 + v5 + m8) | 0;
    v15 ^= v0;
    v15 = (v15 >>> 16) | (v15 << 16);
    v10 = (v10 + v15) | 0;
    v5 ^= v10;
    v5 = (v5 >>> 12) | (v5 << 20);
    v0 = (v0 + v5 + m9) | 0;
    v15 ^= v0;
    v15 = (v15 >>> 8) | (v15 << 24);
    v10 = (v10 + v15) | 0;
    v5 ^= v10;
    v5 = (v5 >>> 7) | (v5 << 25);
    v1 = (v1 + v6 + m10) | 0;
    v12 ^= v1;
    v12 = (v12 >>> 16) | (v12 << 16);
    v11 = (v11 + v12) | 0;
    v6 ^= v11;
    v6 = (v6 >>> 12) | (v6 << 20);
    v1 = (v1 + v6 + m11) | 0;
    v12 ^= v1;
    v12 = (v12 >>> 8) | (v12 << 24);
    v11 = (v11 + v12) | 0;
    v6 ^= v11;
    v6 = (v6 >>> 7) | (v6 << 25);
    v2 = (v2 + v7 + m12) | 0;
    v13 ^= v2;
    v13 = (v13 >>> 16) | (v13 << 16);
    v8 = (v8 + v13) | 0;
    v7 ^= v8;
    v7 = (v7 >>> 12) | (v7 << 20);
    v2 = (v2 + v7 + m13) | 0;
    v13 ^= v2;
    v13 = (v13 >>> 8) | (v13 << 24);
    v8 = (v8 + v13) | 0;
    v7 ^= v8;
    v7 = (v7 >>> 7) | (v7 << 25);
    v3 = (v3 + v4 + m14) | 0;
    v14 ^= v3;
    v14 = (v14 >>> 16) | (v14 << 16);
    v9 = (v9 + v14) | 0;
    v4 ^= v9;
    v4 = (v4 >>> 12) | (v4 << 20);
    v3 = (v3 + v4 + m15) | 0;
    v14 ^= v3;
    v14 = (v14 >>> 8) | (v14 << 24);
    v9 = (v9 + v14) | 0;
    v4 ^= v9;
    v4 = (v4 >>> 7) | (v4 << 25);
    if (round === ROUNDS - 1) break;
    // Permute the message words for the next round.
    const p0 = m2, p1 = m6, p2 = m3, p3 = m10, p4 = m7, p5 = m0, p6 = m4, p7 = m13, p8 = m1, p9 = m11, p10 = m12, p11 = m5, p12 = m9, p13 = m14, p14 = m15, p15 = m8;
    m0 = p0; m1 = p1; m2 = p2; m3 = p3; m4 = p4; m5 = p5; m6 = p6; m7 = p7; m8 = p8; m9 = p9; m10 = p10; m11 = p11; m12 = p12; m13 = p13; m14 = p14; m15 = p15;
  }
  out[0] = v0 ^ v8;
  out[1] = v1 ^ v9;
  out[2] = v2 ^ v10;
  out[3] = v3 ^ v11;
  out[4] = v4 ^ v12;
  out[5] = v5 ^ v13;
  out[6] = v6 ^ v14;
  out[7] = v7 ^ v15;
  out[8] = v8 ^ cv[0]!;
  out[9] = v9 ^ cv[1]!;
  out[10] = v10 ^ cv[2]!;
  out[11] = v11 ^ cv[3]!;
  out[12] = v12 ^ cv[4]!;
  out[13] = v13 ^ cv[5]!;
  out[14] = v14 ^ cv[6]!;
  out[15] = v15 ^ cv[7]!;
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
  compress(node.cv, node.block, node.counter, node.blockLen, node.flags, OUT);
  return OUT.slice(0, 8);
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
        compress(this.chunkCv, this.blockWords, this.chunkCounter, BLOCK_BYTES, flags, OUT);
        this.chunkCv.set(OUT.subarray(0, 8));
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
      compress(node.cv, node.block, counter, node.blockLen, node.flags | ROOT, OUT);
      if (written + BLOCK_BYTES <= out.length) {
        for (let i = 0; i < 16; i++, written += 4) {
          const word = OUT[i]!;
          out[written] = word;
          out[written + 1] = word >>> 8;
          out[written + 2] = word >>> 16;
          out[written + 3] = word >>> 24;
        }
        continue;
      }
      for (let i = 0; i < 16 && written < out.length; i++) {
        const word = OUT[i]!;
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
