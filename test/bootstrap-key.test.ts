import { join } from 'node:path';
import { resolveConfig, startServer } from '@modelplane/core';
import { afterAll, expect, it, vi } from 'vitest';
import { makeTempDir } from './support/tmp.ts';

const tmp = makeTempDir('bootstrap-key');
afterAll(() => {
  vi.unstubAllEnvs();
  tmp.remove();
});

it('a first start that fails does not keep an admin key it never printed: the next start prints one', async () => {
  vi.stubEnv('MODELPLANE_ADMIN_KEY', ''); // no configured key: the server generates one
  const base = { server: { port: 0, logLevel: 'silent' as const }, storage: { dataDir: join(tmp.dir, 'data') }, auth: { adminKey: '' } };
  const failing = resolveConfig({ ...base, deployments: [{ name: 'x', model: 'nope', traffic: [{ version: '1.0.0', weight: 100 }] }] }, { dir: tmp.dir });
  await expect(startServer({ loaded: failing, listen: {} })).rejects.toThrow('no model named "nope"');

  const running = await startServer({ loaded: resolveConfig(base, { dir: tmp.dir }) });
  try {
    const token = running.notices.join('\n').match(/mp_[a-z0-9]{12}_[\w-]+/)?.[0];
    expect(token).toBeDefined();
    const response = await fetch(`${running.url}/api/v1/keys`, { headers: { authorization: `Bearer ${token!}` } });
    expect(response.status).toBe(200);
  } finally {
    await running.close();
  }
});
