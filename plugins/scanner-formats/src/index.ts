import { definePlugin, type Finding, type ScannerPlugin, z } from '@modelplane/plugin-sdk';
import { scanBytes } from './formats.ts';

export { classifyGlobal } from './globals.ts';
export { scanPickle } from './pickle.ts';
export { scanBytes } from './formats.ts';

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
      const chunks: Buffer[] = [];
      for await (const chunk of target.open()) chunks.push(chunk as Buffer);
      return scanBytes(Buffer.concat(chunks), target.path, options);
    },
  };
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
