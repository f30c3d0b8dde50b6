/**
 * The OpenAPI 3.1 document of the solver's API, served at /api/v1/openapi.json. Bodies and answers are
 * the zod schemas of src/protocol/wire.ts turned into JSON Schema (as they travel: bigints as decimal
 * strings), so the document cannot drift from what the server validates.
 */
import { z } from 'zod';
import { MAX_STATS_PAGE, NETWORK_STATS_PATH, networkStatsSchema } from '../protocol/network-stats.js';
import {
  apiErrorSchema,
  dealSignatureSchema,
  dealViewSchema,
  jobOfferPostSchema,
  jobOfferViewSchema,
  jobWhySchema,
  offerAcceptedSchema,
  offerCancelledSchema,
  resourceOfferViewSchema,
  signedJobOfferSchema,
  signedResourceOfferSchema,
  solverEventSchema,
} from '../protocol/wire.js';

const schemas = {
  SignedJobOffer: signedJobOfferSchema,
  JobOfferPost: jobOfferPostSchema,
  SignedResourceOffer: signedResourceOfferSchema,
  OfferAccepted: offerAcceptedSchema,
  OfferCancelled: offerCancelledSchema,
  JobOfferView: jobOfferViewSchema,
  JobWhy: jobWhySchema,
  ResourceOfferView: resourceOfferViewSchema,
  DealView: dealViewSchema,
  DealSignature: dealSignatureSchema,
  SolverEvent: solverEventSchema,
  NetworkStats: networkStatsSchema,
  Error: apiErrorSchema,
};

const ref = (name: keyof typeof schemas) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: keyof typeof schemas) => ({ 'application/json': { schema: ref(name) } });
const answer = (description: string, name: keyof typeof schemas) => ({ description, content: json(name) });
const error = (description: string) => answer(description, 'Error');
const idParameter = (what: string) => [
  {
    name: 'id',
    in: 'path',
    required: true,
    description: `the ${what} id (0x + 64 hex digits)`,
    schema: { type: 'string' },
  },
];
const signedHeaders = [
  'x-lilypad-address',
  'x-lilypad-timestamp',
  'x-lilypad-nonce',
  'x-lilypad-signature',
].map((name) => ({ name, in: 'header', required: true, schema: { type: 'string' } }));
const rateLimited = error('too many requests from this address; the Retry-After header says when to retry');

export function openApiDocument(): Record<string, unknown> {
  const components = Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => {
      const { $schema: _, ...jsonSchema } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
      return [name, jsonSchema];
    }),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lilypad solver',
      version: '1',
      description:
        'Matches EIP-712-signed job offers with resource offers, proposes deals, collects both signatures, ' +
        'submits them on-chain and pushes each party its own events. State-changing requests without a signed ' +
        'offer in the body are signed by their sender (headers x-lilypad-*: EIP-191 over method, path, ' +
        'timestamp, nonce and body hash; see signRequest). Every error is { error } with words that say what to fix.',
    },
    paths: {
      '/api/v1/health': {
        get: {
          summary: 'who this solver is: address, chain, contracts, suggested mediators',
          responses: { 200: { description: 'ok' } },
        },
      },
      '/api/v1/job-offers': {
        post: {
          summary:
            'post a signed job offer (private: the deal uploads are served to its members only); it is matched at once or waits in the queue',
          requestBody: { required: true, content: json('JobOfferPost') },
          responses: {
            201: answer('taken', 'OfferAccepted'),
            200: answer('already known', 'OfferAccepted'),
            400: error('the body is not a job offer; the message names each field to fix'),
            422: error('refused: wrong signer, another solver, or expired'),
            429: rateLimited,
          },
        },
      },
      '/api/v1/job-offers/{id}': {
        parameters: idParameter('job offer'),
        get: {
          summary: 'a job offer, its status and why it waits',
          responses: { 200: answer('ok', 'JobOfferView'), 404: error('no such offer') },
        },
        delete: {
          summary: 'cancel a job offer (signed by its job creator); a proposed deal is cancelled with it',
          parameters: signedHeaders,
          responses: {
            200: answer('cancelled (or already final: its status)', 'OfferCancelled'),
            401: error('not signed'),
            403: error('signed by someone else than the job creator'),
            409: error('its deal is already agreed on-chain'),
            429: rateLimited,
          },
        },
      },
      '/api/v1/job-offers/{id}/why': {
        parameters: idParameter('job offer'),
        get: {
          summary:
            'why a job waits ("3 resource offers open, none fits: none has gpu >= 1; …") or what became of it',
          responses: { 200: answer('ok', 'JobWhy'), 404: error('no such offer') },
        },
      },
      '/api/v1/resource-offers': {
        post: {
          summary: 'post a signed resource offer; it serves the oldest waiting job it fits, or stays open',
          requestBody: { required: true, content: json('SignedResourceOffer') },
          responses: {
            201: answer('taken', 'OfferAccepted'),
            200: answer('already known', 'OfferAccepted'),
            400: error('the body is not a resource offer; the message names each field to fix'),
            422: error('refused: wrong signer, another solver, or expired'),
            429: rateLimited,
          },
        },
      },
      '/api/v1/resource-offers/{id}': {
        parameters: idParameter('resource offer'),
        get: {
          summary: 'a resource offer and its status',
          responses: { 200: answer('ok', 'ResourceOfferView'), 404: error('no such offer') },
        },
        delete: {
          summary: 'withdraw a resource offer (signed by its provider); an agreed deal it serves goes on',
          parameters: signedHeaders,
          responses: {
            200: answer('cancelled (or already final: its status)', 'OfferCancelled'),
            401: error('not signed'),
            403: error('signed by someone else than the resource provider'),
            429: rateLimited,
          },
        },
      },
      '/api/v1/deals/{id}': {
        parameters: idParameter('deal'),
        get: {
          summary: 'a deal: its terms, status and result',
          responses: { 200: answer('ok', 'DealView'), 404: error('no such deal') },
        },
      },
      '/api/v1/deals/{id}/signatures': {
        parameters: idParameter('deal'),
        post: {
          summary: "a party's EIP-712 signature of the proposed deal; with both, the solver submits agree",
          requestBody: { required: true, content: json('DealSignature') },
          responses: {
            200: { description: 'recorded' },
            404: error('no such deal'),
            422: error('not signed by a party'),
          },
        },
      },
      '/api/v1/deals/{id}/running': {
        parameters: idParameter('deal'),
        post: {
          summary: 'the resource provider reports the job running (signed)',
          parameters: signedHeaders,
          responses: {
            200: { description: 'recorded' },
            401: error('not signed'),
            422: error('not the provider'),
          },
        },
      },
      '/api/v1/deals/{id}/files': {
        parameters: idParameter('deal'),
        put: {
          summary:
            "upload a CAR (module, inputs or result) for a deal, signed by one of its members; counts against the uploader's quota",
          parameters: signedHeaders,
          requestBody: {
            required: true,
            content: { 'application/vnd.ipld.car': { schema: { type: 'string', format: 'binary' } } },
          },
          responses: {
            201: { description: 'stored: { roots }' },
            400: error('not a valid, complete, verified CAR'),
            403: error('not a member of the deal'),
            413: error('larger than the upload limit, or past the quota'),
            415: error('not a CAR'),
          },
        },
      },
      '/api/v1/modules': {
        post: {
          summary:
            "publish a module folder as a CAR, signed by its publisher, outside any deal; pinned while published or used by a deal within the solver's module retention, and counted against the publisher's quota as long",
          parameters: signedHeaders,
          requestBody: {
            required: true,
            content: { 'application/vnd.ipld.car': { schema: { type: 'string', format: 'binary' } } },
          },
          responses: {
            201: { description: 'pinned: { cid, name, version, pinnedUntil }' },
            400: error('not a valid, complete, verified CAR'),
            401: error('not signed'),
            413: error('larger than the upload limit, or past the quota'),
            415: error('not a CAR'),
            422: error('not a module folder: one root, a UnixFS folder whose lilypad.module.json parses'),
          },
        },
      },
      [NETWORK_STATS_PATH]: {
        get: {
          summary:
            'the market: resource offers online with their prices and machines (a page at a time, oldest first), ' +
            'resource providers online, and deals per minute over the last hour',
          parameters: [
            {
              name: 'limit',
              in: 'query',
              required: false,
              description: 'offers per page (default 20)',
              schema: { type: 'integer', minimum: 1, maximum: MAX_STATS_PAGE },
            },
            {
              name: 'after',
              in: 'query',
              required: false,
              description: 'the next of the page before (a resource offer id)',
              schema: { type: 'string' },
            },
          ],
          responses: {
            200: answer('ok', 'NetworkStats'),
            400: error('a query parameter is wrong or unknown; the message names it'),
            429: rateLimited,
          },
        },
      },
      '/ipfs/{cid}': {
        get: {
          summary:
            'trustless gateway: a raw block (application/vnd.ipld.raw) or the DAG as a CAR (application/vnd.ipld.car)',
          parameters: [{ name: 'cid', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: 'the block or CAR' },
            403: {
              description:
                "a private deal's input or result: served only to the deal's members, on a signed request",
            },
            404: { description: 'not in the directory' },
          },
        },
      },
      '/api/v1/events': {
        get: {
          summary:
            'WebSocket (signed upgrade): the party\'s own events, each with "seq"; ?since=<last seq seen> replays what was missed',
          parameters: [
            ...signedHeaders,
            { name: 'since', in: 'query', required: false, schema: { type: 'integer', minimum: 0 } },
          ],
          responses: {
            101: {
              description: 'switching to WebSocket; messages are SolverEvent plus seq',
              content: json('SolverEvent'),
            },
            400: { description: 'since is not a number' },
            401: { description: 'not signed' },
            429: { description: 'too many connections from this address' },
          },
        },
      },
    },
    components: { schemas: components },
  };
}
