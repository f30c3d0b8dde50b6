/**
 * The solver's API as typed calls, for every party that talks to a solver (job creators, resource
 * providers, the web app). Events arrive over a signed WebSocket that reconnects by itself; on every
 * (re)connection the solver replays the current state of the party's deals, so nothing is missed.
 */
import type { Hex, LocalAccount } from 'viem';
import WebSocket from 'ws';
import { LilypadError } from './errors.js';
import { signRequest } from './signed-request.js';
import {
  type DealView,
  dealViewSchema,
  type JobOfferView,
  jobOfferViewSchema,
  parseWire,
  type SignedJobOffer,
  type SignedResourceOffer,
  type SolverEvent,
  solverEventSchema,
  toWire,
} from './wire.js';

export class SolverRequestError extends LilypadError {
  override name = 'SolverRequestError';
  readonly status: number;
  constructor(status: number, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options);
    this.status = status;
  }
}

export type EventSubscription = { close(): void };

export class SolverClient {
  readonly url: string;
  readonly #account: LocalAccount;

  constructor(url: string, account: LocalAccount) {
    this.url = url.replace(/\/+$/, '');
    this.#account = account;
  }

  health(): Promise<{ solver: Hex; chainId: number; deals: Hex; token: Hex }> {
    return this.#request('GET', '/api/v1/health');
  }

  postJobOffer(signed: SignedJobOffer): Promise<{ id: Hex }> {
    return this.#request('POST', '/api/v1/job-offers', toWire(signed));
  }

  postResourceOffer(signed: SignedResourceOffer): Promise<{ id: Hex }> {
    return this.#request('POST', '/api/v1/resource-offers', toWire(signed));
  }

  async getJobOffer(id: Hex): Promise<JobOfferView> {
    return parseWire(
      jobOfferViewSchema,
      await this.#request('GET', `/api/v1/job-offers/${id}`),
      'job offer view',
    );
  }

  async getDeal(id: Hex): Promise<DealView> {
    return parseWire(dealViewSchema, await this.#request('GET', `/api/v1/deals/${id}`), 'deal view');
  }

  signDeal(id: Hex, signature: Hex): Promise<{ id: Hex; status: string }> {
    return this.#request('POST', `/api/v1/deals/${id}/signatures`, { signature });
  }

  markRunning(id: Hex): Promise<{ id: Hex; status: string }> {
    return this.#request('POST', `/api/v1/deals/${id}/running`, undefined, { signed: true });
  }

  uploadCar(dealId: Hex, car: Uint8Array): Promise<{ roots: string[] }> {
    return this.#request('PUT', `/api/v1/deals/${dealId}/files`, car, { signed: true });
  }

  /** Whether the directory already holds a block (used to skip re-uploading a module). */
  async hasBlock(cid: string): Promise<boolean> {
    const response = await fetch(`${this.url}/ipfs/${cid}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.ipld.raw' },
    });
    return response.ok;
  }

  /** Opens the event socket; resolves once the first connection is up. */
  async subscribe(
    onEvent: (event: SolverEvent) => void,
    options: { signal?: AbortSignal } = {},
  ): Promise<EventSubscription> {
    let closed = false;
    let socket: WebSocket | undefined;
    let retryDelay = 100;
    const path = '/api/v1/events';
    const connect = async (): Promise<void> => {
      const headers = await signRequest(this.#account, 'GET', path);
      const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}${path}`, { headers });
      socket = ws;
      ws.on('message', (data) => {
        let event: SolverEvent;
        try {
          event = parseWire(solverEventSchema, JSON.parse(String(data)), 'solver event');
        } catch {
          return; // an event this client does not understand is not its business
        }
        onEvent(event);
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => {
          retryDelay = 100;
          resolve();
        });
        ws.once('unexpected-response', (_req, res) =>
          reject(
            new SolverRequestError(
              res.statusCode ?? 0,
              `the solver refused the event socket (${res.statusCode})`,
            ),
          ),
        );
        ws.once('error', (cause) =>
          reject(new SolverRequestError(0, `cannot reach the solver at ${this.url}`, { cause })),
        );
      });
      ws.on('close', () => {
        if (closed) return;
        setTimeout(() => void connect().catch(() => ws.emit('close')), retryDelay).unref();
        retryDelay = Math.min(retryDelay * 2, 5000);
      });
    };
    const close = () => {
      closed = true;
      socket?.close();
    };
    options.signal?.addEventListener('abort', close, { once: true });
    await connect();
    return { close };
  }

  async #request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { signed?: boolean } = {},
  ): Promise<T> {
    const isBytes = body instanceof Uint8Array;
    const payload =
      body === undefined ? new Uint8Array() : isBytes ? body : new TextEncoder().encode(JSON.stringify(body));
    const headers: Record<string, string> = options.signed
      ? await signRequest(this.#account, method, path, payload)
      : {};
    if (body !== undefined)
      headers['content-type'] = isBytes ? 'application/vnd.ipld.car' : 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers,
        // A copy into a plain ArrayBuffer: what fetch's BodyInit type accepts.
        body: body === undefined ? undefined : new Uint8Array(payload),
      });
    } catch (cause) {
      throw new SolverRequestError(0, `cannot reach the solver at ${this.url}`, {
        cause,
        hint: 'is the solver running? check the solver URL',
      });
    }
    const text = await response.text();
    const json = text ? (JSON.parse(text) as unknown) : {};
    if (!response.ok) {
      const message = (json as { error?: string }).error ?? text;
      throw new SolverRequestError(
        response.status,
        `${method} ${path} failed (${response.status}): ${message}`,
      );
    }
    return json as T;
  }
}
