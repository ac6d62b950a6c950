import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { ApiKeyStore } from './auth/key-store.ts';
import { sqliteKeyStore } from './auth/sqlite-key-store.ts';
import type { Kernel } from './kernel/kernel.ts';
import { Metrics } from './serving/metrics.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  details?: unknown;
}

/** The core's own services, opened after plugins are set up (stores may come from plugins). */
export interface CoreServices {
  keys: ApiKeyStore;
  metrics: Metrics;
  audit(entry: AuditEntry): Promise<void>;
  close(): Promise<void>;
}

export async function openCoreServices(kernel: Kernel): Promise<CoreServices> {
  const db = new DatabaseSync(join(kernel.loaded.dataDir, 'modelplane.sqlite'));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;');
  db.exec(`CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, details TEXT)`);
  const insertAudit = db.prepare('INSERT INTO audit_log (time, actor, action, target, details) VALUES (?, ?, ?, ?, ?)');
  return {
    keys: sqliteKeyStore(db),
    metrics: new Metrics(),
    async audit(entry) {
      insertAudit.run(new Date().toISOString(), entry.actor, entry.action, entry.target, entry.details === undefined ? null : JSON.stringify(entry.details));
    },
    async close() {
      db.close();
    },
  };
}
