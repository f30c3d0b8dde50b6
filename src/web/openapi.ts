/**
 * The OpenAPI 3.1 document of the web API, served at /api/v1/openapi.json, generated from the zod
 * schemas the server validates with (src/web/schemas.ts), so it cannot drift from them.
 */
import { z } from 'zod';
import * as s from './schemas.js';

const schemas = {
  SignUp: s.signUpBody,
  SignIn: s.signInBody,
  Siwe: s.siweBody,
  CreateKey: s.createKeyBody,
  SubmitJob: s.submitJobBody,
  Amount: s.amountBody,
  Session: s.sessionView,
  ApiKey: s.apiKeyView,
  CreatedApiKey: s.createdApiKeyView,
  Job: s.jobView,
  JobEvent: s.jobEventView,
  ResultFile: s.resultFileView,
  Module: s.moduleView,
  Wallet: s.walletView,
  Transaction: s.transactionView,
  Network: s.networkView,
  Error: s.apiErrorView,
};
type Name = keyof typeof schemas;

const ref = (name: Name) => ({ $ref: `#/components/schemas/${name}` });
const body = (name: Name) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });
const ok = (description: string, name: Name, list = false) => ({
  description,
  content: { 'application/json': { schema: list ? { type: 'array', items: ref(name) } : ref(name) } },
});
const errors = {
  400: ok('the request is invalid; the message says what to fix', 'Error'),
  401: ok('not signed in, or the API key is unknown or revoked', 'Error'),
  403: ok('a browser session request without its x-csrf-token header', 'Error'),
  429: ok('too many requests for this key; Retry-After says when to retry', 'Error'),
};
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const op = (summary: string, responses: Record<number, unknown>, extra: Record<string, unknown> = {}) => ({
  summary,
  ...extra,
  responses: { ...responses, ...errors },
});

export function webOpenApiDocument(): Record<string, unknown> {
  const components = Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => {
      const { $schema: _, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
      return [name, json];
    }),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lilypad web API',
      version: '1',
      description:
        'Run Lilypad modules without a wallet: each account has its own job-creator wallet on the network. ' +
        'Programs send Authorization: Bearer lp_… (an API key from the account page); browsers use the session ' +
        'cookie and send x-csrf-token on every change. Every error is { error } with words that say what to fix.',
    },
    components: {
      schemas: components,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'an API key, lp_…' },
        session: { type: 'apiKey', in: 'cookie', name: 'lilypad_session' },
      },
    },
    security: [{ apiKey: [] }, { session: [] }],
    paths: {
      '/api/v1/auth/signup': {
        post: op(
          'make an account with email and password',
          { 201: ok('signed in', 'Session') },
          { requestBody: body('SignUp'), security: [] },
        ),
      },
      '/api/v1/auth/signin': {
        post: op(
          'sign in with email and password',
          { 200: ok('signed in', 'Session') },
          { requestBody: body('SignIn'), security: [] },
        ),
      },
      '/api/v1/auth/siwe/nonce': {
        get: op(
          'a single-use nonce for a Sign-In with Ethereum message',
          { 200: { description: '{ nonce, domain, chainId }: the message must name this domain and chain' } },
          { security: [] },
        ),
      },
      '/api/v1/auth/siwe': {
        post: op(
          'sign in with an EIP-4361 message and its signature',
          { 200: ok('signed in', 'Session'), 201: ok('account made and signed in', 'Session') },
          { requestBody: body('Siwe'), security: [] },
        ),
      },
      '/api/v1/auth/signout': {
        post: op('end this browser session', { 200: { description: 'signed out' } }),
      },
      '/api/v1/session': {
        get: op('the signed-in account and its CSRF token', { 200: ok('the session', 'Session') }),
      },
      '/api/v1/keys': {
        get: op('this account’s API keys (never the keys themselves)', { 200: ok('keys', 'ApiKey', true) }),
        post: op(
          'make an API key: the answer holds it, once',
          { 201: ok('the new key', 'CreatedApiKey') },
          { requestBody: body('CreateKey') },
        ),
      },
      '/api/v1/keys/{id}': {
        delete: op('revoke a key', { 200: { description: 'revoked' } }, { parameters: [idParameter] }),
      },
      '/api/v1/modules': {
        get: op('the module catalogue', { 200: ok('modules', 'Module', true) }, { security: [] }),
      },
      '/api/v1/modules/{ref}': {
        get: op(
          'one module',
          { 200: ok('the module', 'Module') },
          { security: [], parameters: [{ ...idParameter, name: 'ref' }] },
        ),
      },
      '/api/v1/jobs': {
        get: op('this account’s jobs, newest first', { 200: ok('jobs', 'Job', true) }),
        post: op(
          'run a module: JSON { module, inputs }, or multipart/form-data with the fields module and inputs (JSON) and one file per file input',
          { 202: ok('the job, started', 'Job') },
          {
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: ref('SubmitJob') },
                'multipart/form-data': { schema: { type: 'object' } },
              },
            },
          },
        ),
      },
      '/api/v1/jobs/{id}': {
        get: op('one job', { 200: ok('the job', 'Job') }, { parameters: [idParameter] }),
      },
      '/api/v1/jobs/{id}/events': {
        get: op(
          'the job’s events: Server-Sent Events (Accept: text/event-stream; resumes after Last-Event-ID) until it is paid or failed, else the list as JSON',
          { 200: ok('events', 'JobEvent', true) },
          { parameters: [idParameter, { name: 'since', in: 'query', schema: { type: 'integer' } }] },
        ),
      },
      '/api/v1/jobs/{id}/files': {
        get: op(
          'the files of the verified result',
          { 200: ok('files', 'ResultFile', true) },
          { parameters: [idParameter] },
        ),
      },
      '/api/v1/jobs/{id}/files/{path}': {
        get: op(
          'one result file (?download for an attachment)',
          { 200: { description: 'the file' } },
          { parameters: [idParameter, { ...idParameter, name: 'path' }] },
        ),
      },
      '/api/v1/account/wallet': {
        get: op('the account’s wallet: balances and spending, in wei', { 200: ok('the wallet', 'Wallet') }),
      },
      '/api/v1/account/deposit': {
        post: op(
          'move LP from the wallet into the escrow',
          { 200: ok('sent', 'Transaction') },
          { requestBody: body('Amount') },
        ),
      },
      '/api/v1/account/withdraw': {
        post: op(
          'move free escrow back to the wallet',
          { 200: ok('sent', 'Transaction') },
          { requestBody: body('Amount') },
        ),
      },
      '/api/v1/network': {
        get: op(
          "the network from the solver's statistics: providers and offers online, their prices, deals per minute over the last hour",
          { 200: ok('the network', 'Network'), 502: ok('the solver did not answer', 'Error') },
          { security: [] },
        ),
      },
    },
  };
}
