/**
 * Hostile modules on the WASM executor: each is stopped (or refused) with a clear reason, its job
 * thread is reclaimed, and the next ordinary job runs as if nothing happened.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionJob, ExecutionStatus } from '../../src/executors/executor.js';
import { limitTables, TABLE_ENTRIES_LIMIT } from '../../src/executors/wasm/binary.js';
import { activeWasmWorkers, WasmExecutor } from '../../src/executors/wasm/wasm-executor.js';
import { assemble, iovec, type ModuleSpec, op, start, wasi } from './wasm-assembler.js';
import { type Workspace, workspace, writeOut } from './wasm-jobs.js';

const executor = new WasmExecutor();
let ws: Workspace;

beforeAll(async () => {
  ws = await workspace('lilypad-hostile-');
});

afterAll(async () => {
  await ws.remove();
});

const main = (body: number[], more: Omit<ModuleSpec, 'funcs'> = {}): ModuleSpec => ({
  memory: { min: 1 },
  ...more,
  funcs: [{ type: start, export: '_start', body }],
});

const hello = 'hello\n';
const ordinary = {
  imports: [wasi.fd_write],
  memory: { min: 1 },
  data: [{ offset: 0, bytes: hello }, writeOut(0, hello.length, 64).data],
  funcs: [{ type: start, export: '_start', body: writeOut(0, hello.length, 64).body }],
} satisfies ModuleSpec;

const RIGHT_FD_WRITE = 1n << 6n;
const OFLAGS_CREAT = 1;
const INPUTS_FD = 3;
const OUTPUTS_FD = 4;

/** Opens /outputs/big and writes 64 KiB of zeros to it forever. */
const fileFlood = main(
  [
    ...[...op.i32(OUTPUTS_FD), ...op.i32(0), ...op.i32(1000), ...op.i32(3), ...op.i32(OFLAGS_CREAT)],
    ...[...op.i64(RIGHT_FD_WRITE), ...op.i64(0), ...op.i32(0), ...op.i32(1100), ...op.call(0), ...op.drop],
    ...op.loop,
    ...[
      ...op.i32(1100),
      ...op.i32Load,
      ...op.i32(1200),
      ...op.i32(1),
      ...op.i32(1300),
      ...op.call(1),
      ...op.drop,
    ],
    ...op.br(0),
    ...op.end,
  ],
  {
    imports: [wasi.path_open, wasi.fd_write],
    memory: { min: 2 },
    data: [
      { offset: 1000, bytes: 'big' },
      { offset: 1200, bytes: iovec(65_536, 65_536) },
    ],
  },
);

type Hostile = {
  name: string;
  spec: ModuleSpec;
  limits?: ExecutionJob['limits'];
  status: ExecutionStatus;
  exitCode: number;
  reason: RegExp;
};

const hostile: Hostile[] = [
  {
    name: 'an infinite loop, at its wall-time limit',
    spec: main([...op.loop, ...op.br(0), ...op.end]),
    limits: { wallTimeMs: 200 },
    status: 'timed-out',
    exitCode: 124,
    reason: /timed out after 200 ms/,
  },
  {
    name: 'an infinite loop, at its instruction budget',
    spec: main([...op.loop, ...op.br(0), ...op.end]),
    limits: { instructions: 1_000_000n },
    status: 'instruction-limit',
    exitCode: 152,
    reason: /instruction budget of 1000000 exhausted/,
  },
  {
    name: 'a memory bomb',
    spec: main([
      ...op.loop,
      ...[...op.i32(1), ...op.memoryGrow, ...op.i32(-1), ...op.i32Ne, ...op.brIf(0)],
      ...op.end,
      ...op.unreachable,
    ]),
    status: 'out-of-memory',
    exitCode: 137,
    reason: /unreachable/,
  },
  {
    name: 'an output flood',
    spec: {
      ...ordinary,
      funcs: [
        {
          type: start,
          export: '_start',
          body: [...op.loop, ...writeOut(0, 6, 64).body, ...op.br(0), ...op.end],
        },
      ],
    },
    limits: { outputBytes: 10_000 },
    status: 'output-limit',
    exitCode: 153,
    reason: /output limit/,
  },
  {
    name: 'deep recursion',
    spec: {
      memory: { min: 1 },
      funcs: [
        { type: start, export: '_start', body: op.call(1) },
        { type: start, body: op.call(1) },
      ],
    },
    status: 'stack-overflow',
    exitCode: 139,
    reason: /call stack limit reached/,
  },
  {
    name: 'a huge file write',
    spec: fileFlood,
    limits: { fileBytes: 1_000_000 },
    status: 'file-limit',
    exitCode: 153,
    reason: /file bytes limit of 1000000/,
  },
];

describe('hostile modules', () => {
  for (const h of hostile) {
    it(`stops ${h.name}, reclaims the thread and keeps serving`, async () => {
      const result = await executor.run(await ws.moduleJob(h.spec, h.limits ? { limits: h.limits } : {}));
      expect(result.status).toBe(h.status);
      expect(result.exitCode).toBe(h.exitCode);
      expect(result.message).toMatch(h.reason);
      expect(await readFile(join(result.bundleDir, 'exitCode'), 'utf8')).toBe(`${h.exitCode}\n`);
      expect(activeWasmWorkers()).toBe(0);

      const next = await executor.run(await ws.moduleJob(ordinary));
      expect(next.status).toBe('succeeded');
      expect(await readFile(join(next.bundleDir, 'stdout'), 'utf8')).toBe(hello);
    });
  }

  it('stops deep recursion at the same instruction on every run', async () => {
    const spec = hostile.find((h) => h.name === 'deep recursion')?.spec as ModuleSpec;
    const first = await executor.run(await ws.moduleJob(spec));
    const second = await executor.run(await ws.moduleJob(spec));
    expect(first.instructionCount).toBeGreaterThan(10_000n);
    expect(second.instructionCount).toBe(first.instructionCount);
  });

  it('cuts a huge file at the limit: a created file costs 4 KiB, the rest is bytes written', async () => {
    const job = await ws.moduleJob(fileFlood, { limits: { fileBytes: 1_000_000 } });
    const result = await executor.run(job);
    expect(result.status).toBe('file-limit');
    expect((await stat(join(job.bundleDir, 'outputs', 'big'))).size).toBe(1_000_000 - 4096);
  });

  it('refuses forbidden imports by name before anything runs, then keeps serving', async () => {
    const job = await ws.moduleJob({
      imports: [
        { module: 'env', name: 'connect', type: { params: [], results: [] } },
        { module: 'wasi_snapshot_preview1', name: 'sock_open', type: { params: [], results: [] } },
      ],
      memory: { min: 1 },
      funcs: [{ type: start, export: '_start', body: [] }],
    });
    await expect(executor.run(job)).rejects.toThrow(
      /env\.connect \(function\), wasi_snapshot_preview1\.sock_open/,
    );
    expect(existsSync(job.bundleDir)).toBe(false);
    expect((await executor.run(await ws.moduleJob(ordinary))).status).toBe('succeeded');
  });
});

describe("tables, which live on the job thread's heap", () => {
  it('refuses a table bomb before anything runs, then keeps serving', async () => {
    // Found while fuzzing: (table 10000000 funcref) ran the job thread out of heap, which aborts the
    // whole process, not just the thread.
    const bomb = main([], { tables: [{ min: 10_000_000 }] });
    const result = await executor.run(await ws.moduleJob(bomb));
    expect(result.status).toBe('out-of-memory');
    expect(result.exitCode).toBe(137);
    expect(result.message).toMatch(/tables need 10000000 entries at start, more than the limit of 1000000/);
    const many = main([], { tables: Array.from({ length: 4 }, () => ({ min: 300_000 })) });
    expect((await executor.run(await ws.moduleJob(many))).message).toMatch(/tables need 1200000 entries/);
    expect((await executor.run(await ws.moduleJob(ordinary))).status).toBe('succeeded');
  });

  it('caps what the tables may grow to, together, at the limit', async () => {
    const capped = limitTables(assemble(main([], { tables: [{ min: 10 }, { min: 0, max: 5 }, { min: 0 }] })));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(capped)));
    const [grows, small, other] = ['table0', 'table1', 'table2'].map(
      (name) => instance.exports[name] as WebAssembly.Table,
    ) as [WebAssembly.Table, WebAssembly.Table, WebAssembly.Table];
    const share = Math.floor((TABLE_ENTRIES_LIMIT - 10) / 3);
    expect(() => small.grow(6)).toThrow(RangeError); // a smaller maximum is kept
    expect(() => grows.grow(share + 1)).toThrow(RangeError);
    grows.grow(share);
    other.grow(share);
    expect(grows.length + other.length).toBeLessThanOrEqual(TABLE_ENTRIES_LIMIT);
  });
});

describe('the module cannot leave its folders', () => {
  it('refuses ../, absolute paths, symbolic links and writes to /inputs, errno by errno', async () => {
    const inputsDir = join(ws.dir, 'inputs-escape');
    await mkdir(inputsDir, { recursive: true });
    await writeFile(join(inputsDir, 'data.txt'), 'data');
    await symlink('/etc', join(inputsDir, 'link'));

    const paths: string[] = [];
    const at = (path: string) => {
      paths.push(path);
      return 2000 + (paths.length - 1) * 32;
    };
    const attempts: [dirFd: number, path: string, oflags: number, rights: bigint][] = [
      [OUTPUTS_FD, '../escape', OFLAGS_CREAT, RIGHT_FD_WRITE],
      [OUTPUTS_FD, '/etc/passwd', 0, 0n],
      [INPUTS_FD, '../../etc/passwd', 0, 0n],
      [OUTPUTS_FD, 'sub/../../x', OFLAGS_CREAT, RIGHT_FD_WRITE],
      [INPUTS_FD, 'link/passwd', 0, 0n],
      [INPUTS_FD, 'link', 0, 0n],
      [INPUTS_FD, 'new.txt', OFLAGS_CREAT, RIGHT_FD_WRITE],
      [INPUTS_FD, 'data.txt', 0, RIGHT_FD_WRITE],
      [INPUTS_FD, 'data.txt', 0, 0n],
      [OUTPUTS_FD, 'ok.txt', OFLAGS_CREAT, RIGHT_FD_WRITE],
    ];
    const body: number[] = [];
    attempts.forEach(([dirFd, path, oflags, rights], i) => {
      const ptr = at(path);
      body.push(
        ...[
          ...op.i32(3000 + i),
          ...op.i32(dirFd),
          ...op.i32(0),
          ...op.i32(ptr),
          ...op.i32(Buffer.byteLength(path)),
        ],
        ...[...op.i32(oflags), ...op.i64(rights), ...op.i64(0), ...op.i32(0), ...op.i32(3500)],
        ...[...op.call(1), ...op.i32Store8],
      );
    });
    const link = at('/etc');
    const name = at('evil');
    body.push(
      ...[...op.i32(3000 + attempts.length), ...op.i32(link), ...op.i32(4), ...op.i32(OUTPUTS_FD)],
      ...[...op.i32(name), ...op.i32(4), ...op.call(2), ...op.i32Store8],
    );
    const count = attempts.length + 1;
    const write = writeOut(3000, count, 3600);
    const job = await ws.moduleJob(
      {
        imports: [wasi.fd_write, wasi.path_open, wasi.path_symlink],
        memory: { min: 1 },
        data: [...paths.map((path, i) => ({ offset: 2000 + i * 32, bytes: path })), write.data],
        funcs: [{ type: start, export: '_start', body: [...body, ...write.body] }],
      },
      { inputsDir },
    );
    const result = await executor.run(job);
    expect(result.status, result.message).toBe('succeeded');
    const ENOTCAPABLE = 76;
    const ELOOP = 32;
    const EROFS = 69;
    const ENOTSUP = 58;
    expect([...(await readFile(join(job.bundleDir, 'stdout')))]).toEqual([
      ENOTCAPABLE,
      ENOTCAPABLE,
      ENOTCAPABLE,
      ENOTCAPABLE,
      ELOOP,
      ELOOP,
      EROFS,
      EROFS,
      0,
      0,
      ENOTSUP,
    ]);
    expect(existsSync(join(dirname(job.bundleDir), 'escape'))).toBe(false);
    expect(existsSync(join(job.bundleDir, 'escape'))).toBe(false);
    expect(existsSync(join(inputsDir, 'new.txt'))).toBe(false);
    expect(await readFile(join(inputsDir, 'data.txt'), 'utf8')).toBe('data');
    expect(await readFile(join(job.bundleDir, 'outputs', 'ok.txt'), 'utf8')).toBe('');
  });
});
