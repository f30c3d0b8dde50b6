/**
 * Lilypad's lilypad_module.json.tmpl, read into our Docker manifest: the cowsay form (an input as a
 * whole entrypoint element) and the sdxl form (subst into environment values), checked against
 * Lilypad's own rendering; and templates or inputs that try to escape, refused or inert.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { containerCommand, containerEnv } from '../../src/executors/docker/docker-executor.js';
import { validateInputs } from '../../src/modules/inputs.js';
import {
  lilypadTemplateToManifest,
  parseLilypadTemplate,
  renderLilypadTemplate,
} from '../../src/modules/lilypad-template.js';

const fixture = (name: string) => readFile(new URL(`./fixtures/lilypad/${name}`, import.meta.url), 'utf8');
const cowsay = await fixture('cowsay.json.tmpl');
const sdxl = await fixture('sdxl.json.tmpl');
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

type Spec = { job: { Spec: { Docker: { Entrypoint: string[] } } } };
type EngineSpec = { job: { Spec: { EngineSpec: { Params: { EnvironmentVariables: string[] } } } } };

describe('lilypad_module.json.tmpl', () => {
  it('reads the cowsay form: the input is a whole entrypoint element, the else branch its default', () => {
    const manifest = lilypadTemplateToManifest(cowsay, { name: 'cowsay', version: 'v0.0.4' });
    expect(manifest.entry).toEqual({
      image: `example/cowsay:latest@${DIGEST}`,
      entrypoint: ['/usr/games/cowsay', { input: 'Message' }],
      args: [],
    });
    expect(manifest.inputs.Message?.default).toBe('Pass me an input called Message');
    expect(manifest.spec).toEqual({ cpu: 1000, gpu: 0, gpuVram: 0, ram: 100, disk: 1024 });
    expect(manifest.timeoutSeconds).toBe(1800);
    expect(manifest.deterministic).toBe(false);
  });

  it('gives the container exactly what Lilypad would render, for hostile inputs too', () => {
    const manifest = lilypadTemplateToManifest(cowsay, { name: 'cowsay', version: 'v0.0.4' });
    for (const message of [
      'moo',
      '", "--rm", "-rf',
      '{{.Message}}',
      '"}]}, "Image": "evil"',
      'a\\"b\n{{end}}',
    ]) {
      const rendered = renderLilypadTemplate(cowsay, { Message: message }) as Spec;
      const inputs = validateInputs(manifest, { Message: message });
      const argv = manifest.entry.entrypoint?.map((arg) =>
        typeof arg === 'string' ? arg : inputs[arg.input],
      );
      expect(argv).toEqual(rendered.job.Spec.Docker.Entrypoint);
      expect(argv).toEqual(['/usr/games/cowsay', message]); // inert: one argument, verbatim
    }
    const absent = renderLilypadTemplate(cowsay, {}) as Spec;
    expect(absent.job.Spec.Docker.Entrypoint[1]).toBe(validateInputs(manifest, {}).Message);
  });

  it('reads the sdxl form: subst puts each input into one environment value', () => {
    const manifest = lilypadTemplateToManifest(sdxl, { name: 'sdxl', version: 'v0.9.0' });
    expect(manifest.entry.env).toEqual({
      HF_HUB_OFFLINE: '1',
      OUTPUT_DIR: '/outputs/',
      PROMPT: { input: 'Prompt' },
      RANDOM_SEED: { input: 'Seed' },
    });
    expect(manifest.inputs.Prompt?.default).toBe('question mark floating in space');
    expect(manifest.inputs.Seed?.default).toBe('42');
    expect(manifest.spec).toMatchObject({ gpu: 1, cpu: 8000, ram: 24 * 1024 });
    expect(manifest.timeoutSeconds).toBe(3600);
    const prompt = 'a cat", "PATH=/evil';
    const inputs = validateInputs(manifest, { Prompt: prompt });
    const rendered = renderLilypadTemplate(sdxl, { Prompt: prompt }) as EngineSpec;
    expect(containerEnv(manifest, inputs)).toEqual(
      [...rendered.job.Spec.EngineSpec.Params.EnvironmentVariables].sort(),
    );
    expect(containerEnv(manifest, inputs)).toContain(`PROMPT=${prompt}`);
    expect(containerCommand(manifest, inputs)).toEqual([]);
  });

  it('refuses templates that splice inputs into text or let them set any variable', () => {
    const spliced = cowsay.replace('{{.Message}}', '"say {{.Message}}"');
    expect(() => lilypadTemplateToManifest(spliced, { name: 'c', version: 'v1' })).toThrow(
      /does not render to JSON/,
    );
    const substInArg = cowsay.replace('{{.Message}}', '"say {{subst "%s" .Message}}"');
    expect(() => lilypadTemplateToManifest(substInArg, { name: 'c', version: 'v1' })).toThrow(
      'input Message is spliced into the text of entrypoint[1]',
    );
    const wholeEnv = sdxl.replace('{{ subst "PROMPT=%s" .Prompt }}', '{{ subst "%s" .Prompt }}');
    expect(() => lilypadTemplateToManifest(wholeEnv, { name: 's', version: 'v1' })).toThrow(
      'input Prompt fills a whole environment entry, so it could set any variable',
    );
    const unpinned = cowsay.replace(/@sha256:[0-9a-f]+/, '');
    expect(() => lilypadTemplateToManifest(unpinned, { name: 'c', version: 'v1' })).toThrow(
      /not pinned by digest/,
    );
    const networked = cowsay.replace('"Type": "None"', '"Type": "Full"');
    expect(() => lilypadTemplateToManifest(networked, { name: 'c', version: 'v1' })).toThrow(/network Full/);
    expect(() => parseLilypadTemplate('{{ exec "rm -rf /" }}')).toThrow('unsupported template action');
    expect(() => parseLilypadTemplate('{{if .X}}a')).toThrow('never closed');
    expect(() => parseLilypadTemplate('{{ .X | printf "%s" }}')).toThrow('unsupported template action');
  });
});
