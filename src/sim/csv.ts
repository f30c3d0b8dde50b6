/** CSV (RFC 4180) for the run tables, and flattening of nested results into columns (`theory.threshold`). */

export type Cell = string | number | boolean | null | undefined;

const quote = (cell: Cell): string => {
  if (cell === null || cell === undefined) return '';
  const text = String(cell);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

export function toCsv(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return `${[headers, ...rows].map((row) => row.map(quote).join(',')).join('\n')}\n`;
}

/** { a: { b: 1 }, c: 2 } → { 'a.b': 1, c: 2 }; arrays are left out (they get their own tables). */
export function flatten(value: Record<string, unknown>, prefix = ''): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(v)) continue;
    if (v !== null && typeof v === 'object') Object.assign(out, flatten(v as Record<string, unknown>, name));
    else out[name] = v as Cell;
  }
  return out;
}

/** Rows of objects → CSV with the union of their keys, in first-seen order. */
export function objectsToCsv(objects: readonly Record<string, Cell>[]): string {
  const headers: string[] = [];
  const seen = new Set<string>();
  for (const o of objects) {
    for (const key of Object.keys(o)) {
      if (!seen.has(key)) {
        seen.add(key);
        headers.push(key);
      }
    }
  }
  return toCsv(
    headers,
    objects.map((o) => headers.map((h) => o[h])),
  );
}
