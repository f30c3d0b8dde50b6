/**
 * A line chart as SVG: series of points (lines, optional markers, optional steps), labelled vertical markers
 * (e.g. the analytic threshold p*), axes with nice ticks, a legend under the plot.
 */
import {
  escapeXml,
  font,
  formatNumber,
  heading,
  niceDomain,
  niceTicks,
  palette,
  px,
  svgDocument,
} from './svg.js';

export type LineSeries = {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  dashed?: boolean;
  /** Draw a dot on every point (simulated data); off for analytic curves. */
  markers?: boolean;
};

export type VerticalMarker = { x: number; label: string; color?: string };

export type LineChartOptions = {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  markers?: readonly VerticalMarker[];
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Tick labels on the y axis (e.g. percentages). */
  yFormat?: (value: number) => string;
  width?: number;
  height?: number;
};

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 430;
  const head = heading(options.title, options.subtitle, 72, width);
  const margin = { left: 72, right: 24, top: head.top, bottom: 96 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = options.series.flatMap((s) => s.points);
  const xs = [...all.map((p) => p[0]), ...(options.markers ?? []).map((m) => m.x)].filter(Number.isFinite);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const [x0, x1] = options.xDomain ?? niceDomain(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = options.yDomain ?? niceDomain(Math.min(...ys, 0), Math.max(...ys, 0));
  const sx = (x: number) => margin.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const yFormat = options.yFormat ?? formatNumber;
  const parts: string[] = [];

  parts.push(head.svg);
  // grid and ticks
  for (const t of niceTicks(y0, y1)) {
    const y = px(sy(t));
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
    );
    parts.push(
      `<text x="${margin.left - 8}" y="${y}" dy="4" text-anchor="end" ${font} font-size="12" fill="#444">${escapeXml(yFormat(t))}</text>`,
    );
  }
  for (const t of niceTicks(x0, x1, 8)) {
    const x = px(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#f0f0f0"/>`);
    parts.push(
      `<text x="${x}" y="${margin.top + plotH + 18}" text-anchor="middle" ${font} font-size="12" fill="#444">${escapeXml(formatNumber(t))}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  if (y0 < 0 && y1 > 0) {
    const y = px(sy(0));
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}" stroke="#777"/>`);
  }
  parts.push(
    `<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 42}" text-anchor="middle" ${font} font-size="13" fill="#222">${escapeXml(options.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" ${font} font-size="13" fill="#222">${escapeXml(options.yLabel)}</text>`,
  );

  // series (clipped to the plot)
  const clipId = `clip-${options.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  parts.push(
    `<clipPath id="${clipId}"><rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/></clipPath>`,
  );
  options.series.forEach((series, i) => {
    const color = series.color ?? palette[i % palette.length];
    const points = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (points.length === 0) return;
    const path: string[] = [];
    points.forEach(([x, y], j) => {
      path.push(`${j === 0 ? 'M' : 'L'}${px(sx(x))},${px(sy(y))}`);
    });
    const dash = series.dashed ? ' stroke-dasharray="7 5"' : '';
    parts.push(
      `<path d="${path.join(' ')}" fill="none" stroke="${color}" stroke-width="2.2"${dash} clip-path="url(#${clipId})"/>`,
    );
    if (series.markers) {
      for (const [x, y] of points) {
        parts.push(
          `<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="3.6" fill="${color}" stroke="#fff" stroke-width="1"/>`,
        );
      }
    }
  });

  // vertical markers, over the series
  for (const marker of options.markers ?? []) {
    if (!Number.isFinite(marker.x) || marker.x < x0 || marker.x > x1) continue;
    const x = px(sx(marker.x));
    const color = marker.color ?? '#444';
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
    const anchor = sx(marker.x) > margin.left + plotW * 0.7 ? 'end' : 'start';
    const dx = anchor === 'end' ? -6 : 6;
    parts.push(
      `<text x="${x}" y="${margin.top + 16}" dx="${dx}" text-anchor="${anchor}" ${font} font-size="12" font-weight="600" fill="${color}">${escapeXml(marker.label)}</text>`,
    );
  }

  // legend
  let lx = margin.left;
  const ly = height - 22;
  options.series.forEach((series, i) => {
    const color = series.color ?? palette[i % palette.length];
    const dash = series.dashed ? ' stroke-dasharray="7 5"' : '';
    parts.push(
      `<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"${dash}/>`,
    );
    if (series.markers) parts.push(`<circle cx="${lx + 13}" cy="${ly}" r="3.6" fill="${color}"/>`);
    parts.push(
      `<text x="${lx + 32}" y="${ly}" dy="4" ${font} font-size="12.5" fill="#222">${escapeXml(series.name)}</text>`,
    );
    lx += 44 + series.name.length * 7;
  });

  return svgDocument(width, height, options.title, parts.join('\n'));
}
