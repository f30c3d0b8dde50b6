/**
 * What this machine can run at once. The machine is probed (CPUs, RAM, free disk under the data dir, NVIDIA
 * GPUs and their VRAM through `nvidia-smi` when it is installed), any figure can be overridden, and the
 * number of slots is how many jobs of the offered spec fit side by side: every open offer is a job the
 * provider can run at the same time as all the others.
 */
import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { MachineSpec } from '../protocol/eip712.js';

export type Gpu = { name: string; vramMB: number };

/** The whole machine, in the units of a MachineSpec: milli-CPU, MB. */
export type Machine = { cpu: number; ram: number; disk: number; gpus: Gpu[] };

const MB = 1024 * 1024;

/** The NVIDIA GPUs `nvidia-smi` lists; none when it is not installed or sees none. */
export async function probeGpus(): Promise<Gpu[]> {
  try {
    const { stdout } = await promisify(execFile)(
      'nvidia-smi',
      ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'],
      { timeout: 10_000 },
    );
    return stdout
      .split('\n')
      .map((line) => line.split(',').map((part) => part.trim()))
      .filter(([name, vram]) => name && Number.isFinite(Number(vram)))
      .map(([name, vram]) => ({ name: name as string, vramMB: Number(vram) }));
  } catch {
    return [];
  }
}

/** Free disk space under `dir`, in MB. */
export async function freeDiskMB(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return Math.floor((stats.bavail * stats.bsize) / MB);
}

export async function probeMachine(dataDir: string): Promise<Machine> {
  return {
    cpu: availableParallelism() * 1000,
    ram: Math.floor(totalmem() / MB),
    disk: await freeDiskMB(dataDir),
    gpus: await probeGpus(),
  };
}

/** The machine a given number of jobs of `spec` need exactly: for a devnet, or a test. */
export function machineFor(spec: MachineSpec, slots: number): Machine {
  return {
    cpu: spec.cpu * slots,
    ram: spec.ram * slots,
    disk: spec.disk * slots,
    gpus: Array.from({ length: spec.gpu * slots }, () => ({ name: 'offered', vramMB: spec.gpuVram })),
  };
}

export type SlotLimit = { slots: number; limitedBy: keyof MachineSpec | 'nothing' };

/** How many jobs of `spec` fit on `machine` at once, and which resource runs out first. */
export function slotsFor(machine: Machine, spec: MachineSpec): SlotLimit {
  const fitting = machine.gpus.filter((gpu) => gpu.vramMB >= spec.gpuVram).length;
  const limits: [keyof MachineSpec, number][] = [
    ['cpu', spec.cpu > 0 ? Math.floor(machine.cpu / spec.cpu) : Number.POSITIVE_INFINITY],
    ['ram', spec.ram > 0 ? Math.floor(machine.ram / spec.ram) : Number.POSITIVE_INFINITY],
    ['disk', spec.disk > 0 ? Math.floor(machine.disk / spec.disk) : Number.POSITIVE_INFINITY],
    [
      spec.gpuVram > 0 && fitting < machine.gpus.length ? 'gpuVram' : 'gpu',
      spec.gpu > 0 ? Math.floor(fitting / spec.gpu) : Number.POSITIVE_INFINITY,
    ],
  ];
  let best: SlotLimit = { slots: Number.POSITIVE_INFINITY, limitedBy: 'nothing' };
  for (const [resource, slots] of limits) if (slots < best.slots) best = { slots, limitedBy: resource };
  return best;
}

/** One line for the log and `--check`: "4 slots (limited by ram: 16384 MB for 4096 MB per job)". */
export function describeSlots(machine: Machine, spec: MachineSpec, limit: SlotLimit): string {
  const per: Record<SlotLimit['limitedBy'], string> = {
    cpu: `${machine.cpu} milli-CPU for ${spec.cpu} per job`,
    ram: `${machine.ram} MB of RAM for ${spec.ram} MB per job`,
    disk: `${machine.disk} MB of free disk for ${spec.disk} MB per job`,
    gpu: `${machine.gpus.length} GPU(s) for ${spec.gpu} per job`,
    gpuVram: `${machine.gpus.filter((g) => g.vramMB >= spec.gpuVram).length} GPU(s) with ${spec.gpuVram} MB of VRAM for ${spec.gpu} per job`,
    nothing: 'no resource asked for',
  };
  return `${limit.slots} slot(s), limited by ${per[limit.limitedBy]}`;
}
