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

  /** Gateway: a call was routed (the ranking is made; no budget is reserved and no vendor called yet). */
  readonly modelCallPlanned: AsyncParallelHook<[ModelCallEvent]>;
  /** Gateway: a vendor call begins (once per attempt: a fallback starts another). */
  readonly modelCallStarted: AsyncParallelHook<[ModelCallEvent]>;
  readonly modelCallCompleted: AsyncParallelHook<[ModelCallEvent]>;
  readonly modelCallFailed: AsyncParallelHook<[ModelCallEvent]>;
  /** Gateway: a budget's spend crossed 70, 90 or 100 % of its limit; once per budget, threshold and period. */
  readonly budgetThresholdCrossed: AsyncParallelHook<[BudgetThresholdEvent]>;
}

/** What the gateway tells about one call; fields fill in as the call progresses. */
export interface ModelCallEvent {
  readonly eventId: string;
  readonly requestId: string;
  readonly principal: string;
  readonly route: string;
  readonly strategy: string;
  readonly model: string;
  readonly version: string;
  readonly provider: string;
  readonly attempt: number;
  readonly stream: boolean;
  readonly costMicroUsd?: number;
  readonly error?: string;
}

export interface BudgetThresholdEvent {
  readonly budget: string;
  /** `global`, `key:<id>` or `model:<name>`. */
  readonly subject: string;
  readonly period: 'daily' | 'monthly';
  readonly periodStart: string;
  /** 70, 90 or 100. */
  readonly threshold: number;
  readonly level: 'warning' | 'critical' | 'exhausted';
  readonly spentMicroUsd: number;
  readonly limitMicroUsd: number;
}

export type HookName = keyof ModelplaneHooks;
