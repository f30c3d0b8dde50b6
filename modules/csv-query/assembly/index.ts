// csv-query: a CSV file in /inputs, a query in the arguments (File, Where, GroupBy, Aggregate, OrderBy,
// Limit), the result as CSV on stdout and in /outputs/result.csv.
import '../../lib/abort';
import { commandArgs, fail, fileInputPath, print, readFile, writeFile } from '../../lib/io';
import { csvLine, parseCsv } from './csv';
import { formatNumber, parseNumber } from './number';
import {
  Aggregate,
  Condition,
  Order,
  parseAggregates,
  parseGroupBy,
  parseOrder,
  parseWhere,
  queryError,
} from './query';
import { sortRows } from './sort';

// The running totals of one group.
class Totals {
  count: i32 = 0;
  sums: Float64Array;
  numeric: Int32Array;
  mins: Float64Array;
  maxs: Float64Array;

  constructor(
    public key: Array<string>,
    n: i32,
  ) {
    this.sums = new Float64Array(n);
    this.numeric = new Int32Array(n);
    this.mins = new Float64Array(n).fill(Infinity);
    this.maxs = new Float64Array(n).fill(-Infinity);
  }

  add(row: Array<string>, aggregates: Array<Aggregate>): void {
    this.count++;
    for (let a = 0; a < aggregates.length; a++) {
      const column = aggregates[a].column;
      if (column < 0) continue;
      const x = parseNumber(column < row.length ? row[column] : '');
      if (isNaN(x)) continue;
      this.sums[a] += x;
      this.numeric[a]++;
      this.mins[a] = min(this.mins[a], x);
      this.maxs[a] = max(this.maxs[a], x);
    }
  }

  value(a: i32, aggregate: Aggregate): string {
    if (aggregate.fn === 'count') return this.count.toString();
    if (this.numeric[a] === 0) return '';
    if (aggregate.fn === 'sum') return formatNumber(this.sums[a]);
    if (aggregate.fn === 'avg') return formatNumber(this.sums[a] / <f64>this.numeric[a]);
    return formatNumber(aggregate.fn === 'min' ? this.mins[a] : this.maxs[a]);
  }
}

function field(row: Array<string>, column: i32): string {
  return column < row.length ? row[column] : '';
}

function keep(row: Array<string>, where: Array<Condition>): bool {
  for (let i = 0; i < where.length; i++) {
    if (!where[i].matches(field(row, where[i].column))) return false;
  }
  return true;
}

const args = commandArgs();
if (args.length !== 6) fail('usage: csv-query FILE WHERE GROUP_BY AGGREGATE ORDER_BY LIMIT');
const path = fileInputPath(args[0], 'pass the CSV as -i File=@data.csv');
const data = readFile(path);
if (data === null) fail(`cannot read ${path}: pass the CSV as -i File=@data.csv`);
const records = parseCsv(String.UTF8.decode((<Uint8Array>data).buffer));
if (records.length === 0) fail(`${path} is empty: the first line must name the columns`);
const header = records[0];

const where = parseWhere(args[1], header);
if (where === null) fail(queryError);
const groupBy = parseGroupBy(args[2], header);
if (groupBy === null) fail(queryError);
let aggregates = parseAggregates(args[3], header);
if (aggregates === null) fail(queryError);
const grouped = (<Array<i32>>groupBy).length > 0 || (<Array<Aggregate>>aggregates).length > 0;
if (grouped && (<Array<Aggregate>>aggregates).length === 0) aggregates = parseAggregates('count', header);

let outputHeader: Array<string> = [];
let rows: Array<Array<string>> = [];
if (!grouped) {
  outputHeader = header;
  for (let r = 1; r < records.length; r++) {
    const row = records[r];
    if (row.length === 1 && row[0].length === 0) continue; // a blank line
    if (keep(row, <Array<Condition>>where)) rows.push(row);
  }
} else {
  const columns = <Array<i32>>groupBy;
  const aggs = <Array<Aggregate>>aggregates;
  for (let i = 0; i < columns.length; i++) outputHeader.push(header[columns[i]]);
  for (let a = 0; a < aggs.length; a++) outputHeader.push(aggs[a].label);
  // Groups in the order they first appear.
  const groups = new Map<string, Totals>();
  const order: Totals[] = [];
  for (let r = 1; r < records.length; r++) {
    const row = records[r];
    if (row.length === 1 && row[0].length === 0) continue;
    if (!keep(row, <Array<Condition>>where)) continue;
    const key: string[] = [];
    for (let i = 0; i < columns.length; i++) key.push(field(row, columns[i]));
    const id = key.join('\u0000');
    if (!groups.has(id)) {
      const totals = new Totals(key, aggs.length);
      groups.set(id, totals);
      order.push(totals);
    }
    groups.get(id).add(row, aggs);
  }
  // An aggregate over no rows at all is still one line (count 0), as in SQL.
  if (order.length === 0 && columns.length === 0) order.push(new Totals([], aggs.length));
  for (let g = 0; g < order.length; g++) {
    const line = order[g].key.slice(0);
    for (let a = 0; a < aggs.length; a++) line.push(order[g].value(a, aggs[a]));
    rows.push(line);
  }
}

const orderBy = parseOrder(args[4], outputHeader);
if (orderBy === null) fail(queryError);
const order = <Order>orderBy;
if (order.label.length > 0) rows = sortRows(rows, outputHeader.indexOf(order.label), order.descending);
const limit = I32.parseInt(args[5]);
if (limit > 0 && rows.length > limit) rows = rows.slice(0, limit);

let out = csvLine(outputHeader);
for (let r = 0; r < rows.length; r++) out += csvLine(rows[r]);
if (!writeFile('/outputs/result.csv', Uint8Array.wrap(String.UTF8.encode(out)))) {
  fail('cannot write /outputs/result.csv');
}
print(out);
