import { definePlugin, z } from '@modelplane/plugin-sdk';
import { runtime } from './runtime.ts';

export { FRAMEWORK, runtime } from './runtime.ts';

export default definePlugin({
  name: 'modelplane-plugin-template-runtime',
  version: '0.1.0',
  // The range of plugin API versions this plugin works with; keep it equal to "modelplane.apiVersion" in package.json.
  apiVersion: '^1',
  description: 'A Modelplane runtime for linear models stored as model.json',
  optionsSchema: z.object({}).strict(),
  setup(ctx) {
    ctx.register.runtime(runtime);
  },
});
