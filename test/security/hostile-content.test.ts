/**
 * Hostile content: CARs uploaded to the directory that are malformed or whose blocks do not match
 * their CIDs, a result whose folder names try to leave the download folder, module manifests whose
 * paths leave the module folder, and inputs that look like template code. Each is refused with a reason
 * that says what is wrong (or, for inputs, stays one inert value), and nothing false is stored.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dagPb from '@ipld/dag-pb';
import fc from 'fast-check';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadResult } from '../../src/job-creator/run-job.js';
import { validateInputs } from '../../src/modules/inputs.js';
import { lilypadTemplateToManifest, renderLilypadTemplate } from '../../src/modules/lilypad-template.js';
import { parseManifest } from '../../src/modules/manifest.js';
import { SolverClient, SolverRequestError } from '../../src/protocol/solver-client.js';
import { memoryBlockstore } from '../../src/storage/blockstore.js';
import { carHeader, carSection, exportCar } from '../../src/storage/car.js';
import { UnsafePathError } from '../../src/storage/errors.js';
import { importBytes } from '../../src/storage/unixfs.js';
import { accounts } from '../protocol/fixtures.js';
import { type ProposedDeal, type SolverFixture, startSolverFixture } from './solver-fixture.js';

let fixture: SolverFixture;
let deal: ProposedDeal;

beforeAll(async () => {
  fixture = await startSolverFixture();
  deal = await fixture.proposeDeal(9n);
}, 120_000);

afterAll(async () => {
  await fixture?.stop();
});

const block = async (codec: number, bytes: Uint8Array) => ({
  cid: CID.createV1(codec, await sha256.digest(bytes)),
  bytes,
});
const car = (roots: CID[], blocks: { cid: CID; bytes: Uint8Array }[]) =>
  Buffer.concat([carHeader(roots), ...blocks.map(carSection)]);
/** A UnixFS directory node with one entry (Data = Type: Directory), built by hand. */
const directoryNode = (name: string, entry: CID) =>
  dagPb.encode(
    dagPb.prepare({ Data: Uint8Array.of(0x08, 0x01), Links: [{ Name: name, Hash: entry, Tsize: 6 }] }),
  );

describe('CARs uploaded to the directory', () => {
  const upload = async (bytes: Uint8Array) => {
    const before = await fixture.snapshot();
    const error = await new SolverClient(fixture.solver.url, accounts.jobCreator)
      .uploadCar(deal.dealId, bytes)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(await fixture.snapshot()).toBe(before);
    expect(error).toBeInstanceOf(SolverRequestError);
    return error as SolverRequestError;
  };

  it('refuses a block whose bytes do not hash to its CID, naming the block', async () => {
    const leaf = await block(0x55, new TextEncoder().encode('the real bytes'));
    const error = await upload(
      car([leaf.cid], [{ cid: leaf.cid, bytes: new TextEncoder().encode('other bytes') }]),
    );
    expect(error.status).toBe(400);
    expect(error.message).toMatch(new RegExp(`block ${leaf.cid} failed verification`));
  });

  it('refuses blocks of a codec the directory does not walk (dag-cbor)', async () => {
    const cbor = await block(0x71, Uint8Array.of(0xa0));
    const error = await upload(car([cbor.cid], [cbor]));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/not dag-pb or raw with sha2-256/);
  });

  it('refuses a CAR without its root, one with a DAG that is not complete, and one that is not a CAR', async () => {
    const leaf = await block(0x55, new TextEncoder().encode('leaf'));
    const other = await block(0x55, new TextEncoder().encode('other'));
    expect((await upload(car([leaf.cid], [other]))).message).toMatch(/declares root .* but does not hold it/);
    const missing = await block(0x55, new TextEncoder().encode('never uploaded'));
    const parent = await block(0x70, directoryNode('a', missing.cid));
    expect((await upload(car([parent.cid], [parent]))).message).toMatch(
      /incomplete: block .* is neither in it/,
    );
    expect((await upload(new TextEncoder().encode('not a CAR at all'))).message).toMatch(/cannot be parsed/);
    expect((await upload(car([], []))).message).toMatch(/cannot be parsed|declares no root/);
  });

  it('refuses a dag-pb block that is not valid dag-pb', async () => {
    const garbage = await block(0x70, Uint8Array.of(0xff, 0xff, 0xff));
    expect((await upload(car([garbage.cid], [garbage]))).message).toMatch(/not valid dag-pb/);
  });
});

describe('the result download of the job creator', () => {
  it.each(['..', '../escaped', 'a/../../escaped'])(
    'refuses a result folder with an entry named %j and writes nothing outside',
    async (name) => {
      // A member of the deal (its provider) publishes a "result" whose folder names leave the folder.
      const source = memoryBlockstore();
      const file = await importBytes(source, new TextEncoder().encode('pwned\n'));
      const bytes = directoryNode(name, file);
      const root = CID.createV1(dagPb.code, await sha256.digest(bytes));
      await source.put(root, bytes);
      await new SolverClient(fixture.solver.url, accounts.resourceProvider).uploadCar(
        deal.dealId,
        await exportCar(source, root),
      );
      const dataDir = await mkdtemp(join(tmpdir(), 'lilypad-download-'));
      try {
        const error = await downloadResult(
          fixture.solver.url,
          root.toString(),
          memoryBlockstore(),
          dataDir,
        ).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UnsafePathError);
        expect(await readdir(dataDir, { recursive: true })).not.toContain('escaped');
        expect(await readdir(join(dataDir, 'downloaded-files')).catch(() => [])).not.toContain(
          root.toString(),
        );
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  );
});

describe('module manifests that try to leave their folder', () => {
  const wasmManifest = (overrides: Record<string, unknown>) => ({
    name: 'escape',
    version: 'v1.0.0',
    description: 'tries to leave its folder',
    executor: 'wasm',
    entry: { wasm: 'module.wasm', args: [] },
    inputs: {},
    spec: { cpu: 1000, gpu: 0, gpuVram: 0, ram: 64, disk: 10 },
    timeoutSeconds: 10,
    deterministic: true,
    ...overrides,
  });
  const segment = fc.stringMatching(/^[a-z0-9._-]{1,8}$/);
  /** Paths that leave the folder: a `..` segment somewhere, an absolute path, or a backslash. */
  const escaping = fc.oneof(
    fc
      .tuple(fc.array(segment, { maxLength: 3 }), fc.array(segment, { maxLength: 3 }))
      .map(([a, b]) => [...a, '..', ...b].join('/')),
    fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => `/${parts.join('/')}`),
    fc.array(segment, { minLength: 2, maxLength: 3 }).map((parts) => parts.join('\\')),
  );

  it('refuses an entry or an output path outside the module folder, naming the field', () => {
    fc.assert(
      fc.property(escaping, (path) => {
        expect(() => parseManifest(wasmManifest({ entry: { wasm: path, args: [] } }))).toThrow(
          /entry\.wasm: must be a relative path inside the module folder/,
        );
        expect(() => parseManifest(wasmManifest({ outputs: { Image: { path, description: 'x' } } }))).toThrow(
          /outputs.*must be a relative path inside the module folder/,
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('inputs that look like template code', () => {
  // Lilypad's own cowsay template: the input is a whole entrypoint element.
  const cowsayTemplate = readFileSync(
    new URL('../modules/fixtures/lilypad/cowsay.json.tmpl', import.meta.url),
    'utf8',
  );
  const manifest = lilypadTemplateToManifest(cowsayTemplate, { name: 'cowsay', version: 'v0.0.4' });
  /** Strings made of template syntax, JSON syntax and shell syntax, and anything else. */
  const templateLike = fc.oneof(
    fc
      .array(
        fc.constantFrom(
          '{{',
          '}}',
          '.Message',
          ' end ',
          'else',
          '"',
          '\\',
          '$(',
          ')',
          '`',
          ';',
          ',',
          ']',
          '}',
          '\n',
          'rm -rf /',
          '{{ exec "x" }}',
        ),
        { maxLength: 12 },
      )
      .map((parts) => parts.join('')),
    fc.string({ maxLength: 60 }),
  );

  it('each input stays one argument, verbatim, as Lilypad itself would render it', () => {
    fc.assert(
      fc.property(templateLike, (message) => {
        fc.pre(message.length > 0 && !message.includes('\0'));
        const inputs = validateInputs(manifest, { Message: message });
        const argv = manifest.entry.entrypoint?.map((arg) =>
          typeof arg === 'string' ? arg : inputs[arg.input],
        );
        expect(argv).toEqual(['/usr/games/cowsay', message]);
        const rendered = renderLilypadTemplate(cowsayTemplate, { Message: message }) as {
          job: { Spec: { Docker: { Entrypoint: string[] } } };
        };
        expect(rendered.job.Spec.Docker.Entrypoint).toEqual(argv);
      }),
      { numRuns: 300 },
    );
  });
});
