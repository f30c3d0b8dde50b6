/**
 * The Docker executor: runs a `docker` module's image, pinned by digest, in a fresh container per job,
 * sandboxed as far as Docker allows without extra tooling: no network, a read-only root filesystem,
 * every capability dropped, no privilege escalation, a non-root user (nobody) unless the manifest asks
 * for root, and CPU, memory and process limits from the manifest's machine spec. GPUs are requested
 * through `DeviceRequests`, as `docker run --gpus N` does (the NVIDIA container toolkit serves them).
 *
 * Inputs are mounted read-only at `/inputs`; `/outputs` is the bundle's `outputs/` folder, bind-mounted
 * and measured against the file limit four times a second and at the end (past it: `file-limit`, and
 * no outputs are kept). Symbolic links and other special files left in outputs are removed: a link
 * could point anywhere on this machine. stdout and stderr come from an attach made before the start
 * (the `none` log driver keeps nothing on the daemon's disk) and go to the bundle, cut at the output
 * limit. The container is killed on timeout, cancellation or a limit, and always removed afterwards.
 *
 * The trace (beside the bundle, see trace.ts) holds CPU and memory samples from the stats API, placed
 * on a one-second grid from the container's start by the daemon's own timestamps. Containers are not metered by instruction: `instructionCount` is 0n.
 */

import { chmod, lstat, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { DockerModuleManifest, EntryArgument, ModuleManifest } from '../../modules/manifest.js';
import { LilypadError } from '../../protocol/errors.js';
import type { ExecutionJob, ExecutionResult, ExecutionStatus, Executor, RunOptions } from '../executor.js';
import { type ExecutionTrace, type TraceSample, writeTrace } from '../trace.js';
import {
  type ContainerCreateBody,
  type DeviceRequest,
  DockerClient,
  DockerError,
  DockerNotFoundError,
  type LogFrame,
  type MountSpec,
} from './docker-client.js';

export const DEFAULT_OUTPUT_BYTES = 16 * 1024 * 1024;
/** The user a container runs as unless the manifest says otherwise: nobody. */
export const DEFAULT_USER = '65534:65534';
export const DEFAULT_PIDS_LIMIT = 256;
/**
 * The trace's grid. The daemon's stats collector reads a container's cgroup once a second, so a finer
 * grid would only have gaps.
 */
export const SAMPLE_PERIOD_MS = 1000;
/** How often the outputs are measured against the file limit while the job runs. */
const FILE_CHECK_PERIOD_MS = 250;
/** When the manifest asks for 0 MB of RAM. Docker refuses limits under 6 MiB. */
const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
const DEFAULT_TMP_BYTES = 64 * 1024 * 1024;
const MIB = 1024 * 1024;
/** What a created file or folder counts for against the file limit. */
const ENTRY_BYTES = 4096;

/** Every container this executor creates carries this label (`key=value`), so leftovers can be found. */
export const CONTAINER_LABEL = 'org.lilypad.executor=docker';
const [LABEL_KEY, LABEL_VALUE] = CONTAINER_LABEL.split('=') as [string, string];

export type DockerExecutorOptions = {
  client?: DockerClient;
  /** Output limit (stdout + stderr) when the job sets none. */
  outputBytes?: number;
  pidsLimit?: number;
};

function argumentValue(arg: EntryArgument, inputs: Record<string, string>, where: string): string {
  if (typeof arg === 'string') return arg;
  const value = inputs[arg.input];
  if (value === undefined) throw new LilypadError(`${where} needs input "${arg.input}", which has no value`);
  return value;
}

/** The container's command: the manifest's arguments, inputs as whole elements. */
export function containerCommand(manifest: DockerModuleManifest, inputs: Record<string, string>): string[] {
  return manifest.entry.args.map((arg, i) => argumentValue(arg, inputs, `entry.args[${i}]`));
}

/** `KEY=value` for the manifest's environment, sorted by key; a value is always a whole input. */
export function containerEnv(manifest: DockerModuleManifest, inputs: Record<string, string>): string[] {
  return Object.entries(manifest.entry.env ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, arg]) => `${key}=${argumentValue(arg, inputs, `entry.env.${key}`)}`);
}

/** What `docker run --gpus N` asks for: N devices with the "gpu" capability, from whichever driver has them. */
export function gpuDeviceRequests(spec: ModuleManifest['spec']): DeviceRequest[] {
  if (spec.gpu === 0) return [];
  return [{ Driver: '', Count: spec.gpu, Capabilities: [['gpu']] }];
}

export type ContainerPlan = {
  manifest: DockerModuleManifest;
  inputs: Record<string, string>;
  /** The image ID the reference resolved to. */
  imageId: string;
  outputsDir: string;
  inputsDir?: string;
  memoryBytes: number;
  pidsLimit: number;
  seed: string;
};

/** The container this executor creates for a job: every limit and mount in one place, for review and tests. */
export function containerConfig(plan: ContainerPlan): ContainerCreateBody {
  const { manifest } = plan;
  const hostCpus = availableParallelism();
  const milliCpu = Math.min(manifest.spec.cpu > 0 ? manifest.spec.cpu : 1000, hostCpus * 1000);
  const tmpBytes = manifest.spec.disk > 0 ? manifest.spec.disk * MIB : DEFAULT_TMP_BYTES;
  const mounts: MountSpec[] = [
    plan.inputsDir === undefined
      ? { Type: 'tmpfs', Target: '/inputs', ReadOnly: true, TmpfsOptions: { SizeBytes: 4096 } }
      : { Type: 'bind', Source: resolve(plan.inputsDir), Target: '/inputs', ReadOnly: true },
    { Type: 'bind', Source: resolve(plan.outputsDir), Target: '/outputs', ReadOnly: false },
    { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: tmpBytes, Mode: 0o1777 } },
  ];
  const deviceRequests = gpuDeviceRequests(manifest.spec);
  return {
    Image: plan.imageId,
    ...(manifest.entry.entrypoint === undefined
      ? {}
      : {
          Entrypoint: manifest.entry.entrypoint.map((arg, i) =>
            argumentValue(arg, plan.inputs, `entry.entrypoint[${i}]`),
          ),
        }),
    Cmd: containerCommand(manifest, plan.inputs),
    Env: containerEnv(manifest, plan.inputs),
    User: manifest.entry.user ?? DEFAULT_USER,
    Labels: {
      [LABEL_KEY]: LABEL_VALUE,
      'org.lilypad.module': `${manifest.name}:${manifest.version}`,
      'org.lilypad.seed': plan.seed,
    },
    NetworkDisabled: true,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: false,
    Tty: false,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      NanoCpus: milliCpu * 1_000_000,
      Memory: plan.memoryBytes,
      MemorySwap: plan.memoryBytes,
      PidsLimit: plan.pidsLimit,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      IpcMode: 'private',
      Mounts: mounts,
      LogConfig: { Type: 'none' },
      ...(deviceRequests.length > 0 ? { DeviceRequests: deviceRequests } : {}),
    },
  };
}

/** The memory limit: the job's, else the manifest's spec.ram, at least what Docker accepts. */
export function memoryLimitBytes(manifest: DockerModuleManifest, memoryBytes?: number): number {
  const fromManifest = manifest.spec.ram > 0 ? manifest.spec.ram * MIB : DEFAULT_MEMORY_BYTES;
  return Math.max(MIN_MEMORY_BYTES, Math.min(fromManifest, memoryBytes ?? fromManifest));
}

async function createBundle(bundleDir: string): Promise<string> {
  await mkdir(bundleDir, { recursive: true });
  if ((await readdir(bundleDir)).length > 0) {
    throw new LilypadError(`the result bundle folder ${bundleDir} is not empty`);
  }
  const outputs = join(bundleDir, 'outputs');
  await mkdir(outputs);
  // The container's user is not ours: let it write, for the length of the run.
  await chmod(outputs, 0o777);
  return outputs;
}

/**
 * Removes what the bundle cannot hold (symbolic links, pipes, sockets: a link could point anywhere on
 * this machine) and returns their paths, relative to `dir`.
 */
async function removeSpecialFiles(dir: string, prefix = ''): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removed.push(...(await removeSpecialFiles(path, `${prefix}${entry.name}/`)));
    else if (!entry.isFile()) {
      await rm(path, { force: true });
      removed.push(`${prefix}${entry.name}`);
    }
  }
  return removed;
}

/** Bytes under `dir` as the file limit counts them: file sizes, plus 4 KiB per file or folder. */
async function outputBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += ENTRY_BYTES;
    if (entry.isDirectory()) total += await outputBytes(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
  }
  return total;
}

type Outcome = { status: ExecutionStatus; exitCode: number; message?: string };
type Limits = { wallTimeMs: number; outputBytes: number; fileBytes: number };
type Ran = { outcome: Outcome; samples: TraceSample[]; memoryPeakBytes: number; wallTimeMs: number };

export class DockerExecutor implements Executor {
  readonly kind = 'docker' as const;
  readonly client: DockerClient;
  readonly #outputBytes: number;
  readonly #pidsLimit: number;

  constructor(options: DockerExecutorOptions = {}) {
    this.client = options.client ?? new DockerClient();
    this.#outputBytes = options.outputBytes ?? DEFAULT_OUTPUT_BYTES;
    this.#pidsLimit = options.pidsLimit ?? DEFAULT_PIDS_LIMIT;
  }

  async run(job: ExecutionJob, options: RunOptions = {}): Promise<ExecutionResult> {
    const { manifest } = job;
    if (manifest.executor !== 'docker') {
      throw new LilypadError(`module ${manifest.name} is for the ${manifest.executor} executor, not docker`);
    }
    const imageId = await this.#resolveImage(manifest, options.signal);
    const outputsDir = await createBundle(job.bundleDir);
    const config = containerConfig({
      manifest,
      inputs: job.inputs,
      imageId,
      outputsDir,
      ...(job.inputsDir === undefined ? {} : { inputsDir: job.inputsDir }),
      memoryBytes: memoryLimitBytes(manifest, job.limits?.memoryBytes),
      pidsLimit: this.#pidsLimit,
      seed: job.seed,
    });
    const limits: Limits = {
      wallTimeMs: job.limits?.wallTimeMs ?? manifest.timeoutSeconds * 1000,
      outputBytes: job.limits?.outputBytes ?? this.#outputBytes,
      fileBytes: job.limits?.fileBytes ?? manifest.spec.disk * MIB,
    };

    let ran: Ran;
    if (options.signal?.aborted) {
      const outcome: Outcome = { status: 'cancelled', exitCode: 130, message: 'cancelled' };
      ran = { outcome, samples: [], memoryPeakBytes: 0, wallTimeMs: 0 };
      for (const name of ['stdout', 'stderr']) await writeFile(join(job.bundleDir, name), '');
    } else {
      const { Id: id } = await this.client.createContainer(config);
      try {
        ran = await this.#runContainer(id, job.bundleDir, limits, options);
      } finally {
        await this.client.removeContainer(id);
      }
    }

    const { outcome } = ran;
    await chmod(outputsDir, 0o755);
    const note = (text: string) => {
      outcome.message = outcome.message === undefined ? text : `${outcome.message}; ${text}`;
    };
    if (outcome.status !== 'file-limit' && (await outputBytes(outputsDir)) > limits.fileBytes) {
      Object.assign(outcome, { status: 'file-limit', exitCode: 153 });
      note(`outputs exceed the file limit of ${limits.fileBytes} bytes`);
    }
    if (outcome.status === 'file-limit') {
      // How much got written before the kill depends on timing: keep none of it, the same everywhere.
      for (const entry of await readdir(outputsDir)) await rm(join(outputsDir, entry), { recursive: true });
    }
    const removed = await removeSpecialFiles(outputsDir);
    if (removed.length > 0) note(`removed from outputs (not regular files): ${removed.join(', ')}`);
    await writeFile(join(job.bundleDir, 'exitCode'), `${outcome.exitCode}\n`);

    const trace: ExecutionTrace = {
      memoryPeakBytes: ran.memoryPeakBytes,
      wallTimeMs: Math.round(ran.wallTimeMs),
      samplePeriodMs: SAMPLE_PERIOD_MS,
      samples: ran.samples,
    };
    const result: ExecutionResult = {
      bundleDir: job.bundleDir,
      exitCode: outcome.exitCode,
      status: outcome.status,
      instructionCount: 0n, // a container's instructions are not counted
      trace,
      traceFile: await writeTrace(job.bundleDir, trace),
      ...(outcome.message === undefined ? {} : { message: outcome.message }),
    };
    options.onProgress?.({
      type: 'execution:finished',
      status: result.status,
      exitCode: result.exitCode,
      wallTimeMs: result.trace.wallTimeMs,
    });
    return result;
  }

  /** The image ID for the manifest's reference; a `name@sha256:…` that is not here is pulled. */
  async #resolveImage(manifest: DockerModuleManifest, signal?: AbortSignal): Promise<string> {
    const reference = manifest.entry.image;
    try {
      const image = await this.client.inspectImage(reference);
      if (reference.startsWith('sha256:') && image.Id !== reference) {
        throw new LilypadError(`image ${reference} resolved to ${image.Id}: refusing a different image`);
      }
      return image.Id;
    } catch (error) {
      if (!(error instanceof DockerNotFoundError)) throw error;
      if (reference.startsWith('sha256:')) {
        throw new LilypadError(`module ${manifest.name}: image ${reference} is not on this machine`, {
          cause: error,
          hint: 'an image pinned by ID alone cannot be pulled: load it (`docker load`) or refer to it as name@sha256:…',
        });
      }
      return (await this.client.pullImage(reference, signal ? { signal } : {})).Id;
    }
  }

  async #runContainer(id: string, bundleDir: string, limits: Limits, options: RunOptions): Promise<Ran> {
    let stopped: Outcome | undefined;
    const stop = (reason: Outcome) => {
      if (stopped) return;
      stopped = reason;
      this.client.killContainer(id).catch(() => {}); // it has exited already: nothing to stop
    };
    const onAbort = () => stop({ status: 'cancelled', exitCode: 130, message: 'cancelled' });
    const outputsDir = join(bundleDir, 'outputs');
    let measuring = false;
    const measureOutputs = async () => {
      if (measuring) return;
      measuring = true;
      try {
        if ((await outputBytes(outputsDir)) > limits.fileBytes) {
          stop({ status: 'file-limit', exitCode: 153, message: `outputs passed ${limits.fileBytes} bytes` });
        }
      } catch {
        // the job is changing its outputs under us: the next check, or the one at the end, counts
      } finally {
        measuring = false;
      }
    };

    const stats = new StatsRecorder(this.client, id);
    let timer: NodeJS.Timeout | undefined;
    let fileCheck: NodeJS.Timeout | undefined;
    const stdout = await open(join(bundleDir, 'stdout'), 'w');
    const stderr = await open(join(bundleDir, 'stderr'), 'w');
    let frames: AsyncGenerator<LogFrame> | undefined;
    try {
      frames = await this.client.attachContainer(id);
      try {
        await this.client.startContainer(id);
      } catch (error) {
        const refused = startRefusal(error);
        if (refused) return { outcome: refused, samples: [], memoryPeakBytes: 0, wallTimeMs: 0 };
        throw error;
      }
      const started = performance.now();
      options.onProgress?.({ type: 'execution:started', kind: 'docker' });
      stats.start();
      fileCheck = setInterval(measureOutputs, FILE_CHECK_PERIOD_MS);
      timer = setTimeout(
        () =>
          stop({ status: 'timed-out', exitCode: 124, message: `timed out after ${limits.wallTimeMs} ms` }),
        limits.wallTimeMs,
      );
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) onAbort();

      let written = 0;
      for await (const frame of frames) {
        const allowed = Math.min(frame.data.length, limits.outputBytes - written);
        if (allowed > 0) {
          await (frame.stream === 'stdout' ? stdout : stderr).write(frame.data, 0, allowed);
          written += allowed;
        }
        if (allowed < frame.data.length) {
          stop({ status: 'output-limit', exitCode: 153, message: 'output limit reached' });
          break;
        }
      }
      const exit = await this.client.waitContainer(id);
      const wallTimeMs = performance.now() - started;
      await stats.stop();
      const state = (await this.client.inspectContainer(id)).State;
      let outcome: Outcome;
      if (stopped) outcome = stopped;
      else if (state.OOMKilled) {
        outcome = { status: 'out-of-memory', exitCode: 137, message: 'killed by the out-of-memory killer' };
      } else {
        outcome = { status: exit.StatusCode === 0 ? 'succeeded' : 'failed', exitCode: exit.StatusCode };
        const error = exit.Error?.Message || state.Error;
        if (error) outcome.message = error;
      }
      const samples = stats.samples(Date.parse(state.StartedAt), SAMPLE_PERIOD_MS);
      return { outcome, samples, memoryPeakBytes: stats.memoryPeakBytes, wallTimeMs };
    } finally {
      clearTimeout(timer);
      clearInterval(fileCheck);
      options.signal?.removeEventListener('abort', onAbort);
      await stats.stop();
      await frames?.return(undefined).catch(() => {});
      await Promise.all([stdout.close(), stderr.close()]);
    }
  }
}

/**
 * Follows the stats stream of a running container. The daemon reads the container's cgroup about once
 * a second and stamps each reading with its time (`read`), so a sample is placed by that stamp rather
 * than by when it arrived; `samples` puts the readings on the trace's grid of `tMs = k × period`.
 */
class StatsRecorder {
  memoryPeakBytes = 0;
  readonly #client: DockerClient;
  readonly #id: string;
  readonly #readings: { readAtMs: number; cpu: number; memoryBytes: number }[] = [];
  readonly #abort = new AbortController();
  #following: Promise<void> | undefined;

  constructor(client: DockerClient, id: string) {
    this.#client = client;
    this.#id = id;
  }

  start(): void {
    this.#following = (async () => {
      for await (const stats of await this.#client.streamStats(this.#id, { signal: this.#abort.signal })) {
        const memoryBytes = stats.memory_stats.usage;
        if (memoryBytes === undefined) continue; // the container has stopped
        const cpu = Math.round(stats.cpu_stats.cpu_usage.total_usage / 1e6);
        this.#readings.push({ readAtMs: Date.parse(stats.read), cpu, memoryBytes });
        this.memoryPeakBytes = Math.max(this.memoryPeakBytes, memoryBytes, stats.memory_stats.max_usage ?? 0);
      }
    })().catch(() => {}); // a broken stats stream leaves a gap in the trace, the job goes on
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#following;
  }

  /** The readings at `tMs = k × periodMs` after `startedAtMs` (the daemon's clock), one per k. */
  samples(startedAtMs: number, periodMs: number): TraceSample[] {
    const byTick = new Map<number, TraceSample>();
    for (const { readAtMs, cpu, memoryBytes } of this.#readings) {
      const tMs = Math.max(0, Math.round((readAtMs - startedAtMs) / periodMs)) * periodMs;
      if (Number.isFinite(tMs) && !byTick.has(tMs)) byTick.set(tMs, { tMs, cpu, memoryBytes });
    }
    return [...byTick.values()].sort((x, y) => x.tMs - y.tMs);
  }
}

/**
 * A container the daemon could not start because of its command (no such executable, not executable):
 * the module's fault and the same everywhere, so a result like a shell's (127, 126) rather than an
 * executor error. The daemon's message names this machine's paths, so it stays out of the bundle.
 */
function startRefusal(error: unknown): Outcome | undefined {
  if (!(error instanceof DockerError) || error.status === undefined) return undefined;
  if (/executable file not found|no such file or directory/i.test(error.message)) {
    return { status: 'failed', exitCode: 127, message: error.message };
  }
  if (/permission denied/i.test(error.message))
    return { status: 'failed', exitCode: 126, message: error.message };
  return undefined;
}
