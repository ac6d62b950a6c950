import { cpSync, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPLATES = ['runtime', 'scanner', 'router-strategy', 'guard'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

/** npm's rules for a package name (lowercase, URL-safe, optionally scoped, at most 214 characters). */
const NPM_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
/** Third-party plugins: `modelplane-plugin-<name>` or `@scope/modelplane-plugin-<name>`; official: `@modelplane/<kind>-<name>`. */
const PLUGIN_NAME = /^(?:(?:@[a-z0-9-~][a-z0-9-._~]*\/)?modelplane-plugin-[a-z0-9][a-z0-9-._~]*|@modelplane\/[a-z0-9][a-z0-9-._~]*-[a-z0-9][a-z0-9-._~]*)$/;

export class ScaffoldError extends Error {}

/**
 * The package name for what the user typed: `foo` becomes `modelplane-plugin-foo` and `@acme/foo`
 * `@acme/modelplane-plugin-foo`, so every plugin carries the prefix `plugins search` and people look for.
 */
export function pluginPackageName(input: string): string {
  const trimmed = input.trim();
  const match = /^(@[^/]+\/)?(.*)$/.exec(trimmed)!;
  const [, scope = '', bare = ''] = match;
  const name = scope === '@modelplane/' || bare.startsWith('modelplane-plugin-') ? trimmed : `${scope}modelplane-plugin-${bare}`;
  if (name.length > 214 || !NPM_NAME.test(name)) {
    throw new ScaffoldError(`"${input}" is not a valid npm package name (lowercase letters, digits, - . _ ~, optionally @scope/)`);
  }
  if (!PLUGIN_NAME.test(name)) throw new ScaffoldError(`"${name}" does not follow the plugin naming convention (modelplane-plugin-<name>)`);
  return name;
}

/** The id the plugin's contributions use: the package name without scope and `modelplane-plugin-` prefix. */
export function shortName(packageName: string): string {
  return packageName.replace(/^@[^/]+\//, '').replace(/^modelplane-plugin-/, '');
}

/** Where the templates are: bundled into the published package by `prepack`, else the repository's `templates/`. */
export function templatesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const bundled = resolve(here, '..', 'templates');
  return existsSync(bundled) ? bundled : resolve(here, '..', '..', '..', 'templates');
}

function sdkVersion(): string {
  // Found from this package, so the scaffold pins the SDK that this scaffolder was released with.
  let dir = dirname(fileURLToPath(import.meta.resolve('@modelplane/plugin-sdk')));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

export interface CreateOptions {
  template: string;
  /** What the user typed; normalised by `pluginPackageName`. */
  name: string;
  /** Target directory; default: the unscoped package name in the working directory. */
  dir?: string;
}

export interface Created {
  packageName: string;
  dir: string;
  sdkRange: string;
}

const TEXT_FILE = /\.(ts|json|md|yaml|yml)$|^_gitignore$/;

/** Copies a template, renames it to the package, and pins the SDK range (create-vite's recipe). */
export function createPlugin(options: CreateOptions): Created {
  if (!(TEMPLATES as readonly string[]).includes(options.template)) {
    throw new ScaffoldError(`unknown template "${options.template}"; choose one of: ${TEMPLATES.join(', ')}`);
  }
  const packageName = pluginPackageName(options.name);
  const dir = resolve(options.dir ?? packageName.replace(/^@[^/]+\//, ''));
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new ScaffoldError(`${dir} already exists and is not empty`);

  const source = join(templatesDir(), options.template);
  cpSync(source, dir, { recursive: true, filter: (path) => !/[/\\](node_modules|dist)$/.test(path) });
  // npm drops .gitignore files from published packages, so templates carry it as _gitignore.
  renameSync(join(dir, '_gitignore'), join(dir, '.gitignore'));

  const placeholder = `modelplane-plugin-template-${options.template}`;
  const id = `template-${options.template}`;
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (TEXT_FILE.test(entry) || entry === '.gitignore') {
        const text = readFileSync(path, 'utf8');
        const renamed = text.replaceAll(placeholder, packageName).replaceAll(id, shortName(packageName));
        if (renamed !== text) writeFileSync(path, renamed);
      }
    }
  };
  walk(dir);

  const version = sdkVersion();
  const sdkRange = `^${version.split('.')[0]}`;
  const pkgPath = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as Record<string, Record<string, string>>;
  pkg.peerDependencies = { ...pkg.peerDependencies, '@modelplane/plugin-sdk': sdkRange };
  pkg.devDependencies = { ...pkg.devDependencies, '@modelplane/plugin-sdk': `^${version}` };
  writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
  return { packageName, dir, sdkRange };
}

export function nextSteps(created: Created, cwd = process.cwd()): string {
  const relative = created.dir.startsWith(`${cwd}/`) ? created.dir.slice(cwd.length + 1) : created.dir;
  return [
    `Created ${created.packageName} in ${created.dir} (peer @modelplane/plugin-sdk ${created.sdkRange})`,
    '',
    'Next:',
    `  cd ${relative}`,
    '  npm install',
    '  npm test        # the conformance kit',
    '  npm publish     # builds dist/ first',
  ].join('\n');
}
