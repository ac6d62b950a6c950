import type { ModelplanePlugin } from '@modelplane/plugin-sdk';
import type { Logger } from 'pino';
import { type App, buildServer } from './api/server.ts';
import type { LoadedConfig } from './kernel/config.ts';
import { createKernel, type Kernel } from './kernel/kernel.ts';

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
  app: App;
  url: string;
  /** Stops accepting, waits for in-flight requests (up to `server.shutdownTimeoutMs`), then runs shutdown hooks. */
  close(): Promise<void>;
}

/** Boot order: plugin setup → `boot` hook → routes → listen → `ready` hook. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const kernel = await createKernel(options);
  let app: App | undefined;
  try {
    await kernel.boot();
    app = await buildServer(kernel);
    await options.beforeListen?.(app);
    const { server } = kernel.loaded.config;
    const address = await app.listen({
      port: options.listen?.port ?? server.port,
      host: options.listen?.host ?? server.host,
    });
    await kernel.hooks.ready.promise();
    const running = app;
    let closing: Promise<void> | undefined;
    return {
      kernel,
      app: running,
      url: address,
      close: () => {
        closing ??= closeGracefully(running, kernel);
        return closing;
      },
    };
  } catch (error) {
    await app?.close().catch(() => {});
    await kernel.shutdown().catch(() => {});
    throw error;
  }
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
