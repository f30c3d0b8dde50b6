/**
 * The WebAssembly binary format, as much as the executor rewrites: a reader and LEB128 numbers (shared
 * with metering.ts), and the memory and table caps: the memory section's maximum is rewritten to at most
 * the job's limit before compiling, so `memory.grow` past the limit fails inside the module (returns -1)
 * exactly where it would on any other machine; the tables' maxima likewise (see limitTables).
 */
import { LilypadError } from '../../protocol/errors.js';

export const WASM_PAGE_BYTES = 65_536;
const MEMORY_SECTION = 5;
const HAS_MAX = 0x01;
const SHARED = 0x02;
const MEMORY64 = 0x04;

/** The module's initial memory already exceeds the limit. */
export class MemoryLimitError extends LilypadError {
  override name = 'MemoryLimitError';
  constructor(
    readonly initialPages: bigint,
    readonly limitPages: number,
  ) {
    super(`the module needs ${initialPages} memory pages at start, more than the limit of ${limitPages}`);
  }
}

function invalid(what: string): LilypadError {
  return new LilypadError(`not a valid WebAssembly module: ${what}`);
}

/** Reads the WebAssembly binary format: bytes and LEB128 numbers, throwing on a truncated input. */
export class Reader {
  offset: number;
  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
  ) {
    this.offset = offset;
  }

  byte(): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw invalid('unexpected end');
    this.offset++;
    return value;
  }

  /** The next `length` bytes (a view, not a copy). */
  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw invalid('unexpected end');
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  /** Unsigned LEB128, up to 64 bits. */
  leb(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw invalid('LEB128 number too long');
    }
  }

  /** Unsigned LEB128, up to 32 bits (a count, an index, a size). */
  u32(): number {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift > 28) throw invalid('LEB128 u32 too long');
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffff_ffff) throw invalid('LEB128 u32 out of range');
        return result;
      }
    }
  }

  /** Skips a signed LEB128 of up to 64 bits (a constant or a block type). */
  sleb(): void {
    for (let i = 0; ; i++) {
      if (i >= 10) throw invalid('LEB128 number too long');
      if ((this.byte() & 0x80) === 0) return;
    }
  }
}

/** Unsigned LEB128. */
export function uleb(value: number | bigint): number[] {
  let rest = BigInt(value);
  const out: number[] = [];
  do {
    let b = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) b |= 0x80;
    out.push(b);
  } while (rest !== 0n);
  return out;
}

/** Signed LEB128. */
export function sleb(value: number | bigint): number[] {
  let rest = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const b = Number(rest & 0x7fn);
    rest >>= 7n;
    const done = (rest === 0n && (b & 0x40) === 0) || (rest === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

/** A growable byte buffer, for rewriting modules of any size. */
export class ByteWriter {
  #buffer = new Uint8Array(1024);
  length = 0;

  #reserve(extra: number): void {
    if (this.length + extra <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.length));
    this.#buffer = grown;
  }

  push(bytes: ArrayLike<number>): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  toBytes(): Uint8Array {
    return this.#buffer.slice(0, this.length);
  }
}

export type MemoryLimits = { initialPages: bigint; maxPages: bigint };

/**
 * Returns the module bytes with every defined memory's maximum set to at most `limitPages`, and the
 * resulting limits. Throws MemoryLimitError when a memory's initial size is already over the limit.
 * Imported memories are not touched: the executor refuses every import outside WASI anyway.
 */
export function limitMemory(
  bytes: Uint8Array,
  limitPages: number,
): { bytes: Uint8Array; memories: MemoryLimits[] } {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw invalid('missing the \\0asm header');
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0)
    throw invalid('unsupported version');
  const limit = BigInt(limitPages);
  const found = findSection(bytes, MEMORY_SECTION);
  if (found) {
    const { start, contentStart, end } = found;
    const section = new Reader(bytes.subarray(0, end), contentStart);
    const count = section.leb();
    const content: number[] = uleb(count);
    const memories: MemoryLimits[] = [];
    for (let i = 0n; i < count; i++) {
      const flags = Number(section.leb());
      if (flags & ~(HAS_MAX | SHARED | MEMORY64))
        throw invalid(`unsupported memory flags 0x${flags.toString(16)}`);
      const initial = section.leb();
      const declaredMax = flags & HAS_MAX ? section.leb() : undefined;
      if (initial > limit) throw new MemoryLimitError(initial, limitPages);
      const max = declaredMax === undefined || declaredMax > limit ? limit : declaredMax;
      content.push(flags | HAS_MAX, ...uleb(initial), ...uleb(max));
      memories.push({ initialPages: initial, maxPages: max });
    }
    if (section.offset !== end) throw invalid('memory section has trailing bytes');
    return { bytes: replaceSection(bytes, start, end, MEMORY_SECTION, content), memories };
  }
  return { bytes, memories: [] };
}

/** The module's tables already hold more entries at start than the limit. */
export class TableLimitError extends LilypadError {
  override name = 'TableLimitError';
  constructor(
    readonly initialEntries: bigint,
    readonly limitEntries: number,
  ) {
    super(
      `the module's tables need ${initialEntries} entries at start, more than the limit of ${limitEntries}`,
    );
  }
}

/**
 * The most entries a module's tables may hold, together: 8 MB of the job thread's heap. Tables live on
 * that heap, and a thread that runs out of it takes the whole process down, so they are capped like
 * memory: a module whose tables start above the limit is refused, and each table's maximum is lowered
 * to its share of what is left (so `table.grow` past it returns -1, the same on every machine).
 */
export const TABLE_ENTRIES_LIMIT = 1_000_000;
const TABLE_SECTION = 4;
const REFERENCE_TYPES = new Set([0x70, 0x6f]); // funcref, externref

/** Returns the module bytes with the tables' maxima capped as above; throws TableLimitError. */
export function limitTables(bytes: Uint8Array, limitEntries = TABLE_ENTRIES_LIMIT): Uint8Array {
  const found = findSection(bytes, TABLE_SECTION);
  if (found) {
    const { start, contentStart, end } = found;
    const section = new Reader(bytes.subarray(0, end), contentStart);
    const count = section.u32();
    const tables: { type: number; initial: bigint; max: bigint | undefined }[] = [];
    for (let i = 0; i < count; i++) {
      const type = section.byte();
      if (!REFERENCE_TYPES.has(type))
        throw invalid(`unsupported table type 0x${type.toString(16)} (only funcref and externref)`);
      const flags = section.byte();
      if (flags & ~HAS_MAX) throw invalid(`unsupported table flags 0x${flags.toString(16)}`);
      const initial = section.leb();
      tables.push({ type, initial, max: flags & HAS_MAX ? section.leb() : undefined });
    }
    if (section.offset !== end) throw invalid('table section has trailing bytes');
    const initialTotal = tables.reduce((sum, table) => sum + table.initial, 0n);
    if (initialTotal > BigInt(limitEntries)) throw new TableLimitError(initialTotal, limitEntries);
    const share = count === 0 ? 0n : (BigInt(limitEntries) - initialTotal) / BigInt(count);
    const content: number[] = uleb(count);
    for (const { type, initial, max } of tables) {
      const capped = max === undefined || max > initial + share ? initial + share : max;
      content.push(type, HAS_MAX, ...uleb(initial), ...uleb(capped));
    }
    return replaceSection(bytes, start, end, TABLE_SECTION, content);
  }
  return bytes;
}

/** Where section `id` is: its header's start, its content's start and its end; undefined if absent. */
function findSection(
  bytes: Uint8Array,
  id: number,
): { start: number; contentStart: number; end: number } | undefined {
  const reader = new Reader(bytes, 8);
  while (reader.offset < bytes.length) {
    const start = reader.offset;
    const sectionId = reader.byte();
    const size = Number(reader.leb());
    const contentStart = reader.offset;
    const end = contentStart + size;
    if (end > bytes.length) throw invalid('section runs past the end');
    if (sectionId === id) return { start, contentStart, end };
    reader.offset = end;
  }
  return undefined;
}

/** `bytes` with the section at [start, end) replaced by section `id` holding `content`. */
function replaceSection(
  bytes: Uint8Array,
  start: number,
  end: number,
  id: number,
  content: number[],
): Uint8Array {
  const header = [id, ...uleb(content.length)];
  const rewritten = new Uint8Array(bytes.length - (end - start) + header.length + content.length);
  rewritten.set(bytes.subarray(0, start), 0);
  rewritten.set(header, start);
  rewritten.set(content, start + header.length);
  rewritten.set(bytes.subarray(end), start + header.length + content.length);
  return rewritten;
}
