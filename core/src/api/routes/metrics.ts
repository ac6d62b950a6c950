import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../../serving/metrics.ts';

export function metricsRoutes(metrics: Metrics, isPublic: boolean): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/metrics',
      { config: { scope: isPublic ? 'public' : 'read' }, schema: { tags: ['system'], summary: 'Prometheus metrics (text exposition format)' } },
      async (_request, reply) => {
        reply.header('content-type', metrics.registry.contentType);
        return metrics.registry.metrics();
      },
    );
  };
}
