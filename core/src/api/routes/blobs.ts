import type { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Errors } from '../../errors.ts';
import type { CoreServices } from '../../services.ts';
import { ErrorEnvelope } from '../errors.ts';

const Digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 lowercase hex digits>');
const BlobInfo = z.object({ digest: z.string(), size: z.number(), created: z.boolean() }).meta({ id: 'BlobInfo' });

/** The digest a client expects, from `?digest=`, `Content-Digest: sha-256=:<b64>:` (RFC 9530) or `Digest: sha-256=<b64>`. */
function expectedDigest(request: FastifyRequest, queryDigest: string | undefined): string | undefined {
  if (queryDigest) return queryDigest;
  for (const header of ['content-digest', 'digest']) {
    const value = request.headers[header];
    if (typeof value !== 'string') continue;
    const match = /sha-256=:?([A-Za-z0-9+/=]+):?/i.exec(value);
    if (!match) throw new Errors.BadRequest(`${header} header "${value}" has no sha-256 value`);
    const bytes = Buffer.from(match[1]!, 'base64');
    if (bytes.length !== 32) {
      throw new Errors.BadRequest(
        `${header} header "${value}": the sha-256 value decodes to ${bytes.length} bytes, not 32; send the base64 of the raw digest (or ?digest=sha256:<hex>)`,
      );
    }
    return `sha256:${bytes.toString('hex')}`;
  }
  return undefined;
}

export function blobRoutes(services: CoreServices, maxBlobBytes: number): FastifyPluginAsync {
  return async (base) => {
    const app = base.withTypeProvider<ZodTypeProvider>();
    const tags = ['registry'];
    // Uploads are streamed to the artifact store as they arrive, whatever content type the client sends.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    app.post(
      '/api/v1/blobs',
      {
        config: { scope: 'write' },
        schema: {
          tags,
          summary: 'Upload a file (streamed); answers its sha256 digest',
          description:
            'Send the raw bytes as the body. Optionally pass the expected digest (`?digest=sha256:…`, `Content-Digest` or `Digest`): ' +
            'a mismatch stores nothing. Identical bytes are stored once.',
          querystring: z.object({ digest: Digest.optional() }),
          response: { 200: BlobInfo, 201: BlobInfo, 400: ErrorEnvelope, 413: ErrorEnvelope },
        },
      },
      async (request, reply) => {
        if (request.body === undefined) throw new Errors.BadRequest('the request has no body; send the file bytes');
        const digest = expectedDigest(request, request.query.digest);
        const result = await services.artifacts.put(request.body as Readable, {
          maxBytes: maxBlobBytes,
          ...(digest ? { expectedDigest: digest } : {}),
        });
        return reply.code(result.created ? 201 : 200).send(result);
      },
    );

    app.get(
      '/api/v1/blobs/:digest',
      {
        config: { scope: 'read' },
        schema: { tags, summary: 'Download a file by digest (verified while streaming)', params: z.object({ digest: Digest }) },
      },
      async (request, reply) => {
        if (request.principal.models !== null) {
          throw new Errors.Forbidden('this key is limited to some models; download files by model instead: /api/v1/models/{name}/versions/{version}/files/{path}');
        }
        const info = await services.artifacts.stat(request.params.digest);
        if (!info) throw new Errors.NotFound(`no blob ${request.params.digest}`);
        reply.header('content-type', 'application/octet-stream').header('content-length', info.size).header('digest', request.params.digest);
        return reply.send(services.artifacts.open(request.params.digest));
      },
    );
  };
}
