/**
 * The digits classifier: 64 inputs (intensity / 9), one hidden layer of ReLUs, 10 softmax outputs.
 * Plain stochastic gradient descent on cross-entropy; the weights start from the seeded PRNG, so
 * training is the same computation on every run.
 */
import { random, type Sample } from './samples.js';

export const INPUTS = 64;
export const HIDDEN = 32;
export const OUTPUTS = 10;

export type Network = { w1: Float64Array; b1: Float64Array; w2: Float64Array; b2: Float64Array };

export function inputsOf(pixels: string): Float64Array {
  const x = new Float64Array(INPUTS);
  for (let i = 0; i < INPUTS; i++) x[i] = (pixels.charCodeAt(i) - 48) / 9;
  return x;
}

export function forward(net: Network, x: Float64Array): { hidden: Float64Array; out: Float64Array } {
  const hidden = new Float64Array(HIDDEN);
  for (let h = 0; h < HIDDEN; h++) {
    let sum = net.b1[h] as number;
    for (let i = 0; i < INPUTS; i++) sum += (net.w1[h * INPUTS + i] as number) * (x[i] as number);
    hidden[h] = sum > 0 ? sum : 0;
  }
  const out = new Float64Array(OUTPUTS);
  let peak = Number.NEGATIVE_INFINITY;
  for (let o = 0; o < OUTPUTS; o++) {
    let sum = net.b2[o] as number;
    for (let h = 0; h < HIDDEN; h++) sum += (net.w2[o * HIDDEN + h] as number) * (hidden[h] as number);
    out[o] = sum;
    peak = Math.max(peak, sum);
  }
  let total = 0;
  for (let o = 0; o < OUTPUTS; o++) {
    out[o] = Math.exp((out[o] as number) - peak);
    total += out[o] as number;
  }
  for (let o = 0; o < OUTPUTS; o++) out[o] = (out[o] as number) / total;
  return { hidden, out };
}

export function predict(net: Network, pixels: string): number {
  const { out } = forward(net, inputsOf(pixels));
  return out.indexOf(Math.max(...out));
}

export function train(samples: Sample[], options: { epochs: number; rate: number; seed: number }): Network {
  const next = random(options.seed);
  const init = (n: number, fanIn: number) =>
    Float64Array.from({ length: n }, () => (next() * 2 - 1) * Math.sqrt(6 / fanIn));
  const net: Network = {
    w1: init(HIDDEN * INPUTS, INPUTS),
    b1: new Float64Array(HIDDEN),
    w2: init(OUTPUTS * HIDDEN, HIDDEN),
    b2: new Float64Array(OUTPUTS),
  };
  const order = samples.map((_, i) => i);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    // Fisher–Yates with the same PRNG: a new, reproducible order every epoch.
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const rate = options.rate / (1 + epoch * 0.1);
    for (const index of order) {
      const sample = samples[index] as Sample;
      const x = inputsOf(sample.pixels);
      const { hidden, out } = forward(net, x);
      const delta = Float64Array.from(out, (p, o) => p - (o === sample.digit ? 1 : 0));
      const back = new Float64Array(HIDDEN);
      for (let o = 0; o < OUTPUTS; o++) {
        const d = delta[o] as number;
        for (let h = 0; h < HIDDEN; h++) {
          back[h] = (back[h] as number) + d * (net.w2[o * HIDDEN + h] as number);
          net.w2[o * HIDDEN + h] = (net.w2[o * HIDDEN + h] as number) - rate * d * (hidden[h] as number);
        }
        net.b2[o] = (net.b2[o] as number) - rate * d;
      }
      for (let h = 0; h < HIDDEN; h++) {
        if ((hidden[h] as number) <= 0) continue;
        const d = back[h] as number;
        for (let i = 0; i < INPUTS; i++) {
          net.w1[h * INPUTS + i] = (net.w1[h * INPUTS + i] as number) - rate * d * (x[i] as number);
        }
        net.b1[h] = (net.b1[h] as number) - rate * d;
      }
    }
  }
  return net;
}
