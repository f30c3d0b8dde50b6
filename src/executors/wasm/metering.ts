/**
 * Instruction metering: a pass over the WebAssembly binary, before it is compiled, that makes the
 * module count its own instructions, exactly and identically on every machine, and stop itself at a
 * budget and at a call-stack limit.
 *
 * What counts: every instruction of every function body is 1, control instructions included (`block`,
 * `loop`, `if`, `else`, `end`, branches, `call`); a host (WASI) function costs only its `call`.
 * `else` and `end` count when execution falls through them, not when a branch jumps past them.
 *
 * How: each body is split into basic blocks, runs that execution enters only at the top: a block ends
 * after `loop`, `if`, `else`, the `end` of a `block` or `if`, `br`, `br_if`, `br_table`, `return`,
 * `unreachable`, `call` and `call_indirect`. At the top of each block the pass inserts
 *
 *     instructions_left -= <the block's instruction count>; if (instructions_left < 0) unreachable
 *
 * on a new mutable i64 global, exported as `lilypad:instructions-left`; the host sets it to the budget
 * before the module runs and reads `budget - left` as the count. A block is charged whole when it is
 * entered, so a trap inside a block (a division by zero, say) counts the rest of that block too: still
 * the same count everywhere. A trap with `left < 0` is the budget, and nothing else: the block that
 * crossed it never ran.
 *
 * The call stack: V8 throws when its native stack runs out, at a depth that depends on the machine.
 * So every function that calls others charges an estimate of its frame (64 bytes + 8 per parameter and
 * local, 16 for a v128) to a second global, `lilypad:stack-bytes`, on entry, and restores the value after
 * each of its calls; past STACK_LIMIT_BYTES it traps, at the same depth everywhere. Functions that call
 * nothing cannot recurse and are not charged. The worker's native stack is sized far above the limit.
 *
 * Out of memory: a `memory.grow` that fails (returns -1) sets a third global, exported as
 * `lilypad:memory-grow-failed`, so the host can tell a trap that follows (the usual reaction of an
 * allocator) as out-of-memory rather than a plain failure.
 *
 * Nothing is renumbered: the globals are appended after the existing ones, no function is added, the
 * locals that hold a frame's top, memory.grow's result and the counter (kept in a local between its
 * store and its test, which costs a third less than reading the global back) are appended after the
 * existing locals. A start section is removed and its function exported as `lilypad:start`, so the host
 * can set the budget before it runs (what the start section would do at instantiation, the host does
 * right after it). Instructions outside the supported set (WebAssembly 2.0: MVP, sign extension,
 * saturating conversions, bulk memory, reference types, multi-value, SIMD) are refused with a
 * MeteringError naming them: exceptions, tail calls, threads, GC.
 *
 * Known limits of "an instruction is 1": `memory.fill`/`memory.copy` cost 1 whatever their size (the
 * wall-time limit still bounds them), and a function with a very deep operand stack has a real frame
 * larger than its estimate (V8's own stack overflow then stops it, reported as such).
 */
import { LilypadError } from '../../protocol/errors.js';
import { ByteWriter, Reader, sleb, uleb } from './binary.js';

export const INSTRUCTIONS_LEFT_EXPORT = 'lilypad:instructions-left';
export const STACK_BYTES_EXPORT = 'lilypad:stack-bytes';
export const START_EXPORT = 'lilypad:start';
export const GROW_FAILED_EXPORT = 'lilypad:memory-grow-failed';
/** The metered stack limit: an estimate, kept far below the worker's native stack (see worker-pool.ts). */
export const STACK_LIMIT_BYTES = 1024 * 1024;
const FRAME_BASE_BYTES = 64;
const SLOT_BYTES = 8;
/** The budget of a job with none: never reached (2^63 - 1 instructions). */
export const UNLIMITED_INSTRUCTIONS = (1n << 63n) - 1n;

/** The module uses something the metering pass cannot count. */
export class MeteringError extends LilypadError {
  override name = 'MeteringError';
}

const SECTION = { custom: 0, type: 1, import: 2, function: 3, global: 6, export: 7, start: 8, code: 10 };
const I32 = 0x7f;
const I64 = 0x7e;
const V128 = 0x7b;
const VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

const OP = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  localGet: 0x20,
  localTee: 0x22,
  memoryGrow: 0x40,
  globalGet: 0x23,
  globalSet: 0x24,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eq: 0x46,
  i32GtU: 0x4b,
  i64LtS: 0x53,
  i32Add: 0x6a,
  i64Sub: 0x7d,
  emptyBlockType: 0x40,
} as const;

const UNSUPPORTED: Record<number, string> = {
  6: 'exception handling (try)',
  7: 'exception handling (catch)',
  8: 'exception handling (throw)',
  9: 'exception handling (rethrow)',
  10: 'exception handling (throw_ref)',
  18: 'tail calls (return_call)',
  19: 'tail calls (return_call_indirect)',
  20: 'typed function references (call_ref)',
  21: 'tail calls (return_call_ref)',
  24: 'exception handling (delegate)',
  25: 'exception handling (catch_all)',
  31: 'exception handling (try_table)',
  251: 'garbage collection',
  254: 'threads (atomics)',
};

type FuncType = { params: number[] };

function unsupported(what: string): MeteringError {
  return new MeteringError(`the module uses ${what}, which instruction metering does not support`, {
    hint: 'compile the module for WebAssembly 2.0 without exceptions, tail calls or threads',
  });
}

function invalid(what: string): MeteringError {
  return new MeteringError(`not a valid WebAssembly module: ${what}`);
}

function name(reader: Reader): string {
  const length = reader.u32();
  return Buffer.from(reader.take(length)).toString('utf8');
}

function skipLimits(reader: Reader): void {
  const flags = reader.u32();
  reader.leb();
  if (flags & 1) reader.leb();
}

function valueType(reader: Reader): number {
  const type = reader.byte();
  if (!VALUE_TYPES.has(type)) throw unsupported(`value type 0x${type.toString(16)} (typed references or GC)`);
  return type;
}

function parseTypes(reader: Reader): FuncType[] {
  const types: FuncType[] = [];
  for (let i = reader.u32(); i > 0; i--) {
    const form = reader.byte();
    if (form !== 0x60) throw unsupported(`type form 0x${form.toString(16)} (GC types)`);
    const params: number[] = [];
    for (let n = reader.u32(); n > 0; n--) params.push(valueType(reader));
    for (let n = reader.u32(); n > 0; n--) valueType(reader);
    types.push({ params });
  }
  return types;
}

/** Counts the imported functions and globals (they come first in their index spaces). */
function parseImports(reader: Reader): { functions: number; globals: number } {
  const counts = { functions: 0, globals: 0 };
  for (let i = reader.u32(); i > 0; i--) {
    name(reader);
    name(reader);
    const kind = reader.byte();
    if (kind === 0) {
      reader.u32();
      counts.functions++;
    } else if (kind === 1) {
      reader.byte();
      skipLimits(reader);
    } else if (kind === 2) {
      skipLimits(reader);
    } else if (kind === 3) {
      valueType(reader);
      reader.byte();
      counts.globals++;
    } else {
      throw unsupported(`import kind ${kind}`);
    }
  }
  return counts;
}

/** Skips one instruction's immediates; `op` has been read. */
function skipImmediates(reader: Reader, op: number): void {
  if (op === OP.block || op === OP.loop || op === OP.if) {
    reader.sleb();
  } else if (op === OP.br || op === OP.brIf || op === OP.call || op === 0xd2) {
    reader.u32();
  } else if (op === OP.brTable) {
    for (let n = reader.u32(); n >= 0; n--) reader.u32();
  } else if (op === OP.callIndirect) {
    reader.u32();
    reader.u32();
  } else if (op === 0x1c) {
    for (let n = reader.u32(); n > 0; n--) valueType(reader);
  } else if (op >= 0x20 && op <= 0x26) {
    reader.u32(); // local, global, table index
  } else if (op >= 0x28 && op <= 0x3e) {
    memarg(reader);
  } else if (op === 0x3f || op === 0x40) {
    reader.u32();
  } else if (op === OP.i32Const || op === OP.i64Const) {
    reader.sleb();
  } else if (op === 0x43) {
    reader.take(4);
  } else if (op === 0x44) {
    reader.take(8);
  } else if (op === 0xd0) {
    reader.sleb(); // heap type
  } else if (op === 0xfc) {
    skipMiscImmediates(reader);
  } else if (op === 0xfd) {
    skipSimdImmediates(reader);
  } else if (
    !(op === OP.unreachable || op === 0x01 || op === OP.else || op === OP.end || op === OP.return) &&
    !(op === 0x1a || op === 0x1b) &&
    !(op >= 0x45 && op <= 0xc4) &&
    op !== 0xd1
  ) {
    throw unsupported(UNSUPPORTED[op] ?? `opcode 0x${op.toString(16)}`);
  }
}

function memarg(reader: Reader): void {
  const align = reader.u32();
  if (align & 0x40) reader.u32(); // multi-memory: the memory index
  reader.leb();
}

function skipMiscImmediates(reader: Reader): void {
  const sub = reader.u32();
  if (sub <= 7) return; // saturating truncations
  if (sub === 8) {
    reader.u32();
    reader.u32();
  } else if (sub === 9 || sub === 11 || sub === 13 || sub === 15 || sub === 16 || sub === 17) {
    reader.u32();
  } else if (sub === 10 || sub === 12 || sub === 14) {
    reader.u32();
    reader.u32();
  } else {
    throw unsupported(`opcode 0xfc ${sub}`);
  }
}

function skipSimdImmediates(reader: Reader): void {
  const sub = reader.u32();
  if (sub <= 11 || sub === 92 || sub === 93) memarg(reader);
  else if (sub === 12 || sub === 13) reader.take(16);
  else if (sub >= 21 && sub <= 34) reader.byte();
  else if (sub >= 84 && sub <= 91) {
    memarg(reader);
    reader.byte();
  } else if (sub > 0x113) throw unsupported(`SIMD opcode 0xfd ${sub}`);
}

type Globals = { left: number[]; stack: number[]; growFailed: number[] };

function charge(globals: Globals, count: number, scratch: number[]): number[] {
  const { left } = globals;
  return [
    OP.globalGet,
    ...left,
    OP.i64Const,
    ...sleb(count),
    OP.i64Sub,
    OP.localTee,
    ...scratch,
    OP.globalSet,
    ...left,
    OP.localGet,
    ...scratch,
    OP.i64Const,
    0,
    OP.i64LtS,
    OP.if,
    OP.emptyBlockType,
    OP.unreachable,
    OP.end,
  ];
}

/**
 * Rewrites one function body (the bytes after its size). Returns the new body and its block count.
 * `params` are the function's parameter types, for the frame estimate.
 */
function meterBody(
  body: Uint8Array,
  params: number[],
  globals: Globals,
): { body: Uint8Array; blocks: number } {
  const reader = new Reader(body);
  const localEntries: [count: number, type: number][] = [];
  let slots = params.reduce((sum, type) => sum + (type === V128 ? 2 : 1), 0);
  let locals = params.length;
  for (let n = reader.u32(); n > 0; n--) {
    const count = reader.u32();
    const type = valueType(reader);
    locals += count;
    if (locals > 50_000) throw invalid('more than 50000 locals in a function');
    slots += count * (type === V128 ? 2 : 1);
    localEntries.push([count, type]);
  }

  // Split into instructions and basic blocks.
  const starts: number[] = [];
  const blockStarts = new Map<number, number>(); // instruction index → the block's instruction count
  const control: ('block' | 'loop' | 'if' | 'function')[] = ['function'];
  let calls = false;
  let grows = false;
  let blockStart = 0;
  let count = 0;
  for (let index = 0; control.length > 0; index++) {
    if (reader.offset >= body.length) throw invalid('function body ends inside a block');
    starts.push(reader.offset);
    const op = reader.byte();
    skipImmediates(reader, op);
    count++;
    let split = false;
    switch (op) {
      case OP.block:
        control.push('block');
        break;
      case OP.loop:
        control.push('loop');
        split = true;
        break;
      case OP.if:
        control.push('if');
        split = true;
        break;
      case OP.else:
        split = true;
        break;
      case OP.end: {
        const kind = control.pop();
        split = kind === 'block' || kind === 'if';
        break;
      }
      case OP.call:
      case OP.callIndirect:
        calls = true;
        split = true;
        break;
      case OP.memoryGrow:
        grows = true;
        break;
      case OP.br:
      case OP.brIf:
      case OP.brTable:
      case OP.return:
      case OP.unreachable:
        split = true;
        break;
    }
    if (split || control.length === 0) {
      blockStarts.set(blockStart, count);
      blockStart = index + 1;
      count = 0;
    }
  }
  if (reader.offset !== body.length) throw invalid('bytes after the end of a function body');
  starts.push(body.length);

  // Appended locals: the frame's top (functions that call), a scratch for memory.grow's result.
  const topLocal = uleb(locals);
  const growLocal = uleb(locals + (calls ? 1 : 0));
  const added = (calls ? 1 : 0) + (grows ? 1 : 0);
  const leftLocal = uleb(locals + added);
  const entries: [number, number][] = [...localEntries];
  if (added > 0) entries.push([added, I32]);
  entries.push([1, I64]);
  const out = new ByteWriter();
  out.push(uleb(entries.length));
  for (const [n, type] of entries) out.push([...uleb(n), type]);
  if (calls) {
    const frame = FRAME_BASE_BYTES + SLOT_BYTES * (slots + 1);
    const { stack } = globals;
    out.push([
      ...[OP.globalGet, ...stack, OP.i32Const, ...sleb(frame), OP.i32Add],
      ...[OP.localTee, ...topLocal, OP.globalSet, ...stack],
      ...[OP.localGet, ...topLocal, OP.i32Const, ...sleb(STACK_LIMIT_BYTES), OP.i32GtU],
      ...[OP.if, OP.emptyBlockType, OP.unreachable, OP.end],
    ]);
  }
  const restore = [OP.localGet, ...topLocal, OP.globalSet, ...globals.stack];
  // memory.grow returned -1: remembered, so a trap that follows is told apart as out-of-memory.
  const noteGrow = [
    ...[OP.localTee, ...growLocal, OP.i32Const, ...sleb(-1), OP.i32Eq],
    ...[OP.if, OP.emptyBlockType, OP.i32Const, 1, OP.globalSet, ...globals.growFailed, OP.end],
    ...[OP.localGet, ...growLocal],
  ];
  for (let i = 0; i + 1 < starts.length; i++) {
    const blockCount = blockStarts.get(i);
    if (blockCount !== undefined) out.push(charge(globals, blockCount, leftLocal));
    const start = starts[i] as number;
    out.push(body.subarray(start, starts[i + 1]));
    const op = body[start];
    if (op === OP.call || op === OP.callIndirect) out.push(restore);
    else if (op === OP.memoryGrow) out.push(noteGrow);
  }
  return { body: out.toBytes(), blocks: blockStarts.size };
}

export type MeteredModule = {
  bytes: Uint8Array;
  /** Basic blocks instrumented, over all functions. */
  blocks: number;
  /** The module had a start section, now exported as START_EXPORT. */
  hasStart: boolean;
};

type Section = { id: number; content: Uint8Array };

/** Appends entries to a vector section's content (count first). */
function appendToVector(content: Uint8Array | undefined, entries: number[][]): Uint8Array {
  const reader = new Reader(content ?? new Uint8Array([0]));
  const count = reader.u32();
  const out = new ByteWriter();
  out.push(uleb(count + entries.length));
  out.push(reader.bytes.subarray(reader.offset));
  for (const entry of entries) out.push(entry);
  return out.toBytes();
}

function exportEntry(exportName: string, kind: number, index: number): number[] {
  const bytes = Buffer.from(exportName, 'utf8');
  return [...uleb(bytes.length), ...bytes, kind, ...uleb(index)];
}

// Where a section goes when the module has none (the binary format's order, tags between memory and global).
const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

/** The metered module; throws MeteringError for modules it cannot meter. */
export function meterModule(bytes: Uint8Array): MeteredModule {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d)
    throw invalid('missing the \\0asm header');
  const reader = new Reader(bytes, 8);
  const sections: Section[] = [];
  while (reader.offset < bytes.length) {
    const id = reader.byte();
    const size = reader.u32();
    sections.push({ id, content: reader.take(size) });
  }
  const find = (id: number) => sections.find((s) => s.id === id);

  const types = find(SECTION.type) ? parseTypes(new Reader(find(SECTION.type)?.content as Uint8Array)) : [];
  const imported = find(SECTION.import)
    ? parseImports(new Reader(find(SECTION.import)?.content as Uint8Array))
    : { functions: 0, globals: 0 };
  const functionTypes: number[] = [];
  const functionSection = find(SECTION.function);
  if (functionSection) {
    const r = new Reader(functionSection.content);
    for (let n = r.u32(); n > 0; n--) functionTypes.push(r.u32());
  }
  const globalSection = find(SECTION.global);
  const definedGlobals = globalSection ? new Reader(globalSection.content).u32() : 0;
  const leftIndex = imported.globals + definedGlobals;
  const globals: Globals = {
    left: uleb(leftIndex),
    stack: uleb(leftIndex + 1),
    growFailed: uleb(leftIndex + 2),
  };

  const exportNames = new Set<string>();
  const exportSection = find(SECTION.export);
  if (exportSection) {
    const r = new Reader(exportSection.content);
    for (let n = r.u32(); n > 0; n--) {
      exportNames.add(name(r));
      r.byte();
      r.u32();
    }
  }
  for (const reserved of [INSTRUCTIONS_LEFT_EXPORT, STACK_BYTES_EXPORT, GROW_FAILED_EXPORT, START_EXPORT]) {
    if (exportNames.has(reserved)) throw new MeteringError(`the module already exports "${reserved}"`);
  }

  let blocks = 0;
  const codeSection = find(SECTION.code);
  if (codeSection) {
    const r = new Reader(codeSection.content);
    const count = r.u32();
    if (count !== functionTypes.length) throw invalid('function and code sections disagree');
    const out = new ByteWriter();
    out.push(uleb(count));
    for (let i = 0; i < count; i++) {
      const size = r.u32();
      const type = types[functionTypes[i] as number];
      if (!type) throw invalid(`function ${imported.functions + i} has no type`);
      const metered = meterBody(r.take(size), type.params, globals);
      blocks += metered.blocks;
      out.push(uleb(metered.body.length));
      out.push(metered.body);
    }
    if (r.offset !== codeSection.content.length) throw invalid('code section has trailing bytes');
    codeSection.content = out.toBytes();
  }

  const newGlobals = [
    [I64, 0x01, OP.i64Const, 0, OP.end],
    [I32, 0x01, OP.i32Const, 0, OP.end],
    [I32, 0x01, OP.i32Const, 0, OP.end],
  ];
  const newExports = [
    exportEntry(INSTRUCTIONS_LEFT_EXPORT, 0x03, leftIndex),
    exportEntry(STACK_BYTES_EXPORT, 0x03, leftIndex + 1),
    exportEntry(GROW_FAILED_EXPORT, 0x03, leftIndex + 2),
  ];
  const startSection = find(SECTION.start);
  if (startSection) {
    newExports.push(exportEntry(START_EXPORT, 0x00, new Reader(startSection.content).u32()));
    sections.splice(sections.indexOf(startSection), 1);
  }
  const put = (id: number, content: Uint8Array) => {
    const existing = find(id);
    if (existing) {
      existing.content = content;
      return;
    }
    const rank = ORDER.indexOf(id);
    const at = sections.findIndex((s) => s.id !== SECTION.custom && ORDER.indexOf(s.id) > rank);
    sections.splice(at === -1 ? sections.length : at, 0, { id, content });
  };
  put(SECTION.global, appendToVector(globalSection?.content, newGlobals));
  put(SECTION.export, appendToVector(exportSection?.content, newExports));

  const out = new ByteWriter();
  out.push(bytes.subarray(0, 8));
  for (const section of sections) {
    out.push([section.id, ...uleb(section.content.length)]);
    out.push(section.content);
  }
  return { bytes: out.toBytes(), blocks, hasStart: startSection !== undefined };
}
