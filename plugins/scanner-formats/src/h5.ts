import h5wasm from 'h5wasm/node';

type H5 = typeof h5wasm & { FS: { writeFile(path: string, data: Uint8Array): void; unlink(path: string): void } };
let module: H5 | undefined;
let counter = 0;

/** Loads the HDF5 reader (WebAssembly) once; the scanner awaits it before reading any file. */
export async function loadHdf5(): Promise<void> {
  if (module) return;
  const { FS } = await h5wasm.ready;
  module = Object.assign(h5wasm, { FS }) as H5;
}

export const HDF5_MAGIC = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The root `model_config` attribute Keras writes into `.h5` models (JSON), if any. */
export function kerasModelConfig(bytes: Buffer): string | undefined {
  if (!module) throw new Error('the HDF5 reader is not loaded (await loadHdf5() first)');
  const path = `/scan-${process.pid}-${counter++}.h5`;
  module.FS.writeFile(path, bytes);
  try {
    const file = new module.File(path, 'r');
    try {
      const value = file.attrs.model_config?.value;
      return value === undefined || value === null ? undefined : String(value);
    } finally {
      file.close();
    }
  } finally {
    module.FS.unlink(path);
  }
}
