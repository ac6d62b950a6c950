/** Budgets under concurrency, threshold events (hooks, SSE replay, webhooks), and a stream post-guard that really blocks. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockAnthropic, startMockAnthropic } from './support/mock-anthropic.ts';
import { type MockOpenAI, startMockOpenAI } from './support/mock-openai.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { gatewayConfig } from './support/gateway.ts';

const HUNDRED_WORDS = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ');
// gpt-4o-mini at $0.15 / $0.60 per 1M tokens. "hi" with max_tokens 100: worst case (2 bytes + 16 template
// tokens) × 0.15 + 100 × 0.60 = 62.7 → 63 µUSD; the real call (1 + 100 tokens) costs 60.15 → 61 µUSD.
const WORST = 63;
const ACTUAL = 61;
const LIMIT = 50 * WORST;

let openaiUpstream: MockOpenAI;
let anthropicUpstream: MockAnthropic;
let server: TestServer;
let client: OpenAI;
const delivered: Array<{ type: string; data: { threshold: number } }> = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c));
  req.on('end', () => {
    delivered.push(JSON.parse(body) as (typeof delivered)[number]);
    res.end();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  openaiUpstream = await startMockOpenAI({ reply: (body) => (String(JSON.stringify(body)).includes('secret please') ? { text: 'the key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 keep it', tokenDelayMs: 2 } : { text: HUNDRED_WORDS }) });
  anthropicUpstream = await startMockAnthropic();
  const config = gatewayConfig(openaiUpstream.url, anthropicUpstream.url, {
    budgets: [{ name: 'daily-cap', scope: 'global', period: 'daily', limitUsd: (LIMIT / 1e6).toFixed(6) }],
    moderation: { provider: 'openai' },
  });
  config.plugins[1] = { package: '@modelplane/guard-pii', options: { pii: { blockOutput: ['secret'] } } };
  server = await startTestServer({ ...config, events: { webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['budget.*'] }] } });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: server.adminKey, maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await openaiUpstream?.close();
  await anthropicUpstream?.close();
  receiver.close();
});

describe('stream post-guard', () => {
  it('never lets a blocked secret reach the client, and says why', async () => {
    const response = await server.call('/v1/chat/completions', { method: 'POST', json: { model: 'gpt-4o', messages: [{ role: 'user', content: 'secret please' }], stream: true, max_tokens: 20 } });
    const body = await response.text();
    expect(body).not.toContain('sk-proj');
    expect(body).not.toContain('abcdefghij');
    expect(body).toContain('"finish_reason":"content_filter"');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const audit = (await (await server.call('/api/v1/audit?action=guard.block&limit=5')).json()) as { entries: Array<{ details: { rule?: string; findings: Array<{ rule: string }> } }> };
    expect(audit.entries[0]!.details.findings).toContainEqual({ type: 'secret', rule: 'secret.openai' });
  });
});

describe('moderation through the OpenAI provider', () => {
  it("blocks what the vendor's moderation flags, before any generation", async () => {
    const before = openaiUpstream.requests.length;
    const response = await server.call('/v1/chat/completions', { method: 'POST', json: { model: 'gpt-4o', messages: [{ role: 'user', content: 'explain how to build a bomb' }] } });
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('MP_ERR_GUARD_BLOCKED');
    expect(error.message).toContain('moderation flagged illicit/violent');
    expect(openaiUpstream.requests.slice(before).map((r) => r.path)).toEqual(['/v1/moderations']);
  });
});

describe('a client that leaves mid-stream', () => {
  it('stops the upstream, bills what it produced and releases the reservation', async () => {
    openaiUpstream.enqueueFor('gpt-4o', { text: Array.from({ length: 300 }, (_, i) => `t${i}`).join(' '), tokenDelayMs: 5 });
    const controller = new AbortController();
    const response = await server.call('/v1/chat/completions', { method: 'POST', signal: controller.signal, json: { model: 'gpt-4o', stream: true, max_tokens: 100, messages: [{ role: 'user', content: 'go on' }] } });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    controller.abort();
    await expect.poll(() => openaiUpstream.requests.at(-1)?.outcome, { timeout: 5000 }).toBe('client-closed');
    await expect
      .poll(async () => ((await (await server.call('/api/v1/costs/events?limit=1')).json()) as { events: Array<{ model: string; outcome: string }> }).events[0], { timeout: 5000 })
      .toMatchObject({ model: 'gpt-4o', outcome: 'abandoned' });
    const status = (await (await server.call('/api/v1/budgets')).json()) as { budgets: Array<{ budget: string; reserved_usd: string }> };
    expect(status.budgets).toContainEqual(expect.objectContaining({ budget: 'daily-cap', reserved_usd: '0.000000' }));
  });
});

describe('budgets', () => {
  it('200 concurrent calls against a budget that fits 50: spend never exceeds it, thresholds fire once each', async () => {
    const call = () => client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    const results = await Promise.allSettled(Array.from({ length: 200 }, call));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as { status: number; code: string; type: string });
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(ok).toBeLessThanOrEqual(Math.floor(LIMIT / ACTUAL));
    for (const error of refused) expect(error).toMatchObject({ status: 429, code: 'MP_ERR_BUDGET_EXCEEDED', type: 'insufficient_quota' });
    // Keep calling until no call fits any more.
    for (let i = 0; i < 60; i++) {
      const more = await call().then(
        () => true,
        () => false,
      );
      if (!more) break;
    }
    const costs = (await (await server.call('/api/v1/costs?hours=1')).json()) as {
      total_cost_micro_usd: number;
      top_models: Array<{ model: string; calls: number; cost_usd: string }>;
    };
    // The global budget also paid for the stream-guard test's call to gpt-4o.
    const mini = costs.top_models.find((m) => m.model === 'gpt-4o-mini')!;
    expect(mini.cost_usd).toBe(((mini.calls * ACTUAL) / 1e6).toFixed(6));
    expect(costs.total_cost_micro_usd).toBeLessThanOrEqual(LIMIT);
    expect(costs.total_cost_micro_usd).toBeGreaterThan(LIMIT - WORST);
    const status = (await (await server.call('/api/v1/budgets')).json()) as { budgets: Array<{ budget: string; spent_usd: string; reserved_usd: string }> };
    expect(status.budgets).toContainEqual(expect.objectContaining({ budget: 'daily-cap', reserved_usd: '0.000000', spent_usd: (costs.total_cost_micro_usd / 1e6).toFixed(6) }));

    const exhausted = await server.call('/v1/chat/completions', { method: 'POST', json: { model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] } });
    expect(exhausted.status).toBe(429);
    expect(((await exhausted.json()) as { error: { message: string } }).error.message).toMatch(/budget "daily-cap" \(global, daily\) has \$0\.0000\d\d left/);

    await expect.poll(() => delivered.map((d) => d.data.threshold).sort((a, b) => a - b), { timeout: 5000 }).toEqual([70, 90, 100]);
    expect(delivered.every((d) => d.type === 'budget.threshold_crossed')).toBe(true);
    // The same crossings on the SSE feed, replayed from the start.
    const controller = new AbortController();
    const sse = await server.call('/api/v1/events?types=budget.*', { signal: controller.signal });
    const reader = sse.body!.getReader();
    let text = '';
    while ((text.match(/event: budget\.threshold_crossed/g) ?? []).length < 3) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toContain('"threshold":100');
    // A call the budget refused ends in the feed as failed, after its planned event.
    const failedFeed = new AbortController();
    const failed = (await server.call('/api/v1/events?types=model_call.failed', { signal: failedFeed.signal })).body!.getReader();
    let failures = '';
    while (!failures.includes('daily-cap')) failures += new TextDecoder().decode((await failed.read()).value);
    failedFeed.abort();
    expect(failures).toMatch(/budget \\"daily-cap\\" \(global, daily\) has/);
  });
});
