import { describe, expect, it } from 'vitest';
import {
  ReplayGuard,
  RequestAuthError,
  signRequest,
  verifyRequest,
} from '../../src/protocol/signed-request.js';
import { accounts } from './fixtures.js';

const body = new TextEncoder().encode('{"hello":"world"}');

describe('signed requests', () => {
  it('returns the sender of a well-signed request', async () => {
    const headers = await signRequest(accounts.jobCreator, 'PUT', '/api/v1/deals/0x1/files', body);
    const sender = await verifyRequest(
      { method: 'PUT', path: '/api/v1/deals/0x1/files', headers, body },
      new ReplayGuard(),
    );
    expect(sender).toBe(accounts.jobCreator.address);
  });

  it('refuses a replay, a changed body, another path, a stale timestamp and a missing signature', async () => {
    const guard = new ReplayGuard();
    const path = '/api/v1/deals/0x1/files';
    const headers = await signRequest(accounts.jobCreator, 'PUT', path, body);
    await verifyRequest({ method: 'PUT', path, headers, body }, guard);
    await expect(verifyRequest({ method: 'PUT', path, headers, body }, guard)).rejects.toThrow(/replay/);

    const fresh = await signRequest(accounts.jobCreator, 'PUT', path, body);
    const changed = new TextEncoder().encode('{"hello":"mallory"}');
    await expect(
      verifyRequest({ method: 'PUT', path, headers: fresh, body: changed }, guard),
    ).rejects.toThrow(/does not match/);
    await expect(
      verifyRequest({ method: 'PUT', path: '/other', headers: fresh, body }, guard),
    ).rejects.toThrow(RequestAuthError);
    await expect(
      verifyRequest({ method: 'PUT', path, headers: fresh, body }, guard, Date.now() + 120_000),
    ).rejects.toThrow(/stale/);
    await expect(verifyRequest({ method: 'PUT', path, headers: {}, body }, guard)).rejects.toThrow(
      /must be signed/,
    );
  });
});
