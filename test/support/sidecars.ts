import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireService } from './services.ts';
import { repoRoot } from './tmp.ts';

const exec = promisify(execFile);

/**
 * The interpreter of the sidecars' Python environment (python/requirements-sidecars.txt: PennyLane, torch CPU,
 * snntorch): $MODELPLANE_SIDECAR_VENV (set by .ci/run), else built on demand by scripts/python-env.sh (cached).
 * Undefined when it is unavailable and services are not required (the caller skips).
 */
export async function sidecarPython(): Promise<string | undefined> {
  let python = '';
  const available = await requireService('python sidecar environment', async () => {
    let venv = process.env.MODELPLANE_SIDECAR_VENV;
    if (!venv) {
      const { stdout } = await exec(join(repoRoot, 'scripts/python-env.sh'), [join(repoRoot, 'python/requirements-sidecars.txt')], { timeout: 1_200_000 });
      venv = stdout.trim();
    }
    python = join(venv, 'bin/python');
    return existsSync(python) ? { available: true } : { available: false, reason: `no Python in ${venv}` };
  });
  return available ? python : undefined;
}
