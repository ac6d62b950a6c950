/**
 * Coded errors, in the manner of fastify's FST_ERR_*: every error a user can meet carries a stable
 * `code` (MP_ERR_…) and the HTTP status it maps to, so the API, the CLI and tests can tell them apart
 * without matching on message text.
 */
export interface MpErrorOptions {
  details?: unknown;
  cause?: unknown;
}

export class MpError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: string, statusCode: number, message: string, options: MpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MpError';
    this.code = code;
    this.statusCode = statusCode;
    this.details = options.details;
  }
}

export type MpErrorClass = (new (
  message: string,
  options?: MpErrorOptions,
) => MpError) & {
  readonly code: string;
  readonly statusCode: number;
};

/** Declares an error class with a fixed code and HTTP status. */
export function defineError(code: string, statusCode: number): MpErrorClass {
  const ErrorClass = class extends MpError {
    static readonly code = code;
    static readonly statusCode = statusCode;
    constructor(message: string, options?: MpErrorOptions) {
      super(code, statusCode, message, options);
    }
  };
  Object.defineProperty(ErrorClass, 'name', { value: code });
  return ErrorClass;
}

/** True for an MpError from any copy of the SDK (plugins may bundle their own). */
export function isMpError(value: unknown): value is MpError {
  return (
    value instanceof Error &&
    typeof (value as Partial<MpError>).code === 'string' &&
    (value as Partial<MpError>).code!.startsWith('MP_ERR_') &&
    typeof (value as Partial<MpError>).statusCode === 'number'
  );
}
