import type { DatabaseSync } from 'node:sqlite';
import type { ApiKeyRecord, ApiKeyStore } from './key-store.ts';

export const API_KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  models TEXT,
  rate_limit TEXT,
  budget TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
)`;

interface Row {
  id: string;
  name: string;
  salt: string;
  hash: string;
  scopes: string;
  models: string | null;
  rate_limit: string | null;
  budget: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

function fromRow(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    salt: row.salt,
    hash: row.hash,
    scopes: JSON.parse(row.scopes) as ApiKeyRecord['scopes'],
    models: row.models === null ? null : (JSON.parse(row.models) as string[]),
    rateLimit: row.rate_limit === null ? null : (JSON.parse(row.rate_limit) as ApiKeyRecord['rateLimit']),
    budget: row.budget === null ? null : (JSON.parse(row.budget) as ApiKeyRecord['budget']),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

const json = (value: unknown) => (value === null ? null : JSON.stringify(value));

/** API keys in the embedded SQLite database (the statements are prepared once). */
export function sqliteKeyStore(db: DatabaseSync): ApiKeyStore {
  db.exec(API_KEYS_SCHEMA);
  const insert = db.prepare(
    `INSERT INTO api_keys (id, name, salt, hash, scopes, models, rate_limit, budget, created_at, expires_at, revoked_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byId = db.prepare('SELECT * FROM api_keys WHERE id = ?');
  const all = db.prepare('SELECT * FROM api_keys ORDER BY created_at, id');
  const revoke = db.prepare('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?');
  const admins = db.prepare(
    `SELECT COUNT(*) AS n FROM api_keys, json_each(api_keys.scopes)
     WHERE json_each.value = 'admin' AND revoked_at IS NULL`,
  );
  return {
    async insert(r) {
      insert.run(r.id, r.name, r.salt, r.hash, JSON.stringify(r.scopes), json(r.models), json(r.rateLimit), json(r.budget), r.createdAt, r.expiresAt, r.revokedAt);
    },
    async get(id) {
      const row = byId.get(id) as Row | undefined;
      return row ? fromRow(row) : undefined;
    },
    async list() {
      return (all.all() as unknown as Row[]).map(fromRow);
    },
    async revoke(id, at) {
      revoke.run(at, id);
      const row = byId.get(id) as Row | undefined;
      return row ? fromRow(row) : undefined;
    },
    async countActiveAdmins() {
      return Number((admins.get() as { n: number }).n);
    },
  };
}
