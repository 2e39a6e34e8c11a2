import { describe, expect, it } from 'vitest';
import { mix32, samplingBits, samplingUniform } from '../src/sampling/random.js';

// [seed, position, mix32(seed), samplingBits(seed, position), samplingUniform(seed, position)],
// computed by a separate C program with uint32_t arithmetic (the device sampler must match).
const KNOWN: [number, number, number, number, number][] = [
  [0, 0, 0, 2926543089, 0.68138885498046875],
  [1, 0, 1753845952, 2692512407, 0.6268993616104126],
  [0, 1, 0, 2385989600, 0.55553144216537476],
  [42, 7, 388445122, 2019026440, 0.47009122371673584],
  [4294967295, 123456, 1734902346, 2740314978, 0.63802927732467651],
  [12345, 2147483647, 2435775735, 1739025928, 0.40489852428436279],
];

describe('the sampling random stream (contract B)', () => {
  it.each(KNOWN)('seed %d, position %d', (seed, position, mixed, bits, u) => {
    expect(mix32(seed)).toBe(mixed);
    expect(samplingBits(seed, position)).toBe(bits);
    expect(samplingUniform(seed, position)).toBe(u);
  });

  it('draws 24-bit uniforms in [0, 1)', () => {
    let sum = 0;
    for (let p = 0; p < 10000; p++) {
      const u = samplingUniform(7, p);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      expect(Number.isInteger(u * 2 ** 24)).toBe(true);
      sum += u;
    }
    expect(sum / 10000).toBeGreaterThan(0.48);
    expect(sum / 10000).toBeLessThan(0.52);
  });
});
