/**
 * The JSON shapes of every message that crosses a process boundary, as zod schemas.
 * Bigints travel as decimal strings; addresses are checksummed on the way in.
 */
import { type Address, getAddress, type Hex } from 'viem';
import { z } from 'zod';
import type { Deal, JobOffer, MachineSpec, ResourceOffer } from './eip712.js';

export const addressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte hex address')
  .transform((value) => getAddress(value) as Address);

export const hashSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 0x-prefixed 32-byte hex hash')
  .transform((value) => value.toLowerCase() as Hex);

export const signatureSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{130}$/, 'expected a 0x-prefixed 65-byte hex signature')
  .transform((value) => value as Hex);

export const cidSchema = z
  .string()
  .regex(/^b[a-z2-7]{20,}$/, 'expected a base32 CIDv1 string (starts with "b")');

const uintString = z
  .string()
  .regex(/^\d{1,78}$/, 'expected a non-negative integer as a decimal string')
  .transform((value) => BigInt(value));

const uint32 = z.number().int().min(0).max(0xffff_ffff);

export const machineSpecSchema = z.object({
  cpu: uint32,
  gpu: uint32,
  gpuVram: uint32,
  ram: uint32,
  disk: uint32,
}) satisfies z.ZodType<MachineSpec>;

export const jobOfferSchema = z.object({
  jobCreator: addressSchema,
  solver: addressSchema,
  module: cidSchema,
  inputs: z.string().max(64 * 1024, 'inline inputs are limited to 64 KiB; upload larger inputs as files'),
  spec: machineSpecSchema,
  pricingMode: z.union([z.literal(0), z.literal(1)]),
  maxPrice: uintString,
  mediationFee: uintString,
  mediators: z.array(addressSchema).min(1, 'name at least one trusted mediator').max(16),
  target: addressSchema,
  submitTimeout: uintString,
  judgeTimeout: uintString,
  mediateTimeout: uintString,
  nonce: uintString,
  expiry: uintString,
}) satisfies z.ZodType<JobOffer, unknown>;

export const resourceOfferSchema = z.object({
  resourceProvider: addressSchema,
  solver: addressSchema,
  spec: machineSpecSchema,
  fixedPrice: uintString,
  pricePerInstruction: uintString,
  timeoutCollateral: uintString,
  resultsCollateralMultipleBps: uint32,
  mediators: z.array(addressSchema).min(1, 'name at least one trusted mediator').max(16),
  modules: z.array(cidSchema).max(1000),
  nonce: uintString,
  expiry: uintString,
}) satisfies z.ZodType<ResourceOffer, unknown>;

export const dealSchema = z.object({
  jobCreator: addressSchema,
  resourceProvider: addressSchema,
  solver: addressSchema,
  mediators: z.array(addressSchema).max(16),
  mediatorsDrawn: z.number().int().min(0).max(255),
  verdictsNeeded: z.number().int().min(0).max(255),
  jobOffer: hashSchema,
  resourceOffer: hashSchema,
  fixedPrice: uintString,
  pricePerInstruction: uintString,
  paymentCollateral: uintString,
  timeoutCollateral: uintString,
  resultsCollateralMultipleBps: uint32,
  mediationFee: uintString,
  submitTimeout: uintString,
  judgeTimeout: uintString,
  mediateTimeout: uintString,
  expiry: uintString,
}) satisfies z.ZodType<Deal, unknown>;

export const signedJobOfferSchema = z.object({ offer: jobOfferSchema, signature: signatureSchema });
export const signedResourceOfferSchema = z.object({ offer: resourceOfferSchema, signature: signatureSchema });
export type SignedJobOffer = z.output<typeof signedJobOfferSchema>;
/**
 * What a job creator posts: the signed offer and, apart from it (the offer's EIP-712 type is fixed), whether the
 * deal's uploads are private. Only the holder of the signed offer can post it first, and the first post decides.
 */
export const jobOfferPostSchema = signedJobOfferSchema.extend({ private: z.boolean().optional() });
export type JobOfferPost = z.output<typeof jobOfferPostSchema>;
export type SignedResourceOffer = z.output<typeof signedResourceOfferSchema>;

export const dealSignatureSchema = z.object({ signature: signatureSchema });
export const transactionReportSchema = z.object({
  hash: hashSchema,
});
export const dealProgressSchema = z.object({ status: z.enum(['running']) });

/** The solver's answer to GET /api/v1/job-offers/:id. */
export const jobOfferViewSchema = z.object({
  id: hashSchema,
  status: z.string(),
  dealId: hashSchema.nullable(),
  reason: z.string().nullable(),
  offer: jobOfferSchema,
});
export type JobOfferView = z.output<typeof jobOfferViewSchema>;

/** The solver's answer to posting an offer: its id, and whether it waits or was matched at once. */
export const offerAcceptedSchema = z.object({
  id: hashSchema,
  status: z.string(),
  dealId: hashSchema.nullable(),
});
export type OfferAccepted = z.output<typeof offerAcceptedSchema>;

/** The solver's answer to POST /api/v1/modules: the module id and until when it is pinned at least. */
export const publishedModuleSchema = z.object({
  cid: z.string().min(1),
  name: z.string(),
  version: z.string(),
  pinnedUntil: z.iso.datetime(),
});
export type PublishedModule = z.output<typeof publishedModuleSchema>;

/** The solver's answer to GET /api/v1/resource-offers/:id. */
export const resourceOfferViewSchema = z.object({
  id: hashSchema,
  status: z.string(),
  dealId: hashSchema.nullable(),
  offer: resourceOfferSchema,
});
export type ResourceOfferView = z.output<typeof resourceOfferViewSchema>;

/** The solver's answer to GET /api/v1/job-offers/:id/why: where the job is, in one sentence. */
export const jobWhySchema = z.object({
  id: hashSchema,
  status: z.string(),
  dealId: hashSchema.nullable(),
  reason: z.string(),
});
export type JobWhy = z.output<typeof jobWhySchema>;

/** The solver's answer to cancelling an offer (DELETE, signed by the offer's signer). */
export const offerCancelledSchema = z.object({ id: hashSchema, status: z.string() });

/** Every error the solver's API returns: what went wrong and what to do, in words. */
export const apiErrorSchema = z.object({ error: z.string() });

/** The solver's answer to GET /api/v1/deals/:id. */
export const dealViewSchema = z.object({
  id: hashSchema,
  status: z.string(),
  chainState: z.number().int(),
  deal: dealSchema,
  resultCID: cidSchema.nullable(),
  instructionCount: uintString.nullable(),
  cost: uintString.nullable(),
  reason: z.string().nullable(),
});
export type DealView = z.output<typeof dealViewSchema>;

/** Off-chain states the solver tracks for a job offer (PROTOCOL.md, "Off-chain states"). */
export const JobOfferStates = [
  'queued',
  'matched',
  'agreed',
  'running',
  'results-submitted',
  'settled',
  'expired',
  'cancelled',
] as const;
export type JobOfferState = (typeof JobOfferStates)[number];

/** What the solver pushes to a party over the event socket. */
export const solverEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('job:queued'), jobOfferId: hashSchema, reason: z.string() }),
  z.object({
    type: z.literal('deal:proposed'),
    dealId: hashSchema,
    deal: dealSchema,
    jobOffer: signedJobOfferSchema,
    resourceOffer: signedResourceOfferSchema,
  }),
  z.object({ type: z.literal('deal:agreed'), dealId: hashSchema, txHash: hashSchema }),
  z.object({ type: z.literal('deal:running'), dealId: hashSchema }),
  z.object({
    type: z.literal('deal:results-submitted'),
    dealId: hashSchema,
    resultCID: cidSchema,
    instructionCount: uintString,
    cost: uintString,
  }),
  z.object({ type: z.literal('deal:settled'), dealId: hashSchema, state: z.number().int() }),
  z.object({ type: z.literal('deal:cancelled'), dealId: hashSchema, reason: z.string() }),
]);
export type SolverEvent = z.output<typeof solverEventSchema>;

/**
 * Every event on the socket also carries `seq`: the party's event number (1, 2, 3… with no gaps). A
 * client that reconnects to `/api/v1/events?since=<last seq>` is sent what it missed.
 */
export const eventSeqSchema = z.object({ seq: z.number().int().min(0) });

/** Turns bigints into decimal strings: the inverse of the schemas above. */
export function toWire<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

/** Parses `value` with `schema`, or throws a message that names every field that is wrong. */
export function parseWire<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new WireError(`invalid ${what}: ${describeIssues(result.error)}`);
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
}

export class WireError extends Error {
  override name = 'WireError';
}
