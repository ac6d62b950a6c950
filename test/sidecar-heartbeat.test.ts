/**
 * Sidecar supervision with requests computed on the reading thread: heartbeats keep a computation longer than the
 * ping timeout alive, and a stopped process (no heartbeats) is still found and replaced.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SIDECAR_PYTHON_LIBRARY, SidecarInstance, type SidecarProcess } from '@modelplane/plugin-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTestVenv } from './support/python.ts';
import { repoRoot } from './support/tmp.ts';

const venv = await requireTestVenv('python with numpy (sidecar supervision)');

function spawnSleeper(): SidecarProcess {
  const child = spawn(join(venv, 'bin/python'), [join(repoRoot, 'test/fixtures/sidecar/slow_sidecar.py')], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: SIDECAR_PYTHON_LIBRARY, PYTHONUNBUFFERED: '1' },
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { pid: child.pid, stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited, kill: (signal) => void child.kill(signal) };
}

let instance: SidecarInstance | undefined;
afterEach(async () => {
  await instance?.dispose();
  instance = undefined;
});

const start = () => SidecarInstance.start({ name: 'sleeper', spawn: spawnSleeper, load: { header: {} }, maxBatchSize: 0, pingIntervalMs: 200, pingTimeoutMs: 600, spare: false });
const sleep = (seconds: number) => ({ inputs: [{ name: 'seconds', datatype: 'FP32' as const, shape: [1, 1], data: new Float32Array([seconds]) }] });

describe.runIf(venv !== '')('sidecar heartbeats', () => {
  it('a computation three times longer than the ping timeout finishes on the same process', async () => {
    instance = await start();
    const pid = instance.sidecar.pid;
    const answer = await instance.infer(sleep(1.8));
    expect(Array.from(answer.outputs[0]!.data as Float32Array)).toEqual([1.8].map(Math.fround));
    expect(instance.sidecar.pid).toBe(pid);
    expect(instance.sidecar.restarts).toBe(0);
  });

  it('a stopped process sends no heartbeats: it is killed and replaced, and its request fails fast', async () => {
    instance = await start();
    const pid = instance.sidecar.pid!;
    const pending = instance.infer(sleep(0.2));
    process.kill(pid, 'SIGSTOP');
    const started = performance.now();
    await expect(pending).rejects.toMatchObject({ statusCode: 503 });
    expect(performance.now() - started).toBeLessThan(3000);
    await expect.poll(() => instance!.sidecar.pid !== pid && instance!.sidecar.health().ready, { timeout: 10_000 }).toBe(true);
    expect(Array.from((await instance.infer(sleep(0))).outputs[0]!.data as Float32Array)).toEqual([0]);
  });
});
