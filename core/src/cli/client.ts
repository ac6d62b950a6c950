import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
      throw this.#unreachable(error as Error);
    }
    return readResponse<T>(response);
  }

  /**
   * POSTs a stream with node:http rather than fetch: fetch turns the body into a web stream, which costs the client
   * more CPU than the server spends hashing and storing the bytes (on two cores the client then slows the server).
   */
  upload<T>(path: string, body: Readable, headers: Record<string, string>): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const response = new Promise<Response>((resolve, reject) => {
      const outgoing = send(url, { method: 'POST', headers: this.headers(headers) }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          // An answer before the whole body was sent is a refusal; the server will read no more of it.
          if (!outgoing.writableFinished) outgoing.destroy();
          resolve(new Response(Buffer.concat(chunks), { status: incoming.statusCode ?? 500, statusText: incoming.statusMessage ?? '' }));
        });
      });
      // A server that answers early (401, 413) may close the socket under the upload; its answer, when one arrives
      // shortly after the write error, is what counts (a promise settles once, so the later reject is then a no-op).
      pipeline(body, outgoing).catch((error: Error) => {
        setTimeout(() => reject(this.#unreachable(error)), 100);
      });
    });
    return response.then((r) => readResponse<T>(r));
  }

  #unreachable(error: Error): Error {
    return new Errors.BadRequest(
      `cannot reach the Modelplane server at ${this.baseUrl} (${error.cause ?? error.message}); is it running? set --url or MODELPLANE_URL`,
    );
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
