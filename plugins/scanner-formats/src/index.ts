import { definePlugin, type Finding, type ScannerPlugin, z } from '@modelplane/plugin-sdk';
import { scanBytes } from './formats.ts';
import { loadHdf5 } from './h5.ts';

export { classifyGlobal } from './globals.ts';
export { scanPickle } from './pickle.ts';
export { scanBytes } from './formats.ts';
export { loadHdf5 } from './h5.ts';

const VERSION = '0.1.0';

export const FormatsOptions = z
  .object({
    /** Files larger than this are a finding (they are read whole to follow archive offsets). */
    maxFileBytes: z.int().positive().default(4 * 1024 ** 3),
    maxEntryBytes: z.int().positive().default(4 * 1024 ** 3),
    maxRatio: z.number().positive().default(200),
    maxDepth: z.int().positive().default(4),
  })
  .strict();

export function formatsScanner(options: z.infer<typeof FormatsOptions>): ScannerPlugin {
  return {
    id: 'formats',
    version: VERSION,
    async scan(target): Promise<Finding[]> {
      if (target.size > options.maxFileBytes) {
        return [{ severity: 'HIGH', file: target.path, rule: 'file-too-large', detail: `${target.size} bytes is over the ${options.maxFileBytes}-byte scan limit` }];
      }
      await loadHdf5();
      return scanBytes(await readWhole(target.open(), target.size), target.path, options);
    },
  };
}

/** Reads a stream into one buffer of the declared size (no list of chunks to concatenate: one copy, not two). */
async function readWhole(stream: AsyncIterable<unknown>, size: number): Promise<Buffer> {
  let whole: Buffer | undefined;
  let offset = 0;
  for await (const piece of stream) {
    const chunk = piece as Buffer;
    if (offset === 0 && chunk.length === size) {
      whole = chunk;
      offset = size;
      continue;
    }
    whole ??= Buffer.allocUnsafe(size);
    if (offset + chunk.length > size) throw new Error(`the file is larger than its declared ${size} bytes`);
    chunk.copy(whole, offset);
    offset += chunk.length;
  }
  if (offset !== size) throw new Error(`the file has ${offset} bytes, ${size} were declared`);
  return whole ?? Buffer.alloc(0);
}

export default definePlugin({
  name: '@modelplane/scanner-formats',
  version: VERSION,
  apiVersion: '^1',
  description: 'Content-based scanning of pickle, PyTorch, NumPy, Keras and safetensors files',
  optionsSchema: FormatsOptions,
  setup(ctx) {
    ctx.register.scanner(formatsScanner(ctx.options));
  },
});
