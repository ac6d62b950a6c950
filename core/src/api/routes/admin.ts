import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { eventMatches } from '../../events.ts';
import type { CoreServices } from '../../services.ts';
import { ErrorEnvelope } from '../errors.ts';

const AuditEntry = z
  .object({
    id: z.number(),
    time: z.string(),
    actor: z.string().describe('API key id, "system", or "dev" when auth is off'),
    action: z.string(),
    target: z.string(),
    beforeDigest: z.string().nullable(),
    afterDigest: z.string().nullable(),
    details: z.unknown(),
  })
  .meta({ id: 'AuditEntry' });

export function adminRoutes(services: CoreServices): FastifyPluginAsync {
  return async (base) => {
    const app = base.withTypeProvider<ZodTypeProvider>();
    const tags = ['admin'];

    app.get(
      '/api/v1/audit',
      {
        config: { scope: 'admin' },
        schema: {
          tags,
          summary: 'The audit log, newest first',
          querystring: z.object({
            actor: z.string().optional(),
            action: z.string().optional(),
            target: z.string().optional(),
            cursor: z.string().optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
          }),
          response: { 200: z.object({ entries: z.array(AuditEntry), nextCursor: z.string().nullable() }), 400: ErrorEnvelope },
        },
      },
      async (request) => {
        const page = await services.metadata.listAudit(request.query);
        return { entries: page.items, nextCursor: page.nextCursor };
      },
    );

    app.post(
      '/api/v1/scans',
      {
        config: { scope: 'admin' },
        schema: {
          tags,
          summary: 'Rescan versions: those last scanned by other scanner versions (default), or all',
          body: z.strictObject({ all: z.boolean().default(false) }).nullish(),
          response: {
            200: z.object({
              scanner: z.string().describe('The installed scanners, id@version'),
              scanned: z.array(z.object({ model: z.string(), version: z.string(), status: z.enum(['SCANNING', 'PASSED', 'FAILED', 'SKIPPED']) })),
            }),
          },
        },
      },
      async (request) => ({
        scanner: services.scanning.scannerSet(),
        scanned: await services.scanning.rescan({ all: request.body?.all ?? false }, request.principal.id),
      }),
    );

    app.post(
      '/api/v1/gc',
      {
        config: { scope: 'admin' },
        schema: {
          tags,
          summary: 'Delete stored files no version references',
          querystring: z.object({
            dry_run: z.stringbool().default(false),
            min_age_seconds: z.coerce.number().int().min(0).default(3600).describe('Spare unreferenced blobs younger than this (uploads awaiting their manifest)'),
          }),
          response: { 200: z.object({ dryRun: z.boolean(), removed: z.array(z.string()), bytes: z.number() }) },
        },
      },
      async (request) => {
        const result = await services.registry.collectGarbage(
          { dryRun: request.query.dry_run, minAgeMs: request.query.min_age_seconds * 1000 },
          request.principal.id,
        );
        return { dryRun: request.query.dry_run, ...result };
      },
    );

    app.get(
      '/api/v1/events',
      {
        config: { scope: 'admin' },
        schema: {
          tags: ['admin'],
          summary: 'Server-sent events: model calls, budget thresholds, alerts (resumable with Last-Event-ID)',
          querystring: z.object({ types: z.string().optional().describe('Comma-separated event types; a trailing * matches a prefix') }),
        },
      },
      async (request, reply) => {
        const types = request.query.types?.split(',').map((t) => t.trim()).filter(Boolean);
        const lastId = Number(request.headers['last-event-id'] ?? 0) || 0;
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': request.id });
        const send = (e: { id: number; type: string; data: unknown; time: string }) => raw.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ time: e.time, ...(e.data as object) })}\n\n`);
        for (const e of services.events.since(lastId, types)) send(e);
        const unsubscribe = services.events.subscribe((e) => {
          if (eventMatches(types, e.type)) send(e);
        });
        // Comments keep proxies from closing an idle stream.
        const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
        raw.once('close', () => {
          clearInterval(keepAlive);
          unsubscribe();
        });
      },
    );
  };
}
