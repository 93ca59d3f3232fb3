// Pieces of workload generation the peer benchmark (run.mjs) and the value-log benchmark
// (vlog.mjs) share, so both draw the same key orders from the same seeds.

/** Deterministic PRNG (mulberry32), so every engine sees the same key orders. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0..n-1 in an order drawn from `random` (Fisher–Yates). */
export function shuffledOrder(n, random) {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
