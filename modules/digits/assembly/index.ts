// digits: classifies 8×8 digit bitmaps with the network scripts/train-digits.ts trained (weights.ts).
// The argument holds one or more samples of 64 characters '0'–'9' (intensity, row by row), separated
// by commas; each gets a line "digit confidence" on stdout and in /outputs/predictions.csv.
import '../../lib/abort';
import { commandArgs, fail, print, writeFile } from '../../lib/io';
import { B1, B2, HIDDEN, INPUTS, OUTPUTS, W1, W2 } from './weights';

const hidden = new StaticArray<f64>(HIDDEN);
const out = new StaticArray<f64>(OUTPUTS);

// Fills `out` with the softmax probabilities of one sample starting at `text[from]`.
function classify(text: string, from: i32): void {
  for (let h = 0; h < HIDDEN; h++) {
    let sum = B1[h];
    for (let i = 0; i < INPUTS; i++)
      sum += W1[h * INPUTS + i] * (<f64>(text.charCodeAt(from + i) - 48) / 9.0);
    hidden[h] = sum > 0 ? sum : 0;
  }
  let peak = -Infinity;
  for (let o = 0; o < OUTPUTS; o++) {
    let sum = B2[o];
    for (let h = 0; h < HIDDEN; h++) sum += W2[o * HIDDEN + h] * hidden[h];
    out[o] = sum;
    peak = max(peak, sum);
  }
  let total = 0.0;
  for (let o = 0; o < OUTPUTS; o++) {
    out[o] = Math.exp(out[o] - peak);
    total += out[o];
  }
  for (let o = 0; o < OUTPUTS; o++) out[o] /= total;
}

function isSample(text: string, from: i32): bool {
  if (from + INPUTS > text.length) return false;
  for (let i = 0; i < INPUTS; i++) {
    const c = text.charCodeAt(from + i);
    if (c < 48 || c > 57) return false;
  }
  return from + INPUTS === text.length || text.charCodeAt(from + INPUTS) === 0x2c;
}

const args = commandArgs();
if (args.length !== 1) fail('usage: digits PIXELS[,PIXELS]…');
const text = args[0];
let lines = '';
let csv = 'sample,digit,confidence\n';
let sample = 0;
for (let from = 0; from < text.length; from += INPUTS + 1) {
  if (!isSample(text, from)) fail(`sample ${sample.toString()}: not 64 characters 0-9`);
  classify(text, from);
  let best = 0;
  for (let o = 1; o < OUTPUTS; o++) if (out[o] > out[best]) best = o;
  // Three decimals, rounded: the same text on every machine.
  const confidence = (<f64>Math.round(out[best] * 1000.0) / 1000.0).toString();
  lines += `${best.toString()} ${confidence}\n`;
  csv += `${sample.toString()},${best.toString()},${confidence}\n`;
  sample++;
}
if (!writeFile('/outputs/predictions.csv', Uint8Array.wrap(String.UTF8.encode(csv)))) {
  fail('cannot write /outputs/predictions.csv');
}
print(lines);
