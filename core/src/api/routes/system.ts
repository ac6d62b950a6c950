import { EXTENSION_POINTS } from '@modelplane/plugin-sdk';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Kernel } from '../../kernel/kernel.ts';
import { CORE_VERSION, PLUGIN_API_VERSION } from '../../version.ts';

const PluginInfo = z
  .object({
    name: z.string(),
    version: z.string(),
    apiVersion: z.string().describe('The plugin API range the plugin declares'),
    description: z.string().optional(),
    builtin: z.boolean(),
    package: z.object({ spec: z.string(), name: z.string(), version: z.string(), dir: z.string() }).optional(),
    configIndex: z.number().int().optional(),
    contributions: z.partialRecord(z.enum(EXTENSION_POINTS), z.array(z.string())),
    runtimes: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .optional()
      .describe('What each runtime this plugin registered reports about itself, by runtime id (e.g. the TF.js backend in use)'),
    hooks: z.array(z.string()),
  })
  .meta({ id: 'PluginInfo' });

export function systemRoutes(kernel: Kernel): FastifyPluginAsync {
  return async (base) => {
    const app = base.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/healthz',
      {
        config: { scope: 'public' },
        schema: {
          tags: ['system'],
          summary: 'Liveness of the server process',
          response: { 200: z.object({ status: z.literal('ok'), version: z.string(), uptimeSeconds: z.number() }) },
        },
      },
      async () => ({ status: 'ok' as const, version: CORE_VERSION, uptimeSeconds: Math.round(process.uptime()) }),
    );

    app.get(
      '/api/v1/plugins',
      {
        config: { scope: 'read' },
        schema: {
          tags: ['system'],
          summary: 'Loaded plugins, in load order, with what each registered',
          response: {
            200: z.object({ coreVersion: z.string(), pluginApiVersion: z.string(), plugins: z.array(PluginInfo) }),
          },
        },
      },
      async () => ({ coreVersion: CORE_VERSION, pluginApiVersion: PLUGIN_API_VERSION, plugins: [...kernel.plugins] }),
    );

    app.get('/openapi.json', { config: { scope: 'public' }, schema: { hide: true } }, async () => app.swagger());
  };
}
