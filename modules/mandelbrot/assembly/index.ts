// The Mandelbrot set as a PNG: args Size, Iterations, CenterX, CenterY, Zoom (validated by the
// manifest); writes /outputs/mandelbrot.png and prints a one-line summary. IEEE f64 arithmetic in
// WebAssembly is exact to the bit on every machine, so the image is too.
import '../../lib/abort';
import { Image } from '../../lib/image';
import { commandArgs, fail, print, writeFile } from '../../lib/io';
import { encodePng } from '../../lib/png-encode';

const SPAN = 3.0;

// A palette that cycles through blue, white and orange with the escape count.
function shade(image: Image, x: i32, y: i32, n: i32, limit: i32): void {
  if (n >= limit) {
    image.set(x, y, 0, 0, 0);
    return;
  }
  const t = <f64>(n % 64) / 64.0;
  const wave = 0.5 - 0.5 * Math.cos(t * 2.0 * Math.PI);
  image.set(
    x,
    y,
    <u32>(9.0 + 246.0 * wave),
    <u32>(30.0 + 200.0 * wave * wave),
    <u32>(120.0 + 135.0 * (1.0 - wave)),
  );
}

function escapeCount(cx: f64, cy: f64, limit: i32): i32 {
  let zx = 0.0;
  let zy = 0.0;
  let n = 0;
  while (n < limit) {
    const xx = zx * zx;
    const yy = zy * zy;
    if (xx + yy > 4.0) break;
    zy = 2.0 * zx * zy + cy;
    zx = xx - yy + cx;
    n++;
  }
  return n;
}

const args = commandArgs();
if (args.length !== 5) fail('usage: mandelbrot SIZE ITERATIONS CENTER_X CENTER_Y ZOOM');
const size = I32.parseInt(args[0]);
const limit = I32.parseInt(args[1]);
const centerX = F64.parseFloat(args[2]);
const centerY = F64.parseFloat(args[3]);
const zoom = F64.parseFloat(args[4]);
if (size < 1 || limit < 1 || !(zoom > 0.0)) fail('Size and Iterations must be at least 1, Zoom above 0');

const image = new Image(size, size);
const step = SPAN / zoom / <f64>size;
let inside = 0;
for (let y = 0; y < size; y++) {
  const cy = centerY + (<f64>(size / 2 - y) - 0.5) * step;
  for (let x = 0; x < size; x++) {
    const cx = centerX + (<f64>(x - size / 2) + 0.5) * step;
    const n = escapeCount(cx, cy, limit);
    if (n >= limit) inside++;
    shade(image, x, y, n, limit);
  }
}
if (!writeFile('/outputs/mandelbrot.png', encodePng(image))) fail('cannot write /outputs/mandelbrot.png');
print(
  `mandelbrot ${size.toString()}x${size.toString()}, ${limit.toString()} iterations: ${inside.toString()} pixels in the set\n`,
);
