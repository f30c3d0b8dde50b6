/** The solver's fast keccak and EIP-712 hashes equal viem's, on fixed and random inputs. */
import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { bytesToHex, keccak256 as viemKeccak, zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { deriveDeal } from '../../src/protocol/derive-deal.js';
import { dealId, jobOfferId, type Network, resourceOfferId } from '../../src/protocol/eip712.js';
import { KECCAK256_ASC_OPTIONS, KECCAK256_WASM, keccak256 } from '../../src/solver/keccak256.js';
import { OfferHashes } from '../../src/solver/offer-hashes.js';
import { accounts, jobOffer, otherAddress, resourceOffer, testNetwork } from '../protocol/fixtures.js';

describe('keccak256', () => {
  it('embeds the WebAssembly compiled from keccak256.as', async () => {
    const { default: asc } = await import('assemblyscript/asc');
    const source = await readFile(new URL('../../src/solver/keccak256.as', import.meta.url), 'utf8');
    let binary: Uint8Array | undefined;
    const stderr = asc.createMemoryStream();
    const result = await asc.main(['keccak256.ts', '--outFile', 'keccak256.wasm', ...KECCAK256_ASC_OPTIONS], {
      stderr,
      readFile: (name) => (name === 'keccak256.ts' ? source : null),
      writeFile: (name, contents) => {
        if (name === 'keccak256.wasm' && contents instanceof Uint8Array) binary = contents;
      },
    });
    expect(result.error, stderr.toString()).toBeNull();
    const compiled = Buffer.from(binary ?? []).toString('base64');
    expect(compiled, `update KECCAK256_WASM in src/solver/keccak256.ts to:\n${compiled}`).toBe(
      KECCAK256_WASM,
    );
  }, 30_000);

  it('equals viem on every length around the block size', () => {
    for (let length = 0; length <= 600; length += 1) {
      const data = new Uint8Array(length).map((_, i) => (i * 31 + length) & 0xff);
      expect(bytesToHex(keccak256(data))).toBe(viemKeccak(data));
    }
  });

  it('equals viem on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), (data) => {
        expect(bytesToHex(keccak256(data))).toBe(viemKeccak(data));
      }),
    );
  });
});

describe('OfferHashes', () => {
  const networks: Network[] = [testNetwork, { chainId: 8453, deals: otherAddress }];

  it('gives the ids viem gives, for offers and the deal derived from them', () => {
    for (const network of networks) {
      const hashes = new OfferHashes(network);
      const job = jobOffer({
        module: 'bafkreié-ünïcode',
        mediators: [accounts.mediator.address, otherAddress],
      });
      const resource = resourceOffer({
        modules: ['a', 'bafkreib'],
        mediators: [otherAddress],
        fixedPrice: 0n,
      });
      expect(hashes.jobOfferId(job)).toBe(jobOfferId(network, job));
      expect(hashes.resourceOfferId(resource)).toBe(resourceOfferId(network, resource));
      const deal = deriveDeal({
        jobOffer: job,
        jobOfferId: hashes.jobOfferId(job),
        resourceOffer: resource,
        resourceOfferId: hashes.resourceOfferId(resource),
      });
      expect(hashes.dealId(deal)).toBe(dealId(network, deal));
      expect(hashes.dealId({ ...deal, mediators: [] })).toBe(dealId(network, { ...deal, mediators: [] }));
    }
  });

  it('agrees with viem on random offers', () => {
    const hashes = new OfferHashes(testNetwork);
    const uint = (max: bigint) => fc.bigInt({ min: 0n, max });
    const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => bytesToHex(b));
    const spec = fc.record({
      cpu: fc.nat(),
      gpu: fc.nat(),
      gpuVram: fc.nat(),
      ram: fc.nat(),
      disk: fc.nat(),
    });
    fc.assert(
      fc.property(
        spec,
        uint(2n ** 256n - 1n),
        uint(2n ** 64n - 1n),
        fc.array(address, { maxLength: 4 }),
        fc.array(fc.string(), { maxLength: 3 }),
        fc.string(),
        (machine, price, expiry, mediators, modules, text) => {
          const job = jobOffer({
            spec: machine,
            maxPrice: price,
            expiry,
            mediators,
            inputs: text,
            target: zeroAddress,
          });
          const resource = resourceOffer({ spec: machine, fixedPrice: price, mediators, modules });
          expect(hashes.jobOfferId(job)).toBe(jobOfferId(testNetwork, job));
          expect(hashes.resourceOfferId(resource)).toBe(resourceOfferId(testNetwork, resource));
        },
      ),
      { numRuns: 200 },
    );
  });
});
