import type { ExtensionPoints } from './extensions.ts';
import type { ModelplaneHooks } from './hooks.ts';
import type { InferOutput, StandardSchema } from './schema.ts';

/** The version of the plugin API this SDK describes; the core checks a plugin's `apiVersion` range against its own. */
export const SDK_PLUGIN_API_VERSION = '1.0.0';

/** Marks objects made by definePlugin; `Symbol.for` so a plugin built against another copy of the SDK is still recognised. */
export const PLUGIN_BRAND: unique symbol = Symbol.for('modelplane.plugin') as never;

export interface PluginLogger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  child(bindings: Record<string, unknown>): PluginLogger;
}

export type Register = {
  readonly [Point in keyof ExtensionPoints]: (contribution: ExtensionPoints[Point]) => void;
};

export interface PluginContext<Options = unknown> {
  /** The plugin's own name, as declared. */
  readonly name: string;
  readonly hooks: ModelplaneHooks;
  readonly logger: PluginLogger;
  /** Options from the config file, validated by the plugin's `optionsSchema`. */
  readonly options: Options;
  /** Directory holding the config file; resolve relative paths in options against it. */
  readonly configDir: string;
  /** The server's data directory; a plugin keeps its own files under `dataDir/plugins/<name>`. */
  readonly dataDir: string;
  readonly register: Register;
}

export interface PluginDefinition<Schema extends StandardSchema | undefined = StandardSchema | undefined> {
  /** npm package name by convention (`@modelplane/runtime-onnx`, `modelplane-plugin-foo`). */
  readonly name: string;
  /** The plugin's own semver version. */
  readonly version: string;
  /** A semver range over the core's plugin API version, e.g. `^1`. */
  readonly apiVersion: string;
  readonly description?: string;
  readonly optionsSchema?: Schema;
  setup(ctx: PluginContext<Schema extends StandardSchema ? InferOutput<Schema> : undefined>): void | Promise<void>;
}

export type ModelplanePlugin<Schema extends StandardSchema | undefined = StandardSchema | undefined> = Readonly<
  PluginDefinition<Schema>
> & { readonly [PLUGIN_BRAND]: true };

/**
 * Declares a plugin. The package's default export must be the returned object:
 *
 * ```ts
 * export default definePlugin({
 *   name: 'modelplane-plugin-hello', version: '0.1.0', apiVersion: '^1',
 *   optionsSchema: z.object({ greeting: z.string().default('hello') }),
 *   setup(ctx) { ctx.hooks.ready.tapPromise(ctx.name, async () => ctx.logger.info(ctx.options.greeting)); },
 * });
 * ```
 */
export function definePlugin<Schema extends StandardSchema | undefined = undefined>(
  definition: PluginDefinition<Schema>,
): ModelplanePlugin<Schema> {
  return Object.freeze({ ...definition, [PLUGIN_BRAND]: true as const });
}

export function isBrandedPlugin(value: unknown): value is ModelplanePlugin {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_BRAND] === true;
}
