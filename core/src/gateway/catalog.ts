import type { ModelplaneHooks, RouteCandidate, VersionRecord } from '@modelplane/plugin-sdk';
import { costProfileOf, LlmMetadata } from './llm-metadata.ts';
import type { Registry } from '../registry/registry.ts';
import type { LiveStatsBook } from './stats.ts';

/** A registry version as the router sees it; `stats` is filled in per call from the live book. */
export function candidateOf(version: VersionRecord, taskTypes: readonly string[]): RouteCandidate | undefined {
  const metadata = version.metadata as Record<string, unknown>;
  const parsed = LlmMetadata.safeParse(metadata.llm);
  if (!parsed.success) return undefined;
  const llm = parsed.data;
  const cost = costProfileOf(llm.cost);
  const declaredTasks = Array.isArray(metadata.task_types) ? (metadata.task_types as string[]) : [];
  return {
    model: version.model,
    version: version.version,
    provider: llm.provider,
    providerModel: llm.provider_model ?? version.model,
    ...(cost ? { cost } : {}),
    quality: { overall: llm.quality?.overall ?? 0.5, ...(llm.quality?.by_task ? { byTask: llm.quality.by_task } : {}) },
    contextLength: typeof metadata.context_length === 'number' ? metadata.context_length : 8192,
    taskTypes: declaredTasks.length > 0 ? declaredTasks : taskTypes.length > 0 ? taskTypes : ['chat'],
    ...(llm.tags ? { tags: llm.tags } : {}),
    ...(llm.safety ? { safety: { safetyTuned: llm.safety.safety_tuned ?? false, contentFilter: llm.safety.content_filter ?? false } } : {}),
    ...(llm.latency_ms === undefined ? {} : { latencyMs: llm.latency_ms }),
    ...(llm.tokens_per_second === undefined ? {} : { tokensPerSecond: llm.tokens_per_second }),
  };
}

/**
 * The LLM models the gateway can call: for every registered model, the version a bare name resolves to
 * (the `default` alias, else the highest active version), when its metadata has an `llm` section and it is
 * not retired. Rebuilt after a registry change (hooks) and at most every `maxAgeMs` otherwise, so a status
 * change (which has no hook) is seen within that time.
 */
export class LlmCatalog {
  readonly #registry: Registry;
  readonly #stats: LiveStatsBook;
  readonly #maxAgeMs: number;
  #built: Promise<Map<string, RouteCandidate>> | undefined;
  #builtAt = 0;

  constructor(options: { registry: Registry; hooks: ModelplaneHooks; stats: LiveStatsBook; maxAgeMs?: number }) {
    this.#registry = options.registry;
    this.#stats = options.stats;
    this.#maxAgeMs = options.maxAgeMs ?? 2000;
    const invalidate = async () => {
      this.#built = undefined;
    };
    options.hooks.versionRegistered.tapPromise('core:llm-catalog', invalidate);
    options.hooks.aliasChanged.tapPromise('core:llm-catalog', invalidate);
  }

  async #candidates(): Promise<Map<string, RouteCandidate>> {
    if (!this.#built || Date.now() - this.#builtAt > this.#maxAgeMs) {
      this.#builtAt = Date.now();
      this.#built = this.#build();
      this.#built.catch(() => {
        this.#built = undefined;
      });
    }
    return this.#built;
  }

  async #build(): Promise<Map<string, RouteCandidate>> {
    const candidates = new Map<string, RouteCandidate>();
    let cursor: string | undefined;
    do {
      const page = await this.#registry.listModels({ limit: 500, ...(cursor ? { cursor } : {}) });
      for (const model of page.items) {
        let version: VersionRecord;
        try {
          version = await this.#registry.getVersion(model.name);
        } catch {
          continue;
        }
        if (version.status === 'retired') continue;
        const candidate = candidateOf(version, model.tasks);
        if (candidate) candidates.set(model.name, candidate);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return candidates;
  }

  /** Every callable LLM with its live stats. */
  async list(): Promise<RouteCandidate[]> {
    return [...(await this.#candidates()).values()].map((c) => this.#stats.attach(c));
  }

  /** One model by name, `name@alias` or `name@1.2.3`; undefined when it is not an LLM. */
  async get(reference: string): Promise<RouteCandidate | undefined> {
    if (!reference.includes('@')) {
      const candidate = (await this.#candidates()).get(reference);
      if (candidate) return this.#stats.attach(candidate);
      // Not an LLM, or not there at all: the registry's 404 says which.
      await this.#registry.getVersion(reference);
      return undefined;
    }
    const version = await this.#registry.resolve(reference);
    if (version.status === 'retired') return undefined;
    const model = await this.#registry.getModel(version.model);
    const candidate = candidateOf(version, model.tasks);
    return candidate && this.#stats.attach(candidate);
  }
}
