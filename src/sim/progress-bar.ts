/**
 * A progress bar on stderr: redrawn in place on a terminal; otherwise a line per tenth of the way (so a log or
 * a CI run still shows progress). Never on stdout, which carries the results.
 */

export type ProgressBar = { update(done: number, detail?: string): void; finish(): void };

export function progressBar(
  total: number,
  options: { label?: string; stream?: NodeJS.WriteStream; width?: number } = {},
): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const width = options.width ?? 30;
  const label = options.label ? `${options.label} ` : '';
  const tty = Boolean(stream.isTTY);
  const started = performance.now();
  let lastLine = '';
  let lastTenth = -1;

  const render = (done: number, detail: string) => {
    const fraction = total === 0 ? 1 : Math.min(1, done / total);
    const filled = Math.round(fraction * width);
    const elapsed = (performance.now() - started) / 1000;
    const eta = done > 0 && done < total ? ` eta ${Math.ceil((elapsed / done) * (total - done))}s` : '';
    return `${label}[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${eta}${detail ? `  ${detail}` : ''}`;
  };

  return {
    update(done, detail = '') {
      const line = render(done, detail);
      if (tty) {
        const pad = lastLine.length > line.length ? ' '.repeat(lastLine.length - line.length) : '';
        stream.write(`\r${line}${pad}`);
      } else {
        // A log gets a line per tenth of the way, not one per step.
        const tenth = Math.floor((done / Math.max(1, total)) * 10);
        if (tenth === lastTenth && done < total) return;
        lastTenth = tenth;
        stream.write(`${line}\n`);
      }
      lastLine = line;
    },
    finish() {
      if (tty && lastLine) stream.write('\n');
    },
  };
}
