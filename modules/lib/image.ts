// An image in memory: 8-bit RGBA, rows top to bottom, no padding.

export class Image {
  pixels: Uint8Array;

  constructor(
    public width: i32,
    public height: i32,
  ) {
    this.pixels = new Uint8Array(width * height * 4);
  }

  offset(x: i32, y: i32): i32 {
    return (y * this.width + x) * 4;
  }

  set(x: i32, y: i32, r: u32, g: u32, b: u32, a: u32 = 255): void {
    const at = this.offset(x, y);
    this.pixels[at] = <u8>r;
    this.pixels[at + 1] = <u8>g;
    this.pixels[at + 2] = <u8>b;
    this.pixels[at + 3] = <u8>a;
  }

  /** ITU-R BT.601 luma of a pixel, 0..255, in integers so that every machine rounds alike. */
  luma(x: i32, y: i32): u32 {
    const at = this.offset(x, y);
    const p = this.pixels;
    return (299 * <u32>p[at] + 587 * <u32>p[at + 1] + 114 * <u32>p[at + 2] + 500) / 1000;
  }
}
