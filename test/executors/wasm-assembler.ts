/**
 * A tiny WebAssembly assembler for tests: enough to write WASI commands by hand (imports, one memory,
 * functions, exports, data), so each test's module is a few readable lines instead of a blob.
 */
import { sleb, uleb } from '../../src/executors/wasm/binary.js';

export const i32 = 0x7f;
export const i64 = 0x7e;

export type FuncType = { params: number[]; results: number[] };
export type Import = { module: string; name: string; type: FuncType };
export type Func = { type: FuncType; locals?: number[]; body: number[]; export?: string };

export { sleb, uleb };

const text = (s: string) => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];

/** Instructions. */
export const op = {
  unreachable: [0x00],
  nop: [0x01],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  brTable: (depths: number[], otherwise: number) => [
    0x0e,
    ...uleb(depths.length),
    ...depths.flatMap((d) => uleb(d)),
    ...uleb(otherwise),
  ],
  return: [0x0f],
  call: (index: number) => [0x10, ...uleb(index)],
  drop: [0x1a],
  localGet: (index: number) => [0x20, ...uleb(index)],
  localSet: (index: number) => [0x21, ...uleb(index)],
  localTee: (index: number) => [0x22, ...uleb(index)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32: (value: number) => [0x41, ...sleb(value)],
  /** i32.load at the address on the stack. */
  i32Load: [0x28, 0x02, 0x00],
  i64: (value: number | bigint) => [0x42, ...sleb(value)],
  memoryGrow: [0x40, 0x00],
  i32Eq: [0x46],
  i32Ne: [0x47],
  /** i32.store8 at the address below the value on the stack. */
  i32Store8: [0x3a, 0x00, 0x00],
};

export type ModuleSpec = {
  imports?: Import[];
  memory?: { min: number; max?: number };
  /** funcref tables, exported as "table0", "table1", … */
  tables?: { min: number; max?: number }[];
  funcs: Func[];
  data?: { offset: number; bytes: Uint8Array | string }[];
  /** The start section: a function index (imports first). */
  start?: number;
};

/** Assembles a module; the memory (if any) is exported as "memory". */
export function assemble(spec: ModuleSpec): Uint8Array {
  const imports = spec.imports ?? [];
  const types: FuncType[] = [];
  const typeIndex = (type: FuncType) => {
    const key = JSON.stringify(type);
    const found = types.findIndex((t) => JSON.stringify(t) === key);
    if (found >= 0) return found;
    types.push(type);
    return types.length - 1;
  };
  const importEntries = imports.map((imp) => [
    ...text(imp.module),
    ...text(imp.name),
    0x00,
    ...uleb(typeIndex(imp.type)),
  ]);
  const funcTypes = spec.funcs.map((f) => uleb(typeIndex(f.type)));
  const exports: number[][] = [];
  spec.funcs.forEach((f, i) => {
    if (f.export) exports.push([...text(f.export), 0x00, ...uleb(imports.length + i)]);
  });
  if (spec.memory) exports.push([...text('memory'), 0x02, 0x00]);
  for (let i = 0; i < (spec.tables?.length ?? 0); i++) exports.push([...text(`table${i}`), 0x01, ...uleb(i)]);
  const limits = ({ min, max }: { min: number; max?: number }) =>
    max === undefined ? [0x00, ...uleb(min)] : [0x01, ...uleb(min), ...uleb(max)];
  const bodies = spec.funcs.map((f) => {
    const locals = (f.locals ?? []).map((type) => [1, type]);
    const body = [...vec(locals), ...f.body, ...op.end];
    return [...uleb(body.length), ...body];
  });
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(
      1,
      vec(types.map((t) => [0x60, ...vec(t.params.map((p) => [p])), ...vec(t.results.map((r) => [r]))])),
    ),
    ...(imports.length ? section(2, vec(importEntries)) : []),
    ...section(3, vec(funcTypes)),
    ...(spec.tables?.length ? section(4, vec(spec.tables.map((t) => [0x70, ...limits(t)]))) : []),
    ...(spec.memory ? section(5, vec([limits(spec.memory)])) : []),
    ...section(7, vec(exports)),
    ...(spec.start === undefined ? [] : section(8, uleb(spec.start))),
    ...section(10, vec(bodies)),
    ...(spec.data?.length
      ? section(
          11,
          vec(
            spec.data.map((d) => {
              const content = typeof d.bytes === 'string' ? Buffer.from(d.bytes) : d.bytes;
              return [0x00, ...op.i32(d.offset), ...op.end, ...uleb(content.length), ...content];
            }),
          ),
        )
      : []),
  ];
  return Uint8Array.from(bytes);
}

/** WASI preview1 function types the tests use. */
export const wasi = {
  fd_write: {
    module: 'wasi_snapshot_preview1',
    name: 'fd_write',
    type: { params: [i32, i32, i32, i32], results: [i32] },
  },
  proc_exit: { module: 'wasi_snapshot_preview1', name: 'proc_exit', type: { params: [i32], results: [] } },
  clock_time_get: {
    module: 'wasi_snapshot_preview1',
    name: 'clock_time_get',
    type: { params: [i32, i64, i32], results: [i32] },
  },
  random_get: {
    module: 'wasi_snapshot_preview1',
    name: 'random_get',
    type: { params: [i32, i32], results: [i32] },
  },
  fd_seek: {
    module: 'wasi_snapshot_preview1',
    name: 'fd_seek',
    type: { params: [i32, i64, i32, i32], results: [i32] },
  },
  proc_raise: {
    module: 'wasi_snapshot_preview1',
    name: 'proc_raise',
    type: { params: [i32], results: [i32] },
  },
  /** (dirfd, lookupflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags, fd_out) */
  path_open: {
    module: 'wasi_snapshot_preview1',
    name: 'path_open',
    type: { params: [i32, i32, i32, i32, i32, i64, i64, i32, i32], results: [i32] },
  },
  /** (old_path, old_len, dirfd, new_path, new_len) */
  path_symlink: {
    module: 'wasi_snapshot_preview1',
    name: 'path_symlink',
    type: { params: [i32, i32, i32, i32, i32], results: [i32] },
  },
} satisfies Record<string, Import>;

export const start: FuncType = { params: [], results: [] };

/** Little-endian u32 pairs: an iovec array for fd_write. */
export function iovec(ptr: number, length: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, ptr, true);
  view.setUint32(4, length, true);
  return bytes;
}
