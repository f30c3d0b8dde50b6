/**
 * A heatmap as SVG, for two-parameter sweeps: one cell per grid point coloured by a value in [0, 1] (blue → white
 * → red), an optional curve drawn over it (the analytic threshold), and a colour bar.
 */
import { escapeXml, font, formatNumber, heading, px, svgDocument } from './svg.js';

export type HeatmapOptions = {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  xs: readonly number[];
  ys: readonly number[];
  /** The value at (xs[i], ys[j]), in [0, 1]; undefined leaves the cell grey. */
  value: (i: number, j: number) => number | undefined;
  colorLabel: string;
  /** A curve in data coordinates over the cells, e.g. the threshold p* as a function of the y parameter. */
  overlay?: { name: string; points: readonly (readonly [number, number])[] };
  width?: number;
  height?: number;
};

const stops: [number, [number, number, number]][] = [
  [0, [33, 102, 172]],
  [0.5, [247, 247, 247]],
  [1, [178, 24, 43]],
];

/** Diverging colour for v in [0, 1]. */
export function heatColor(v: number): string {
  const t = Math.min(1, Math.max(0, v));
  const upper = stops.findIndex(([at]) => at >= t);
  const [a, ca] = stops[Math.max(0, upper - 1)] as [number, [number, number, number]];
  const [b, cb] = stops[Math.max(0, upper)] as [number, [number, number, number]];
  const f = b === a ? 0 : (t - a) / (b - a);
  const mix = ca.map((c, k) => Math.round(c + ((cb[k] as number) - c) * f));
  return `rgb(${mix.join(',')})`;
}

/** Cell edges: halfway between neighbouring values, extended by half a step at the ends. */
function edges(values: readonly number[]): number[] {
  if (values.length === 1) {
    const v = values[0] as number;
    return [v - 0.5, v + 0.5];
  }
  const out: number[] = [];
  for (let i = 0; i <= values.length; i++) {
    if (i === 0) out.push((values[0] as number) - ((values[1] as number) - (values[0] as number)) / 2);
    else if (i === values.length) {
      const n = values.length;
      out.push((values[n - 1] as number) + ((values[n - 1] as number) - (values[n - 2] as number)) / 2);
    } else out.push(((values[i - 1] as number) + (values[i] as number)) / 2);
  }
  return out;
}

export function heatmap(options: HeatmapOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 470;
  const head = heading(options.title, options.subtitle, 72, width);
  const margin = { left: 72, right: 110, top: head.top, bottom: 70 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xe = edges(options.xs);
  const ye = edges(options.ys);
  const [x0, x1] = [xe[0] as number, xe[xe.length - 1] as number];
  const [y0, y1] = [ye[0] as number, ye[ye.length - 1] as number];
  const sx = (x: number) => margin.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const parts: string[] = [];
  parts.push(head.svg);
  options.xs.forEach((_, i) => {
    options.ys.forEach((__, j) => {
      const v = options.value(i, j);
      const left = sx(xe[i] as number);
      const right = sx(xe[i + 1] as number);
      const top = sy(ye[j + 1] as number);
      const bottom = sy(ye[j] as number);
      parts.push(
        `<rect x="${px(left)}" y="${px(top)}" width="${px(right - left + 0.5)}" height="${px(bottom - top + 0.5)}" fill="${v === undefined ? '#ccc' : heatColor(v)}"/>`,
      );
    });
  });
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  // ticks at the grid values (at most ~10 labels per axis)
  const every = (n: number) => Math.max(1, Math.ceil(n / 10));
  options.xs.forEach((x, i) => {
    if (i % every(options.xs.length) !== 0) return;
    parts.push(
      `<text x="${px(sx(x))}" y="${margin.top + plotH + 18}" text-anchor="middle" ${font} font-size="12" fill="#444">${escapeXml(formatNumber(x))}</text>`,
    );
  });
  options.ys.forEach((y, j) => {
    if (j % every(options.ys.length) !== 0) return;
    parts.push(
      `<text x="${margin.left - 8}" y="${px(sy(y))}" dy="4" text-anchor="end" ${font} font-size="12" fill="#444">${escapeXml(formatNumber(y))}</text>`,
    );
  });
  parts.push(
    `<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 42}" text-anchor="middle" ${font} font-size="13" fill="#222">${escapeXml(options.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" ${font} font-size="13" fill="#222">${escapeXml(options.yLabel)}</text>`,
  );
  if (options.overlay && options.overlay.points.length > 0) {
    const clipId = `clip-${options.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
    parts.push(
      `<clipPath id="${clipId}"><rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/></clipPath>`,
    );
    const d = options.overlay.points
      .map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${px(sx(x))},${px(sy(y))}`)
      .join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="#111" stroke-width="2.5" stroke-dasharray="7 5" clip-path="url(#${clipId})"/>`,
    );
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + 26}" y1="${height - 14}" y2="${height - 14}" stroke="#111" stroke-width="2.5" stroke-dasharray="7 5"/>`,
    );
    parts.push(
      `<text x="${margin.left + 32}" y="${height - 14}" dy="4" ${font} font-size="12.5" fill="#222">${escapeXml(options.overlay.name)}</text>`,
    );
  }
  // colour bar
  const barX = width - margin.right + 28;
  const steps = 20;
  for (let k = 0; k < steps; k++) {
    const v = (k + 0.5) / steps;
    const top = margin.top + plotH - ((k + 1) / steps) * plotH;
    parts.push(
      `<rect x="${barX}" y="${px(top)}" width="18" height="${px(plotH / steps + 0.5)}" fill="${heatColor(v)}"/>`,
    );
  }
  parts.push(`<rect x="${barX}" y="${margin.top}" width="18" height="${plotH}" fill="none" stroke="#999"/>`);
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<text x="${barX + 24}" y="${px(margin.top + plotH - v * plotH)}" dy="4" ${font} font-size="11.5" fill="#444">${Math.round(v * 100)}%</text>`,
    );
  }
  parts.push(
    `<text transform="translate(${barX + 70} ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" ${font} font-size="12.5" fill="#222">${escapeXml(options.colorLabel)}</text>`,
  );
  return svgDocument(width, height, options.title, parts.join('\n'));
}
