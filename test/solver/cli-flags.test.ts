/** `lilypad solver`'s directory flags: their parsing, the errors that say what to write, and the help. */
import { Command, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize, registerSolver } from '../../src/cli/commands/solver.js';

describe('lilypad solver flags', () => {
  it('reads sizes and durations with their units', () => {
    expect(parseSize('1048576')).toBe(1_048_576);
    expect(parseSize('500MB')).toBe(500_000_000);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('1.5 kib')).toBe(1536);
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
  });

  it('refuses what is not a size or a duration, saying what to write', () => {
    for (const bad of ['', 'lots', '2 parsecs', '-1MB']) {
      expect(() => parseSize(bad)).toThrow(InvalidArgumentError);
      expect(() => parseSize(bad)).toThrow(/e\.g\. 500MB, 2GiB/);
    }
    for (const bad of ['7', 'a week', '3w', '-1d'])
      expect(() => parseDuration(bad)).toThrow(/45s, 30m, 12h or 7d/);
  });

  it('explains the directory limits in --help, with their defaults and an example', () => {
    const program = new Command('lilypad');
    registerSolver(program);
    const solver = program.commands.find((c) => c.name() === 'solver') as Command;
    let help = '';
    solver.configureOutput({ writeOut: (text) => (help += text) });
    solver.outputHelp();
    for (const flag of [
      '--upload-quota <size>',
      '--max-upload <size>',
      '--retention <duration>',
      '--module-retention <duration>',
    ])
      expect(help).toContain(flag);
    expect(help).toContain('default 2GiB');
    expect(help).toContain('default 7d');
    // The rule published modules are kept by.
    expect(help).toContain('published, or used by a deal, within --module-retention (default 30d)');
    expect(help).toContain(
      'lilypad solver --url https://solver.example.org --upload-quota 10GiB --retention 30d',
    );
  });
});
