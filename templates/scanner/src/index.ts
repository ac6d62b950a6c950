import { definePlugin, z } from '@modelplane/plugin-sdk';
import { EICAR, signatureScanner } from './scanner.ts';

export { EICAR, type Signature, signatureScanner } from './scanner.ts';

const VERSION = '0.1.0';

export const Options = z
  .object({
    signatures: z
      .array(z.object({ rule: z.string().min(1), pattern: z.string().min(1), severity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']) }))
      .default([{ rule: 'eicar-test', pattern: EICAR, severity: 'HIGH' }]),
  })
  .strict();

export default definePlugin({
  name: 'modelplane-plugin-template-scanner',
  version: VERSION,
  // The range of plugin API versions this plugin works with; keep it equal to "modelplane.apiVersion" in package.json.
  apiVersion: '^1',
  description: 'Flags model files containing known byte signatures',
  optionsSchema: Options,
  setup(ctx) {
    ctx.register.scanner(signatureScanner(ctx.options.signatures, VERSION));
  },
});
