import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { providerFetch } from './provider.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('providerFetch', () => {
  it('sends the method, headers and body, and answers a JSON body with its status and headers', async () => {
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'r1' });
        res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body }));
      });
    });
    const response = await providerFetch()(`${url}/v1/x`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{"a":1}' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('r1');
    expect(await response.json()).toEqual({ method: 'POST', auth: 'Bearer k', body: '{"a":1}' });
  });

  // Any body that is not JSON streams, however a server labels it (some OpenAI-compatible servers do not say SSE).
  it.each([
    ['text/event-stream', 'data: one\n\n', 'data: two\n\n'],
    ['application/x-ndjson', '{"n":1}\n', '{"n":2}\n'],
  ])('streams a %s body as it comes instead of waiting for the end', async (type, first, last) => {
    let finish: () => void = () => {};
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': type });
      res.write(first);
      finish = () => res.end(last);
    });
    const reader = (await providerFetch()(url)).body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(first);
    finish();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe(last);
  });

  it('fails when the connection closes before the whole JSON body arrived', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.destroy(), 20);
    });
    await expect(providerFetch()(url)).rejects.toThrow();
  });
});
