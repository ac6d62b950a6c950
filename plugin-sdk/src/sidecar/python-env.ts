/**
 * Python environments for sidecar runtimes. Each plugin ships a pinned `requirements.txt`; `modelplane plugins setup
 * <plugin>` builds a virtual environment from it under ${MODELPLANE_PY_CACHE:-~/.cache/modelplane}, named after the
 * plugin and keyed by the file's content and the interpreter's version, so a changed pin builds a new one and the
 * runtime finds it again without configuration. The `python` option of a runtime overrides all of this.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnservableModel } from '../runtime.ts';

/** The folder holding the `modelplane_sidecar` Python package; put it on the sidecar's PYTHONPATH. */
export const SIDECAR_PYTHON_LIBRARY = fileURLToPath(new URL('../../python', import.meta.url));

export interface PythonEnvSpec {
  /** Names the environment, e.g. the plugin's short name `runtime-pennylane`. */
  name: string;
  /** Absolute path of the pinned requirements file. */
  requirements: string;
  /** The interpreter that creates the venv; default `python3`. */
  python?: string;
}

function pythonVersion(python: string): string {
  const result = spawnSync(python, ['--version'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cannot run ${python} --version: ${result.error?.message ?? result.stderr}`);
  return (result.stdout || result.stderr).trim();
}

/** Where the environment for these requirements lives (whether or not it exists yet). */
export function pythonEnvDir(spec: PythonEnvSpec): string {
  const cache = process.env.MODELPLANE_PY_CACHE ?? join(homedir(), '.cache', 'modelplane');
  const hash = createHash('sha256')
    .update(readFileSync(spec.requirements))
    .update(pythonVersion(spec.python ?? 'python3'))
    .digest('hex')
    .slice(0, 16);
  return join(cache, `venv-${spec.name.replace(/[^\w.-]/g, '_')}-${hash}`);
}

/** The interpreter a runtime should start: the `python` option, else the set-up environment, else a clear error. */
export function resolvePython(option: string | undefined, spec: PythonEnvSpec, plugin: string): string {
  if (option) return option;
  const dir = pythonEnvDir(spec);
  if (existsSync(join(dir, '.complete'))) return join(dir, 'bin', 'python');
  throw new UnservableModel(`no Python environment for ${plugin}: run \`modelplane plugins setup ${plugin}\`, or set the plugin's python option to an interpreter that has its requirements`);
}

function run(command: string, args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const forward = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-4000);
      for (const line of text.split(/\r?\n|\r/)) if (line.trim()) onLine(line);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${tail}`))));
  });
}

/**
 * Creates the environment unless it is complete already, reporting pip's progress line by line; returns its folder.
 * A `#pip-args: …` line in the requirements file adds pip options (e.g. `--no-deps` for a complete lock).
 */
export async function ensurePythonEnv(spec: PythonEnvSpec, onLine: (line: string) => void = () => undefined): Promise<string> {
  const dir = pythonEnvDir(spec);
  if (existsSync(join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  onLine(`creating ${dir}`);
  await run(spec.python ?? 'python3', ['-m', 'venv', dir], onLine);
  const extra = readFileSync(spec.requirements, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('#pip-args:'))
    .flatMap((l) => l.slice('#pip-args:'.length).trim().split(/\s+/));
  await run(join(dir, 'bin', 'pip'), ['install', '--disable-pip-version-check', '--progress-bar', 'off', ...extra, '-r', spec.requirements], onLine);
  writeFileSync(join(dir, '.complete'), new Date().toISOString());
  return dir;
}
