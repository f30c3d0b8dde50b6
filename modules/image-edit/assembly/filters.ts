// The per-pixel and neighbourhood operations of image-edit (resizing is the shared lib/resize.ts).
import { Image } from '../../lib/image';

export function grayscale(image: Image): Image {
  const out = new Image(image.width, image.height);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const l = image.luma(x, y);
      out.set(x, y, l, l, l, image.pixels[image.offset(x, y) + 3]);
    }
  }
  return out;
}

export function invert(image: Image): Image {
  const out = new Image(image.width, image.height);
  const p = image.pixels;
  for (let i = 0; i < p.length; i += 4) {
    out.pixels[i] = 255 - p[i];
    out.pixels[i + 1] = 255 - p[i + 1];
    out.pixels[i + 2] = 255 - p[i + 2];
    out.pixels[i + 3] = p[i + 3];
  }
  return out;
}

/** Mirrors left to right. */
export function flip(image: Image): Image {
  const out = new Image(image.width, image.height);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const from = image.offset(image.width - 1 - x, y);
      const to = out.offset(x, y);
      for (let c = 0; c < 4; c++) out.pixels[to + c] = image.pixels[from + c];
    }
  }
  return out;
}

// One pass of a box blur along x (dx = 1) or y (dx = 0): the mean of 2r + 1 pixels, edges clamped,
// rounded to the nearest integer.
function boxPass(image: Image, radius: i32, alongX: bool): Image {
  const out = new Image(image.width, image.height);
  const w = image.width;
  const h = image.height;
  const size = 2 * radius + 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 4; c++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          const sx = alongX ? min(w - 1, max(0, x + k)) : x;
          const sy = alongX ? y : min(h - 1, max(0, y + k));
          sum += image.pixels[image.offset(sx, sy) + c];
        }
        out.pixels[out.offset(x, y) + c] = <u8>((sum + (size >> 1)) / size);
      }
    }
  }
  return out;
}

export function blur(image: Image, radius: i32): Image {
  return boxPass(boxPass(image, radius, true), radius, false);
}
