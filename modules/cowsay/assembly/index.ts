// cowsay for WASI: prints its arguments (joined by spaces, as cowsay joins them) in a speech balloon
// above the default cow, byte for byte like Debian's cowsay 3.03: the text is filled like Perl's
// Text::Wrap `fill` with 40 columns (at most 39 characters a line, long words broken), and each line is
// padded to the widest line's display width (East Asian wide characters count 2, combining marks 0).
// Everything works on Unicode code points decoded from UTF-8 argv and is encoded back to UTF-8.

// Compiled in for `--use abort=../lib/abort/moduleAbort` (asconfig.json).
import '../../lib/abort';
import { writeAll } from '../../lib/io';
import { args_get, args_sizes_get, proc_exit } from '../../lib/wasi_snapshot_preview1';

// Text::Wrap: a line holds at most `columns - 1` characters.
const LINE_LENGTH: i32 = 39;
const NEWLINE: i32 = 0x0a;
const SPACE: i32 = 0x20;
const REPLACEMENT: i32 = 0xfffd;

// The default cow, with the `\` thoughts of a one-line or several-line balloon.
const COW: string =
  '        \\   ^__^\n' +
  '         \\  (oo)\\_______\n' +
  '            (__)\\       )\\/\\\n' +
  '                ||----w |\n' +
  '                ||     ||\n';

// Perl's `\s` on character strings: Unicode White_Space.
function isSpace(c: i32): bool {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

// Perl's `\pM` (combining marks), for the blocks where they are common: a table of every mark would
// outweigh the rest of the module.
function isMark(c: i32): bool {
  if (c < 0x300) return false;
  return (
    (c >= 0x0300 && c <= 0x036f) ||
    (c >= 0x0483 && c <= 0x0489) ||
    (c >= 0x0591 && c <= 0x05bd) ||
    c === 0x05bf ||
    c === 0x05c1 ||
    c === 0x05c2 ||
    c === 0x05c4 ||
    c === 0x05c5 ||
    c === 0x05c7 ||
    (c >= 0x0610 && c <= 0x061a) ||
    (c >= 0x064b && c <= 0x065f) ||
    c === 0x0670 ||
    (c >= 0x06d6 && c <= 0x06dc) ||
    (c >= 0x06df && c <= 0x06e4) ||
    c === 0x06e7 ||
    c === 0x06e8 ||
    (c >= 0x06ea && c <= 0x06ed) ||
    (c >= 0x0900 && c <= 0x0903) ||
    (c >= 0x093a && c <= 0x093c) ||
    (c >= 0x093e && c <= 0x094f) ||
    (c >= 0x0951 && c <= 0x0957) ||
    c === 0x0962 ||
    c === 0x0963 ||
    c === 0x0e31 ||
    (c >= 0x0e34 && c <= 0x0e3a) ||
    (c >= 0x0e47 && c <= 0x0e4e) ||
    (c >= 0x1ab0 && c <= 0x1aff) ||
    (c >= 0x1dc0 && c <= 0x1dff) ||
    (c >= 0x20d0 && c <= 0x20ff) ||
    (c >= 0x302a && c <= 0x302f) ||
    c === 0x3099 ||
    c === 0x309a ||
    (c >= 0xfe00 && c <= 0xfe0f) ||
    (c >= 0xfe20 && c <= 0xfe2f) ||
    (c >= 0xe0100 && c <= 0xe01ef)
  );
}

// wcwidth: columns a code point takes on a terminal.
function width(c: i32): i32 {
  if (c < 0x20 || (c >= 0x7f && c < 0xa0)) return 0;
  if (c < 0x300) return 1;
  if (isMark(c) || (c >= 0x200b && c <= 0x200f) || (c >= 0x2060 && c <= 0x2064) || c === 0xfeff) return 0;
  if (
    (c >= 0x1100 && c <= 0x115f) ||
    c === 0x231a ||
    c === 0x231b ||
    c === 0x2329 ||
    c === 0x232a ||
    (c >= 0x23e9 && c <= 0x23ec) ||
    c === 0x23f0 ||
    c === 0x23f3 ||
    c === 0x25fd ||
    c === 0x25fe ||
    c === 0x2614 ||
    c === 0x2615 ||
    (c >= 0x2648 && c <= 0x2653) ||
    c === 0x267f ||
    c === 0x2693 ||
    c === 0x26a1 ||
    c === 0x26aa ||
    c === 0x26ab ||
    c === 0x26bd ||
    c === 0x26be ||
    c === 0x26c4 ||
    c === 0x26c5 ||
    c === 0x26ce ||
    c === 0x26d4 ||
    c === 0x26ea ||
    c === 0x26f2 ||
    c === 0x26f3 ||
    c === 0x26f5 ||
    c === 0x26fa ||
    c === 0x26fd ||
    c === 0x2705 ||
    c === 0x270a ||
    c === 0x270b ||
    c === 0x2728 ||
    c === 0x274c ||
    c === 0x274e ||
    (c >= 0x2753 && c <= 0x2755) ||
    c === 0x2757 ||
    (c >= 0x2795 && c <= 0x2797) ||
    c === 0x27b0 ||
    c === 0x27bf ||
    c === 0x2b1b ||
    c === 0x2b1c ||
    c === 0x2b50 ||
    c === 0x2b55 ||
    (c >= 0x2e80 && c <= 0x303e) ||
    (c >= 0x3041 && c <= 0x33ff) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0xa000 && c <= 0xa4cf) ||
    (c >= 0xa960 && c <= 0xa97f) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xfe10 && c <= 0xfe19) ||
    (c >= 0xfe30 && c <= 0xfe6f) ||
    (c >= 0xff00 && c <= 0xff60) ||
    (c >= 0xffe0 && c <= 0xffe6) ||
    (c >= 0x16fe0 && c <= 0x16fe4) ||
    (c >= 0x17000 && c <= 0x18aff) ||
    (c >= 0x1b000 && c <= 0x1b2ff) ||
    c === 0x1f004 ||
    c === 0x1f0cf ||
    c === 0x1f18e ||
    (c >= 0x1f191 && c <= 0x1f19a) ||
    (c >= 0x1f200 && c <= 0x1f251) ||
    (c >= 0x1f300 && c <= 0x1f64f) ||
    (c >= 0x1f680 && c <= 0x1f6ff) ||
    (c >= 0x1f7e0 && c <= 0x1f7eb) ||
    (c >= 0x1f90c && c <= 0x1f9ff) ||
    (c >= 0x1fa70 && c <= 0x1faff) ||
    (c >= 0x20000 && c <= 0x2fffd) ||
    (c >= 0x30000 && c <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

// Decodes the UTF-8 bytes in [start, end) to code points; a malformed sequence becomes U+FFFD.
function decodeUtf8(start: usize, end: usize, out: Array<i32>): void {
  let p = start;
  while (p < end) {
    const b0 = <i32>load<u8>(p);
    let needed = 0;
    let c = 0;
    let min = 0;
    if (b0 < 0x80) {
      out.push(b0);
      p++;
      continue;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      needed = 1;
      c = b0 & 0x1f;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      needed = 2;
      c = b0 & 0x0f;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      needed = 3;
      c = b0 & 0x07;
      min = 0x10000;
    } else {
      out.push(REPLACEMENT);
      p++;
      continue;
    }
    let q = p + 1;
    let ok = true;
    for (let i = 0; i < needed; i++) {
      if (q >= end) {
        ok = false;
        break;
      }
      const b = <i32>load<u8>(q);
      if ((b & 0xc0) !== 0x80) {
        ok = false;
        break;
      }
      c = (c << 6) | (b & 0x3f);
      q++;
    }
    if (!ok || c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
      out.push(REPLACEMENT);
      p = ok ? q : max<usize>(q, p + 1);
    } else {
      out.push(c);
      p = q;
    }
  }
}

function encodeUtf8(c: i32, out: Array<u8>): void {
  if (c < 0x80) {
    out.push(<u8>c);
  } else if (c < 0x800) {
    out.push(<u8>(0xc0 | (c >> 6)));
    out.push(<u8>(0x80 | (c & 0x3f)));
  } else if (c < 0x10000) {
    out.push(<u8>(0xe0 | (c >> 12)));
    out.push(<u8>(0x80 | ((c >> 6) & 0x3f)));
    out.push(<u8>(0x80 | (c & 0x3f)));
  } else {
    out.push(<u8>(0xf0 | (c >> 18)));
    out.push(<u8>(0x80 | ((c >> 12) & 0x3f)));
    out.push(<u8>(0x80 | ((c >> 6) & 0x3f)));
    out.push(<u8>(0x80 | (c & 0x3f)));
  }
}

// argv[1..] joined by single spaces (argv[0] is the program name).
function readMessage(): Array<i32> {
  const message: i32[] = [];
  const sizes = new ArrayBuffer(8);
  const sizesPtr = changetype<usize>(sizes);
  if (args_sizes_get(sizesPtr, sizesPtr + 4) !== 0) return message;
  const argc = load<u32>(sizesPtr);
  const bufSize = load<u32>(sizesPtr + 4);
  const argv = new ArrayBuffer(<i32>(argc * 4 + 4));
  const buf = new ArrayBuffer(<i32>(bufSize + 1));
  const argvPtr = changetype<usize>(argv);
  const bufPtr = changetype<usize>(buf);
  if (args_get(argvPtr, bufPtr) !== 0) return message;
  for (let i: u32 = 1; i < argc; i++) {
    if (i > 1) message.push(SPACE);
    const start = load<usize>(argvPtr + ((<usize>i) << 2));
    let end = start;
    while (load<u8>(end) !== 0) end++;
    decodeUtf8(start, end, message);
  }
  return message;
}

// Text::Wrap's characters: a code point and the combining marks that follow it.
function unitStarts(text: Array<i32>): Array<i32> {
  const starts: i32[] = [];
  for (let i = 0; i < text.length; i++) {
    if (i === 0 || !isMark(text[i])) starts.push(i);
  }
  starts.push(text.length);
  return starts;
}

function appendRange(out: Array<i32>, text: Array<i32>, from: i32, to: i32): void {
  for (let i = from; i < to; i++) out.push(text[i]);
}

// Text::Wrap::wrap('', '', paragraph) for a paragraph without newlines: the longest run of at most 39
// characters followed by a space (which is dropped) or the end; a longer word is cut at 39.
function wrap(text: Array<i32>, out: Array<i32>): void {
  const starts = unitStarts(text);
  const units = starts.length - 1;
  let pos = 0;
  let first = true;
  let remainderFrom = 0;
  let remainderTo = 0;
  let remainderNewline = false;
  while (true) {
    let onlySpaces = true;
    for (let k = pos; k < units; k++) {
      if (!isSpace(text[starts[k]])) {
        onlySpaces = false;
        break;
      }
    }
    if (onlySpaces) break;
    if (!first) out.push(NEWLINE);
    first = false;
    const longest = min(LINE_LENGTH, units - pos);
    let found = -1;
    for (let k = longest; k >= 0; k--) {
      if (pos + k === units || isSpace(text[starts[pos + k]])) {
        found = k;
        break;
      }
    }
    if (found >= 0) {
      appendRange(out, text, starts[pos], starts[pos + found]);
      remainderNewline = false;
      if (pos + found < units) {
        remainderFrom = starts[pos + found];
        remainderTo = starts[pos + found + 1];
        pos += found + 1;
      } else {
        remainderFrom = remainderTo = 0;
        pos = units;
      }
    } else {
      appendRange(out, text, starts[pos], starts[pos + LINE_LENGTH]);
      pos += LINE_LENGTH;
      remainderFrom = remainderTo = 0;
      remainderNewline = true;
    }
  }
  // Text::Wrap keeps the separator that followed the last line.
  if (remainderNewline) out.push(NEWLINE);
  else appendRange(out, text, remainderFrom, remainderTo);
}

// `\n\s+`: a newline followed by white space separates paragraphs.
function isParagraphBreak(text: Array<i32>, i: i32): bool {
  return text[i] === NEWLINE && i + 1 < text.length && isSpace(text[i + 1]);
}

// Text::Wrap::fill: paragraphs are split at a newline followed by white space, white space runs become
// one space, and the wrapped paragraphs are joined by a blank line. Then split into lines like Perl's
// `split("\n", ...)`, which drops trailing empty lines.
function fillLines(message: Array<i32>): Array<Array<i32>> {
  const paragraphs: Array<i32>[] = [];
  let current: i32[] = [];
  let i = 0;
  while (i < message.length) {
    const c = message[i];
    if (isParagraphBreak(message, i)) {
      paragraphs.push(current);
      current = [] as i32[];
      i++;
      while (i < message.length && isSpace(message[i])) i++;
      continue;
    }
    if (isSpace(c)) {
      current.push(SPACE);
      i++;
      while (i < message.length && isSpace(message[i]) && !isParagraphBreak(message, i)) i++;
      continue;
    }
    current.push(c);
    i++;
  }
  paragraphs.push(current);
  // Perl's split drops trailing empty fields.
  while (paragraphs.length > 0 && paragraphs[paragraphs.length - 1].length === 0) paragraphs.pop();

  const filled: i32[] = [];
  for (let p = 0; p < paragraphs.length; p++) {
    if (p > 0) {
      filled.push(NEWLINE);
      filled.push(NEWLINE);
    }
    wrap(paragraphs[p], filled);
  }

  const lines: Array<i32>[] = [];
  let line: i32[] = [];
  for (let k = 0; k < filled.length; k++) {
    if (filled[k] === NEWLINE) {
      lines.push(line);
      line = [] as i32[];
    } else {
      line.push(filled[k]);
    }
  }
  lines.push(line);
  while (lines.length > 0 && lines[lines.length - 1].length === 0) lines.pop();
  return lines;
}

function lineWidth(line: Array<i32>): i32 {
  let w = 0;
  for (let i = 0; i < line.length; i++) w += width(line[i]);
  return w;
}

function pushAscii(out: Array<u8>, s: string): void {
  for (let i = 0; i < s.length; i++) out.push(<u8>s.charCodeAt(i));
}

function pushRepeat(out: Array<u8>, byte: u8, count: i32): void {
  for (let i = 0; i < count; i++) out.push(byte);
}

// "<left> <line padded to widest> <right>\n"
function pushBalloonLine(out: Array<u8>, left: string, line: Array<i32>, widest: i32, right: string): void {
  pushAscii(out, left);
  out.push(0x20);
  for (let i = 0; i < line.length; i++) encodeUtf8(line[i], out);
  pushRepeat(out, 0x20, widest - lineWidth(line));
  out.push(0x20);
  pushAscii(out, right);
  out.push(0x0a);
}

function render(lines: Array<Array<i32>>): Array<u8> {
  const out: u8[] = [];
  let widest = 0;
  for (let i = 0; i < lines.length; i++) widest = max(widest, lineWidth(lines[i]));
  out.push(0x20);
  pushRepeat(out, 0x5f, widest + 2);
  out.push(0x0a);
  if (lines.length < 2) {
    pushBalloonLine(out, '<', lines.length === 1 ? lines[0] : ([] as i32[]), widest, '>');
  } else {
    pushBalloonLine(out, '/', lines[0], widest, '\\');
    for (let i = 1; i < lines.length - 1; i++) pushBalloonLine(out, '|', lines[i], widest, '|');
    pushBalloonLine(out, '\\', lines[lines.length - 1], widest, '/');
  }
  out.push(0x20);
  pushRepeat(out, 0x2d, widest + 2);
  out.push(0x0a);
  pushAscii(out, COW);
  return out;
}

const output = render(fillLines(readMessage()));
const bytes = new Uint8Array(output.length);
for (let i = 0; i < output.length; i++) bytes[i] = output[i];
if (!writeAll(1, bytes)) proc_exit(1);
