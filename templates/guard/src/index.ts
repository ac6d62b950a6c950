import { definePlugin, z } from '@modelplane/plugin-sdk';
import { termsGuard } from './guard.ts';

export { type TermsOptions, termsGuard } from './guard.ts';

export const Options = z
  .object({
    block: z.array(z.string().min(1)).default([]),
    redact: z.array(z.string().min(1)).default([]),
  })
  .strict();

export default definePlugin({
  name: 'modelplane-plugin-template-guard',
  version: '0.1.0',
  // The range of plugin API versions this plugin works with; keep it equal to "modelplane.apiVersion" in package.json.
  apiVersion: '^1',
  description: 'Blocks and redacts configured terms in prompts and answers',
  optionsSchema: Options,
  setup(ctx) {
    ctx.register.guard(termsGuard(ctx.options));
  },
});
