import type { ArtifactStore, MetadataStore, Moderate } from '@modelplane/plugin-sdk';
import { Errors } from './errors.ts';
import { EventBus } from './events.ts';
import { Budgets } from './gateway/budgets.ts';
import { LlmCatalog } from './gateway/catalog.ts';
import { budgetDefinitions, Gateway } from './gateway/gateway.ts';
import { GuardPipeline } from './gateway/guards.ts';
import { MeteringStore } from './gateway/metering.ts';
import { LiveStatsBook } from './gateway/stats.ts';
import type { Kernel } from './kernel/kernel.ts';
import { Registry } from './registry/registry.ts';
import { Scanning } from './registry/scanning.ts';
import { lockDataDir } from './store/data-dir-lock.ts';
import { Metrics } from './serving/metrics.ts';
import { ModelManager } from './serving/model-manager.ts';
import { DeploymentManager } from './serving/deployments/manager.ts';
import { DeploymentStore } from './serving/deployments/store.ts';
import { remoteRegistrySource } from './serving/updates/remote-source.ts';
import { UpdateManager } from './serving/updates/update-manager.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  details?: unknown;
}

/** The core's own services, opened after plugins are set up (the stores may come from plugins). */
export interface CoreServices {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  /** Access control reads keys from the metadata store. */
  keys: MetadataStore;
  registry: Registry;
  scanning: Scanning;
  models: ModelManager;
  deployments: DeploymentManager;
  updates: UpdateManager;
  metrics: Metrics;
  events: EventBus;
  gateway: Gateway;
  metering: MeteringStore;
  budgets: Budgets;
  audit(entry: AuditEntry): Promise<void>;
  close(): Promise<void>;
}

export async function openCoreServices(kernel: Kernel): Promise<CoreServices> {
  const { storage } = kernel.loaded.config;
  const context = { dataDir: kernel.loaded.dataDir };
  const metadataProvider = kernel.contributions.metadataStore.get(storage.metadata);
  const artifactProvider = kernel.contributions.artifactStore.get(storage.artifacts);
  if (!metadataProvider || !artifactProvider) {
    const missing = !metadataProvider ? `storage.metadata: no metadata store "${storage.metadata}"` : `storage.artifacts: no artifact store "${storage.artifacts}"`;
    const known = (point: 'metadataStore' | 'artifactStore') => kernel.contributions[point].list().map((c) => c.contribution.id).join(', ');
    throw new Errors.ConfigInvalid(`${missing} is registered (metadata stores: ${known('metadataStore')}; artifact stores: ${known('artifactStore')})`);
  }
  // Held until close(); a start that fails later leaves it to this pid, which a retry in this process takes over.
  const lock = lockDataDir(kernel.loaded.dataDir);
  let metadata: MetadataStore;
  let artifacts: ArtifactStore;
  try {
    metadata = await metadataProvider.open(context);
    artifacts = await artifactProvider.open(context);
  } catch (error) {
    lock.release();
    throw error;
  }
  const registry = new Registry({ metadata, artifacts, hooks: kernel.hooks });
  const metrics = new Metrics();
  const { scanning: policy } = kernel.loaded.config;
  const scanning = new Scanning({ registry, contributions: kernel.contributions, policy, logger: kernel.logger });
  if (policy.onRegister) {
    kernel.hooks.versionRegistered.tapPromise('core:scan-on-register', async (version) => {
      // In the background: the push answers at once with scanStatus SCANNING; loading waits for the result.
      scanning.scan(version, 'system').catch((error: unknown) => kernel.logger.error({ err: error, model: version.model }, 'scan failed'));
    });
  }
  const audit = (entry: AuditEntry) => metadata.appendAudit(entry);
  const models = new ModelManager({ registry, scanning, audit, contributions: kernel.contributions, metrics, logger: kernel.logger });
  const events = new EventBus({ webhooks: kernel.loaded.config.events.webhooks, logger: kernel.logger });
  const metering = new MeteringStore(kernel.loaded.dataDir, (error) => kernel.logger.error({ err: error }, 'cost events could not be written'));
  const deploymentStore = new DeploymentStore(kernel.loaded.dataDir);
  const deployments = new DeploymentManager({
    store: deploymentStore,
    registry,
    models,
    validators: kernel.contributions.validator,
    events,
    audit,
    logger: kernel.logger,
  });
  // Remote registries are sources like a plugin's, under ids `remote:<name>`.
  for (const remote of kernel.loaded.config.updates.remotes) kernel.contributions.source.add('core', remoteRegistrySource(remote));
  const updates = new UpdateManager({ deployments, registry, scanning, sources: kernel.contributions.source, logger: kernel.logger });
  const budgets = new Budgets({
    definitions: budgetDefinitions(kernel.loaded.config.gateway),
    metering,
    onThreshold: (crossing) => {
      events.emit('budget.threshold_crossed', crossing);
      kernel.logger.warn(crossing, 'budget threshold crossed');
      kernel.hooks.budgetThresholdCrossed.promise(crossing).catch((error: unknown) => kernel.logger.error({ err: error }, 'a budgetThresholdCrossed tap failed'));
    },
  });
  assertRoutingStrategies(kernel);
  const stats = new LiveStatsBook();
  const gateway = new Gateway({
    catalog: new LlmCatalog({ registry, hooks: kernel.hooks, stats }),
    stats,
    metering,
    budgets,
    guards: new GuardPipeline(kernel.contributions.guard.list().map((g) => g.contribution), {
      recordAllows: kernel.loaded.config.gateway.auditAllowDecisions,
      ...moderationOf(kernel),
    }),
    events,
    hooks: kernel.hooks,
    contributions: kernel.contributions,
    config: kernel.loaded.config.gateway,
    logger: kernel.logger,
    audit,
  });
  return {
    metadata,
    artifacts,
    keys: metadata,
    registry,
    scanning,
    models,
    deployments,
    updates,
    metrics,
    events,
    gateway,
    metering,
    budgets,
    audit,
    async close() {
      updates.stop();
      await deployments.close();
      deploymentStore.close();
      events.close();
      await models.close();
      // Calls cut by the shutdown settle after their connections are gone; their cost events must still be written.
      await gateway.drain(kernel.loaded.config.server.shutdownTimeoutMs);
      metering.close();
      await artifacts.close();
      await metadata.close();
      lock.release();
    },
  };
}

/**
 * The strategies a configured gateway routes with (each route's, and `defaultStrategy` for `auto`) must be installed:
 * checked at start, so a typo or a missing plugin fails loudly instead of at the first call. A server that configures
 * no LLM models or routes needs none.
 */
function assertRoutingStrategies(kernel: Kernel): void {
  const { routes, models, defaultStrategy } = kernel.loaded.config.gateway;
  if (routes.length === 0 && models.length === 0) return;
  const installed = kernel.contributions.routerStrategy.list().map((s) => s.contribution.id);
  const wanted = [
    { path: 'gateway.defaultStrategy', id: defaultStrategy },
    ...routes.flatMap((route, i) => (route.strategy ? [{ path: `gateway.routes[${i}].strategy`, id: route.strategy }] : [])),
  ];
  const missing = wanted.filter((w) => !installed.includes(w.id));
  if (missing.length === 0) return;
  const hint = installed.length === 0 ? 'none; add the @modelplane/router-strategies plugin' : installed.join(', ');
  throw new Errors.ConfigInvalid(missing.map((m) => `${m.path}: routing strategy "${m.id}" is not installed (installed: ${hint})`).join('; '));
}

/** `gateway.moderation`: the named provider's moderation endpoint, checked at start so a typo fails loudly. */
function moderationOf(kernel: Kernel): { moderate?: Moderate } {
  const wanted = kernel.loaded.config.gateway.moderation;
  if (!wanted) return {};
  const provider = kernel.contributions.provider.get(wanted.provider);
  if (!provider?.moderate) {
    const known = kernel.contributions.provider.list().filter((p) => p.contribution.moderate).map((p) => p.contribution.id);
    throw new Errors.ConfigInvalid(
      `gateway.moderation.provider: ${provider ? `provider "${wanted.provider}" has no moderation endpoint` : `no provider "${wanted.provider}" is installed`} (providers with one: ${known.join(', ') || 'none'})`,
    );
  }
  return { moderate: (text, signal) => provider.moderate!(text, signal) };
}
