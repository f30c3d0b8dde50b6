/**
 * The module's view of its folders (wasi-files.ts), called the way a module calls it: pointers into a
 * memory, errno back. What a job sees must not depend on the machine, and must stay inside the folders.
 */
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CREATE_COST_BYTES,
  ERRNO,
  FILETYPE,
  FileLimitReached,
  HOST_FD_SLOTS,
  WasiFiles,
} from '../../src/executors/wasm/wasi-files.js';

const FIXED = 946_684_800_000_000_000n;
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const CREAT = 1;
const DIRECTORY = 2;
const TRUNC = 8;

let dir: string;
let memory: ArrayBuffer;
let hostFds: Int32Array;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-wasi-files-'));
  await mkdir(join(dir, 'in'));
  await mkdir(join(dir, 'out'));
  memory = new ArrayBuffer(1 << 20);
  hostFds = new Int32Array(HOST_FD_SLOTS).fill(-1);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function files(fileBytes = 1 << 20, root = dir) {
  return new WasiFiles({
    preopens: [
      { guestPath: '/inputs', hostPath: join(root, 'in'), writable: false },
      { guestPath: '/outputs', hostPath: join(root, 'out'), writable: true },
    ],
    fileBytes,
    fixedTimeNs: FIXED,
    hostFds,
    memory: () => memory,
  });
}

const view = () => new DataView(memory);
let next = 0x1000;
/** Puts bytes in memory; returns [ptr, length]. */
function put(bytes: string | Uint8Array): [number, number] {
  const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const ptr = next;
  new Uint8Array(memory, ptr, data.length).set(data);
  next += data.length + 16;
  if (next > 0xf0000) next = 0x1000;
  return [ptr, data.length];
}
const OUT = 0x100; // fd_out, nread, bufused…

function open(f: WasiFiles, dirFd: number, path: string, oflags = 0, rights = RIGHT_FD_READ): number {
  const [ptr, length] = put(path);
  const errno = f.path_open(dirFd, 0, ptr, length, oflags, rights, 0n, 0, OUT);
  return errno === ERRNO.SUCCESS ? view().getUint32(OUT, true) : -errno;
}

function write(f: WasiFiles, fd: number, text: string): number {
  const [ptr, length] = put(text);
  const [iov] = put(new Uint8Array(8));
  view().setUint32(iov, ptr, true);
  view().setUint32(iov + 4, length, true);
  const errno = f.fd_write(fd, iov, 1, OUT);
  return errno === ERRNO.SUCCESS ? view().getUint32(OUT, true) : -errno;
}

function readdir(f: WasiFiles, fd: number, size = 4096, cookie = 0n) {
  const [buf] = put(new Uint8Array(size));
  expect(f.fd_readdir(fd, buf, size, cookie, OUT)).toBe(ERRNO.SUCCESS);
  const used = view().getUint32(OUT, true);
  const entries: { name: string; type: number; next: bigint; ino: bigint }[] = [];
  for (let at = 0; at + 24 <= used; ) {
    const length = view().getUint32(buf + at + 16, true);
    if (at + 24 + length > used) break;
    entries.push({
      next: view().getBigUint64(buf + at, true),
      ino: view().getBigUint64(buf + at + 8, true),
      type: view().getUint8(buf + at + 20),
      name: Buffer.from(memory, buf + at + 24, length).toString(),
    });
    at += 24 + length;
  }
  return { entries, used };
}

function filestat(f: WasiFiles, dirFd: number, path: string) {
  const [ptr, length] = put(path);
  const [buf] = put(new Uint8Array(64));
  const errno = f.path_filestat_get(dirFd, 0, ptr, length, buf);
  if (errno !== ERRNO.SUCCESS) return errno;
  const dv = view();
  return {
    dev: dv.getBigUint64(buf, true),
    ino: dv.getBigUint64(buf + 8, true),
    type: dv.getUint8(buf + 16),
    nlink: dv.getBigUint64(buf + 24, true),
    size: dv.getBigUint64(buf + 32, true),
    times: [40, 48, 56].map((at) => dv.getBigUint64(buf + at, true)),
  };
}

describe('preopens', () => {
  it('names /inputs at fd 3 and /outputs at fd 4, and nothing after', () => {
    const f = files();
    for (const [fd, name] of [
      [3, '/inputs'],
      [4, '/outputs'],
    ] as const) {
      expect(f.fd_prestat_get(fd, OUT)).toBe(ERRNO.SUCCESS);
      const length = view().getUint32(OUT + 4, true);
      const [buf] = put(new Uint8Array(16));
      expect(f.fd_prestat_dir_name(fd, buf, length)).toBe(ERRNO.SUCCESS);
      expect(Buffer.from(memory, buf, length).toString()).toBe(name);
    }
    expect(f.fd_prestat_get(5, OUT)).toBe(ERRNO.BADF);
  });

  it('shows an empty, read-only /inputs when the job has no inputs folder', () => {
    const f = new WasiFiles({
      preopens: [{ guestPath: '/inputs', hostPath: undefined, writable: false }],
      fileBytes: 0,
      fixedTimeNs: FIXED,
      hostFds,
      memory: () => memory,
    });
    expect(readdir(f, 3).entries.map((e) => e.name)).toEqual(['.', '..']);
    expect(open(f, 3, 'anything')).toBe(-ERRNO.NOENT);
    expect(open(f, 3, 'new', CREAT, RIGHT_FD_WRITE)).toBe(-ERRNO.ROFS);
  });
});

describe('what a module sees does not depend on the machine', () => {
  it('lists folders sorted by name, . and .. first, and continues from a cookie', async () => {
    for (const name of ['zeta', 'Alpha', 'beta', 'émile', '10', '9'])
      await writeFile(join(dir, 'in', name), name);
    await mkdir(join(dir, 'in', 'sub'));
    const f = files();
    const { entries } = readdir(f, 3);
    expect(entries.map((e) => e.name)).toEqual([
      '.',
      '..',
      '10',
      '9',
      'Alpha',
      'beta',
      'sub',
      'zeta',
      'émile',
    ]);
    expect(entries.find((e) => e.name === 'sub')?.type).toBe(FILETYPE.DIRECTORY);
    expect(entries.find((e) => e.name === 'beta')?.type).toBe(FILETYPE.REGULAR_FILE);
    expect(entries.map((e) => e.next)).toEqual(entries.map((_, i) => BigInt(i + 1)));
    // A small buffer: the last entry is cut, and the next call resumes at the last whole one's cookie.
    const first = readdir(f, 3, 100);
    expect(first.used).toBe(100);
    const resumed = readdir(f, 3, 4096, first.entries.at(-1)?.next);
    expect([...first.entries, ...resumed.entries].map((e) => e.name)).toEqual(entries.map((e) => e.name));
  });

  it('stats with fixed times, path inodes, one link and folder size 0', async () => {
    await writeFile(join(dir, 'in', 'a.txt'), 'abc');
    await utimes(join(dir, 'in', 'a.txt'), 12345, 67890);
    await mkdir(join(dir, 'in', 'sub'));
    const f = files();
    const file = filestat(f, 3, 'a.txt');
    const folder = filestat(f, 3, 'sub');
    expect(file).toMatchObject({
      dev: 1n,
      type: FILETYPE.REGULAR_FILE,
      nlink: 1n,
      size: 3n,
      times: [FIXED, FIXED, FIXED],
    });
    expect(folder).toMatchObject({ type: FILETYPE.DIRECTORY, size: 0n, times: [FIXED, FIXED, FIXED] });
    if (typeof file === 'number') throw new Error('stat failed');
    // Same path, same inode, in any process on any machine; listing and stat agree.
    expect(filestat(files(), 3, './sub/../a.txt')).toEqual(file);
    expect(readdir(f, 3).entries.find((e) => e.name === 'a.txt')?.ino).toBe(file.ino);
  });
});

describe('staying inside the folders', () => {
  it('resolves .. lexically inside a preopen and refuses it past the root', async () => {
    await mkdir(join(dir, 'in', 'sub'));
    await writeFile(join(dir, 'in', 'top.txt'), 'top');
    await writeFile(join(dir, 'secret'), 'outside');
    const f = files();
    const sub = open(f, 3, 'sub', DIRECTORY);
    expect(sub).toBeGreaterThan(4);
    expect(open(f, sub, '../top.txt')).toBeGreaterThan(4);
    expect(open(f, sub, '../../secret')).toBe(-ERRNO.NOTCAPABLE);
    expect(open(f, 3, '../in/top.txt')).toBe(-ERRNO.NOTCAPABLE);
    expect(open(f, 3, '/etc/passwd')).toBe(-ERRNO.NOTCAPABLE);
    expect(open(f, 3, '')).toBe(-ERRNO.NOENT);
    expect(open(f, 3, 'to\0p.txt')).toBe(-ERRNO.INVAL);
  });

  it('does not rename across folders or write through /inputs', async () => {
    await writeFile(join(dir, 'in', 'a'), 'a');
    const f = files();
    const [from, fromLength] = put('a');
    const [to, toLength] = put('b');
    expect(f.path_rename(3, from, fromLength, 4, to, toLength)).toBe(ERRNO.XDEV);
    expect(f.path_rename(3, from, fromLength, 3, to, toLength)).toBe(ERRNO.ROFS);
    expect(f.path_unlink_file(3, from, fromLength)).toBe(ERRNO.ROFS);
    expect(f.path_create_directory(3, to, toLength)).toBe(ERRNO.ROFS);
    const fd = open(f, 3, 'a');
    expect(write(f, fd, 'x')).toBe(-ERRNO.BADF);
    expect(await readFile(join(dir, 'in', 'a'), 'utf8')).toBe('a');
  });
});

describe('the file-bytes limit', () => {
  it('charges 4 KiB per file or folder created, then the bytes written', async () => {
    const f = files(CREATE_COST_BYTES * 2 + 10);
    const fd = open(f, 4, 'a.txt', CREAT | TRUNC, RIGHT_FD_WRITE);
    expect(write(f, fd, '12345')).toBe(5);
    const [name, length] = put('folder');
    expect(f.path_create_directory(4, name, length)).toBe(ERRNO.SUCCESS);
    expect(f.fileBytesUsed).toBe(CREATE_COST_BYTES * 2 + 5);
    expect(() => write(f, fd, '1234567890')).toThrow(FileLimitReached);
    expect(await readFile(join(dir, 'out', 'a.txt'), 'utf8')).toBe('1234512345'); // cut at the limit
  });

  it('charges holes and growth, so a sparse file cannot dodge it', async () => {
    const f = files(CREATE_COST_BYTES + 1000);
    const fd = open(f, 4, 'sparse', CREAT, RIGHT_FD_WRITE);
    const [ptr] = put(new Uint8Array(8));
    expect(f.fd_seek(fd, 500n, 0, ptr)).toBe(ERRNO.SUCCESS);
    expect(write(f, fd, 'x')).toBe(1);
    expect(f.fileBytesUsed).toBe(CREATE_COST_BYTES + 501);
    expect(() => f.fd_filestat_set_size(fd, 1n << 40n)).toThrow(FileLimitReached);
    expect(() => f.fd_allocate(fd, 0n, 10_000n)).toThrow(FileLimitReached);
    expect((await stat(join(dir, 'out', 'sparse'))).size).toBe(501);
  });
});

describe('host descriptors', () => {
  it('records them for the parent, caps them, and closes them all at the end', async () => {
    await writeFile(join(dir, 'in', 'a'), 'a');
    const f = files();
    const fds: number[] = [];
    for (let i = 0; i < HOST_FD_SLOTS; i++) fds.push(open(f, 3, 'a'));
    expect(fds.every((fd) => fd > 4)).toBe(true);
    expect([...hostFds].every((fd) => fd >= 0)).toBe(true);
    expect(open(f, 3, 'a')).toBe(-ERRNO.MFILE);
    expect(f.fd_close(fds[0] as number)).toBe(ERRNO.SUCCESS);
    expect(open(f, 3, 'a')).toBe(fds[0]); // the lowest free descriptor, like POSIX
    f.closeAll();
    expect([...hostFds].every((fd) => fd === -1)).toBe(true);
  });
});
