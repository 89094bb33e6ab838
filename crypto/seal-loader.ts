/**
 * Loads the node-seal WebAssembly library once per process (per worker).
 *
 * We import the Node ESM build `throws_wasm_node_es.js` directly: it loads
 * under Node 20 (node-seal 7 needs WasmGC). Its bundled `.d.ts` is read as
 * CommonJS under `moduleResolution: NodeNext`, so the default export's type is
 * wrong; the dynamic import is therefore cast to the library's own
 * `SEALLibrary` interface (type-only import, erased at runtime).
 */
import type { SEALLibrary } from 'node-seal/implementation/seal.js';

export type { SEALLibrary };

let sealPromise: Promise<SEALLibrary> | undefined;

/**
 * Returns the process-wide SEAL library, instantiating the WASM module on
 * first use (~300 ms). A failed load is not cached, so a later call retries.
 */
export function loadSeal(): Promise<SEALLibrary> {
  if (sealPromise === undefined) {
    const p = (async (): Promise<SEALLibrary> => {
      const mod = (await import('node-seal/throws_wasm_node_es.js')) as unknown as {
        default: () => Promise<SEALLibrary>;
      };
      return mod.default();
    })();
    sealPromise = p;
    p.catch(() => {
      if (sealPromise === p) sealPromise = undefined;
    });
  }
  return sealPromise;
}
