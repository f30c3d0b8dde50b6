// The WASI preview1 functions this module needs. AssemblyScript names the import module of a bodiless
// `declare function` after the file that declares it, so this file's name is the module name: the
// same effect as `@external("wasi_snapshot_preview1", ...)`, without decorators on functions, which
// the project's linter cannot parse.

// Writes the sizes of the argument vector and of its string buffer.
export declare function args_sizes_get(argcPtr: usize, argvBufSizePtr: usize): u16;

// Fills `argv` with pointers into `argvBuf`, each argument NUL-terminated.
export declare function args_get(argvPtr: usize, argvBufPtr: usize): u16;

// Writes the iovecs (pointer, length pairs) at `iovs` to file descriptor `fd`.
export declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwrittenPtr: usize): u16;

// Ends the process with an exit code.
export declare function proc_exit(code: u32): void;
