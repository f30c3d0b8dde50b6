/**
 * image-edit:v0.1.0 in the WASM executor: PNGs the test makes (every 8-bit colour type, every row
 * filter, compressed by node:zlib's dynamic Huffman) go in, and the output PNG is decoded here and
 * compared pixel by pixel with the operation computed in the test. JPEGs come from Debian's libjpeg
 * (fixtures/jpeg/make-fixtures.c, which also wrote libjpeg's own decoding of each): the module's
 * decoder must give exactly libjpeg's pixels.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng, encodePng, pixelAt, type Rgba, rgba } from './png.js';
import { type ModuleRunner, moduleRunner } from './run-module.js';

const REF = 'image-edit:v0.1.0';
const fixture = (name: string) => readFileSync(new URL(`./fixtures/jpeg/${name}`, import.meta.url));

/** A binary PPM (P6) or PGM (P5), as libjpeg's reference decoding was written. */
function readPnm(bytes: Buffer): Rgba {
  const header = /^P([56])\n(\d+) (\d+)\n255\n/.exec(bytes.toString('latin1', 0, 32));
  if (!header) throw new Error('not a binary PPM or PGM');
  const [width, height] = [Number(header[2]), Number(header[3])];
  const channels = header[1] === '6' ? 3 : 1;
  const body = bytes.subarray(header[0].length);
  return rgba(width, height, (x, y) => [
    ...body.subarray((y * width + x) * channels, (y * width + x + 1) * channels),
  ]);
}

// A colourful test card: gradients in r and g, a checker in b, a soft alpha ramp in one corner.
const card = rgba(37, 23, (x, y) => [
  x * 7,
  y * 11,
  (x + y) % 2 ? 200 : 30,
  x < 5 && y < 5 ? 100 + x * 10 : 255,
]);

describe('image-edit', () => {
  let runner: ModuleRunner;
  beforeAll(async () => {
    runner = await moduleRunner();
  });
  afterAll(() => runner.remove());

  const edit = async (png: Uint8Array, inputs: Record<string, string>): Promise<Rgba> => {
    const run = await runner.run(REF, inputs, { Image: png });
    expect(run.stderr).toBe('');
    expect(run.status).toBe('succeeded');
    return decodePng(await run.output('output.png'));
  };

  it('decodes every colour type and row filter, and mirrors exactly', async () => {
    for (const colorType of [0, 2, 4, 6] as const) {
      for (const filter of [0, 1, 2, 3, 4]) {
        const png = encodePng(card, colorType, filter);
        const source = decodePng(png); // what the card is in this colour type
        const flipped = await edit(png, { Operation: 'flip' });
        expect([flipped.width, flipped.height]).toEqual([37, 23]);
        for (const [x, y] of [
          [0, 0],
          [3, 2],
          [36, 22],
          [20, 11],
        ] as const) {
          expect(pixelAt(flipped, x, y), `type ${colorType} filter ${filter} (${x},${y})`).toEqual(
            pixelAt(source, 36 - x, y),
          );
        }
      }
    }
  });

  it('turns an image grey with BT.601 weights and inverts it', async () => {
    const grey = await edit(encodePng(card), { Operation: 'grayscale' });
    for (const [x, y] of [
      [0, 0],
      [10, 7],
      [36, 22],
    ] as const) {
      const [r, g, b, a] = pixelAt(card, x, y) as [number, number, number, number];
      const l = Math.floor((299 * r + 587 * g + 114 * b + 500) / 1000);
      expect(pixelAt(grey, x, y)).toEqual([l, l, l, a]);
    }
    const inverted = await edit(encodePng(card), { Operation: 'invert' });
    const [r, g, b, a] = pixelAt(card, 9, 4) as [number, number, number, number];
    expect(pixelAt(inverted, 9, 4)).toEqual([255 - r, 255 - g, 255 - b, a]);
  });

  it('blurs a single bright pixel into a square of the box size', async () => {
    const dot = rgba(9, 9, (x, y) => (x === 4 && y === 4 ? [225] : [0]));
    const blurred = await edit(encodePng(dot, 0), { Operation: 'blur', Radius: '1' });
    // 225 / 3 = 75 after the x pass, 75 / 3 = 25 after the y pass, over the 3 × 3 box.
    expect(pixelAt(blurred, 4, 4)).toEqual([25, 25, 25, 255]);
    expect(pixelAt(blurred, 3, 5)).toEqual([25, 25, 25, 255]);
    expect(pixelAt(blurred, 2, 4)).toEqual([0, 0, 0, 255]);
  });

  it('resizes by area averaging, keeping the aspect ratio when one side is 0', async () => {
    // 2 × 2 blocks of four known values shrink to their means.
    const blocks = rgba(8, 4, (x, y) => [((x >> 1) + (y >> 1)) * 40 + (x % 2) * 4 + (y % 2) * 8]);
    const half = await edit(encodePng(blocks, 0), { Operation: 'resize', Width: '4' });
    expect([half.width, half.height]).toEqual([4, 2]);
    expect(pixelAt(half, 0, 0)).toEqual([6, 6, 6, 255]);
    expect(pixelAt(half, 3, 1)).toEqual([166, 166, 166, 255]);
    const big = await edit(encodePng(card), { Operation: 'resize', Width: '74', Height: '46' });
    expect(pixelAt(big, 21, 9)).toEqual(pixelAt(card, 10, 4));
  });

  it('says what is wrong with a damaged PNG or a missing one', async () => {
    const damaged = Buffer.from(encodePng(card));
    damaged[50] = (damaged[50] as number) ^ 0xff; // inside the IDAT data (which starts at byte 41)
    const bad = await runner.run(REF, {}, { Image: damaged });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe('/inputs/Image: the CRC of the PNG chunk IDAT does not match\n');
    const notPng = await runner.run(REF, {}, { Image: 'hello' });
    expect(notPng.stderr).toMatch(/not a PNG file/);
    await expect(runner.run(REF, {})).rejects.toThrow(/input "Image" is required/);
    await expect(runner.run(REF, { Operation: 'sepia' }, { Image: encodePng(card) })).rejects.toThrow(
      /input "Operation" does not match/,
    );
  });

  it('decodes baseline JPEGs exactly as libjpeg does: 4:2:0, 4:4:4, 4:2:2 with restart markers, grey', async () => {
    for (const [jpeg, reference] of [
      ['card-420.jpg', 'card-420.ppm'],
      ['card-444.jpg', 'card-444.ppm'],
      ['card-422-restarts.jpg', 'card-422-restarts.ppm'],
      ['card-gray.jpg', 'card-gray.pgm'],
    ] as const) {
      const expected = readPnm(fixture(reference));
      const run = await runner.run(REF, { Operation: 'flip' }, { Image: fixture(jpeg) });
      expect(run.stderr, jpeg).toBe('');
      expect(run.stdout).toBe('flip: 37x23 -> 37x23\n');
      const flipped = decodePng(await run.output('output.png'));
      for (let y = 0; y < 23; y++) {
        for (let x = 0; x < 37; x++) {
          expect(pixelAt(flipped, x, y), `${jpeg} (${x},${y})`).toEqual(pixelAt(expected, 36 - x, y));
        }
      }
    }
  });

  it('says why a JPEG it cannot read is refused', async () => {
    const progressive = await runner.run(REF, {}, { Image: fixture('card-progressive.jpg') });
    expect(progressive.exitCode).toBe(1);
    expect(progressive.stderr).toBe(
      '/inputs/Image: progressive JPEG images are not supported: save as baseline\n',
    );
    const baseline = fixture('card-420.jpg');
    // Cut in its headers, then in its image data.
    for (const [end, message] of [
      [400, 'a JPEG segment runs past the end of the file'],
      [baseline.length - 100, 'the JPEG file ends before its EOI marker'],
    ] as const) {
      const cut = await runner.run(REF, {}, { Image: baseline.subarray(0, end) });
      expect(cut.exitCode).toBe(1);
      expect(cut.stderr).toBe(`/inputs/Image: ${message}\n`);
    }
    const noScan = await runner.run(REF, {}, { Image: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) });
    expect(noScan.stderr).toBe('/inputs/Image: the JPEG file has no image data (no scan)\n');
  });
});
