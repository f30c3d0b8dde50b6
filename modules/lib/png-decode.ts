// PNG decoding (ISO/IEC 15948) to 8-bit RGBA: every colour type (grey, RGB, palette, grey + alpha,
// RGBA) at every bit depth, tRNS transparency (grey and palette images), the five row filters and chunk CRCs checked. Interlaced
// (Adam7) images are refused with a message.
import { ByteBuffer } from './byte-buffer';
import { crc32 } from './crc32';
import { Image } from './image';
import { zlibDecompress, zlibError } from './zlib';

const SIGNATURE: StaticArray<u8> = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// The largest image decoded: 16 megapixels (64 MiB as RGBA).
const MAX_PIXELS: i64 = 16 << 20;

/** Why the last `decodePng` returned null. */
export let pngError = '';

function u32At(data: Uint8Array, at: i32): u32 {
  return ((<u32>data[at]) << 24) | ((<u32>data[at + 1]) << 16) | ((<u32>data[at + 2]) << 8) | data[at + 3];
}

function refuse(message: string): Image | null {
  pngError = message;
  return null;
}

function channelsOf(colorType: i32): i32 {
  if (colorType === 0 || colorType === 3) return 1;
  if (colorType === 2) return 3;
  if (colorType === 4) return 2;
  if (colorType === 6) return 4;
  return 0;
}

function validDepth(colorType: i32, depth: i32): bool {
  if (colorType === 0) return depth === 1 || depth === 2 || depth === 4 || depth === 8 || depth === 16;
  if (colorType === 3) return depth === 1 || depth === 2 || depth === 4 || depth === 8;
  return depth === 8 || depth === 16;
}

function paeth(a: i32, b: i32, c: i32): i32 {
  const p = a + b - c;
  const pa = abs(p - a);
  const pb = abs(p - b);
  const pc = abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// Reverses the row filters in place; `raw` holds (1 + stride) bytes per row, the filter type first.
function unfilter(raw: Uint8Array, stride: i32, height: i32, bpp: i32): bool {
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1) + 1;
    const prev = row - (stride + 1);
    const type = raw[row - 1];
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? <i32>raw[row + i - bpp] : 0;
      const b = y > 0 ? <i32>raw[prev + i] : 0;
      const c = i >= bpp && y > 0 ? <i32>raw[prev + i - bpp] : 0;
      let predictor = 0;
      if (type === 1) predictor = a;
      else if (type === 2) predictor = b;
      else if (type === 3) predictor = (a + b) >> 1;
      else if (type === 4) predictor = paeth(a, b, c);
      else if (type !== 0) return false;
      raw[row + i] = <u8>(<i32>raw[row + i] + predictor);
    }
  }
  return true;
}

export function decodePng(data: Uint8Array): Image | null {
  if (data.length < 8) return refuse('not a PNG file: too short');
  for (let i = 0; i < 8; i++) if (data[i] !== SIGNATURE[i]) return refuse('not a PNG file: no PNG signature');
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette = new Uint8Array(0);
  let transparency = new Uint8Array(0);
  const idat = new ByteBuffer();
  let pos = 8;
  let ended = false;
  while (!ended) {
    if (pos + 12 > data.length) return refuse('the PNG file ends before its IEND chunk');
    const length = <i32>u32At(data, pos);
    if (length < 0 || pos + 12 + length > data.length)
      return refuse('a PNG chunk runs past the end of the file');
    const type = String.UTF8.decode(data.slice(pos + 4, pos + 8).buffer);
    const body = data.subarray(pos + 8, pos + 8 + length);
    if (crc32(data, pos + 4, pos + 8 + length) !== u32At(data, pos + 8 + length)) {
      return refuse(`the CRC of the PNG chunk ${type} does not match`);
    }
    pos += 12 + length;
    if (type === 'IHDR') {
      if (length !== 13) return refuse('the IHDR chunk must be 13 bytes');
      width = <i32>u32At(body, 0);
      height = <i32>u32At(body, 4);
      depth = body[8];
      colorType = body[9];
      if (width <= 0 || height <= 0) return refuse('the image has no pixels');
      if (<i64>width * <i64>height > MAX_PIXELS) return refuse('the image has more than 16 megapixels');
      if (channelsOf(colorType) === 0) return refuse(`PNG colour type ${colorType.toString()} is invalid`);
      if (!validDepth(colorType, depth)) return refuse(`bit depth ${depth.toString()} is invalid here`);
      if (body[10] !== 0 || body[11] !== 0) return refuse('unknown PNG compression or filter method');
      if (body[12] !== 0) return refuse('interlaced (Adam7) PNG images are not supported: save without');
    } else if (type === 'PLTE') {
      palette = body.slice(0);
    } else if (type === 'tRNS') {
      transparency = body.slice(0);
    } else if (type === 'IDAT') {
      idat.pushBytes(body);
    } else if (type === 'IEND') {
      ended = true;
    } else if ((type.charCodeAt(0) & 0x20) === 0) {
      return refuse(`the PNG file needs chunk ${type}, which this decoder does not know`);
    }
  }
  if (colorType < 0) return refuse('the PNG file has no IHDR chunk');
  if (colorType === 3 && palette.length === 0) return refuse('a palette image without a PLTE chunk');

  const channels = channelsOf(colorType);
  const bitsPerPixel = channels * depth;
  const stride = (width * bitsPerPixel + 7) >> 3;
  const raw = zlibDecompress(idat.toBytes());
  if (raw === null) return refuse(`the image data does not decompress: ${zlibError}`);
  if (raw.length < (stride + 1) * height) return refuse('the image data is shorter than the image');
  if (!unfilter(raw, stride, height, max(1, bitsPerPixel >> 3))) return refuse('an unknown row filter');

  const image = new Image(width, height);
  const maxSample = (1 << min(depth, 8)) - 1;
  const sample = new StaticArray<i32>(4);
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1) + 1;
    for (let x = 0; x < width; x++) {
      // Samples: 16-bit ones keep their high byte; smaller ones are packed from the high bits.
      for (let c = 0; c < channels; c++) {
        const index = x * channels + c;
        if (depth === 16) {
          sample[c] = raw[row + index * 2];
        } else if (depth === 8) {
          sample[c] = raw[row + index];
        } else {
          const bit = index * depth;
          sample[c] = (<i32>raw[row + (bit >> 3)] >> (8 - depth - (bit & 7))) & maxSample;
        }
      }
      if (colorType === 3) {
        const entry = sample[0];
        if (entry * 3 + 2 >= palette.length) return refuse('a pixel refers past the end of the palette');
        const alpha = entry < transparency.length ? <u32>transparency[entry] : 255;
        image.set(x, y, palette[entry * 3], palette[entry * 3 + 1], palette[entry * 3 + 2], alpha);
        continue;
      }
      const scale = 255 / maxSample;
      if (channels <= 2) {
        const grey = <u32>(sample[0] * scale);
        let alpha: u32 = channels === 2 ? <u32>sample[1] : 255;
        if (
          channels === 1 &&
          transparency.length >= 2 &&
          <i32>u32At16(transparency, 0, depth) === sample[0]
        ) {
          alpha = 0;
        }
        image.set(x, y, grey, grey, grey, alpha);
      } else {
        image.set(x, y, sample[0], sample[1], sample[2], channels === 4 ? <u32>sample[3] : 255);
      }
    }
  }
  return image;
}

// A tRNS grey or colour sample (16 bits big-endian) in the same units as the decoded samples.
function u32At16(data: Uint8Array, at: i32, depth: i32): u32 {
  return depth === 16 ? <u32>data[at] : ((<u32>data[at]) << 8) | data[at + 1];
}
