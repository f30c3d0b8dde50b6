/**
 * A small typed client of the web API, for programs (with an API key) and for the pages (with the
 * session cookie and its CSRF token). No dependencies beyond `fetch`, so the pages bundle it as it is.
 *
 *   const lilypad = createClient({ url: 'http://127.0.0.1:8080', apiKey: process.env.LILYPAD_API_KEY });
 *   const job = await lilypad.submitJob({ module: 'cowsay:v0.0.1', inputs: { Message: 'moo' } });
 *   const done = await lilypad.followJob(job.id, (event) => console.log(event.type));
 *   console.log(await lilypad.fileText(done.id, 'stdout'));
 */
import type * as Views from './schemas.js';

export type {
  ApiKeyView,
  CreatedApiKeyView,
  JobEventView,
  JobView,
  ModuleView,
  NetworkView,
  ResultFileView,
  SessionView,
  SubmitJobBody,
  WalletView,
} from './schemas.js';

export type ClientOptions = {
  /** The web app's origin, e.g. http://127.0.0.1:8080; '' for the page's own. */
  url: string;
  /** `lp_…`, from the account page. Without it, the browser's session cookie is used. */
  apiKey?: string;
  /** The session's CSRF token, sent on every change (browsers only). */
  csrfToken?: () => string | undefined;
};

/** A 4xx or 5xx: `message` is the server's words on what to fix. */
export class WebApiError extends Error {
  override name = 'WebApiError';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const FINISHED = new Set(['paid', 'failed']);

export function createClient(options: ClientOptions) {
  const base = options.url.replace(/\/$/, '');
  const headers = (extra: Record<string, string> = {}, change = false): Record<string, string> => {
    const out: Record<string, string> = { ...extra };
    if (options.apiKey) out.authorization = `Bearer ${options.apiKey}`;
    const csrf = change ? options.csrfToken?.() : undefined;
    if (csrf) out['x-csrf-token'] = csrf;
    return out;
  };
  const send = async (
    method: string,
    path: string,
    init: { json?: unknown; body?: BodyInit; accept?: string } = {},
  ) => {
    const change = method !== 'GET';
    const response = await fetch(`${base}${path}`, {
      method,
      credentials: 'same-origin',
      headers: headers(
        {
          ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(init.accept ? { accept: init.accept } : {}),
        },
        change,
      ),
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });
    if (!response.ok) {
      const text = await response.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {}
      throw new WebApiError(response.status, message || response.statusText);
    }
    return response;
  };
  const json = async <T>(method: string, path: string, body?: unknown): Promise<T> =>
    (await send(method, path, body === undefined ? {} : { json: body })).json() as Promise<T>;
  const id = (value: string) => encodeURIComponent(value);
  const filePath = (jobId: string, path: string) =>
    `/api/v1/jobs/${id(jobId)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;

  const client = {
    // ---- account and session (browsers) ----
    session: () => json<Views.SessionView>('GET', '/api/v1/session'),
    signUp: (email: string, password: string) =>
      json<Views.SessionView>('POST', '/api/v1/auth/signup', { email, password }),
    signIn: (email: string, password: string) =>
      json<Views.SessionView>('POST', '/api/v1/auth/signin', { email, password }),
    signOut: () => json<{ ok: boolean }>('POST', '/api/v1/auth/signout', {}),
    siweNonce: () =>
      json<{ nonce: string; domain: string; chainId: number }>('GET', '/api/v1/auth/siwe/nonce'),
    signInWithEthereum: (message: string, signature: string) =>
      json<Views.SessionView>('POST', '/api/v1/auth/siwe', { message, signature }),
    keys: () => json<Views.ApiKeyView[]>('GET', '/api/v1/keys'),
    createKey: (name: string) => json<Views.CreatedApiKeyView>('POST', '/api/v1/keys', { name }),
    revokeKey: (keyId: string) =>
      json<{ id: string; revoked: boolean }>('DELETE', `/api/v1/keys/${id(keyId)}`),
    wallet: () => json<Views.WalletView>('GET', '/api/v1/account/wallet'),
    deposit: (amountLP: string) =>
      json<{ txHash: string }>('POST', '/api/v1/account/deposit', { amount: amountLP }),
    withdraw: (amountLP: string) =>
      json<{ txHash: string }>('POST', '/api/v1/account/withdraw', { amount: amountLP }),

    // ---- catalogue and network (anyone) ----
    modules: () => json<Views.ModuleView[]>('GET', '/api/v1/modules'),
    module: (ref: string) => json<Views.ModuleView>('GET', `/api/v1/modules/${id(ref)}`),
    network: () => json<Views.NetworkView>('GET', '/api/v1/network'),

    // ---- jobs ----
    submitJob: (body: Views.SubmitJobBody) => json<Views.JobView>('POST', '/api/v1/jobs', body),
    /** A job with file inputs: `files` maps an input name to its file. */
    submitJobWithFiles: async (
      body: Views.SubmitJobBody,
      files: Record<string, Blob & { name?: string }>,
    ) => {
      const form = new FormData();
      form.set('module', body.module);
      form.set('inputs', JSON.stringify(body.inputs ?? {}));
      if (body.maxPrice) form.set('maxPrice', body.maxPrice);
      for (const [input, file] of Object.entries(files)) form.set(input, file, file.name ?? input);
      return (await send('POST', '/api/v1/jobs', { body: form })).json() as Promise<Views.JobView>;
    },
    job: (jobId: string) => json<Views.JobView>('GET', `/api/v1/jobs/${id(jobId)}`),
    jobs: () => json<Views.JobView[]>('GET', '/api/v1/jobs'),
    events: (jobId: string) => json<Views.JobEventView[]>('GET', `/api/v1/jobs/${id(jobId)}/events`),
    /**
     * Follows the job's Server-Sent Events until it is paid or failed, calling `onEvent` for each, and
     * returns the job as it ended. Reconnects after a dropped stream from the last event it saw.
     */
    followJob: async (
      jobId: string,
      onEvent: (event: Views.JobEventView) => void = () => {},
      { signal }: { signal?: AbortSignal } = {},
    ): Promise<Views.JobView> => {
      let last = 0;
      for (;;) {
        signal?.throwIfAborted();
        const response = await fetch(`${base}/api/v1/jobs/${id(jobId)}/events?since=${last}`, {
          credentials: 'same-origin',
          headers: headers({ accept: 'text/event-stream' }),
          signal,
        });
        if (!response.ok || !response.body) {
          const text = await response.text();
          throw new WebApiError(response.status, text);
        }
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        let finished = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const data = buffer
              .slice(0, end)
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice(6))
              .join('\n');
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
            if (!data) continue;
            const event = JSON.parse(data) as Views.JobEventView;
            last = event.seq;
            onEvent(event);
            if (FINISHED.has(event.status)) finished = true;
          }
        }
        if (finished) return client.job(jobId);
      }
    },
    files: (jobId: string) => json<Views.ResultFileView[]>('GET', `/api/v1/jobs/${id(jobId)}/files`),
    /** The URL of a result file; `download` makes it an attachment. */
    fileUrl: (jobId: string, path: string, download = false) =>
      `${base}${filePath(jobId, path)}${download ? '?download' : ''}`,
    fileText: async (jobId: string, path: string) => (await send('GET', filePath(jobId, path))).text(),
    fileBytes: async (jobId: string, path: string) =>
      new Uint8Array(await (await send('GET', filePath(jobId, path))).arrayBuffer()),
  };
  return client;
}

export type LilypadWebClient = ReturnType<typeof createClient>;
