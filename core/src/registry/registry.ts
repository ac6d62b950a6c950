import type { Readable } from 'node:stream';
import type {
  ArtifactStore,
  ManifestFile,
  MetadataStore,
  ModelplaneHooks,
  ModelQuery,
  ModelRecord,
  Page,
  VersionRecord,
  VersionStatus,
} from '@modelplane/plugin-sdk';
import semver from 'semver';
import { Errors } from '../errors.ts';
import { canonicalJson, sha256Of } from './canonical.ts';
import { type LicenseDecision, type LicensePolicy, checkLicense } from './licenses.ts';
import { validateMetadata } from './metadata.ts';
import { assertAlias, assertModelName, canonicalVersion, checkManifestFiles } from './names.ts';

export interface NewModel {
  name: string;
  description?: string;
  tasks?: string[];
  tags?: string[];
  owner?: string | null;
}

export interface NewVersion {
  version: string;
  files: ManifestFile[];
  metadata: unknown;
  status?: VersionStatus;
}

const TRANSITIONS: Record<VersionStatus, readonly VersionStatus[]> = {
  testing: ['active', 'deprecated', 'retired'],
  active: ['deprecated', 'retired'],
  deprecated: ['active', 'retired'],
  retired: [],
};

/**
 * The model registry: models, immutable semver versions over content-addressed files, aliases, status and
 * licenses. Every mutation is audited with the acting principal.
 */
export class Registry {
  readonly metadata: MetadataStore;
  readonly artifacts: ArtifactStore;
  readonly #hooks: ModelplaneHooks;

  constructor(deps: { metadata: MetadataStore; artifacts: ArtifactStore; hooks: ModelplaneHooks }) {
    this.metadata = deps.metadata;
    this.artifacts = deps.artifacts;
    this.#hooks = deps.hooks;
  }

  async createModel(input: NewModel, actor: string): Promise<ModelRecord> {
    assertModelName(input.name);
    const now = new Date().toISOString();
    const model: ModelRecord = {
      name: input.name,
      description: input.description ?? '',
      tasks: input.tasks ?? [],
      tags: input.tags ?? [],
      owner: input.owner ?? actor,
      createdAt: now,
      updatedAt: now,
    };
    await this.metadata.transaction(async () => {
      if (await this.metadata.getModel(input.name)) throw new Errors.ModelExists(`model "${input.name}" already exists; use PUT to change it`);
      await this.metadata.putModel(model);
      await this.metadata.appendAudit({ actor, action: 'model.create', target: `model:${model.name}`, details: { description: model.description } });
    });
    return model;
  }

  async updateModel(name: string, changes: Omit<Partial<NewModel>, 'name'>, actor: string): Promise<ModelRecord> {
    return this.metadata.transaction(async () => {
      const before = await this.getModel(name);
      const after: ModelRecord = {
        ...before,
        ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)),
        updatedAt: new Date().toISOString(),
      };
      await this.metadata.putModel(after);
      await this.metadata.appendAudit({
        actor,
        action: 'model.update',
        target: `model:${name}`,
        beforeDigest: sha256Of(canonicalJson(before)),
        afterDigest: sha256Of(canonicalJson(after)),
      });
      return after;
    });
  }

  async getModel(name: string): Promise<ModelRecord> {
    const model = await this.metadata.getModel(name);
    if (!model) throw new Errors.ModelNotFound(`no model named "${name}"`);
    return model;
  }

  listModels(query: ModelQuery): Promise<Page<ModelRecord>> {
    return this.metadata.listModels(query);
  }

  /** Registers a version; the same manifest and metadata again is idempotent (`created: false`), anything else is 409. */
  async registerVersion(model: string, input: NewVersion, actor: string): Promise<{ record: VersionRecord; created: boolean }> {
    assertModelName(model);
    const version = canonicalVersion(input.version);
    const pointsAtProvider = typeof input.metadata === 'object' && input.metadata !== null && 'llm' in input.metadata;
    checkManifestFiles(input.files, { allowEmpty: pointsAtProvider });
    const validated = validateMetadata(input.metadata);
    const metadata = await this.#hooks.beforeRegisterVersion.promise(validated, { model, version });
    await this.#assertBlobsPresent(input.files);
    const files = [...input.files].sort((a, b) => (a.path < b.path ? -1 : 1));
    const manifestDigest = sha256Of(canonicalJson({ files, metadata }));
    const now = new Date().toISOString();
    const record: VersionRecord = {
      model,
      version,
      files,
      manifestDigest,
      metadata,
      status: input.status ?? 'testing',
      scanStatus: null,
      scannedWith: null,
      createdBy: actor,
      createdAt: now,
      updatedAt: now,
    };
    const outcome = await this.metadata.transaction(async () => {
      if (!(await this.metadata.getModel(model))) {
        await this.metadata.putModel({ name: model, description: '', tasks: [], tags: [], owner: actor, createdAt: now, updatedAt: now });
        await this.metadata.appendAudit({ actor, action: 'model.create', target: `model:${model}`, details: { implicit: true } });
      }
      const inserted = await this.metadata.insertVersion(record);
      if (inserted.inserted) {
        await this.metadata.appendAudit({ actor, action: 'version.register', target: `model:${model}@${version}`, afterDigest: manifestDigest });
      }
      return inserted;
    });
    if (!outcome.inserted) {
      if (outcome.existing.manifestDigest === manifestDigest) return { record: outcome.existing, created: false };
      throw new Errors.VersionConflict(
        `${model}@${version} already exists with different content (stored ${outcome.existing.manifestDigest}, pushed ${manifestDigest}); ` +
          'versions are immutable: push a new version number',
        { details: { stored: outcome.existing.manifestDigest, pushed: manifestDigest } },
      );
    }
    await this.#hooks.versionRegistered.promise(record);
    return { record, created: true };
  }

  async #assertBlobsPresent(files: readonly ManifestFile[]): Promise<void> {
    const problems: string[] = [];
    for (const [i, file] of files.entries()) {
      const found = await this.artifacts.stat(file.digest).catch((error: Error) => {
        problems.push(`files[${i}].digest: ${error.message}`);
        return null;
      });
      if (found === null) continue;
      if (!found) problems.push(`files[${i}] (${file.path}): blob ${file.digest} has not been uploaded (POST /api/v1/blobs first)`);
      else if (found.size !== file.size) problems.push(`files[${i}] (${file.path}): size ${file.size} does not match the stored blob's ${found.size}`);
    }
    if (problems.length > 0) throw new Errors.InvalidManifest(`invalid manifest: ${problems.join('; ')}`, { details: problems });
  }

  async listVersions(model: string): Promise<VersionRecord[]> {
    await this.getModel(model);
    return (await this.metadata.listVersions(model)).sort((a, b) => semver.rcompare(a.version, b.version));
  }

  /**
   * Resolves `name`, `name@alias` or `name@1.2.3`. A bare name means the `default` alias, else the highest active
   * version, else the highest version that is not retired.
   */
  async resolve(reference: string): Promise<VersionRecord> {
    const at = reference.indexOf('@');
    const model = at < 0 ? reference : reference.slice(0, at);
    const selector = at < 0 ? undefined : reference.slice(at + 1);
    return this.getVersion(model, selector);
  }

  /** `selector` is a version, an alias, or undefined / `default` for the default. */
  async getVersion(model: string, requested?: string): Promise<VersionRecord> {
    await this.getModel(model);
    const selector = requested === 'default' ? undefined : requested;
    if (selector !== undefined && semver.valid(selector)) {
      const found = await this.metadata.getVersion(model, semver.valid(selector)!);
      if (!found) throw new Errors.VersionNotFound(`model "${model}" has no version ${selector}`);
      return found;
    }
    const alias = selector ?? 'default';
    const target = await this.metadata.getAlias(model, alias);
    if (target) return (await this.metadata.getVersion(model, target))!;
    if (selector !== undefined) {
      const known = Object.keys(await this.metadata.listAliases(model));
      throw new Errors.AliasNotFound(
        `model "${model}" has no version or alias "${selector}"${known.length ? ` (aliases: ${known.join(', ')})` : ''}`,
      );
    }
    const versions = (await this.metadata.listVersions(model)).sort((a, b) => semver.rcompare(a.version, b.version));
    const chosen = versions.find((v) => v.status === 'active') ?? versions.find((v) => v.status !== 'retired');
    if (!chosen) throw new Errors.VersionNotFound(`model "${model}" has no version that can be used (none registered, or all retired)`);
    return chosen;
  }

  async setAlias(model: string, alias: string, selector: string, actor: string): Promise<VersionRecord> {
    assertAlias(alias);
    const target = await this.getVersion(model, selector);
    if (target.status === 'retired') throw new Errors.InvalidTransition(`${model}@${target.version} is retired; an alias cannot point at it`);
    const before = await this.metadata.getAlias(model, alias);
    await this.metadata.transaction(async () => {
      await this.metadata.setAlias(model, alias, target.version);
      await this.metadata.appendAudit({ actor, action: 'alias.set', target: `model:${model}@${alias}`, details: { from: before ?? null, to: target.version } });
    });
    await this.#hooks.aliasChanged.promise({ model, alias, version: target.version });
    return target;
  }

  async deleteAlias(model: string, alias: string, actor: string): Promise<void> {
    await this.getModel(model);
    const removed = await this.metadata.transaction(async () => {
      const before = await this.metadata.getAlias(model, alias);
      if (!(await this.metadata.deleteAlias(model, alias))) return false;
      await this.metadata.appendAudit({ actor, action: 'alias.delete', target: `model:${model}@${alias}`, details: { from: before } });
      return true;
    });
    if (!removed) throw new Errors.AliasNotFound(`model "${model}" has no alias "${alias}"`);
    await this.#hooks.aliasChanged.promise({ model, alias, version: null });
  }

  async listAliases(model: string): Promise<Record<string, string>> {
    await this.getModel(model);
    return this.metadata.listAliases(model);
  }

  async setStatus(model: string, selector: string, status: VersionStatus, actor: string): Promise<VersionRecord> {
    const current = await this.getVersion(model, selector);
    if (current.status === status) return current;
    if (!TRANSITIONS[current.status].includes(status)) {
      const allowed = TRANSITIONS[current.status];
      throw new Errors.InvalidTransition(
        `${model}@${current.version} is ${current.status}; it can move to ${allowed.length ? allowed.join(' or ') : 'nothing (retired is final)'}, not ${status}`,
      );
    }
    await this.metadata.transaction(async () => {
      await this.metadata.updateVersion(model, current.version, { status });
      if (status === 'retired') {
        for (const [alias, version] of Object.entries(await this.metadata.listAliases(model))) {
          if (version === current.version) await this.metadata.deleteAlias(model, alias);
        }
      }
      await this.metadata.appendAudit({ actor, action: 'version.status', target: `model:${model}@${current.version}`, details: { from: current.status, to: status } });
    });
    return { ...current, status };
  }

  /** Deleting a model retires every version; its files stay until garbage collection. */
  async retireModel(model: string, actor: string): Promise<number> {
    let retired = 0;
    for (const version of await this.listVersions(model)) {
      if (version.status === 'retired') continue;
      await this.setStatus(model, version.version, 'retired', actor);
      retired++;
    }
    return retired;
  }

  async openFile(model: string, selector: string, path: string): Promise<{ file: ManifestFile; stream: Readable }> {
    const version = await this.getVersion(model, selector);
    const file = version.files.find((f) => f.path === path);
    if (!file) throw new Errors.FileNotFound(`${model}@${version.version} has no file "${path}"`);
    return { file, stream: this.artifacts.open(file.digest) };
  }

  async license(model: string, selector: string | undefined, policy: LicensePolicy): Promise<LicenseDecision & { version: string }> {
    const version = await this.getVersion(model, selector);
    return { ...checkLicense(version, policy), version: version.version };
  }

  /**
   * Removes blobs no version references. Safe while serving: referenced blobs are never touched, and blobs younger
   * than `minAgeMs` are spared, so an upload whose manifest has not been posted yet survives.
   */
  async collectGarbage(options: { dryRun: boolean; minAgeMs: number }, actor: string): Promise<{ removed: string[]; bytes: number }> {
    const referenced = await this.metadata.referencedDigests();
    const removed: string[] = [];
    let bytes = 0;
    const cutoff = Date.now() - options.minAgeMs;
    for await (const digest of this.artifacts.list()) {
      if (referenced.has(digest)) continue;
      const info = await this.artifacts.stat(digest);
      if (!info || (info.storedAt && info.storedAt.getTime() > cutoff)) continue;
      bytes += info.size;
      removed.push(digest);
      if (!options.dryRun) await this.artifacts.delete(digest);
    }
    if (!options.dryRun && removed.length > 0) {
      await this.metadata.appendAudit({ actor, action: 'gc', target: 'blobs', details: { removed: removed.length, bytes } });
    }
    return { removed, bytes };
  }
}
