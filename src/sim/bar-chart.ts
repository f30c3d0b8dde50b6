/**
 * A horizontal bar chart as SVG: one labelled bar per row, negative values to the left of zero (payoffs can be
 * losses), the value printed at the end of each bar.
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

export type Bar = { label: string; value: number; color?: string };

export type BarChartOptions = {
  title: string;
  subtitle?: string;
  xLabel: string;
  bars: readonly Bar[];
  width?: number;
};

export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 720;
  const rowH = 30;
  const labelW = Math.min(260, 24 + Math.max(0, ...options.bars.map((b) => b.label.length)) * 7.2);
  const head = heading(options.title, options.subtitle, 16, width);
  const margin = { left: labelW, right: 70, top: head.top, bottom: 54 };
  const plotW = width - margin.left - margin.right;
  const plotH = Math.max(1, options.bars.length) * rowH;
  const height = margin.top + plotH + margin.bottom;
  const values = options.bars.map((b) => b.value);
  // Room beyond the longest bars for their value labels.
  const low = Math.min(0, ...values);
  const high = Math.max(0, ...values);
  const pad = (high - low) * 0.12;
  const [x0, x1] = niceDomain(low < 0 ? low - pad : 0, high > 0 ? high + pad : 0);
  const sx = (x: number) => margin.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const parts: string[] = [];
  parts.push(head.svg);
  for (const t of niceTicks(x0, x1)) {
    const x = px(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    parts.push(
      `<text x="${x}" y="${margin.top + plotH + 18}" text-anchor="middle" ${font} font-size="12" fill="#444">${escapeXml(formatNumber(t))}</text>`,
    );
  }
  options.bars.forEach((bar, i) => {
    const y = margin.top + i * rowH;
    const a = sx(Math.min(0, bar.value));
    const b = sx(Math.max(0, bar.value));
    const color = bar.color ?? (bar.value < 0 ? palette[1] : palette[0]);
    parts.push(
      `<text x="${margin.left - 10}" y="${px(y + rowH / 2)}" dy="4" text-anchor="end" ${font} font-size="12.5" fill="#222">${escapeXml(bar.label)}</text>`,
    );
    parts.push(
      `<rect x="${px(a)}" y="${px(y + 5)}" width="${px(Math.max(1, b - a))}" height="${rowH - 10}" fill="${color}"/>`,
    );
    const outside = bar.value < 0 ? a - 6 : b + 6;
    parts.push(
      `<text x="${px(outside)}" y="${px(y + rowH / 2)}" dy="4" text-anchor="${bar.value < 0 ? 'end' : 'start'}" ${font} font-size="11.5" fill="#333">${escapeXml(formatNumber(bar.value))}</text>`,
    );
  });
  const zero = px(sx(0));
  parts.push(`<line x1="${zero}" x2="${zero}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#555"/>`);
  parts.push(
    `<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 40}" text-anchor="middle" ${font} font-size="13" fill="#222">${escapeXml(options.xLabel)}</text>`,
  );
  return svgDocument(width, height, options.title, parts.join('\n'));
}
