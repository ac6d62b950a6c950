import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../kernel/config.ts';
import { collectFiles } from '../registry/local-files.ts';
import type { Registry } from '../registry/registry.ts';
import type { ModelManager } from './model-manager.ts';

type DeclaredModel = Config['models'][number];

/** Registers a declared model's local files as a version (idempotent: the same files again change nothing). */
async function registerLocal(registry: Registry, declared: DeclaredModel, configDir: string): Promise<void> {
  const spec = declared.register!;
  const model = (declared.reference ?? declared.name).split('@')[0]!;
  const files = [];
  for (const file of await collectFiles(resolve(configDir, spec.path))) {
    const stored = await registry.artifacts.put(createReadStream(file.absolute));
    files.push({ path: file.path, digest: stored.digest, size: stored.size });
  }
  const { record } = await registry.registerVersion(model, { version: spec.version, files, metadata: spec.metadata, status: spec.status }, 'config');
  if (record.status === 'testing' && spec.status === 'active') await registry.setStatus(model, record.version, 'active', 'config');
}

/** Registers (when asked) and loads every model the config declares, in order. */
export async function loadDeclaredModels(config: Config, configDir: string, registry: Registry, models: ModelManager): Promise<void> {
  for (const declared of config.models) {
    if (declared.register) await registerLocal(registry, declared, configDir);
    if (!declared.load) continue;
    const reference = declared.reference ?? (declared.register ? `${declared.name}@${declared.register.version}` : declared.name);
    await models.load(reference, {
      name: declared.name,
      ...(declared.runtime ? { runtime: declared.runtime } : {}),
      options: declared.options,
      ...(declared.batching ? { batching: declared.batching } : {}),
    });
  }
}

/** Registers the LLM versions the config declares under `gateway.models` (idempotent; other metadata → 409). */
export async function registerDeclaredLlms(config: Config, registry: Registry): Promise<void> {
  for (const declared of config.gateway.models) {
    const { record } = await registry.registerVersion(declared.name, { version: declared.version, files: [], metadata: declared.metadata, status: declared.status }, 'config');
    if (record.status === 'testing' && declared.status === 'active') await registry.setStatus(declared.name, record.version, 'active', 'config');
  }
}
