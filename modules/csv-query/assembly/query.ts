// The query: filters (Where), groups (GroupBy), aggregates (Aggregate), order (OrderBy) and a limit,
// each given as its own input (see README.md for the syntax). A mistake is reported by `queryError`.
import { parseNumber } from './number';

/** Why the last parse returned null. */
export let queryError = '';

export class Condition {
  constructor(
    public column: i32,
    public op: string,
    public value: string,
    public number: f64,
  ) {}

  matches(field: string): bool {
    const x = parseNumber(field);
    if (!isNaN(x) && !isNaN(this.number)) {
      if (this.op === '=') return x === this.number;
      if (this.op === '!=') return x !== this.number;
      if (this.op === '<') return x < this.number;
      if (this.op === '<=') return x <= this.number;
      if (this.op === '>') return x > this.number;
      return x >= this.number;
    }
    if (this.op === '=') return field === this.value;
    if (this.op === '!=') return field !== this.value;
    if (this.op === '<') return field < this.value;
    if (this.op === '<=') return field <= this.value;
    if (this.op === '>') return field > this.value;
    return field >= this.value;
  }
}

export class Aggregate {
  constructor(
    /** count, sum, avg, min or max */
    public fn: string,
    /** -1 for count */
    public column: i32,
    /** How the output header names it: "count", "sum(amount)". */
    public label: string,
  ) {}
}

export class Order {
  constructor(
    public label: string,
    public descending: bool,
  ) {}
}

function columnIndex(header: Array<string>, name: string): i32 {
  const index = header.indexOf(name.trim());
  if (index < 0) queryError = `no column "${name.trim()}" (columns: ${header.join(', ')})`;
  return index;
}

function unquote(text: string): string {
  const s = text.trim();
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return s.slice(1, s.length - 1);
  return s;
}

// Longest first, so "<=" is not read as "<".
const OPERATORS: string[] = ['!=', '<=', '>=', '=', '<', '>'];

/** `column op value [and column op value]…`; empty means every row. */
export function parseWhere(text: string, header: Array<string>): Array<Condition> | null {
  const out: Condition[] = [];
  if (text.trim().length === 0) return out;
  const parts = text.split(' and ');
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    let at = -1;
    let op = '';
    for (let i = 0; i < part.length && at < 0; i++) {
      for (let k = 0; k < OPERATORS.length; k++) {
        if (part.startsWith(OPERATORS[k], i)) {
          at = i;
          op = OPERATORS[k];
          break;
        }
      }
    }
    if (at <= 0) {
      queryError = `Where: "${part.trim()}" is not "column op value" (op: = != < <= > >=)`;
      return null;
    }
    const column = columnIndex(header, part.slice(0, at));
    if (column < 0) return null;
    const value = unquote(part.slice(at + op.length));
    out.push(new Condition(column, op, value, parseNumber(value)));
  }
  return out;
}

/** `column[, column]…`; empty means no grouping. */
export function parseGroupBy(text: string, header: Array<string>): Array<i32> | null {
  const out: i32[] = [];
  if (text.trim().length === 0) return out;
  const names = text.split(',');
  for (let i = 0; i < names.length; i++) {
    const column = columnIndex(header, names[i]);
    if (column < 0) return null;
    out.push(column);
  }
  return out;
}

/** `count`, `sum(col)`, `avg(col)`, `min(col)`, `max(col)`, comma-separated. */
export function parseAggregates(text: string, header: Array<string>): Array<Aggregate> | null {
  const out: Aggregate[] = [];
  if (text.trim().length === 0) return out;
  const items = text.split(',');
  for (let i = 0; i < items.length; i++) {
    const item = items[i].trim();
    if (item === 'count' || item === 'count(*)') {
      out.push(new Aggregate('count', -1, 'count'));
      continue;
    }
    const open = item.indexOf('(');
    const fn = open > 0 ? item.slice(0, open) : '';
    if (!item.endsWith(')') || !(fn === 'sum' || fn === 'avg' || fn === 'min' || fn === 'max')) {
      queryError = `Aggregate: "${item}" is not count, sum(col), avg(col), min(col) or max(col)`;
      return null;
    }
    const name = item.slice(open + 1, item.length - 1).trim();
    const column = columnIndex(header, name);
    if (column < 0) return null;
    out.push(new Aggregate(fn, column, `${fn}(${name})`));
  }
  return out;
}

/** `label [asc|desc]`: a column of the output, e.g. `sum(amount) desc`; empty keeps the input order. */
export function parseOrder(text: string, outputHeader: Array<string>): Order | null {
  let s = text.trim();
  if (s.length === 0) return new Order('', false);
  let descending = false;
  if (s.endsWith(' desc')) {
    descending = true;
    s = s.slice(0, s.length - 5).trim();
  } else if (s.endsWith(' asc')) {
    s = s.slice(0, s.length - 4).trim();
  }
  if (!outputHeader.includes(s)) {
    queryError = `OrderBy: "${s}" is not a column of the result (${outputHeader.join(', ')})`;
    return null;
  }
  return new Order(s, descending);
}
