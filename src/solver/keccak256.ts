/**
 * Keccak-256 (Ethereum's pre-standard SHA-3 padding) for the solver's hot path: every offer it takes is
 * hashed, and every match derives a deal and hashes it. viem's keccak256 (pure JS) costs ~10 µs per
 * 136-byte block on our machines; this WebAssembly one ~0.5 µs. Node's crypto has SHA3-256 but not
 * Keccak-256 (the padding differs), so it cannot be used.
 *
 * The module is compiled from keccak256.as (AssemblyScript) and embedded below; the test that checks
 * every digest against viem (test/solver/offer-hashes.test.ts) also recompiles the source and fails if
 * these bytes are stale, printing the new ones.
 */

export const KECCAK256_WASM =
  'AGFzbQEAAAABBwFgA39/fwADAgEABQMBAAIHEQIEaGFzaAAABm1lbW9yeQIADAECCvEHAe4HAit+An8gAUEBaiEvA0AgL0GIAW8E' +
  'QCAvQQFqIS8MAQsLIAAgAWoiLkEAIC8gAWv8CwAgLiAuLQAAQQFzOgAAIAAgL2pBAWsiASABLQAAQYABczoAACAAIQEDQCABIAAg' +
  'L2pJBEAgAyABKQMAhSEDIAUgASkDCIUhBSAKIAEpAxCFIQogBCABKQMYhSEEIAYgASkDIIUhBiALIAEpAyiFIQsgDCABKQMwhSEM' +
  'IAcgASkDOIUhByANIAEpA0CFIQ0gCCABKQNIhSEIIAkgASkDUIUhCSAOIAEpA1iFIQ4gDyABKQNghSEPIBAgASkDaIUhECARIAEp' +
  'A3CFIREgEiABKQN4hSESIBMgASkDgAGFIRNBACEuA0AgLkEYSARAIAYgCIUgEYUgG4UgGoUiFCAFIAyFIA6FIBOFIBmFIhVCAYmF' +
  'ISMgAyALhSAJhSAShSAehSIWIAcgCoUgD4UgHYUgHIUiF0IBiYUiJCAFhUIBiSEpIBUgBCANhSAQhSAghSAfhSIFQgGJhSIlIAqF' +
  'Qj6JISogFyAUQgGJhSImIASFQhyJIScgBiAFIBZCAYmFIiiFQhuJISsgCyAjhUIkiSEsIAcgJYVCBokhLSANICaFQjeJIRQgDiAk' +
  'hUIKiSEVIBEgKIVCJ4khFiASICOFQimJIRcgGSAkhUICiSEYIAwgJIVCLIkiIiAgICaFQhWJIgQgDyAlhUIriSIhQn+Fg4UhBSAh' +
  'IBogKIVCDokiBiAEQn+Fg4UhCiAEIAMgI4UiAyAGQn+Fg4UhBCAGIANCf4UgIoOFIQYgJyAJICOFQgOJIgcgCCAohUIUiSIIQn+F' +
  'g4UhCyAIIBMgJIVCLYkiCSAHQn+Fg4UhDCAHIBwgJYVCPYkiDiAJQn+Fg4UhByAJIA5Cf4UgJ4OFIQ0gDiAnQn+FIAiDhSEIICkg' +
  'ECAmhUIZiSIPIC1Cf4WDhSEJIC0gGyAohUIIiSIQIA9Cf4WDhSEOIA8gHiAjhUISiSIRIBBCf4WDhSEPIBAgEUJ/hSApg4UhECAR' +
  'IClCf4UgLYOFIREgKyAsQn+FIBWDhSESICwgHSAlhUIPiSIZIBVCf4WDhSETIBUgHyAmhUI4iSIVIBlCf4WDhSEdIBkgFUJ/hSAr' +
  'g4UhICAVICtCf4UgLIOFIRsgKiAUQn+FIBaDhSEeIBQgFkJ/hSAXg4UhGSAWIBdCf4UgGIOFIRwgFyAYQn+FICqDhSEfIBggKkJ/' +
  'hSAUg4UhGiAuQQN0QaAIaikDACADICEgIkJ/hYOFhSEDIC5BAWohLgwBCwsgAUGIAWohAQwBCwsgAiADNwMAIAIgBTcDCCACIAo3' +
  'AxAgAiAENwMYCwvXAQIAQYwICwHcAEGYCAvIAQQAAADAAAAAAQAAAAAAAACCgAAAAAAAAIqAAAAAAACAAIAAgAAAAICLgAAAAAAA' +
  'AAEAAIAAAAAAgYAAgAAAAIAJgAAAAAAAgIoAAAAAAAAAiAAAAAAAAAAJgACAAAAAAAoAAIAAAAAAi4AAgAAAAACLAAAAAAAAgImA' +
  'AAAAAACAA4AAAAAAAIACgAAAAAAAgIAAAAAAAACACoAAAAAAAAAKAACAAAAAgIGAAIAAAACAgIAAAAAAAIABAACAAAAAAAiAAIAA' +
  'AACA';

export const KECCAK256_ASC_OPTIONS = [
  '--optimizeLevel',
  '3',
  '--shrinkLevel',
  '0',
  '--runtime',
  'stub',
  '--noAssert',
  '--initialMemory',
  '2',
];

const BLOCK = 136;
const OUTPUT = 2048; // past the module's static data (the round constants)
const INPUT = OUTPUT + 32;
const PAGE = 65_536;

type KeccakExports = {
  hash(input: number, length: number, output: number): void;
  memory: WebAssembly.Memory;
};

const exports = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(KECCAK256_WASM, 'base64')))
  .exports as unknown as KeccakExports;
let memory = new Uint8Array(exports.memory.buffer);

/** Keccak-256 of `data`, written to `out` at `outOffset` (32 bytes). */
export function keccak256Into(data: Uint8Array, out: Uint8Array, outOffset = 0): void {
  const needed = INPUT + data.length + BLOCK;
  if (needed > memory.length) {
    exports.memory.grow(Math.ceil((needed - memory.length) / PAGE));
    memory = new Uint8Array(exports.memory.buffer);
  }
  memory.set(data, INPUT);
  exports.hash(INPUT, data.length, OUTPUT);
  out.set(memory.subarray(OUTPUT, OUTPUT + 32), outOffset);
}

export function keccak256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  keccak256Into(data, out);
  return out;
}
