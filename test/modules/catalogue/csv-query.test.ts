/**
 * csv-query:v0.1.0 in the WASM executor: filters, groups, aggregates, orders and limits a CSV the test
 * writes, and the result is parsed back and compared with the same query computed here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModuleRunner, moduleRunner } from './run-module.js';

const REF = 'csv-query:v0.1.0';

const SALES = [
  'region,product,amount,status',
  'north,apple,10,paid',
  'south,pear,4.5,paid',
  'north,pear,7,open',
  '"west, far",apple,12,paid',
  'south,apple,3,paid',
  'north,apple,5,paid',
  '"west, far","fig ""black""",1.25,paid',
].join('\r\n');

/** The records of the CSV the module printed (fields with commas or quotes are quoted). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.trimEnd().split('\n')) {
    const fields: string[] = [];
    const re = /("(?:[^"]|"")*"|[^,]*)(?:,|$)/g;
    for (const match of line.matchAll(re)) {
      if (match.index === line.length && fields.length > 0 && !line.endsWith(',')) break;
      const raw = match[1] as string;
      fields.push(raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw);
    }
    rows.push(fields);
  }
  return rows;
}

describe('csv-query', () => {
  let runner: ModuleRunner;
  beforeAll(async () => {
    runner = await moduleRunner();
  });
  afterAll(() => runner.remove());

  const query = async (inputs: Record<string, string>, csv = SALES) => {
    const run = await runner.run(REF, inputs, { File: csv });
    expect(run.stderr).toBe('');
    expect(run.status).toBe('succeeded');
    expect((await run.output('result.csv')).toString()).toBe(run.stdout);
    return parseCsv(run.stdout);
  };

  it('groups, sums, counts and orders', async () => {
    const rows = await query({
      Where: 'status = paid',
      GroupBy: 'region',
      Aggregate: 'sum(amount),count,avg(amount),max(amount)',
      OrderBy: 'sum(amount) desc',
    });
    expect(rows).toEqual([
      ['region', 'sum(amount)', 'count', 'avg(amount)', 'max(amount)'],
      ['north', '15', '2', '7.5', '10'],
      ['west, far', '13.25', '2', '6.625', '12'],
      ['south', '7.5', '2', '3.75', '4.5'],
    ]);
  });

  it('filters rows with numeric and text comparisons, keeping quoted fields intact', async () => {
    expect(await query({ Where: 'amount < 5 and product != apple' })).toEqual([
      ['region', 'product', 'amount', 'status'],
      ['south', 'pear', '4.5', 'paid'],
      ['west, far', 'fig "black"', '1.25', 'paid'],
    ]);
    // Numbers compare as numbers: 10 > 9 although "10" < "9" as text.
    expect((await query({ Where: 'amount > 9' })).map((row) => row[2])).toEqual(['amount', '10', '12']);
  });

  it('groups by two columns with a default count, sorts stably (ties keep their first appearance) and limits', async () => {
    expect(await query({ GroupBy: 'product,region', OrderBy: 'count desc', Limit: '2' })).toEqual([
      ['product', 'region', 'count'],
      ['apple', 'north', '2'],
      ['pear', 'south', '1'],
    ]);
  });

  it('aggregates a larger generated table like a reference computation', async () => {
    const lines = ['id,group,value'];
    const expected = new Map<string, { sum: number; count: number; min: number }>();
    for (let i = 0; i < 2000; i++) {
      const group = `g${(i * 7919) % 13}`;
      const value = ((i * 104729) % 1000) - 300;
      lines.push(`${i},${group},${value}`);
      if (value > 0) {
        const e = expected.get(group) ?? { sum: 0, count: 0, min: Number.POSITIVE_INFINITY };
        expected.set(group, { sum: e.sum + value, count: e.count + 1, min: Math.min(e.min, value) });
      }
    }
    const rows = await query(
      { Where: 'value > 0', GroupBy: 'group', Aggregate: 'sum(value),count,min(value)', OrderBy: 'group' },
      `${lines.join('\n')}\n`,
    );
    const want = [...expected.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([group, e]) => [group, String(e.sum), String(e.count), String(e.min)]);
    expect(rows).toEqual([['group', 'sum(value)', 'count', 'min(value)'], ...want]);
  });

  it('names the unknown column and the rule in its errors', async () => {
    const run = await runner.run(REF, { GroupBy: 'country' }, { File: SALES });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe('no column "country" (columns: region, product, amount, status)\n');
    const bad = await runner.run(REF, { Where: 'amount ~ 3' }, { File: SALES });
    expect(bad.stderr).toMatch(/Where: "amount ~ 3" is not "column op value"/);
    await expect(runner.run(REF, {})).rejects.toThrow(/input "File" is required/);
    await expect(runner.run(REF, { File: '../etc/passwd' })).rejects.toThrow(/must be the CID of a file/);
  });
});
