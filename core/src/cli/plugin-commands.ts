import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { EXTENSION_POINTS, type ModelplanePlugin } from '@modelplane/plugin-sdk';
import type { Command } from 'commander';
import { Errors } from '../errors.ts';
import { parseConfigText, resolveConfig } from '../kernel/config.ts';
import { editConfigPlugins } from '../kernel/config-edit.ts';
import { assertApiCompatible, checkManifest, importPlugin, type PluginPackage, resolvePluginPackage, validateOptions } from '../kernel/plugin-loader.ts';
import { DEFAULT_CONFIG_NAMES } from './config-source.ts';

const exec = promisify(execFile);

/** Runs npm in the project folder, so the project's .npmrc (registry, auth, cache) applies as it would by hand. */
async function npm(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('npm', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof failed.code === 'string') throw new Errors.NpmFailed(`cannot run npm: ${failed.message}`, { cause: error });
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? failed.message };
  }
}

/** `name`, `name@range`, `@scope/name@range` → name and range (npm's own `latest` when none is given). */
export function parseSpec(spec: string): { name: string; range: string } {
  const at = spec.lastIndexOf('@');
  return at > 0 ? { name: spec.slice(0, at), range: spec.slice(at + 1) } : { name: spec, range: 'latest' };
}

interface RegistryManifest {
  name: string;
  version: string;
  keywords?: string[];
  modelplane?: { kinds?: string[]; apiVersion?: string };
  peerDependencies?: Record<string, string>;
}

/** The manifest npm would install for a spec, read from the registry before anything is installed. */
async function viewManifest(spec: string, cwd: string): Promise<RegistryManifest> {
  const { name, range } = parseSpec(spec);
  const result = await npm(['view', `${name}@${range}`, 'name', 'version', 'keywords', 'modelplane', 'peerDependencies', '--json'], cwd);
  const registry = async () => (await npm(['config', 'get', 'registry'], cwd)).stdout.trim();
  if (result.code !== 0) {
    // npm answers E404 too when the package exists but no version matches the range or tag.
    if (/No match found for version/.test(result.stderr + result.stdout)) {
      throw new Errors.PluginNotFound(`no version of ${name} matches "${range}" in the npm registry ${await registry()}`, { details: { plugin: name, range } });
    }
    if (/E404|404 Not Found|is not in this registry/.test(result.stderr + result.stdout)) {
      throw new Errors.PluginNotFound(`plugin ${name} was not found in the npm registry ${await registry()}`, { details: { plugin: name } });
    }
    throw new Errors.NpmFailed(`npm view ${spec} failed:\n${result.stderr.trim()}`);
  }
  const parsed = result.stdout.trim() === '' ? [] : (JSON.parse(result.stdout) as RegistryManifest | RegistryManifest[]);
  // A range matching several versions gives a list, oldest first; npm installs the newest of them.
  const manifest = Array.isArray(parsed) ? parsed.at(-1) : parsed;
  if (!manifest) {
    throw new Errors.PluginNotFound(`no version of ${name} matches "${range}" in the npm registry ${await registry()}`, { details: { plugin: name, range } });
  }
  return manifest;
}

/** Refuses, before install, a package that is not a Modelplane plugin or needs another plugin API. */
export function checkRegistryManifest(manifest: RegistryManifest): void {
  const apiVersion = manifest.modelplane?.apiVersion;
  if (typeof apiVersion !== 'string') {
    const keyword = manifest.keywords?.includes('modelplane-plugin') ? '' : ' and no "modelplane-plugin" keyword';
    throw new Errors.NotAPlugin(
      `${manifest.name}@${manifest.version} is not a Modelplane plugin: its package.json has no "modelplane": { "apiVersion" } field${keyword}`,
      { details: { plugin: manifest.name } },
    );
  }
  const unknown = (manifest.modelplane?.kinds ?? []).filter((kind) => !(EXTENSION_POINTS as readonly string[]).includes(kind));
  if (unknown.length > 0) {
    throw new Errors.NotAPlugin(`${manifest.name}@${manifest.version} declares unknown kinds ${unknown.join(', ')}; known: ${EXTENSION_POINTS.join(', ')}`, {
      details: { plugin: manifest.name, unknown },
    });
  }
  assertApiCompatible(manifest.name, manifest.version, apiVersion);
}

/** The config file a command edits: `-c`, else one in the working directory, else a new modelplane.config.yaml. */
function configFileFor(file: string | undefined): string {
  if (file) {
    // npm runs in the config's folder; without this, a missing one reads as "cannot run npm: spawn npm ENOENT".
    if (!existsSync(dirname(resolve(file)))) {
      throw new Errors.ConfigNotFound(`${dirname(resolve(file))} does not exist (the folder of the config file ${file})`, { details: { path: resolve(file) } });
    }
    return resolve(file);
  }
  return DEFAULT_CONFIG_NAMES.map((name) => resolve(name)).find((path) => existsSync(path)) ?? resolve('modelplane.config.yaml');
}

async function readText(path: string): Promise<string> {
  return existsSync(path) ? readFile(path, 'utf8') : '';
}

function configProblems(text: string, path: string): string[] {
  try {
    resolveConfig(parseConfigText(text, path), { path });
    return [];
  } catch (error) {
    const details = (error as { details?: unknown }).details;
    return Array.isArray(details) ? details.map((p: { path?: string; message: string }) => `${p.path ?? ''}: ${p.message}`) : [(error as Error).message];
  }
}

/**
 * Validates an edited config. Only problems the edit introduced refuse it: a config that already needs, say, an
 * environment variable set only where the server runs is not the edit's fault, and is reported as a note.
 */
function checkEditedConfig(before: string, after: string, path: string): string[] {
  const old = new Set(configProblems(before, path));
  const problems = configProblems(after, path);
  const introduced = problems.filter((p) => !old.has(p));
  if (introduced.length > 0) {
    throw new Errors.ConfigInvalid(`the edited ${path} would be invalid:\n${introduced.map((p) => `  ${p}`).join('\n')}`, { details: introduced });
  }
  return problems.length > 0 ? [`${path} has problems this command did not cause:\n${problems.map((p) => `  ${p}`).join('\n')}`] : [];
}

export interface AddResult {
  name: string;
  version: string;
  kinds: string[];
  configPath: string;
  added: boolean;
  notes: string[];
}

export async function addPlugin(spec: string, configFile?: string): Promise<AddResult> {
  const configPath = configFileFor(configFile);
  const projectDir = dirname(configPath);
  const manifest = await viewManifest(spec, projectDir);
  checkRegistryManifest(manifest);

  // The new config is built and validated before anything is installed or written.
  const before = await readText(configPath);
  const edit = editConfigPlugins(before, configPath, 'add', manifest.name);
  const notes = checkEditedConfig(before, edit.text, configPath);
  const raw = parseConfigText(edit.text, configPath) as { plugins?: Array<string | { package?: string }> };
  const index = (raw.plugins ?? []).findIndex((entry) => (typeof entry === 'string' ? entry : entry.package) === manifest.name);

  // What this command creates or installs, so that a refusal leaves the project as it was.
  const fresh = ['package.json', 'package-lock.json', 'node_modules'].filter((file) => !existsSync(resolve(projectDir, file)));
  const listed = (await dependenciesOf(projectDir))?.[manifest.name] !== undefined;
  let pkg: PluginPackage;
  let plugin: ModelplanePlugin;
  try {
    if (fresh.includes('package.json')) {
      // Without one, npm would install into the nearest parent project instead.
      await writeFile(resolve(projectDir, 'package.json'), '{\n  "private": true\n}\n');
      notes.push(`created ${relative(process.cwd(), resolve(projectDir, 'package.json')) || 'package.json'}`);
    }
    const installed = await npm(['install', `${manifest.name}@${manifest.version}`], projectDir);
    if (installed.code !== 0) {
      const output = installed.stderr.trim();
      if (/ERESOLVE|peer dep/i.test(output)) {
        throw new Errors.PluginPeerConflict(`${manifest.name}@${manifest.version} cannot be installed beside this project's packages (peer dependency conflict):\n${output}`, {
          details: { plugin: manifest.name, peerDependencies: manifest.peerDependencies },
        });
      }
      throw new Errors.NpmFailed(`npm install ${manifest.name}@${manifest.version} failed:\n${output}`);
    }

    // Check what landed on disk the way the server will load it: manifest first, then import and shape.
    pkg = resolvePluginPackage(manifest.name, projectDir);
    checkManifest(pkg);
    plugin = await importPlugin(pkg);
  } catch (error) {
    if (!listed && (await dependenciesOf(projectDir))?.[manifest.name] !== undefined) await npm(['uninstall', manifest.name], projectDir);
    for (const file of fresh) await rm(resolve(projectDir, file), { recursive: true, force: true });
    throw error;
  }
  try {
    await validateOptions(plugin, undefined, `plugins[${index}].options`);
  } catch (error) {
    notes.push(`${(error as Error).message}\n  (set them under plugins[${index}].options in ${configPath})`);
  }
  if (edit.changed) await writeFile(configPath, edit.text);
  return { name: manifest.name, version: pkg.version, kinds: manifest.modelplane?.kinds ?? [], configPath, added: edit.changed, notes };
}

async function dependenciesOf(projectDir: string): Promise<Record<string, string> | undefined> {
  const pkgJson = resolve(projectDir, 'package.json');
  return existsSync(pkgJson) ? (JSON.parse(await readFile(pkgJson, 'utf8')) as { dependencies?: Record<string, string> }).dependencies : undefined;
}

export async function removePlugin(name: string, configFile?: string): Promise<{ configPath: string; removed: boolean; uninstalled: boolean }> {
  const configPath = configFileFor(configFile);
  const projectDir = dirname(configPath);
  const edit = editConfigPlugins(await readText(configPath), configPath, 'remove', name);
  if (edit.changed) {
    checkEditedConfig(await readText(configPath), edit.text, configPath);
    await writeFile(configPath, edit.text);
  }
  const deps = await dependenciesOf(projectDir);
  let uninstalled = false;
  if (deps?.[name]) {
    const result = await npm(['uninstall', name], projectDir);
    if (result.code !== 0) throw new Errors.NpmFailed(`npm uninstall ${name} failed:\n${result.stderr.trim()}`);
    uninstalled = true;
  }
  return { configPath, removed: edit.changed, uninstalled };
}

export interface SearchHit {
  name: string;
  version: string;
  description?: string;
}

type RawHit = SearchHit & { keywords?: string[]; 'dist-tags'?: { latest?: string } };

async function npmSearch(terms: string[], cwd: string): Promise<RawHit[]> {
  const result = await npm(['search', ...terms, '--searchlimit', '100', '--json'], cwd);
  if (result.code !== 0) throw new Errors.NpmFailed(`npm search failed:\n${result.stderr.trim()}`);
  return result.stdout.trim() === '' ? [] : (JSON.parse(result.stdout) as RawHit[]);
}

/**
 * Plugins by keyword. npmjs understands the `keywords:` qualifier; registries that do not (Verdaccio) find nothing
 * with it, so we then search the plain text and keep the packages carrying the keyword ourselves.
 */
export async function searchPlugins(text: string[], cwd = process.cwd()): Promise<SearchHit[]> {
  let hits = await npmSearch(['keywords:modelplane-plugin', ...text], cwd);
  if (hits.length === 0) {
    hits = (await npmSearch(text.length > 0 ? text : ['modelplane-plugin'], cwd)).filter((hit) => hit.keywords?.includes('modelplane-plugin'));
  }
  return hits.map((hit) => ({
    name: hit.name,
    version: hit.version ?? hit['dist-tags']?.latest ?? '',
    ...(hit.description ? { description: hit.description } : {}),
  }));
}

export function addPluginCommands(plugins: Command, configHelp: string): void {
  plugins
    .command('add <spec>')
    .description('install a plugin with npm (name[@range]), check it, and add it to the config file')
    .option('-c, --config <file>', configHelp)
    .action(async (spec: string, opts: { config?: string }) => {
      const result = await addPlugin(spec, opts.config);
      const where = relative(process.cwd(), result.configPath) || result.configPath;
      const what = `${result.name}@${result.version}${result.kinds.length > 0 ? ` (${result.kinds.join(', ')})` : ''}`;
      process.stdout.write(result.added ? `added ${what} to ${where}\n` : `installed ${what}; ${where} already lists it\n`);
      for (const note of result.notes) process.stdout.write(`note: ${note}\n`);
    });
  plugins
    .command('remove <name>')
    .description('remove a plugin from the config file and uninstall it')
    .option('-c, --config <file>', configHelp)
    .action(async (name: string, opts: { config?: string }) => {
      const result = await removePlugin(name, opts.config);
      const where = relative(process.cwd(), result.configPath) || result.configPath;
      process.stdout.write(`${result.removed ? `removed ${name} from ${where}` : `${where} does not list ${name}`}${result.uninstalled ? '; uninstalled it' : ''}\n`);
    });
  plugins
    .command('search [text...]')
    .description('search the npm registry for Modelplane plugins (keyword modelplane-plugin)')
    .option('--json', 'print JSON')
    .action(async (text: string[], opts: { json?: boolean }) => {
      const hits = await searchPlugins(text);
      if (opts.json) process.stdout.write(`${JSON.stringify(hits, null, 2)}\n`);
      else if (hits.length === 0) process.stdout.write('no plugins found\n');
      else for (const hit of hits) process.stdout.write(`${hit.name}@${hit.version}  ${hit.description ?? ''}\n`.replace(/ +\n$/, '\n'));
    });
}
