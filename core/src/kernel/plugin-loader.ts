import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  formatPath,
  isBrandedPlugin,
  isMpError,
  type ModelplanePlugin,
  type PluginContext,
  type StandardSchema,
} from '@modelplane/plugin-sdk';
import semver from 'semver';
import { z } from 'zod';
import { Errors } from '../errors.ts';
import { PLUGIN_API_VERSION } from '../version.ts';

export interface PluginPackage {
  /** What the config named: a package name, or a path relative to the config file. */
  spec: string;
  name: string;
  version: string;
  dir: string;
  entry: string;
  /** The `modelplane` field of package.json, read before any of the plugin's code runs. */
  manifest: { kinds?: string[]; apiVersion?: string } | undefined;
}

interface PackageJson {
  name?: string;
  version?: string;
  main?: string;
  exports?: unknown;
  modelplane?: { kinds?: string[]; apiVersion?: string };
}

/**
 * Finds a plugin package the way Node finds a bare import written in a file next to the config:
 * through the `node_modules` folders from the config's directory upwards. A spec starting with `.` or `/`
 * is a package directory relative to the config file.
 */
export function resolvePluginPackage(spec: string, fromDir: string): PluginPackage {
  let dir: string | undefined;
  if (spec.startsWith('.') || isAbsolute(spec)) {
    const candidate = resolve(fromDir, spec);
    if (!existsSync(join(candidate, 'package.json'))) {
      throw new Errors.PluginNotInstalled(`plugin ${spec} is not a package folder: ${join(candidate, 'package.json')} does not exist`, {
        details: { plugin: spec, from: fromDir },
      });
    }
    dir = candidate;
  } else {
    const searched = createRequire(join(fromDir, 'modelplane.config.js')).resolve.paths(spec) ?? [];
    dir = searched.map((base) => join(base, spec)).find((candidate) => existsSync(join(candidate, 'package.json')));
  }
  if (!dir) {
    throw new Errors.PluginNotInstalled(
      `plugin ${spec} is not installed (looked in node_modules from ${fromDir} upwards); run: npm install ${spec}`,
      { details: { plugin: spec, from: fromDir } },
    );
  }
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
  return {
    spec,
    name: pkg.name ?? spec,
    version: pkg.version ?? '0.0.0',
    dir,
    entry: entryFile(dir, pkg),
    manifest: pkg.modelplane,
  };
}

const IMPORT_CONDITIONS = new Set(['import', 'node', 'module-sync', 'default']);

function entryFile(dir: string, pkg: PackageJson): string {
  const exportsField = pkg.exports;
  const root =
    exportsField !== null && typeof exportsField === 'object' && !Array.isArray(exportsField) && '.' in exportsField
      ? (exportsField as Record<string, unknown>)['.']
      : exportsField;
  const target = pickExportTarget(root) ?? pkg.main ?? 'index.js';
  const file = resolve(dir, target);
  return existsSync(file) || !existsSync(`${file}.js`) ? file : `${file}.js`;
}

/** Follows an `exports` target through the conditions an ESM import in Node matches, in key order. */
function pickExportTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const item of target) {
      const found = pickExportTarget(item);
      if (found) return found;
    }
    return undefined;
  }
  if (target !== null && typeof target === 'object') {
    for (const [condition, value] of Object.entries(target)) {
      if (!IMPORT_CONDITIONS.has(condition)) continue;
      const found = pickExportTarget(value);
      if (found) return found;
    }
  }
  return undefined;
}

/** Refuses a package whose manifest declares an incompatible API range, before importing its code. */
export function checkManifest(pkg: PluginPackage): void {
  const range = pkg.manifest?.apiVersion;
  if (range !== undefined) assertApiCompatible(pkg.name, pkg.version, range);
}

export function assertApiCompatible(name: string, version: string, range: string): void {
  if (semver.validRange(range) === null) {
    throw new Errors.NotAPlugin(`plugin ${name}@${version} declares plugin API "${range}", which is not a semver range such as ^1`, {
      details: { plugin: name, pluginVersion: version, required: range },
    });
  }
  if (!semver.satisfies(PLUGIN_API_VERSION, range, { includePrerelease: true })) {
    throw new Errors.PluginApiIncompatible(
      `plugin ${name}@${version} requires plugin API ${range}, but this Modelplane core provides plugin API ${PLUGIN_API_VERSION}`,
      { details: { plugin: name, pluginVersion: version, required: range, provided: PLUGIN_API_VERSION } },
    );
  }
}

export async function importPlugin(pkg: PluginPackage): Promise<ModelplanePlugin> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(pkg.entry).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = existsSync(pkg.entry)
      ? (error as Error).message
      : `its entry file ${pkg.entry} does not exist (was the package built?)`;
    throw new Errors.PluginImportFailed(
      `plugin ${pkg.name} is installed at ${pkg.dir} but failed to import: ${reason}`,
      {
        cause: error,
        details: { plugin: pkg.name, entry: pkg.entry },
      },
    );
  }
  return checkPluginShape(module.default, pkg.name);
}

const PluginShape = z.object({
  name: z.string().min(1),
  version: z.string().refine((v) => semver.valid(v) !== null, 'must be a semver version such as 1.2.3'),
  apiVersion: z.string().refine((r) => semver.validRange(r) !== null, 'must be a semver range such as ^1'),
  description: z.string().optional(),
  optionsSchema: z
    .custom<StandardSchema>(
      (v) => typeof (v as StandardSchema | null)?.['~standard']?.validate === 'function',
      'must be a Standard Schema, e.g. a zod schema',
    )
    .optional(),
  setup: z.custom<(ctx: PluginContext) => unknown>((v) => typeof v === 'function', 'must be a function'),
});

/** Checks an imported value is a plugin made by `definePlugin`, with a well-formed definition. */
export function checkPluginShape(value: unknown, source: string): ModelplanePlugin {
  if (!isBrandedPlugin(value)) {
    throw new Errors.NotAPlugin(
      `${source} is not a Modelplane plugin: its default export must be made by definePlugin() from @modelplane/plugin-sdk`,
      { details: { plugin: source } },
    );
  }
  const parsed = PluginShape.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${formatPath('', issue.path)} ${issue.message}`);
    throw new Errors.NotAPlugin(`${source} is not a valid Modelplane plugin: ${problems.join('; ')}`, {
      details: { plugin: source, problems },
    });
  }
  return value;
}

/** Validates a plugin's options with its schema; errors name the config path (`plugins[2].options.threads`). */
export async function validateOptions(
  plugin: ModelplanePlugin,
  options: unknown,
  configPath: string,
): Promise<unknown> {
  const schema = plugin.optionsSchema;
  if (!schema) return options;
  const result = await schema['~standard'].validate(options ?? {});
  if (result.issues) {
    const problems = result.issues.map((issue) => ({
      path: formatPath(configPath, issue.path),
      message: issue.message,
    }));
    throw new Errors.PluginOptionsInvalid(
      `invalid options for plugin ${plugin.name}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
      { details: problems },
    );
  }
  return result.value;
}

/** Runs `setup` with a time limit; contribution errors keep their own code, anything else is a setup failure. */
export async function runSetup(plugin: ModelplanePlugin, ctx: PluginContext, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Errors.PluginSetupTimeout(`plugin ${plugin.name}: setup did not finish within ${timeoutMs} ms`, {
            details: { plugin: plugin.name, timeoutMs },
          }),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([Promise.resolve().then(() => plugin.setup(ctx as never)), timeout]);
  } catch (error) {
    if (isMpError(error) && (error.code.startsWith('MP_ERR_PLUGIN_SETUP') || error.code.includes('CONTRIBUTION'))) {
      throw error;
    }
    throw new Errors.PluginSetupFailed(
      `plugin ${plugin.name}: setup threw: ${(error as Error)?.message ?? String(error)}`,
      {
        cause: error,
        details: { plugin: plugin.name },
      },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What `config check` can tell about the configured plugins without running them: each is installed, has a compatible
 * API range, imports, is made by `definePlugin`, is listed once, and accepts its options. Every problem is returned,
 * with the config path it belongs to; `setup` is not run, so contributions (and clashing ids) are not checked.
 */
export async function checkConfiguredPlugins(
  entries: readonly { package: string; options: unknown; index: number }[],
  configDir: string,
): Promise<Array<{ path: string; message: string }>> {
  const problems: Array<{ path: string; message: string }> = [];
  const seen = new Map<string, number>();
  for (const entry of entries) {
    const path = `plugins[${entry.index}]`;
    try {
      const pkg = resolvePluginPackage(entry.package, configDir);
      checkManifest(pkg);
      const plugin = await importPlugin(pkg);
      assertApiCompatible(plugin.name, plugin.version, plugin.apiVersion);
      const first = seen.get(plugin.name);
      if (first !== undefined) {
        throw new Errors.PluginDuplicate(`plugin ${plugin.name} is configured twice (plugins[${first}] and ${path}); list it once`);
      }
      seen.set(plugin.name, entry.index);
      await validateOptions(plugin, entry.options, `${path}.options`);
    } catch (error) {
      if (!isMpError(error)) throw error;
      const details = (error as { details?: unknown }).details;
      if (error.code === 'MP_ERR_PLUGIN_OPTIONS_INVALID' && Array.isArray(details)) problems.push(...(details as typeof problems));
      else problems.push({ path, message: `${error.code}: ${error.message}` });
    }
  }
  return problems;
}
