import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type ConfigInput, generateApiKey, type RunningServer, resolveConfig, type StartOptions, startServer } from '@modelplane/core';
import { makeTempDir, repoRoot } from './tmp.ts';

export interface TestServer {
  running: RunningServer;
  url: string;
  /** The bootstrap admin key the server was started with. */
  adminKey: string;
  dataDir: string;
  /** fetch against the server, with `Authorization: Bearer <key>` when a key is given (default: the admin key). */
  call(path: string, init?: RequestInit & { key?: string | null; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

/** Starts a real server on a free loopback port, in a fresh data directory, with a known admin key. */
export async function startTestServer(
  config: ConfigInput = {},
  options: Omit<StartOptions, 'loaded'> & { configDir?: string } = {},
): Promise<TestServer> {
  const tmp = makeTempDir('server');
  const adminKey = generateApiKey().token;
  const loaded = resolveConfig(
    {
      ...config,
      server: { port: 0, logLevel: 'silent', ...config.server },
      storage: { dataDir: join(tmp.dir, 'data'), ...config.storage },
      auth: { adminKey, ...config.auth },
    },
    { dir: options.configDir ?? join(repoRoot, 'examples') },
  );
  const running = await startServer({ ...options, loaded });
  return {
    running,
    url: running.url,
    adminKey,
    dataDir: loaded.dataDir,
    call(path, init = {}) {
      const { key = adminKey, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key) headers.set('authorization', `Bearer ${key}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${running.url}${path}`, { ...rest, headers, ...(json === undefined ? {} : { body: JSON.stringify(json) }) });
    },
    async close() {
      await running.close();
      tmp.remove();
    },
  };
}

/**
 * Runs `modelplane serve -c <config>` as a process of its own (so a test can SIGKILL it and restart on the same data
 * directory); answers once it listens. The child joins `children`, which the test kills when it ends.
 */
export async function serveProcess(config: string, children: ChildProcess[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(join(repoRoot, 'node_modules/.bin/node'), [join(repoRoot, 'core/bin/modelplane.js'), 'serve', '-c', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) {
    const match = /listening on (\S+)/.exec(line);
    if (match) return { child, url: match[1]! };
  }
  throw new Error('server exited before listening');
}
