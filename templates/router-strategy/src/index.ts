import { definePlugin, z } from '@modelplane/plugin-sdk';
import { cheapest } from './strategy.ts';

export { cheapest } from './strategy.ts';

export default definePlugin({
  name: 'modelplane-plugin-template-router-strategy',
  version: '0.1.0',
  // The range of plugin API versions this plugin works with; keep it equal to "modelplane.apiVersion" in package.json.
  apiVersion: '^1',
  description: 'Routes each call to the cheapest eligible model',
  optionsSchema: z.object({}).strict(),
  setup(ctx) {
    ctx.register.routerStrategy(cheapest);
  },
});
