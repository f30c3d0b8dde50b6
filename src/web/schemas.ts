/**
 * Every body the web API takes and every answer it gives, as zod schemas: the server validates with
 * them, the OpenAPI document is generated from them, and the typed client's types are inferred from them.
 * Token amounts travel as decimal strings of wei (18 decimals), or as LP amounts like "2.5" in bodies.
 */
import { z } from 'zod';
import { addressSchema, hashSchema, machineSpecSchema } from '../protocol/wire.js';

const lpAmount = z
  .string()
  .regex(/^\d{1,12}(\.\d{1,18})?$/, 'must be an amount of LP like "10" or "0.5"')
  .describe('an amount of LP, e.g. "10" or "0.5"');

export const signUpBody = z.strictObject({
  email: z.email('must be an email address like ada@example.org').max(254),
  password: z.string().min(10, 'must be at least 10 characters').max(200, 'must be at most 200 characters'),
});
export const signInBody = z.strictObject({ email: z.string().max(254), password: z.string().max(200) });
export const siweBody = z.strictObject({
  message: z.string().min(1).max(4000, 'must be an EIP-4361 message of at most 4000 characters'),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature, 0x + 130 hex digits'),
});
export const createKeyBody = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(60, 'must be at most 60 characters'),
});
export const submitJobBody = z.strictObject({
  module: z.string().min(1, 'must name a module, e.g. cowsay:v0.0.1').max(200),
  inputs: z.record(z.string(), z.string().max(100_000)).default({}),
  maxPrice: lpAmount.optional(),
});
export const amountBody = z.strictObject({ amount: lpAmount });

export const JobStatuses = [
  'submitted',
  'offered',
  'matched',
  'running',
  'verified',
  'paid',
  'failed',
] as const;
export const jobStatusSchema = z.enum(JobStatuses);
export type JobStatus = z.output<typeof jobStatusSchema>;

export const accountView = z.object({
  id: z.string(),
  email: z.string().nullable(),
  ethAddress: addressSchema.nullable(),
  wallet: addressSchema,
  createdAt: z.number(),
});
export const sessionView = z.object({ account: accountView, csrfToken: z.string() });

export const apiKeyView = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.number(),
  lastUsedAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
});
export const createdApiKeyView = apiKeyView.extend({
  secret: z.string().describe('the key itself: shown this once, stored only as a hash'),
});

export const jobView = z.object({
  id: z.string(),
  module: z.string(),
  inputs: z.record(z.string(), z.string()),
  status: jobStatusSchema,
  jobOfferId: hashSchema.nullable(),
  dealId: hashSchema.nullable(),
  resourceProvider: addressSchema.nullable(),
  resultCID: z.string().nullable(),
  cost: z.string().nullable().describe('wei of LP paid, once known'),
  error: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export const jobEventView = z.object({
  seq: z.number().int(),
  type: z.string().describe('job:submitted, job:offer-posted, job:matched, … job:accepted, job:failed'),
  at: z.number(),
  status: jobStatusSchema,
  data: z.record(z.string(), z.unknown()),
});
export const resultFileView = z.object({ path: z.string(), size: z.number().int() });

export const moduleView = z.object({
  ref: z.string(),
  cid: z.string(),
  name: z.string(),
  version: z.string(),
  description: z.string(),
  executor: z.string(),
  inputs: z.record(
    z.string(),
    z.object({
      type: z.string(),
      description: z.string(),
      default: z.union([z.string(), z.number(), z.boolean()]).optional(),
      maxLength: z.number().optional(),
      min: z.number().optional(),
      max: z.number().optional(),
      pattern: z.string().optional(),
    }),
  ),
  spec: z.object({
    cpu: z.number(),
    gpu: z.number(),
    gpuVram: z.number(),
    ram: z.number(),
    disk: z.number(),
  }),
  timeoutSeconds: z.number(),
  typicalPrice: z.string().nullable().describe('median wei paid for this module on this app, if it ran'),
});

export const walletView = z.object({
  address: addressSchema,
  gas: z.string(),
  tokens: z.string(),
  escrowFree: z.string(),
  escrowLocked: z.string(),
  spent: z.string().describe('wei of LP paid for this account’s jobs'),
  faucet: z.boolean().describe('whether new wallets are funded by a faucet here (the devnet)'),
});
export const transactionView = z.object({ txHash: hashSchema });

export const networkView = z.object({
  chainId: z.number(),
  solver: addressSchema,
  solverUrl: z.string(),
  providersOnline: z.number().describe('resource providers with an offer on the solver’s market'),
  offersOnline: z.number().describe('resource offers on the market, open or serving a deal'),
  jobsPerMinute: z
    .number()
    .describe(
      'deals the solver made over the last ten minutes, per minute (from anywhere, not only this app)',
    ),
  prices: z
    .object({ min: z.string().nullable(), median: z.string().nullable(), max: z.string().nullable() })
    .describe('fixed prices of the offers online, in wei'),
  offers: z
    .array(
      z.object({
        id: hashSchema,
        resourceProvider: addressSchema,
        status: z.enum(['open', 'busy']),
        spec: machineSpecSchema,
        fixedPrice: z.string(),
        pricePerInstruction: z.string(),
      }),
    )
    .describe('the first offers online, oldest first (milli-CPUs, MB)'),
  lastHour: z
    .array(z.object({ minute: z.number(), jobs: z.number(), paid: z.number() }))
    .describe('per minute: deals made, and how many of them are settled'),
});

export const apiErrorView = z.object({ error: z.string() });

export type AccountView = z.output<typeof accountView>;
export type SessionView = z.output<typeof sessionView>;
export type ApiKeyView = z.output<typeof apiKeyView>;
export type CreatedApiKeyView = z.output<typeof createdApiKeyView>;
export type JobView = z.output<typeof jobView>;
export type JobEventView = z.output<typeof jobEventView>;
export type ResultFileView = z.output<typeof resultFileView>;
export type ModuleView = z.output<typeof moduleView>;
export type WalletView = z.output<typeof walletView>;
export type NetworkView = z.output<typeof networkView>;
export type SubmitJobBody = z.input<typeof submitJobBody>;
