/**
 * Compiles contracts/*.sol with solc-js and writes typed artifacts (abi `as const` + bytecode) to
 * src/chain/artifacts/. Skips the compile when the sources, the solc version and this script are unchanged,
 * so running it before every test is cheap.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type SolcOutput = {
  errors?: {
    severity: 'error' | 'warning' | 'info';
    formattedMessage: string;
    sourceLocation?: { file: string };
  }[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
};
type Solc = {
  version(): string;
  compile(
    input: string,
    callbacks: { import(path: string): { contents: string } | { error: string } },
  ): string;
};

const require = createRequire(import.meta.url);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const contractsDir = join(root, 'contracts');
const outDir = join(root, 'src', 'chain', 'artifacts');
const stampFile = join(outDir, '.stamp');

/** Contracts to export, by source file, and the prefix of their exported names. */
const exported = [
  { source: 'LilypadToken.sol', contract: 'LilypadToken', name: 'lilypadToken' },
  { source: 'LilypadDeals.sol', contract: 'LilypadDeals', name: 'lilypadDeals' },
  { source: 'LilypadJobs.sol', contract: 'LilypadJobs', name: 'lilypadJobs' },
  { source: 'LilypadCowsay.sol', contract: 'LilypadCowsay', name: 'lilypadCowsay' },
] as const;

// The IR pipeline optimized for many runs: about 4,300 gas less per job than the legacy one at 200 runs
// (bench/contracts-gas.bench.ts), for a deployment about 10% larger and a slower compile.
const settings = {
  optimizer: { enabled: true, runs: 20000 },
  viaIR: true,
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

/** A reader (a test run started meanwhile) sees the old file or the new one, never half of one. */
async function writeAtomically(file: string, content: string): Promise<void> {
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, content);
  await rename(partial, file);
}

async function main(): Promise<void> {
  const files = (await readdir(contractsDir)).filter((f) => f.endsWith('.sol')).sort();
  const sources: Record<string, { content: string }> = {};
  // Keyed by path from the repository root, so that compile errors name contracts/<file>.
  for (const file of files)
    sources[`contracts/${file}`] = { content: await readFile(join(contractsDir, file), 'utf8') };

  const solcVersion = (require('solc/package.json') as { version: string }).version;
  const ozVersion = (require('@openzeppelin/contracts/package.json') as { version: string }).version;
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ solcVersion, ozVersion, settings }));
  hash.update(await readFile(fileURLToPath(import.meta.url)));
  for (const [file, { content }] of Object.entries(sources)) hash.update(`\0${file}\0${content}`);
  const stamp = hash.digest('hex');
  const upToDate =
    existsSync(stampFile) &&
    (await readFile(stampFile, 'utf8')).trim() === stamp &&
    exported.every((e) => existsSync(join(outDir, `${e.contract}.ts`))) &&
    existsSync(join(outDir, 'index.ts'));
  if (upToDate) {
    console.log('contracts: up to date');
    return;
  }

  const started = Date.now();
  const solc = require('solc') as Solc;
  const findImports = (path: string) => {
    try {
      // Imports such as @openzeppelin/... come from node_modules; the rest from the repository.
      const file = path.startsWith('@') ? require.resolve(path) : join(root, path);
      return { contents: readFileSync(file, 'utf8') };
    } catch {
      return { error: `file not found: ${path}` };
    }
  };
  const input = { language: 'Solidity', sources, settings };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  // OpenZeppelin's TransientSlot warns on every use of transient storage; its use by the reentrancy guard (cleared
  // at the end of every call) is the safe one the warning names.
  const known = (e: { sourceLocation?: { file: string } }) =>
    e.sourceLocation?.file === '@openzeppelin/contracts/utils/TransientSlot.sol';
  for (const warning of (output.errors ?? []).filter((e) => e.severity === 'warning' && !known(e))) {
    console.warn(warning.formattedMessage);
  }
  if (errors.length > 0) {
    console.error(`contracts: ${errors.length} compile error(s) (solc ${solc.version()}):\n`);
    for (const error of errors) console.error(error.formattedMessage);
    process.exit(1);
  }

  await mkdir(outDir, { recursive: true });
  const header = '// Generated by scripts/build-contracts.ts from contracts/*.sol: do not edit.\n';
  for (const { source, contract, name } of exported) {
    const compiled = output.contracts?.[`contracts/${source}`]?.[contract];
    if (!compiled) {
      console.error(`contracts: ${contract} not found in ${source}`);
      process.exit(1);
    }
    const body =
      `${header}export const ${name}Abi = ${JSON.stringify(compiled.abi, null, 2)} as const;\n\n` +
      `export const ${name}Bytecode = '0x${compiled.evm.bytecode.object}' as const;\n`;
    await writeAtomically(join(outDir, `${contract}.ts`), body);
  }
  const index = exported.map((e) => `export * from './${e.contract}.js';\n`).join('');
  await writeAtomically(join(outDir, 'index.ts'), header + index);
  await writeAtomically(stampFile, `${stamp}\n`);
  console.log(
    `contracts: compiled ${files.join(', ')} with solc ${solc.version()} in ${Date.now() - started} ms`,
  );
}

await main();
