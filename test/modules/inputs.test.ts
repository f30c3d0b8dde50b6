import { describe, expect, it } from 'vitest';
import { canonicalInputs, parseCanonicalInputs, validateInputs } from '../../src/modules/inputs.js';
import { type ModuleManifest, parseManifest } from '../../src/modules/manifest.js';

const manifest: ModuleManifest = parseManifest({
  name: 'calc',
  version: 'v1',
  description: 'test',
  executor: 'wasm',
  entry: { wasm: 'calc.wasm', args: [{ input: 'Message' }, { input: 'Count' }, { input: 'Loud' }] },
  inputs: {
    Message: { type: 'string', description: 'text', maxLength: 5, default: 'moo' },
    Count: { type: 'integer', description: 'how many', min: 1, max: 10 },
    Loud: { type: 'boolean', description: 'shout', default: false },
    Code: { type: 'string', description: 'a code', pattern: '[A-Z]{3}', default: 'ABC' },
  },
  spec: { cpu: 1, gpu: 0, gpuVram: 0, ram: 1, disk: 0 },
  timeoutSeconds: 1,
  deterministic: true,
});

describe('validateInputs', () => {
  it('applies defaults and normalises integers', () => {
    expect(validateInputs(manifest, { Count: '+07' })).toEqual({
      Code: 'ABC',
      Count: '7',
      Loud: 'false',
      Message: 'moo',
    });
  });

  it('names an unknown input and lists the known ones', () => {
    expect(() => validateInputs(manifest, { Count: '1', Mesage: 'x' })).toThrow(
      'unknown input "Mesage" for module calc (known inputs: Code, Count, Loud, Message)',
    );
  });

  it('rejects a value that is too long, counting characters', () => {
    expect(() => validateInputs(manifest, { Count: '1', Message: 'moooooo' })).toThrow(
      'input "Message" is too long: 7 characters, at most 5 (maxLength 5)',
    );
    expect(validateInputs(manifest, { Count: '1', Message: '🐄🐄🐄🐄🐄' }).Message).toBe('🐄🐄🐄🐄🐄');
  });

  it('rejects the wrong type', () => {
    expect(() => validateInputs(manifest, { Count: 'five' })).toThrow(
      'input "Count" must be an integer, got "five" (type integer)',
    );
    expect(() => validateInputs(manifest, { Count: '1', Loud: 'yes' })).toThrow(
      'input "Loud" must be true or false, got "yes" (type boolean)',
    );
  });

  it('enforces min, max and pattern', () => {
    expect(() => validateInputs(manifest, { Count: '0' })).toThrow(
      'input "Count" must be at least 1, got 0 (min 1)',
    );
    expect(() => validateInputs(manifest, { Count: '11' })).toThrow(
      'input "Count" must be at most 10, got 11 (max 10)',
    );
    expect(() => validateInputs(manifest, { Count: '1', Code: 'ABCD' })).toThrow(
      'input "Code" does not match the pattern /[A-Z]{3}/ (pattern [A-Z]{3})',
    );
  });

  it('requires an input without a default', () => {
    expect(() => validateInputs(manifest, {})).toThrow('input "Count" is required (no default)');
  });

  it('rejects NUL characters', () => {
    expect(() => validateInputs(manifest, { Count: '1', Message: 'a\0b' })).toThrow(/no NUL/);
  });
});

describe('canonical inputs', () => {
  it('sorts keys and round-trips', () => {
    const text = canonicalInputs({ b: '2', a: '1', ü: 'x' });
    expect(text).toBe('{"a":"1","b":"2","ü":"x"}');
    expect(parseCanonicalInputs(text)).toEqual({ a: '1', b: '2', ü: 'x' });
    expect(canonicalInputs({ a: '1', b: '2' })).toBe(canonicalInputs({ b: '2', a: '1' }));
  });

  it('rejects inputs that are not an object of strings', () => {
    expect(parseCanonicalInputs('')).toEqual({});
    expect(() => parseCanonicalInputs('[1]')).toThrow(/JSON object of strings/);
    expect(() => parseCanonicalInputs('{"a":1}')).toThrow(/"a" must be a string/);
    expect(() => parseCanonicalInputs('{')).toThrow(/not JSON/);
  });
});
