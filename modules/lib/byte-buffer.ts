// A growable byte array: what encoders append to.

export class ByteBuffer {
  bytes: Uint8Array = new Uint8Array(4096);
  length: i32 = 0;

  reserve(extra: i32): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  push(byte: u32): void {
    this.reserve(1);
    this.bytes[this.length++] = <u8>byte;
  }

  /** Big-endian, as PNG and zlib write their integers. */
  pushU32(value: u32): void {
    this.push(value >>> 24);
    this.push(value >>> 16);
    this.push(value >>> 8);
    this.push(value);
  }

  pushBytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  pushAscii(text: string): void {
    for (let i = 0; i < text.length; i++) this.push(text.charCodeAt(i));
  }

  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}
