// A stable merge sort of result rows by one column: numerically when both fields are numbers, else by
// code unit order; rows that compare equal keep their order.
import { parseNumber } from './number';

function compare(a: string, b: string): i32 {
  const x = parseNumber(a);
  const y = parseNumber(b);
  if (!isNaN(x) && !isNaN(y)) return x < y ? -1 : x > y ? 1 : 0;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortRows(rows: Array<Array<string>>, column: i32, descending: bool): Array<Array<string>> {
  if (rows.length < 2) return rows;
  const middle = rows.length >> 1;
  const left = sortRows(rows.slice(0, middle), column, descending);
  const right = sortRows(rows.slice(middle), column, descending);
  const out: Array<Array<string>> = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    let c = compare(left[i][column], right[j][column]);
    if (descending) c = -c;
    if (c <= 0) out.push(left[i++]);
    else out.push(right[j++]);
  }
  while (i < left.length) out.push(left[i++]);
  while (j < right.length) out.push(right[j++]);
  return out;
}
