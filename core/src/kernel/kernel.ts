import { mkdirSync } from 'node:fs';
import type {
  ExtensionPointName,
  HookName,
  ModelplaneHooks,
  ModelplanePlugin,
  PluginContext,
} from '@modelplane/plugin-sdk';
import type { AwilixContainer } from 'awilix';
import { type Logger, pino } from 'pino';
import { Errors } from '../errors.ts';
import { embeddedStoresPlugin } from '../store/embedded-plugin.ts';
import type { LoadedConfig } from './config.ts';
import { createKernelContainer, type KernelCradle } from './container.ts';
import { type Contributions, contributionsOf, createContributions, registerFor } from './contributions.ts';
import { createHooks } from './hooks.ts';
import {
  assertApiCompatible,
  checkManifest,
  importPlugin,
  type PluginPackage,
  resolvePluginPackage,
  runSetup,
  validateOptions,
} from './plugin-loader.ts';

export interface LoadedPlugin {
  name: string;
  version: string;
  apiVersion: string;
  description?: string;
  /** Built into the core (embedded stores) rather than named in the config. */
  builtin: boolean;
  /** Where the package was found, for configured plugins. */
  package?: { spec: string; name: string; version: string; dir: string };
  /** Index in the config's `plugins` list. */
  configIndex?: number;
  contributions: Partial<Record<ExtensionPointName, string[]>>;
  /** What each runtime it registered says about itself (`RuntimePlugin.describe`), by runtime id. */
  runtimes?: Record<string, Record<string, unknown>>;
  hooks: HookName[];
}

export interface KernelOptions {
  loaded: LoadedConfig;
  logger?: Logger;
  /** Plugins the core provides itself, set up before the configured ones (default: the embedded stores). */
  builtins?: readonly ModelplanePlugin[];
}

export interface Kernel {
  readonly loaded: LoadedConfig;
  readonly logger: Logger;
  readonly hooks: ModelplaneHooks;
  readonly contributions: Contributions;
  readonly container: AwilixContainer<KernelCradle>;
  readonly plugins: readonly LoadedPlugin[];
  /** Runs the `boot` hook. */
  boot(): Promise<void>;
  /** Runs the `shutdown` hook (last set up, first torn down) and disposes the container. */
  shutdown(): Promise<void>;
}

export function createLogger(loaded: LoadedConfig): Logger {
  return pino({ level: loaded.config.server.logLevel, base: { service: 'modelplane' } });
}

/** Sets up every plugin in order: builtins, then the config's `plugins` list. Any failure stops the boot. */
export async function createKernel(options: KernelOptions): Promise<Kernel> {
  const { loaded } = options;
  const logger = options.logger ?? createLogger(loaded);
  mkdirSync(loaded.dataDir, { recursive: true });

  let settingUp = 'core';
  const tapsByPlugin = new Map<string, Set<HookName>>();
  const hooks = createHooks((hook) => {
    const set = tapsByPlugin.get(settingUp) ?? new Set<HookName>();
    set.add(hook);
    tapsByPlugin.set(settingUp, set);
  });
  const contributions = createContributions();
  const container = createKernelContainer({ loadedConfig: loaded, logger, hooks, contributions });
  const plugins: LoadedPlugin[] = [];

  const setUp = async (plugin: ModelplanePlugin, options: unknown, extra: Partial<LoadedPlugin>) => {
    const clash = plugins.find((p) => p.name === plugin.name);
    if (clash) {
      throw new Errors.PluginDuplicate(
        `plugin ${plugin.name} is configured twice (${describeSource(clash)} and ${describeSource(extra)}); list it once`,
        { details: { plugin: plugin.name } },
      );
    }
    assertApiCompatible(plugin.name, plugin.version, plugin.apiVersion);
    const configPath =
      extra.configIndex === undefined ? `builtin ${plugin.name}` : `plugins[${extra.configIndex}].options`;
    const validOptions = await validateOptions(plugin, options, configPath);
    const ctx: PluginContext = Object.freeze({
      name: plugin.name,
      hooks,
      logger: logger.child({ plugin: plugin.name }),
      options: validOptions,
      configDir: loaded.dir,
      dataDir: loaded.dataDir,
      register: registerFor(contributions, plugin.name),
    });
    settingUp = plugin.name;
    const started = performance.now();
    try {
      await runSetup(plugin, ctx, loaded.config.server.pluginSetupTimeoutMs);
    } finally {
      settingUp = 'core';
    }
    const record: LoadedPlugin = {
      name: plugin.name,
      version: plugin.version,
      apiVersion: plugin.apiVersion,
      builtin: false,
      ...(plugin.description ? { description: plugin.description } : {}),
      ...extra,
      contributions: contributionsOf(contributions, plugin.name),
      ...runtimeDetails(contributions, plugin.name),
      hooks: [...(tapsByPlugin.get(plugin.name) ?? [])],
    };
    plugins.push(record);
    logger.debug({ plugin: plugin.name, ms: Math.round(performance.now() - started) }, 'plugin set up');
  };

  try {
    for (const builtin of options.builtins ?? [embeddedStoresPlugin]) {
      await setUp(builtin, undefined, { builtin: true });
    }
    for (const entry of loaded.plugins) {
      const pkg: PluginPackage = resolvePluginPackage(entry.package, loaded.dir);
      checkManifest(pkg);
      const plugin = await importPlugin(pkg);
      await setUp(plugin, entry.options, {
        builtin: false,
        configIndex: entry.index,
        package: { spec: pkg.spec, name: pkg.name, version: pkg.version, dir: pkg.dir },
      });
    }
  } catch (error) {
    // The plugins set up before the failure stop again (their pools, timers, connections), or a failed boot would
    // keep the process alive with nothing to serve.
    await hooks.shutdown.promise().catch((cause: unknown) => logger.error({ err: cause }, 'shutdown after a failed boot failed'));
    await container.dispose().catch(() => {});
    throw error;
  }

  let shutDown = false;
  return Object.freeze({
    loaded,
    logger,
    hooks,
    contributions,
    container,
    plugins: Object.freeze(plugins),
    boot: () => hooks.boot.promise(),
    async shutdown() {
      if (shutDown) return;
      shutDown = true;
      try {
        await hooks.shutdown.promise();
      } finally {
        await container.dispose();
      }
    },
  });
}

/** Runtime-wide details (a TF.js backend, say) are fixed once setup has run, so they are read then. */
function runtimeDetails(contributions: Contributions, plugin: string): Pick<LoadedPlugin, 'runtimes'> {
  const described = contributions.runtime
    .list()
    .filter((entry) => entry.plugin === plugin && typeof entry.contribution.describe === 'function')
    .map((entry) => [entry.contribution.id, entry.contribution.describe!()] as const);
  return described.length > 0 ? { runtimes: Object.fromEntries(described) } : {};
}

function describeSource(plugin: Partial<LoadedPlugin>): string {
  if (plugin.builtin) return 'built in';
  return plugin.configIndex === undefined ? 'unknown' : `plugins[${plugin.configIndex}]`;
}
