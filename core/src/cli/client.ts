import { MpError } from '@modelplane/plugin-sdk';
import { Errors } from '../errors.ts';

export interface ClientOptions {
  url?: string;
  key?: string;
}

/** Talks to a running server for the CLI's remote commands; `--url`/`--key` or MODELPLANE_URL/MODELPLANE_API_KEY. */
export class ApiClient {
  readonly baseUrl: string;
  readonly #key: string | undefined;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.url ?? process.env.MODELPLANE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    this.#key = options.key ?? process.env.MODELPLANE_API_KEY;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.#key ? { authorization: `Bearer ${this.#key}` } : {}), ...extra };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new Errors.BadRequest(
        `cannot reach the Modelplane server at ${this.baseUrl} (${(error as Error).cause ?? (error as Error).message}); ` +
          'is it running? set --url or MODELPLANE_URL',
      );
    }
    return readResponse<T>(response);
  }
}

export async function readResponse<T>(response: Response): Promise<T> {
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } | string } | undefined)?.error;
    const code = typeof error === 'object' ? error.code : undefined;
    const message = typeof error === 'object' ? error.message : (error ?? response.statusText);
    const hint = response.status === 401 ? ' (pass --key or set MODELPLANE_API_KEY)' : '';
    throw new MpError(code ?? 'MP_ERR_HTTP', response.status, `server answered ${response.status}: ${message}${hint}`);
  }
  return body as T;
}
