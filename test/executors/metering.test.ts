/**
 * Instruction metering, counted by hand: every instruction is 1 (`end` and `else` when execution falls
 * through them), a host call is its `call`. See src/executors/wasm/metering.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionJob } from '../../src/executors/executor.js';
import {
  INSTRUCTIONS_LEFT_EXPORT,
  MeteringError,
  meterModule,
  STACK_BYTES_EXPORT,
  START_EXPORT,
} from '../../src/executors/wasm/metering.js';
import { WasmExecutor } from '../../src/executors/wasm/wasm-executor.js';
import { validateInputs } from '../../src/modules/inputs.js';
import { resolveModule } from '../../src/modules/resolve.js';
import { instructionBudget } from '../../src/resource-provider/pricing.js';
import { assemble, type Func, i32, type ModuleSpec, op, start, wasi } from './wasm-assembler.js';
import { type Workspace, workspace } from './wasm-jobs.js';

const executor = new WasmExecutor();
let ws: Workspace;

beforeAll(async () => {
  ws = await workspace('lilypad-metering-');
});

afterAll(async () => {
  await ws.remove();
});

const program = (body: number[], more: Omit<ModuleSpec, 'funcs'> & { funcs?: Func[] } = {}): ModuleSpec => ({
  memory: { min: 1 },
  ...more,
  funcs: [{ type: start, export: '_start', body, locals: [i32] }, ...(more.funcs ?? [])],
});

async function count(spec: ModuleSpec, job: Partial<ExecutionJob> = {}) {
  const result = await executor.run(await ws.moduleJob(spec, job));
  return result;
}

/** `n` iterations of a 5-instruction loop body, counting local 0 down: 5n + 5 instructions in all. */
const countdown = (n: number) => [
  ...[...op.i32(n), ...op.localSet(0)], // 2
  ...op.loop, // 1
  ...[...op.localGet(0), ...op.i32(1), ...op.i32Sub, ...op.localTee(0), ...op.brIf(0)], // 5 each time
  ...op.end, // the loop's end, then the function's: 2
];

describe('instruction counts', () => {
  it('counts straight-line code, the final end included', async () => {
    const result = await count(program([...op.i32(7), ...op.drop, ...op.i32(8), ...op.drop]));
    expect(result.status).toBe('succeeded');
    expect(result.instructionCount).toBe(5n);
    expect(result.trace.instructionCount).toBe(5n);
  });

  it('counts a loop of N iterations as 5N + 5', async () => {
    for (const n of [1, 10, 1000]) {
      expect((await count(program(countdown(n)))).instructionCount).toBe(BigInt(5 * n + 5));
    }
  });

  it('counts only the branch taken', async () => {
    const ifElse = (condition: number) => [
      ...[...op.i32(condition), ...op.if], // 2
      ...[...op.i32(2), ...op.drop, ...op.else], // then: 3, `else` jumps past `end`
      ...[...op.i32(3), ...op.drop, ...op.i32(4), ...op.drop, ...op.end], // else: 5
    ]; // then the function's end: 1
    expect((await count(program(ifElse(1)))).instructionCount).toBe(6n);
    expect((await count(program(ifElse(0)))).instructionCount).toBe(8n);
    const ifOnly = (condition: number) => [...op.i32(condition), ...op.if, ...op.nop, ...op.end];
    expect((await count(program(ifOnly(1)))).instructionCount).toBe(5n);
    expect((await count(program(ifOnly(0)))).instructionCount).toBe(3n);
  });

  it('does not count code a branch jumps over', async () => {
    const skip = [...op.block, ...op.br(0), ...op.i32(1), ...op.drop, ...op.end];
    expect((await count(program(skip))).instructionCount).toBe(3n);
    const table = (index: number) => [
      ...[...op.block, ...op.block, ...op.i32(index), ...op.brTable([0], 1)], // 4
      ...[...op.end, ...op.nop, ...op.end], // after the inner block: nop, end (2)
    ]; // function end: 1
    expect((await count(program(table(0)))).instructionCount).toBe(7n);
    expect((await count(program(table(1)))).instructionCount).toBe(5n);
  });

  it('counts calls, the callee and early returns', async () => {
    const callee: Func = { type: start, body: [...op.i32(1), ...op.drop] }; // 3 with its end
    const early: Func = { type: start, body: [...op.return, ...op.i32(1), ...op.drop] }; // 1
    const result = await count(
      program([...op.call(1), ...op.call(1), ...op.call(2)], { funcs: [callee, early] }),
    );
    expect(result.instructionCount).toBe(1n + 3n + 1n + 3n + 1n + 1n + 1n);
  });

  it('counts a host call as its call, and counts up to proc_exit', async () => {
    const result = await count(
      program([...op.i32(3), ...op.call(0), ...op.unreachable], { imports: [wasi.proc_exit] }),
    );
    expect(result.exitCode).toBe(3);
    expect(result.instructionCount).toBe(2n);
  });

  it('counts the start function, which runs before _start', async () => {
    const spec = program([...op.nop], { funcs: [{ type: start, body: [...op.nop, ...op.nop] }], start: 1 });
    expect((await count(spec)).instructionCount).toBe(3n + 2n);
  });

  it('gives cowsay the same count every run, and a longer message a larger one', async () => {
    const cowsay = await resolveModule('cowsay:v0.0.1');
    const run = async (message: string) =>
      (
        await executor.run({
          moduleDir: cowsay.dir,
          manifest: cowsay.manifest,
          inputs: validateInputs(cowsay.manifest, { Message: message }),
          seed: '0x01',
          bundleDir: ws.nextBundle(),
        })
      ).instructionCount;
    const first = await run('moo');
    expect(first).toBeGreaterThan(1000n);
    expect(await run('moo')).toBe(first);
    expect(await run('moo moo moo moo moo moo moo moo moo moo moo')).toBeGreaterThan(first);
  });
});

describe('the instruction budget', () => {
  it('stops an infinite loop at the same instruction every time', async () => {
    const spin = program([...op.loop, ...op.br(0), ...op.end]);
    const runs = [];
    for (let i = 0; i < 2; i++) runs.push(await count(spin, { limits: { instructions: 1000n } }));
    for (const result of runs) {
      expect(result.status).toBe('instruction-limit');
      expect(result.exitCode).toBe(152);
      expect(result.message).toMatch(/instruction budget of 1000/);
      // 1 for `loop`, then 1 per `br`: the block that would pass 1000 is charged and never runs.
      expect(result.instructionCount).toBe(1001n);
    }
  });

  it('charges whole blocks: the stop is the first block end past the budget', async () => {
    const result = await count(program(countdown(1_000_000)), { limits: { instructions: 100n } });
    expect(result.status).toBe('instruction-limit');
    expect(result.instructionCount).toBe(103n); // 3, 8, …, 98, 103
  });

  it('lets a job that fits its budget exactly finish', async () => {
    const result = await count(program(countdown(10)), { limits: { instructions: 55n } });
    expect(result.status).toBe('succeeded');
    expect(result.instructionCount).toBe(55n);
  });

  it('applies to the start function too', async () => {
    const spec = program([], {
      funcs: [{ type: start, body: [...op.loop, ...op.br(0), ...op.end] }],
      start: 1,
    });
    const result = await count(spec, { limits: { instructions: 50n } });
    expect(result.status).toBe('instruction-limit');
    expect(result.instructionCount).toBe(51n);
  });
});

describe("the resource provider's budget", () => {
  it('is what the job creator pays for: (P - fixed price) / price per instruction', () => {
    const deal = { fixedPrice: 100n, pricePerInstruction: 3n, paymentCollateral: 1_000n };
    expect(instructionBudget(deal)).toBe(300n);
    expect(instructionBudget({ ...deal, paymentCollateral: 50n })).toBe(0n);
    expect(instructionBudget({ ...deal, pricePerInstruction: 0n })).toBeUndefined();
  });
});

describe('meterModule', () => {
  const bytes = (spec: ModuleSpec) => assemble(spec);

  it('adds the counter and stack globals as exports and keeps the module valid', async () => {
    const metered = meterModule(bytes(program(countdown(3))));
    const module = await WebAssembly.compile(metered.bytes as BufferSource);
    const exports = WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`);
    expect(exports).toEqual(
      expect.arrayContaining([
        `${INSTRUCTIONS_LEFT_EXPORT}:global`,
        `${STACK_BYTES_EXPORT}:global`,
        '_start:function',
      ]),
    );
    expect(metered.blocks).toBe(3);
    expect(metered.hasStart).toBe(false);
  });

  it('turns a start section into an export', async () => {
    const metered = meterModule(bytes(program([], { funcs: [{ type: start, body: [] }], start: 1 })));
    const module = await WebAssembly.compile(metered.bytes as BufferSource);
    expect(metered.hasStart).toBe(true);
    expect(WebAssembly.Module.exports(module).map((e) => e.name)).toContain(START_EXPORT);
  });

  it('refuses instructions it cannot count, naming the feature', () => {
    const tailCall = program([0x12, 0x00]);
    expect(() => meterModule(bytes(tailCall))).toThrow(MeteringError);
    expect(() => meterModule(bytes(tailCall))).toThrow(/tail calls/);
  });

  it('refuses a module that already uses its export names', () => {
    const spec = program([]);
    spec.funcs.push({ type: start, body: [], export: INSTRUCTIONS_LEFT_EXPORT });
    expect(() => meterModule(bytes(spec))).toThrow(/already exports/);
  });
});
