import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitMemory, MemoryLimitError } from '../../src/executors/wasm/binary.js';
import { activeWasmWorkers, FIXED_TIME_NS, WasmExecutor } from '../../src/executors/wasm/wasm-executor.js';
import { validateInputs } from '../../src/modules/inputs.js';
import { type ResolvedModule, resolveModule } from '../../src/modules/resolve.js';
import { folderCid } from '../../src/storage/unixfs.js';
import { MOO_STDOUT } from '../fixtures/cow.js';
import { assemble, type ModuleSpec, op, start, wasi } from './wasm-assembler.js';
import { type Workspace, workspace, writeOut } from './wasm-jobs.js';

const COW = MOO_STDOUT.split('\n').slice(3).join('\n');

let ws: Workspace;
let cowsay: ResolvedModule;
const executor = new WasmExecutor();

beforeAll(async () => {
  ws = await workspace();
  cowsay = await resolveModule('cowsay:v0.0.1');
});

afterAll(async () => {
  await ws.remove();
});

const nextBundle = () => ws.nextBundle();
const moduleJob: Workspace['moduleJob'] = (spec, job) => ws.moduleJob(spec, job);

async function runCowsay(message: string, seed = '0x01') {
  const bundleDir = nextBundle();
  const result = await executor.run({
    moduleDir: cowsay.dir,
    manifest: cowsay.manifest,
    inputs: validateInputs(cowsay.manifest, { Message: message }),
    seed,
    bundleDir,
  });
  return { result, stdout: await readFile(join(bundleDir, 'stdout'), 'utf8') };
}

describe('cowsay on the WASM executor', () => {
  it('prints the classic cow for "moo"', async () => {
    const { result, stdout } = await runCowsay('moo');
    expect(stdout).toBe(MOO_STDOUT);
    expect(result.status).toBe('succeeded');
    expect(result.exitCode).toBe(0);
    expect(result.instructionCount).toBe(19_052n);
    expect(await readFile(join(result.bundleDir, 'exitCode'), 'utf8')).toBe('0\n');
    expect(await readFile(join(result.bundleDir, 'stderr'), 'utf8')).toBe('');
    expect((await readdir(result.bundleDir)).sort()).toEqual(['exitCode', 'outputs', 'stderr', 'stdout']);
    expect(await readdir(join(result.bundleDir, 'outputs'))).toEqual([]);
  });

  it('wraps a long message at 40 columns like cowsay', async () => {
    const { stdout } = await runCowsay(
      'The quick brown fox jumps over the lazy dog and keeps running past the river bank until dusk ' +
        'supercalifragilisticexpialidocious-and-even-longer-words-here',
    );
    expect(stdout).toBe(
      [
        ' _________________________________________',
        '/ The quick brown fox jumps over the lazy \\',
        '| dog and keeps running past the river    |',
        '| bank until dusk                         |',
        '| supercalifragilisticexpialidocious-and- |',
        '\\ even-longer-words-here                  /',
        ' -----------------------------------------',
        COW,
      ].join('\n'),
    );
  });

  it('pads by display width and keeps UTF-8 intact', async () => {
    const { stdout } = await runCowsay('héllo 日本 👍');
    expect(stdout.split('\n').slice(0, 3)).toEqual([
      ' _______________',
      '< héllo 日本 👍 >',
      ' ---------------',
    ]);
  });

  it('gives byte-identical bundles for the same inputs', async () => {
    const a = await runCowsay('same bytes, please');
    const b = await runCowsay('same bytes, please');
    for (const file of ['stdout', 'stderr', 'exitCode']) {
      expect(await readFile(join(b.result.bundleDir, file))).toEqual(
        await readFile(join(a.result.bundleDir, file)),
      );
    }
    expect((await folderCid(b.result.bundleDir)).toString()).toBe(
      (await folderCid(a.result.bundleDir)).toString(),
    );
  });

  it('reports start and finish', async () => {
    const events: string[] = [];
    await executor.run(
      {
        moduleDir: cowsay.dir,
        manifest: cowsay.manifest,
        inputs: validateInputs(cowsay.manifest, {}),
        seed: '0x02',
        bundleDir: nextBundle(),
      },
      { onProgress: (event) => events.push(event.type) },
    );
    expect(events).toEqual(['execution:started', 'execution:finished']);
  });
});

describe('WASM executor limits and determinism', () => {
  it('times out an infinite loop within the limit and ends the worker', async () => {
    const job = await moduleJob(
      {
        memory: { min: 1 },
        funcs: [{ type: start, export: '_start', body: [...op.loop, ...op.br(0), ...op.end] }],
      },
      { limits: { wallTimeMs: 300 } },
    );
    const started = performance.now();
    const result = await executor.run(job);
    const elapsed = performance.now() - started;
    expect(result.status).toBe('timed-out');
    expect(result.exitCode).toBe(124);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
    expect(activeWasmWorkers()).toBe(0);
    expect(await readFile(join(job.bundleDir, 'exitCode'), 'utf8')).toBe('124\n');
  });

  it('stops a memory bomb at the memory limit', async () => {
    // Grow a page at a time until memory.grow fails, then trap.
    const body = [
      ...op.loop,
      ...op.i32(1),
      ...op.memoryGrow,
      ...op.i32(-1),
      ...op.i32Ne,
      ...op.brIf(0),
      ...op.end,
      ...op.unreachable,
    ];
    const job = await moduleJob({ memory: { min: 1 }, funcs: [{ type: start, export: '_start', body }] });
    const result = await executor.run(job);
    expect(result.status).toBe('out-of-memory');
    expect(result.exitCode).toBe(137);
    expect(result.trace.memoryPeakBytes).toBe(16 * 65_536); // the manifest's memoryPages
  });

  it('refuses a module whose initial memory is over the limit', async () => {
    const job = await moduleJob(
      { memory: { min: 64 }, funcs: [{ type: start, export: '_start', body: [] }] },
      { limits: { memoryBytes: 32 * 65_536 } },
    );
    const result = await executor.run(job);
    expect(result.status).toBe('out-of-memory');
  });

  it('cuts an output flood at the output limit', async () => {
    const line = 'y\n'.repeat(512);
    const write = writeOut(0, line.length, 2048);
    const job = await moduleJob(
      {
        imports: [wasi.fd_write],
        memory: { min: 1 },
        data: [{ offset: 0, bytes: line }, write.data],
        funcs: [{ type: start, export: '_start', body: [...op.loop, ...write.body, ...op.br(0), ...op.end] }],
      },
      { limits: { outputBytes: 100_000 } },
    );
    const result = await executor.run(job);
    expect(result.status).toBe('output-limit');
    expect(result.exitCode).toBe(153);
    expect((await stat(join(job.bundleDir, 'stdout'))).size).toBe(100_000);
  });

  it('reads the same fixed time from the clock twice', async () => {
    const write = writeOut(32, 16, 64);
    const body = [
      ...op.i32(0),
      ...op.i64(1),
      ...op.i32(32),
      ...op.call(1),
      ...op.drop,
      ...op.i32(1),
      ...op.i64(1),
      ...op.i32(40),
      ...op.call(1),
      ...op.drop,
      ...write.body,
    ];
    const job = await moduleJob({
      imports: [wasi.fd_write, wasi.clock_time_get],
      memory: { min: 1 },
      data: [write.data],
      funcs: [{ type: start, export: '_start', body }],
    });
    const result = await executor.run(job);
    expect(result.status).toBe('succeeded');
    const stdout = await readFile(join(job.bundleDir, 'stdout'));
    expect(stdout.length).toBe(16);
    expect(stdout.readBigUInt64LE(0)).toBe(FIXED_TIME_NS);
    expect(stdout.readBigUInt64LE(8)).toBe(FIXED_TIME_NS);
  });

  it('gives random_get the same bytes for the same seed, others for another', async () => {
    const write = writeOut(128, 64, 256);
    const spec: ModuleSpec = {
      imports: [wasi.fd_write, wasi.random_get],
      memory: { min: 1 },
      data: [write.data],
      funcs: [
        {
          type: start,
          export: '_start',
          body: [
            ...[...op.i32(128), ...op.i32(40), ...op.call(1), ...op.drop],
            ...[...op.i32(168), ...op.i32(24), ...op.call(1), ...op.drop],
            ...write.body,
          ],
        },
      ],
    };
    const random = async (seed: string) => {
      const job = await moduleJob(spec, { seed });
      await executor.run(job);
      return readFile(join(job.bundleDir, 'stdout'));
    };
    const a = await random('0xdeadbeef');
    const b = await random('0xdeadbeef');
    const c = await random('0xdeadbef0');
    expect(a.length).toBe(64);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(a.equals(Buffer.alloc(64))).toBe(false);
  });

  it('keeps stdout a stream and signals away from the host', async () => {
    const write = writeOut(200, 2, 256);
    const body = [
      // memory[200] = fd_seek(1, 2^40, SET, 208): a sparse stdout would dodge the output limit.
      ...[
        ...op.i32(200),
        ...op.i32(1),
        ...op.i64(2n ** 40n),
        ...op.i32(0),
        ...op.i32(208),
        ...op.call(1),
        ...op.i32Store8,
      ],
      // memory[201] = proc_raise(SIGKILL): uvwasi would signal the whole host process.
      ...[...op.i32(201), ...op.i32(9), ...op.call(2), ...op.i32Store8],
      ...write.body,
    ];
    const job = await moduleJob({
      imports: [wasi.fd_write, wasi.fd_seek, wasi.proc_raise],
      memory: { min: 1 },
      data: [write.data],
      funcs: [{ type: start, export: '_start', body }],
    });
    const result = await executor.run(job);
    expect(result.status).toBe('succeeded');
    expect([...(await readFile(join(job.bundleDir, 'stdout')))]).toEqual([70, 52]); // ESPIPE, ENOSYS
  });

  it('refuses imports outside wasi_snapshot_preview1, naming them', async () => {
    const job = await moduleJob({
      imports: [{ module: 'env', name: 'sneaky_network', type: { params: [], results: [] } }],
      memory: { min: 1 },
      funcs: [{ type: start, export: '_start', body: [] }],
    });
    await expect(executor.run(job)).rejects.toThrow(/env\.sneaky_network/);
  });

  it('captures a non-zero exit code', async () => {
    const job = await moduleJob({
      imports: [wasi.proc_exit],
      memory: { min: 1 },
      funcs: [{ type: start, export: '_start', body: [...op.i32(42), ...op.call(0)] }],
    });
    const result = await executor.run(job);
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(42);
    expect(await readFile(join(job.bundleDir, 'exitCode'), 'utf8')).toBe('42\n');
  });

  it('reports a trap as failed', async () => {
    const job = await moduleJob({
      memory: { min: 1 },
      funcs: [{ type: start, export: '_start', body: [...op.unreachable] }],
    });
    const result = await executor.run(job);
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(134);
  });

  it('cancels on abort and ends the worker', async () => {
    const job = await moduleJob({
      memory: { min: 1 },
      funcs: [{ type: start, export: '_start', body: [...op.loop, ...op.br(0), ...op.end] }],
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const result = await executor.run(job, { signal: controller.signal });
    expect(result.status).toBe('cancelled');
    expect(result.exitCode).toBe(130);
    expect(activeWasmWorkers()).toBe(0);
  });

  it('refuses a bundle folder that is not empty', async () => {
    const job = await moduleJob({ memory: { min: 1 }, funcs: [{ type: start, export: '_start', body: [] }] });
    await mkdir(job.bundleDir, { recursive: true });
    await writeFile(join(job.bundleDir, 'stale'), 'x');
    await expect(executor.run(job)).rejects.toThrow(/not empty/);
  });
});

describe('limitMemory', () => {
  const bytes = (memory: ModuleSpec['memory']) =>
    assemble({ memory, funcs: [{ type: start, export: '_start', body: [] }] });

  it('caps a missing or larger maximum at the limit and keeps a smaller one', () => {
    expect(limitMemory(bytes({ min: 1 }), 8).memories).toEqual([{ initialPages: 1n, maxPages: 8n }]);
    expect(limitMemory(bytes({ min: 1, max: 100 }), 8).memories).toEqual([
      { initialPages: 1n, maxPages: 8n },
    ]);
    expect(limitMemory(bytes({ min: 1, max: 4 }), 8).memories).toEqual([{ initialPages: 1n, maxPages: 4n }]);
    // Multi-byte LEB128 sizes survive the rewrite.
    const big = limitMemory(bytes({ min: 200 }), 70_000);
    expect(big.memories).toEqual([{ initialPages: 200n, maxPages: 70_000n }]);
    expect(limitMemory(big.bytes, 300).memories).toEqual([{ initialPages: 200n, maxPages: 300n }]);
  });

  it('throws when the initial memory is over the limit', () => {
    expect(() => limitMemory(bytes({ min: 10 }), 8)).toThrow(MemoryLimitError);
  });

  it('rejects bytes that are not WebAssembly', () => {
    expect(() => limitMemory(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 8)).toThrow(/not a valid WebAssembly/);
  });
});
