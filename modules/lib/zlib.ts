// The zlib container (RFC 1950) around DEFLATE: a two-byte header and the Adler-32 of the data.
import { adler32 } from './adler32';
import { ByteBuffer } from './byte-buffer';
import { deflate } from './deflate';
import { inflate, inflateError } from './inflate';

/** Why the last `zlibDecompress` returned null. */
export let zlibError = '';

export function zlibCompress(data: Uint8Array): Uint8Array {
  const out = new ByteBuffer();
  // CM 8 (deflate), a 32 KiB window, no preset dictionary, and a check so that the header % 31 == 0.
  out.push(0x78);
  out.push(0x01);
  out.pushBytes(deflate(data));
  out.pushU32(adler32(data));
  return out.toBytes();
}

export function zlibDecompress(stream: Uint8Array): Uint8Array | null {
  if (stream.length < 6) {
    zlibError = 'the zlib stream is too short';
    return null;
  }
  const cmf = <u32>stream[0];
  const flags = <u32>stream[1];
  if ((cmf & 0x0f) !== 8 || ((cmf << 8) | flags) % 31 !== 0 || (flags & 0x20) !== 0) {
    zlibError = 'not a zlib stream of DEFLATE data without a preset dictionary';
    return null;
  }
  const data = inflate(stream, 2);
  if (data === null) {
    zlibError = inflateError;
    return null;
  }
  const end = stream.length;
  const expected =
    ((<u32>stream[end - 4]) << 24) |
    ((<u32>stream[end - 3]) << 16) |
    ((<u32>stream[end - 2]) << 8) |
    stream[end - 1];
  if (adler32(data) !== expected) {
    zlibError = 'the Adler-32 checksum does not match the data';
    return null;
  }
  return data;
}
