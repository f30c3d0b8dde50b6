/**
 * Who may download what a private deal uploaded (its file inputs and its result): the deal's members only,
 * the job creator, the resource provider and the mediators it lists, each with a signed GET. Only the
 * root of an upload is guarded: the blocks under it are served to whoever names their CID, which they
 * can only learn from the root (a CID cannot be guessed). The deal's module stays public: other deals
 * and the registry share it; so does content a public deal uploaded too.
 */
import type { FastifyRequest } from 'fastify';
import type { CID } from 'multiformats/cid';
import type { Address } from 'viem';
import {
  type ReplayGuard,
  RequestAuthError,
  SIGNED_REQUEST_HEADERS,
  verifyRequest,
} from '../protocol/signed-request.js';
import type { GatewayAccess } from '../storage/gateway.js';
import type { Store, StoredDeal } from './store.js';

/**
 * The private deals `cid` was uploaded for (as an input or result, not as their module); none when a deal
 * that is not private holds it too: the same bytes are public there, and whoever uploaded them had them.
 */
function privateDealsHolding(store: Store, cid: string): StoredDeal[] {
  const holding = store.dealsHolding(cid).flatMap((id) => {
    const deal = store.getDeal(id);
    const job = deal && store.getJobOffer(deal.jobOfferId);
    return deal && job ? [{ deal, guarded: job.private === true && job.signed.offer.module !== cid }] : [];
  });
  return holding.every((held) => held.guarded) ? holding.map((held) => held.deal) : [];
}

const isMember = (deal: StoredDeal, address: Address) =>
  [deal.deal.jobCreator, deal.deal.resourceProvider, ...deal.deal.mediators].some(
    (member) => member.toLowerCase() === address.toLowerCase(),
  );

/** Whether `request` may download `cid`: public content, a member's private content, or refused (why). */
export async function privateContentAccess(
  store: Store,
  guard: ReplayGuard,
  request: FastifyRequest,
  cid: CID,
): Promise<GatewayAccess> {
  const name = cid.toString();
  const deals = privateDealsHolding(store, name);
  if (deals.length === 0) return 'public';
  const whose = `${name} belongs to private deal ${deals.map((deal) => deal.id).join(', ')}`;
  if (!request.headers[SIGNED_REQUEST_HEADERS.signature]) {
    return { refused: `${whose}: only its members may download it, with a signed request (see signRequest)` };
  }
  let sender: Address;
  try {
    sender = await verifyRequest(
      { method: request.method, path: request.url, headers: request.headers, body: new Uint8Array() },
      guard,
    );
  } catch (error) {
    if (error instanceof RequestAuthError) return { refused: `${whose}: ${error.message}` };
    throw error;
  }
  if (deals.some((deal) => isMember(deal, sender))) return 'private';
  return {
    refused: `${whose}, and ${sender} is not its job creator, resource provider or one of its mediators`,
  };
}
