// Replaces AssemblyScript's `env.abort` import, which a WASI host does not provide (each module's
// asconfig.json has `"use": ["abort=../lib/abort/moduleAbort"]`): report on stderr and exit 134, like a
// C program that calls abort().
import { fd_write, proc_exit } from './wasi_snapshot_preview1';

export function moduleAbort(
  message: string | null = null,
  fileName: string | null = null,
  line: u32 = 0,
  column: u32 = 0,
): void {
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
