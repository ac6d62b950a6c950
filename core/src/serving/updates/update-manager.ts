import type { ModelSource } from '@modelplane/plugin-sdk';
import type { Logger } from 'pino';
import semver from 'semver';
import { Errors } from '../../errors.ts';
import type { Registry } from '../../registry/registry.ts';
import type { Scanning } from '../../registry/scanning.ts';
import type { DeploymentManager } from '../deployments/manager.ts';
import { stableOf } from '../deployments/manager.ts';

export interface UpdateDecision {
  deployment: string;
  version: string;
  /** `skipped` (criteria not met), `rejected` (download, scan or validation failed), `rolled_out`. */
  outcome: 'skipped' | 'rejected' | 'rolled_out';
  reason: string;
}

interface UpdateDeps {
  deployments: DeploymentManager;
  registry: Registry;
  scanning: Scanning;
  sources: { get(id: string): ModelSource | undefined };
  logger: Logger;
}

/**
 * Seed 001's auto-update: for each deployment with an `updates` policy, ask its source for newer versions and take
 * the highest one that meets the criteria — metric improvement ≥ minImprovement (relative), no major bump unless
 * allowed — then download → scan → register → roll out (which validates first). Every decision, taken or not,
 * is recorded on the deployment (decision log, events, audit).
 */
export class UpdateManager {
  readonly #deps: UpdateDeps;
  /** Versions rejected per deployment: not downloaded and validated again on every poll (until restart). */
  readonly #refused = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<UpdateDecision[]> | undefined;

  constructor(deps: UpdateDeps) {
    this.#deps = deps;
  }

  /** Polls every `intervalMs` (0: only on demand). */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.#timer = setInterval(() => {
      this.check('system').catch((error: unknown) => this.#deps.logger.error({ err: error }, 'update check failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** One check at a time; a second caller waits for the running one. */
  check(actor: string): Promise<UpdateDecision[]> {
    this.#running ??= this.#checkAll(actor).finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #checkAll(actor: string): Promise<UpdateDecision[]> {
    const decisions: UpdateDecision[] = [];
    for (const view of this.#deps.deployments.list()) {
      if (!view.spec.updates || view.status.rollout) continue;
      try {
        decisions.push(...(await this.#checkOne(view.spec.name, actor)));
      } catch (error) {
        this.#deps.logger.error({ err: error, deployment: view.spec.name }, 'update check failed');
        this.#deps.deployments.recordDecision(view.spec.name, 'update.failed', { reason: (error as Error).message }, actor);
      }
    }
    return decisions;
  }

  async #checkOne(name: string, actor: string): Promise<UpdateDecision[]> {
    const { spec } = this.#deps.deployments.view(name);
    const policy = spec.updates!;
    const source = this.#deps.sources.get(policy.source);
    if (!source) throw new Errors.SourceNotFound(`no source "${policy.source}" (configure updates.remotes or install a source plugin)`);
    const current = await this.#deps.registry.getVersion(spec.model, stableOf(spec.traffic));
    const currentMetric = metricOf(current.metadata, policy.metric);
    const offered = (await source.listVersions(policy.remoteModel ?? spec.model))
      .filter((v) => semver.valid(v.version) && semver.gt(v.version, current.version))
      .sort((a, b) => semver.rcompare(a.version, b.version));
    const decisions: UpdateDecision[] = [];
    const decide = (version: string, outcome: UpdateDecision['outcome'], reason: string) => {
      decisions.push({ deployment: name, version, outcome, reason });
      // A criteria skip is re-judged next time (the policy may change); a failed download, scan or validation is not.
      if (outcome === 'rejected') this.#refused.add(`${name}@${version}`);
      this.#deps.deployments.recordDecision(name, `update.${outcome}`, { version, current: current.version, reason }, actor);
    };
    for (const candidate of offered) {
      if (this.#refused.has(`${name}@${candidate.version}`)) continue;
      if (semver.major(candidate.version) > semver.major(current.version) && !policy.allowMajor) {
        decide(candidate.version, 'skipped', `major version bump ${current.version} → ${candidate.version} (set updates.allowMajor to take it)`);
        continue;
      }
      const value = metricOf(candidate.metadata ?? {}, policy.metric);
      if (value === undefined || currentMetric === undefined) {
        decide(candidate.version, 'skipped', `no ${policy.metric} in performance_metrics to compare (${currentMetric ?? '–'} → ${value ?? '–'})`);
        continue;
      }
      const improvement = (value - currentMetric) / Math.abs(currentMetric || 1);
      if (improvement < policy.minImprovement) {
        decide(candidate.version, 'skipped', `${policy.metric} ${currentMetric} → ${value} is ${(improvement * 100).toFixed(2)} %, below the ${(policy.minImprovement * 100).toFixed(2)} % required`);
        continue;
      }
      const why = `${policy.metric} ${currentMetric} → ${value} (+${(improvement * 100).toFixed(2)} %)`;
      try {
        await this.#install(source, policy.remoteModel ?? spec.model, spec.model, candidate.version, actor);
        await this.#deps.deployments.rollout(name, candidate.version, actor);
      } catch (error) {
        decide(candidate.version, 'rejected', `${why}, but: ${(error as Error).message}`);
        continue;
      }
      decide(candidate.version, 'rolled_out', why);
      break;
    }
    return decisions;
  }

  /** download → scan → register; a version already in the local registry is reused (versions are immutable). */
  async #install(source: ModelSource, remoteModel: string, model: string, version: string, actor: string): Promise<void> {
    const existing = await this.#deps.registry.getVersion(model, version).catch(() => undefined);
    let record = existing;
    if (!record) {
      if (!source.fetchVersion) throw new Errors.SourceNotFound(`source ${source.id} cannot download versions`);
      const fetched = await source.fetchVersion(remoteModel, version);
      const files = [];
      for (const file of fetched.files) {
        const stored = await this.#deps.registry.artifacts.put((await file.open()) as never);
        if (file.digest && stored.digest !== file.digest) throw new Error(`download of ${file.path} has digest ${stored.digest}, the source said ${file.digest}`);
        files.push({ path: file.path, digest: stored.digest, size: stored.size });
      }
      const lineage = { ...(fetched.metadata.lineage as Record<string, unknown> | undefined), source_uri: `${source.id}/${remoteModel}@${version}` };
      record = (await this.#deps.registry.registerVersion(model, { version, files, metadata: { ...fetched.metadata, lineage }, status: 'active' }, actor)).record;
    }
    const scan = await this.#deps.scanning.scan(record, actor);
    if (scan.status === 'FAILED') throw new Errors.NotServable(`security scan FAILED (${scan.findings.map((f) => `${f.severity} ${f.rule}`).join('; ')})`);
  }
}

function metricOf(metadata: Record<string, unknown>, metric: string): number | undefined {
  const value = (metadata.performance_metrics as Record<string, unknown> | undefined)?.[metric];
  return typeof value === 'number' ? value : undefined;
}
