/**
 * A TCP proxy on 127.0.0.1 between a resource provider and the solver that can cut the provider off in the
 * middle of an upload: armed, it forwards only the first part of the next result upload it sees (a
 * `PUT /api/v1/deals/<id>/files`), then drops every connection and refuses new ones for a while, as a
 * network that goes away would.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class CuttingProxy {
  readonly url: string;
  #sockets = new Set<Socket>();
  #refusing = false;
  #armed: (() => void) | undefined;

  private constructor(
    readonly server: Server,
    port: number,
    readonly targetPort: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(targetPort: number): Promise<CuttingProxy> {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    const proxy = new CuttingProxy(server, port, targetPort);
    server.on('connection', (socket) => proxy.#forward(socket));
    return proxy;
  }

  /**
   * Cuts the next upload after its first bytes, then refuses connections for `offlineMs`. Resolves once the
   * cut is over (the provider can reach the solver again), or false when no upload came within `waitMs`.
   */
  async cutNextUpload(offlineMs: number, waitMs: number): Promise<boolean> {
    const cut = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#armed = undefined;
        resolve(false);
      }, waitMs);
      this.#armed = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    if (!cut) return false;
    this.#refusing = true;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, offlineMs));
    this.#refusing = false;
    return true;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  #forward(client: Socket): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.#sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    upstream.pipe(client);
    let cut = false;
    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      const armed = this.#armed;
      if (armed && /^PUT \/api\/v1\/deals\/0x[0-9a-fA-F]+\/files /m.test(chunk.toString('latin1'))) {
        this.#armed = undefined;
        cut = true;
        // The request line and part of what follows reach the solver; the rest never does.
        upstream.write(chunk.subarray(0, Math.ceil(chunk.length / 2)), () => armed());
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
  }
}
