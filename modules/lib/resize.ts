// Resizing by area averaging: every target pixel is the mean of the source area it covers, weighted by
// coverage (exact box filtering), so shrinking does not alias and enlarging repeats pixels.
import { Image } from './image';

// The source span [start, end) in 1/256ths of a source pixel that target pixel `i` covers.
function spanStart(i: i32, source: i32, target: i32): i64 {
  return (<i64>i * source * 256) / target;
}

export function resize(image: Image, width: i32, height: i32): Image {
  const out = new Image(width, height);
  const src = image.pixels;
  const sums = new Float64Array(4);
  for (let ty = 0; ty < height; ty++) {
    const y0 = spanStart(ty, image.height, height);
    const y1 = spanStart(ty + 1, image.height, height);
    for (let tx = 0; tx < width; tx++) {
      const x0 = spanStart(tx, image.width, width);
      const x1 = spanStart(tx + 1, image.width, width);
      sums.fill(0);
      let total = 0.0;
      for (let sy = <i32>(y0 >> 8); <i64>sy * 256 < y1; sy++) {
        const wy = <f64>(min<i64>(y1, (<i64>sy + 1) * 256) - max<i64>(y0, <i64>sy * 256));
        for (let sx = <i32>(x0 >> 8); <i64>sx * 256 < x1; sx++) {
          const wx = <f64>(min<i64>(x1, (<i64>sx + 1) * 256) - max<i64>(x0, <i64>sx * 256));
          const w = wx * wy;
          const at = image.offset(sx, sy);
          for (let c = 0; c < 4; c++) sums[c] += w * <f64>src[at + c];
          total += w;
        }
      }
      const at = out.offset(tx, ty);
      for (let c = 0; c < 4; c++) out.pixels[at + c] = <u8>Math.round(sums[c] / total);
    }
  }
  return out;
}
