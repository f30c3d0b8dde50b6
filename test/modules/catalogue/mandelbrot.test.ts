/**
 * mandelbrot:v0.1.0 in the WASM executor: a PNG whose pixels are right where the set is known (the
 * main cardioid is black, far corners escape at once), identical on every run, and work (instructions)
 * that grows with the size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng, pixelAt } from './png.js';
import { type ModuleRunner, moduleRunner } from './run-module.js';

const REF = 'mandelbrot:v0.1.0';

describe('mandelbrot', () => {
  let runner: ModuleRunner;
  beforeAll(async () => {
    runner = await moduleRunner();
  });
  afterAll(() => runner.remove());

  it('renders the set to a PNG', async () => {
    const run = await runner.run(REF, { Size: '64', Iterations: '200' });
    expect(run.status).toBe('succeeded');
    const image = decodePng(await run.output('mandelbrot.png'));
    expect([image.width, image.height]).toEqual([64, 64]);
    // The view is [-2, 1] × [-1.5, 1.5]: the centre of the cardioid (-0.25, 0) is pixel (37, 32).
    expect(pixelAt(image, 37, 32)).toEqual([0, 0, 0, 255]);
    // (-0.5, 0): pixel (32, 32), inside; the corner (-2, 1.5) escapes on the first step: coloured.
    expect(pixelAt(image, 32, 32)).toEqual([0, 0, 0, 255]);
    expect(pixelAt(image, 0, 0)).not.toEqual([0, 0, 0, 255]);
    const black = [...Array(64 * 64).keys()].filter(
      (i) => image.pixels[i * 4] === 0 && image.pixels[i * 4 + 2] === 0,
    );
    const reported = Number(/(\d+) pixels in the set/.exec(run.stdout)?.[1]);
    expect(reported).toBe(black.length);
    // The set's area is about 1.506 of the view's 9: about a sixth of the pixels.
    expect(black.length / (64 * 64)).toBeGreaterThan(0.13);
    expect(black.length / (64 * 64)).toBeLessThan(0.2);
  });

  it('gives the same bytes and instruction count every time, and more work for a larger size', async () => {
    const a = await runner.run(REF, { Size: '32', Iterations: '100' });
    const b = await runner.run(REF, { Size: '32', Iterations: '100' });
    expect(await a.output('mandelbrot.png')).toEqual(await b.output('mandelbrot.png'));
    expect(a.instructionCount).toBe(b.instructionCount);
    const big = await runner.run(REF, { Size: '64', Iterations: '100' });
    // Four times the pixels: about four times the work.
    const ratio = Number(big.instructionCount) / Number(a.instructionCount);
    expect(ratio).toBeGreaterThan(3.5);
    expect(ratio).toBeLessThan(4.5);
  });

  it('zooms into a point of the set', async () => {
    const run = await runner.run(REF, { Size: '16', Iterations: '300', CenterX: '-0.25', Zoom: '100' });
    const image = decodePng(await run.output('mandelbrot.png'));
    expect(pixelAt(image, 8, 8)).toEqual([0, 0, 0, 255]);
    expect(run.stdout).toBe('mandelbrot 16x16, 300 iterations: 256 pixels in the set\n');
  });

  it('refuses a size out of range before running', async () => {
    await expect(runner.run(REF, { Size: '0' })).rejects.toThrow(/input "Size" must be at least 1/);
  });
});
