/**
 * mulberry32: a small, fast, seeded PRNG, uniform in [0, 1). The sandbox seed, its faults, the
 * benchmarks and the property tests use it so that a seed reproduces the same run everywhere.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
