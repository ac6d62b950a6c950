import type { AsyncSeriesHook } from 'tapable';

/**
 * The one hooks object of a Modelplane server (see docs/lifecycle.md for the diagram).
 * Every hook is a tapable hook: tap it with a name, e.g.
 * `ctx.hooks.ready.tapPromise('my-plugin', async () => { … })`.
 *
 * Lifecycle:
 * - `boot`     after every plugin's setup, before the server listens (open connections, load state);
 * - `ready`    once the server accepts requests;
 * - `shutdown` after the server stopped accepting and finished in-flight requests. Taps run in
 *              reverse order of registration, so what started last stops first.
 */
export interface ModelplaneHooks {
  readonly boot: AsyncSeriesHook<[]>;
  readonly ready: AsyncSeriesHook<[]>;
  readonly shutdown: AsyncSeriesHook<[]>;
}

export type HookName = keyof ModelplaneHooks;
