/**
 * Stages a workspace package for publishing: compiles `src/` to JavaScript in `<out>/dist` and writes a package.json
 * whose exports point there. Needed because Node strips types only outside node_modules: a package published with
 * `.ts` entry points (as the workspaces are, so the repository runs without a build) would not load once installed.
 *
 *   node scripts/stage-package.ts plugin-sdk /tmp/stage/plugin-sdk && npm publish /tmp/stage/plugin-sdk
 *   node scripts/stage-package.ts packages/create-modelplane-plugin /tmp/stage/create templates=templates
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

type Exports = string | { [condition: string]: Exports };

/** `./src/x.ts` → `{ types: './dist/x.d.ts', default: './dist/x.js' }`, through nested conditions. */
function toDist(target: Exports): Exports {
  if (typeof target !== 'string') return Object.fromEntries(Object.entries(target).map(([key, value]) => [key, toDist(value)]));
  if (!/^\.\/src\/.*\.ts$/.test(target)) return target;
  const base = target.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '');
  return { types: `${base}.d.ts`, default: `${base}.js` };
}

/**
 * The package's own `files` other than `src` (e.g. `python/`) and a `bin/` folder are copied (bins are plain
 * JavaScript that pick `dist/` when present); `extra` copies more folders into the stage and its `files` (the
 * scaffolder ships the repository's `templates/`).
 */
export function stagePackage(packageDir: string, outDir: string, extra: Record<string, string> = {}): string {
  const dir = resolve(packageDir);
  const out = resolve(outDir);
  mkdirSync(out, { recursive: true });
  const tsc = join(import.meta.dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--outDir', join(out, 'dist'), '--sourceMap', 'false'], { stdio: 'inherit' });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  pkg.exports = toDist(pkg.exports as Exports);
  // What the package itself ships besides its sources (the SDK's and the sidecar runtimes' python/) goes along.
  const shipped = ((pkg.files as string[] | undefined) ?? []).filter((entry) => entry !== 'src' && entry !== 'dist' && existsSync(join(dir, entry)));
  const copies: Record<string, string> = {
    ...Object.fromEntries(shipped.map((entry) => [entry, join(dir, entry)])),
    ...(existsSync(join(dir, 'bin')) ? { bin: join(dir, 'bin') } : {}),
    ...extra,
  };
  for (const [name, from] of Object.entries(copies)) cpSync(from, join(out, name), { recursive: true });
  pkg.files = ['dist', ...Object.keys(copies)];
  delete pkg.scripts;
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const file of ['README.md', 'LICENSE']) if (existsSync(join(dir, file))) cpSync(join(dir, file), join(out, file));
  return out;
}

if (import.meta.main) {
  const [packageDir, outDir, ...copies] = process.argv.slice(2);
  if (!packageDir || !outDir) {
    console.error('usage: node scripts/stage-package.ts <package-dir> <out-dir>');
    process.exit(1);
  }
  // Extra arguments are name=path pairs: `templates=templates`.
  console.log(stagePackage(packageDir, outDir, Object.fromEntries(copies.map((c) => c.split('=') as [string, string]))));
}
