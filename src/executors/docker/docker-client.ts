/**
 * A small typed client for the Docker Engine API over its unix socket (node:http, no dependency).
 * It covers what the Docker executor needs: ping, images (inspect, import, pull), containers (create,
 * attach, start, wait, inspect, logs, kill, remove, list) and stats, one-shot or streaming.
 *
 * Paths are unversioned, so the daemon answers with its own API version; everything used here exists
 * since API 1.41 (Docker 20.10). Types list only the fields this project reads or sets.
 */
import { Agent, type IncomingMessage, request } from 'node:http';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { LilypadError } from '../../protocol/errors.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

const START_DOCKER_HINT =
  'start dockerd (as root: `dockerd > /var/log/dockerd.log 2>&1 &`, or `systemctl start docker`), ' +
  'or point DOCKER_HOST at its socket (unix:///path/to/docker.sock)';

/** An error from the Docker daemon, or from talking to it. `status` is the HTTP status when there was one. */
export class DockerError extends LilypadError {
  override name = 'DockerError';
  readonly status: number | undefined;

  constructor(
    message: string,
    options: { status?: number; details?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options);
    this.status = options.status;
  }
}

/** The daemon cannot be reached: not installed, not running, or its socket is not ours to open. */
export class DockerUnavailableError extends DockerError {
  override name = 'DockerUnavailableError';
}

/** 404: no such image or container. */
export class DockerNotFoundError extends DockerError {
  override name = 'DockerNotFoundError';
}

export type ImageInspect = {
  /** `sha256:…`: the digest of the image's configuration. */
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Config: {
    User?: string;
    Env?: string[] | null;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
  } | null;
  Size: number;
};

export type DockerInfo = {
  NCPU: number;
  MemTotal: number;
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
};

export type DeviceRequest = {
  /** "nvidia" for NVIDIA GPUs through the NVIDIA container toolkit; "" lets the daemon choose. */
  Driver: string;
  /** -1 for all devices. */
  Count: number;
  DeviceIDs?: string[];
  /** Alternatives (OR) of capability sets (AND), e.g. [["gpu"]]. */
  Capabilities: string[][];
  Options?: Record<string, string>;
};

export type MountSpec = {
  Type: 'bind' | 'tmpfs' | 'volume';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: 'private' | 'rprivate' };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
};

export type HostConfig = {
  NetworkMode?: string;
  ReadonlyRootfs?: boolean;
  /** CPU quota in units of 1e-9 CPUs. */
  NanoCpus?: number;
  /** Bytes. */
  Memory?: number;
  /** Memory plus swap, bytes: equal to Memory for no swap. */
  MemorySwap?: number;
  PidsLimit?: number;
  CapDrop?: string[];
  SecurityOpt?: string[];
  Mounts?: MountSpec[];
  LogConfig?: { Type: string; Config?: Record<string, string> };
  DeviceRequests?: DeviceRequest[];
  IpcMode?: string;
  Ulimits?: { Name: string; Soft: number; Hard: number }[];
  AutoRemove?: boolean;
};

export type ContainerCreateBody = {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  NetworkDisabled?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  OpenStdin?: boolean;
  Tty?: boolean;
  HostConfig?: HostConfig;
};

export type ContainerInspect = {
  Id: string;
  State: {
    Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
    Running: boolean;
    ExitCode: number;
    OOMKilled: boolean;
    Error: string;
    StartedAt: string;
    FinishedAt: string;
  };
};

export type ContainerSummary = {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Labels: Record<string, string>;
};

export type WaitResult = { StatusCode: number; Error?: { Message: string } | null };

/** One sample of the stats API; cgroup v1 and v2 fill different memory fields. */
export type ContainerStats = {
  read: string;
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  memory_stats: { usage?: number; max_usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
};

export type LogFrame = { stream: 'stdout' | 'stderr'; data: Buffer };

export type DockerClientOptions = {
  /** Default: DOCKER_HOST when it is `unix://…`, else /var/run/docker.sock. */
  socketPath?: string;
};

type RequestOptions = {
  /** Arrays repeat the parameter. */
  query?: Record<string, string | number | boolean | string[] | undefined>;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** What this request is about, for error messages ("container 1a2b…"). */
  subject?: string;
};

function defaultSocketPath(): string {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return DEFAULT_DOCKER_SOCKET;
}

function queryString(query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Splits Docker's multiplexed stream (attach and logs without a TTY) into frames: each frame is an
 * 8-byte header (stream type: 1 stdout, 2 stderr; three zero bytes; payload size, uint32 big-endian)
 * followed by the payload. Frames may be split across chunks or share one.
 */
export async function* demultiplex(source: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<LogFrame> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    pending =
      pending.length === 0
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const type = pending[0];
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const data = pending.subarray(8, 8 + size);
      pending = pending.subarray(8 + size);
      // Type 0 (stdin) is only echoed for a TTY-less attach with stdin; treat it as stdout like Docker does.
      if (data.length > 0) yield { stream: type === 2 ? 'stderr' : 'stdout', data };
    }
  }
  if (pending.length > 0) {
    throw new DockerError(`the Docker log stream ended inside a frame (${pending.length} bytes left over)`);
  }
}

/** Newline-delimited JSON objects, as the stats stream and image progress send them. */
async function* jsonLines<T>(source: AsyncIterable<Buffer>): AsyncGenerator<T> {
  const decoder = new StringDecoder('utf8'); // a character may be split between chunks
  let pending = '';
  for await (const chunk of source) {
    pending += decoder.write(chunk);
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line !== '') yield JSON.parse(line) as T;
      newline = pending.indexOf('\n');
    }
  }
  pending += decoder.end();
  if (pending.trim() !== '') yield JSON.parse(pending) as T;
}

type ProgressMessage = { status?: string; error?: string; errorDetail?: { message?: string } };

/** Reads an image progress stream to its end; returns the last status line, throws on an error line. */
async function followProgress(response: IncomingMessage, what: string): Promise<string> {
  let last = '';
  for await (const message of jsonLines<ProgressMessage>(response)) {
    if (message.error !== undefined) {
      throw new DockerError(`${what} failed: ${message.errorDetail?.message ?? message.error}`);
    }
    if (message.status !== undefined) last = message.status;
  }
  return last;
}

export class DockerClient {
  readonly socketPath: string;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 32 });

  constructor(options: DockerClientOptions = {}) {
    this.socketPath = options.socketPath ?? defaultSocketPath();
  }

  /** Checks that the daemon answers; returns its API version. */
  async ping(options: { signal?: AbortSignal } = {}): Promise<{ apiVersion: string }> {
    const response = await this.#send('GET', '/_ping', options);
    await readAll(response);
    return { apiVersion: String(response.headers['api-version'] ?? '') };
  }

  /** The daemon's view of the machine: its runtimes (an `nvidia` one serves GPUs), CPUs and memory. */
  info(): Promise<DockerInfo> {
    return this.#json('GET', '/info');
  }

  async inspectImage(image: string): Promise<ImageInspect> {
    return this.#json('GET', `/images/${encodeURIComponent(image)}/json`, { subject: `image ${image}` });
  }

  /**
   * Creates an image from a tar of a root filesystem (what `docker import` does); no registry involved.
   * `changes` are Dockerfile instructions applied to it (`USER 65534:65534`, `LABEL k=v`).
   */
  async importImage(
    rootfsTar: Readable,
    options: { repository: string; tag: string; changes?: string[] },
  ): Promise<ImageInspect> {
    const response = await this.#send('POST', '/images/create', {
      query: { fromSrc: '-', repo: options.repository, tag: options.tag, changes: options.changes },
      body: rootfsTar,
      subject: `image ${options.repository}:${options.tag}`,
    });
    await followProgress(response, `importing ${options.repository}:${options.tag}`);
    return this.inspectImage(`${options.repository}:${options.tag}`);
  }

  /** Pulls `name@sha256:…` (or `name:tag`) from its registry. */
  async pullImage(reference: string, options: { signal?: AbortSignal } = {}): Promise<ImageInspect> {
    const response = await this.#send('POST', '/images/create', {
      query: { fromImage: reference },
      signal: options.signal,
      subject: `image ${reference}`,
    });
    await followProgress(response, `pulling ${reference}`);
    return this.inspectImage(reference);
  }

  async createContainer(body: ContainerCreateBody, options: { name?: string } = {}): Promise<{ Id: string }> {
    return this.#json('POST', '/containers/create', {
      query: { name: options.name },
      body,
      subject: `a container of image ${body.Image}`,
    });
  }

  /**
   * Attaches to a created container's stdout and stderr before it starts, so no output is missed; the
   * frames end when the container exits. Works with the `none` log driver, which keeps nothing on disk.
   */
  async attachContainer(
    id: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<AsyncGenerator<LogFrame>> {
    const response = await this.#send('POST', `/containers/${id}/attach`, {
      query: { stream: 1, stdout: 1, stderr: 1 },
      signal: options.signal,
      subject: `container ${id}`,
    });
    return demultiplex(response);
  }

  async startContainer(id: string): Promise<void> {
    await readAll(await this.#send('POST', `/containers/${id}/start`, { subject: `container ${id}` }));
  }

  /** Resolves when the container is no longer running, with its exit status. */
  async waitContainer(id: string, options: { signal?: AbortSignal } = {}): Promise<WaitResult> {
    return this.#json('POST', `/containers/${id}/wait`, {
      query: { condition: 'not-running' },
      signal: options.signal,
      subject: `container ${id}`,
    });
  }

  async inspectContainer(id: string): Promise<ContainerInspect> {
    return this.#json('GET', `/containers/${id}/json`, { subject: `container ${id}` });
  }

  /** The container's logs so far (or following, until it exits); needs a log driver that keeps them. */
  async logs(
    id: string,
    options: { stdout?: boolean; stderr?: boolean; follow?: boolean; signal?: AbortSignal } = {},
  ): Promise<AsyncGenerator<LogFrame>> {
    const response = await this.#send('GET', `/containers/${id}/logs`, {
      query: {
        stdout: options.stdout ?? true,
        stderr: options.stderr ?? true,
        follow: options.follow ?? false,
      },
      signal: options.signal,
      subject: `container ${id}`,
    });
    return demultiplex(response);
  }

  /** Sends a signal (default SIGKILL); false when the container was not running. */
  async killContainer(id: string, signal = 'SIGKILL'): Promise<boolean> {
    try {
      await readAll(
        await this.#send('POST', `/containers/${id}/kill`, { query: { signal }, subject: `container ${id}` }),
      );
      return true;
    } catch (error) {
      if (error instanceof DockerError && error.status === 409) return false;
      throw error;
    }
  }

  /** Removes a container and its anonymous volumes, killing it first; false when it did not exist. */
  async removeContainer(id: string): Promise<boolean> {
    try {
      await readAll(
        await this.#send('DELETE', `/containers/${id}`, {
          query: { force: true, v: true },
          subject: `container ${id}`,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof DockerNotFoundError) return false;
      throw error;
    }
  }

  /** Containers, running or not, that carry every given label (`key` or `key=value`). */
  async listContainers(options: { labels?: string[] } = {}): Promise<ContainerSummary[]> {
    return this.#json('GET', '/containers/json', {
      query: { all: true, filters: JSON.stringify({ label: options.labels ?? [] }) },
    });
  }

  /** One stats sample, without waiting for a second one to compute CPU deltas (`one-shot`). */
  async stats(id: string): Promise<ContainerStats> {
    return this.#json('GET', `/containers/${id}/stats`, {
      query: { stream: false, 'one-shot': true },
      subject: `container ${id}`,
    });
  }

  /** Stats samples as the daemon produces them (about one a second) until the container stops. */
  async streamStats(
    id: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<AsyncGenerator<ContainerStats>> {
    const response = await this.#send('GET', `/containers/${id}/stats`, {
      query: { stream: true },
      signal: options.signal,
      subject: `container ${id}`,
    });
    return jsonLines<ContainerStats>(response);
  }

  /** Closes idle keep-alive connections to the daemon. */
  close(): void {
    this.#agent.destroy();
  }

  async #json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#send(method, path, options);
    const text = (await readAll(response)).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new DockerError(`Docker answered ${method} ${path} with something that is not JSON`, {
        details: text.slice(0, 200),
        cause: error,
      });
    }
  }

  /** Sends one request; resolves with a 2xx response (its body unread), rejects with a DockerError. */
  #send(method: string, path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const { body, signal, subject } = options;
    const fullPath = `${path}${queryString(options.query)}`;
    const streamBody = typeof (body as Readable | undefined)?.pipe === 'function';
    const payload = body === undefined || streamBody ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {};
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    } else if (streamBody) headers['content-type'] = 'application/x-tar';

    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socketPath, method, path: fullPath, headers, agent: this.#agent, signal },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(response);
            return;
          }
          readAll(response).then(
            (raw) => reject(this.#statusError(status, raw.toString('utf8'), method, path, subject)),
            reject,
          );
        },
      );
      req.on('error', (error) => reject(this.#connectionError(error as NodeJS.ErrnoException)));
      if (streamBody) (body as Readable).pipe(req);
      else req.end(payload);
    });
  }

  #statusError(status: number, raw: string, method: string, path: string, subject?: string): DockerError {
    let message = raw.trim();
    try {
      message = (JSON.parse(raw) as { message?: string }).message ?? message;
    } catch {
      // plain text
    }
    const what = subject ?? `${method} ${path.split('?')[0]}`;
    if (status === 404) {
      return new DockerNotFoundError(`Docker: ${message || `${what} not found`}`, {
        status,
        hint: subject?.startsWith('image ')
          ? 'load or import the image first (`docker load`, `docker import`), or pull it by digest'
          : undefined,
      });
    }
    return new DockerError(`Docker refused ${what}: ${message || `HTTP ${status}`}`, { status });
  }

  #connectionError(error: NodeJS.ErrnoException): Error {
    if (error.name === 'AbortError') return error;
    switch (error.code) {
      case 'ENOENT':
      case 'ECONNREFUSED':
        return new DockerUnavailableError(`Docker is not running: nothing answers on ${this.socketPath}`, {
          hint: START_DOCKER_HINT,
          cause: error,
        });
      case 'EACCES':
      case 'EPERM':
        return new DockerUnavailableError(`Docker's socket ${this.socketPath} is not open to this user`, {
          hint: 'run as root, or add this user to the docker group (`usermod -aG docker $USER`, then log in again)',
          cause: error,
        });
      default:
        return new DockerError(`cannot talk to Docker on ${this.socketPath}: ${error.message}`, {
          cause: error,
        });
    }
  }
}
