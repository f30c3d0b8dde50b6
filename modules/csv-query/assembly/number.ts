// Numbers in CSV fields: what counts as one, and how results are written.

/** The field as a number, or NaN when it is not one (an optional sign, digits, a point, an exponent). */
export function parseNumber(text: string): f64 {
  const s = text.trim();
  if (s.length === 0) return NaN;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (!(c === 0x2b || c === 0x2d || c === 0x2e || c === 0x65 || c === 0x45)) return NaN;
  }
  if (digits === 0) return NaN;
  return F64.parseFloat(s);
}

/** Integers without a fraction ("12", not "12.0"); others as the shortest decimal that reads back. */
export function formatNumber(value: f64): string {
  if (isNaN(value)) return '';
  if (value === Math.floor(value) && Math.abs(value) < 1e15) return (<i64>value).toString();
  return value.toString();
}
