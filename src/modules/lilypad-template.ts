/**
 * Compatibility with Lilypad modules: a repository's `lilypad_module.json.tmpl` is a Go template over
 * `{ machine, job }`, where `job` is a Bacalhau job spec (Docker image, entrypoint, environment,
 * resources). Lilypad renders it with the inputs JSON-escaped. We read the subset those files use —
 * `{{.Name}}`, `{{if .X}}…{{else}}…{{end}}`, `{{subst "K=%s" .X}}`, `{{-`/`-}}` — and turn it into a
 * Docker manifest once, statically: each input must land as a whole entrypoint element, a whole
 * parameter or a whole environment value, so it reaches the container as data, never as template or
 * JSON text. A template that splices an input into other text, or lets an input set a whole
 * environment entry (any variable), is refused; the `else` branch gives the input's default.
 */
import { isDeepStrictEqual } from 'node:util';
import { LilypadError } from '../protocol/errors.js';
import { DOCKER_IMAGE, type DockerModuleManifest, parseManifest } from './manifest.js';

export const LILYPAD_TEMPLATE_FILE = 'lilypad_module.json.tmpl';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'field'; name: string }
  | { kind: 'subst'; format: string; names: string[] }
  | { kind: 'if'; name: string; whenSet: Node[]; whenUnset: Node[] };

const FIELD = /^\.([A-Za-z_][A-Za-z0-9_]*)$/;

function refuse(message: string, hint?: string): never {
  throw new LilypadError(`${LILYPAD_TEMPLATE_FILE}: ${message}`, hint ? { hint } : {});
}

/** Parses the Go template subset into a tree; anything else is refused, naming the action. */
export function parseLilypadTemplate(source: string): Node[] {
  const root: Node[] = [];
  const stack: { nodes: Node[]; node?: Extract<Node, { kind: 'if' }>; inElse: boolean }[] = [
    { nodes: root, inElse: false },
  ];
  const current = () => stack[stack.length - 1] as (typeof stack)[number];
  const push = (node: Node) => current().nodes.push(node);
  let at = 0;
  let trimNext = false;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    let text = source.slice(at, open === -1 ? source.length : open);
    if (trimNext) text = text.trimStart();
    if (open === -1) {
      if (text) push({ kind: 'text', text });
      break;
    }
    const close = source.indexOf('}}', open);
    if (close === -1) refuse('an action {{ is never closed');
    let action = source.slice(open + 2, close);
    if (action.startsWith('-')) {
      text = text.trimEnd();
      action = action.slice(1);
    }
    trimNext = action.endsWith('-');
    if (trimNext) action = action.slice(0, -1);
    if (text) push({ kind: 'text', text });
    at = close + 2;
    const words = action.trim().match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    const [head, ...rest] = words;
    const field = (word: string | undefined): string => {
      const match = word === undefined ? null : FIELD.exec(word);
      if (!match) refuse(`{{${action}}}: expected an input like .Name, got ${word ?? 'nothing'}`);
      return match[1] as string;
    };
    if (head !== undefined && FIELD.test(head) && rest.length === 0) {
      push({ kind: 'field', name: field(head) });
    } else if (head === 'if' && rest.length === 1) {
      const node: Extract<Node, { kind: 'if' }> = {
        kind: 'if',
        name: field(rest[0]),
        whenSet: [],
        whenUnset: [],
      };
      push(node);
      stack.push({ nodes: node.whenSet, node, inElse: false });
    } else if (head === 'else' && rest.length === 0) {
      const frame = current();
      if (!frame.node || frame.inElse) refuse('{{else}} outside an {{if}}');
      stack[stack.length - 1] = { nodes: frame.node.whenUnset, node: frame.node, inElse: true };
    } else if (head === 'end' && rest.length === 0) {
      if (stack.length === 1) refuse('{{end}} without an {{if}}');
      stack.pop();
    } else if (head === 'subst' && rest.length >= 2 && rest[0]?.startsWith('"')) {
      push({ kind: 'subst', format: JSON.parse(rest[0]) as string, names: rest.slice(1).map(field) });
    } else {
      refuse(
        `unsupported template action {{${action}}}`,
        'supported: {{.X}}, {{if .X}}…{{else}}…{{end}}, {{subst "K=%s" .X}}',
      );
    }
  }
  if (stack.length > 1) refuse('an {{if}} is never closed with {{end}}');
  return root;
}

/** The inputs a template refers to, sorted. */
export function templateInputs(nodes: Node[]): string[] {
  const names = new Set<string>();
  const walk = (list: Node[]) => {
    for (const node of list) {
      if (node.kind === 'field' || node.kind === 'if') names.add(node.name);
      if (node.kind === 'subst') for (const name of node.names) names.add(name);
      if (node.kind === 'if') {
        walk(node.whenSet);
        walk(node.whenUnset);
      }
    }
  };
  walk(nodes);
  return [...names].sort();
}

/** Renders as Lilypad does: each value JSON-escaped (a JSON string, quotes included), never parsed. */
function render(nodes: Node[], values: Record<string, string>): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'field')
      out += Object.hasOwn(values, node.name) ? JSON.stringify(values[node.name]) : '';
    else if (node.kind === 'subst') {
      let i = 0;
      const text = node.format.replace(/%s/g, () => values[node.names[i++] as string] ?? '');
      out += JSON.stringify(text).slice(1, -1);
    } else out += render(values[node.name] ? node.whenSet : node.whenUnset, values);
  }
  return out;
}

/** Renders the template with `inputs` and parses the result (Lilypad's semantics, for comparison). */
export function renderLilypadTemplate(source: string, inputs: Record<string, string>): unknown {
  const text = render(parseLilypadTemplate(source), inputs);
  try {
    return JSON.parse(text);
  } catch (error) {
    return refuse(`does not render to JSON: ${(error as Error).message}`);
  }
}

// Private-use characters mark where an input lands; the template is only ever rendered with these.
const sentinel = (name: string) => `\uE000input:${name}\uE001`;
const SENTINEL = /\uE000input:([A-Za-z_][A-Za-z0-9_]*)\uE001/;

type Docker = { Image?: unknown; Entrypoint?: unknown; Parameters?: unknown; EnvironmentVariables?: unknown };
type Where = { list: 'entrypoint' | 'args'; index: number } | { list: 'env'; key: string };

function dockerOf(doc: unknown): {
  docker: Docker;
  spec: Record<string, unknown>;
  machine: Record<string, unknown>;
} {
  const root = doc as { machine?: Record<string, unknown>; job?: { Spec?: Record<string, unknown> } };
  const spec = root?.job?.Spec;
  if (typeof spec !== 'object' || spec === null) refuse('no job.Spec');
  const engine = spec.EngineSpec as { Type?: string; Params?: Docker } | undefined;
  const docker =
    engine && String(engine.Type).toLowerCase() === 'docker'
      ? engine.Params
      : spec.Engine === 'Docker' || spec.Engine === undefined
        ? (spec.Docker as Docker | undefined)
        : undefined;
  if (!docker || typeof docker !== 'object')
    refuse('only Docker jobs can be read (job.Spec.Docker or EngineSpec docker)');
  return { docker, spec, machine: root.machine ?? {} };
}

function strings(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    refuse(`${what} must be a list of strings`);
  return value as string[];
}

/** Where each input lands in the rendered spec; refuses an input spliced into text. */
function placements(docker: Docker): {
  entry: Record<string, Where>;
  literal: (where: Where) => string | undefined;
} {
  const entry: Record<string, Where> = {};
  const lists = {
    entrypoint: strings(docker.Entrypoint, 'Entrypoint'),
    args: strings(docker.Parameters, 'Parameters'),
  };
  const env = strings(docker.EnvironmentVariables, 'EnvironmentVariables');
  const place = (value: string, where: Where, what: string) => {
    const match = SENTINEL.exec(value);
    if (!match) return;
    if (value !== match[0]) {
      refuse(
        `input ${match[1]} is spliced into the text of ${what}`,
        'an input must be a whole element or a whole environment value',
      );
    }
    entry[match[1] as string] = where;
  };
  for (const list of ['entrypoint', 'args'] as const) {
    for (const [index, value] of lists[list].entries()) place(value, { list, index }, `${list}[${index}]`);
  }
  for (const item of env) {
    const at = item.indexOf('=');
    const key = at < 0 ? item : item.slice(0, at);
    if (SENTINEL.test(key)) {
      refuse(
        `input ${SENTINEL.exec(key)?.[1]} fills a whole environment entry, so it could set any variable`,
        'write "{{subst "KEY=%s" .Input}}" instead, so the input is only the value of KEY',
      );
    }
    if (at > 0) place(item.slice(at + 1), { list: 'env', key }, `the environment variable ${key}`);
  }
  const literal = (where: Where): string | undefined => {
    if (where.list === 'env') {
      const found = env.find((item) => item.startsWith(`${where.key}=`));
      return found?.slice(where.key.length + 1);
    }
    return lists[where.list][where.index];
  };
  return { entry, literal };
}

const MEMORY = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i;
function megabytes(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const match = MEMORY.exec(value.trim());
  if (!match) return undefined;
  const scale =
    { '': 1 / 2 ** 20, k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 }[(match[2] ?? '').toLowerCase()] ?? 1;
  return Math.ceil(Number(match[1]) * scale);
}

/**
 * Turns a `lilypad_module.json.tmpl` into our Docker manifest (name and version from the reference).
 * Throws a LilypadError saying what in the template cannot be carried over safely.
 */
export function lilypadTemplateToManifest(
  source: string,
  { name, version }: { name: string; version: string },
): DockerModuleManifest {
  const nodes = parseLilypadTemplate(source);
  const names = templateInputs(nodes);
  const parse = (values: Record<string, string>) => {
    try {
      return JSON.parse(render(nodes, values)) as unknown;
    } catch (error) {
      return refuse(`does not render to JSON: ${(error as Error).message}`);
    }
  };
  const given = parse(Object.fromEntries(names.map((n) => [n, sentinel(n)])));
  const { docker, spec, machine } = dockerOf(given);
  if (typeof docker.Image !== 'string' || !DOCKER_IMAGE.test(docker.Image)) {
    refuse(
      `the image ${JSON.stringify(docker.Image)} is not pinned by digest`,
      "pin it: name@sha256:<digest> (docker inspect --format '{{index .RepoDigests 0}}' IMAGE)",
    );
  }
  const network = (spec.Network as { Type?: string } | undefined)?.Type;
  if (network !== undefined && network.toLowerCase() !== 'none') {
    refuse(`the job asks for network ${network}; jobs here run without a network`);
  }
  const { entry } = placements(docker);

  const inputs: DockerModuleManifest['inputs'] = {};
  for (const input of names) {
    const where = entry[input];
    if (!where) refuse(`input ${input} is used only in conditions or text, not as a value`);
    // The input's default is what the template gives when the input is absent, at the same place.
    const absent = parse(Object.fromEntries(names.filter((n) => n !== input).map((n) => [n, sentinel(n)])));
    const absentDocker = dockerOf(absent).docker;
    const fallback = placements(absentDocker).literal(where);
    const fallbackHasInput = fallback !== undefined && SENTINEL.test(fallback);
    if (fallback !== undefined && !fallbackHasInput) {
      const rebuilt = structuredClone(absent) as { job: { Spec: Record<string, unknown> } };
      const target = dockerOf(rebuilt).docker;
      if (where.list === 'env') {
        target.EnvironmentVariables = strings(target.EnvironmentVariables, 'env').map((item) =>
          item.startsWith(`${where.key}=`) ? `${where.key}=${sentinel(input)}` : item,
        );
      } else {
        const key = where.list === 'entrypoint' ? 'Entrypoint' : 'Parameters';
        const list = [...strings(target[key], key)];
        list[where.index] = sentinel(input);
        target[key] = list;
      }
      if (!isDeepStrictEqual(rebuilt, given))
        refuse(`input ${input} changes more of the job than its own value`);
    }
    inputs[input] = {
      type: 'string',
      description: `${input} (from ${LILYPAD_TEMPLATE_FILE})`,
      ...(fallback === undefined || fallbackHasInput ? {} : { default: fallback }),
    };
  }

  const argument = (value: string) => {
    const match = SENTINEL.exec(value);
    return match ? { input: match[1] as string } : value;
  };
  const env: Record<string, string | { input: string }> = {};
  for (const item of strings(docker.EnvironmentVariables, 'EnvironmentVariables')) {
    const at = item.indexOf('=');
    if (at > 0) env[item.slice(0, at)] = argument(item.slice(at + 1));
  }
  const resources = (spec.Resources ?? {}) as Record<string, unknown>;
  const gpu = Math.max(Number(machine.gpu ?? 0) || 0, Number(resources.GPU ?? 0) || 0);
  const timeout = Number(spec.Timeout ?? 1800);
  const entrypoint = strings(docker.Entrypoint, 'Entrypoint');
  return parseManifest(
    {
      name,
      version,
      description: `Lilypad module ${name} ${version}, read from ${LILYPAD_TEMPLATE_FILE}`,
      executor: 'docker',
      entry: {
        image: docker.Image,
        ...(entrypoint.length > 0 ? { entrypoint: entrypoint.map(argument) } : {}),
        args: strings(docker.Parameters, 'Parameters').map(argument),
        ...(Object.keys(env).length > 0 ? { env } : {}),
      },
      inputs,
      spec: {
        cpu: Number(machine.cpu ?? 1000) || 1000,
        gpu,
        gpuVram: 0,
        ram: megabytes(resources.Memory) ?? (Number(machine.ram ?? 0) || 0),
        disk: megabytes(resources.Disk) ?? 1024,
      },
      timeoutSeconds: Number.isInteger(timeout) && timeout > 0 ? timeout : 1800,
      deterministic: false,
    },
    LILYPAD_TEMPLATE_FILE,
  ) as DockerModuleManifest;
}
