import { isMpError } from '@modelplane/plugin-sdk';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** The management API's one error shape (DESIGN.md). */
export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.string().describe('Stable MP_ERR_… code'),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string().optional(),
    }),
  })
  .meta({ id: 'ErrorEnvelope' });

interface ErrorReply {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'MP_ERR_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'MP_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MP_ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MP_ERR_INVALID_JSON',
};

/** Maps any thrown value to a status, a code and a message a client can act on; 5xx details stay in the log. */
export function describeError(error: unknown): ErrorReply {
  if (isMpError(error)) {
    return { statusCode: error.statusCode, code: error.code, message: error.message, details: error.details };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as FastifyError).validationContext ?? 'request';
    const problems = error.validation.map((issue) => ({
      path: `${where}${issue.instancePath === '/' ? '' : issue.instancePath.replaceAll('/', '.')}`,
      message: issue.message,
    }));
    return {
      statusCode: 400,
      code: 'MP_ERR_VALIDATION',
      message: problems.map((p) => `${p.path}: ${p.message}`).join('; '),
      details: problems,
    };
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = (fastifyError.code && FASTIFY_CODES[fastifyError.code]) ?? 'MP_ERR_BAD_REQUEST';
    const message =
      error instanceof SyntaxError ? `body is not valid JSON: ${error.message}` : String(fastifyError.message);
    return { statusCode: status, code: error instanceof SyntaxError ? 'MP_ERR_INVALID_JSON' : code, message };
  }
  return {
    statusCode: 500,
    code: 'MP_ERR_INTERNAL',
    message: 'internal server error; see the server log for this request id',
  };
}

/** The Open Inference Protocol answers errors as `{ "error": "…" }`; everything else gets the envelope. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const described = describeError(error);
  if (described.statusCode >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: described.code, reason: described.message }, 'request rejected');
  reply.code(described.statusCode);
  const retryAfter = (described.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (typeof retryAfter === 'number' && !reply.hasHeader('retry-after')) reply.header('retry-after', retryAfter);
  if (request.url.startsWith('/v2')) return reply.send({ error: described.message });
  if (request.url.startsWith('/v1/')) return reply.send(openAIError(described));
  return reply.send({
    error: {
      code: described.code,
      message: described.message,
      ...(described.details === undefined ? {} : { details: described.details }),
      requestId: request.id,
    },
  });
}

const OPENAI_TYPES: Record<number, string> = {
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
};

/** The gateway (`/v1/…`) answers errors in OpenAI's shape, so OpenAI clients raise their usual exceptions. */
function openAIError(described: ErrorReply) {
  const type = described.code === 'MP_ERR_BUDGET_EXCEEDED' ? 'insufficient_quota' : (OPENAI_TYPES[described.statusCode] ?? (described.statusCode >= 500 ? 'api_error' : 'invalid_request_error'));
  const param = Array.isArray(described.details) ? ((described.details as Array<{ path?: string }>)[0]?.path ?? null) : null;
  return { error: { message: described.message, type, param, code: described.code } };
}
