/** The gateway test setup: LLM versions over the OpenAI and Anthropic mocks, with prices for exact cost checks. */
const base = { architecture: 'transformer', training_data_description: 'vendor', performance_metrics: { mmlu: 0.8 }, license: { id: 'openai-tos' } };
const llm = (name: string, llmMeta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name,
  version: '1.0.0',
  metadata: { ...base, framework: String(llmMeta.provider), context_length: 128000, task_types: ['chat'], ...extra, llm: llmMeta },
});
export const GATEWAY_MODELS = [
  llm('gpt-4o', { provider: 'openai', provider_model: 'gpt-4o', cost: { input_usd_per_mtok: '2.50', output_usd_per_mtok: '10.00', cached_input_usd_per_mtok: '1.25', price_version: 'openai-2025-08' }, quality: { overall: 0.8 }, latency_ms: 800, safety: { content_filter: true } }),
  llm('gpt-4o-mini', { provider: 'openai', provider_model: 'gpt-4o-mini', cost: { input_usd_per_mtok: '0.15', output_usd_per_mtok: '0.60', cached_input_usd_per_mtok: '0.075', price_version: 'openai-2025-08' }, quality: { overall: 0.7 }, latency_ms: 300 }),
  llm('claude-sonnet', { provider: 'anthropic', provider_model: 'claude-sonnet-4-7', cost: { input_usd_per_mtok: '3', output_usd_per_mtok: '15', cached_input_usd_per_mtok: '0.30', cache_write_usd_per_mtok: '3.75', price_version: 'anthropic-2025-09' }, quality: { overall: 0.95 }, latency_ms: 900, safety: { safety_tuned: true } }),
  llm('unpriced', { provider: 'openai', provider_model: 'gpt-4o' }),
];

export function gatewayConfig(openaiUrl: string, anthropicUrl: string, gateway: Record<string, unknown> = {}) {
  const plugins: Array<string | { package: string; options?: unknown }> = [
      '@modelplane/router-strategies',
      '@modelplane/guard-pii',
      { package: '@modelplane/provider-openai', options: { baseURL: openaiUrl, apiKey: 'sk-upstream', timeoutMs: 5000 } },
      { package: '@modelplane/provider-anthropic', options: { baseURL: anthropicUrl, apiKey: 'sk-ant-upstream', timeoutMs: 5000 } },
  ];
  return {
    plugins,
    gateway: {
      models: GATEWAY_MODELS,
      firstTokenTimeoutMs: 2000,
      routes: [
        { name: 'best', strategy: 'quality-first', models: ['gpt-4o', 'claude-sonnet', 'gpt-4o-mini'] },
        { name: 'cheap', strategy: 'cost-optimized' },
      ],
      ...gateway,
    },
  };
}
