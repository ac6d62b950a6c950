import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';

interface Document {
  paths?: Record<string, Record<string, Operation>>;
}
interface Operation {
  operationId?: string;
  parameters?: Array<{ in: string; name: string; description?: string }>;
  requestBody?: unknown;
}

/** Bodies streamed past the route schemas (they are never parsed whole), described here for clients. */
const STREAMED_BODIES: Record<string, unknown> = {
  'post /api/v1/blobs': {
    required: true,
    description: "The file's bytes, streamed; any content type",
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  },
};

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** `GET /api/v1/models/{name}/versions` → `getApiV1ModelsByNameVersions`: stable, unique per route, and what client generators name methods by. */
export function operationIdFor(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => (segment.startsWith('{') ? `by-${segment.slice(1, -1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

/**
 * The OpenAPI document as generated from the route schemas, finished for client generators: a relative server, an
 * operationId on every operation, streamed upload bodies, and fastify's wildcard (`files/*`) named `path`, since
 * `{*}` is no valid template.
 */
export function finishOpenApi(input: Parameters<typeof jsonSchemaTransformObject>[0]): ReturnType<typeof jsonSchemaTransformObject> {
  const document = jsonSchemaTransformObject(input) as unknown as Document;
  const paths: Record<string, Record<string, Operation>> = {};
  for (const [template, item] of Object.entries(document.paths ?? {})) {
    const path = template.replace('{*}', '{path}');
    for (const [method, operation] of Object.entries(item) as Array<[string, Operation]>) {
      if (!METHODS.has(method)) continue;
      operation.operationId ??= operationIdFor(method, path);
      const streamed = STREAMED_BODIES[`${method} ${path}`];
      if (streamed) operation.requestBody ??= streamed;
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'path' && parameter.name === '*') {
          parameter.name = 'path';
          parameter.description ??= "The file's path inside the version; it may contain `/`";
        }
      }
    }
    paths[path] = item;
  }
  return { servers: [{ url: '/' }], ...document, paths } as ReturnType<typeof jsonSchemaTransformObject>;
}
