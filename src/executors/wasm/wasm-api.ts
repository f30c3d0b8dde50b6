/**
 * The parts of the WebAssembly JS API the executor uses, typed here because the project's lib
 * (ES2023, no DOM) and @types/node 20 do not declare them. Type-only, so worker.ts can use it too.
 */
export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** A WebAssembly.Global; an i64 reads and writes as a bigint. */
export interface WasmGlobal {
  value: unknown;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export type WasmImports = Record<string, Record<string, unknown>>;

export type WasmDescriptor = {
  module: string;
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
};

export interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Module: {
    imports(module: WasmModule): WasmDescriptor[];
    exports(module: WasmModule): Omit<WasmDescriptor, 'module'>[];
    customSections(module: WasmModule, name: string): ArrayBuffer[];
  };
  Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance;
  RuntimeError: new (...args: never[]) => Error;
}
