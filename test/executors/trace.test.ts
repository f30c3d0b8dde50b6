import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ExecutionTrace,
  parseTrace,
  serializeTrace,
  startSampling,
  traceFileFor,
  traceSimilarity,
} from '../../src/executors/trace.js';

const base: ExecutionTrace = {
  instructionCount: 1_000_000n,
  memoryPeakBytes: 4 * 65_536,
  wallTimeMs: 450,
  samplePeriodMs: 100,
  samples: [0, 100, 200, 300, 400].map((tMs) => ({ tMs, memoryBytes: 65_536 * (1 + tMs / 100) })),
};

const trace = fc.record({
  instructionCount: fc.option(fc.bigInt({ min: 0n, max: 1n << 62n }), { nil: undefined }),
  memoryPeakBytes: fc.nat(),
  wallTimeMs: fc.nat(100_000),
  samplePeriodMs: fc.integer({ min: 1, max: 1000 }),
  samples: fc.array(
    fc.record({ tMs: fc.nat(100_000), memoryBytes: fc.nat(), cpu: fc.option(fc.nat(), { nil: undefined }) }),
    { maxLength: 20 },
  ),
}) as fc.Arbitrary<ExecutionTrace>;

describe('traceSimilarity', () => {
  it('is 1 for the same trace, symmetric, and always in [0, 1]', () => {
    fc.assert(
      fc.property(trace, trace, (a, b) => {
        expect(traceSimilarity(a, a)).toBe(1);
        const ab = traceSimilarity(a, b);
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeLessThanOrEqual(1);
        expect(traceSimilarity(b, a)).toBeCloseTo(ab, 12);
      }),
    );
  });

  it('follows the documented weights: twice the instructions costs 4 × ½ of 8', () => {
    const doubled = { ...base, instructionCount: 2_000_000n };
    // instructions 4 × 0.5, memory peak 2 × 1, wall time 1 × 1, memory curve 1 × 1
    expect(traceSimilarity(base, doubled)).toBeCloseTo((2 + 2 + 1 + 1) / 8, 12);
  });

  it('leaves out what only one trace has', () => {
    const { instructionCount: _, ...uncounted } = base;
    expect(traceSimilarity(base, uncounted)).toBe(1);
    const withCpu = { ...base, samples: base.samples.map((s) => ({ ...s, cpu: s.tMs })) };
    expect(traceSimilarity(base, withCpu)).toBe(1);
    const otherCpu = { ...base, samples: base.samples.map((s) => ({ ...s, cpu: s.tMs / 2 })) };
    expect(traceSimilarity(withCpu, otherCpu)).toBeLessThan(1);
  });

  it('forgives wall-time jitter below one sample period, not a run twice as long', () => {
    expect(traceSimilarity({ ...base, wallTimeMs: 3 }, { ...base, wallTimeMs: 5 })).toBeGreaterThan(0.99);
    expect(traceSimilarity(base, { ...base, wallTimeMs: 900 })).toBeLessThan(0.95);
  });

  it('scores a run that used memory differently lower than one that did not', () => {
    const flat = { ...base, samples: base.samples.map((s) => ({ ...s, memoryBytes: 65_536 })) };
    const close = { ...base, memoryPeakBytes: base.memoryPeakBytes + 65_536 };
    expect(traceSimilarity(base, flat)).toBeLessThan(traceSimilarity(base, close));
  });
});

describe('trace files', () => {
  it('round-trips through JSON, the instruction count exactly', () => {
    const big = { ...base, instructionCount: (1n << 60n) + 7n };
    const text = serializeTrace(big);
    expect(JSON.parse(text).instructionCount).toBe('1152921504606846983');
    expect(parseTrace(text)).toEqual(big);
    const { instructionCount: _, ...uncounted } = base;
    expect(parseTrace(serializeTrace(uncounted))).toEqual(uncounted);
    expect(() => parseTrace('{"samples": []}')).toThrow(/not an execution trace/);
  });

  it('sits beside the bundle, named after it', () => {
    expect(traceFileFor('/data/results/0xabc')).toBe('/data/results/0xabc.trace.json');
    expect(traceFileFor('/data/results/0xabc/')).toBe('/data/results/0xabc.trace.json');
  });
});

describe('startSampling', () => {
  it('samples at 0, P, 2P, … until stopped', async () => {
    let reads = 0;
    const sampling = startSampling(() => {
      reads++;
      return { memoryBytes: reads * 10 };
    }, 20);
    await new Promise((resolve) => setTimeout(resolve, 110));
    const samples = sampling.stop();
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(samples[0]?.tMs).toBe(0);
    for (const [i, sample] of samples.entries()) {
      expect(sample.tMs % 20).toBe(0);
      if (i > 0) expect(sample.tMs).toBeGreaterThan(samples[i - 1]?.tMs as number);
    }
    const count = samples.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(samples.length).toBe(count);
  });
});
