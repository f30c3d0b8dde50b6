/**
 * The Docker Engine API client: the stream demultiplexer on its own, errors that say what to do, and
 * the calls against a real daemon.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DockerClient,
  DockerNotFoundError,
  DockerUnavailableError,
  demultiplex,
  type LogFrame,
} from '../../src/executors/docker/docker-client.js';
import { dockerSkipReason, testImage } from './docker-fixtures.js';

function frame(type: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function collect(frames: AsyncIterable<LogFrame>): Promise<string[]> {
  const out: string[] = [];
  for await (const { stream, data } of frames) out.push(`${stream}:${data.toString()}`);
  return out;
}

async function* chunks(...parts: Buffer[]): AsyncGenerator<Buffer> {
  yield* parts;
}

describe('demultiplex', () => {
  it('splits frames, whether they share a chunk or span several', async () => {
    const bytes = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err\n'), frame(1, 'out two\n')]);
    expect(await collect(demultiplex(chunks(bytes)))).toEqual([
      'stdout:out one\n',
      'stderr:err\n',
      'stdout:out two\n',
    ]);
    // One byte at a time: headers and payloads cut anywhere.
    const bytewise = [...bytes].map((b) => Buffer.from([b]));
    expect(await collect(demultiplex(chunks(...bytewise)))).toEqual([
      'stdout:out one\n',
      'stderr:err\n',
      'stdout:out two\n',
    ]);
  });

  it('refuses a stream that ends inside a frame', async () => {
    await expect(collect(demultiplex(chunks(frame(1, 'cut short').subarray(0, 12))))).rejects.toThrow(
      /ended inside a frame/,
    );
  });
});

describe('Docker client errors', () => {
  it('says Docker is not running, and how to start it, when nothing answers', async () => {
    const client = new DockerClient({ socketPath: '/nonexistent/docker.sock' });
    const error = await client.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerUnavailableError);
    expect((error as DockerUnavailableError).message).toBe(
      'Docker is not running: nothing answers on /nonexistent/docker.sock',
    );
    expect((error as DockerUnavailableError).hint).toMatch(/start dockerd/);
  });
});

describe.skipIf(dockerSkipReason !== undefined)('Docker client', () => {
  let client: DockerClient;
  let imageId: string;

  beforeAll(async () => {
    client = new DockerClient();
    imageId = (await testImage()).id;
  });
  afterAll(() => client?.close());

  it('pings the daemon and inspects images, with a typed 404', async () => {
    expect((await client.ping()).apiVersion).toMatch(/^1\.\d+$/);
    expect((await client.inspectImage(imageId)).Id).toBe(imageId);
    const missing = await client.inspectImage(`sha256:${'0'.repeat(64)}`).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DockerNotFoundError);
    expect((missing as DockerNotFoundError).status).toBe(404);
  });

  it('runs a container: create, start, wait, logs, inspect, kill, remove, list by label', async () => {
    const label = `org.lilypad.test.client=${process.pid}`;
    const { Id } = await client.createContainer({
      Image: imageId,
      Cmd: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 5'],
      Labels: { 'org.lilypad.test.client': String(process.pid) },
      HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'json-file' } },
    });
    try {
      expect((await client.listContainers({ labels: [label] })).map((c) => c.Id)).toEqual([Id]);
      await client.startContainer(Id);
      expect(await client.waitContainer(Id)).toMatchObject({ StatusCode: 5 });
      expect((await client.inspectContainer(Id)).State).toMatchObject({ Status: 'exited', ExitCode: 5 });
      expect((await collect(await client.logs(Id))).sort()).toEqual(['stderr:err\n', 'stdout:out\n']);
      expect(await client.killContainer(Id)).toBe(false); // not running
    } finally {
      expect(await client.removeContainer(Id)).toBe(true);
    }
    expect(await client.removeContainer(Id)).toBe(false);
    expect(await client.listContainers({ labels: [label] })).toEqual([]);
  });

  it('reads stats once or as a stream while a container runs', async () => {
    const { Id } = await client.createContainer({
      Image: imageId,
      Cmd: ['/bin/sleep', '30'],
      HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none' } },
    });
    try {
      await client.startContainer(Id);
      const once = await client.stats(Id);
      expect(once.memory_stats.usage).toBeGreaterThan(0);
      expect(once.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(0);

      const controller = new AbortController();
      const stream = await client.streamStats(Id, { signal: controller.signal });
      const first = await stream.next();
      expect(first.done).toBe(false);
      expect(first.value?.memory_stats.usage).toBeGreaterThan(0);
      controller.abort();
      await stream.return(undefined).catch(() => {});

      expect(await client.killContainer(Id)).toBe(true);
      expect((await client.waitContainer(Id)).StatusCode).toBe(137);
    } finally {
      await client.removeContainer(Id);
    }
  });
});
