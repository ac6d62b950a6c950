import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { openSqlite } from '../../store/sqlite-open.ts';
import type { DeploymentSpec, RolloutOutcome, RolloutState } from './spec.ts';

export interface StoredDeployment {
  spec: DeploymentSpec;
  rollout: RolloutState | null;
  lastRollout: RolloutOutcome | null;
  createdAt: string;
  updatedAt: string;
}

export interface Decision {
  id: number;
  time: string;
  deployment: string;
  /** `rollout.step`, `rollout.rolled_back`, `validation.failed`, `update.skipped`, … */
  action: string;
  details: Record<string, unknown>;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS deployments (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    rollout TEXT,
    last_rollout TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS deployment_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    deployment TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS deployment_decisions_by_name ON deployment_decisions(deployment, id);
`;

/**
 * Deployments and their rollout state in their own SQLite file in the data directory (as metering does), so the
 * state survives a crash: every traffic change is written here before it is applied in memory.
 */
export class DeploymentStore {
  readonly #db: DatabaseSync;

  constructor(dataDir: string) {
    // FULL: a traffic change is acknowledged only once it is on disk; these writes are rare.
    this.#db = openSqlite(join(dataDir, 'deployments.sqlite'), 'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;');
    this.#db.exec(SCHEMA);
  }

  list(): StoredDeployment[] {
    return (this.#db.prepare('SELECT * FROM deployments ORDER BY name').all() as unknown as Row[]).map(fromRow);
  }

  get(name: string): StoredDeployment | undefined {
    const row = this.#db.prepare('SELECT * FROM deployments WHERE name = ?').get(name) as unknown as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  put(deployment: StoredDeployment): void {
    this.#db
      .prepare(
        `INSERT INTO deployments (name, spec, rollout, last_rollout, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, rollout = excluded.rollout, last_rollout = excluded.last_rollout, updated_at = excluded.updated_at`,
      )
      .run(
        deployment.spec.name,
        JSON.stringify(deployment.spec),
        deployment.rollout ? JSON.stringify(deployment.rollout) : null,
        deployment.lastRollout ? JSON.stringify(deployment.lastRollout) : null,
        deployment.createdAt,
        deployment.updatedAt,
      );
  }

  delete(name: string): boolean {
    return this.#db.prepare('DELETE FROM deployments WHERE name = ?').run(name).changes > 0;
  }

  record(deployment: string, action: string, details: Record<string, unknown>): Decision {
    const time = new Date().toISOString();
    const result = this.#db.prepare('INSERT INTO deployment_decisions (time, deployment, action, details) VALUES (?, ?, ?, ?)').run(time, deployment, action, JSON.stringify(details));
    return { id: Number(result.lastInsertRowid), time, deployment, action, details };
  }

  decisions(deployment: string | undefined, limit = 100): Decision[] {
    const rows = (
      deployment === undefined
        ? this.#db.prepare('SELECT * FROM deployment_decisions ORDER BY id DESC LIMIT ?').all(limit)
        : this.#db.prepare('SELECT * FROM deployment_decisions WHERE deployment = ? ORDER BY id DESC LIMIT ?').all(deployment, limit)
    ) as Array<{ id: number; time: string; deployment: string; action: string; details: string }>;
    return rows.map((r) => ({ id: r.id, time: r.time, deployment: r.deployment, action: r.action, details: JSON.parse(r.details) as Record<string, unknown> }));
  }

  close(): void {
    this.#db.close();
  }
}

interface Row {
  name: string;
  spec: string;
  rollout: string | null;
  last_rollout: string | null;
  created_at: string;
  updated_at: string;
}

function fromRow(row: Row): StoredDeployment {
  return {
    spec: JSON.parse(row.spec) as DeploymentSpec,
    rollout: row.rollout ? (JSON.parse(row.rollout) as RolloutState) : null,
    lastRollout: row.last_rollout ? (JSON.parse(row.last_rollout) as RolloutOutcome) : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
