// The counter-based random stream of sampling (contract B of the engine <-> model contract): the
// uniform draw for a request depends only on its seed and the position of the sampled token, so
// a seeded request samples the same tokens whatever its batch slot or batch-mates. The device
// sampler computes the same hash; test/sampling-random.test.ts pins known values.

/** A 32-bit integer finalizer (all uint32 arithmetic). */
export function mix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The 32 random bits of request seed `seed` at sequence position `position`. */
export function samplingBits(seed: number, position: number): number {
  return mix32((seed ^ mix32((position ^ 0x9e3779b9) >>> 0)) >>> 0);
}

/** u in [0, 1): the top 24 bits of samplingBits, so the value is exact in fp32 too. */
export function samplingUniform(seed: number, position: number): number {
  return (samplingBits(seed, position) >>> 8) * 2 ** -24;
}
