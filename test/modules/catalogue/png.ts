/**
 * A PNG codec for the catalogue tests, on node:zlib: it makes the test images (in several colour types
 * and filters, so the module's decoder meets what other encoders write) and decodes the modules' output,
 * checking every chunk CRC and the zlib Adler-32 (inflateSync does) on the way.
 */
import { crc32, deflateSync, inflateSync } from 'node:zlib';

export type Rgba = { width: number; height: number; pixels: Uint8Array };

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function rgba(width: number, height: number, pixel: (x: number, y: number) => number[]): Rgba {
  const pixels = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r = 0, g = r, b = r, a = 255] = pixel(x, y);
      pixels.set([r, g, b, a], (y * width + x) * 4);
    }
  }
  return { width, height, pixels };
}

function chunk(type: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function predictor(filter: number, a: number, b: number, c: number): number {
  return [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter] as number;
}

/** Encodes 8-bit grey (0), RGB (2), grey + alpha (4) or RGBA (6), every row with `filter` (0–4). */
export function encodePng(image: Rgba, colorType: 0 | 2 | 4 | 6 = 6, filter = 4): Buffer {
  const channels = CHANNELS[colorType] as number;
  const stride = image.width * channels;
  const samples = new Uint8Array(stride * image.height);
  for (let i = 0; i < image.width * image.height; i++) {
    const [r, g, b, a] = image.pixels.subarray(i * 4, i * 4 + 4) as unknown as number[];
    const pick = { 0: [r], 2: [r, g, b], 4: [r, a], 6: [r, g, b, a] }[colorType] as number[];
    samples.set(pick, i * channels);
  }
  const raw = new Uint8Array((stride + 1) * image.height);
  for (let y = 0; y < image.height; y++) {
    raw[y * (stride + 1)] = filter;
    for (let i = 0; i < stride; i++) {
      const at = y * stride + i;
      const a = i >= channels ? (samples[at - channels] as number) : 0;
      const b = y > 0 ? (samples[at - stride] as number) : 0;
      const c = i >= channels && y > 0 ? (samples[at - stride - channels] as number) : 0;
      raw[y * (stride + 1) + 1 + i] = ((samples[at] as number) - predictor(filter, a, b, c)) & 0xff;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header.set([8, colorType, 0, 0, 0], 8);
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Decodes the 8-bit, non-interlaced PNGs the modules write, to RGBA; throws on any damage. */
export function decodePng(file: Uint8Array): Rgba {
  const data = Buffer.from(file);
  if (!data.subarray(0, 8).equals(SIGNATURE)) throw new Error('no PNG signature');
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  for (;;) {
    const length = data.readUInt32BE(pos);
    const type = data.toString('latin1', pos + 4, pos + 8);
    const body = data.subarray(pos + 8, pos + 8 + length);
    if (crc32(data.subarray(pos + 4, pos + 8 + length)) !== data.readUInt32BE(pos + 8 + length)) {
      throw new Error(`bad CRC in ${type}`);
    }
    pos += 12 + length;
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      if (body[8] !== 8 || body[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
      colorType = body[9] as number;
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      break;
    }
  }
  const channels = CHANNELS[colorType] as number;
  const stride = width * channels;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== (stride + 1) * height) throw new Error('image data of the wrong size');
  const samples = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] as number;
    for (let i = 0; i < stride; i++) {
      const at = y * stride + i;
      const a = i >= channels ? (samples[at - channels] as number) : 0;
      const b = y > 0 ? (samples[at - stride] as number) : 0;
      const c = i >= channels && y > 0 ? (samples[at - stride - channels] as number) : 0;
      samples[at] = ((raw[y * (stride + 1) + 1 + i] as number) + predictor(filter, a, b, c)) & 0xff;
    }
  }
  return rgba(width, height, (x, y) => {
    const s = [...samples.subarray((y * width + x) * channels, (y * width + x + 1) * channels)];
    return { 0: [s[0], s[0], s[0], 255], 2: [...s, 255], 4: [s[0], s[0], s[0], s[1]], 6: s }[
      colorType
    ] as number[];
  });
}

/** The RGBA of one pixel. */
export function pixelAt(image: Rgba, x: number, y: number): number[] {
  const at = (y * image.width + x) * 4;
  return [...image.pixels.subarray(at, at + 4)];
}
