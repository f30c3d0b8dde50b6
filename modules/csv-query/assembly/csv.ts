// CSV as RFC 4180 writes it: fields separated by commas, quoted with "" when they hold a comma, a
// quote or a line break (a quote inside doubled), records ended by CRLF or LF.

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

function isEnd(c: i32): bool {
  return c === COMMA || c === CR || c === LF;
}

/** The records of a CSV text; an empty last line is not a record. */
export function parseCsv(text: string): Array<Array<string>> {
  const records: Array<Array<string>> = [];
  let record: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    // One field: quoted pieces and unquoted runs, up to a comma or a line break.
    let field = '';
    while (i < n && !isEnd(text.charCodeAt(i))) {
      if (text.charCodeAt(i) === QUOTE) {
        i++;
        while (i < n) {
          const close = text.indexOf('"', i);
          if (close < 0) {
            field += text.substring(i);
            i = n;
            break;
          }
          field += text.substring(i, close);
          i = close + 1;
          if (i < n && text.charCodeAt(i) === QUOTE) {
            field += '"';
            i++;
          } else {
            break;
          }
        }
      } else {
        const from = i;
        while (i < n && !isEnd(text.charCodeAt(i)) && text.charCodeAt(i) !== QUOTE) i++;
        field += text.substring(from, i);
      }
    }
    record.push(field);
    if (i < n && text.charCodeAt(i) === COMMA) {
      i++;
      if (i === n) record.push('');
      continue;
    }
    if (i < n && text.charCodeAt(i) === CR) i++;
    if (i < n && text.charCodeAt(i) === LF) i++;
    records.push(record);
    record = [];
  }
  if (record.length > 0) records.push(record);
  return records;
}

function needsQuotes(field: string): bool {
  for (let i = 0; i < field.length; i++) {
    const c = field.charCodeAt(i);
    if (c === QUOTE || c === COMMA || c === CR || c === LF) return true;
  }
  return false;
}

/** One CSV line (with its LF) for the fields. */
export function csvLine(fields: Array<string>): string {
  const parts: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    parts.push(needsQuotes(field) ? `"${field.replaceAll('"', '""')}"` : field);
  }
  return `${parts.join(',')}\n`;
}
