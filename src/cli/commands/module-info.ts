import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { runLocally } from '../../modules/local-run.js';
import type { ModuleManifest } from '../../modules/manifest.js';
import type { ResolvedModule } from '../../modules/resolve.js';
import { resolveForAuthor } from './module.js';

function limits(spec: ModuleManifest['inputs'][string]): string {
  const parts: string[] = [];
  if (spec.maxLength !== undefined) parts.push(`at most ${spec.maxLength} characters`);
  if (spec.pattern !== undefined) parts.push(`matches /${spec.pattern}/`);
  if (spec.min !== undefined) parts.push(`≥ ${spec.min}`);
  if (spec.max !== undefined) parts.push(`≤ ${spec.max}`);
  if (spec.maxBytes !== undefined) parts.push(`at most ${spec.maxBytes} bytes`);
  return parts.join(', ');
}

/** Instructions for a run with the default inputs: WASM only, and only when every input has one. */
async function typicalInstructions(module: ResolvedModule): Promise<string> {
  const { manifest } = module;
  if (manifest.executor !== 'wasm') return 'not counted (docker)';
  const missing = Object.entries(manifest.inputs).filter(([, spec]) => spec.default === undefined);
  if (missing.length > 0) return `not measured (no default for ${missing.map(([name]) => name).join(', ')})`;
  const scratch = await mkdtemp(join(tmpdir(), 'lilypad-info-'));
  try {
    const { result } = await runLocally(module, {}, join(scratch, 'result'));
    return `${result.instructionCount} with the default inputs (${result.status})`;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export function describeModule(module: ResolvedModule, instructions: string): string {
  const { manifest: m } = module;
  const lines = [
    `${m.name}:${m.version}  ${m.description}`,
    `  id (CID)        ${module.cid}`,
    `  executor        ${m.executor}${m.executor === 'docker' ? ` (image ${m.entry.image})` : ''}`,
    `  machine         ${m.spec.cpu} milli-CPU, ${m.spec.ram} MB RAM, ${m.spec.disk} MB disk, ${m.spec.gpu} GPU (${m.spec.gpuVram} MB VRAM)`,
    `  timeout         ${m.timeoutSeconds} s`,
    `  deterministic   ${m.deterministic ? 'yes: results are compared bit for bit' : 'no: results are compared by their traces'}`,
    `  instructions    ${instructions}`,
    '  inputs',
  ];
  const inputs = Object.entries(m.inputs).sort(([a], [b]) => (a < b ? -1 : 1));
  if (inputs.length === 0) lines.push('    (none)');
  for (const [name, spec] of inputs) {
    const fallback = spec.default === undefined ? 'required' : `default ${JSON.stringify(spec.default)}`;
    const rule = limits(spec);
    lines.push(`    ${name} (${spec.type}, ${fallback}${rule ? `, ${rule}` : ''}): ${spec.description}`);
  }
  for (const [name, output] of Object.entries(m.outputs ?? {})) {
    if (name === Object.keys(m.outputs ?? {})[0]) lines.push('  outputs');
    lines.push(`    ${name} (/outputs/${output.path}): ${output.description}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerModuleInfo(module: Command): void {
  module
    .command('info')
    .summary('what a module takes and needs')
    .description(
      "Show a module's id, inputs (type, default, limits), outputs, machine, timeout, whether it is " +
        'deterministic, and its typical instruction count (a run here with the default inputs).',
    )
    .argument('<ref>', 'name:version, a folder, repo:tag or a CID')
    .option('--module-index <url|file>', 'registry index for name:version (default $LILYPAD_MODULE_INDEX)')
    .option('--json', 'print the manifest and CID as JSON', false)
    .action(async (ref: string, flags: { moduleIndex?: string; json: boolean }) => {
      const resolved = await resolveForAuthor(ref, flags);
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ cid: resolved.cid, manifest: resolved.manifest }, null, 2)}\n`,
        );
        return;
      }
      process.stdout.write(describeModule(resolved, await typicalInstructions(resolved)));
    });
}
