import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireService } from './services.ts';
import { repoRoot } from './tmp.ts';

const exec = promisify(execFile);

/**
 * The Python environment of real clients the tests drive (tritonclient, openai): $MODELPLANE_TEST_VENV (set by
 * .ci/run), else built on demand from python/requirements-test.txt (cached outside the clone). Resolves to its
 * directory, or to '' when it is unavailable and the tests may skip.
 */
export async function requireTestVenv(what: string): Promise<string> {
  let venv = '';
  const available = await requireService(what, async () => {
    venv = process.env.MODELPLANE_TEST_VENV ?? (await exec(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-test.txt')], { timeout: 300_000 })).stdout.trim();
    return existsSync(join(venv, 'bin/python')) ? { available: true } : { available: false, reason: `no Python in ${venv}` };
  });
  return available ? venv : '';
}

/** Runs a check script from test/python with the test environment's Python; its last stdout line is JSON. */
export async function runPythonCheck(venv: string, script: string, args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await exec(join(venv, 'bin/python'), [join(repoRoot, 'test/python', script), ...args], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}
