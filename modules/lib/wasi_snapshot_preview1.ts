// The WASI preview1 functions the built-in modules use. AssemblyScript names the import module of a
// bodiless `declare function` after the file that declares it, so this file's name is the module name
// (the same effect as `@external("wasi_snapshot_preview1", ...)`, without decorators, which the
// project's linter cannot parse).

export declare function args_sizes_get(argcPtr: usize, argvBufSizePtr: usize): u16;
export declare function args_get(argvPtr: usize, argvBufPtr: usize): u16;
export declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwrittenPtr: usize): u16;
export declare function fd_read(fd: u32, iovs: usize, iovsLen: usize, nreadPtr: usize): u16;
export declare function fd_close(fd: u32): u16;
// Writes a preopened folder's description: a tag byte, then the length of its name at offset 4.
export declare function fd_prestat_get(fd: u32, prestatPtr: usize): u16;
export declare function fd_prestat_dir_name(fd: u32, pathPtr: usize, pathLen: usize): u16;
export declare function path_open(
  dirFd: u32,
  lookupFlags: u32,
  pathPtr: usize,
  pathLen: usize,
  openFlags: u16,
  rightsBase: u64,
  rightsInheriting: u64,
  fdFlags: u16,
  fdPtr: usize,
): u16;
export declare function proc_exit(code: u32): void;
