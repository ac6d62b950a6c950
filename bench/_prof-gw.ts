import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { closedLoop } from './load.ts';
import { node, repoRoot, startServerProcess } from './support.ts';
const dir = mkdtempSync(join(repoRoot, '.test-tmp-bench-'));
const upstream = spawn(node, [join(repoRoot, 'bench/mock-upstream.ts')], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
let url = '';
for await (const line of createInterface({ input: upstream.stdout! })) { const m = /listening (\S+)/.exec(line); if (m) { url = m[1]!; break; } }
const model = `{ name: gpt-4o-mini, version: 1.0.0, metadata: { framework: openai, architecture: transformer, training_data_description: vendor, performance_metrics: { mmlu: 0.7 }, license: { id: openai-tos }, llm: { provider: openai, cost: { input_usd_per_mtok: '0.15', output_usd_per_mtok: '0.60', price_version: bench } } } }`;
const mp = await startServerProcess(dir, `server: { port: 0, logLevel: warn }\nstorage: { dataDir: data }\nplugins:\n  - '@modelplane/router-strategies'\n  - { package: '@modelplane/provider-openai', options: { baseURL: '${url}', apiKey: sk-bench } }\ngateway:\n  models: [${model}]`);
const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'say something short please' }] });
const r = await closedLoop({ url: mp.url, path: '/v1/chat/completions', body, headers: { authorization: `Bearer ${mp.adminKey}` }, concurrency: 8, seconds: 6 });
console.log(r.rps, r.p50, r.errors);
await mp.stop(); upstream.kill();
rmSync(dir, { recursive: true, force: true });
