/**
 * The catalogue's compute module, mandelbrot:v0.1.0, in the WASM executor at two sizes: instructions
 * (exact, the same on every machine) and the median wall time of a few runs. The instruction ratio
 * between the sizes shows the work growing with Size².
 *
 * - `mandelbrot_<size>_instructions`, `mandelbrot_<size>_ms` for Size 128 and 512, 256 iterations.
 */
import { moduleRunner } from '../test/modules/catalogue/run-module.js';

export const name = 'modules-mandelbrot';
const SIZES = [128, 512];
const RUNS = 3;

export async function run(): Promise<Record<string, number>> {
  const runner = await moduleRunner();
  const figures: Record<string, number> = {};
  try {
    await runner.run('mandelbrot:v0.1.0', { Size: '16' }); // compile and warm the job thread
    for (const size of SIZES) {
      const times: number[] = [];
      let instructions = 0n;
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now();
        const result = await runner.run('mandelbrot:v0.1.0', { Size: String(size), Iterations: '256' });
        times.push(performance.now() - started);
        if (result.status !== 'succeeded') throw new Error(`mandelbrot ${size}: ${result.status}`);
        instructions = result.instructionCount;
      }
      times.sort((a, b) => a - b);
      figures[`mandelbrot_${size}_instructions`] = Number(instructions);
      figures[`mandelbrot_${size}_ms`] = times[RUNS >> 1] as number;
    }
  } finally {
    await runner.remove();
  }
  return figures;
}
