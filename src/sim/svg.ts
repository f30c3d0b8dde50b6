/**
 * What every hand-written SVG chart shares: escaping, "nice" axis ticks, number formatting and the palette.
 * No dependency: a chart is a string, the same bytes for the same data.
 */

export const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Colour-blind-safe series colours (Okabe–Ito). */
export const palette = [
  '#0072b2',
  '#d55e00',
  '#009e73',
  '#cc79a7',
  '#e69f00',
  '#56b4e9',
  '#000000',
  '#f0e442',
];

export const font = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';

/** Ticks at 1, 2 or 5 × 10^k covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count - 1);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const first = Math.ceil(min / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

/** A domain that starts and ends on nice ticks and is never empty. */
export function niceDomain(min: number, max: number): [number, number] {
  if (min === max) return min === 0 ? [0, 1] : [Math.min(0, min), Math.max(0, max) || 1];
  const ticks = niceTicks(min, max);
  const step = ticks.length > 1 ? (ticks[1] as number) - (ticks[0] as number) : Math.abs(max - min);
  return [Math.floor(min / step + 1e-9) * step, Math.ceil(max / step - 1e-9) * step];
}

/** Short, stable number labels: 0.25, 1.5k, 2M, 1e-7. */
export function formatNumber(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  if (abs < 1e-3) return value.toExponential(1);
  return String(Number(value.toPrecision(4)));
}

/** Wraps chart content in an <svg> element with a white background and an accessible title. */
export function svgDocument(width: number, height: number, title: string, body: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    body,
    '</svg>',
  ].join('\n');
}

/** A coordinate with at most two decimals: smaller files, same picture. */
export const px = (value: number): string => String(Math.round(value * 100) / 100);

/** Words into lines of at most `maxChars` characters. */
export function wrapText(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * A chart's title and its subtitle, wrapped to the chart's width; `top` is where the plot may start below them.
 */
export function heading(title: string, subtitle: string | undefined, x: number, width: number) {
  const lines = subtitle ? wrapText(subtitle, Math.floor((width - x - 12) / 6.9)) : [];
  const parts = [
    `<text x="${x}" y="24" ${font} font-size="17" font-weight="600" fill="#111">${escapeXml(title)}</text>`,
    ...lines.map(
      (line, i) =>
        `<text x="${x}" y="${44 + 16 * i}" ${font} font-size="12.5" fill="#555">${escapeXml(line)}</text>`,
    ),
  ];
  return { svg: parts.join('\n'), top: lines.length === 0 ? 46 : 50 + 16 * lines.length };
}
