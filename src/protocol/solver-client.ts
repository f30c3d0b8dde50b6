/**
 * The solver's API as typed calls, for every party that talks to a solver (job creators, resource
 * providers, the web app, the CLI).
 *
 * Every call is idempotent on the solver's side (an offer's id is its hash, a deal signature or an
 * upload can be sent twice), so a call that cannot reach the solver, or is told to slow down (429, with
 * Retry-After), is retried with backoff for up to `retryForMs`: a solver that restarts is waited for.
 * Events arrive over a signed WebSocket that connects (and reconnects) by itself, with backoff; each event carries the
 * party's event number `seq`, and a reconnection asks for everything after the last one seen, so
 * nothing is missed (a party connecting for the first time gets the current state of its deals).
 */
import type { Hex, LocalAccount } from 'viem';
import WebSocket from 'ws';
import { LilypadError } from './errors.js';
import { signRequest } from './signed-request.js';
import {
  type DealView,
  dealViewSchema,
  eventSeqSchema,
  type JobOfferView,
  type JobWhy,
  jobOfferViewSchema,
  jobWhySchema,
  type OfferAccepted,
  offerAcceptedSchema,
  type PublishedModule,
  parseWire,
  publishedModuleSchema,
  type ResourceOfferView,
  resourceOfferViewSchema,
  type SignedJobOffer,
  type SignedResourceOffer,
  type SolverEvent,
  solverEventSchema,
  toWire,
} from './wire.js';

export class SolverRequestError extends LilypadError {
  override name = 'SolverRequestError';
  readonly status: number;
  /** From a 429's Retry-After header. */
  readonly retryAfterMs: number | undefined;
  constructor(
    status: number,
    message: string,
    options: { cause?: unknown; hint?: string; retryAfterMs?: number } = {},
  ) {
    super(message, options);
    this.status = status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export type EventSubscription = { close(): void };

export type SolverClientOptions = {
  /** How long a call keeps retrying while the solver is unreachable or asks to slow down. Default 30 s. */
  retryForMs?: number;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The solver is unreachable (status 0), unavailable (502, 503) or busy (429): worth another try. */
const isRetryable = (error: unknown): error is SolverRequestError =>
  error instanceof SolverRequestError && [0, 429, 502, 503].includes(error.status);

export class SolverClient {
  readonly url: string;
  readonly #account: LocalAccount;
  readonly #retryForMs: number;

  constructor(url: string, account: LocalAccount, options: SolverClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.#account = account;
    this.#retryForMs = options.retryForMs ?? 30_000;
  }

  health(): Promise<{ solver: Hex; chainId: number; deals: Hex; token: Hex }> {
    return this.#request('GET', '/api/v1/health');
  }

  /** With `private`, the deal's inputs and result are served to its members only. */
  async postJobOffer(signed: SignedJobOffer, options: { private?: boolean } = {}): Promise<OfferAccepted> {
    const body = options.private ? { ...signed, private: true } : signed;
    return parseWire(
      offerAcceptedSchema,
      await this.#request('POST', '/api/v1/job-offers', toWire(body)),
      'offer answer',
    );
  }

  async postResourceOffer(signed: SignedResourceOffer): Promise<OfferAccepted> {
    return parseWire(
      offerAcceptedSchema,
      await this.#request('POST', '/api/v1/resource-offers', toWire(signed)),
      'offer answer',
    );
  }

  async getJobOffer(id: Hex): Promise<JobOfferView> {
    return parseWire(
      jobOfferViewSchema,
      await this.#request('GET', `/api/v1/job-offers/${id}`),
      'job offer view',
    );
  }

  /** Why a job offer waits, or what became of it, in one sentence. */
  async whyJobOffer(id: Hex): Promise<JobWhy> {
    return parseWire(jobWhySchema, await this.#request('GET', `/api/v1/job-offers/${id}/why`), 'job why');
  }

  /** Cancels a job offer this account signed (its proposed deal too); refused once the deal is agreed. */
  cancelJobOffer(id: Hex): Promise<{ id: Hex; status: string }> {
    return this.#request('DELETE', `/api/v1/job-offers/${id}`, undefined, { signed: true });
  }

  async getResourceOffer(id: Hex): Promise<ResourceOfferView> {
    return parseWire(
      resourceOfferViewSchema,
      await this.#request('GET', `/api/v1/resource-offers/${id}`),
      'resource offer view',
    );
  }

  /** Withdraws a resource offer this account signed; an agreed deal it serves goes on. */
  cancelResourceOffer(id: Hex): Promise<{ id: Hex; status: string }> {
    return this.#request('DELETE', `/api/v1/resource-offers/${id}`, undefined, { signed: true });
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

  /** Publishes a module folder (a CAR of it) outside any deal; the solver pins it and counts it against our quota. */
  async publishModule(car: Uint8Array): Promise<PublishedModule> {
    return parseWire(
      publishedModuleSchema,
      await this.#request('POST', '/api/v1/modules', car, { signed: true }),
      'module publication answer',
    );
  }

  /** Whether the directory already holds a block (used to skip re-uploading a module). */
  async hasBlock(cid: string): Promise<boolean> {
    const response = await fetch(`${this.url}/ipfs/${cid}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.ipld.raw' },
    });
    return response.ok;
  }

  /**
   * Opens the event socket; resolves once the first connection is up. `since` starts after that event
   * number (as a reconnection does); without it the first connection gets the current state.
   */
  async subscribe(
    onEvent: (event: SolverEvent, meta: { seq: number | undefined }) => void,
    options: { signal?: AbortSignal; since?: number } = {},
  ): Promise<EventSubscription> {
    let closed = false;
    let socket: WebSocket | undefined;
    let retryDelay = 100;
    let lastSeq = options.since;
    const connect = async (): Promise<void> => {
      const path = lastSeq === undefined ? '/api/v1/events' : `/api/v1/events?since=${lastSeq}`;
      const headers = await signRequest(this.#account, 'GET', path);
      const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}${path}`, { headers });
      socket = ws;
      ws.on('message', (data) => {
        let raw: unknown;
        try {
          raw = JSON.parse(String(data));
        } catch {
          return;
        }
        const seq = eventSeqSchema.safeParse(raw).data?.seq;
        if (seq !== undefined) lastSeq = seq;
        const event = solverEventSchema.safeParse(raw);
        // An event this client does not understand is not its business.
        if (event.success) onEvent(event.data, { seq });
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
      ws.on('error', () => {}); // a 'close' follows, and reconnects
      ws.on('close', () => reconnect());
      if (closed) ws.close();
    };
    const reconnect = () => {
      if (closed) return;
      setTimeout(() => void connect().catch(() => reconnect()), retryDelay).unref();
      retryDelay = Math.min(retryDelay * 2, 5000);
    };
    const close = () => {
      closed = true;
      socket?.close();
    };
    options.signal?.addEventListener('abort', close, { once: true });
    // The first connection is waited for as a call is: a solver that is restarting comes back.
    const deadline = Date.now() + this.#retryForMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      try {
        await connect();
        break;
      } catch (error) {
        if (!isRetryable(error) || closed || Date.now() + delay > deadline) throw error;
        await sleep(delay);
      }
    }
    return { close };
  }

  /** One call, retried while the solver is unreachable (status 0), unavailable (502, 503) or busy (429). */
  async #request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { signed?: boolean } = {},
  ): Promise<T> {
    const deadline = Date.now() + this.#retryForMs;
    let delay = 100;
    for (;;) {
      try {
        return await this.#requestOnce<T>(method, path, body, options);
      } catch (error) {
        if (!isRetryable(error)) throw error;
        const wait = error.retryAfterMs ?? delay;
        if (Date.now() + wait > deadline) throw error;
        await sleep(wait);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  async #requestOnce<T>(
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
    let json: unknown = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { error: text };
    }
    if (!response.ok) {
      const message = (json as { error?: string }).error ?? text;
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new SolverRequestError(
        response.status,
        `${method} ${path} failed (${response.status}): ${message}`,
        {
          retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
        },
      );
    }
    return json as T;
  }
}
