// Baseline JPEG decoding (ITU-T T.81: sequential DCT, Huffman coding, 8-bit samples) to 8-bit RGBA:
// grey or YCbCr (RGB with Adobe's transform flag 0), any sampling factors, restart intervals, one
// interleaved scan. The arithmetic is libjpeg's, in integers: its "islow" IDCT, chroma replicated
// (libjpeg without fancy upsampling) and its YCbCr tables, so the pixels are the same on every machine
// and equal to libjpeg's. Progressive, lossless, arithmetic-coded, 12-bit and CMYK files are refused.
import { Image } from './image';

// The largest image decoded: 16 megapixels (64 MiB as RGBA), as for PNG.
const MAX_PIXELS: i64 = 16 << 20;

/** Position k in zigzag order → index in the 8 × 8 block, row by row. */
const ZIGZAG: StaticArray<u8> = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
];

/** Why the last `decodeJpeg` returned null. */
export let jpegError = '';

function refuse(message: string): Image | null {
  jpegError = message;
  return null;
}

/** A Huffman table as a lookup on the next 16 bits: (code length << 8) | symbol, 0 where no code starts. */
class Huffman {
  lookup: Uint16Array = new Uint16Array(1 << 16);
}

class Component {
  id: i32 = 0;
  h: i32 = 1;
  v: i32 = 1;
  quant: i32 = 0;
  dcTable: i32 = 0;
  acTable: i32 = 0;
  /** The DC prediction: the previous block's DC value. */
  pred: i32 = 0;
  /** Decoded samples, whole MCUs (so wider and taller than the image). */
  plane: Uint8Array = new Uint8Array(0);
  stride: i32 = 0;
}

/** The entropy-coded data: bits most significant first, 0xFF00 read as 0xFF, zeros once a marker is met. */
class BitReader {
  bits: u32 = 0;
  count: i32 = 0;
  /** The marker that ended the data (its 0xFF is at `pos`), or 0. */
  marker: i32 = 0;

  constructor(
    public data: Uint8Array,
    public pos: i32,
  ) {}

  fill(): void {
    while (this.count <= 24) {
      let byte: u32 = 0;
      if (this.marker === 0 && this.pos < this.data.length) {
        byte = this.data[this.pos];
        if (byte === 0xff) {
          const next = this.pos + 1 < this.data.length ? <i32>this.data[this.pos + 1] : 0xd9;
          if (next === 0) this.pos += 2;
          else {
            this.marker = next;
            byte = 0;
          }
        } else this.pos++;
      }
      this.bits |= byte << (24 - this.count);
      this.count += 8;
    }
  }

  /** The next Huffman symbol, or -1 for a code the table does not have. */
  decode(table: Huffman): i32 {
    this.fill();
    const entry = <i32>table.lookup[this.bits >>> 16];
    const length = entry >> 8;
    if (length === 0) return -1;
    this.bits <<= length;
    this.count -= length;
    return entry & 0xff;
  }

  /** `n` (0..16) more bits as a signed value (T.81's RECEIVE then EXTEND). */
  receiveExtend(n: i32): i32 {
    if (n === 0) return 0;
    this.fill();
    const value = <i32>(this.bits >>> (32 - n));
    this.bits <<= n;
    this.count -= n;
    return value < 1 << (n - 1) ? value - (1 << n) + 1 : value;
  }

  /** After a restart interval: drop the padding bits and pass the RSTn marker; false if there is none. */
  restart(): bool {
    this.bits = 0;
    this.count = 0;
    if (this.marker === 0) {
      while (
        this.pos + 1 < this.data.length &&
        !(this.data[this.pos] === 0xff && this.data[this.pos + 1] !== 0 && this.data[this.pos + 1] !== 0xff)
      )
        this.pos++;
      if (this.pos + 1 >= this.data.length) return false;
      this.marker = this.data[this.pos + 1];
    }
    if (this.marker < 0xd0 || this.marker > 0xd7) return false;
    this.pos += 2;
    this.marker = 0;
    return true;
  }
}

// ---- the inverse DCT: libjpeg's jidctint.c ("islow"), 13-bit constants, two passes ----------------

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

const block = new Int32Array(64);
const workspace = new Int32Array(64);
/** Even and odd halves of one 1-D IDCT, as libjpeg names them. */
const even = new Int32Array(4);
const odd = new Int32Array(4);

function descale(x: i32, n: i32): i32 {
  return (x + (1 << (n - 1))) >> n;
}

/** One 1-D IDCT of the 8 values at `at`, `at + step`, …: leaves tmp10..tmp13 in `even`, tmp0..tmp3 in `odd`. */
function idct1d(data: Int32Array, at: i32, step: i32): void {
  let z2 = data[at + 2 * step];
  let z3 = data[at + 6 * step];
  let z1 = (z2 + z3) * FIX_0_541196100;
  const t2 = z1 + z3 * -FIX_1_847759065;
  const t3 = z1 + z2 * FIX_0_765366865;
  z2 = data[at];
  z3 = data[at + 4 * step];
  const t0 = (z2 + z3) << CONST_BITS;
  const t1 = (z2 - z3) << CONST_BITS;
  even[0] = t0 + t3;
  even[3] = t0 - t3;
  even[1] = t1 + t2;
  even[2] = t1 - t2;

  let o0 = data[at + 7 * step];
  let o1 = data[at + 5 * step];
  let o2 = data[at + 3 * step];
  let o3 = data[at + step];
  z1 = o0 + o3;
  z2 = o1 + o2;
  z3 = o0 + o2;
  let z4 = o1 + o3;
  const z5 = (z3 + z4) * FIX_1_175875602;
  o0 *= FIX_0_298631336;
  o1 *= FIX_2_053119869;
  o2 *= FIX_3_072711026;
  o3 *= FIX_1_501321110;
  z1 *= -FIX_0_899976223;
  z2 *= -FIX_2_562915447;
  z3 = z3 * -FIX_1_961570560 + z5;
  z4 = z4 * -FIX_0_390180644 + z5;
  odd[0] = o0 + z1 + z3;
  odd[1] = o1 + z2 + z4;
  odd[2] = o2 + z2 + z3;
  odd[3] = o3 + z1 + z4;
}

/** The dequantized `block` → 8 × 8 samples into `plane` at (x, y). */
function idct(plane: Uint8Array, stride: i32, x: i32, y: i32): void {
  for (let col = 0; col < 8; col++) {
    idct1d(block, col, 8);
    const shift = CONST_BITS - PASS1_BITS;
    workspace[col] = descale(even[0] + odd[3], shift);
    workspace[col + 56] = descale(even[0] - odd[3], shift);
    workspace[col + 8] = descale(even[1] + odd[2], shift);
    workspace[col + 48] = descale(even[1] - odd[2], shift);
    workspace[col + 16] = descale(even[2] + odd[1], shift);
    workspace[col + 40] = descale(even[2] - odd[1], shift);
    workspace[col + 24] = descale(even[3] + odd[0], shift);
    workspace[col + 32] = descale(even[3] - odd[0], shift);
  }
  for (let row = 0; row < 8; row++) {
    idct1d(workspace, row * 8, 1);
    const out = (y + row) * stride + x;
    const shift = CONST_BITS + PASS1_BITS + 3;
    plane[out] = sample(descale(even[0] + odd[3], shift));
    plane[out + 7] = sample(descale(even[0] - odd[3], shift));
    plane[out + 1] = sample(descale(even[1] + odd[2], shift));
    plane[out + 6] = sample(descale(even[1] - odd[2], shift));
    plane[out + 2] = sample(descale(even[2] + odd[1], shift));
    plane[out + 5] = sample(descale(even[2] - odd[1], shift));
    plane[out + 3] = sample(descale(even[3] + odd[0], shift));
    plane[out + 4] = sample(descale(even[3] - odd[0], shift));
  }
}

function sample(value: i32): u8 {
  return <u8>min(255, max(0, value + 128));
}

// ---- YCbCr → RGB: libjpeg's jdcolor.c, 16-bit fixed point -------------------------------------------

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);

function clamp255(value: i32): u32 {
  return <u32>min(255, max(0, value));
}

// ---- the decoder ----------------------------------------------------------------------------------

function u16At(data: Uint8Array, at: i32): i32 {
  return ((<i32>data[at]) << 8) | data[at + 1];
}

const quantTables = new Array<Int32Array>(4);
const huffmanTables = new Array<Huffman | null>(8); // DC 0..3, then AC 0..3

/** Decodes the blocks of one MCU-interleaved (or single-component) scan into the components' planes. */
function decodeScan(
  reader: BitReader,
  components: Component[],
  mcusX: i32,
  mcusY: i32,
  restartInterval: i32,
): string {
  const single = components.length === 1;
  let mcu = 0;
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++) {
      if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
        if (!reader.restart()) return 'a restart marker is missing in the image data';
        for (let c = 0; c < components.length; c++) components[c].pred = 0;
      }
      mcu++;
      for (let c = 0; c < components.length; c++) {
        const comp = components[c];
        const h = single ? 1 : comp.h;
        const v = single ? 1 : comp.v;
        const dc = huffmanTables[comp.dcTable];
        const ac = huffmanTables[4 + comp.acTable];
        if (dc === null || ac === null) return 'the scan uses a Huffman table the file does not define';
        const quant = quantTables[comp.quant];
        for (let by = 0; by < v; by++) {
          for (let bx = 0; bx < h; bx++) {
            block.fill(0);
            const category = reader.decode(dc);
            if (category < 0 || category > 11) return 'the image data holds an invalid Huffman code';
            comp.pred += reader.receiveExtend(category);
            block[0] = comp.pred * quant[0];
            for (let k = 1; k < 64; k++) {
              const rs = reader.decode(ac);
              if (rs < 0) return 'the image data holds an invalid Huffman code';
              const run = rs >> 4;
              const size = rs & 15;
              if (size === 0) {
                if (run !== 15) break; // end of block
                k += 15; // sixteen zeros
                continue;
              }
              k += run;
              if (k > 63) return 'a block of the image data has more than 64 coefficients';
              const at = <i32>ZIGZAG[k];
              block[at] = reader.receiveExtend(size) * quant[at];
            }
            idct(comp.plane, comp.stride, (mx * h + bx) * 8, (my * v + by) * 8);
          }
        }
      }
    }
  }
  return '';
}

export function decodeJpeg(data: Uint8Array): Image | null {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8)
    return refuse('not a JPEG file: no SOI marker');
  for (let i = 0; i < 4; i++) quantTables[i] = new Int32Array(64);
  for (let i = 0; i < 8; i++) huffmanTables[i] = null;
  let width = 0;
  let height = 0;
  let components: Component[] = [];
  let restartInterval = 0;
  let adobeTransform = -1;
  let scanned = false;
  let pos = 2;
  for (;;) {
    if (pos + 1 >= data.length) return refuse('the JPEG file ends before its EOI marker');
    if (data[pos] !== 0xff) return refuse('the JPEG file has data where a marker should be');
    while (pos + 1 < data.length && data[pos + 1] === 0xff) pos++; // fill bytes
    const marker = <i32>data[pos + 1];
    pos += 2;
    if (marker === 0xd9) break; // EOI
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (pos + 2 > data.length) return refuse('a JPEG segment runs past the end of the file');
    const length = u16At(data, pos);
    if (length < 2 || pos + length > data.length)
      return refuse('a JPEG segment runs past the end of the file');
    const seg = data.subarray(pos + 2, pos + length);
    pos += length;

    if (marker === 0xc0 || marker === 0xc1) {
      if (seg.length < 6) return refuse('the SOF segment is too short');
      if (seg[0] !== 8)
        return refuse(`${seg[0].toString()}-bit JPEG images are not supported: save with 8 bits`);
      height = u16At(seg, 1);
      width = u16At(seg, 3);
      const count = <i32>seg[5];
      if (width === 0 || height === 0)
        return refuse('the image has no pixels (or gives its height in a DNL marker)');
      if (<i64>width * <i64>height > MAX_PIXELS) return refuse('the image has more than 16 megapixels');
      if (count === 4) return refuse('CMYK JPEG images are not supported: save as RGB');
      if (count !== 1 && count !== 3) return refuse(`a JPEG image of ${count.toString()} components`);
      if (seg.length < 6 + count * 3) return refuse('the SOF segment is too short');
      components = [];
      for (let c = 0; c < count; c++) {
        const comp = new Component();
        comp.id = seg[6 + c * 3];
        comp.h = seg[7 + c * 3] >> 4;
        comp.v = seg[7 + c * 3] & 15;
        comp.quant = seg[8 + c * 3];
        if (comp.h < 1 || comp.h > 4 || comp.v < 1 || comp.v > 4)
          return refuse('invalid JPEG sampling factors');
        if (comp.quant > 3) return refuse('a component uses a quantization table beyond 3');
        components.push(comp);
      }
    } else if (marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce) {
      return refuse('progressive JPEG images are not supported: save as baseline');
    } else if (marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return refuse('lossless, hierarchical and arithmetic-coded JPEG images are not supported');
    } else if (marker === 0xcc) {
      return refuse('arithmetic-coded JPEG images are not supported');
    } else if (marker === 0xdb) {
      let at = 0;
      while (at < seg.length) {
        const precision = seg[at] >> 4;
        const id = seg[at] & 15;
        const size = precision === 0 ? 64 : 128;
        if (id > 3 || precision > 1 || at + 1 + size > seg.length) return refuse('an invalid DQT segment');
        const table = quantTables[id];
        for (let k = 0; k < 64; k++) {
          table[ZIGZAG[k]] = precision === 0 ? <i32>seg[at + 1 + k] : u16At(seg, at + 1 + k * 2);
        }
        at += 1 + size;
      }
    } else if (marker === 0xc4) {
      let at = 0;
      while (at < seg.length) {
        const tableClass = seg[at] >> 4;
        const id = seg[at] & 15;
        if (tableClass > 1 || id > 3 || at + 17 > seg.length) return refuse('an invalid DHT segment');
        let total = 0;
        for (let i = 1; i <= 16; i++) total += seg[at + i];
        if (at + 17 + total > seg.length) return refuse('an invalid DHT segment');
        const table = new Huffman();
        let code = 0;
        let symbol = at + 17;
        for (let length = 1; length <= 16; length++) {
          for (let i = 0; i < <i32>seg[at + length]; i++) {
            if (code >= 1 << length) return refuse('a Huffman table with more codes than fit');
            const entry = <u16>((length << 8) | seg[symbol++]);
            const end = (code + 1) << (16 - length);
            for (let j = code << (16 - length); j < end; j++) table.lookup[j] = entry;
            code++;
          }
          code <<= 1;
        }
        huffmanTables[tableClass * 4 + id] = table;
        at += 17 + total;
      }
    } else if (marker === 0xdd) {
      if (seg.length < 2) return refuse('an invalid DRI segment');
      restartInterval = u16At(seg, 0);
    } else if (marker === 0xee) {
      // Adobe's APP14: "Adobe", version, two flag words, then the colour transform (0: RGB, 1: YCbCr).
      if (seg.length >= 12 && seg[0] === 0x41 && seg[1] === 0x64 && seg[2] === 0x6f && seg[3] === 0x62)
        adobeTransform = seg[11];
    } else if (marker === 0xda) {
      if (components.length === 0) return refuse('the scan comes before the frame header (SOF)');
      if (scanned) return refuse('JPEG images of several scans are not supported: save as baseline');
      const count = <i32>seg[0];
      if (count !== components.length || seg.length < 4 + count * 2) {
        return refuse('JPEG scans of some of the components are not supported: save as baseline');
      }
      for (let s = 0; s < count; s++) {
        const id = <i32>seg[1 + s * 2];
        let found = false;
        for (let c = 0; c < components.length; c++) {
          if (components[c].id !== id) continue;
          components[c].dcTable = seg[2 + s * 2] >> 4;
          components[c].acTable = seg[2 + s * 2] & 15;
          if (components[c].dcTable > 3 || components[c].acTable > 3) return refuse('an invalid SOS segment');
          found = true;
        }
        if (!found) return refuse('the scan names a component the frame does not have');
      }
      let hmax = 1;
      let vmax = 1;
      for (let c = 0; c < components.length; c++) {
        hmax = max(hmax, components[c].h);
        vmax = max(vmax, components[c].v);
      }
      // One component: blocks in raster order, one per MCU; several: MCUs of hmax × vmax blocks.
      const single = components.length === 1;
      const mcuWidth = single ? 8 : 8 * hmax;
      const mcuHeight = single ? 8 : 8 * vmax;
      const mcusX = (width + mcuWidth - 1) / mcuWidth;
      const mcusY = (height + mcuHeight - 1) / mcuHeight;
      for (let c = 0; c < components.length; c++) {
        const comp = components[c];
        comp.stride = mcusX * (single ? 1 : comp.h) * 8;
        comp.plane = new Uint8Array(comp.stride * mcusY * (single ? 1 : comp.v) * 8);
      }
      const reader = new BitReader(data, pos);
      const error = decodeScan(reader, components, mcusX, mcusY, restartInterval);
      if (error !== '') return refuse(error);
      // Past the scan's last bits, to the marker that follows it.
      pos = reader.pos;
      while (pos + 1 < data.length && !(data[pos] === 0xff && data[pos + 1] !== 0)) pos++;
      scanned = true;
    }
    // Other segments (APPn, COM, …) say nothing about the pixels.
  }
  if (!scanned) return refuse('the JPEG file has no image data (no scan)');
  return toImage(components, width, height, adobeTransform !== 0);
}

/** The planes, chroma replicated up to full resolution, as RGBA. */
function toImage(components: Component[], width: i32, height: i32, ycbcr: bool): Image {
  const image = new Image(width, height);
  const pixels = image.pixels;
  const y = components[0];
  if (components.length === 1) {
    for (let row = 0; row < height; row++) {
      for (let x = 0; x < width; x++) {
        const value = <u32>y.plane[row * y.stride + x];
        image.set(x, row, value, value, value);
      }
    }
    return image;
  }
  const cb = components[1];
  const cr = components[2];
  const hmax = max(y.h, max(cb.h, cr.h));
  const vmax = max(y.v, max(cb.v, cr.v));
  for (let row = 0; row < height; row++) {
    for (let x = 0; x < width; x++) {
      const a = <i32>y.plane[((row * y.v) / vmax) * y.stride + (x * y.h) / hmax];
      const b = <i32>cb.plane[((row * cb.v) / vmax) * cb.stride + (x * cb.h) / hmax];
      const c = <i32>cr.plane[((row * cr.v) / vmax) * cr.stride + (x * cr.h) / hmax];
      const at = (row * width + x) * 4;
      if (ycbcr) {
        const blue = b - 128;
        const red = c - 128;
        pixels[at] = <u8>clamp255(a + ((91881 * red + ONE_HALF) >> SCALEBITS));
        pixels[at + 1] = <u8>clamp255(a + ((-22554 * blue + ONE_HALF + -46802 * red) >> SCALEBITS));
        pixels[at + 2] = <u8>clamp255(a + ((116130 * blue + ONE_HALF) >> SCALEBITS));
      } else {
        pixels[at] = <u8>a;
        pixels[at + 1] = <u8>b;
        pixels[at + 2] = <u8>c;
      }
      pixels[at + 3] = 255;
    }
  }
  return image;
}
