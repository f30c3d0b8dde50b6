import { describe, expect, it, vi } from 'vitest';
import { resolveModule } from '../../src/modules/resolve.js';

// As if `npm run build:modules` had never run: the built-in folder does not exist.
vi.mock('../../src/modules/registry.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/modules/registry.js')>();
  return {
    ...original,
    builtinModuleDir: (ref: string) =>
      ref === 'cowsay:v0.0.1' ? '/nonexistent/build/modules/cowsay' : undefined,
  };
});

describe('resolveModule before a build', () => {
  it('says to run npm run build', async () => {
    const error = await resolveModule('cowsay:v0.0.1').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/module cowsay:v0.0.1 is not built yet/);
    expect((error as { hint?: string }).hint).toMatch(/npm run build/);
  });
});
