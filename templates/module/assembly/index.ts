// A Lilypad module: a WASI command. Its inputs arrive as whole arguments (see entry.args in
// lilypad.module.json); what it prints on stdout, and writes under /outputs, is the result.
// No clock, no network, randomness only from the seed: the same inputs give the same bytes.
import './abort';
import { args_get, args_sizes_get, fd_write, proc_exit } from './wasi_snapshot_preview1';

// argv as strings (argv[0] is the module's name).
function args(): string[] {
  const sizes = new ArrayBuffer(8);
  const sizesPtr = changetype<usize>(sizes);
  if (args_sizes_get(sizesPtr, sizesPtr + 4) !== 0) proc_exit(71);
  const count = load<u32>(sizesPtr);
  const pointers = new ArrayBuffer(<i32>count * 4);
  const buffer = new ArrayBuffer(<i32>load<u32>(sizesPtr + 4));
  if (args_get(changetype<usize>(pointers), changetype<usize>(buffer)) !== 0) proc_exit(71);
  const out: string[] = [];
  for (let i: u32 = 0; i < count; i++) {
    const start = load<usize>(changetype<usize>(pointers) + <usize>i * 4);
    let end = start;
    while (load<u8>(end) !== 0) end++;
    out.push(String.UTF8.decodeUnsafe(start, end - start));
  }
  return out;
}

function print(text: string): void {
  const bytes = String.UTF8.encode(text);
  const iov = new ArrayBuffer(12);
  const iovPtr = changetype<usize>(iov);
  let offset: usize = 0;
  while (offset < <usize>bytes.byteLength) {
    store<usize>(iovPtr, changetype<usize>(bytes) + offset);
    store<usize>(iovPtr + 4, <usize>bytes.byteLength - offset);
    if (fd_write(1, iovPtr, 1, iovPtr + 8) !== 0) proc_exit(1);
    offset += load<usize>(iovPtr + 8);
  }
}

const argv = args();
print(`Hello, ${argv.length > 1 ? argv[1] : 'world'}!\n`);
