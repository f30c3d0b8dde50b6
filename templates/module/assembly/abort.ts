// Replaces AssemblyScript's `env.abort` import (see asconfig.json), which a WASI host does not provide:
// report on stderr and exit 134, like a C program that calls abort().
import { fd_write, proc_exit } from './wasi_snapshot_preview1';

export function moduleAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = 'abort';
  if (message !== null) text += `: ${message}`;
  if (fileName !== null) text += ` at ${fileName}:${line.toString()}:${column.toString()}`;
  const bytes = String.UTF8.encode(`${text}\n`);
  const iov = new ArrayBuffer(12);
  const iovPtr = changetype<usize>(iov);
  store<usize>(iovPtr, changetype<usize>(bytes));
  store<usize>(iovPtr + 4, <usize>bytes.byteLength);
  fd_write(2, iovPtr, 1, iovPtr + 8);
  proc_exit(134);
}
