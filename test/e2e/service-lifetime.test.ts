/**
 * A foreground service lives until it is stopped, even when nothing but its own (unref'd) timers is left: a
 * provider whose socket to a restarting solver had just dropped used to exit there, with code 13.
 */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';

const options = new URL('../../dist/cli/options.js', import.meta.url).href;

it('waits for SIGTERM with only unref’d timers left, then stops cleanly', async () => {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { untilStopped } = await import(${JSON.stringify(options)});
       setTimeout(() => process.stdout.write('tick\\n'), 200).unref();
       await untilStopped();
       process.stdout.write('stopped\\n');`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (chunk.includes('tick')) child.kill('SIGTERM');
  });
  expect(await exited).toBe(0);
  expect(stdout).toBe('tick\nstopped\n');
});
