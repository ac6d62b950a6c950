import type { ModelplaneHooks } from '@modelplane/plugin-sdk';
import { type AwilixContainer, asValue, createContainer, InjectionMode } from 'awilix';
import type { Logger } from 'pino';
import type { KeyScope } from '../auth/scopes.ts';
import type { LoadedConfig } from './config.ts';
import type { Contributions } from './contributions.ts';

/** Services every part of the core can depend on. Later modules add theirs here. */
export interface KernelCradle {
  loadedConfig: LoadedConfig;
  logger: Logger;
  hooks: ModelplaneHooks;
  contributions: Contributions;
}

/** What a request scope adds on top of the kernel's services. */
export interface Principal {
  /** The API key id; `anonymous` before authentication; `dev` when auth is off. */
  id: string;
  kind: 'key' | 'anonymous' | 'dev';
  scopes: readonly KeyScope[];
  /** Model name patterns this caller may touch; null: all. */
  models: readonly string[] | null;
  /** The key's own LLM gateway budget, when it has one. */
  budget?: { microUsd: number; period: 'daily' | 'monthly' };
}

export interface RequestCradle extends KernelCradle {
  requestId: string;
  principal: Principal;
}

export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', kind: 'anonymous', scopes: Object.freeze([]), models: null });

/**
 * PROXY injection (never CLASSIC, which reads parameter names) and strict mode, so a singleton can never
 * capture a request-scoped service.
 */
export function createKernelContainer(services: KernelCradle): AwilixContainer<KernelCradle> {
  const container = createContainer<KernelCradle>({ injectionMode: InjectionMode.PROXY, strict: true });
  container.register({
    loadedConfig: asValue(services.loadedConfig),
    logger: asValue(services.logger),
    hooks: asValue(services.hooks),
    contributions: asValue(services.contributions),
  });
  return container;
}

export function createRequestScope(
  container: AwilixContainer<KernelCradle>,
  requestId: string,
  principal: Principal = ANONYMOUS,
): AwilixContainer<RequestCradle> {
  const scope = container.createScope<RequestCradle>();
  scope.register({ requestId: asValue(requestId), principal: asValue(principal) });
  return scope;
}
