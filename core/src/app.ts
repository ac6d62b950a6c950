import type { ModelplanePlugin } from '@modelplane/plugin-sdk';
import type { Logger } from 'pino';
import type { DeclaredRoute } from './api/access-control.ts';
import { type App, buildServer } from './api/server.ts';
import type { LoadedConfig } from './kernel/config.ts';
import { createKernel, type Kernel } from './kernel/kernel.ts';
import { Errors } from './errors.ts';
import { parseToken } from './auth/api-keys.ts';
import { bootstrapAdminKey } from './auth/keys-service.ts';
import { type CoreServices, openCoreServices } from './services.ts';
import { loadDeclaredModels, registerDeclaredLlms } from './serving/declared-models.ts';

export interface StartOptions {
  loaded: LoadedConfig;
  logger?: Logger;
  builtins?: readonly ModelplanePlugin[];
  /** Override the config's port/host (the CLI's --port/--host). */
  listen?: { port?: number; host?: string };
  /** Called with the server before it listens; tests use it to add routes. */
  beforeListen?: (app: App) => void | Promise<void>;
}

export interface RunningServer {
  kernel: Kernel;
  services: CoreServices;
  app: App;
  routes: DeclaredRoute[];
  url: string;
  /** Things to show the operator once, outside the logs (a generated bootstrap key). */
  notices: string[];
  /** Stops accepting, waits for in-flight requests (up to `server.shutdownTimeoutMs`), then runs shutdown hooks. */
  close(): Promise<void>;
}

/** Boot order: plugin setup → `boot` hook → routes → listen → `ready` hook. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const kernel = await createKernel(options);
  let app: App | undefined;
  let services: CoreServices | undefined;
  let generatedKey: string | undefined;
  try {
    await kernel.boot();
    services = await openCoreServices(kernel);
    const access = await accessNotices(kernel, services);
    const notices = access.notices;
    generatedKey = access.generatedKey;
    const built = await buildServer(kernel, services);
    app = built.app;
    await options.beforeListen?.(app);
    const { server } = kernel.loaded.config;
    const port = options.listen?.port ?? server.port;
    const host = options.listen?.host ?? server.host;
    const address = await app.listen({ port, host }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') throw new Errors.ListenFailed(`port ${port} on ${host} is already in use; pick another with --port (or PORT for npm start)`);
      if (error.code === 'EADDRNOTAVAIL' || error.code === 'EACCES') throw new Errors.ListenFailed(`cannot listen on ${host}:${port}: ${error.message}`);
      throw error;
    });
    const scanning = services.scanning;
    void scanning.resumeInterrupted().catch((error: unknown) => kernel.logger.error({ err: error }, 'resuming interrupted scans failed'));
    await registerDeclaredLlms(kernel.loaded.config, services.registry);
    await loadDeclaredModels(kernel.loaded.config, kernel.loaded.dir, services.registry, services.models);
    await services.deployments.start(kernel.loaded.config.deployments);
    services.updates.start(kernel.loaded.config.updates.intervalMs);
    await kernel.hooks.ready.promise();
    const running = app;
    const opened = services;
    let closing: Promise<void> | undefined;
    return {
      kernel,
      services: opened,
      app: running,
      routes: built.routes,
      url: address,
      notices,
      close: () => {
        closing ??= closeGracefully(running, kernel).finally(() => opened.close());
        return closing;
      },
    };
  } catch (error) {
    // A generated admin key is printed only once the server is up: one made by a start that then failed was never
    // shown, so it is revoked, and the next start on this data directory generates (and prints) another.
    if (generatedKey !== undefined) await services?.keys.revokeKey(generatedKey, new Date().toISOString()).catch(() => {});
    await app?.close().catch(() => {});
    await kernel.shutdown().catch(() => {});
    await services?.close().catch(() => {});
    throw error;
  }
}

async function accessNotices(kernel: Kernel, services: CoreServices): Promise<{ notices: string[]; generatedKey?: string }> {
  const { auth } = kernel.loaded.config;
  if (auth.mode === 'none') {
    kernel.logger.warn('auth.mode is "none": every caller has full admin access. Use this for local development only.');
    return { notices: ['WARNING: access control is OFF (auth.mode: none) — every caller is an admin. Local development only.'] };
  }
  const generated = await bootstrapAdminKey(services.keys, auth.adminKey ?? (process.env.MODELPLANE_ADMIN_KEY || undefined));
  if (!generated) return { notices: [] };
  await services.audit({ actor: 'system', action: 'key.bootstrap', target: 'admin key' });
  const notices = [
    'Created the bootstrap admin API key. It is shown only this once; store it now:',
    `  ${generated}`,
    '  (use it as "Authorization: Bearer <key>"; set auth.adminKey or MODELPLANE_ADMIN_KEY to choose your own;',
    '   lost it? stop the server and run: modelplane keys recover-admin -c <config>)',
  ];
  return { notices, generatedKey: parseToken(generated)?.id };
}

async function closeGracefully(app: App, kernel: Kernel): Promise<void> {
  const { shutdownTimeoutMs } = kernel.loaded.config.server;
  const timer = setTimeout(() => {
    kernel.logger.warn({ shutdownTimeoutMs }, 'in-flight requests did not finish in time; closing their connections');
    app.server.closeAllConnections();
  }, shutdownTimeoutMs);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
    await kernel.shutdown();
  }
}

/** SIGINT/SIGTERM → graceful close; a second signal exits at once. */
export function closeOnSignals(
  running: RunningServer,
  onClosed: (code: number) => void = (code) => process.exit(code),
): void {
  let received = false;
  const handle = (signal: NodeJS.Signals) => {
    if (received) {
      running.kernel.logger.warn({ signal }, 'second signal: exiting without waiting');
      onClosed(130);
      return;
    }
    received = true;
    running.kernel.logger.info({ signal }, 'shutting down: finishing in-flight requests');
    running.close().then(
      () => onClosed(0),
      (error: unknown) => {
        running.kernel.logger.error({ err: error }, 'shutdown failed');
        onClosed(1);
      },
    );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
