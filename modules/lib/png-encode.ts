// PNG encoding (ISO/IEC 15948): 8-bit RGBA, or RGB when every pixel is opaque; each row with the Sub
// filter, one IDAT of zlib data.
import { ByteBuffer } from './byte-buffer';
import { crc32 } from './crc32';
import { Image } from './image';
import { zlibCompress } from './zlib';

const SIGNATURE: StaticArray<u8> = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const COLOR_RGB: u8 = 2;
const COLOR_RGBA: u8 = 6;
const FILTER_SUB: u8 = 1;

function chunk(out: ByteBuffer, type: string, data: Uint8Array): void {
  out.pushU32(data.length);
  const start = out.length;
  out.pushAscii(type);
  out.pushBytes(data);
  out.pushU32(crc32(out.bytes, start, out.length));
}

function opaque(image: Image): bool {
  const p = image.pixels;
  for (let i = 3; i < p.length; i += 4) if (p[i] !== 255) return false;
  return true;
}

export function encodePng(image: Image): Uint8Array {
  const channels = opaque(image) ? 3 : 4;
  const header = new ByteBuffer();
  header.pushU32(image.width);
  header.pushU32(image.height);
  header.push(8); // bit depth
  header.push(channels === 3 ? COLOR_RGB : COLOR_RGBA);
  header.push(0); // compression: deflate
  header.push(0); // filter method: adaptive
  header.push(0); // no interlace

  const stride = image.width * channels;
  const raw = new Uint8Array((stride + 1) * image.height);
  const p = image.pixels;
  for (let y = 0; y < image.height; y++) {
    const row = y * (stride + 1);
    raw[row] = FILTER_SUB;
    for (let x = 0; x < image.width; x++) {
      const from = image.offset(x, y);
      for (let c = 0; c < channels; c++) {
        const left = x > 0 ? p[from - 4 + c] : 0;
        raw[row + 1 + x * channels + c] = <u8>(p[from + c] - left);
      }
    }
  }

  const out = new ByteBuffer();
  for (let i = 0; i < SIGNATURE.length; i++) out.push(SIGNATURE[i]);
  chunk(out, 'IHDR', header.toBytes());
  chunk(out, 'IDAT', zlibCompress(raw));
  chunk(out, 'IEND', new Uint8Array(0));
  return out.toBytes();
}
