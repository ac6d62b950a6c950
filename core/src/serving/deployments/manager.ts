import type { InferRequest, InferResponse, ModelValidator } from '@modelplane/plugin-sdk';
import type { Logger } from 'pino';
import { Errors } from '../../errors.ts';
import type { EventBus } from '../../events.ts';
import type { Registry } from '../../registry/registry.ts';
import type { LoadedModel, ModelManager } from '../model-manager.ts';
import { AlertTracker } from './alerts.ts';
import { analyseStep } from './analysis.ts';
import { ShadowReport } from './shadow.ts';
import type { DeploymentSpec, RolloutOutcome, RolloutState, Traffic } from './spec.ts';
import { VersionStats } from './stats.ts';
import type { Decision, DeploymentStore, StoredDeployment } from './store.ts';
import { canaryTraffic, pickVersion } from './traffic.ts';
import { signatureBreaks, validateCandidate } from './validation.ts';

export interface DeploymentDeps {
  store: DeploymentStore;
  registry: Registry;
  models: ModelManager;
  validators: { get(id: string): ModelValidator | undefined };
  events: EventBus;
  audit(entry: { actor: string; action: string; target: string; details?: unknown }): Promise<void>;
  logger: Logger;
}

/** A deployment in memory: the stored record plus one warmed-up instance per version that takes traffic. */
interface Live {
  stored: StoredDeployment;
  instances: Map<string, LoadedModel>;
  stats: VersionStats;
  shadow: ShadowReport;
  alerts: AlertTracker;
  /** Why it cannot serve (its versions failed to load at start). */
  error?: string;
  stepTimer?: NodeJS.Timeout;
  alertTimer?: NodeJS.Timeout;
  /** Operations on one deployment run one at a time (rollout steps, updates, promote/abort). */
  queue: Promise<unknown>;
}

export type DeploymentView = ReturnType<DeploymentManager['view']>;

/**
 * Deployments: names clients call, each a traffic split over versions of one registry model. Every change of
 * traffic follows the same order — load and warm up what is new, validate it, write the new state to disk, switch
 * in memory (one synchronous assignment, so a request sees the old split or the new one), then drain and dispose
 * what no longer takes traffic. A crash at any point leaves the persisted state as the truth to restore.
 */
export class DeploymentManager {
  readonly #live = new Map<string, Live>();
  readonly #deps: DeploymentDeps;
  #closed = false;

  constructor(deps: DeploymentDeps) {
    this.#deps = deps;
  }

  /** Restores stored deployments (resuming or rolling back interrupted rollouts), then creates the declared ones. */
  async start(declared: readonly DeploymentSpec[]): Promise<void> {
    const byName = new Map(declared.map((d) => [d.name, d]));
    for (const stored of this.#deps.store.list()) {
      const fromConfig = byName.get(stored.spec.name);
      // The config owns the policy; the store owns what changes at run time (traffic, rollout).
      if (fromConfig) stored.spec = { ...fromConfig, traffic: stored.spec.traffic };
      await this.#restore(stored);
    }
    for (const spec of declared) if (!this.#live.has(spec.name)) await this.create(spec, 'config');
  }

  async #restore(stored: StoredDeployment): Promise<void> {
    const live = this.#newLive(stored);
    this.#live.set(stored.spec.name, live);
    try {
      await this.#ensureLoaded(live, wantedVersions(stored.spec));
    } catch (error) {
      live.error = (error as Error).message;
      this.#deps.logger.error({ deployment: stored.spec.name, err: error }, 'deployment could not be restored');
      if (!stored.rollout) return;
    }
    this.#startAlerts(live);
    const rollout = stored.rollout;
    if (!rollout) return;
    if (live.error || stored.spec.rollout.onRestart === 'rollback') {
      const reason = live.error ? `server restarted mid-rollout and the versions could not be loaded: ${live.error}` : 'server restarted mid-rollout (rollout.onRestart: rollback)';
      live.error = undefined;
      await this.#exclusive(live, () => this.#finish(live, 'rolled_back', reason, [{ version: rollout.stable, weight: 100 }], 'system'));
      return;
    }
    // Resume the persisted step from its start: the traffic split is exactly what was persisted.
    const resumed = { ...rollout, stepStartedAt: new Date().toISOString() };
    this.#persist(live, { rollout: resumed });
    this.#record(live, 'rollout.resumed', { candidate: rollout.candidate, step: rollout.stepIndex, traffic: stored.spec.traffic }, 'system');
    this.#scheduleStep(live);
  }

  list(): DeploymentView[] {
    return [...this.#live.values()].map((live) => this.view(live.stored.spec.name));
  }

  view(name: string) {
    const live = this.#get(name);
    const { spec, rollout, lastRollout, createdAt, updatedAt } = live.stored;
    const since = Date.now() - Math.max(spec.rollout.windowMs, 60_000);
    return {
      spec,
      status: {
        ready: !live.error && spec.traffic.every((t) => t.weight === 0 || live.instances.has(t.version)),
        ...(live.error ? { error: live.error } : {}),
        traffic: spec.traffic,
        loaded: [...live.instances.keys()],
        rollout: rollout ? { ...rollout, percent: spec.rollout.steps[rollout.stepIndex]! } : null,
        lastRollout,
        stats: Object.fromEntries([...live.instances.keys()].map((v) => [v, live.stats.summary(v, since)])),
        ...(spec.shadow ? { shadow: live.shadow.summary(spec.shadow.version) } : {}),
        alerts: live.alerts.firing(),
      },
      createdAt,
      updatedAt,
    };
  }

  has(name: string): boolean {
    return this.#live.has(name);
  }

  decisions(name?: string, limit?: number): Decision[] {
    if (name !== undefined) this.#get(name);
    return this.#deps.store.decisions(name, limit);
  }

  async create(spec: DeploymentSpec, actor: string) {
    if (this.#live.has(spec.name) || this.#deps.store.get(spec.name)) throw new Errors.DeploymentExists(`deployment "${spec.name}" already exists`);
    const now = new Date().toISOString();
    const live = this.#newLive({ spec, rollout: null, lastRollout: null, createdAt: now, updatedAt: now });
    try {
      await this.#ensureLoaded(live, wantedVersions(spec));
    } catch (error) {
      await this.#retireUnwanted(live, new Set());
      throw error;
    }
    this.#deps.store.put(live.stored);
    this.#live.set(spec.name, live);
    this.#startAlerts(live);
    this.#record(live, 'created', { traffic: spec.traffic }, actor);
    return this.view(spec.name);
  }

  /**
   * Replaces the spec (policy, A/B split, shadow) with `next`; new versions are loaded and validated before they take
   * traffic. The name and model never change.
   */
  async update(name: string, next: Omit<DeploymentSpec, 'name' | 'model'>, actor: string) {
    const live = this.#get(name);
    return this.#exclusive(live, async () => {
      const changed = (Object.keys({ ...live.stored.spec, ...next }) as Array<keyof DeploymentSpec>).filter(
        (key) => JSON.stringify(live.stored.spec[key]) !== JSON.stringify((next as Partial<DeploymentSpec>)[key]) && key !== 'name' && key !== 'model',
      );
      if (changed.includes('traffic') && live.stored.rollout) throw new Errors.RolloutConflict(`deployment "${name}" is rolling out ${live.stored.rollout.candidate}; promote or abort it first`);
      const spec: DeploymentSpec = { ...next, name: live.stored.spec.name, model: live.stored.spec.model };
      const added = wantedVersions(spec).filter((v) => !live.instances.has(v));
      await this.#ensureLoaded(live, added);
      for (const version of added.filter((v) => spec.traffic.some((t) => t.version === v && t.weight > 0))) {
        const result = await validateCandidate(this.#deps, spec, live.instances.get(version)!);
        if (!result.passed) {
          await this.#retireUnwanted(live, new Set(wantedVersions(live.stored.spec)));
          this.#record(live, 'validation.failed', { version, reason: result.reason }, actor);
          throw new Errors.ValidationFailed(`${spec.model}@${version} failed validation: ${result.reason}`, { details: result });
        }
      }
      this.#persist(live, { spec });
      await this.#retireUnwanted(live, new Set(wantedVersions(spec)));
      this.#startAlerts(live);
      this.#record(live, 'updated', { changes: changed, traffic: spec.traffic }, actor);
      return this.view(name);
    });
  }

  async remove(name: string, actor: string): Promise<void> {
    const live = this.#get(name);
    await this.#exclusive(live, async () => {
      this.#stopTimers(live);
      this.#live.delete(name);
      this.#deps.store.delete(name);
      await this.#retireUnwanted(live, new Set());
      this.#record(live, 'deleted', {}, actor);
    });
  }

  /**
   * Starts moving traffic to `version`: load → warm-up → validation, then a swap (all traffic at once, the old
   * version drained) or the first canary step. Answers once the candidate takes traffic, or with the refusal.
   */
  async rollout(name: string, version: string, actor: string, strategy?: 'canary' | 'swap') {
    const live = this.#get(name);
    return this.#exclusive(live, async () => {
      const { spec } = live.stored;
      if (live.stored.rollout) throw new Errors.RolloutConflict(`deployment "${name}" is already rolling out ${live.stored.rollout.candidate}`);
      const candidate = (await this.#deps.registry.getVersion(spec.model, version)).version;
      // The candidate is compared with the version that has the most traffic besides itself (it may already be in an
      // A/B split); never with itself.
      const others = spec.traffic.filter((t) => t.version !== candidate && t.weight > 0);
      if (others.length === 0) throw new Errors.RolloutConflict(`deployment "${name}" already serves ${spec.model}@${candidate}`);
      const stable = stableOf(others);
      this.#record(live, 'rollout.requested', { candidate, stable, strategy: strategy ?? spec.rollout.strategy }, actor);
      try {
        await this.#ensureLoaded(live, [candidate]);
      } catch (error) {
        this.#reject(live, candidate, `loading failed: ${(error as Error).message}`, actor);
        throw error;
      }
      // Clients of the deployment send what the stable version takes; a candidate that refuses that would fail them.
      const stableSignature = live.instances.get(stable)?.instance.signature;
      const breaks = stableSignature ? signatureBreaks(stableSignature, live.instances.get(candidate)!.instance.signature) : [];
      if (breaks.length > 0) {
        await this.#retireUnwanted(live, new Set(wantedVersions(spec)));
        this.#reject(live, candidate, `incompatible signature: ${breaks.join('; ')}`, actor);
        throw new Errors.ValidationFailed(
          `${spec.model}@${candidate} cannot take ${stable}'s requests (${breaks.join('; ')}); serve it as a new deployment instead. ${stable} keeps serving`,
          { details: { breaks } },
        );
      }
      const result = await validateCandidate(this.#deps, spec, live.instances.get(candidate)!);
      if (!result.passed) {
        await this.#retireUnwanted(live, new Set(wantedVersions(spec)));
        this.#reject(live, candidate, `validation failed: ${result.reason}`, actor);
        throw new Errors.ValidationFailed(`${spec.model}@${candidate} failed validation: ${result.reason}; ${stable} keeps serving`, { details: result });
      }
      this.#record(live, 'validation.passed', { candidate, reason: result.reason }, actor);
      const steps = spec.rollout.steps;
      if ((strategy ?? spec.rollout.strategy) === 'swap' || steps[0]! >= 100) {
        await this.#finish(live, 'promoted', `swapped after validation (${result.reason})`, [{ version: candidate, weight: 100 }], actor);
        return this.view(name);
      }
      const now = new Date().toISOString();
      const rollout: RolloutState = { stable, candidate, stepIndex: 0, startedAt: now, stepStartedAt: now, actor };
      this.#persist(live, { rollout, spec: { ...spec, traffic: canaryTraffic(stable, candidate, steps[0]!) } });
      await this.#retireUnwanted(live, new Set(wantedVersions(live.stored.spec)));
      this.#record(live, 'rollout.step', { candidate, step: 0, percent: steps[0], traffic: live.stored.spec.traffic }, actor);
      this.#scheduleStep(live);
      return this.view(name);
    });
  }

  async promote(name: string, actor: string) {
    const live = this.#get(name);
    return this.#exclusive(live, async () => {
      const rollout = this.#requireRollout(live);
      await this.#finish(live, 'promoted', `promoted by ${actor}`, [{ version: rollout.candidate, weight: 100 }], actor);
      return this.view(name);
    });
  }

  async abort(name: string, actor: string, reason = `aborted by ${actor}`) {
    const live = this.#get(name);
    return this.#exclusive(live, async () => {
      const rollout = this.#requireRollout(live);
      await this.#finish(live, 'aborted', reason, [{ version: rollout.stable, weight: 100 }], actor);
      return this.view(name);
    });
  }

  /** Labelled feedback: whether the answer a version gave was right; feeds the canary's accuracy comparison. */
  feedback(name: string, items: ReadonlyArray<{ version: string; correct: boolean }>): number {
    const live = this.#get(name);
    for (const item of items) live.stats.feedback(item.version, item.correct);
    return items.length;
  }

  /**
   * The instance a request to `name` goes to, or undefined when `name` is not a deployment. Synchronous on purpose:
   * the caller submits to the returned instance in the same tick, before any swap can retire it.
   */
  pick(name: string, version: string | undefined, header: (name: string) => string | undefined): LoadedModel | undefined {
    const live = this.#live.get(name);
    if (!live) return undefined;
    if (live.error) throw new Errors.ModelNotReady(`deployment "${name}" cannot serve: ${live.error}`);
    if (version !== undefined) {
      const chosen = live.instances.get(version);
      if (!chosen || version === live.stored.spec.shadow?.version) throw new Errors.ModelNotLoaded(`deployment "${name}" does not serve version ${version} (traffic: ${describe(live.stored.spec.traffic)})`);
      return chosen;
    }
    const { traffic, stickyHeader } = live.stored.spec;
    return live.instances.get(pickVersion(traffic, stickyHeader ? header(stickyHeader) : undefined));
  }

  /** The instance describing the deployment (metadata, config): its stable version. */
  primary(name: string): LoadedModel | undefined {
    const live = this.#live.get(name);
    return live?.instances.get(stableOf(live.stored.spec.traffic));
  }

  servedVersions(name: string): string[] {
    return this.#live.get(name)?.stored.spec.traffic.filter((t) => t.weight > 0).map((t) => t.version) ?? [];
  }

  observe(name: string, model: LoadedModel, ms: number, ok: boolean): void {
    this.#live.get(name)?.stats.observe(model.version.version, ms, ok);
  }

  /** Mirrors a served request to the shadow version in the background; its outcome never reaches the caller. */
  mirror(name: string, request: InferRequest, served: InferResponse): void {
    const live = this.#live.get(name);
    const shadow = live?.stored.spec.shadow;
    if (!live || !shadow || Math.random() >= shadow.share) return;
    const instance = live.instances.get(shadow.version);
    if (!instance) return;
    const started = performance.now();
    this.#deps.models.inferOn(instance, request).then(
      (outcome) => live.shadow.record(shadow.version, served, outcome.response, performance.now() - started),
      () => live.shadow.fail(shadow.version),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const live of this.#live.values()) {
      this.#stopTimers(live);
      await live.queue.catch(() => {});
      await this.#retireUnwanted(live, new Set());
    }
    this.#live.clear();
  }

  /** Records a decision taken elsewhere about this deployment (the update manager's). */
  recordDecision(name: string, action: string, details: Record<string, unknown>, actor: string): void {
    this.#record(this.#get(name), action, details, actor);
  }

  // ── internals ──────────────────────────────────────────────────────────

  #newLive(stored: StoredDeployment): Live {
    return { stored, instances: new Map(), stats: new VersionStats(), shadow: new ShadowReport(), alerts: new AlertTracker(), queue: Promise.resolve() };
  }

  #get(name: string): Live {
    const live = this.#live.get(name);
    if (!live) throw new Errors.DeploymentNotFound(`no deployment "${name}" (deployments: ${[...this.#live.keys()].join(', ') || 'none'})`);
    return live;
  }

  #exclusive<T>(live: Live, work: () => Promise<T>): Promise<T> {
    const run = live.queue.then(work, work);
    live.queue = run.catch(() => {});
    return run;
  }

  #requireRollout(live: Live): RolloutState {
    if (!live.stored.rollout) throw new Errors.RolloutConflict(`deployment "${live.stored.spec.name}" has no rollout in progress`);
    return live.stored.rollout;
  }

  async #ensureLoaded(live: Live, versions: readonly string[]): Promise<void> {
    const { spec } = live.stored;
    for (const version of versions) {
      if (live.instances.has(version)) continue;
      const record = await this.#deps.registry.getVersion(spec.model, version);
      const options = { ...spec.options, ...(spec.instances ? { instances: spec.instances } : {}), ...(spec.device ? { device: spec.device } : {}) };
      const loaded = await this.#deps.models.open(record, { name: spec.name, options, ...(spec.runtime ? { runtime: spec.runtime } : {}), ...(spec.batching ? { batching: spec.batching } : {}) });
      live.instances.set(record.version, loaded);
    }
  }

  /** Drains and disposes instances no longer wanted; called only after the traffic no longer points at them. */
  async #retireUnwanted(live: Live, wanted: ReadonlySet<string>): Promise<void> {
    for (const [version, loaded] of [...live.instances]) {
      if (wanted.has(version)) continue;
      live.instances.delete(version);
      await this.#deps.models.retire(loaded);
    }
  }

  /** Writes first, then switches: what is on disk is never behind what serves. */
  #persist(live: Live, changes: Partial<Pick<StoredDeployment, 'spec' | 'rollout' | 'lastRollout'>>): void {
    const next = { ...live.stored, ...changes, updatedAt: new Date().toISOString() };
    this.#deps.store.put(next);
    live.stored = next;
  }

  async #finish(live: Live, status: RolloutOutcome['status'], reason: string, traffic: Traffic, actor: string): Promise<void> {
    if (live.stepTimer) clearTimeout(live.stepTimer);
    const candidate = live.stored.rollout?.candidate ?? traffic[0]!.version;
    const outcome: RolloutOutcome = { candidate, status, reason, at: new Date().toISOString() };
    this.#persist(live, { spec: { ...live.stored.spec, traffic }, rollout: null, lastRollout: outcome });
    await this.#retireUnwanted(live, new Set(wantedVersions(live.stored.spec)));
    this.#record(live, `rollout.${status}`, { candidate, reason, traffic }, actor);
  }

  #reject(live: Live, candidate: string, reason: string, actor: string): void {
    this.#persist(live, { lastRollout: { candidate, status: 'rejected', reason, at: new Date().toISOString() } });
    this.#record(live, 'rollout.rejected', { candidate, reason }, actor);
  }

  #scheduleStep(live: Live): void {
    if (live.stepTimer) clearTimeout(live.stepTimer);
    if (this.#closed) return;
    live.stepTimer = setTimeout(() => {
      void this.#exclusive(live, () => this.#evaluateStep(live)).catch((error: unknown) => this.#deps.logger.error({ err: error, deployment: live.stored.spec.name }, 'canary step failed'));
    }, live.stored.spec.rollout.windowMs);
    live.stepTimer.unref();
  }

  async #evaluateStep(live: Live): Promise<void> {
    const rollout = live.stored.rollout;
    if (!rollout || this.#closed || this.#live.get(live.stored.spec.name) !== live) return;
    const policy = live.stored.spec.rollout;
    const since = Date.parse(rollout.stepStartedAt);
    const candidate = live.stats.summary(rollout.candidate, since);
    const stable = live.stats.summary(rollout.stable, since);
    const verdict = analyseStep(policy, candidate, stable);
    if (verdict.action === 'rollback') {
      await this.#finish(live, 'rolled_back', verdict.reason, [{ version: rollout.stable, weight: 100 }], 'system');
      return;
    }
    if (verdict.action === 'wait') {
      this.#record(live, 'rollout.waiting', { candidate: rollout.candidate, step: rollout.stepIndex, reason: verdict.reason }, 'system');
      this.#scheduleStep(live);
      return;
    }
    const next = rollout.stepIndex + 1;
    const percent = policy.steps[next];
    if (percent === undefined || percent >= 100) {
      await this.#finish(live, 'promoted', `every step passed (${verdict.reason})`, [{ version: rollout.candidate, weight: 100 }], 'system');
      return;
    }
    const traffic = canaryTraffic(rollout.stable, rollout.candidate, percent);
    this.#persist(live, { rollout: { ...rollout, stepIndex: next, stepStartedAt: new Date().toISOString() }, spec: { ...live.stored.spec, traffic } });
    this.#record(live, 'rollout.step', { candidate: rollout.candidate, step: next, percent, traffic, previous: verdict.reason }, 'system');
    this.#scheduleStep(live);
  }

  #startAlerts(live: Live): void {
    if (live.alertTimer) clearInterval(live.alertTimer);
    const policy = live.stored.spec.alerts;
    if (!policy || this.#closed) return;
    const every = Math.min(5000, Math.max(25, Math.floor(policy.forMs / 5)));
    live.alertTimer = setInterval(() => {
      const name = live.stored.spec.name;
      for (const alert of live.alerts.evaluate(policy, live.stats.summary(undefined, Date.now() - policy.windowMs))) {
        this.#deps.events.emit(alert.type, { deployment: name, ...alert.data });
        this.#deps.logger.warn({ deployment: name, alert: alert.type, ...alert.data }, 'deployment alert');
      }
    }, every);
    live.alertTimer.unref();
  }

  #stopTimers(live: Live): void {
    if (live.stepTimer) clearTimeout(live.stepTimer);
    if (live.alertTimer) clearInterval(live.alertTimer);
  }

  /** Every decision: the decision log (REST), the event feed (SSE, webhooks) and the audit log. */
  #record(live: Live, action: string, details: Record<string, unknown>, actor: string): void {
    const name = live.stored.spec.name;
    const decision = this.#deps.store.record(name, action, { ...details, actor });
    this.#deps.events.emit(`deployment.${action}`, { deployment: name, ...details });
    this.#deps.logger.info({ deployment: name, action, ...details }, 'deployment decision');
    this.#deps.audit({ actor, action: `deployment.${action}`, target: `deployment:${name}`, details }).catch((error: unknown) =>
      this.#deps.logger.error({ err: error, decision: decision.id }, 'audit write failed'),
    );
  }
}

/** The versions that must be loaded: those with traffic, and the shadow. */
function wantedVersions(spec: DeploymentSpec): string[] {
  const versions = spec.traffic.filter((t) => t.weight > 0).map((t) => t.version);
  if (spec.shadow && !versions.includes(spec.shadow.version)) versions.push(spec.shadow.version);
  return versions;
}

/** The version with the most traffic (the first on a tie). */
export function stableOf(traffic: Traffic): string {
  return traffic.reduce((best, t) => (t.weight > best.weight ? t : best), traffic[0]!).version;
}

function describe(traffic: Traffic): string {
  return traffic.map((t) => `${t.version} ${t.weight} %`).join(', ');
}
