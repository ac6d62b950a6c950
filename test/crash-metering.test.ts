import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { generateApiKey } from '@modelplane/core';
import { afterAll, expect, it } from 'vitest';
import { serveProcess } from './support/server.ts';
import { gatewayConfig } from './support/gateway.ts';
import { type MockOpenAI, startMockOpenAI } from './support/mock-openai.ts';
import { makeTempDir } from './support/tmp.ts';

const tmp = makeTempDir('crash-metering');
const adminKey = generateApiKey().token;
const config = join(tmp.dir, 'modelplane.config.json');
const children: ChildProcess[] = [];
let upstream: MockOpenAI | undefined;
let slowUpstream: MockOpenAI | undefined;
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await upstream?.close();
  await slowUpstream?.close();
  tmp.remove();
});

const serve = () => serveProcess(config, children);

const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };

it('every gateway call answered 200 before a SIGKILL has its cost event after the restart, so the budget spend is rebuilt', async () => {
  upstream = await startMockOpenAI();
  const gateway = gatewayConfig(upstream.url, upstream.url, { budgets: [{ name: 'daily', scope: 'global', period: 'daily', limitUsd: '1000.000000' }] });
  writeFileSync(config, JSON.stringify({ server: { port: 0, logLevel: 'warn' }, storage: { dataDir: 'data' }, auth: { adminKey }, ...gateway }));
  const first = await serve();
  const exited = once(first.child, 'exit');
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
  const stream = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, stream: true });
  let acknowledged = 0;
  let killed = false;
  const started = Date.now();
  // Calls run concurrently; the server is killed the moment an answer arrives once they are under way, which is
  // when cost events of answered calls wait for their group commit.
  const worker = async (payload: string) => {
    while (!killed) {
      try {
        const response = await fetch(`${first.url}/v1/chat/completions`, { method: 'POST', headers, body: payload });
        const text = await response.text();
        if (killed) return;
        // A stream is acknowledged once its [DONE] arrived.
        if (response.status === 200 && (payload === body || text.trimEnd().endsWith('data: [DONE]'))) acknowledged++;
        if (Date.now() - started > 300 && acknowledged >= 20) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      } catch {
        return;
      }
    }
  };
  await Promise.all([...Array.from({ length: 6 }, () => worker(body)), ...Array.from({ length: 2 }, () => worker(stream))]);
  await exited;

  const second = await serve();
  const costs = (await (await fetch(`${second.url}/api/v1/costs`, { headers })).json()) as { total_calls: number; total_cost_micro_usd: number };
  expect(costs.total_calls).toBeGreaterThanOrEqual(acknowledged);
  // The budget's spend is rebuilt from the stored events.
  const budgets = (await (await fetch(`${second.url}/api/v1/budgets`, { headers })).json()) as { budgets: Array<{ budget: string; spent_usd: string }> };
  expect(budgets.budgets.find((b) => b.budget === 'daily')?.spent_usd).toBe((costs.total_cost_micro_usd / 1e6).toFixed(6));
  second.child.kill('SIGTERM');
  await once(second.child, 'exit');
}, 60_000);

it('a stream cut by a SIGTERM whose shutdown timeout ran out still leaves its cost event', async () => {
  const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
  slowUpstream = await startMockOpenAI({ reply: () => ({ text: words, tokenDelayMs: 20 }) });
  const gateway = gatewayConfig(slowUpstream.url, slowUpstream.url);
  writeFileSync(config, JSON.stringify({ server: { port: 0, logLevel: 'error', shutdownTimeoutMs: 300 }, storage: { dataDir: 'data-term' }, auth: { adminKey }, ...gateway }));
  const server = await serve();
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 300, stream: true }),
  });
  const reading = response.text().catch((error: Error) => error);
  await new Promise((resolve) => setTimeout(resolve, 300));
  server.child.kill('SIGTERM');
  const [code] = (await once(server.child, 'exit')) as [number];
  expect(code).toBe(0);
  expect(await reading).toBeInstanceOf(Error);

  const db = new DatabaseSync(join(tmp.dir, 'data-term', 'metering.sqlite'));
  const events = db.prepare('SELECT outcome, stream, tokens_out FROM cost_events').all();
  db.close();
  expect(events).toEqual([expect.objectContaining({ outcome: 'abandoned', stream: 1 })]);
  expect((events[0] as { tokens_out: number }).tokens_out).toBeGreaterThan(0);
}, 30_000);
