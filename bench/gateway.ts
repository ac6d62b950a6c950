/**
 * LLM gateway overhead: the same OpenAI chat request sent straight to a local OpenAI-format upstream and through
 * Modelplane's /v1/chat/completions (auth, routing, budget reservation, metering to SQLite, cost event), at fixed
 * rates; then Modelplane against the LiteLLM proxy (PyPI) in front of the same upstream, closed loop.
 *   node bench/gateway.ts        (BENCH_SECONDS=10 per measurement; BENCH_LITELLM=0 skips LiteLLM)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { closedLoop, type LoadResult, openLoop } from './load.ts';
import { node, repoRoot, startServerProcess, table } from './support.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const dir = mkdtempSync(join(repoRoot, '.test-tmp-bench-'));
const children: ChildProcess[] = [];

async function waitForLine(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  for await (const line of createInterface({ input: child.stdout! })) {
    const match = pattern.exec(line);
    if (match) return match;
  }
  throw new Error('process exited before it was ready');
}

const upstream = spawn(node, [join(repoRoot, 'bench/mock-upstream.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
children.push(upstream);
const upstreamUrl = (await waitForLine(upstream, /listening (\S+)/))[1]!;

const model = `{ name: gpt-4o-mini, version: 1.0.0, metadata: { framework: openai, architecture: transformer, training_data_description: vendor, performance_metrics: { mmlu: 0.7 }, license: { id: openai-tos }, llm: { provider: openai, cost: { input_usd_per_mtok: '0.15', output_usd_per_mtok: '0.60', price_version: bench } } } }`;
const gatewayYaml = (guards: boolean) => `server: { port: 0, logLevel: warn }
storage: { dataDir: data-${guards ? 'guards' : 'plain'} }
plugins:
  - '@modelplane/router-strategies'
  - { package: '@modelplane/provider-openai', options: { baseURL: '${upstreamUrl}', apiKey: sk-bench } }
${guards ? "  - '@modelplane/guard-pii'\n" : ''}gateway:
  models: [${model}]`;
const plain = await startServerProcess(dir, gatewayYaml(false));
const guarded = await startServerProcess(dir, gatewayYaml(true));
children.push(plain.child, guarded.child);

const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'say something short please' }] });
const direct = { url: new URL(upstreamUrl).origin, path: '/v1/chat/completions', body, headers: { authorization: 'Bearer sk-bench' } };
const via = (server: typeof plain) => ({ url: server.url, path: '/v1/chat/completions', body, headers: { authorization: `Bearer ${server.adminKey}` } });

// Warm every path (JIT, connections, SQLite statements).
for (const target of [direct, via(plain), via(guarded)]) await closedLoop({ ...target, concurrency: 4, seconds: 2 });

const rows: Array<Record<string, string | number>> = [];
const fmt = (ms: number) => ms.toFixed(3);
for (const rps of [1, 100, 1000]) {
  const secs = rps === 1 ? Math.max(seconds, 20) : seconds;
  const results: Record<string, LoadResult> = {};
  // Alternate the targets so drift on this shared machine hits them alike.
  results.direct = await openLoop({ ...direct, rps, seconds: secs });
  results.plain = await openLoop({ ...via(plain), rps, seconds: secs });
  results.guarded = await openLoop({ ...via(guarded), rps, seconds: secs });
  for (const [name, r] of Object.entries(results)) {
    rows.push({
      'target RPS': rps,
      path: name === 'direct' ? 'upstream directly' : name === 'plain' ? 'via Modelplane' : 'via Modelplane + guard-pii',
      'achieved RPS': r.rps.toFixed(0),
      'p50 ms': fmt(r.p50),
      'p99 ms': fmt(r.p99),
      'added p50 ms': name === 'direct' ? '' : fmt(r.p50 - results.direct!.p50),
      'added p99 ms': name === 'direct' ? '' : fmt(r.p99 - results.direct!.p99),
      errors: r.errors,
    });
  }
}
console.log('Added latency over calling the upstream directly (open loop; target at 1,000 RPS: added p50 ≤ 0.5 ms, p99 ≤ 2 ms)\n');
console.log(table(rows));

if (process.env.BENCH_LITELLM !== '0') {
  const venv = execFileSync(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-litellm.txt')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const port = 30000 + Math.floor(Math.random() * 20000);
  writeFileSync(
    join(dir, 'litellm.yaml'),
    `model_list:\n  - model_name: gpt-4o-mini\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: ${upstreamUrl}\n      api_key: sk-bench\ngeneral_settings:\n  master_key: sk-litellm-bench\nlitellm_settings:\n  set_verbose: false\n`,
  );
  // No network here: LiteLLM must use its bundled price map, and send no telemetry.
  const litellm = spawn(join(venv, 'bin/litellm'), ['--config', join(dir, 'litellm.yaml'), '--host', '127.0.0.1', '--port', String(port), '--num_workers', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LITELLM_LOCAL_MODEL_COST_MAP: 'True', LITELLM_TELEMETRY: 'False', LITELLM_LOG: 'ERROR' },
  });
  children.push(litellm);
  litellm.stderr!.resume();
  litellm.stdout!.resume();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/health/liveliness`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error('LiteLLM did not start within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const viaLitellm = { url: `http://127.0.0.1:${port}`, path: '/v1/chat/completions', body, headers: { authorization: 'Bearer sk-litellm-bench' } };
  await closedLoop({ ...viaLitellm, concurrency: 4, seconds: 3 });
  const compare: Array<Record<string, string | number>> = [];
  for (const concurrency of [16, 64]) {
    const mp = await closedLoop({ ...via(plain), concurrency, seconds });
    const ll = await closedLoop({ ...viaLitellm, concurrency, seconds });
    for (const [name, r] of [['Modelplane', mp], ['LiteLLM proxy 1.79.3', ll]] as const) {
      compare.push({ concurrency, server: name, RPS: r.rps.toFixed(0), 'p50 ms': fmt(r.p50), 'p99 ms': fmt(r.p99), errors: r.errors });
    }
    compare.push({ concurrency, server: 'ratio Modelplane / LiteLLM', RPS: `${(mp.rps / ll.rps).toFixed(2)}×`, 'p50 ms': `${(mp.p50 / ll.p50).toFixed(2)}×`, 'p99 ms': `${(mp.p99 / ll.p99).toFixed(2)}×`, errors: '' });
  }
  console.log('\nAgainst the LiteLLM proxy, same upstream, closed loop (target ≥ 5× its RPS at equal or lower p99)\n');
  console.log(table(compare));
}

for (const child of children) child.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
