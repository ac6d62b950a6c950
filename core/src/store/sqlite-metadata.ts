import { AsyncLocalStorage } from 'node:async_hooks';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import {
  type ApiKeyRecord,
  type AuditRecord,
  defineError,
  type MetadataStore,
  type ModelQuery,
  type ModelRecord,
  type Page,
  type StoredFinding,
  type VersionRecord,
} from '@modelplane/plugin-sdk';
import { MIGRATIONS } from './sqlite-migrations.ts';
import { openSqlite } from './sqlite-open.ts';

export const InvalidCursor = defineError('MP_ERR_INVALID_CURSOR', 400);

type Row = Record<string, SQLInputValue>;

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
const parse = <T>(text: unknown): T => (text === null || text === undefined ? null : JSON.parse(String(text))) as T;

function toModel(row: Row): ModelRecord {
  return {
    name: String(row.name),
    description: String(row.description),
    tasks: parse(row.tasks),
    tags: parse(row.tags),
    owner: (row.owner as string | null) ?? null,
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

function toVersion(row: Row): VersionRecord {
  return {
    model: String(row.model),
    version: String(row.version),
    files: parse(row.files),
    manifestDigest: String(row.manifest_digest),
    metadata: parse(row.metadata),
    status: row.status as VersionRecord['status'],
    scanStatus: (row.scan_status as VersionRecord['scanStatus']) ?? null,
    scannedWith: (row.scanned_with as string | null) ?? null,
    createdBy: String(row.created_by),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

function toKey(row: Row): ApiKeyRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    salt: String(row.salt),
    hash: String(row.hash),
    scopes: parse(row.scopes),
    models: parse(row.models),
    rateLimit: parse(row.rate_limit),
    budget: parse(row.budget),
    createdAt: String(row.created_at),
    expiresAt: (row.expires_at as string | null) ?? null,
    revokedAt: (row.revoked_at as string | null) ?? null,
  };
}

const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A cursor this store did not hand out is a 400, never a silent restart from the first page (or a 500 from SQLite). */
function decodeCursor<T extends string | number>(cursor: string | undefined, type: 'string' | 'number'): T | undefined {
  if (!cursor) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (typeof value !== type) throw new InvalidCursor(`cursor "${cursor}" is not one this list returned; pass back its nextCursor unchanged, or omit cursor for the first page`);
  return value as T;
}

/**
 * The embedded metadata store: one SQLite file through Node's built-in `node:sqlite`, in WAL mode so readers never
 * wait for the writer. node:sqlite is synchronous, so each statement is atomic within the process; `transaction`
 * serialises multi-statement changes with BEGIN IMMEDIATE and a promise chain. Callers keep transactions to store
 * calls only (no network or file I/O inside), so one runs to completion before any other request's callback.
 */
export class SqliteMetadataStore implements MetadataStore {
  readonly db: DatabaseSync;
  #chain: Promise<unknown> = Promise.resolve();
  /** Prepared once per SQL text: preparing costs more than running these small queries. */
  readonly #statements = new Map<string, StatementSync>();
  readonly #inTransaction = new AsyncLocalStorage<true>();
  /** Audit entries written outside a transaction, waiting for this turn of the event loop to end. */
  #pendingAudit: Array<{ row: SQLInputValue[]; resolve(): void; reject(error: unknown): void }> = [];

  constructor(file: string) {
    this.db = openSqlite(file, 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;');
    this.#migrate();
  }

  #migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = new Set((this.#sql('SELECT id FROM schema_migrations').all() as Row[]).map((r) => Number(r.id)));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.id)) continue;
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.db.exec(migration.sql);
        this.#sql('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)').run(migration.id, migration.name, new Date().toISOString());
        this.db.exec('COMMIT');
      } catch (error) {
        this.db.exec('ROLLBACK');
        throw error;
      }
    }
  }

  #sql(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inTransaction.getStore()) return fn();
    const run = async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.#inTransaction.run(true, fn);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        this.db.exec('ROLLBACK');
        throw error;
      }
    };
    const result = this.#chain.then(run, run);
    this.#chain = result.catch(() => {});
    return result;
  }

  async getModel(name: string) {
    const row = this.#sql('SELECT * FROM models WHERE name = ?').get(name) as Row | undefined;
    return row ? toModel(row) : undefined;
  }

  async putModel(m: ModelRecord) {
    this.#sql(
        `INSERT INTO models (name, description, tasks, tags, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET description = excluded.description, tasks = excluded.tasks, tags = excluded.tags,
           owner = excluded.owner, updated_at = excluded.updated_at`,
      )
      .run(m.name, m.description, JSON.stringify(m.tasks), JSON.stringify(m.tags), m.owner, m.createdAt, m.updatedAt);
  }

  async listModels(query: ModelQuery): Promise<Page<ModelRecord>> {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    const after = decodeCursor<string>(query.cursor, 'string');
    if (after !== undefined) {
      where.push('m.name > ?');
      params.push(after);
    }
    if (query.task) {
      where.push('EXISTS (SELECT 1 FROM json_each(m.tasks) WHERE value = ?)');
      params.push(query.task);
    }
    if (query.tag) {
      where.push('EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)');
      params.push(query.tag);
    }
    // Version-level filters: the model matches when one of its versions does.
    const versionWhere: string[] = [];
    const versionFilters: Array<[unknown, string]> = [
      [query.framework, "json_extract(v.metadata, '$.framework') = ?"],
      [query.architecture, "json_extract(v.metadata, '$.architecture') = ?"],
      [query.license, "json_extract(v.metadata, '$.license.id') = ?"],
      [query.status, 'v.status = ?'],
      [query.maxParams, "json_extract(v.metadata, '$.parameter_count') <= ?"],
    ];
    for (const [value, clause] of versionFilters) {
      if (value === undefined) continue;
      versionWhere.push(clause);
      params.push(value as SQLInputValue);
    }
    if (versionWhere.length > 0) {
      where.push(`EXISTS (SELECT 1 FROM versions v WHERE v.model = m.name AND ${versionWhere.join(' AND ')})`);
    }
    const sql = `SELECT m.* FROM models m ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY m.name LIMIT ?`;
    const rows = this.#sql(sql).all(...params, query.limit + 1) as Row[];
    const items = rows.slice(0, query.limit).map(toModel);
    return { items, nextCursor: rows.length > query.limit ? encodeCursor(items.at(-1)!.name) : null };
  }

  async getVersion(model: string, version: string) {
    const row = this.#sql('SELECT * FROM versions WHERE model = ? AND version = ?').get(model, version) as Row | undefined;
    return row ? toVersion(row) : undefined;
  }

  async insertVersion(v: VersionRecord) {
    return this.transaction(async () => {
      const result = this.#sql(
          `INSERT INTO versions (model, version, files, manifest_digest, metadata, status, scan_status, created_by, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(model, version) DO NOTHING`,
        )
        .run(v.model, v.version, JSON.stringify(v.files), v.manifestDigest, JSON.stringify(v.metadata), v.status, v.scanStatus, v.createdBy, v.createdAt, v.updatedAt);
      if (Number(result.changes) === 0) {
        return { inserted: false as const, existing: (await this.getVersion(v.model, v.version))! };
      }
      const file = this.#sql('INSERT INTO version_files (model, version, digest) VALUES (?, ?, ?)');
      for (const f of v.files) file.run(v.model, v.version, f.digest);
      return { inserted: true as const };
    });
  }

  async listVersions(model: string) {
    return (this.#sql('SELECT * FROM versions WHERE model = ? ORDER BY created_at, version').all(model) as Row[]).map(toVersion);
  }

  async updateVersion(model: string, version: string, changes: Partial<Pick<VersionRecord, 'status' | 'scanStatus' | 'scannedWith'>>) {
    const now = new Date().toISOString();
    if (changes.status !== undefined) {
      this.#sql('UPDATE versions SET status = ?, updated_at = ? WHERE model = ? AND version = ?').run(changes.status, now, model, version);
    }
    if (changes.scannedWith !== undefined) {
      this.#sql('UPDATE versions SET scanned_with = ? WHERE model = ? AND version = ?').run(changes.scannedWith, model, version);
    }
    if (changes.scanStatus !== undefined) {
      this.#sql('UPDATE versions SET scan_status = ?, updated_at = ? WHERE model = ? AND version = ?').run(changes.scanStatus, now, model, version);
    }
  }

  async getAlias(model: string, alias: string) {
    const row = this.#sql('SELECT version FROM aliases WHERE model = ? AND alias = ?').get(model, alias) as Row | undefined;
    return row ? String(row.version) : undefined;
  }

  async setAlias(model: string, alias: string, version: string) {
    this.#sql('INSERT INTO aliases (model, alias, version) VALUES (?, ?, ?) ON CONFLICT(model, alias) DO UPDATE SET version = excluded.version')
      .run(model, alias, version);
  }

  async deleteAlias(model: string, alias: string) {
    return Number(this.#sql('DELETE FROM aliases WHERE model = ? AND alias = ?').run(model, alias).changes) > 0;
  }

  async listAliases(model: string) {
    const rows = this.#sql('SELECT alias, version FROM aliases WHERE model = ? ORDER BY alias').all(model) as Row[];
    return Object.fromEntries(rows.map((r) => [String(r.alias), String(r.version)]));
  }

  async replaceFindings(model: string, version: string, findings: StoredFinding[]) {
    await this.transaction(async () => {
      this.#sql('DELETE FROM scan_findings WHERE model = ? AND version = ?').run(model, version);
      const insert = this.#sql(
        `INSERT INTO scan_findings (model, version, scanner, scanner_version, severity, file, rule, detail, scanned_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const f of findings) insert.run(model, version, f.scanner, f.scannerVersion, f.severity, f.file, f.rule, f.detail, f.scannedAt);
    });
  }

  async listFindings(model: string, version: string): Promise<StoredFinding[]> {
    const rows = this.#sql('SELECT * FROM scan_findings WHERE model = ? AND version = ? ORDER BY rowid').all(model, version) as Row[];
    return rows.map((r) => ({
      scanner: String(r.scanner),
      scannerVersion: String(r.scanner_version),
      severity: r.severity as StoredFinding['severity'],
      file: String(r.file),
      rule: String(r.rule),
      detail: String(r.detail),
      scannedAt: String(r.scanned_at),
    }));
  }

  async listVersionsByScanStatus(status: NonNullable<VersionRecord['scanStatus']>) {
    return (this.#sql('SELECT * FROM versions WHERE scan_status = ?').all(status) as Row[]).map(toVersion);
  }

  /**
   * Inside a transaction the entry is part of it. Outside one (guard decisions, denied requests: one or two per call
   * under load), entries made in the same turn of the event loop are committed together right after it, and each
   * promise resolves once its entry is committed: a commit per entry costs more than the rest of a gateway call.
   */
  async appendAudit(entry: Parameters<MetadataStore['appendAudit']>[0]): Promise<void> {
    const row = [new Date().toISOString(), entry.actor, entry.action, entry.target, entry.beforeDigest ?? null, entry.afterDigest ?? null, json(entry.details)];
    if (this.#inTransaction.getStore()) {
      this.#insertAudit(row);
      return;
    }
    return new Promise<void>((resolve, reject) => {
      this.#pendingAudit.push({ row, resolve, reject });
      if (this.#pendingAudit.length === 1) setImmediate(() => this.#flushAudit());
    });
  }

  #insertAudit(row: SQLInputValue[]): void {
    this.#sql('INSERT INTO audit_log (time, actor, action, target, before_digest, after_digest, details) VALUES (?, ?, ?, ?, ?, ?, ?)').run(...row);
  }

  #flushAudit(): void {
    if (this.#pendingAudit.length === 0) return;
    const batch = this.#pendingAudit;
    try {
      // Transactions only await store calls, so none is open between turns; if one ever is, wait for it.
      if (this.db.isTransaction) {
        setImmediate(() => this.#flushAudit());
        return;
      }
      this.#pendingAudit = [];
      this.db.exec('BEGIN IMMEDIATE');
      try {
        for (const entry of batch) this.#insertAudit(entry.row);
        this.db.exec('COMMIT');
      } catch (error) {
        this.db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      if (this.#pendingAudit === batch) this.#pendingAudit = [];
      for (const entry of batch) entry.reject(error);
      return;
    }
    for (const entry of batch) entry.resolve();
  }

  async listAudit(query: Parameters<MetadataStore['listAudit']>[0]): Promise<Page<AuditRecord>> {
    this.#flushAudit();
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    const before = decodeCursor<number>(query.cursor, 'number');
    if (before !== undefined) {
      where.push('id < ?');
      params.push(before);
    }
    for (const key of ['actor', 'action', 'target'] as const) {
      if (query[key] === undefined) continue;
      where.push(`${key} = ?`);
      params.push(query[key]);
    }
    const rows = this.#sql(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...params, query.limit + 1) as Row[];
    const items = rows.slice(0, query.limit).map((r) => ({
      id: Number(r.id),
      time: String(r.time),
      actor: String(r.actor),
      action: String(r.action),
      target: String(r.target),
      beforeDigest: (r.before_digest as string | null) ?? null,
      afterDigest: (r.after_digest as string | null) ?? null,
      details: parse(r.details),
    }));
    return { items, nextCursor: rows.length > query.limit ? encodeCursor(items.at(-1)!.id) : null };
  }

  async referencedDigests() {
    return new Set((this.#sql('SELECT DISTINCT digest FROM version_files').all() as Row[]).map((r) => String(r.digest)));
  }

  async insertKey(k: ApiKeyRecord) {
    this.#sql(
        `INSERT INTO api_keys (id, name, salt, hash, scopes, models, rate_limit, budget, created_at, expires_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(k.id, k.name, k.salt, k.hash, JSON.stringify(k.scopes), json(k.models), json(k.rateLimit), json(k.budget), k.createdAt, k.expiresAt, k.revokedAt);
  }

  async getKey(id: string) {
    const row = this.#sql('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
    return row ? toKey(row) : undefined;
  }

  async listKeys() {
    return (this.#sql('SELECT * FROM api_keys ORDER BY created_at, id').all() as Row[]).map(toKey);
  }

  async revokeKey(id: string, at: string) {
    this.#sql('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?').run(at, id);
    return this.getKey(id);
  }

  async countActiveAdminKeys() {
    const row = this.#sql("SELECT COUNT(*) AS n FROM api_keys, json_each(api_keys.scopes) WHERE json_each.value = 'admin' AND revoked_at IS NULL")
      .get() as Row;
    return Number(row.n);
  }

  async close() {
    this.#flushAudit();
    this.db.close();
  }
}
