import type { AsyncParallelHook, AsyncSeriesHook, AsyncSeriesWaterfallHook } from 'tapable';
import type { VersionRecord } from './stores.ts';

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

  /** Registry: transform or reject a version's metadata before it is stored (throw a coded 4xx error to reject). */
  readonly beforeRegisterVersion: AsyncSeriesWaterfallHook<[Record<string, unknown>, { model: string; version: string }]>;
  /** Registry: a new version was stored (not called for an idempotent re-push). */
  readonly versionRegistered: AsyncParallelHook<[VersionRecord]>;
  /** Registry: an alias now points at `version`, or was removed (`version` null). */
  readonly aliasChanged: AsyncParallelHook<[{ model: string; alias: string; version: string | null }]>;
}

export type HookName = keyof ModelplaneHooks;
