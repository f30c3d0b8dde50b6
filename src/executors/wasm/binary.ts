/**
 * Just enough of the WebAssembly binary format to cap a module's memory: the memory section's
 * maximum is rewritten to at most the job's limit before compiling, so `memory.grow` past the limit
 * fails inside the module (returns -1) exactly where it would on any other machine.
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

class Reader {
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
}

function leb(value: bigint): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let b = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) b |= 0x80;
    out.push(b);
  } while (rest !== 0n);
  return out;
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
  const reader = new Reader(bytes, 8);
  while (reader.offset < bytes.length) {
    const start = reader.offset;
    const id = reader.byte();
    const size = Number(reader.leb());
    const contentStart = reader.offset;
    const end = contentStart + size;
    if (end > bytes.length) throw invalid('section runs past the end');
    if (id !== MEMORY_SECTION) {
      reader.offset = end;
      continue;
    }
    const section = new Reader(bytes.subarray(0, end), contentStart);
    const count = section.leb();
    const content: number[] = leb(count);
    const memories: MemoryLimits[] = [];
    for (let i = 0n; i < count; i++) {
      const flags = Number(section.leb());
      if (flags & ~(HAS_MAX | SHARED | MEMORY64))
        throw invalid(`unsupported memory flags 0x${flags.toString(16)}`);
      const initial = section.leb();
      const declaredMax = flags & HAS_MAX ? section.leb() : undefined;
      if (initial > limit) throw new MemoryLimitError(initial, limitPages);
      const max = declaredMax === undefined || declaredMax > limit ? limit : declaredMax;
      content.push(flags | HAS_MAX, ...leb(initial), ...leb(max));
      memories.push({ initialPages: initial, maxPages: max });
    }
    if (section.offset !== end) throw invalid('memory section has trailing bytes');
    const rewritten = new Uint8Array(
      bytes.length - (end - start) + 1 + leb(BigInt(content.length)).length + content.length,
    );
    rewritten.set(bytes.subarray(0, start), 0);
    let at = start;
    for (const b of [MEMORY_SECTION, ...leb(BigInt(content.length)), ...content]) rewritten[at++] = b;
    rewritten.set(bytes.subarray(end), at);
    return { bytes: rewritten, memories };
  }
  return { bytes, memories: [] };
}
